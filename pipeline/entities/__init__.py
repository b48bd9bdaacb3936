"""Stage ``entities``: sentences of canonical documents -> ``entities``, ``entity_cache``, ``entity_daily``.

:mod:`~pipeline.entities.tagger` is the only module that imports spaCy (lazily);
:mod:`~pipeline.entities.resolve` makes mentions consistent per document; :mod:`~pipeline.entities.run` is
the stage runner. Importing this package does not load spaCy.
"""

from pipeline.entities.resolve import Entity
from pipeline.entities.tagger import TaggerConfig, count_daily, model_id, tag_documents, tag_entities

__all__ = ["Entity", "TaggerConfig", "count_daily", "model_id", "tag_documents", "tag_entities"]
