"""The control plane as a user meets it: real `newslake run` processes, killed, interrupted, run twice at once.

Every test here runs the real command in a subprocess with its own Dagster home and lake, and compares the
tables with those of one clean run of the same inbox.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest

from pipeline import storage
from pipeline.schema import TABLES
from pipeline.storage import Lake

pytestmark = pytest.mark.slow
PROJECT = Path(__file__).resolve().parents[2]
VOLATILE = {"run_id", "ingested_at", "rejected_at"}  # differ between any two runs by design


def _cmd(*args) -> list[str]:
    return [sys.executable, "-m", "newslake.cli", *args]


def _env(root: Path) -> dict[str, str]:
    return {**os.environ, "DAGSTER_HOME": str(root / "home"), "NEWSLAKE_LAKE": str(root / "lake")}


def _run(root: Path, inbox: Path, *extra, timeout=600) -> subprocess.CompletedProcess:
    return subprocess.run(_cmd("run", "--inbox", str(inbox), "--no-progress", *extra), capture_output=True,
                          text=True, env=_env(root), cwd=PROJECT, timeout=timeout)


def snapshot(lake_root: Path) -> dict[str, pl.DataFrame]:
    """Every table's rows, sorted, without the columns that name a run or a time."""
    lake, out = Lake(str(lake_root)), {}
    for name, table in TABLES.items():
        if name == "releases":
            continue
        df = storage.read(lake, table)
        df = df.select([c for c in df.columns if c not in VOLATILE])
        sortable = [c for c, t in df.schema.items() if not isinstance(t, pl.List | pl.Struct)]
        out[name] = df.sort(sortable, nulls_last=True)
    return out


def assert_same_tables(a: dict, b: dict) -> None:
    for name in a:
        assert a[name].equals(b[name]), f"{name}: {a[name].height} rows vs {b[name].height}"


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    root = tmp_path_factory.mktemp("clean")
    res = _run(root, PROJECT / "data" / "inbox")
    assert res.returncode == 0, res.stderr[-3000:]
    return snapshot(root / "lake")


def _wait_for_commit(lake_root: Path, table: str, proc: subprocess.Popen, timeout: float = 300) -> bool:
    log = lake_root / table / "_delta_log"
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if log.is_dir() and any(p.suffix == ".json" for p in log.iterdir()):
            return True
        if proc.poll() is not None:
            return False
        time.sleep(0.02)
    return False


@pytest.mark.parametrize("after", ["documents", "sentences", "entities"])
def test_sigkill_at_any_point_then_rerun_equals_a_clean_run(tmp_path, clean, after):
    inbox = PROJECT / "data" / "inbox"
    proc = subprocess.Popen(_cmd("run", "--inbox", str(inbox), "--no-progress"), env=_env(tmp_path), cwd=PROJECT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert _wait_for_commit(tmp_path / "lake", after, proc), f"the run ended before {after} was written"
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=60)
    again = _run(tmp_path, inbox, timeout=600)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "marked 1 run(s) of killed processes as failed" in again.stderr or after == "documents"
    assert_same_tables(clean, snapshot(tmp_path / "lake"))
    third = _run(tmp_path, inbox)
    assert third.returncode == 0 and "0 day(s) processed" in third.stdout, third.stdout + third.stderr[-2000:]


def test_ctrl_c_stops_within_seconds_and_the_next_run_finishes(tmp_path, clean):
    inbox = PROJECT / "data" / "inbox"
    proc = subprocess.Popen(_cmd("run", "--inbox", str(inbox), "--no-progress"), env=_env(tmp_path), cwd=PROJECT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert _wait_for_commit(tmp_path / "lake", "signatures", proc)
    t0 = time.monotonic()
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert time.monotonic() - t0 < 30, "Ctrl-C did not stop the run within seconds"
    assert proc.returncode != 0, err[-2000:]
    again = _run(tmp_path, inbox)
    assert again.returncode == 0, again.stderr[-3000:]
    assert_same_tables(clean, snapshot(tmp_path / "lake"))


def _started_runs(home: Path) -> list[str]:
    import dagster as dg

    with dg.DagsterInstance.from_config(str(home)) as inst:
        return [r.run_id for r in inst.get_runs(dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED]))]


@pytest.mark.parametrize("how", ["ctrl-c in a terminal", "sigterm"])
def test_an_interrupt_is_reported_as_one_and_nothing_else_prints(tmp_path, clean, how):
    """Ctrl-C in a terminal signals the whole foreground process group: the tagging and parsing workers and the
    processes Dagster mirrors a step's output with get SIGINT too. None may print a traceback (or hang the run on
    a dead worker's queue lock); the CLI says it was interrupted, not that the run failed, and exits 130."""
    inbox = PROJECT / "data" / "inbox"
    proc = subprocess.Popen(_cmd("run", "--inbox", str(inbox), "--no-progress"), env=_env(tmp_path), cwd=PROJECT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        assert _wait_for_commit(tmp_path / "lake", "signatures", proc), "the run ended before dedup"
        if how == "sigterm":
            proc.send_signal(signal.SIGTERM)
        else:
            os.killpg(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        raise AssertionError(f"the interrupted run did not exit:\n{proc.communicate()[1][-3000:]}") from None
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
    assert proc.returncode == 130, err[-3000:]
    assert "interrupted: committed work is kept" in err, err[-3000:]
    assert "Traceback" not in err and "FAILED" not in err, err[-3000:]
    assert not _started_runs(tmp_path / "home")
    again = _run(tmp_path, inbox)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "killed processes" not in again.stderr, again.stderr[-3000:]
    assert not _started_runs(tmp_path / "home")
    assert_same_tables(clean, snapshot(tmp_path / "lake"))


def test_two_runs_at_once_on_a_fresh_home_are_safe(tmp_path, clean):
    inbox = PROJECT / "data" / "inbox"
    procs = [subprocess.Popen(_cmd("run", "--inbox", str(inbox), "--no-progress"), env=_env(tmp_path),
                              cwd=PROJECT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    outs = [p.communicate(timeout=900) for p in procs]
    for p, (_, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, err[-3000:]
    assert_same_tables(clean, snapshot(tmp_path / "lake"))
    docs = storage.read(Lake(str(tmp_path / "lake")), TABLES["documents"])
    assert docs["doc_id"].n_unique() == docs.height


def test_a_dump_without_dates_gets_sentences_and_entities(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "seed.txt").write_text(
        "Harbour council approves ferry terminal\n\n"
        "The harbour council of Port Ellery approved the new ferry terminal on a vote of seven to two. "
        "Mayor Anna Lind said construction would start in the spring.\n\n"
        "The Ellery Ferry Company welcomed the decision.\n\n\n"
        "Storm closes coastal road\n\n"
        "A storm closed the coastal road between Halden and Port Ellery for six hours. "
        "Police in Halden said no one was hurt.\n")
    res = _run(tmp_path, inbox)
    assert res.returncode == 0, res.stderr[-3000:]
    lake = Lake(str(tmp_path / "lake"))
    docs = storage.read(lake, TABLES["documents"])
    assert docs.height == 2 and docs["pub_date"].null_count() == 2
    for table in ("duplicates", "sentences", "entities"):
        rows = storage.read(lake, TABLES[table], undated=True, dates=[])
        assert set(rows["doc_id"]) == set(docs["doc_id"]), f"{table} misses an undated document"


def _ignore_signals() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


def test_newslake_ui_stops_on_sigterm_and_sigint(tmp_path):
    import socket

    for sig in (signal.SIGTERM, signal.SIGINT):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        # started as from the background of a shell script: SIGINT (and SIGTERM) inherited ignored
        proc = subprocess.Popen(_cmd("ui", "--port", str(port)), env=_env(tmp_path), cwd=PROJECT,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, preexec_fn=_ignore_signals)
        t0 = time.monotonic()
        while time.monotonic() - t0 < 120:
            with socket.socket() as c:
                if c.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.5)
        else:
            proc.kill()
            raise AssertionError("newslake ui did not start listening")
        proc.send_signal(sig)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise AssertionError(f"newslake ui ignored {sig.name}") from None
        with socket.socket() as c:
            assert c.connect_ex(("127.0.0.1", port)) != 0, "the webserver outlived newslake ui"


def test_ctrl_c_while_waiting_for_another_run_stops_the_wait(tmp_path):
    """A second run waits for the first's lock on the Dagster home; Ctrl-C there (SIGINT to the process group,
    which the kernel may hand to any of its threads) ends the wait at once, with the one-line message."""
    import fcntl

    home = tmp_path / "home"
    home.mkdir()
    with open(home / ".run.lock", "a+") as held:  # another run holds the home
        fcntl.flock(held, fcntl.LOCK_EX)
        proc = subprocess.Popen(
            _cmd("run", "--inbox", str(PROJECT / "data" / "inbox"), "--no-progress"),
            env=_env(tmp_path),
            cwd=PROJECT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # as a terminal's foreground job
        )
        try:
            assert "waiting for it" in proc.stderr.readline()
            time.sleep(1)  # well inside the wait
            t0 = time.monotonic()
            os.killpg(proc.pid, signal.SIGINT)
            _, err = proc.communicate(timeout=30)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.communicate()
    assert time.monotonic() - t0 < 5
    assert proc.returncode == 130, err[-3000:]
    assert "interrupted" in err and "Traceback" not in err, err[-3000:]
    assert not (tmp_path / "lake").exists()  # it did nothing
