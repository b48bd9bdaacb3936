"""Stage ``entities``: entity mentions of canonical documents, and ``entity_daily`` counts."""

import dagster as dg

from assets.partitions import pub_days, single_run
from assets.resources import SettingsResource
from assets.results import KINDS, check_specs, daily_spec, run_daily_step
from pipeline.entities import runner
from pipeline.schema import ENTITIES, ENTITY_DAILY
from pipeline.stage import ENTITIES as STAGE


@dg.multi_asset(
    name="entities",
    specs=[
        daily_spec("entities", STAGE, deps=["documents", "sentences"], doc=ENTITIES.doc, kinds=KINDS | {"spacy"}),
        daily_spec("entity_daily", STAGE, deps=["entities"], doc=ENTITY_DAILY.doc),
    ],
    check_specs=check_specs(STAGE, partitioned=True),
    partitions_def=pub_days,
    backfill_policy=single_run,
    can_subset=True,
)
def entities(context: dg.AssetExecutionContext, settings: SettingsResource):
    """Tag the days' canonical documents with the pipeline for each one's language; count entities per day."""
    yield from run_daily_step(context, settings, STAGE, runner.run, what="documents tagged")
