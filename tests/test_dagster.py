"""The Dagster shell as a user meets it: definitions load, partitions materialize idempotently, automation."""

from __future__ import annotations

from datetime import date

import dagster as dg
import polars as pl
import pyarrow as pa
import pytest

from pipeline import storage
from pipeline.schema import DOCUMENTS, DUPLICATES, ENTITIES, SENTENCES
from pipeline.storage import Lake

QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


@pytest.fixture
def defs(dagster_env):
    from assets.definitions import defs

    return defs


def test_definitions_load_and_every_asset_is_described(defs):
    repo = defs.get_repository_def()
    graph = repo.asset_graph
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert {"files", "documents", "rejects", "signatures", "duplicates", "sentences", "entities",
            "entity_daily"} <= keys
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

    counts = {t.name: storage.read(lake, t).group_by("pub_date").len().sort("pub_date")
              for t in (DUPLICATES, SENTENCES, ENTITIES)}
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


@pytest.mark.slow
def test_partitions_sensor_requests_the_touched_days(defs, dagster_env):
    instance = dg.DagsterInstance.get()
    assert defs.resolve_job_def("ingest_job").execute_in_process(instance=instance, run_config=QUIET).success
    from assets.dedup import DedupSettings
    from assets.resources import LakeResource

    sensor = defs.get_sensor_def("partitions_sensor")
    resources = {"lake": LakeResource(root=str(dagster_env["lake"])), "dedup_settings": DedupSettings()}
    with dg.build_sensor_context(instance=instance, definitions=defs, resources=resources) as ctx:
        result = sensor.evaluate_tick(ctx)
    ranges = [(r.tags["dagster/asset_partition_range_start"], r.tags["dagster/asset_partition_range_end"])
              for r in result.run_requests]
    assert ranges == [("2026-11-24", "2026-11-26")]
    assert all(r.tags["newslake/lake"] == "writer" for r in result.run_requests)


def test_inbox_sensor_fires_only_when_the_inbox_changes(defs, dagster_env):
    from assets.resources import InboxResource

    sensor = defs.get_sensor_def("inbox_sensor")
    instance = dg.DagsterInstance.get()
    inbox = InboxResource(path=str(dagster_env["inbox"]))
    with dg.build_sensor_context(instance=instance, definitions=defs, resources={"inbox": inbox}) as ctx:
        first = sensor.evaluate_tick(ctx)
        assert len(first.run_requests) == 1
        ctx.update_cursor(first.cursor)
        assert sensor.evaluate_tick(ctx).run_requests == []
        (dagster_env["inbox"] / "new.html").write_text("<html><body><p>new</p></body></html>")
        assert len(sensor.evaluate_tick(ctx).run_requests) == 1


@pytest.mark.slow
def test_backfill_job_matches_the_assets_and_records_every_partition(defs, dagster_env):
    instance = dg.DagsterInstance.get()
    lake = Lake(str(dagster_env["lake"]))
    assert defs.resolve_job_def("ingest_job").execute_in_process(instance=instance, run_config=QUIET).success
    d1, d3 = date(2026, 11, 24), date(2026, 11, 26)  # two days, not a contiguous range
    daily = defs.resolve_job_def("daily_job")
    for d in (d1, d3):
        assert daily.execute_in_process(instance=instance, partition_key=d.isoformat(), run_config=QUIET).success
    tables = (DUPLICATES, SENTENCES, ENTITIES)
    by_assets = {t.name: storage.read(lake, t).sort(storage.read(lake, t).columns) for t in tables}

    cfg = {**QUIET, "ops": {"process_days": {"config": {"days": [d1.isoformat(), d3.isoformat()]}}}}
    res = defs.resolve_job_def("backfill_job").execute_in_process(instance=instance, run_config=cfg)
    assert res.success
    for t in tables:
        again = storage.read(lake, t)
        assert again.sort(again.columns).equals(by_assets[t.name]), t.name
    assets = ("signatures", "duplicates", "sentences", "entities", "entity_daily")
    for name in assets:
        for d in (d1, d3):
            recs = instance.fetch_materializations(
                dg.AssetRecordsFilter(asset_key=dg.AssetKey(name), asset_partitions=[d.isoformat()]), limit=1,
                ascending=False).records
            assert recs and recs[0].run_id == res.run_id, (name, d)
        assert date(2026, 11, 25).isoformat() not in {
            e.partition for e in res.asset_materializations_for_node("process_days") if e.asset_key.path == [name]}
    checks = [e for e in instance.all_logs(res.run_id) if e.dagster_event
              and e.dagster_event.event_type_value == "ASSET_CHECK_EVALUATION"]
    assert len(checks) == 6 and all(e.dagster_event.event_specific_data.passed for e in checks)
