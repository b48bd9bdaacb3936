"""Two runs never write the same day at once: the one guard newslake keeps (issue 18).

Runs on different days write the same tables concurrently (Delta's optimistic commits). Two runs whose
partition ranges share a day would interleave their writes of that day (one run's ``sentences`` over the
other's ``documents``), so before each daily step a run waits while a started run that was *created before
it* holds one of its days (or one created just before it that is still starting: ``SETTLE``). The order is
fixed by creation time (then run id), so two runs never wait for each other. The guard lives in the
instance (run tags and run records), so it holds for every launcher: ``newslake run``, the UI, the sensors,
the queue, Celery and Kubernetes workers on a shared PostgreSQL instance. A run killed while holding days
stays ``STARTED`` until it is marked failed (``newslake run`` reaps dead runs; the daemon's run monitoring
does for launched runs); a wait longer than ``WAIT`` fails the step, loudly.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

import dagster as dg

from pipeline.stage import UNDATED

WAIT = 3600.0
# A run created but not started yet (its process is starting it, or a launcher is) holds its days for this
# long after its creation: two runs created a moment apart may reach STARTED in the other order, and the
# later-created one must not pass the earlier one in that gap. A run abandoned before it started (its
# process killed) stops holding once this has passed; queued runs never hold (the queue may wait for us).
SETTLE = 120.0
_PENDING = (dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.STARTING)
RANGE_START, RANGE_END = "dagster/asset_partition_range_start", "dagster/asset_partition_range_end"
PARTITION = "dagster/partition"


def _bound(key: str) -> tuple[int, str]:
    return (1, "") if key == UNDATED else (0, key)  # undated sorts after every day, as the partitions do


def key_range(tags: Mapping[str, str]) -> tuple[str, str] | None:
    """(first, last) partition key of a run, from its tags; None for a run without partitions."""
    a = tags.get(RANGE_START) or tags.get(PARTITION)
    b = tags.get(RANGE_END) or a
    return (a, b) if a and b else None


def overlap(r1: tuple[str, str], r2: tuple[str, str]) -> bool:
    return _bound(r1[0]) <= _bound(r2[1]) and _bound(r2[0]) <= _bound(r1[1])


def _order(record: dg.RunRecord) -> tuple[float, str]:
    return (record.create_timestamp.timestamp(), record.dagster_run.run_id)


def holders(instance: dg.DagsterInstance, run_id: str, *, now: float | None = None) -> list[str]:
    """Runs created before ``run_id`` whose ranges share a day with it (it must wait for them): started
    ones, and ones created at most ``SETTLE`` seconds ago that are not started yet."""
    mine = instance.get_run_record_by_id(run_id)
    own = key_range(mine.dagster_run.tags) if mine else None
    if mine is None or own is None:
        return []
    now = time.time() if now is None else now
    out = []
    for rec in instance.get_run_records(dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED, *_PENDING])):
        if rec.dagster_run.status in _PENDING and now - rec.create_timestamp.timestamp() > SETTLE:
            continue
        other = key_range(rec.dagster_run.tags)
        if rec.dagster_run.run_id != run_id and other and overlap(own, other) and _order(rec) < _order(mine):
            out.append(rec.dagster_run.run_id)
    return out


def waits_for(instance: dg.DagsterInstance, waiter: str, holder: str) -> bool:
    """Whether run ``waiter`` waits (or will wait) in this guard for run ``holder``."""
    a, b = instance.get_run_record_by_id(waiter), instance.get_run_record_by_id(holder)
    if a is None or b is None:
        return False
    ra, rb = key_range(a.dagster_run.tags), key_range(b.dagster_run.tags)
    return bool(ra and rb and overlap(ra, rb) and _order(b) < _order(a))


def wait_for_own_days(context: dg.AssetExecutionContext, *, wait_seconds: float = WAIT) -> None:
    """Block until no earlier started run holds one of this run's days."""
    deadline = time.monotonic() + wait_seconds
    logged: list[str] = []
    while held := holders(context.instance, context.run_id):
        if held != logged:
            context.log.info(f"waiting for run(s) {', '.join(r[:8] for r in held)}: they write days of this run")
            logged = held
        if time.monotonic() > deadline:
            raise dg.Failure(
                f"run(s) {', '.join(held)} have held days of this run for over {wait_seconds:.0f} s; "
                "if one of them is dead, mark it failed (`newslake run` does so for runs whose process is gone)"
            )
        time.sleep(1.0)
