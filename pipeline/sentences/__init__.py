"""Stage ``sentences``: canonical documents -> ``sentences`` (rule-based splitting with exact offsets).

:mod:`~pipeline.sentences.split` holds the splitter, :mod:`~pipeline.sentences.lexicon` its word lists,
:mod:`~pipeline.sentences.table` the table rows, :mod:`~pipeline.sentences.run` the stage runner.
"""

from pipeline.sentences.split import SegmentConfig, split_sentences
from pipeline.sentences.table import normalise_sentence, segment_documents, sentence_hash

__all__ = ["SegmentConfig", "split_sentences", "segment_documents", "sentence_hash", "normalise_sentence"]
