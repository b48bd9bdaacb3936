"""``backfill_job``: the daily assets for any set of days in ONE run (what `newslake run` uses for backfills).

A partitioned asset run covers one contiguous range of days, and Dagster records two events per partition
and asset, so far-apart days (an archive's sparse history, crawled pages with their own dates) need one run
each, ~1.3 s apiece before any work. This job runs the same stage functions the assets call
(``materialize_*``) over all the days at once, one Delta commit per table, and reports an
``AssetMaterialization`` per asset and partition plus the asset checks' evaluations, so the UI shows those
partitions materialized exactly as if the assets had run. A failed check fails the run (the checks are
blocking) before later stages run.
"""

import time

import dagster as dg

from assets import dedup, nlp
from assets.automation import WRITER_TAGS
from assets.resources import LakeResource
from pipeline.storage import validate_date


class BackfillDays(dg.Config):
    """Publication days to process, ``YYYY-MM-DD``."""

    days: list[str]


def _report(context: dg.OpExecutionContext, asset: str, days, result: dg.MaterializeResult) -> None:
    key = dg.AssetKey(asset)
    metadata = dict(result.metadata or {})
    last = days[-1].isoformat()
    for d in days:
        # The stage's figures cover all the run's days; they are attached once, to the last day.
        md = metadata if d.isoformat() == last else {"batch_run_days": len(days), "figures_on_partition": last}
        context.log_event(dg.AssetMaterialization(asset_key=key, partition=d.isoformat(), metadata=md))
    failed = []
    for check in result.check_results or []:
        context.log_event(dg.AssetCheckEvaluation(asset_key=key, check_name=check.check_name, passed=check.passed,
                                                  metadata=dict(check.metadata or {})))
        if not check.passed:
            failed.append(check.check_name)
    if failed:
        raise dg.Failure(f"{asset}: blocking checks failed: {', '.join(failed)}")


@dg.op(pool="newslake_lake")
def process_days(context: dg.OpExecutionContext, config: BackfillDays, lake: LakeResource,
                 dedup_settings: dedup.DedupSettings, tagger: nlp.TaggerSettings) -> None:
    """signatures → duplicates → sentences → entities → entity_daily for the configured days."""
    days = sorted({validate_date(d) for d in config.days})
    if not days:
        return
    lk, run_id, dcfg = lake.lake(), context.run_id, dedup_settings.config()
    context.log.info(f"{len(days)} day(s), {days[0]} .. {days[-1]}")
    stages = [
        ("signatures", lambda: dedup.materialize_signatures(lk, days, run_id=run_id, config=dcfg)),
        ("duplicates", lambda: dedup.materialize_duplicates(lk, days, run_id=run_id, config=dcfg)),
        ("sentences", lambda: nlp.materialize_sentences(lk, days, run_id=run_id)),
        ("entities", lambda: nlp.materialize_entities(lk, days, run_id=run_id, tagger=tagger, log=context.log)),
        ("entity_daily", lambda: nlp.materialize_entity_daily(lk, days, run_id=run_id)),
    ]
    for asset, materialize in stages:  # in the assets' dependency order
        t0 = time.perf_counter()
        result = materialize()
        _report(context, asset, days, result)
        context.log.info(f"{asset}: {len(days)} day(s) in {time.perf_counter() - t0:.1f}s")


@dg.job(tags=WRITER_TAGS, description="Deduplicate, segment and tag any set of publication days in one run.")
def backfill_job():
    process_days()
