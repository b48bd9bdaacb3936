"""`newslake doctor`: damage is found per table and day, repaired, and what it held is ingested again (issue 15).

Also: a corrupt or tampered table never blocks SQL on the others, every error names the table and file, and a
data file symlinked from inside the lake to a Parquet file outside it is never read.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from pipeline import doctor, ingest, sql, storage
from pipeline.ingest import IngestConfig
from pipeline.schema import DOCUMENTS, FILES, REJECTS
from pipeline.storage import Lake

PROJECT = Path(__file__).resolve().parents[2]
CFG = IngestConfig(workers=0)
DAYS = ("2026-11-24", "2026-11-25")


def write_inbox(inbox: Path) -> Path:
    inbox.mkdir(parents=True)
    for i, day in enumerate(DAYS):
        rows = [
            {
                "id": f"{day}-{k}",
                "title": f"Story {day} {k}",
                "date": f"{day}T10:00:00Z",
                "text": f"Paragraph {k} about the harbour in Port Ellery.",
            }
            for k in range(3)
        ]
        (inbox / f"f{i}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows) + "{broken\n")
    return inbox


def make_lake(tmp_path: Path) -> tuple[Path, Lake]:
    inbox = write_inbox(tmp_path / "inbox")
    lake = Lake(str(tmp_path / "lake"))
    ingest.run(inbox, lake, config=CFG)
    return inbox, lake


def data_file(lake: Lake, table, day: str) -> Path:
    f = next(f for f in doctor.data_files(lake.open(table)) if f"pub_date={day}" in f)
    return Path(lake.uri(table)) / f


def connect_with_warnings(lake: Lake):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        con = sql.connect(lake)
    return con, [str(w.message) for w in caught]


def test_missing_file_is_reported_repaired_and_reingested(tmp_path):
    inbox, lake = make_lake(tmp_path)
    before = storage.read(lake, DOCUMENTS).sort("doc_id")
    lost = data_file(lake, DOCUMENTS, DAYS[0])
    lost.unlink()

    damage = doctor.check(lake)
    assert [(d.table, d.kind, d.day) for d in damage] == [("documents", "missing_file", DAYS[0])]
    assert lost.name in damage[0].file

    con, warned = connect_with_warnings(lake)  # SQL on the other tables still works
    assert con.execute("SELECT count(*) FROM files").fetchone()[0] == 2
    assert any("documents" in w and lost.name in w for w in warned), warned

    rep = doctor.repair(lake)
    assert rep.removed == {"documents": 1}
    assert rep.reingest_paths == ["f0.jsonl"]
    assert rep.reprocess_days == [DAYS[0]]
    assert doctor.check(lake) == []
    assert storage.read(lake, DOCUMENTS).height == before.height - 3

    ingest.run(inbox, lake, config=CFG)  # the next run parses the scheduled file again
    after = storage.read(lake, DOCUMENTS).sort("doc_id")
    assert after.select("doc_id", "text").equals(before.select("doc_id", "text"))
    files = storage.read(lake, FILES).sort("path")
    assert files["status"].to_list() == ["partial", "partial"]
    assert ingest.unreconciled(files, after, storage.read(lake, REJECTS)).height == 0


def test_corrupt_log_line_blocks_only_its_table_and_is_named(tmp_path):
    _, lake = make_lake(tmp_path)
    log = sorted((Path(lake.uri("rejects")) / "_delta_log").glob("*.json"))[-1]
    with open(log, "a") as fh:
        fh.write('{"add": {"path": "x.parquet", "size": \n')
    storage._OPEN_CACHE.clear()  # as a new process (`newslake sql`) would see it: the cache keys on the folder
    con, warned = connect_with_warnings(lake)
    assert con.execute("SELECT count(*) FROM documents").fetchone()[0] == 6
    assert any("rejects" in w for w in warned), warned
    damage = doctor.check(lake)
    assert [(d.table, d.kind, d.file) for d in damage] == [("rejects", "unreadable_log", f"_delta_log/{log.name}")]
    rep = doctor.repair(lake)
    assert rep.unrepaired and rep.unrepaired[0].table == "rejects"


def test_symlinked_data_file_is_never_read_and_repair_removes_it(tmp_path):
    inbox, lake = make_lake(tmp_path)
    target = data_file(lake, DOCUMENTS, DAYS[1])
    outside = tmp_path / "outside.parquet"
    secret = storage.read(lake, DOCUMENTS, dates=[date.fromisoformat(DAYS[1])]).with_columns(
        pl.lit("SECRET").alias("title")
    )
    secret.write_parquet(outside)
    target.unlink()
    os.symlink(outside, target)

    con, warned = connect_with_warnings(lake)
    assert "documents" not in sql.views(con)
    assert any("documents" in w and "symlink" in w for w in warned), warned
    assert [(d.kind, d.day) for d in doctor.check(lake)] == [("symlinked_file", DAYS[1])]
    with pytest.raises(PermissionError, match="documents"):  # the library refuses it too
        storage.read(lake, DOCUMENTS)

    rep = doctor.repair(lake)
    assert rep.removed == {"documents": 1} and rep.reingest_paths == ["f1.jsonl"]
    assert outside.exists() and not target.is_symlink()
    ingest.run(inbox, lake, config=CFG)
    con = sql.connect(lake)
    assert con.execute("SELECT count(*) FROM documents WHERE title = 'SECRET'").fetchone()[0] == 0
    assert con.execute("SELECT count(*) FROM documents").fetchone()[0] == 6


def _cli(*args, tmp_path: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("DAGSTER_HOME", "NEWSLAKE_INGEST_CONFIG")}
    return subprocess.run(
        [sys.executable, "-m", "newslake.cli", *args, "--home", str(tmp_path / "home")],
        cwd=PROJECT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )


@pytest.mark.slow
def test_newslake_doctor_repair_round_trip(tmp_path):
    inbox = write_inbox(tmp_path / "inbox")
    lake_dir = tmp_path / "lake"
    run = _cli("run", "--inbox", str(inbox), "--lake", str(lake_dir), "--no-progress", tmp_path=tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    lake = Lake(str(lake_dir))
    n = storage.read(lake, DOCUMENTS).height
    lost = data_file(lake, DOCUMENTS, DAYS[0])
    lost.unlink()

    check = _cli("doctor", "--lake", str(lake_dir), tmp_path=tmp_path)
    assert check.returncode == 1
    assert "documents" in check.stdout and lost.name in check.stdout and DAYS[0] in check.stdout
    fix = _cli("doctor", "--repair", "--lake", str(lake_dir), tmp_path=tmp_path)
    assert fix.returncode == 0, fix.stderr
    assert "f0.jsonl" in fix.stdout
    run = _cli("run", "--inbox", str(inbox), "--lake", str(lake_dir), "--no-progress", tmp_path=tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    assert storage.read(lake, DOCUMENTS).height == n
    assert _cli("doctor", "--lake", str(lake_dir), tmp_path=tmp_path).returncode == 0
