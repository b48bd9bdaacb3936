"""`newslake run` and `newslake sql` as a user types them, on a copy of the committed sample inbox."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[2]


def newslake(*args, env, timeout=600, input=None):
    return subprocess.run([sys.executable, "-m", "newslake.cli", *args], capture_output=True, text=True,
                          env=env, cwd=PROJECT, timeout=timeout, input=input)


@pytest.fixture
def env(tmp_path):
    return {**os.environ, "DAGSTER_HOME": str(tmp_path / "home"), "NEWSLAKE_LAKE": str(tmp_path / "lake")}


def csv_rows(out: str) -> list[list[str]]:
    return [line.split(",") for line in out.strip().splitlines()[1:]]


@pytest.mark.slow
def test_run_then_query_then_a_late_article(sample_inbox, env):
    first = newslake("run", "--inbox", str(sample_inbox), env=env)
    assert first.returncode == 0, first.stderr[-3000:]
    assert "documents: 13 on 3 day(s), 1 undated" in first.stdout
    assert "malformed_json" in first.stdout and "tables under:" in first.stdout

    per_day = newslake("sql", "--format", "csv",
                       "SELECT pub_date, count(*) FROM documents GROUP BY 1 ORDER BY 1 NULLS FIRST", env=env)
    assert csv_rows(per_day.stdout) == [["", "1"], ["2026-11-24", "3"], ["2026-11-25", "2"], ["2026-11-26", "7"]]
    # every document, the undated one included, went through every stage; the wire copy is a duplicate
    stages = newslake("sql", "--format", "csv", """
        SELECT (SELECT count(*) FROM duplicates), (SELECT count(*) FROM duplicates WHERE NOT is_canonical),
               (SELECT count(DISTINCT doc_id) FROM sentences), (SELECT count(DISTINCT doc_id) FROM entities)""",
                      env=env)
    assert csv_rows(stages.stdout) == [["13", "1", "12", "12"]]

    again = newslake("run", "--inbox", str(sample_inbox), env=env)
    assert again.returncode == 0 and "0 day(s) processed" in again.stdout

    late = sample_inbox / "late" / "correction.html"
    late.parent.mkdir()
    late.write_text(
        "<html><head><meta property='article:published_time' content='2026-11-25T08:00:00Z'>"
        "<title>Correction: ferry timetable</title></head><body><article><h1>Correction: ferry timetable</h1>"
        "<p>An article on Tuesday gave the wrong departure time for the first ferry from Port Ellery to Halden. "
        "The first ferry leaves at 6.15 a.m., not 6.50 a.m. as reported. We apologise for the error.</p>"
        "<p>The winter timetable of the Ellery Ferry Company runs until the end of March.</p>"
        "</article></body></html>")
    third = newslake("run", "--inbox", str(sample_inbox), env=env)
    assert third.returncode == 0, third.stderr[-3000:]
    # the late day and the later day whose dedup window contains it are processed again
    assert "2 day(s) processed" in third.stdout
    day = newslake("sql", "--format", "csv", "--param", "d=2026-11-25",
                   "SELECT count(DISTINCT doc_id) FROM sentences WHERE pub_date = $d", env=env)
    assert csv_rows(day.stdout) == [["3"]]


def test_help_for_every_command(env):
    for cmd in ("run", "sql", "ui", "maintain", "migrate"):
        out = newslake(cmd, "--help", env=env, timeout=60)
        assert out.returncode == 0 and "usage: newslake" in out.stdout


def test_bad_date_is_a_clear_error(env):
    out = newslake("run", "--date", "2026-13-45", env=env, timeout=60)
    assert out.returncode == 2 and "not a YYYY-MM-DD date" in out.stderr


@pytest.mark.slow
def test_far_apart_days_are_processed_in_one_run(tmp_path, env):
    import json

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    body = ("The harbour council in Port Ellery approved the budget on {d}. Mayor Anna Lind said the new "
            "ferry terminal would open next spring. The vote was 7 to 2.")
    records = [{"id": str(i), "title": f"Budget vote {i}", "text": body.format(d=d), "date": f"{d}T09:00:00Z"}
               for i, d in enumerate(["2026-01-05", "2026-06-20", "2026-11-02"])]
    (inbox / "feed.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    run = newslake("run", "--inbox", str(inbox), env=env)
    assert run.returncode == 0, run.stderr[-3000:]
    # Partitions are the days with data: three days months apart are neighbours, so one run covers them.
    assert run.stderr.count("processing ") == 1 and "processing 2026-01-05 .. 2026-11-02" in run.stderr
    per_day = newslake("sql", "--format", "csv", """
        SELECT pub_date, count(DISTINCT s.doc_id), count(DISTINCT e.doc_id)
        FROM sentences s JOIN entities e USING (doc_id, pub_date) GROUP BY 1 ORDER BY 1""", env=env)
    assert csv_rows(per_day.stdout) == [["2026-01-05", "1", "1"], ["2026-06-20", "1", "1"], ["2026-11-02", "1", "1"]]


@pytest.mark.slow
def test_learned_dedup_verdict_from_the_settings_file(sample_inbox, env, tmp_path):
    """``[dedup] verdict`` reaches the stage through the real command. Switched to the rules, a plain run lists
    the days the other settings wrote and redoes none; ``--stale`` redoes exactly those."""
    settings = tmp_path / "newslake.toml"
    settings.write_text('[dedup]\nverdict = "learned"\n')
    learned_env = {**env, "NEWSLAKE_CONFIG": str(settings)}
    first = newslake("run", "--inbox", str(sample_inbox), env=learned_env)
    assert first.returncode == 0, first.stderr[-3000:]
    query = "SELECT doc_id, canonical_doc_id FROM duplicates WHERE NOT is_canonical ORDER BY 1"
    learned = csv_rows(newslake("sql", "--format", "csv", query, env=learned_env).stdout)
    assert len(learned) == 1  # the sample's wire copy, found by the trees as by the rules
    again = newslake("run", "--inbox", str(sample_inbox), env=learned_env)
    assert again.returncode == 0 and "0 day(s) processed" in again.stdout
    assert "other settings" not in again.stdout

    # an [ingest] option that may change what a file gives (a parse's time limit) lists the files it parsed
    settings.write_text('[dedup]\nverdict = "rules"\n[ingest]\ntimeout_s = 30.0\n')
    listed = newslake("run", "--inbox", str(sample_inbox), env=learned_env)
    assert listed.returncode == 0 and "0 day(s) processed" in listed.stdout, listed.stderr[-3000:]
    assert "dedup: 4 day(s) written with other [dedup] settings" in listed.stdout, listed.stdout
    assert "sentences:" not in listed.stdout.split("other settings")[1]  # only the stage whose settings changed
    parsed = re.search(r"ingest: (\d+) file\(s\) parsed by \S+ with other \[ingest\] settings", listed.stdout)
    assert parsed and int(parsed[1]) >= 5, listed.stdout
    assert "newslake run --stale" in listed.stdout
    rules = newslake("run", "--inbox", str(sample_inbox), "--stale", env=learned_env)
    assert rules.returncode == 0, rules.stderr[-3000:]
    assert f"{parsed[1]} file(s) to parse again" in rules.stderr
    assert "4 day(s) processed" in rules.stdout and "other settings" not in rules.stdout, rules.stdout
    assert csv_rows(newslake("sql", "--format", "csv", query, env=learned_env).stdout) == learned
    # each version of the table records the settings that wrote it: two verdicts, two digests
    history = newslake("history", "duplicates", "--format", "csv", env=learned_env).stdout
    digests = {part for line in history.splitlines() for part in line.split() if part.startswith("settings_digest=")}
    assert len(digests) == 2, history

    settings.write_text('[dedup]\nverdict = "trees"\n')  # a typo is refused with its name, nothing is written
    bad = newslake("run", "--inbox", str(sample_inbox), env=learned_env)
    assert bad.returncode != 0 and "verdict" in (bad.stdout + bad.stderr)
