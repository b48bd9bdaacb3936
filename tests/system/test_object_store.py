"""The same code on object storage: a local S3-compatible server (moto) on 127.0.0.1, two writers at once."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks._s3 import local_s3

PROJECT = Path(__file__).resolve().parents[2]


@pytest.fixture
def s3_env(tmp_path):
    with local_s3("lake") as s3:
        yield {**os.environ, **s3, "NEWSLAKE_LAKE": "s3://lake/newslake"}


def newslake(*args, env, home):
    return subprocess.Popen(
        [sys.executable, "-m", "newslake.cli", *args, "--home", str(home), "--no-progress"],
        env={**env, "DAGSTER_HOME": str(home)},
        cwd=PROJECT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.slow
def test_pipeline_on_s3_with_two_processes_writing_at_once(s3_env, sample_inbox, tmp_path, monkeypatch):
    first = newslake("run", "--inbox", str(sample_inbox), "--date", "2026-11-24", env=s3_env, home=tmp_path / "h0")
    out, err = first.communicate(timeout=600)
    assert first.returncode == 0, err[-3000:]

    # two processes materialize different partitions of the same tables at the same time
    procs = [
        newslake("run", "--skip-ingest", "--date", day, env=s3_env, home=tmp_path / f"h{i}")
        for i, day in enumerate(("2026-11-25", "2026-11-26"), start=1)
    ]
    for p in procs:
        out, err = p.communicate(timeout=600)
        assert p.returncode == 0, err[-3000:]

    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION", "AWS_ENDPOINT_URL", "AWS_ALLOW_HTTP"):
        monkeypatch.setenv(key, s3_env[key])
    from pipeline import sql
    from pipeline.storage import Lake

    con = sql.connect(Lake(s3_env["NEWSLAKE_LAKE"]))
    q = lambda s: con.execute(s).fetchall()  # noqa: E731
    assert q("SELECT pub_date::VARCHAR, count(*) FROM documents WHERE pub_date IS NOT NULL GROUP BY 1 ORDER BY 1") == [
        ("2026-11-24", 3),
        ("2026-11-25", 2),
        ("2026-11-26", 7),
    ]
    # every dated document has its dedup row, every canonical one its sentences, every day its entities
    assert q("SELECT count(*) FROM documents d ANTI JOIN duplicates u USING (doc_id) WHERE d.pub_date IS NOT NULL") == [
        (0,)
    ]
    assert q("SELECT count(*) FROM duplicates u ANTI JOIN sentences s USING (doc_id) WHERE u.is_canonical") == [(0,)]
    assert q("SELECT count(DISTINCT pub_date) FROM entity_daily") == [(3,)]
    assert q(
        "SELECT count(*) FROM sentences s JOIN documents d USING (doc_id) "
        'WHERE substr(d.text, s.start + 1, s."end" - s.start) <> s.text'
    ) == [(0,)]
