"""The Dagster shell as a user meets it: definitions load, partitions materialize idempotently, automation."""

from __future__ import annotations

import os
import time
from collections import Counter
from datetime import date
from pathlib import Path

import dagster as dg
import polars as pl
import pyarrow as pa
import pytest

from pipeline import storage
from pipeline.schema import DOCUMENTS, DUPLICATES, ENTITIES, SENTENCES
from pipeline.storage import Lake

PROJECT = Path(__file__).resolve().parents[2]
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


@pytest.fixture
def defs(dagster_env):
    from assets.definitions import defs

    return defs


def test_definitions_load_and_every_asset_is_described(defs):
    repo = defs.get_repository_def()
    graph = repo.asset_graph
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert {
        "files",
        "documents",
        "rejects",
        "signatures",
        "duplicates",
        "sentences",
        "entities",
        "entity_daily",
    } <= keys
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        assert node.description and len(node.description) > 20, key
        assert node.code_version, key


def test_schedule_and_sensors_run_by_default(defs):
    assert defs.get_schedule_def("daily_ingest").default_status == dg.DefaultScheduleStatus.RUNNING
    for name in ("inbox_sensor", "partitions_sensor"):
        assert defs.get_sensor_def(name).default_status == dg.DefaultSensorStatus.RUNNING


def _add_actions(lake: Lake, table, *, exclude: date) -> pl.DataFrame:
    acts = pl.from_arrow(pa.table(lake.open(table).get_add_actions(flatten=True)))
    return acts.filter(pl.col("partition.pub_date").cast(pl.String) != exclude.isoformat()).select("path").sort("path")


@pytest.mark.slow
def test_two_partitions_then_rematerialize_one(defs, dagster_env):
    instance = dg.DagsterInstance.get()
    lake = Lake(str(dagster_env["lake"]))
    assert defs.resolve_job_def("ingest_job").execute_in_process(instance=instance, run_config=QUIET).success
    daily = defs.resolve_job_def("daily_job")
    d1, d2 = date(2026, 11, 24), date(2026, 11, 26)
    for d in (d1, d2):
        assert daily.execute_in_process(instance=instance, partition_key=d.isoformat(), run_config=QUIET).success

    counts = {
        t.name: storage.read(lake, t).group_by("pub_date").len().sort("pub_date")
        for t in (DUPLICATES, SENTENCES, ENTITIES)
    }
    assert set(counts["sentences"]["pub_date"]) == {d1, d2}
    others = {t.name: _add_actions(lake, t, exclude=d1) for t in (DUPLICATES, SENTENCES, ENTITIES)}

    res = daily.execute_in_process(instance=instance, partition_key=d1.isoformat(), run_config=QUIET)
    assert res.success
    for t in (DUPLICATES, SENTENCES, ENTITIES):
        assert _add_actions(lake, t, exclude=d1).equals(others[t.name]), f"{t.name}: other partition touched"
        assert storage.read(lake, t).group_by("pub_date").len().sort("pub_date").equals(counts[t.name])
    docs = storage.read(lake, DOCUMENTS)
    assert docs["doc_id"].n_unique() == docs.height
    # every check emitted by the run passed
    checks = [e for e in res.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"]
    assert checks and all(e.event_specific_data.passed for e in checks)


@pytest.mark.slow
def test_rerunning_ingestion_on_an_unchanged_inbox_commits_nothing(defs, dagster_env):
    instance = dg.DagsterInstance.get()
    lake = Lake(str(dagster_env["lake"]))
    job = defs.resolve_job_def("ingest_job")
    assert job.execute_in_process(instance=instance, run_config=QUIET).success
    before = storage.table_versions(lake)
    assert job.execute_in_process(instance=instance, run_config=QUIET).success
    assert storage.table_versions(lake) == before


def _ranges(result):
    return [
        (r.tags["dagster/asset_partition_range_start"], r.tags["dagster/asset_partition_range_end"])
        for r in result.run_requests
    ]


@pytest.mark.slow
def test_partitions_sensor_requests_undone_days_once_and_nothing_after_they_ran(defs, dagster_env):
    from assets.resources import SettingsResource

    instance = dg.DagsterInstance.get()
    assert defs.resolve_job_def("ingest_job").execute_in_process(instance=instance, run_config=QUIET).success
    # Partitions are exactly the days with data, in calendar order, plus the undated key.
    assert instance.get_dynamic_partitions("pub_days") == ["2026-11-24", "2026-11-25", "2026-11-26", "undated"]
    sensor = defs.get_sensor_def("partitions_sensor")
    resources = {"settings": SettingsResource(lake=str(dagster_env["lake"]))}
    with dg.build_sensor_context(instance=instance, definitions=defs, resources=resources) as ctx:
        first = sensor.evaluate_tick(ctx)
    assert _ranges(first) == [("2026-11-24", "2026-11-26"), ("undated", "undated")]
    daily = defs.resolve_job_def("daily_job")
    for a, b in _ranges(first):
        tags = {"dagster/asset_partition_range_start": a, "dagster/asset_partition_range_end": b}
        assert daily.execute_in_process(instance=instance, tags=tags, run_config=QUIET).success
    with dg.build_sensor_context(instance=instance, definitions=defs, resources=resources) as ctx:
        again = sensor.evaluate_tick(ctx)
    assert again.run_requests == [], "the sensor repeated work whose inputs did not change"
    assert "older code" not in (again.skip_message or "")
    # Other settings for a stage (here the sentence splitter's) make every day it wrote outdated: reported only.
    other = dagster_env["lake"].parent / "other.toml"
    other.write_text("[sentences]\nmax_chars = 4000\n")
    changed = {"settings": SettingsResource(lake=str(dagster_env["lake"]), config_file=str(other))}
    with dg.build_sensor_context(instance=instance, definitions=defs, resources=changed) as ctx:
        resettled = sensor.evaluate_tick(ctx)
    assert resettled.run_requests == []
    assert "4 day(s) were written by older code or other settings" in (resettled.skip_message or "")
    # A day whose last tagging was recorded by older code (an upgrade since) is reported, not launched.
    old = dg.AssetMaterialization("entity_daily", partition="2026-11-25", tags={"dagster/code_version": "entities-0"})
    instance.report_runless_asset_event(old)
    with dg.build_sensor_context(instance=instance, definitions=defs, resources=resources) as ctx:
        upgraded = sensor.evaluate_tick(ctx)
    assert upgraded.run_requests == []
    assert "1 day(s) were written by older code" in (upgraded.skip_message or ""), upgraded.skip_message


def test_inbox_sensor_fires_only_when_the_inbox_changes(defs, dagster_env):
    from assets.resources import SettingsResource

    sensor = defs.get_sensor_def("inbox_sensor")
    instance = dg.DagsterInstance.get()
    settings = SettingsResource(inbox=str(dagster_env["inbox"]))
    with dg.build_sensor_context(instance=instance, definitions=defs, resources={"settings": settings}) as ctx:
        first = sensor.evaluate_tick(ctx)
        assert len(first.run_requests) == 1
        ctx.update_cursor(first.cursor)
        assert sensor.evaluate_tick(ctx).run_requests == []
        (dagster_env["inbox"] / "new.html").write_text("<html><body><p>new</p></body></html>")
        assert len(sensor.evaluate_tick(ctx).run_requests) == 1


@pytest.mark.slow
def test_a_range_run_records_each_partitions_own_rows_and_checks(defs, dagster_env):
    instance = dg.DagsterInstance.get()
    lake = Lake(str(dagster_env["lake"]))
    assert defs.resolve_job_def("ingest_job").execute_in_process(instance=instance, run_config=QUIET).success
    tags = {"dagster/asset_partition_range_start": "2026-11-24", "dagster/asset_partition_range_end": "undated"}
    res = defs.resolve_job_def("daily_job").execute_in_process(instance=instance, tags=tags, run_config=QUIET)
    assert res.success
    keys = ["2026-11-24", "2026-11-25", "2026-11-26", "undated"]
    for table in (SENTENCES, ENTITIES):
        rows = storage.read(lake, table, dates=[date.fromisoformat(k) for k in keys[:3]], undated=True)
        truth = {("undated" if d is None else d.isoformat()): n for d, n in rows.group_by("pub_date").len().iter_rows()}
        for key in keys:
            rec = instance.fetch_materializations(
                dg.AssetRecordsFilter(asset_key=dg.AssetKey(table.name), asset_partitions=[key]),
                limit=1,
                ascending=False,
            ).records[0]
            md = rec.event_log_entry.asset_materialization.metadata
            assert md["dagster/row_count"].value == truth.get(key, 0), (table.name, key)
            assert rec.event_log_entry.asset_materialization.tags["dagster/code_version"]
            # the whole run's figures are labelled as such, never mistaken for the partition's
            assert md["run_partitions"].value == len(keys) and "partitions" not in md
    # one event per table and partition (the instance pays for each): no second, run-wide copy
    mats = [
        e.asset_materialization
        for e in instance.all_logs(res.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION)
    ]
    per = Counter((m.asset_key.to_user_string(), m.partition) for m in mats)
    assert set(per.values()) == {1}, per
    assert {p for (t, p) in per if t == "entities"} == set(keys)
    checks = [
        e.dagster_event.event_specific_data
        for e in instance.all_logs(res.run_id)
        if e.dagster_event and e.dagster_event.event_type_value == "ASSET_CHECK_EVALUATION"
    ]
    # 6 daily checks, each evaluated for each of the 4 partitions, every one passed and named its partition.
    assert len(checks) == 6 * 4 and all(c.passed for c in checks)
    assert {c.partition for c in checks} == set(keys)


@pytest.mark.slow
def test_inbox_sensor_does_not_repeat_an_ingestion_done_elsewhere(defs, dagster_env):
    from assets.resources import SettingsResource

    instance = dg.DagsterInstance.get()
    assert defs.resolve_job_def("ingest_job").execute_in_process(instance=instance, run_config=QUIET).success
    sensor = defs.get_sensor_def("inbox_sensor")
    settings = SettingsResource(inbox=str(dagster_env["inbox"]))
    with dg.build_sensor_context(instance=instance, definitions=defs, resources={"settings": settings}) as ctx:
        assert sensor.evaluate_tick(ctx).run_requests == [], "a fresh sensor re-ingested an unchanged inbox"
        (dagster_env["inbox"] / "new.html").write_text("<html><body><p>new</p></body></html>")
        assert len(sensor.evaluate_tick(ctx).run_requests) == 1


def test_the_one_list_of_stages_is_a_topological_order_of_the_asset_graph(defs):
    from pipeline.stage import STAGES

    graph = defs.get_repository_def().asset_graph
    position = {table: i for i, stage in enumerate(STAGES) for table in stage.tables}
    assert set(position) == {k.to_user_string() for k in graph.get_all_asset_keys()}
    for key in graph.get_all_asset_keys():
        for parent in graph.get(key).parent_keys:
            assert position[parent.to_user_string()] <= position[key.to_user_string()], (parent, key)
    # Each stage is one step: its tables are materialized by the op named after the stage.
    for stage in STAGES:
        ops = {
            graph.get(dg.AssetKey(t)).assets_def.op.name
            for t in stage.tables
            if graph.get(dg.AssetKey(t)).is_materializable
        }
        assert ops == {stage.name}, (stage.name, ops)


@pytest.mark.slow
def test_cli_runs_are_listed_on_the_jobs_page_of_the_code_location(defs, dagster_env):
    """The Jobs page lists a job's runs by job name and repository label (dagster-graphql's Pipeline.runs)."""
    from dagster._core.storage.tags import REPOSITORY_LABEL_TAG

    from newslake import control

    instance = dg.DagsterInstance.get()
    assert control.execute(defs, "ingest_job", instance, tags={}, log_level="WARNING")
    listed = instance.get_runs(
        dg.RunsFilter(job_name="ingest_job", tags={REPOSITORY_LABEL_TAG: "__repository__@newslake"})
    )
    assert len(listed) == 1
    workspace = (PROJECT / "workspace.yaml").read_text()
    assert f"location_name: {control.LOCATION}" in workspace


def _started_at(pid: int) -> float:
    """Wall-clock start of a process, from /proc (clock ticks since boot)."""
    ticks = int(Path(f"/proc/{pid}/stat").read_text().split(") ")[-1].split()[19])
    boot = time.time() - float(Path("/proc/uptime").read_text().split()[0])
    return boot + ticks / os.sysconf("SC_CLK_TCK")


@pytest.mark.slow
def test_a_daily_run_starts_the_tagging_workers_while_the_earlier_steps_run(defs, dagster_env, monkeypatch):
    from pipeline.entities import tagger

    monkeypatch.setenv("NEWSLAKE_WORKERS", "2")
    tagger.close_pools()
    instance = dg.DagsterInstance.get()
    assert defs.resolve_job_def("ingest_job").execute_in_process(instance=instance, run_config=QUIET).success
    daily = defs.resolve_job_def("daily_job")
    key = "2026-11-24"
    try:
        # a run that will not tag starts no worker
        res = daily.execute_in_process(
            instance=instance,
            partition_key=key,
            run_config=QUIET,
            asset_selection=[dg.AssetKey("signatures"), dg.AssetKey("duplicates")],
        )
        assert res.success and not tagger._POOLS and not tagger._WARMING
        res = daily.execute_in_process(instance=instance, partition_key=key, run_config=QUIET)
        assert res.success
        (pool,) = tagger._POOLS.values()
        starts = {
            e.step_key: e.timestamp for e in instance.all_logs(res.run_id, of_type=dg.DagsterEventType.STEP_START)
        }
        workers = [_started_at(p.pid) for p in pool._pool]
        # started once dedup began, before the entities step: their start-up overlapped dedup and sentences
        assert all(starts["dedup"] - 0.05 <= w <= starts["entities"] for w in workers), (starts, workers)
        assert storage.read(Lake(str(dagster_env["lake"])), ENTITIES).height > 0
    finally:
        tagger.close_pools()
