"""Stage ``ingest`` runner: new and changed inbox files -> ``documents``, ``rejects`` and ``files``.

Documents are written batch by batch (bounded memory), each batch in one Delta commit that replaces exactly
the ``pub_date`` partitions it touches. ``files`` is written last in a batch, so a crash mid-batch only
means the batch is parsed again next time; document ids are stable, so nothing is duplicated.
"""

from __future__ import annotations

import contextlib
import os
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl

from pipeline import storage, versions
from pipeline.ingest.config import IngestConfig
from pipeline.ingest.inbox import scan_inbox
from pipeline.ingest.manifest import file_row, merge_documents, plan
from pipeline.ingest.records import ParsedFile
from pipeline.ingest.workers import WorkerPool, parse_files
from pipeline.schema import DOCUMENTS, FILES, REJECTS
from pipeline.stage import StageResult
from pipeline.storage import Lake

CODE_VERSION = versions.INGEST


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
    touched_undated: bool = False
    parsed_paths: set[str] = field(default_factory=set)
    versions: dict[str, int | None] = field(default_factory=dict)


def _replace_documents(lake: Lake, new_docs: pl.DataFrame, replaced: list[str], *, run_id) -> tuple[set, bool]:
    """Write ``new_docs`` and drop every earlier document of the ``replaced`` paths; return (dates, undated)."""
    dates = set(new_docs["pub_date"].drop_nulls().to_list())
    undated = new_docs["pub_date"].null_count() > 0
    if replaced:
        old = storage.read(lake, DOCUMENTS, columns=["source_path", "pub_date"], where_in=("source_path", replaced))
        dates |= set(old["pub_date"].drop_nulls().to_list())
        undated = undated or old["pub_date"].null_count() > 0
    if dates or undated:
        existing = storage.read(lake, DOCUMENTS, dates=sorted(dates), undated=undated)
        merged = merge_documents(existing, new_docs, replaced_paths=replaced)
        storage.write_partitions(
            lake, DOCUMENTS, merged, dates=dates, include_undated=undated, run_id=run_id, code_version=CODE_VERSION
        )
    return dates, undated


def _clear_rejects(lake: Lake, paths: list[str], *, run_id) -> None:
    """Drop the ``ingest`` rejects of paths about to get a new ``files`` row (the old bytes' rejects)."""
    if paths and lake.exists(REJECTS):
        storage.delete_where_in(
            lake, REJECTS, "source_path", paths, only={"stage": "ingest"}, run_id=run_id, code_version=CODE_VERSION
        )


def _write_batch(
    lake: Lake,
    parsed: list[ParsedFile],
    replaced: frozenset[str],
    *,
    sizes: dict[str, int],
    retries: dict[str, int],
    run_id,
    ingested_at,
    report: IngestReport,
) -> None:
    new_docs = pl.concat([DOCUMENTS.conform(p.documents) for p in parsed]) if parsed else DOCUMENTS.empty()
    batch_paths = {p.rel_path for p in parsed}
    dates, undated = _replace_documents(lake, new_docs, sorted(p for p in replaced if p in batch_paths), run_id=run_id)
    report.touched_undated = report.touched_undated or undated
    _clear_rejects(lake, sorted(p for p in replaced if p in batch_paths), run_id=run_id)
    rejects = [p.rejects for p in parsed if p.rejects.height]
    if rejects:
        rej = pl.concat([REJECTS.conform(r) for r in rejects]).with_columns(
            pl.lit(run_id, pl.String).alias("run_id"),
            pl.col("rejected_at").fill_null(pl.lit(ingested_at, REJECTS.schema["rejected_at"])),
        )
        storage.upsert(lake, REJECTS, rej, run_id=run_id, code_version=CODE_VERSION)
        report.rejects_by_reason.update(rej["reason"].to_list())
    rows = [
        file_row(
            path=p.rel_path,
            sha256=p.sha256,
            size=sizes.get(p.rel_path),
            format=p.format,
            compression=p.compression,
            status=p.status,
            reason=p.reason,
            records=p.records,
            documents=p.documents.height,
            rejected=p.rejects.height,
            ingested_at=ingested_at,
            run_id=run_id,
            retries=retries.get(p.rel_path, 0),
            decode_flags=list(p.decode_flags),
        )
        for p in parsed
    ]
    if rows:  # last: a crash before this line only means the batch is parsed again next time
        storage.upsert(lake, FILES, pl.DataFrame(rows, schema=FILES.schema), run_id=run_id, code_version=CODE_VERSION)
    report.documents += new_docs.height
    report.undated += new_docs["pub_date"].null_count()
    report.touched_dates |= dates
    report.files_by_status.update(p.status for p in parsed)
    report.parsed_paths |= batch_paths


def _collapse_legacy(lake: Lake, known: pl.DataFrame, *, run_id) -> pl.DataFrame:
    """Lakes written before issue 15 kept one ``files`` row per (path, sha256); keep each path's latest.

    A MERGE on ``path`` would update every old row of a path alike and leave identical copies, so the old
    rows are deleted and the latest put back (once: afterwards there is one row per path)."""
    if known["path"].n_unique() == known.height:
        return known
    latest = known.sort("ingested_at", nulls_last=False).unique("path", keep="last", maintain_order=True)
    dup = known.filter(pl.col("path").is_duplicated())["path"].unique().to_list()
    storage.delete_where_in(lake, FILES, "path", dup, run_id=run_id, code_version=CODE_VERSION)
    storage.upsert(lake, FILES, latest.filter(pl.col("path").is_in(dup)), run_id=run_id, code_version=CODE_VERSION)
    return latest


def internal_dirs(lake: Lake) -> list[tuple[Path, str]]:
    """Folders that must never be read as inbox content: the lake and the Dagster home."""
    out = []
    if "://" not in lake.root:
        out.append(
            (
                Path(lake.root),
                f"the lake ({lake.root}) is inside the inbox: refused as inbox content; move the lake or the inbox",
            )
        )
    if home := os.environ.get("DAGSTER_HOME"):
        out.append(
            (
                Path(home),
                f"the Dagster home ({home}) is inside the inbox (lake_in_inbox): refused as "
                "inbox content; move it out of the inbox",
            )
        )
    return out


def run(
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
        entries = scan_inbox(inbox, exclude=internal_dirs(lake))
        known = _collapse_legacy(lake, storage.read(lake, FILES), run_id=run_id)
        p = plan(entries, known, ingested_at=ingested_at, run_id=run_id)
        report = IngestReport(
            files_seen=len(entries),
            files_new=len(p.to_parse),
            files_unchanged=p.unchanged,
            files_duplicate=p.duplicate_files.height,
        )
        whole_file = pl.concat([p.duplicate_files, p.unusable])
        if p.cleared:  # paths that became copies or unusable: their earlier output goes first
            dates, undated = _replace_documents(lake, DOCUMENTS.empty(), sorted(p.cleared), run_id=run_id)
            report.touched_dates |= dates
            report.touched_undated = report.touched_undated or undated
            _clear_rejects(lake, sorted(p.cleared), run_id=run_id)
        if p.unusable.height:
            details = {e.rel_path: e.detail or f"inbox entry of kind {e.kind}; not read" for e in entries}
            rej = p.unusable.select(
                pl.col("path").alias("source_path"),
                pl.col("sha256").alias("source_sha256"),
                pl.lit(None, pl.String).alias("record_key"),
                pl.lit("ingest").alias("stage"),
                pl.col("reason"),
                pl.col("path").replace_strict(details, default="not read").alias("detail"),
                pl.col("ingested_at").alias("rejected_at"),
                pl.col("run_id"),
            )
            storage.upsert(lake, REJECTS, rej, run_id=run_id, code_version=CODE_VERSION)
            report.rejects_by_reason.update(rej["reason"].to_list())
        if whole_file.height:
            storage.upsert(lake, FILES, whole_file, run_id=run_id, code_version=CODE_VERSION)
            report.files_by_status.update(whole_file["status"].to_list())

        sizes = {e.rel_path: e.size for e in p.to_parse}
        batch: list[ParsedFile] = []
        n_docs = 0

        def flush() -> None:
            _write_batch(
                lake,
                batch,
                p.replaced_paths,
                sizes=sizes,
                retries=p.retries or {},
                run_id=run_id,
                ingested_at=ingested_at,
                report=report,
            )
            batch.clear()

        parsed_stream = parse_files(p.to_parse, config=config, ingested_at=ingested_at, pool=pool)
        for done, parsed in enumerate(parsed_stream, 1):
            batch.append(parsed)
            n_docs += parsed.documents.height
            if on_progress:
                on_progress(done, len(p.to_parse))
            if n_docs >= batch_documents or len(batch) >= batch_files:
                flush()
                n_docs = 0
        if batch:
            flush()
    report.versions = storage.table_versions(lake)
    return report


def run_stage(
    lake: Lake, *, settings, run_id: str | None, on_progress: Callable[[int, int], None] | None = None
) -> tuple[IngestReport, StageResult]:
    """The stage as every other runs: ingest the settings' inbox, then per-table outcomes and checks.

    ``documents`` gets one outcome per publication day this run touched (and the undated key); its
    figures count what the run wrote there. Checks cover what this run parsed (O(run), not O(lake)).
    """
    from pipeline.ingest.checks import date_problems, unreconciled
    from pipeline.ingest.inbox import inbox_fingerprint
    from pipeline.stage import CheckOutcome, TableOutcome, day_key

    inbox = Path(settings.inbox).expanduser().resolve()
    # Taken before the scan: a file that arrives during the run changes the inbox after this fingerprint.
    fingerprint = inbox_fingerprint(inbox)
    report = run(inbox, lake, config=settings.ingest, run_id=run_id, on_progress=on_progress)
    touched = sorted(report.touched_dates)
    undated = report.touched_undated
    docs = storage.read(lake, DOCUMENTS, dates=touched, undated=undated) if touched or undated else DOCUMENTS.empty()
    version = report.versions.get("documents")
    tables = []
    by_day = {k[0]: g for k, g in docs.group_by("pub_date")} if docs.height else {}
    for day in [*touched, *([None] if undated else [])]:
        rows = by_day.get(day, docs.clear())
        tables.append(
            TableOutcome(
                "documents",
                day_key(day),
                rows.height,
                version,
                rows.head(10),
                {
                    "languages": dict(rows.group_by("language").len().iter_rows()) if rows.height else {},
                    "sources": rows["source_path"].n_unique() if rows.height else 0,
                },
            )
        )
    files = storage.read(lake, FILES)
    rejects = storage.read(lake, REJECTS)
    tables.append(
        TableOutcome(
            "files",
            None,
            files.height,
            report.versions.get("files"),
            files.sort("ingested_at", descending=True).head(10),
            {
                "files_seen": report.files_seen,
                "files_new": report.files_new,
                "files_unchanged": report.files_unchanged,
                "files_duplicate": report.files_duplicate,
                "files_by_status": dict(report.files_by_status),
                "inbox_fingerprint": fingerprint,
            },
        )
    )
    tables.append(
        TableOutcome(
            "rejects",
            None,
            rejects.height,
            report.versions.get("rejects"),
            rejects.sort("rejected_at", descending=True).head(10),
            {
                "rejects_this_run": sum(report.rejects_by_reason.values()),
                "rejects_by_reason": dict(report.rejects_by_reason),
                "rejects_total_by_reason": dict(rejects.group_by("reason").len().iter_rows()) if rejects.height else {},
            },
        )
    )
    paths = sorted(report.parsed_paths)
    run_docs = (
        storage.read(
            lake,
            DOCUMENTS,
            dates=touched,
            undated=True,
            columns=["doc_id", "pub_date", "pub_datetime", "date_raw", "source_path"],
            where_in=("source_path", paths),
        )
        if paths
        else DOCUMENTS.empty()
    )
    lost = unreconciled(
        files.filter(pl.col("path").is_in(paths)), run_docs, rejects.filter(pl.col("source_path").is_in(paths))
    )
    bad_dates = date_problems(run_docs, today=datetime.now(UTC).date())
    checks = [
        CheckOutcome(
            "files",
            "every_record_accounted_for",
            lost.height == 0,
            None,
            {"unreconciled_files": lost.height, "files": files.height, "sample": lost.head(10)},
        ),
        CheckOutcome(
            "documents",
            "dates_sane",
            bad_dates.height == 0,
            None,
            {"bad_documents": bad_dates.height, "sample": bad_dates.head(10)},
        ),
    ]
    figures = {
        "documents_written": report.documents,
        "undated_written": report.undated,
        "touched_dates": [d.isoformat() for d in touched],
    }
    return report, StageResult("ingest", tables, checks, figures)
