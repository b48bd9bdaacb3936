"""Stage ``ingest`` runner: new and changed inbox files -> ``documents``, ``rejects`` and ``files``.

Documents are written batch by batch (bounded memory), each batch in one Delta commit that replaces exactly
the ``pub_date`` partitions it touches. ``files`` is written last in a batch, so a crash mid-batch only
means the batch is parsed again next time; document ids are stable, so nothing is duplicated.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import polars as pl

from pipeline import storage, versions
from pipeline.ingest.config import IngestConfig
from pipeline.ingest.inbox import scan_inbox
from pipeline.ingest.manifest import file_row, merge_documents, plan
from pipeline.ingest.records import ParsedFile
from pipeline.ingest.workers import WorkerPool, parse_files
from pipeline.schema import DOCUMENTS, FILES, REJECTS
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
    parsed_paths: set[str] = field(default_factory=set)
    versions: dict[str, int | None] = field(default_factory=dict)


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
        file_row(path=p.rel_path, sha256=p.sha256, size=sizes.get(p.rel_path), format=p.format,
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
