"""Incremental ingestion: decide which inbox files are new, parse them in batches, write the tables.

The ``files`` table is the manifest, keyed by (path, sha256):

* a (path, sha256) already in ``files`` is unchanged and skipped;
* bytes already seen under another path are recorded as ``duplicate_file`` and not parsed again;
* a known path with new bytes is re-parsed and its earlier documents are replaced.

Documents are written batch by batch (bounded memory), each batch in one Delta commit that replaces exactly
the ``pub_date`` partitions it touches. ``files`` is written last in a batch, so a crash mid-batch only
means the batch is parsed again next time; document ids are stable, so nothing is duplicated.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import polars as pl

from pipeline import storage, versions
from pipeline.ingest import InboxEntry, IngestConfig, ParsedFile, WorkerPool, parse_files, scan_inbox
from pipeline.schema import DOCUMENTS, FILES, REJECTS
from pipeline.storage import Lake

CODE_VERSION = versions.INGEST


@dataclass(frozen=True)
class IngestPlan:
    to_parse: list[InboxEntry]
    replaced_paths: frozenset[str]
    duplicate_files: pl.DataFrame  # FILES rows
    unusable: pl.DataFrame  # FILES rows for symlinks, special and unreadable entries
    unchanged: int


@dataclass
class IngestReport:
    files_seen: int = 0
    files_new: int = 0
    files_unchanged: int = 0
    files_duplicate: int = 0
    documents: int = 0
    undated: int = 0
    rejects_by_reason: Counter = field(default_factory=Counter)
    files_by_status: Counter = field(default_factory=Counter)
    touched_dates: set[date] = field(default_factory=set)
    parsed_paths: set[str] = field(default_factory=set)
    versions: dict[str, int | None] = field(default_factory=dict)


# scan_inbox entry kinds that are never read, and their reject reason codes (see pipeline.ingest).
_ENTRY_REASONS = {"symlink": "symlink", "special": "special_file", "unreadable": "unreadable"}


def _file_row(**kw) -> dict:
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
            bad_rows.append(_file_row(path=e.rel_path, sha256=e.sha256 or "", size=e.size, format="unknown",
                                      compression="none", status="rejected", reason=_ENTRY_REASONS.get(e.kind, e.kind),
                                      **common))
            continue
        if (e.rel_path, e.sha256) in seen_pairs:
            unchanged += 1
            continue
        original = first_path_of_sha.get(e.sha256)
        if original is not None and original != e.rel_path:
            dup_rows.append(_file_row(path=e.rel_path, sha256=e.sha256, size=e.size, format="unknown",
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


def _write_batch(lake: Lake, parsed: list[ParsedFile], replaced: frozenset[str], *, sizes: dict[str, int],
                 run_id, ingested_at, report: IngestReport) -> None:
    new_docs = pl.concat([DOCUMENTS.conform(p.documents) for p in parsed]) if parsed else DOCUMENTS.empty()
    batch_paths = {p.rel_path for p in parsed}
    replaced_here = [p for p in replaced if p in batch_paths]
    dates = set(new_docs["pub_date"].drop_nulls().to_list())
    undated = new_docs["pub_date"].null_count() > 0
    if replaced_here:
        old = storage.read(lake, DOCUMENTS, columns=["source_path", "pub_date"]).filter(
            pl.col("source_path").is_in(replaced_here))
        dates |= set(old["pub_date"].drop_nulls().to_list())
        undated = undated or old["pub_date"].null_count() > 0
    if dates or undated:
        existing = storage.read(lake, DOCUMENTS, dates=sorted(dates), undated=undated)
        merged = merge_documents(existing, new_docs, replaced_paths=replaced_here)
        storage.write_partitions(lake, DOCUMENTS, merged, dates=dates, include_undated=undated, run_id=run_id,
                                 code_version=CODE_VERSION)
    rejects = [p.rejects for p in parsed if p.rejects.height]
    if rejects:
        rej = pl.concat([REJECTS.conform(r) for r in rejects]).with_columns(
            pl.lit(run_id, pl.String).alias("run_id"),
            pl.col("rejected_at").fill_null(pl.lit(ingested_at, REJECTS.schema["rejected_at"])),
        )
        storage.upsert(lake, REJECTS, rej, run_id=run_id, code_version=CODE_VERSION)
        report.rejects_by_reason.update(rej["reason"].to_list())
    rows = [
        _file_row(path=p.rel_path, sha256=p.sha256, size=sizes.get(p.rel_path), format=p.format,
                  compression=p.compression, status=p.status, reason=p.reason, records=p.records,
                  documents=p.documents.height, rejected=p.rejects.height, ingested_at=ingested_at, run_id=run_id)
        for p in parsed
    ]
    if rows:
        storage.upsert(lake, FILES, pl.DataFrame(rows, schema=FILES.schema), run_id=run_id,
                       code_version=CODE_VERSION)
    report.documents += new_docs.height
    report.undated += new_docs["pub_date"].null_count()
    report.touched_dates |= dates
    report.files_by_status.update(p.status for p in parsed)
    report.parsed_paths |= batch_paths


def ingest(
    inbox,
    lake: Lake,
    *,
    config: IngestConfig = IngestConfig(),
    run_id: str | None = None,
    batch_documents: int = 20_000,
    batch_files: int = 500,
    on_progress: Callable[[int, int], None] | None = None,
    now: datetime | None = None,
) -> IngestReport:
    """Ingest new and changed inbox files into ``documents``, ``rejects`` and ``files``.

    Parameters
    ----------
    inbox
        Folder of raw files.
    lake
        Where the tables live.
    batch_documents, batch_files
        A batch is written (one commit per table) when either bound is reached; bounds memory.
    on_progress
        Called with (files done, files to parse).
    """
    ingested_at = (now or datetime.now(UTC)).astimezone(UTC)
    # workers take ~1 s to start (interpreter, trafilatura, language model): let that overlap the scan
    pool = WorkerPool(config.workers, config=config, ingested_at=ingested_at) if config.workers > 0 else None
    with pool or contextlib.nullcontext():
        entries = scan_inbox(inbox)
        known = storage.read(lake, FILES, columns=["path", "sha256", "status"])
        p = plan(entries, known, ingested_at=ingested_at, run_id=run_id)
        report = IngestReport(files_seen=len(entries), files_new=len(p.to_parse), files_unchanged=p.unchanged,
                              files_duplicate=p.duplicate_files.height)
        whole_file = pl.concat([p.duplicate_files, p.unusable])
        if p.unusable.height:
            rej = p.unusable.select(
                pl.col("path").alias("source_path"), pl.col("sha256").alias("source_sha256"),
                pl.lit(None, pl.String).alias("record_key"), pl.lit("ingest").alias("stage"),
                pl.col("reason"), pl.lit("inbox entry is not a regular file; not read").alias("detail"),
                pl.col("ingested_at").alias("rejected_at"), pl.col("run_id"),
            )
            storage.upsert(lake, REJECTS, rej, run_id=run_id, code_version=CODE_VERSION)
            report.rejects_by_reason.update(rej["reason"].to_list())
        if whole_file.height:
            storage.upsert(lake, FILES, whole_file, run_id=run_id, code_version=CODE_VERSION)
            report.files_by_status.update(whole_file["status"].to_list())

        sizes = {e.rel_path: e.size for e in p.to_parse}
        batch: list[ParsedFile] = []
        n_docs = 0
        parsed_stream = parse_files(p.to_parse, config=config, ingested_at=ingested_at, pool=pool)
        for done, parsed in enumerate(parsed_stream, 1):
            batch.append(parsed)
            n_docs += parsed.documents.height
            if on_progress:
                on_progress(done, len(p.to_parse))
            if n_docs >= batch_documents or len(batch) >= batch_files:
                _write_batch(lake, batch, p.replaced_paths, sizes=sizes, run_id=run_id, ingested_at=ingested_at,
                             report=report)
                batch, n_docs = [], 0
        if batch:
            _write_batch(lake, batch, p.replaced_paths, sizes=sizes, run_id=run_id, ingested_at=ingested_at,
                         report=report)
    report.versions = storage.table_versions(lake)
    return report


def unreconciled(files: pl.DataFrame, documents: pl.DataFrame, rejects: pl.DataFrame) -> pl.DataFrame:
    """Files whose records are not all accounted for: records != documents + record-level rejects.

    Every input record must be a document or a reject (duplicates are documents too; they are flagged, not
    removed). Byte-identical copies of another file (``duplicate_file``) produce nothing by design.
    """
    docs = documents.group_by("source_path").agg(pl.len().alias("found_documents"))
    rej = (rejects.filter(pl.col("record_key").is_not_null()).group_by("source_path")
           .agg(pl.len().alias("found_rejects")))
    latest = files.filter(pl.col("status") != "duplicate_file").sort("ingested_at").unique("path", keep="last")
    return (
        latest.join(docs, left_on="path", right_on="source_path", how="left")
        .join(rej, left_on="path", right_on="source_path", how="left")
        .with_columns(pl.col("found_documents", "found_rejects").fill_null(0))
        .filter(pl.col("records") != pl.col("found_documents") + pl.col("found_rejects"))
        .select("path", "records", "found_documents", "found_rejects")
    )


def date_problems(documents: pl.DataFrame, *, today: date) -> pl.DataFrame:
    """Documents whose partition disagrees with their UTC time, or that are dated after tomorrow."""
    return documents.filter(
        (pl.col("pub_date") != pl.col("pub_datetime").dt.date())
        | (pl.col("pub_date") > pl.lit(today + timedelta(days=1)))
        | (pl.col("pub_date").is_null() != pl.col("pub_datetime").is_null())
    ).select("doc_id", "pub_date", "pub_datetime", "date_raw", "source_path")
