"""DuckDB sees each table's current version only, binds parameters, and reads nothing but the lake."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date

import duckdb
import polars as pl
import pytest

from pipeline import sql, storage
from pipeline.schema import SENTENCES
from pipeline.storage import Lake
from tests.unit.test_storage import sentences

D1, D2 = date(2026, 11, 24), date(2026, 11, 25)


@pytest.fixture
def lake(lake_dir) -> Lake:
    lk = Lake(str(lake_dir))
    storage.write_partitions(lk, SENTENCES, pl.concat([sentences(D1, 5), sentences(D2, 2)]), dates=[D1, D2])
    storage.write_partitions(lk, SENTENCES, sentences(D1, 1, tag="n"), dates=[D1])  # leaves removed files
    return lk


def test_views_show_the_current_version_not_removed_files(lake):
    con = sql.connect(lake)
    assert con.execute("SELECT count(*) FROM sentences").fetchone()[0] == 3
    parquet_files = list((lake.root and __import__("pathlib").Path(lake.root) / "sentences").rglob("*.parquet"))
    assert len(parquet_files) > 2, "the overwrite should have left a removed file on disk"


def test_parameters_are_bound(lake):
    con = sql.connect(lake)
    n = con.execute("SELECT count(*) FROM sentences WHERE pub_date = $d", {"d": D2}).fetchone()[0]
    assert n == 2
    hostile = "x' OR 1=1 --"
    assert con.execute("SELECT count(*) FROM sentences WHERE doc_id = ?", [hostile]).fetchone()[0] == 0


def test_connection_cannot_read_other_files_or_unlock_itself(lake, tmp_path):
    secret = tmp_path / "secret.csv"
    secret.write_text("a\n1\n")
    con = sql.connect(lake)
    with pytest.raises(duckdb.Error):
        con.execute(f"SELECT * FROM read_csv('{secret}')").fetchall()
    with pytest.raises(duckdb.Error):
        con.execute("SET enable_external_access = true")
    with pytest.raises(duckdb.Error):
        con.execute(f"SELECT * FROM read_parquet('{lake.root}/sentences/**/*.parquet')").fetchall()
    assert con.execute("SELECT count(*) FROM sentences").fetchone()[0] == 3


def test_missing_tables_are_simply_absent(lake):
    con = sql.connect(lake)
    assert sql.views(con) == ["sentences"]


def test_newslake_sql_answers_a_one_shot_query(lake, tmp_path):
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path / "home")}
    out = subprocess.run(
        [sys.executable, "-m", "newslake.cli", "sql", "--lake", lake.root, "--format", "csv",
         "SELECT pub_date, count(*) AS n FROM sentences GROUP BY 1 ORDER BY 1"],
        capture_output=True, text=True, env=env, timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == ["pub_date,n", "2026-11-24,1", "2026-11-25,2"]


def test_newslake_sql_reads_statements_from_stdin_and_reports_errors(lake, tmp_path):
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path / "home")}
    cmd = [sys.executable, "-m", "newslake.cli", "sql", "--lake", lake.root, "--format", "csv"]
    ok = subprocess.run(cmd, input="SELECT count(*) AS n FROM sentences", capture_output=True, text=True, env=env)
    assert ok.stdout.splitlines() == ["n", "3"]
    bad = subprocess.run([*cmd, "SELECT * FROM no_such_table"], capture_output=True, text=True, env=env)
    assert bad.returncode == 2 and "no_such_table" in bad.stderr
