"""The same-day guard's order (assets/guard.py): which runs a run waits for, on a real (temporary) instance.

The race it closes: two processes create runs over shared days a moment apart, and the later-created one
reaches STARTED first. It must still wait for the earlier one while that one is starting.
"""

from __future__ import annotations

import time
import uuid

import dagster as dg

from assets import guard


def _run(inst: dg.DagsterInstance, first: str, last: str, status: dg.DagsterRunStatus) -> str:
    run_id = str(uuid.uuid4())
    tags = {guard.RANGE_START: first, guard.RANGE_END: last}
    inst.add_run(dg.DagsterRun(job_name="daily_job", run_id=run_id, tags=tags, status=status))
    time.sleep(0.01)  # creation times apart
    return run_id


def test_a_run_waits_for_an_earlier_overlapping_run_that_is_still_starting():
    with dg.instance_for_test() as inst:
        starting = _run(inst, "2026-01-01", "2026-01-03", dg.DagsterRunStatus.NOT_STARTED)
        launching = _run(inst, "2026-01-03", "2026-01-03", dg.DagsterRunStatus.STARTING)
        apart = _run(inst, "2026-02-01", "2026-02-02", dg.DagsterRunStatus.STARTED)
        later = _run(inst, "2026-01-02", "2026-01-05", dg.DagsterRunStatus.STARTED)
        assert sorted(guard.holders(inst, later)) == sorted([starting, launching])
        assert guard.holders(inst, starting) == []  # the earlier run never waits for the later one
        # a run abandoned before it started stops holding once SETTLE has passed since its creation
        assert guard.holders(inst, later, now=time.time() + guard.SETTLE + 1) == []
        inst.report_run_failed(inst.get_run_by_id(starting))
        assert guard.holders(inst, later) == [launching]
        assert apart not in guard.holders(inst, later)
