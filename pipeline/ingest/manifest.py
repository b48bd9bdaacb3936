"""The inbox manifest: what the lake must hold for each inbox path, decided by the bytes the path holds now.

The ``files`` table has one row per path (merge key ``path``): the state of the bytes the path held when it
was last seen. The rule that makes restoring, reverting, copying and retrying converge:

* every set of identical bytes (sha256) has one **owner** path whose documents hold them; other paths with
  those bytes are ``duplicate_file`` of the owner. The owner is a path already owning those bytes (kept, so
  nothing is re-parsed), else the first current path in sort order. A path deleted from the inbox keeps its
  documents (the inbox may be a drop folder) and may stay the owner — so a renamed file is recognised — but
  not when it failed transiently (a renamed copy of a timed-out file is parsed, not called its duplicate);
* a path is (re)parsed when its recorded row is not "these bytes, owned": new path, new bytes, reverted
  bytes (v1 -> v2 -> v1), a copy whose owner changed bytes, or a transient failure (``timeout``,
  ``worker_crashed``, ``unreadable``, ``vanished``) not yet retried ``MAX_RETRIES`` times;
* whenever a path gets a new row, its earlier documents and ``ingest`` rejects are removed first
  (``cleared``), so the lake never mixes the output of two versions of one path;
* a path last parsed by older ingest code is parsed again when asked (``CODE_CHANGED``, set by
  ``newslake run --stale``); its row and documents stay as they are until then;
* an entry that could not be read at scan time but has a recorded state keeps it (its bytes are unknown,
  not changed); it is looked at again on the next run.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TypeGuard

import polars as pl

from pipeline.ingest.inbox import InboxEntry
from pipeline.schema import DOCUMENTS, FILES

# Failures that say nothing about the bytes: the next run tries again (at most MAX_RETRIES more times for the
# expensive ones, so a file that always times out does not cost a time limit on every run).
TRANSIENT = frozenset({"timeout", "worker_crashed", "unreadable", "vanished", "repair_pending"})
MAX_RETRIES = {"timeout": 3, "worker_crashed": 3}
# Parsed by older ingest code (`newslake run --stale` sets it): parsed again once, keeping its status until then.
CODE_CHANGED = "code_changed"  # pipeline.errors.RejectReason.CODE_CHANGED
PENDING = TRANSIENT | {CODE_CHANGED}
"""Reasons that make the next ingestion look at a file whose bytes did not change."""

# scan_inbox entry kinds that are never read, and their reject reason codes (see pipeline.ingest).
ENTRY_REASONS = {
    "symlink": "symlink",
    "special": "special_file",
    "unreadable": "unreadable",
    "hidden": "hidden_file",
    "bad_name": "bad_file_name",
    "excluded": "lake_in_inbox",
}
_OWNING = ("ok", "partial", "rejected")


@dataclass(frozen=True)
class IngestPlan:
    to_parse: list[InboxEntry]
    replaced_paths: frozenset[str]  # parsed paths with earlier output to remove
    duplicate_files: pl.DataFrame  # FILES rows
    unusable: pl.DataFrame  # FILES rows for entries that are never read
    unchanged: int
    cleared: frozenset[str] = frozenset()  # paths whose documents and rejects go now (they became copies etc.)
    retries: dict[str, int] | None = None  # path -> retry count for re-parsed transient failures


def file_row(**kw) -> dict:
    base = dict.fromkeys(FILES.column_names)
    base.update(kw)
    return base


def current_rows(known: pl.DataFrame) -> dict[str, dict]:
    """The latest row per path (older lakes kept one row per (path, sha256))."""
    if "ingested_at" in known.columns:
        known = known.sort("ingested_at", nulls_last=False)
    return {r["path"]: r for r in known.iter_rows(named=True)}


def _retry_due(row: dict) -> bool:
    reason = row.get("reason")
    if reason == CODE_CHANGED:
        return True
    if row.get("status") != "rejected" or reason not in TRANSIENT:
        return False
    return (row.get("retries") or 0) < MAX_RETRIES.get(reason, 1 << 30)


def plan(entries: Iterable[InboxEntry], known: pl.DataFrame, *, ingested_at: datetime, run_id: str | None):
    """Split inbox entries into what to parse, byte-identical copies, unusable entries and unchanged files.

    ``known`` holds the ``files`` table (at least ``path``, ``sha256``, ``status``, ``reason``,
    ``duplicate_of``; ``retries`` and ``ingested_at`` when present).
    """
    rec = current_rows(known)
    entries = list(entries)
    present = {e.rel_path for e in entries}
    common = dict(ingested_at=ingested_at, run_id=run_id, records=0, documents=0, rejected=0, retries=0)
    to_parse, dup_rows, bad_rows, replaced, cleared, retries, unchanged = [], [], [], set(), set(), {}, 0

    def owns(r: dict | None, sha: str) -> TypeGuard[dict]:  # True also tells the checker r is a row
        return r is not None and r["sha256"] == sha and r["status"] in _OWNING

    # owners of each content: current files first, then paths gone from the inbox that still hold documents
    by_sha: dict[str, list[str]] = {}
    for e in entries:
        if e.kind == "file":
            assert e.sha256 is not None  # a "file" entry's bytes were read and hashed
            by_sha.setdefault(e.sha256, []).append(e.rel_path)
    owner: dict[str, str] = {}
    gone_owner: dict[str, str] = {}
    r: dict | None  # a path's current FILES row, if any
    for path, r in sorted(rec.items()):
        if (
            path not in present
            and r["status"] in _OWNING
            and not (r["status"] == "rejected" and r["reason"] in TRANSIENT)
        ):
            gone_owner.setdefault(r["sha256"], path)
    for sha, paths in by_sha.items():
        owning = [p for p in paths if owns(rec.get(p), sha)]
        owner[sha] = owning[0] if owning else gone_owner.get(sha, paths[0])

    for e in entries:
        r = rec.get(e.rel_path)
        if e.kind != "file":
            reason = ENTRY_REASONS.get(e.kind, e.kind)
            if e.kind == "unreadable" and r is not None and r["status"] != "rejected":
                unchanged += 1  # bytes unknown, not changed: keep what the lake holds
                continue
            if r is not None and r["status"] == "rejected" and r["reason"] == reason:
                unchanged += 1
                continue
            bad_rows.append(
                file_row(
                    path=e.rel_path,
                    sha256=e.sha256 or "",
                    size=e.size,
                    format="unknown",
                    compression="none",
                    status="rejected",
                    reason=reason,
                    **common,
                )
            )
            if r is not None:
                cleared.add(e.rel_path)
            continue
        assert e.sha256 is not None  # a "file" entry's bytes were read and hashed
        own = owner[e.sha256]
        if own != e.rel_path:
            if (
                r is not None
                and r["sha256"] == e.sha256
                and r["status"] == "duplicate_file"
                and r["duplicate_of"] == own
            ):
                unchanged += 1
                continue
            dup_rows.append(
                file_row(
                    path=e.rel_path,
                    sha256=e.sha256,
                    size=e.size,
                    format="unknown",
                    compression="none",
                    status="duplicate_file",
                    reason="same bytes as an earlier file",
                    duplicate_of=own,
                    **common,
                )
            )
            if r is not None and r["status"] != "duplicate_file":
                cleared.add(e.rel_path)
            continue
        if owns(r, e.sha256) and not _retry_due(r):
            unchanged += 1
            continue
        if r is not None:
            replaced.add(e.rel_path)
            if r["sha256"] == e.sha256 and _retry_due(r) and r["reason"] != CODE_CHANGED:
                retries[e.rel_path] = (r.get("retries") or 0) + 1
        to_parse.append(e)
    frame = lambda rows: pl.DataFrame(rows, schema=FILES.schema) if rows else FILES.empty()  # noqa: E731
    return IngestPlan(
        to_parse, frozenset(replaced), frame(dup_rows), frame(bad_rows), unchanged, frozenset(cleared), retries
    )


def merge_documents(existing: pl.DataFrame, new: pl.DataFrame, *, replaced_paths: Iterable[str]) -> pl.DataFrame:
    """Existing rows of the touched partitions, minus replaced ones, plus the new rows (new wins by doc_id)."""
    replaced = list(replaced_paths)
    keep = existing.filter(~pl.col("doc_id").is_in(new["doc_id"].implode()) & ~pl.col("source_path").is_in(replaced))
    return pl.concat([DOCUMENTS.conform(keep), DOCUMENTS.conform(new)]).unique(
        "doc_id", keep="last", maintain_order=True
    )


def parsed_by_other_code(known: pl.DataFrame, *, versions: Mapping[str, str], current: str) -> pl.DataFrame:
    """Current ``files`` rows whose last parse was by other ingest code than ``current`` (columns: the row's,
    plus ``code_version``). ``versions`` maps an ingestion's run id to its code version; rows of runs it does
    not know (another Dagster home) are left out. Copies (``duplicate_file``), entries never read (symlinks,
    hidden files, ...) and rows already waiting for a new parse are not parses of their own."""
    rows = pl.DataFrame(list(current_rows(known).values()), schema=known.schema) if known.height else known
    version = pl.col("run_id").replace_strict(dict(versions), default=None, return_dtype=pl.String)
    never_read = pl.col("reason").is_in(list(set(ENTRY_REASONS.values()) | PENDING))
    return (
        rows.with_columns(version.alias("code_version"))
        .filter(
            pl.col("code_version").is_not_null()
            & (pl.col("code_version") != current)
            & (pl.col("status") != "duplicate_file")
            & ~(never_read.fill_null(False))
        )
        .sort("path")
    )
