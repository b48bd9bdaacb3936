"""The inbox manifest: which inbox files are new, changed, copies of others or unusable.

The ``files`` table is the manifest, keyed by (path, sha256):

* a (path, sha256) already in ``files`` is unchanged and skipped;
* bytes already seen under another path are recorded as ``duplicate_file`` and not parsed again;
* a known path with new bytes is re-parsed and its earlier documents are replaced.

Documents are written batch by batch (bounded memory), each batch in one Delta commit that replaces exactly
the ``pub_date`` partitions it touches. ``files`` is written last in a batch, so a crash mid-batch only
means the batch is parsed again next time; document ids are stable, so nothing is duplicated.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import polars as pl

from pipeline.ingest.inbox import InboxEntry
from pipeline.schema import DOCUMENTS, FILES


@dataclass(frozen=True)
class IngestPlan:
    to_parse: list[InboxEntry]
    replaced_paths: frozenset[str]
    duplicate_files: pl.DataFrame  # FILES rows
    unusable: pl.DataFrame  # FILES rows for symlinks, special and unreadable entries
    unchanged: int


# scan_inbox entry kinds that are never read, and their reject reason codes (see pipeline.ingest).
_ENTRY_REASONS = {"symlink": "symlink", "special": "special_file", "unreadable": "unreadable"}


def file_row(**kw) -> dict:
    base = dict.fromkeys(FILES.column_names)
    base.update(kw)
    return base


def plan(entries: Iterable[InboxEntry], known: pl.DataFrame, *, ingested_at: datetime, run_id: str | None):
    """Split inbox entries into what to parse, byte-identical copies, unusable entries and unchanged files.

    ``known`` holds the ``files`` table's ``path``, ``sha256`` and ``status`` columns.
    """
    seen_pairs = set(zip(known["path"].to_list(), known["sha256"].to_list(), strict=True))
    known_paths = set(known["path"].to_list())
    first_path_of_sha: dict[str, str] = {}
    for path, sha, status in zip(known["path"], known["sha256"], known["status"], strict=True):
        if status != "duplicate_file" and sha not in first_path_of_sha:
            first_path_of_sha[sha] = path
    to_parse, dup_rows, bad_rows, replaced, unchanged = [], [], [], set(), 0
    common = dict(ingested_at=ingested_at, run_id=run_id, records=0, documents=0, rejected=0)
    for e in entries:
        if e.kind != "file":
            bad_rows.append(file_row(path=e.rel_path, sha256=e.sha256 or "", size=e.size, format="unknown",
                                      compression="none", status="rejected", reason=_ENTRY_REASONS.get(e.kind, e.kind),
                                      **common))
            continue
        if (e.rel_path, e.sha256) in seen_pairs:
            unchanged += 1
            continue
        original = first_path_of_sha.get(e.sha256)
        if original is not None and original != e.rel_path:
            dup_rows.append(file_row(path=e.rel_path, sha256=e.sha256, size=e.size, format="unknown",
                                      compression="none", status="duplicate_file",
                                      reason="same bytes as an earlier file", duplicate_of=original, **common))
            continue
        first_path_of_sha.setdefault(e.sha256, e.rel_path)
        if e.rel_path in known_paths:
            replaced.add(e.rel_path)
        to_parse.append(e)
    frame = lambda rows: pl.DataFrame(rows, schema=FILES.schema) if rows else FILES.empty()  # noqa: E731
    return IngestPlan(to_parse, frozenset(replaced), frame(dup_rows), frame(bad_rows), unchanged)


def merge_documents(existing: pl.DataFrame, new: pl.DataFrame, *, replaced_paths: Iterable[str]) -> pl.DataFrame:
    """Existing rows of the touched partitions, minus replaced ones, plus the new rows (new wins by doc_id)."""
    replaced = list(replaced_paths)
    keep = existing.filter(~pl.col("doc_id").is_in(new["doc_id"].implode()) & ~pl.col("source_path").is_in(replaced))
    return pl.concat([DOCUMENTS.conform(keep), DOCUMENTS.conform(new)]).unique("doc_id", keep="last",
                                                                              maintain_order=True)
