"""Stage ``sentences``: sentences of canonical (non-duplicate) documents with exact offsets."""

import time

import dagster as dg

from assets.partitions import pub_days, single_run
from assets.resources import SettingsResource
from assets.results import KINDS, ProgressLog, check_specs, emit, transient_io_retry
from pipeline.schema import SENTENCES
from pipeline.sentences import runner
from pipeline.stage import SENTENCES as STAGE
from pipeline.stage import parse_key


@dg.multi_asset(
    name="sentences",
    specs=[
        dg.AssetSpec(
            "sentences",
            group_name=STAGE.name,
            kinds=KINDS,
            code_version=STAGE.code_version,
            deps=["documents", "duplicates"],
            partitions_def=pub_days,
            description=SENTENCES.doc,
        )
    ],
    check_specs=check_specs(STAGE, partitioned=True),
    partitions_def=pub_days,
    backfill_policy=single_run,
    can_subset=True,
)
def sentences(context: dg.AssetExecutionContext, settings: SettingsResource):
    """Split the days' canonical documents into sentences."""
    t0, lake = time.perf_counter(), settings.get_lake()
    with transient_io_retry():
        result = runner.run(
            lake,
            [parse_key(k) for k in context.partition_keys],
            settings=settings.get_settings(),
            run_id=context.run_id,
            on_progress=ProgressLog(context.log, "sentences"),
        )
    yield from emit(context, STAGE, result, lake_uri=lake.uri, seconds=time.perf_counter() - t0)
