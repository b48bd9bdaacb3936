"""Stage ``ingest``: new and changed inbox files become ``files``, ``documents`` and ``rejects``.

``documents`` is partitioned by publication day (:mod:`assets.partitions`) and written only by this step:
it is declared as a spec of its own, and the step records one materialization per day it touched.
"""

import time

import dagster as dg

from assets.partitions import add_keys, pub_days
from assets.resources import SettingsResource
from assets.results import KINDS, ProgressLog, check_specs, emit, transient_io_retry
from pipeline.ingest import run_stage
from pipeline.schema import DOCUMENTS, FILES, REJECTS
from pipeline.stage import INGEST

documents = dg.AssetSpec(
    "documents",
    group_name=INGEST.name,
    kinds=KINDS | {"trafilatura"},
    partitions_def=pub_days,
    code_version=INGEST.code_version,
    description=DOCUMENTS.doc + " Written by the `ingest` step (materialize `files` to run it), which replaces "
    "only the publication-day partitions that new or changed files touch.",
)


@dg.multi_asset(
    name="ingest",
    specs=[
        dg.AssetSpec(
            "files",
            group_name=INGEST.name,
            kinds=KINDS,
            code_version=INGEST.code_version,
            description=FILES.doc + " Updated by the `ingest` step.",
        ),
        dg.AssetSpec(
            "rejects", group_name=INGEST.name, kinds=KINDS, code_version=INGEST.code_version, description=REJECTS.doc
        ),
    ],
    check_specs=[s for s in check_specs(INGEST, partitioned=False) if s.asset_key.to_user_string() == "files"],
    can_subset=True,
    op_tags={"newslake/writes": "lake"},
)
def ingest(context: dg.AssetExecutionContext, settings: SettingsResource):
    """Parse new or changed inbox files (by content) into documents; record every file and every reject."""
    t0, lake, config = time.perf_counter(), settings.get_lake(), settings.get_settings()
    with transient_io_retry():
        report, result = run_stage(
            lake,
            settings=config,
            run_id=context.run_id,
            on_progress=ProgressLog(context.log, "files parsed"),
        )
    # documents is partitioned: every key is a day or UNDATED (None only marks an unpartitioned table)
    added = add_keys(
        context.instance, [t.partition for t in result.tables if t.table == "documents" and t.partition is not None]
    )
    context.log.info(f"ingested {report.documents} documents from {report.files_new} files; new partitions: {added}")
    seconds = time.perf_counter() - t0
    yield from emit(
        context, INGEST, result, lake_uri=lake.uri, seconds=seconds, settings_digest=config.digest("ingest")
    )


@dg.asset_check(
    asset="documents", name="dates_sane", blocking=True, description=INGEST.checks["documents"]["dates_sane"]
)
def dates_sane(settings: SettingsResource) -> dg.AssetCheckResult:
    """Re-checks the whole table on demand; the ingest step evaluates it for the documents it wrote."""
    from datetime import UTC, datetime

    from pipeline import storage
    from pipeline.ingest import date_problems

    docs = storage.read(
        settings.get_lake(), DOCUMENTS, columns=["doc_id", "pub_date", "pub_datetime", "date_raw", "source_path"]
    )
    bad = date_problems(docs, today=datetime.now(UTC).date())
    return dg.AssetCheckResult(passed=bad.height == 0, metadata={"bad_documents": bad.height})
