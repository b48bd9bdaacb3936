"""Stage ``dedup``: per-day ``signatures`` (the cross-day index) and ``duplicates`` against the window."""

import time

import dagster as dg

from assets.partitions import pub_days, single_run
from assets.resources import SettingsResource
from assets.results import KINDS, ProgressLog, check_specs, emit, transient_io_retry
from pipeline.dedup import runner
from pipeline.schema import DUPLICATES, SIGNATURES
from pipeline.stage import DEDUP, parse_key


@dg.multi_asset(
    name="dedup",
    specs=[
        dg.AssetSpec(
            "signatures",
            group_name=DEDUP.name,
            kinds=KINDS,
            code_version=DEDUP.code_version,
            deps=["documents"],
            partitions_def=pub_days,
            description=SIGNATURES.doc,
        ),
        dg.AssetSpec(
            "duplicates",
            group_name=DEDUP.name,
            kinds=KINDS,
            code_version=DEDUP.code_version,
            deps=["signatures"],
            partitions_def=pub_days,
            description=DUPLICATES.doc,
        ),
    ],
    check_specs=check_specs(DEDUP, partitioned=True),
    partitions_def=pub_days,
    backfill_policy=single_run,
    can_subset=True,
)
def dedup(context: dg.AssetExecutionContext, settings: SettingsResource):
    """Signatures of the days' documents, then clusters against each day's window of earlier days."""
    t0, lake = time.perf_counter(), settings.get_lake()
    with transient_io_retry():
        result = runner.run(
            lake,
            [parse_key(k) for k in context.partition_keys],
            settings=settings.get_settings(),
            run_id=context.run_id,
            on_progress=ProgressLog(context.log, "dedup steps"),
        )
    yield from emit(context, DEDUP, result, lake_uri=lake.uri, seconds=time.perf_counter() - t0)
