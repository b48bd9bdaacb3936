"""Stage ``sentences``: sentences of canonical (non-duplicate) documents with exact offsets."""

import dagster as dg

from assets.partitions import pub_days, single_run
from assets.resources import SettingsResource
from assets.results import check_specs, daily_spec, run_daily_step
from pipeline.schema import SENTENCES
from pipeline.sentences import runner
from pipeline.stage import SENTENCES as STAGE


@dg.multi_asset(
    name="sentences",
    specs=[daily_spec("sentences", STAGE, deps=["documents", "duplicates"], doc=SENTENCES.doc)],
    check_specs=check_specs(STAGE, partitioned=True),
    partitions_def=pub_days,
    backfill_policy=single_run,
    can_subset=True,
)
def sentences(context: dg.AssetExecutionContext, settings: SettingsResource):
    """Split the days' canonical documents into sentences (rules for each document's language)."""
    yield from run_daily_step(context, settings, STAGE, runner.run, what="sentences")
