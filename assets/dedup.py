"""Stage ``dedup``: per-day ``signatures`` (the cross-day index) and ``duplicates`` against the window.

A day's ``duplicates`` depend on the ``signatures`` of every day in its window, which other runs may be
writing at the same time. Between the two, the step waits for started runs that are writing the signatures
of earlier window days, then records per day a *window read* (an observation of the ``duplicates``
partition: when, and which earlier window days still had no current signatures); the planner
(:func:`pipeline.planning.keys_to_process`) processes a day again when its read missed something, so runs
on neighbouring days, in any order or at once, end with the tables of a serial build.
"""

import time

import dagster as dg

from assets import guard, partitions
from assets.partitions import pub_days, single_run
from assets.resources import SettingsResource
from assets.results import check_specs, daily_spec, run_daily_step
from pipeline import planning
from pipeline.dedup import runner
from pipeline.dedup.cluster import window_bounds
from pipeline.schema import DOCUMENTS, DUPLICATES, SIGNATURES
from pipeline.stage import DEDUP, UNDATED, Day, StageResult, day_key, order_days

UNSEEN = "window_unseen"  # metadata of a window read: the window days whose signatures were not current
WAIT = 3600.0  # longest wait for runs of earlier days to write their signatures


def _unseen(instance: dg.DagsterInstance, earlier: list[str]) -> list[str]:
    if not earlier:
        return []
    event = dg.DagsterEventType.ASSET_MATERIALIZATION
    inputs = instance.get_latest_storage_id_by_partition(dg.AssetKey("documents"), event, set(earlier))
    sigs = instance.get_latest_storage_id_by_partition(dg.AssetKey("signatures"), event, set(earlier))
    return planning.not_current(earlier, inputs=inputs, signatures=sigs)


def _writers(context: dg.AssetExecutionContext, days: list[str]) -> list[str]:
    """Other started runs whose partition range holds one of ``days`` (they are writing their signatures)."""
    out = []
    for run in context.instance.get_runs(dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED])):
        if run.run_id == context.run_id or guard.waits_for(context.instance, run.run_id, context.run_id):
            continue  # a run that shares a day with this one waits for it (assets/guard.py): never wait back
        rng = guard.key_range(run.tags)
        if rng and any(guard.overlap(rng, (d, d)) for d in days):
            out.append(run.run_id)
    return out


def record_window_read(
    context: dg.AssetExecutionContext, days: list[Day], *, window_days: int | None, wait_seconds: float = WAIT
) -> None:
    """One observation per dated day of the run, before its window is read (the order is the point).

    First, while a started run holds window days whose signatures are not current, wait for it (it only
    waits, in turn, for runs of still earlier days: no cycle). A run that starts later, or a wait that
    times out, leaves the days unseen, and the planner processes this run's days again.
    """
    keys = [day_key(d) for d in days if d is not None]
    if not keys:
        return
    instance = context.instance
    earlier = planning.earlier_window_keys(partitions.keys(instance), keys[0], window_days=window_days)
    unseen = _unseen(instance, earlier)
    deadline = time.monotonic() + wait_seconds
    while unseen and time.monotonic() < deadline and (writers := _writers(context, unseen)):
        context.log.info(f"waiting for run(s) {', '.join(r[:8] for r in writers)} to write signatures of {unseen}")
        time.sleep(1.0)
        unseen = _unseen(instance, earlier)
    for d, key in zip([d for d in days if d is not None], keys, strict=True):
        lo, _ = window_bounds(d, window_days=window_days)
        mine = [k for k in unseen if lo is None or k >= lo.isoformat()]
        context.log_event(
            dg.AssetObservation(
                asset_key="duplicates",
                partition=key,
                description="window read: duplicates of this day are computed from the signatures current now",
                metadata={UNSEEN: dg.MetadataValue.json(mine)},
            )
        )


def window_reads(instance: dg.DagsterInstance) -> dict[str, planning.WindowRead]:
    """Each day's latest window read (for the planner)."""
    ids = instance.get_latest_storage_id_by_partition(dg.AssetKey("duplicates"), dg.DagsterEventType.ASSET_OBSERVATION)
    ids = {k: v for k, v in ids.items() if k != UNDATED}
    if not ids:
        return {}
    records = instance.fetch_observations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey("duplicates"), storage_ids=list(ids.values())), limit=len(ids)
    ).records
    out = {}
    for r in records:
        obs = r.asset_observation
        if obs is None or obs.partition is None:
            continue
        value = getattr(obs.metadata.get(UNSEEN), "value", None) or []
        out[obs.partition] = planning.WindowRead(r.storage_id, tuple(value))
    return out


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

    def run(lake, days, *, settings, run_id, on_progress=None) -> StageResult:
        # runner.run's two halves, with the window read recorded between them.
        days = order_days(days)
        runner.require(lake, DOCUMENTS, needed_by="dedup")
        sig_tables = runner.run_signatures(lake, days, settings=settings, run_id=run_id)
        if on_progress:
            on_progress(1, 2)
        record_window_read(context, days, window_days=settings.dedup.window_days)
        result = runner.run_duplicates(lake, days, settings=settings, run_id=run_id)
        if on_progress:
            on_progress(2, 2)
        return StageResult("dedup", sig_tables + result.tables, result.checks, result.figures)

    yield from run_daily_step(context, settings, DEDUP, run, what="dedup steps")
