"""Releases and time travel as a user meets them: the real `newslake` command on a copy of the sample inbox."""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime

import pytest
from services_support import newslake, ok


def csv_rows(out: str) -> list[list[str]]:
    return [line.split(",") for line in out.strip().splitlines()[1:]]


@pytest.fixture
def env(tmp_path):
    return {**os.environ, "DAGSTER_HOME": str(tmp_path / "home"), "NEWSLAKE_LAKE": str(tmp_path / "lake")}


def release_rows(name, env) -> dict[str, dict]:
    rows = json.loads(ok(newslake("release", "show", name, "--json", env=env)))
    return {r["table_name"]: r for r in rows}


def digest_now(lake, table: str, version):
    from pipeline import releases
    from pipeline.schema import TABLES
    from pipeline.storage import Lake

    return releases.content_digest(Lake(lake), TABLES[table], version)


@pytest.mark.slow
def test_release_survives_ingestion_and_maintenance_and_as_of_shows_the_earlier_state(sample_inbox, env, tmp_path):
    lake = str(tmp_path / "lake")
    ok(newslake("run", "--inbox", str(sample_inbox), env=env))
    between = datetime.now(UTC)
    time.sleep(1.1)
    out = ok(newslake("release", "create", "2026-11", "--note", "first sample", env=env))
    assert "release 2026-11 recorded" in out
    first = release_rows("2026-11", env)
    assert first["documents"]["rows"] == 13 and first["sentences"]["rows"] > 0 and first["entities"]["rows"] > 0
    prov = json.loads(first["documents"]["provenance"])
    assert prov["code"]["package_version"] and prov["models"], prov  # code and model versions recorded
    assert first["documents"]["note"] == "first sample"
    # a release name is used once
    again = newslake("release", "create", "2026-11", env=env)
    assert again.returncode == 2 and "exists already" in again.stderr

    # more ingestion: a new article on a new day and one file removed from the inbox copy
    (sample_inbox / "html" / "late.html").write_text(
        "<html><head><meta property='article:published_time' content='2026-11-27T09:00:00Z'>"
        "<title>Harbour crane arrives</title></head><body><article><h1>Harbour crane arrives</h1>"
        "<p>A new container crane arrived in Port Ellery on Friday after a four-day voyage from Rotterdam. "
        "The harbour authority said the crane would be in service before the end of December.</p>"
        "<p>Dock workers watched as tugboats guided the barge into the western basin.</p></article></body></html>"
    )
    ok(newslake("run", "--inbox", str(sample_inbox), env=env))
    now = ok(newslake("sql", "--format", "csv", "SELECT count(*) FROM documents", env=env))
    assert csv_rows(now) == [["14"]]
    maintained = ok(newslake("maintain", "--retention-hours", "0", env=env))
    assert "kept for releases" in maintained and "2026-11" in maintained, maintained

    # the release still reads exactly as created: rows and content digest per table, through SQL and directly
    for table, row in first.items():
        assert digest_now(lake, table, row["version"]) == (row["rows"], row["content_sha256"]), table
        got = ok(newslake("sql", "--release", "2026-11", "--format", "csv", f'SELECT count(*) FROM "{table}"', env=env))
        assert csv_rows(got) == [[str(row["rows"])]], table
    # as of a time between the two runs: the earlier state (13 documents, no 2026-11-27)
    as_of = ok(
        newslake(
            "sql",
            "--as-of",
            between.isoformat(),
            "--format",
            "csv",
            "SELECT count(*), count(*) FILTER (pub_date = DATE '2026-11-27') FROM documents",
            env=env,
        )
    )
    assert csv_rows(as_of) == [["13", "0"]]
    pinned = ok(
        newslake(
            "sql",
            "--version",
            f"documents={first['documents']['version']}",
            "--format",
            "csv",
            "SELECT count(*) FROM documents",
            env=env,
        )
    )
    assert csv_rows(pinned) == [["13"]]
    listed = ok(newslake("release", "list", env=env))
    assert "2026-11" in listed and "first sample" in listed


@pytest.mark.slow
def test_history_lists_versions_with_run_and_provenance(sample_inbox, env):
    ok(newslake("run", "--inbox", str(sample_inbox), env=env))
    out = ok(newslake("history", "documents", "--format", "json", env=env))
    rows = [json.loads(line) for line in out.splitlines()]
    writes = [r for r in rows if r["operation"] == "WRITE"]
    assert writes and all(r["run_id"] for r in writes)
    assert sum(r["rows_added"] for r in writes) >= 13
    assert all("package_version=" in r["provenance"] and "code_version=" in r["provenance"] for r in writes)
    # every version listed is readable
    for r in rows:
        assert newslake("sql", "--version", f"documents={r['version']}", "SELECT 1", env=env).returncode == 0
    bad = newslake("sql", "--version", "documents=999", "SELECT 1", env=env)
    assert bad.returncode == 2 and "no version 999" in bad.stderr


def test_snapshot_skips_commits_of_unfinished_runs(tmp_path):
    """A run that has written `documents` but not yet `sentences` is not inside a release."""
    import polars as pl

    from pipeline import releases, storage
    from pipeline.schema import DOCUMENTS

    lake = storage.Lake(str(tmp_path / "lake"))
    doc = {c: None for c in DOCUMENTS.column_names} | {"doc_id": "a", "pub_date": datetime(2026, 1, 1).date()}
    df = pl.DataFrame([doc], schema=DOCUMENTS.schema)
    v_done = storage.write_partitions(lake, DOCUMENTS, df, dates=[doc["pub_date"]], run_id="finished-run")
    storage.write_partitions(
        lake, DOCUMENTS, df.with_columns(pl.lit("b").alias("doc_id")), dates=[doc["pub_date"]], run_id="running-run"
    )
    states = releases.snapshot(lake, is_finished=lambda run: run != "running-run")
    assert states["documents"].version == v_done
    assert releases.snapshot(lake)["documents"].version == v_done + 1
