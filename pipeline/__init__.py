"""newslake's pure library: raw news in, tables out. Never imports dagster.

One package per stage, in processing order (:data:`pipeline.stage.STAGES`): :mod:`pipeline.ingest`,
:mod:`pipeline.dedup`, :mod:`pipeline.sentences`, :mod:`pipeline.entities`. Public functions::

    from pipeline import split_sentences, tag_entities

``tag_entities`` (and spaCy with it) is imported on first use only.
"""

from pipeline.sentences import segment_documents, split_sentences

__all__ = ["split_sentences", "segment_documents", "tag_entities", "Entity"]


def __getattr__(name):  # lazy: importing the package must not load spaCy
    if name in ("tag_entities", "Entity"):
        from pipeline import entities

        return getattr(entities, name)
    raise AttributeError(f"module 'pipeline' has no attribute {name!r}")
