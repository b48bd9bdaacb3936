"""Exact and near-duplicate detection across days (pure functions on polars frames).

``compute_signatures`` turns documents into the persistent ``signatures`` index; ``deduplicate`` clusters
one or more days against a window of earlier signatures; ``window_bounds`` and ``affected_days`` say which
partitions to read and which later days to recompute after late data. See ``cluster`` for the exact
definition of a cluster, ``figures`` for the template guard, ``tokens`` for the second-stage verifier and
``text`` for the normalisation.
"""

from pipeline.dedup.cluster import affected_days, deduplicate, pair_similarity, window_bounds
from pipeline.dedup.config import DedupConfig
from pipeline.dedup.signatures import compute_signatures, exact_hash
from pipeline.dedup.text import normalise

__all__ = [
    "DedupConfig",
    "affected_days",
    "compute_signatures",
    "deduplicate",
    "exact_hash",
    "normalise",
    "pair_similarity",
    "window_bounds",
]
