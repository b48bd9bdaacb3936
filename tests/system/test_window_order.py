"""Runs on neighbouring days, whose dedup windows overlap, end with the tables of a serial build (issue 18).

A day's ``duplicates`` depend on the ``signatures`` of the days in its window. Here every day carries a wire
copy of the previous day's lead story and day 6 a copy of day 1's, so a run over later days that reads its
window before an earlier run wrote its signatures computes other clusters. The dedup step records what its
window read missed; the planner (``newslake run``, the partitions sensor) then processes those days again.

* Later days first, then the earlier ones (the worst order, deterministic): the tables differ from a serial
  build until the next ``newslake run``, which processes exactly the later range again; then they are equal.
* Four runs over adjacent two-day ranges at once, then ``newslake run``: equal to a serial build.

``entity_cache`` (model output per distinct sentence) is a cache, not a result: a sentence tagged while its
document was still canonical stays cached. It must hold every entry of the serial build's, with the same
output; the other tables must be equal.
"""

from __future__ import annotations

import json
import random
import shutil
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest
from services_support import PROJECT, assert_same_tables, newslake, snapshot

from benchmarks import soak

pytestmark = pytest.mark.slow
FIRST, N_DAYS = date(2026, 1, 5), 8
DAYS = [(FIRST + timedelta(days=i)).isoformat() for i in range(N_DAYS)]
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


@pytest.fixture(scope="module")
def inbox(tmp_path_factory) -> Path:
    inbox = tmp_path_factory.mktemp("window") / "inbox"
    inbox.mkdir()
    rng, previous, first_lead = random.Random(11), None, None
    for i, key in enumerate(DAYS):
        day = date.fromisoformat(key)
        records = [soak.story(rng, day, k) for k in range(4)] + [soak.market_report(day, rng)]
        if previous:
            records.append(
                dict(previous, id=f"{key}-copy", title="WIRE: " + previous["title"], date=f"{key}T05:00:00Z")
            )
        if i == 5:
            records.append(dict(first_lead, id=f"{key}-old", date=f"{key}T09:00:00Z"))
        previous, first_lead = records[0], first_lead or records[0]
        (inbox / f"feed-{key}.jsonl").write_text("\n".join(json.dumps(r) for r in records) + "\n")
    return inbox


@pytest.fixture(scope="module")
def serial(inbox, tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("serial")
    res = newslake(
        "run",
        "--inbox",
        str(inbox),
        "--lake",
        str(root / "lake"),
        "--home",
        str(root / "home"),
        "--no-progress",
        env={"NEWSLAKE_CONFIG": "", "NEWSLAKE_INGEST_CONFIG": ""},
    )
    assert res.returncode == 0, res.stderr[-3000:]
    tables = snapshot(str(root / "lake"))
    dups = tables["duplicates"]
    # the comparison means something: every day from the second on has its cross-day copy clustered
    assert dups.filter(~dups["is_canonical"]).height >= N_DAYS - 1
    return tables


def _env(root: Path, inbox: Path) -> dict[str, str]:
    home = root / "home"
    home.mkdir(parents=True)
    shutil.copy(PROJECT / "assets" / "dagster.yaml", home / "dagster.yaml")
    return {
        "DAGSTER_HOME": str(home),
        "NEWSLAKE_LAKE": str(root / "lake"),
        "NEWSLAKE_INBOX": str(inbox),
        "NEWSLAKE_CONFIG": "",
        "NEWSLAKE_INGEST_CONFIG": "",
    }


def _python(code: str, *args: str, env: dict) -> subprocess.Popen:
    import os

    return subprocess.Popen(
        [sys.executable, "-c", code, *args],
        env={**os.environ, **env},
        cwd=PROJECT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish(proc: subprocess.Popen, what: str) -> None:
    _, err = proc.communicate(timeout=900)
    assert proc.returncode == 0, f"{what} failed:\n{err[-4000:]}"


def assert_same_as_serial(lake: str, serial: dict) -> None:
    got = snapshot(lake)
    cache, want_cache = got.pop("entity_cache"), serial["entity_cache"]
    assert_same_tables(got, {k: v for k, v in serial.items() if k != "entity_cache"})
    keys = ["sent_hash", "model"]
    assert want_cache.join(cache, on=keys, how="anti").height == 0, "the cache lost entries of the serial build"
    both = want_cache.join(cache, on=keys, how="inner", suffix="_got")
    assert both["ents"].to_list() == both["ents_got"].to_list()


def _follow_up(root: Path, env: dict) -> subprocess.CompletedProcess:
    res = newslake("run", "--skip-ingest", "--no-progress", env=env)
    assert res.returncode == 0, res.stderr[-3000:]
    return res


def test_later_days_first_then_earlier_days_then_newslake_run_equals_serial(inbox, serial, tmp_path):
    env = _env(tmp_path, inbox)
    _finish(_python(INGEST, env=env), "ingest_job")
    later, earlier = (DAYS[4], DAYS[-1]), (DAYS[0], DAYS[3])
    _finish(_python(DAILY, *later, env=env), f"daily_job {later}")
    _finish(_python(DAILY, *earlier, env=env), f"daily_job {earlier}")
    # The later run read its window before the earlier days had signatures: its clusters differ.
    got = snapshot(env["NEWSLAKE_LAKE"])
    assert not got["duplicates"].equals(serial["duplicates"])
    follow = _follow_up(tmp_path, env)
    assert f"processing {later[0]} .. {later[1]}" in follow.stderr, follow.stderr
    assert f"processing {earlier[0]}" not in follow.stderr
    assert_same_as_serial(env["NEWSLAKE_LAKE"], serial)
    assert "0 day(s) processed" in _follow_up(tmp_path, env).stdout


def test_four_runs_on_adjacent_ranges_at_once_then_newslake_run_equal_serial(inbox, serial, tmp_path):
    env = _env(tmp_path, inbox)
    _finish(_python(INGEST, env=env), "ingest_job")
    ranges = [(DAYS[i], DAYS[i + 1]) for i in range(0, N_DAYS, 2)]
    procs = [_python(DAILY, a, b, env=env) for a, b in ranges]
    for p, r in zip(procs, ranges, strict=True):
        _finish(p, f"daily_job {r}")
    follow = _follow_up(tmp_path, env)
    print("follow-up:", [line for line in follow.stderr.splitlines() if line.startswith("processing")])
    assert_same_as_serial(env["NEWSLAKE_LAKE"], serial)
    assert "0 day(s) processed" in _follow_up(tmp_path, env).stdout
