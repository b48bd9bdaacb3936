"""The SQLite instance as newslake tunes it (assets/instance.py): pooled engines and cheaper commits, and still
nothing lost when the process is killed, and the UI still follows a running run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[2]

WRITER = textwrap.dedent(
    """
    import os, signal, sys
    import dagster as dg
    import assets.definitions  # noqa: F401  (loading the code location tunes the process)
    inst = dg.DagsterInstance.get()
    with inst.event_log_storage.index_connection() as conn:
        print("synchronous", conn.exec_driver_sql("PRAGMA synchronous").scalar(), flush=True)
    for i in range(int(sys.argv[1])):
        inst.report_runless_asset_event(dg.AssetMaterialization("documents", partition=f"p{i}"))
    print("written", flush=True)
    os.kill(os.getpid(), signal.SIGKILL)  # no clean shutdown: nothing is closed or checkpointed
    """
)


def _write_then_die(home: Path, n: int, **env: str) -> str:
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    full_env = {**os.environ, "DAGSTER_HOME": str(home), **env}
    p = subprocess.run(
        [sys.executable, "-c", WRITER, str(n)], cwd=PROJECT, env=full_env, capture_output=True, text=True, timeout=300
    )
    assert p.returncode == -signal.SIGKILL, p.stderr[-2000:]
    assert "written" in p.stdout, p.stderr[-2000:]
    return p.stdout


def _events(home: Path) -> int:
    import dagster as dg

    with dg.DagsterInstance.from_config(str(home)) as inst:
        recs = inst.fetch_materializations(dg.AssetKey("documents"), limit=1000).records
        return len({r.partition_key for r in recs})


@pytest.mark.slow
def test_events_written_before_a_kill_9_are_all_there(tmp_path):
    out = _write_then_die(tmp_path, 60)
    assert "synchronous 1" in out  # NORMAL: the tuning applied to Dagster's own connections
    assert _events(tmp_path) == 60


@pytest.mark.slow
def test_full_sync_keeps_sqlites_defaults(tmp_path):
    out = _write_then_die(tmp_path, 5, NEWSLAKE_INSTANCE_SYNC="full")
    assert "synchronous 2" in out  # FULL, SQLite's default
    assert _events(tmp_path) == 5


LIVE_RUN = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    import dagster as dg
    import assets.definitions  # noqa: F401  (tunes the process)

    go_on = Path(sys.argv[2])

    @dg.op
    def speak(context):
        time.sleep(3)  # the run's file was created and modified at start: these words come later, alone
        context.log.info("first words")
        for _ in range(600):  # until the watcher in the other process has seen them
            if go_on.exists():
                return
            time.sleep(0.1)
        raise RuntimeError("nobody saw the first words")

    @dg.job
    def live():
        speak()

    assert live.execute_in_process(instance=dg.DagsterInstance.get(), run_id=sys.argv[1]).success
    """
)


@pytest.mark.slow
def test_the_ui_follows_a_running_runs_events(tmp_path):
    """The UI follows a run by watching its event file: the tuned writer must still wake the watcher."""
    import threading
    import uuid

    import dagster as dg

    (tmp_path / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    run_id, go_on = str(uuid.uuid4()), tmp_path / "go-on"
    seen = threading.Event()

    def callback(entry, _cursor):
        if "first words" in (entry.user_message or ""):
            seen.set()

    with dg.DagsterInstance.from_config(str(tmp_path)) as inst:
        inst.event_log_storage.watch(run_id, None, callback)
        env = {**os.environ, "DAGSTER_HOME": str(tmp_path)}
        child = subprocess.Popen(
            [sys.executable, "-c", LIVE_RUN, run_id, str(go_on)],
            cwd=PROJECT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            assert seen.wait(timeout=60), "the watcher never saw an event of the running run"
            assert child.poll() is None, "the run had ended: the test proves nothing"
        finally:
            go_on.touch()
            out, _ = child.communicate(timeout=120)
        assert child.returncode == 0, out[-3000:]


def test_pooled_engines_are_bounded_and_closed(tmp_path, monkeypatch):
    import dagster as dg

    from assets import instance

    monkeypatch.delenv(instance.ENV, raising=False)
    assert instance.tune_sqlite_instance()
    (tmp_path / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    with dg.DagsterInstance.from_config(str(tmp_path)) as inst:
        storage = inst.event_log_storage
        for i in range(instance.KEEP_OPEN + 5):
            with storage.run_connection(f"run{i}") as conn:
                assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1
        engines = storage.__dict__["_newslake_engines"].by_url
        assert len(engines) == instance.KEEP_OPEN
        assert next(reversed(engines)).endswith(f"run{instance.KEEP_OPEN + 4}.db")  # the newest files stay
        storage.wipe()  # deletes the run files: their engines go first (the index is opened again to empty it)
        assert [url for url in engines if not url.endswith("/index.db")] == []
