"""Two runs that share days never interleave their writes (assets/guard.py), and still equal a serial build.

Two processes start ``daily_job`` at the same moment on one instance, over ranges that share two days. The
run created later must write nothing before the earlier one has finished (every materialization of the
later run comes after the earlier run's end), while the two runs do overlap in time (the later one waits
inside its first step). Then the tables equal one serial ``newslake run`` of the same inbox (``entity_cache``:
every serial entry, same output).
"""

from __future__ import annotations

import pytest
from services_support import assert_same_tables, snapshot
from test_concurrent_runs import DAILY, INGEST, _finish, _python, instance_env, make_inbox, serial_build

pytestmark = pytest.mark.slow


def test_runs_sharing_days_take_turns_and_equal_a_serial_build(tmp_path):
    import dagster as dg

    inbox = tmp_path / "inbox"
    (first, last), (second_a, second_b) = make_inbox(inbox)  # two ranges of four days
    days = [first[:8] + f"{int(first[8:]) + i:02d}" for i in range(4)]
    a_range, b_range = (days[0], days[2]), (days[1], days[3])  # share days[1] and days[2]

    home, lake = tmp_path / "home", str(tmp_path / "lake")
    env = instance_env(home, lake, inbox)
    _finish(_python(INGEST, env=env), "ingest_job")
    procs = [_python(DAILY, *r, env=env) for r in (a_range, b_range)]
    for p, r in zip(procs, (a_range, b_range), strict=True):
        _finish(p, f"daily_job {r}")

    with dg.DagsterInstance.from_config(str(home)) as inst:
        records = sorted(inst.get_run_records(dg.RunsFilter(job_name="daily_job")), key=lambda r: r.create_timestamp)
        assert len(records) == 2 and all(r.dagster_run.status == dg.DagsterRunStatus.SUCCESS for r in records)
        earlier, later = records
        assert later.start_time < earlier.end_time, "the runs did not run at the same time: nothing was tested"
        writes = [
            e.timestamp
            for e in inst.all_logs(later.dagster_run.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION)
        ]
        assert writes and min(writes) >= earlier.end_time, "the later run wrote a shared day while the earlier ran"
        waited = [
            e.message for e in inst.all_logs(later.dagster_run.run_id) if "write days of this run" in (e.message or "")
        ]
        assert waited, "the later run never said it waited"

    # the second range of the inbox, then compare everything with a serial build of the same inbox
    _finish(_python(DAILY, second_a, second_b, env=env), "daily_job second range")
    serial_build(inbox, tmp_path / "serial", str(tmp_path / "serial_lake"), {})
    got, want = snapshot(lake), snapshot(str(tmp_path / "serial_lake"))
    # entity_cache is a cache, not a result (as in test_window_order): it must hold every entry of the serial
    # build's with the same output; days processed twice may leave an extra entry
    cache, want_cache = got.pop("entity_cache"), want.pop("entity_cache")
    assert_same_tables(got, want)
    keys = ["sent_hash", "model"]
    assert want_cache.join(cache, on=keys, how="anti").height == 0, "the cache lost entries of the serial build"
    both = want_cache.join(cache, on=keys, how="inner", suffix="_got")
    assert both["ents"].to_list() == both["ents_got"].to_list()


def test_days_of_ranges_overlap_like_the_partitions_sort():
    from assets.guard import key_range, overlap

    assert overlap(("2026-01-01", "2026-01-03"), ("2026-01-03", "2026-01-09"))
    assert not overlap(("2026-01-01", "2026-01-02"), ("2026-01-03", "2026-01-09"))
    assert overlap(("2026-01-05", "undated"), ("undated", "undated"))  # undated sorts after every day
    assert not overlap(("2026-01-01", "2026-01-04"), ("undated", "undated"))
    assert key_range({"dagster/partition": "2026-01-02"}) == ("2026-01-02", "2026-01-02")
    assert key_range({}) is None
