"""Stage ``dedup``: per-day ``signatures`` (the cross-day index) and ``duplicates`` against the window."""

import dagster as dg

from assets.partitions import pub_days, single_run
from assets.resources import SettingsResource
from assets.results import check_specs, daily_spec, run_daily_step
from pipeline.dedup import runner
from pipeline.schema import DUPLICATES, SIGNATURES
from pipeline.stage import DEDUP


@dg.multi_asset(
    name="dedup",
    specs=[
        daily_spec("signatures", DEDUP, deps=["documents"], doc=SIGNATURES.doc),
        daily_spec("duplicates", DEDUP, deps=["signatures"], doc=DUPLICATES.doc),
    ],
    check_specs=check_specs(DEDUP, partitioned=True),
    partitions_def=pub_days,
    backfill_policy=single_run,
    can_subset=True,
)
def dedup(context: dg.AssetExecutionContext, settings: SettingsResource):
    """Signatures of the days' documents, then clusters against each day's window of earlier days."""
    yield from run_daily_step(context, settings, DEDUP, runner.run, what="dedup steps")
