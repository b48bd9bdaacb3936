"""Concurrent runs on disjoint days equal a serial build (no lake-wide lock; Delta's optimistic commits).

After one ingestion, two processes run ``daily_job`` at the same time, each over its own range of days, on
the same lake and the same Dagster instance: both write every daily table (signatures, duplicates,
sentences, entities, entity_daily, entity_cache) concurrently. The ranges are further apart than the dedup
window (30 days), so neither run's result depends on the other's: the tables must equal those of one serial
``newslake run`` of the same inbox, on a local lake and on a local S3 server (moto).
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest
from services_support import PROJECT, assert_same_tables, newslake, snapshot

from benchmarks import soak  # noqa: E402  (the soak benchmark's story generator)
from benchmarks._s3 import local_s3

pytestmark = pytest.mark.slow
RANGES = [(date(2026, 1, 5), 4), (date(2026, 3, 2), 4)]  # 56 days apart: outside each other's window
INGEST = """
import dagster as dg
from assets.definitions import defs
assert defs.resolve_job_def("ingest_job").execute_in_process(instance=dg.DagsterInstance.get()).success
"""
DAILY = """
import sys
import dagster as dg
from assets.automation import range_tags
from assets.definitions import defs
with dg.DagsterInstance.get() as inst:
    res = defs.resolve_job_def("daily_job").execute_in_process(instance=inst, tags=range_tags(*sys.argv[1:3]),
                                                               raise_on_error=False)
sys.exit(0 if res.success else 1)
"""


def make_inbox(inbox: Path) -> list[tuple[str, str]]:
    """Days in two ranges; wire copies of the previous day's story (near duplicates across days) in each,
    and in the second range a copy of a first-range story (outside the window: not a duplicate)."""
    rng, first_story = random.Random(7), None
    inbox.mkdir(parents=True)
    for start, n in RANGES:
        previous = None
        for i in range(n):
            day = start + timedelta(days=i)
            records = [soak.story(rng, day, k) for k in range(4)] + [soak.market_report(day, rng)]
            if previous:
                records.append(
                    dict(
                        previous,
                        id=f"{day:%Y%m%d}-copy",
                        title="WIRE: " + previous["title"],
                        date=f"{day.isoformat()}T05:00:00Z",
                    )
                )
            if first_story and i == 1:
                records.append(dict(first_story, id=f"{day:%Y%m%d}-old", date=f"{day.isoformat()}T09:00:00Z"))
            previous = records[0]
            first_story = first_story or records[1]
            (inbox / f"feed-{day.isoformat()}.jsonl").write_text("\n".join(json.dumps(r) for r in records) + "\n")
    return [(s.isoformat(), (s + timedelta(days=n - 1)).isoformat()) for s, n in RANGES]


def _python(code: str, *args: str, env: dict) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", code, *args],
        env=env,
        cwd=PROJECT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish(proc: subprocess.Popen, what: str) -> str:
    out, err = proc.communicate(timeout=900)
    assert proc.returncode == 0, f"{what} failed:\n{err[-4000:]}"
    return err


def instance_env(home: Path, lake: str, inbox: Path, extra_env: dict | None = None) -> dict[str, str]:
    """A new Dagster home (the project's instance file) and the environment of processes that share it."""
    home.mkdir(parents=True)
    shutil.copy(PROJECT / "assets" / "dagster.yaml", home / "dagster.yaml")
    return {
        **os.environ,
        **(extra_env or {}),
        "DAGSTER_HOME": str(home),
        "NEWSLAKE_LAKE": lake,
        "NEWSLAKE_INBOX": str(inbox),
        "NEWSLAKE_CONFIG": "",
        "NEWSLAKE_INGEST_CONFIG": "",
    }


def build_concurrently(inbox: Path, root: Path, lake: str, extra_env: dict) -> None:
    home = root / "home"
    env = instance_env(home, lake, inbox, extra_env)
    _finish(_python(INGEST, env=env), "ingest_job")
    procs = [_python(DAILY, a, b, env=env) for a, b in RANGES_KEYS]
    for p, (a, b) in zip(procs, RANGES_KEYS, strict=True):
        _finish(p, f"daily_job {a}..{b}")
    _assert_overlapped_and_report(home)


def _assert_overlapped_and_report(home: Path) -> None:
    """The two runs really ran at the same time; print any step retried after a Delta commit conflict."""
    import dagster as dg

    with dg.DagsterInstance.from_config(str(home)) as inst:
        records = inst.get_run_records(dg.RunsFilter(job_name="daily_job"))
        assert len(records) == 2 and all(r.dagster_run.status == dg.DagsterRunStatus.SUCCESS for r in records)
        assert max(r.start_time for r in records) < min(r.end_time for r in records), "the runs did not overlap"
        for r in records:
            retries = inst.all_logs(r.dagster_run.run_id, of_type=dg.DagsterEventType.STEP_UP_FOR_RETRY)
            print(
                f"run {r.dagster_run.run_id[:8]} {r.dagster_run.tags.get('dagster/asset_partition_range_start')}: "
                f"{r.end_time - r.start_time:.1f}s, step retries: {[e.dagster_event.step_key for e in retries]}"
            )
            for e in retries:  # what the retried commit hit (the cause of RetryRequested)
                err = e.dagster_event.event_specific_data.error
                cause = err.cause if err and err.cause else err
                print(
                    f"  {e.dagster_event.step_key}: {cause.cls_name if cause else '?'}: "
                    f"{(cause.message if cause else '')[:300]}"
                )


RANGES_KEYS: list[tuple[str, str]] = []


@pytest.fixture
def inbox(tmp_path) -> Path:
    RANGES_KEYS[:] = make_inbox(tmp_path / "inbox")
    return tmp_path / "inbox"


def serial_build(inbox: Path, root: Path, lake: str, extra_env: dict) -> None:
    res = newslake(
        "run",
        "--inbox",
        str(inbox),
        "--lake",
        lake,
        "--home",
        str(root / "home"),
        "--no-progress",
        env={**extra_env, "NEWSLAKE_CONFIG": ""},
    )
    assert res.returncode == 0, res.stderr[-3000:]


def _check_duplicates_present(tables) -> None:
    # the inbox was built so the comparison means something: cross-day near duplicates exist in each range
    dups = tables["duplicates"]
    assert dups.filter(~dups["is_canonical"]).height >= 2 * (RANGES[0][1] - 1)


def test_concurrent_runs_on_disjoint_days_equal_serial_build_local(inbox, tmp_path):
    serial_build(inbox, tmp_path / "serial", str(tmp_path / "serial_lake"), {})
    build_concurrently(inbox, tmp_path / "conc", str(tmp_path / "conc_lake"), {})
    want = snapshot(str(tmp_path / "serial_lake"))
    _check_duplicates_present(want)
    assert_same_tables(snapshot(str(tmp_path / "conc_lake")), want)


def test_concurrent_runs_on_disjoint_days_equal_serial_build_s3(inbox, tmp_path):
    with local_s3("lake") as s3:
        serial_build(inbox, tmp_path / "serial", "s3://lake/serial", s3)
        build_concurrently(inbox, tmp_path / "conc", "s3://lake/concurrent", s3)
        want = snapshot("s3://lake/serial", storage_options=s3)
        _check_duplicates_present(want)
        assert_same_tables(snapshot("s3://lake/concurrent", storage_options=s3), want)
