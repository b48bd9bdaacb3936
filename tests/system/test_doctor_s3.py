"""`newslake doctor` on a lake in an object store (a local S3 server, moto): missing data files are found per table
and day, `--repair` drops them from the log and the next ingestion restores what they held (issue 15).

The S3 server runs in its own process: deltalake's FSCK (which the check and the repair use) holds the GIL
while it waits for the store, so a server in a thread of the test process would never answer.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("moto.server")
boto3 = pytest.importorskip("boto3")

PROJECT = Path(__file__).resolve().parents[2]
CREDS = {"AWS_ACCESS_KEY_ID": "newslake", "AWS_SECRET_ACCESS_KEY": "newslake", "AWS_REGION": "us-east-1"}
DAYS = ("2026-11-24", "2026-11-25")
ROOT = "s3://lake/newslake"


@pytest.fixture
def s3(monkeypatch):
    # The server binds a port the kernel picks and prints it once it listens (no port chosen here and bound
    # later, which a test running at the same time in another process could take in between).
    code = (
        "import time; from moto.server import ThreadedMotoServer as S; "
        "s = S(ip_address='127.0.0.1', port=0, verbose=False); s.start(); "
        "print(s.get_host_and_port()[1], flush=True); time.sleep(3600)"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert proc.stdout is not None
        port = proc.stdout.readline().strip()
        assert port.isdigit(), f"the S3 server did not start (exit code {proc.poll()})"
        endpoint = f"http://127.0.0.1:{port}"
        client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", **_boto(CREDS))
        client.create_bucket(Bucket="lake")
        env = {**CREDS, "AWS_ENDPOINT_URL": endpoint, "AWS_ALLOW_HTTP": "true"}
        for k, v in env.items():
            monkeypatch.setenv(k, v)
        yield client, {**os.environ, **env}
    finally:
        proc.kill()
        proc.wait(10)


def _boto(creds: dict[str, str]) -> dict[str, str]:
    return {"aws_access_key_id": creds["AWS_ACCESS_KEY_ID"], "aws_secret_access_key": creds["AWS_SECRET_ACCESS_KEY"]}


def _inbox(path: Path) -> Path:
    path.mkdir()
    for i, day in enumerate(DAYS):
        rows = [
            {"id": f"{day}-{k}", "title": f"Story {day} {k}", "date": f"{day}T10:00:00Z", "text": f"Harbour {k}."}
            for k in range(3)
        ]
        (path / f"f{i}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _doctor(env, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "newslake.cli", "doctor", "--lake", ROOT, *args],
        cwd=PROJECT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.slow
def test_doctor_finds_and_repairs_missing_files_on_s3(s3, tmp_path):
    from pipeline import doctor, ingest, storage
    from pipeline.ingest import IngestConfig
    from pipeline.schema import DOCUMENTS
    from pipeline.storage import Lake

    client, env = s3
    inbox, lake = _inbox(tmp_path / "inbox"), Lake(ROOT)
    ingest.run(inbox, lake, config=IngestConfig(workers=0))
    before = storage.read(lake, DOCUMENTS).sort("doc_id")
    assert before.height == 6
    healthy = _doctor(env)
    assert healthy.returncode == 0 and "healthy" in healthy.stdout, healthy.stdout + healthy.stderr

    lost = next(f for f in doctor.data_files(lake.open(DOCUMENTS)) if f"pub_date={DAYS[0]}" in f)
    client.delete_object(Bucket="lake", Key=f"newslake/documents/{lost}")

    damage = doctor.check(lake)
    assert [(d.table, d.kind, d.day, d.file) for d in damage] == [("documents", "missing_file", DAYS[0], lost)]
    report = _doctor(env)
    assert report.returncode == 1
    assert f"documents: 1 problem(s) on day(s) {DAYS[0]}" in report.stdout
    assert f"missing_file: documents/{lost} [{DAYS[0]}]" in report.stdout, report.stdout

    repaired = _doctor(env, "--repair")
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    assert "repaired documents: 1 file(s) dropped from the log" in repaired.stdout
    assert "f0.jsonl" in repaired.stdout and f"--date {DAYS[0]}" in repaired.stdout
    assert doctor.check(lake) == []
    assert storage.read(lake, DOCUMENTS).height == 3  # the log no longer lists the lost file

    ingest.run(inbox, lake, config=IngestConfig(workers=0))  # the next run parses f0.jsonl again
    after = storage.read(lake, DOCUMENTS).sort("doc_id")
    assert after.select("doc_id", "title", "pub_date").equals(before.select("doc_id", "title", "pub_date"))
    assert _doctor(env).returncode == 0
