"""newslake's pure library: raw news in, tables out. Never imports dagster.

Public functions::

    from pipeline import split_sentences, tag_entities

``tag_entities`` (and spaCy with it) is imported on first use only.
"""

from pipeline.segment import sentences_frame, split_sentences

__all__ = ["split_sentences", "sentences_frame", "tag_entities", "Entity"]


def __getattr__(name):  # lazy: importing the package must not load spaCy
    if name in ("tag_entities", "Entity"):
        from pipeline import entities

        return getattr(entities, name)
    raise AttributeError(f"module 'pipeline' has no attribute {name!r}")
