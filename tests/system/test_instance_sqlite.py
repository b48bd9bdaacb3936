"""The SQLite instance as newslake tunes it (assets/instance.py): cheaper commits, and still nothing lost when
the process is killed."""

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


def test_idle_connections_are_bounded(tmp_path, monkeypatch):
    import sqlalchemy as sa

    from assets import instance

    monkeypatch.delenv(instance.ENV, raising=False)
    try:
        assert instance.tune_sqlite_instance()
        for i in range(instance.KEEP_OPEN + 5):
            engine = sa.create_engine(f"sqlite:///{tmp_path / f'run{i}.db'}", poolclass=sa.pool.NullPool)
            with engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA journal_mode=WAL")
                assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1
            engine.dispose()
        kept = [p for p in instance.kept_open() if p.startswith(str(tmp_path))]
        assert len(kept) == instance.KEEP_OPEN
        assert kept[-1].endswith(f"run{instance.KEEP_OPEN + 4}.db")  # the most recent files stay open
    finally:
        monkeypatch.setenv(instance.ENV, "full")
        assert not instance.tune_sqlite_instance()
