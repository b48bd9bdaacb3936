"""The production instance (`deploy/dagster-postgres.yaml`) on the real PostgreSQL server.

Real `newslake run` processes (ingest_job, then daily_job) record their runs, materializations and dynamic
partitions in a database created for this test; a new instance object and a second process (a restart) find
that history and conclude that nothing is left to do.
"""

from __future__ import annotations

import shutil

import pytest
from services_support import PROJECT, fresh_pg_database, need_package, newslake, pg_query

pytestmark = [pytest.mark.services, pytest.mark.slow]
YAML = PROJECT / "deploy" / "dagster-postgres.yaml"


@pytest.fixture
def pg_env():
    need_package("dagster_postgres", "dagster-postgres")
    with fresh_pg_database() as env:
        yield env


def _instance(home):
    import dagster as dg

    return dg.DagsterInstance.from_config(str(home))


def _day_keys(lake_dir) -> set[str]:
    from pipeline import storage
    from pipeline.schema import DOCUMENTS
    from pipeline.stage import day_key
    from pipeline.storage import Lake

    return {day_key(d) for d in storage.partition_rows(Lake(str(lake_dir)), DOCUMENTS)["pub_date"].to_list()}


def test_runs_on_postgres_and_history_survives_a_restart(pg_env, sample_inbox, tmp_path, monkeypatch):
    import dagster as dg

    for key, value in pg_env.items():  # this process opens the same instance as the subprocesses
        monkeypatch.setenv(key, value)

    home, lake = tmp_path / "home", tmp_path / "lake"
    home.mkdir()
    shutil.copy(YAML, home / "dagster.yaml")
    env = {**pg_env, "DAGSTER_HOME": str(home), "NEWSLAKE_LAKE": str(lake)}
    args = ("run", "--inbox", str(sample_inbox), "--home", str(home), "--no-progress")

    first = newslake(*args, env=env)
    assert first.returncode == 0, first.stderr[-3000:]
    assert not list(home.rglob("*.db")), "a SQLite storage was created in the Dagster home"

    inst = _instance(home)
    assert type(inst.run_storage).__name__ == "PostgresRunStorage"
    runs = inst.get_runs()
    assert {r.job_name for r in runs} == {"ingest_job", "daily_job"}
    assert all(r.status == dg.DagsterRunStatus.SUCCESS for r in runs), [(r.job_name, r.status) for r in runs]
    keys = _day_keys(lake)
    assert len(keys) >= 3
    assert set(inst.get_dynamic_partitions("pub_days")) == keys
    event = dg.DagsterEventType.ASSET_MATERIALIZATION
    for table in ("documents", "duplicates", "sentences", "entity_daily"):
        done = inst.get_latest_storage_id_by_partition(dg.AssetKey(table), event)
        assert set(done) == keys, table
    # the rows really are in the server's tables, one per run
    assert pg_query(pg_env, "SELECT count(*) FROM runs") == [(len(runs),)]
    first_ids = {r.run_id for r in runs}
    inst.dispose()

    # restart: a new process and a new instance object see the same history; the unchanged inbox (its
    # fingerprint is on the last `files` materialization, read from PostgreSQL) means no ingestion run, and
    # no daily run, because every day is recorded as done
    second = newslake(*args, env=env)
    assert second.returncode == 0, second.stderr[-3000:]
    again = _instance(home)
    runs2 = again.get_runs()
    assert first_ids <= {r.run_id for r in runs2}
    new = [r for r in runs2 if r.run_id not in first_ids]
    assert new == [], [(r.job_name, r.tags) for r in new]
    assert "nothing to ingest" in second.stderr
    assert set(again.get_dynamic_partitions("pub_days")) == keys
    again.dispose()


def _connections(env) -> int:
    sql = f"SELECT count(*) FROM pg_stat_activity WHERE datname = '{env['DAGSTER_PG_DB']}' AND pid <> pg_backend_pid()"
    return pg_query(env, sql)[0][0]


def test_a_run_process_holds_one_event_connection(pg_env, tmp_path, monkeypatch):
    """Dagster's PostgreSQL event log connects anew for every statement group unless told to hold a
    connection (assets/instance.py); held, the events of a run share one, and all of them are stored."""
    import dagster as dg

    from assets.instance import ENV, hold_event_connections

    for key, value in pg_env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv(ENV, raising=False)
    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(YAML, home / "dagster.yaml")
    inst = _instance(home)
    try:
        inst.get_runs(limit=1)
        assert _connections(pg_env) == 0  # Dagster's default: no connection outlives its use
        assert hold_event_connections(inst) and hold_event_connections(inst)  # idempotent
        for i in range(40):
            inst.report_runless_asset_event(dg.AssetMaterialization("documents", partition=f"p{i}"))
        assert _connections(pg_env) == 1  # the one held connection, reused by every event
        recs = inst.fetch_materializations(dg.AssetKey("documents"), limit=100).records
        assert len({r.partition_key for r in recs}) == 40
    finally:
        inst.dispose()
    monkeypatch.setenv(ENV, "full")
    assert not hold_event_connections(_instance(home))
