"""`newslake migrate`: a lake written by an older newslake (older column sets) is brought to the current schema.

The old lake is built with deltalake directly, each table holding the columns it had before issue 15
(``files`` without ``retries`` and ``decode_flags``, ``documents`` without ``decode_flags``), from rows the
current code ingested. Then the real commands run: ``newslake run`` refuses it naming ``newslake migrate``,
``migrate --dry-run`` changes nothing, ``migrate`` adds the columns (one commit per table), a second
``migrate`` finds nothing to do, and ``run`` and ``sql`` work with the old rows intact.
"""

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest
from deltalake import write_deltalake

from pipeline import storage
from pipeline.ingest import IngestConfig
from pipeline.ingest.runner import run as ingest
from pipeline.schema import DOCUMENTS, FILES, REJECTS
from pipeline.storage import Lake, read

PROJECT = Path(__file__).resolve().parents[2]
PARA = "The council met on Tuesday evening and debated the new budget for the harbour district at length."
OLD_COLUMNS = {"files": ["retries", "decode_flags"], "documents": ["decode_flags"]}


def _jsonl(tag: str, n: int) -> bytes:
    rows = [
        {"id": f"{tag}{i}", "title": f"{tag} story {i}", "text": f"{PARA} {tag} {i}.", "date": f"2024-03-0{1 + i % 3}"}
        for i in range(n)
    ]
    return "\n".join(json.dumps(r) for r in rows).encode() + b"\n"


def _newslake(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("DAGSTER_HOME", "NEWSLAKE_INGEST_CONFIG", "NEWSLAKE_LAKE")}
    return subprocess.run(
        [sys.executable, "-m", "newslake.cli", *args],
        cwd=PROJECT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def _old_lake(tmp_path: Path, inbox: Path) -> Lake:
    """Ingest with the current code into a scratch lake, then write each table with its old column set."""
    scratch = Lake(str(tmp_path / "scratch"))
    ingest(inbox, scratch, config=IngestConfig(workers=0, now=datetime(2025, 1, 1, tzinfo=UTC)))
    old = Lake(str(tmp_path / "lake"))
    for table in (FILES, DOCUMENTS, REJECTS):
        df = read(scratch, table).drop(OLD_COLUMNS.get(table.name, []))
        write_deltalake(old.uri(table), df.to_arrow(), partition_by=table.partition_by, mode="overwrite")
    return old


def _versions(lake: Lake) -> dict[str, int | None]:
    return {t: lake.version(t) for t in ("files", "documents", "rejects")}


@pytest.mark.slow
def test_old_lake_is_refused_by_run_then_migrated_and_usable(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "a.jsonl").write_bytes(_jsonl("alpha", 4))
    (inbox / "bad.jsonl").write_bytes(json.dumps({"id": "x", "title": "ok", "text": PARA}).encode() + b"\n{not json\n")
    lake = _old_lake(tmp_path, inbox)
    lake_dir, home = str(tmp_path / "lake"), str(tmp_path / "home")
    old_docs = read(lake, DOCUMENTS).sort("doc_id")
    assert "decode_flags" not in old_docs.columns and old_docs.height == 5
    before = _versions(lake)

    # run refuses the outdated lake before doing anything, and names the command
    p = _newslake(tmp_path, "run", "--inbox", str(inbox), "--lake", lake_dir, "--home", home, "--no-progress")
    assert p.returncode != 0
    assert "newslake migrate" in p.stderr and "decode_flags" in p.stderr, p.stderr[-2000:]
    assert _versions(lake) == before

    # --dry-run says what it would add and changes nothing
    p = _newslake(tmp_path, "migrate", "--lake", lake_dir, "--dry-run")
    assert p.returncode == 0, p.stderr
    assert "files: would add retries, decode_flags" in p.stdout and "documents: would add decode_flags" in p.stdout
    assert "rejects: would add" not in p.stdout  # its columns are current (only its comments are missing)
    assert _versions(lake) == before

    # migrate: one commit per outdated table, none for the current one
    p = _newslake(tmp_path, "migrate", "--lake", lake_dir)
    assert p.returncode == 0, p.stderr
    assert "files: added retries, decode_flags" in p.stdout and "documents: added decode_flags" in p.stdout
    after = _versions(lake)
    assert after["files"] > before["files"] and after["documents"] > before["documents"]
    for table in (FILES, DOCUMENTS, REJECTS):  # the column meanings are stored too (metadata-only commits)
        assert storage.schema_annotations_diff(lake, table)[0] == [], table.name
    migrated = read(lake, DOCUMENTS).sort("doc_id")
    assert migrated.drop("decode_flags").equals(old_docs.select(migrated.drop("decode_flags").columns))
    assert migrated["decode_flags"].null_count() == migrated.height  # NULL: decided before the column existed

    # idempotent
    p = _newslake(tmp_path, "migrate", "--lake", lake_dir)
    assert p.returncode == 0 and "nothing to do" in p.stdout, p.stdout + p.stderr
    assert _versions(lake) == after

    # run works: old rows intact, a new file's documents carry flags
    (inbox / "b.jsonl").write_bytes(_jsonl("beta", 2))
    p = _newslake(tmp_path, "run", "--inbox", str(inbox), "--lake", lake_dir, "--home", home, "--no-progress")
    assert p.returncode == 0, p.stderr[-3000:]
    docs = read(lake, DOCUMENTS)
    kept = docs.filter(pl.col("source_path") != "b.jsonl").sort("doc_id")
    assert kept.select(old_docs.columns).equals(old_docs)
    new = docs.filter(pl.col("source_path") == "b.jsonl")
    assert new.height == 2 and new["decode_flags"].to_list() == [[], []]

    # sql works on the migrated tables, the new column included
    p = _newslake(
        tmp_path,
        "sql",
        "--lake",
        lake_dir,
        "select count(*) as n, count(decode_flags) as flagged from documents",
        "--format",
        "csv",
    )
    assert p.returncode == 0, p.stderr[-2000:]
    assert p.stdout.strip().splitlines()[-1] == "7,2", p.stdout


STORY = (
    "The harbour board approved a plan on Monday to rebuild the northern breakwater after winter storms "
    "damaged two hundred metres of the old wall. Work will start in the spring and last eighteen months, "
    "the board said, and the ferry to Port Ellery will use the southern berth while the crews are at work. "
    "Fishermen asked for a temporary landing stage near the fish market; the board will decide next month."
)


def _stories(rows: list[tuple[str, str, str]]) -> bytes:
    return "".join(
        json.dumps({"id": i, "title": f"story {i}", "text": t, "date": d}) + "\n" for i, t, d in rows
    ).encode()


def _as_lists(col: pl.Series, dtype) -> pl.Series:
    """A packed column as the int64 lists newslake stored before dedup-12's packed signatures."""
    import numpy as np

    from pipeline.schema import unpack_le

    values, offs = unpack_le(col.to_arrow(), dtype)
    return pl.Series(
        col.name, [values[a:b].astype(np.int64).tolist() for a, b in zip(offs[:-1], offs[1:], strict=True)]
    )


@pytest.mark.slow
def test_list_signatures_are_converted_by_migrate_and_read_by_the_next_run(tmp_path):
    import numpy as np

    from pipeline.schema import DUPLICATES, SIGNATURES

    inbox, lake_dir, home = tmp_path / "inbox", str(tmp_path / "lake"), str(tmp_path / "home")
    inbox.mkdir()
    filler = [(f"f{i}", f"{PARA} Item {i} of the agenda was the {i}th and last.", "2024-03-01") for i in range(3)]
    (inbox / "a.jsonl").write_bytes(_stories([("orig", STORY, "2024-03-01"), *filler]))
    p = _newslake(tmp_path, "run", "--inbox", str(inbox), "--lake", lake_dir, "--home", home, "--no-progress")
    assert p.returncode == 0, p.stderr[-3000:]
    lake = Lake(lake_dir)
    current = read(lake, SIGNATURES).sort("doc_id")
    assert current.height == 4 and current["minhash"].bin.size().max() > 0

    # the signatures as an older newslake stored them: bands and minhash as int64 lists
    old = current.with_columns(_as_lists(current["bands"], np.int64), _as_lists(current["minhash"], np.uint32))
    assert old.schema["minhash"] == pl.List(pl.Int64)
    write_deltalake(
        lake.uri(SIGNATURES), old.to_arrow(), partition_by="pub_date", mode="overwrite", schema_mode="overwrite"
    )
    before = lake.version("signatures")
    assert storage.schema_annotations_diff(lake, SIGNATURES)[1] == ["doc_id"]

    p = _newslake(tmp_path, "run", "--inbox", str(inbox), "--lake", lake_dir, "--home", home, "--no-progress")
    assert p.returncode != 0
    assert "newslake migrate" in p.stderr and "signatures: stores bands, minhash in an older type" in p.stderr, p.stderr

    p = _newslake(tmp_path, "migrate", "--lake", lake_dir, "--dry-run")
    assert p.returncode == 0, p.stderr
    assert "signatures: would convert bands, minhash" in p.stdout, p.stdout
    assert lake.version("signatures") == before

    p = _newslake(tmp_path, "migrate", "--lake", lake_dir)
    assert p.returncode == 0, p.stderr
    assert "signatures: converted bands, minhash" in p.stdout, p.stdout
    assert lake.version("signatures") == before + 1  # one commit: rows, schema and comments together
    assert read(lake, SIGNATURES).sort("doc_id").equals(current)  # the same bytes the current code writes
    assert storage.schema_diff(lake, SIGNATURES) == ([], [], [])
    # the rewrite stores the declared schema: column comments, and doc_id NOT NULL again
    assert storage.schema_annotations_diff(lake, SIGNATURES) == ([], [])
    p = _newslake(tmp_path, "migrate", "--lake", lake_dir)
    assert p.returncode == 0 and "nothing to do" in p.stdout, p.stdout + p.stderr

    # the next run reads the converted rows in its dedup window: a later copy finds the old story
    (inbox / "b.jsonl").write_bytes(_stories([("copy", STORY.replace("Monday", "Tuesday"), "2024-03-04")]))
    p = _newslake(tmp_path, "run", "--inbox", str(inbox), "--lake", lake_dir, "--home", home, "--no-progress")
    assert p.returncode == 0, p.stderr[-3000:]
    ids = dict(read(lake, DOCUMENTS).select("title", "doc_id").iter_rows())
    copy = read(lake, DUPLICATES).filter(pl.col("doc_id") == ids["story copy"]).row(0, named=True)
    assert (copy["canonical_doc_id"], copy["method"]) == (ids["story orig"], "near"), copy
