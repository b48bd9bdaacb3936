"""Stage ``entities``: entity mentions of canonical documents, and ``entity_daily`` counts."""

import time

import dagster as dg

from assets.partitions import pub_days, single_run
from assets.resources import SettingsResource
from assets.results import KINDS, ProgressLog, check_specs, emit, transient_io_retry
from pipeline.entities import runner
from pipeline.schema import ENTITIES, ENTITY_DAILY
from pipeline.stage import ENTITIES as STAGE
from pipeline.stage import parse_key


@dg.multi_asset(
    name="entities",
    specs=[
        dg.AssetSpec(
            "entities",
            group_name=STAGE.name,
            kinds=KINDS | {"spacy"},
            code_version=STAGE.code_version,
            deps=["documents", "sentences"],
            partitions_def=pub_days,
            description=ENTITIES.doc,
        ),
        dg.AssetSpec(
            "entity_daily",
            group_name=STAGE.name,
            kinds=KINDS,
            code_version=STAGE.code_version,
            deps=["entities"],
            partitions_def=pub_days,
            description=ENTITY_DAILY.doc,
        ),
    ],
    check_specs=check_specs(STAGE, partitioned=True),
    partitions_def=pub_days,
    backfill_policy=single_run,
    can_subset=True,
)
def entities(context: dg.AssetExecutionContext, settings: SettingsResource):
    """Tag the days' canonical documents in their model's language; count entities per day."""
    t0, lake = time.perf_counter(), settings.get_lake()
    with transient_io_retry():
        result = runner.run(
            lake,
            [parse_key(k) for k in context.partition_keys],
            settings=settings.get_settings(),
            run_id=context.run_id,
            on_progress=ProgressLog(context.log, "documents tagged"),
        )
    yield from emit(context, STAGE, result, lake_uri=lake.uri, seconds=time.perf_counter() - t0)
