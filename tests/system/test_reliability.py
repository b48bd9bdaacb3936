"""Crash safety, conflicts, schema evolution and UTC round trips of the Delta tables."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl
import pyarrow as pa
import pytest
from deltalake.exceptions import CommitFailedError

from pipeline import sql, storage
from pipeline.errors import SchemaMismatch
from pipeline.schema import DOCUMENTS, SENTENCES, Column, Table
from pipeline.storage import Lake
from tests.system.crash_writer import generation

PROJECT = Path(__file__).resolve().parents[2]
DAY, OTHER = date(2026, 11, 24), date(2026, 11, 25)


def add_actions(lake: Lake, table) -> pl.DataFrame:
    acts = pl.from_arrow(pa.table(lake.open(table).get_add_actions(flatten=True)))
    return acts.select("path", pl.col("partition.pub_date").cast(pl.String).alias("day")).sort("path")


def assert_partition_whole(lake: Lake) -> int:
    """The partition holds exactly one generation's rows; return that generation."""
    rows = storage.read(lake, SENTENCES, dates=[DAY])
    gens = set(rows["text"])
    assert len(gens) == 1, f"partition mixes generations {gens}"
    g = int(gens.pop())
    assert rows.sort("sent_idx").equals(generation(DAY, g)), "partition incomplete"
    return g


@pytest.mark.slow
def test_sigkill_during_partition_writes_never_leaves_a_mix(lake_dir):
    lake = Lake(str(lake_dir))
    storage.write_partitions(lake, SENTENCES, pl.concat([generation(DAY, 0), generation(OTHER, 100)]),
                             dates=[DAY, OTHER])
    other_files = add_actions(lake, SENTENCES).filter(pl.col("day") == OTHER.isoformat())
    rng = random.Random(7)
    env = {**os.environ, "PYTHONPATH": str(PROJECT)}
    seen, first = set(), 1
    for i in range(10):
        child = subprocess.Popen([sys.executable, "-m", "tests.system.crash_writer", str(lake_dir), DAY.isoformat(),
                                  str(first)], stdout=subprocess.PIPE, env=env, cwd=PROJECT)
        assert child.stdout.readline().strip() == b"ready"
        # Even rounds kill during the child's first write, odd ones during a later write (after its first
        # commit): on a loaded machine the first write alone can outlast every random delay.
        if i % 2:
            assert child.stdout.readline().startswith(b"committed ")
        time.sleep(rng.uniform(0.0, 0.6))
        child.send_signal(signal.SIGKILL)
        child.wait()
        seen.add(assert_partition_whole(lake))
        assert add_actions(lake, SENTENCES).filter(pl.col("day") == OTHER.isoformat()).equals(other_files)
        first += 1000
    assert len(seen) > 1, "the writer never committed between kills; the test proved nothing"
    # re-running completes the partition
    storage.write_partitions(lake, SENTENCES, generation(DAY, 5), dates=[DAY])
    assert assert_partition_whole(lake) == 5


def _conflict_worker(root: str, tag: str, q) -> None:
    from tests.unit.test_storage import sentences

    lake, ok, errors = Lake(root), 0, []
    for _ in range(12):
        try:
            storage.write_partitions(lake, SENTENCES, sentences(DAY, 3, tag=tag), dates=[DAY])
            ok += 1
        except Exception as exc:  # noqa: BLE001 - the test inspects what was raised
            errors.append(type(exc).__name__)
    q.put((ok, errors))


@pytest.mark.slow
def test_concurrent_writers_fail_loudly_and_never_corrupt(lake_dir):
    import multiprocessing as mp

    lake = Lake(str(lake_dir))
    storage.write_partitions(lake, SENTENCES, generation(DAY, 0), dates=[DAY])
    v0 = lake.version(SENTENCES)
    ctx = mp.get_context("spawn")  # never fork a process that holds deltalake's runtime
    q = ctx.Queue()
    procs = [ctx.Process(target=_conflict_worker, args=(str(lake_dir), t, q)) for t in "ab"]
    for p in procs:
        p.start()
    results = [q.get(timeout=120) for _ in procs]
    for p in procs:
        p.join()
    ok = sum(r[0] for r in results)
    errors = [e for r in results for e in r[1]]
    assert set(errors) <= {"CommitFailedError"}, errors
    assert lake.version(SENTENCES) - v0 == ok, "a write reported success but did not commit"
    rows = storage.read(lake, SENTENCES)
    assert rows.height == 3 and rows["text"].n_unique() == 1


def test_a_commit_conflict_becomes_a_step_retry():
    import dagster as dg

    from assets.results import transient_io_retry

    with pytest.raises(dg.RetryRequested), transient_io_retry():
        raise CommitFailedError("concurrent transaction")
    with pytest.raises(ValueError), transient_io_retry():  # logic errors are not retried
        raise ValueError("bug")


def test_no_lake_wide_lock_or_pool_that_a_killed_run_could_hold():
    import yaml

    cfg = yaml.safe_load((PROJECT / "assets" / "dagster.yaml").read_text())
    assert "pools" not in cfg.get("concurrency", {}), "a pool slot held by a killed run wedges later runs"
    assert cfg["run_monitoring"]["enabled"] is True


def _with_extra_column(table: Table, col: Column) -> Table:
    return Table(table.name, (*table.columns, col), table.doc, table.partition_by)


def test_adding_a_column_is_an_explicit_migration(lake_dir):
    from tests.unit.test_storage import sentences

    lake = Lake(str(lake_dir))
    storage.write_partitions(lake, SENTENCES, sentences(DAY, 2), dates=[DAY])
    grown = _with_extra_column(SENTENCES, Column("lang", pl.String, "language"))
    with pytest.raises(SchemaMismatch, match="migrate"):
        storage.write_partitions(lake, grown, sentences(DAY, 1).with_columns(lang=pl.lit("en")), dates=[DAY])
    assert storage.migrate(lake, grown) == ["lang"]
    storage.write_partitions(lake, grown, sentences(OTHER, 1).with_columns(lang=pl.lit("en")), dates=[OTHER])
    got = storage.read(lake, grown).sort("pub_date")
    assert got["lang"].to_list() == [None, None, "en"]


def test_a_changed_type_fails_loudly(lake_dir):
    from tests.unit.test_storage import sentences

    lake = Lake(str(lake_dir))
    storage.write_partitions(lake, SENTENCES, sentences(DAY, 2), dates=[DAY])
    cols = tuple(Column(c.name, pl.Int64 if c.name == "sent_idx" else c.dtype, c.doc) for c in SENTENCES.columns)
    changed = Table(SENTENCES.name, cols, SENTENCES.doc, SENTENCES.partition_by)
    with pytest.raises(SchemaMismatch, match="types changed"):
        storage.write_partitions(lake, changed, sentences(OTHER, 1), dates=[OTHER])
    with pytest.raises(SchemaMismatch):
        storage.migrate(lake, changed)


@pytest.mark.parametrize("tz", ["UTC", "America/New_York", "Asia/Kolkata"])
def test_timestamps_round_trip_as_utc(lake_dir, tz, monkeypatch):
    monkeypatch.setenv("TZ", tz)
    time.tzset()
    try:
        lake = Lake(str(lake_dir))
        instant = datetime(2026, 11, 25, 23, 30, tzinfo=UTC)
        row = {c: None for c in DOCUMENTS.column_names}
        row.update(doc_id="x", pub_date=instant.date(), pub_datetime=instant, ingested_at=instant, text="t",
                   date_flags=[], captions=[], authors=[])
        storage.write_partitions(lake, DOCUMENTS, pl.DataFrame([row], schema=DOCUMENTS.schema),
                                 dates=[instant.date()])
        back = storage.read(lake, DOCUMENTS)
        assert back.schema["pub_datetime"] == pl.Datetime("us", "UTC")
        assert back["pub_datetime"][0] == instant
        con = sql.connect(lake)
        epoch, typ = con.execute(
            "SELECT epoch_us(pub_datetime), typeof(pub_datetime) FROM documents").fetchone()
        assert epoch == int(instant.timestamp() * 1_000_000)
        assert typ == "TIMESTAMP WITH TIME ZONE"
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
