"""Ingestion: new and changed inbox files become `files`, `documents` and `rejects`."""


from datetime import UTC, datetime

import dagster as dg
import polars as pl

from assets.metadata import ProgressLog, counts_table, preview, table_metadata
from assets.resources import InboxResource, LakeResource
from assets.retry import transient_io_retry
from pipeline import storage, versions
from pipeline.schema import DOCUMENTS, FILES, REJECTS

GROUP = "ingestion"
_KINDS = {"python", "delta", "polars"}


@dg.multi_asset(
    name="ingest",
    specs=[
        dg.AssetSpec("files", group_name=GROUP, kinds=_KINDS, code_version=versions.INGEST,
                     description=FILES.doc + " Updated by the `ingest` step."),
        dg.AssetSpec("documents", group_name=GROUP, kinds=_KINDS | {"trafilatura"},
                     code_version=versions.INGEST,
                     description=DOCUMENTS.doc + " Written by the `ingest` step, which replaces only the "
                     "publication-date partitions that new or changed files touch."),
        dg.AssetSpec("rejects", group_name=GROUP, kinds=_KINDS, code_version=versions.INGEST,
                     description=REJECTS.doc),
    ],
    check_specs=[
        dg.AssetCheckSpec("every_record_accounted_for", asset="files", blocking=True,
                          description="For every file: records = documents + record rejects (nothing lost)."),
        dg.AssetCheckSpec("dates_sane", asset="documents", blocking=True,
                          description="pub_date is the UTC date of pub_datetime and not after tomorrow."),
    ],
    pool="newslake_lake",
    op_tags={"newslake/writes": "lake"},
)
def ingest(context: dg.AssetExecutionContext, inbox: InboxResource, lake: LakeResource):
    """Parse new or changed inbox files (by sha256) into documents; record every file and every reject."""
    lk = lake.lake()
    with transient_io_retry():
        report = ingest.run(
            inbox.folder(), lk, config=inbox.ingest_config(), run_id=context.run_id,
            on_progress=ProgressLog(context.log, "files parsed"),
        )
    touched = sorted(d.isoformat() for d in report.touched_dates)
    context.log.info(f"ingested {report.documents} documents from {report.files_new} files; touched {touched}")
    docs = storage.read(lk, DOCUMENTS, dates=report.touched_dates) if touched else DOCUMENTS.empty()
    per_day = {k: v for k, v in docs.group_by("pub_date").len().iter_rows()} if docs.height else {}
    yield dg.MaterializeResult(
        asset_key="documents",
        metadata=table_metadata(
            DOCUMENTS, docs, version=report.versions.get("documents"), uri=lk.uri(DOCUMENTS),
            documents_written=report.documents, undated_written=report.undated,
            touched_dates=dg.MetadataValue.json(touched),
            documents_per_day=counts_table({str(k): v for k, v in per_day.items()}, key="pub_date"),
        ),
    )
    files = storage.read(lk, FILES)
    yield dg.MaterializeResult(
        asset_key="files",
        metadata=table_metadata(
            FILES, files, version=report.versions.get("files"), uri=lk.uri(FILES),
            files_seen=report.files_seen, files_new=report.files_new, files_unchanged=report.files_unchanged,
            files_duplicate=report.files_duplicate,
            files_by_status=counts_table(dict(report.files_by_status), key="status"),
        ),
    )
    rejects = storage.read(lk, REJECTS)
    # Checks cover what this run wrote (O(run), not O(lake)); earlier runs were checked when they ran.
    paths = sorted(report.parsed_paths)
    run_docs = storage.read(lk, DOCUMENTS, dates=sorted(report.touched_dates), undated=True,
                            columns=["doc_id", "pub_date", "pub_datetime", "date_raw", "source_path"],
                            where_in=("source_path", paths)) if paths else DOCUMENTS.empty()
    in_run = pl.col("source_path").is_in(paths)
    lost = ingest.unreconciled(files.filter(pl.col("path").is_in(paths)), run_docs, rejects.filter(in_run))
    bad_dates = ingest.date_problems(run_docs, today=datetime.now(UTC).date())
    yield dg.AssetCheckResult(asset_key="files", check_name="every_record_accounted_for", passed=lost.height == 0,
                              metadata={"unreconciled_files": lost.height, "files": files.height,
                                        "sample": preview(lost)})
    yield dg.AssetCheckResult(asset_key="documents", check_name="dates_sane", passed=bad_dates.height == 0,
                              metadata={"bad_documents": bad_dates.height, "sample": preview(bad_dates)})
    yield dg.MaterializeResult(
        asset_key="rejects",
        metadata=table_metadata(
            REJECTS, rejects.sort("rejected_at", descending=True), version=report.versions.get("rejects"),
            uri=lk.uri(REJECTS), rejects_this_run=sum(report.rejects_by_reason.values()),
            rejects_by_reason=counts_table(dict(report.rejects_by_reason), key="reason"),
            rejects_total_by_reason=counts_table(
                dict(rejects.group_by("reason").len().iter_rows()) if rejects.height else {}, key="reason"),
        ),
    )
