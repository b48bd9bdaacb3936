"""`newslake sql` as a shell: piped scripts, dot-commands, CSV of list columns, clear errors, no side effects."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[2]


def newslake(*args, cwd, env=None, input=None, timeout=300):
    env = {k: v for k, v in (env or os.environ).items() if k not in ("DAGSTER_HOME", "NEWSLAKE_LAKE")}
    return subprocess.run(
        [sys.executable, "-m", "newslake.cli", *args],
        capture_output=True,
        text=True,
        env={**env, "PYTHONPATH": str(PROJECT)},
        cwd=cwd,
        timeout=timeout,
        input=input,
    )


@pytest.fixture(scope="module")
def lake(tmp_path_factory) -> Path:
    """The sample inbox ingested (documents, files, rejects) without Dagster: enough for the shell."""
    from pipeline import ingest, storage

    root = tmp_path_factory.mktemp("shell") / "lake"
    ingest.run(PROJECT / "data" / "inbox", storage.Lake(str(root)), config=ingest.IngestConfig(), run_id="t")
    return root


def test_piped_script_prints_every_result_and_dot_commands_work(lake, tmp_path):
    script = (
        ".tables\nSELECT 1 AS first;\nSELECT 2 AS second; SELECT 3 AS third;\n.schema files\n"
        "SELECT count(*) AS docs FROM documents\n"
    )
    out = newslake("sql", "--lake", str(lake), cwd=tmp_path, input=script)
    assert out.returncode == 0, out.stderr
    for needle in ("documents\nfiles\nrejects", "first", "second", "third", "sha256", "docs", "13"):
        assert needle in out.stdout, needle
    # a one-shot query with several statements prints each result too
    csv = newslake("sql", "--lake", str(lake), "--format", "csv", "SELECT 1 AS a; SELECT 2 AS b", cwd=tmp_path)
    assert csv.stdout.split() == ["a", "1", "b", "2"]
    # a script stops at its first error, says so and exits 2
    bad = newslake("sql", "--lake", str(lake), cwd=tmp_path, input="SELECT 1 AS ok;\nSELEC nonsense;\nSELECT 5 AS x;\n")
    assert bad.returncode == 2 and "error" in bad.stderr and "ok" in bad.stdout and " x " not in bad.stdout
    dot = newslake("sql", "--lake", str(lake), cwd=tmp_path, input=".schema nope\n")
    assert dot.returncode == 2 and "unknown table 'nope'" in dot.stdout


def test_csv_writes_list_columns_as_json(lake, tmp_path):
    import csv
    import io
    import json

    out = newslake(
        "sql",
        "--lake",
        str(lake),
        "--format",
        "csv",
        "SELECT doc_id, date_flags, authors, captions FROM documents ORDER BY doc_id",
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stderr
    rows = list(csv.DictReader(io.StringIO(out.stdout)))
    assert len(rows) == 13
    for r in rows:
        for c in ("date_flags", "authors", "captions"):
            assert r[c] == "" or isinstance(json.loads(r[c]), list)
    assert any(json.loads(r["authors"] or "[]") for r in rows)


def test_wrong_lake_is_a_clear_error_and_sql_creates_nothing(lake, tmp_path):
    before = sorted(p.name for p in tmp_path.iterdir())
    missing = newslake("sql", "--lake", str(tmp_path / "nowhere"), "SELECT 1", cwd=tmp_path)
    assert missing.returncode == 2 and str(tmp_path / "nowhere") in missing.stderr
    assert "Traceback" not in missing.stderr
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("x")
    wrong = newslake("sql", "--lake", str(tmp_path / "other"), "SELECT 1", cwd=tmp_path)
    assert wrong.returncode == 2 and "no newslake tables" in wrong.stderr and "notes.txt" in wrong.stderr
    # queries, errors and scripts leave the working folder as it was (no ./data/dagster, no folder at all)
    newslake("sql", "--lake", str(lake), "SELECT count(*) FROM documents", cwd=tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([*before, "other"])
    assert not (tmp_path / "data").exists() and not (tmp_path / "nowhere").exists()


def test_time_travel_views_stay_locked_down(lake, tmp_path):
    secret = tmp_path / "secret.csv"
    secret.write_text("a\n1\n")
    out = newslake(
        "sql", "--lake", str(lake), "--version", "documents=0", f"SELECT * FROM read_csv('{secret}')", cwd=tmp_path
    )
    assert out.returncode == 2 and "error" in out.stderr
    unknown = newslake("sql", "--lake", str(lake), "--version", "nosuch=1", "SELECT 1", cwd=tmp_path)
    assert unknown.returncode == 2 and "TABLE=N" in unknown.stderr
