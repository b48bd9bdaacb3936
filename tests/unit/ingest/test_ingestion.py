"""Incremental ingestion against the `files` manifest: unchanged, renamed copies, changed files."""

from __future__ import annotations

import json
import shutil
from datetime import date

import polars as pl

from pipeline import ingest, storage
from pipeline.ingest import IngestConfig
from pipeline.schema import DOCUMENTS, FILES, REJECTS
from pipeline.storage import Lake

CFG = IngestConfig(workers=0)  # in-process parsing keeps these tests quick


def records(day: str, n: int, *, prefix: str = "r") -> str:
    return "\n".join(json.dumps({"id": f"{prefix}{i}", "title": f"Story {prefix}{i}", "date": f"{day}T10:00:00Z",
                                 "text": f"Paragraph {i} of a story about the harbour in Port Ellery and its bridge."})
                     for i in range(n)) + "\n"


def test_unchanged_renamed_and_changed_files(tmp_path):
    inbox, lake = tmp_path / "inbox", Lake(str(tmp_path / "lake"))
    inbox.mkdir()
    (inbox / "a.jsonl").write_text(records("2026-11-24", 3))
    (inbox / "b.jsonl").write_text(records("2026-11-25", 2, prefix="b"))
    first = ingest.run(inbox, lake, config=CFG)
    assert first.documents == 5 and first.touched_dates == {date(2026, 11, 24), date(2026, 11, 25)}

    versions = storage.table_versions(lake)
    shutil.copy(inbox / "a.jsonl", inbox / "a-copy.jsonl")
    second = ingest.run(inbox, lake, config=CFG)
    assert second.documents == 0 and second.files_duplicate == 1 and second.files_unchanged == 2
    assert storage.table_versions(lake)["documents"] == versions["documents"]
    files = storage.read(lake, FILES)
    assert files.filter(pl.col("path") == "a-copy.jsonl")["duplicate_of"].to_list() == ["a.jsonl"]

    # a.jsonl changes: one record dropped, the others move to another day
    (inbox / "a.jsonl").write_text(records("2026-11-26", 2))
    before_b = storage.read(lake, DOCUMENTS, dates=[date(2026, 11, 25)])
    third = ingest.run(inbox, lake, config=CFG)
    assert third.touched_dates == {date(2026, 11, 24), date(2026, 11, 26)}
    docs = storage.read(lake, DOCUMENTS)
    per_day = dict(docs.group_by("pub_date").len().iter_rows())
    # a-copy.jsonl still holds a's first bytes: it now owns their documents (issue 15: copies keep content)
    assert per_day == {date(2026, 11, 24): 3, date(2026, 11, 25): 2, date(2026, 11, 26): 2}
    assert set(docs.filter(pl.col("pub_date") == date(2026, 11, 24))["source_path"]) == {"a-copy.jsonl"}
    assert storage.read(lake, DOCUMENTS, dates=[date(2026, 11, 25)]).equals(before_b)
    assert ingest.unreconciled(storage.read(lake, FILES), docs, storage.read(lake, REJECTS)).height == 0


def test_reconciliation_catches_a_lost_record(tmp_path):
    inbox, lake = tmp_path / "inbox", Lake(str(tmp_path / "lake"))
    inbox.mkdir()
    (inbox / "a.jsonl").write_text(records("2026-11-24", 3) + "{not json\n")
    ingest.run(inbox, lake, config=CFG)
    files, docs, rejects = (storage.read(lake, t) for t in (FILES, DOCUMENTS, REJECTS))
    assert files["records"].to_list() == [4] and rejects.height == 1
    assert ingest.unreconciled(files, docs, rejects).height == 0
    lost = ingest.unreconciled(files, docs.head(2), rejects)
    assert lost.row(0, named=True) == {"path": "a.jsonl", "records": 4, "found_documents": 2, "found_rejects": 1}


def test_date_problems_flags_a_misfiled_or_future_document():
    docs = pl.DataFrame({
        "doc_id": ["ok", "misfiled", "future"],
        "pub_date": [date(2026, 11, 24), date(2026, 11, 24), date(2027, 1, 1)],
        "pub_datetime": ["2026-11-24T23:59:00+00:00", "2026-11-25T00:30:00+00:00", "2027-01-01T00:00:00+00:00"],
        "date_raw": [None] * 3, "source_path": ["x"] * 3,
    }).with_columns(pl.col("pub_datetime").str.to_datetime(time_zone="UTC"))
    bad = ingest.date_problems(docs, today=date(2026, 11, 28))
    assert sorted(bad["doc_id"]) == ["future", "misfiled"]


def test_files_parsed_by_older_code_are_found_and_parsed_again_once_asked(tmp_path):
    from pipeline.ingest.manifest import CODE_CHANGED, parsed_by_other_code

    inbox, lake = tmp_path / "inbox", Lake(str(tmp_path / "lake"))
    inbox.mkdir()
    (inbox / "a.jsonl").write_text(records("2026-11-24", 3))
    (inbox / "b.jsonl").write_text(records("2026-11-25", 2, prefix="b"))
    (inbox / "empty.jsonl").write_text("")
    (inbox / ".hidden").write_text("x")
    ingest.run(inbox, lake, config=CFG, run_id="old-run")
    shutil.copy(inbox / "a.jsonl", inbox / "a-copy.jsonl")
    (inbox / "b.jsonl").write_text(records("2026-11-25", 2, prefix="c"))
    ingest.run(inbox, lake, config=CFG, run_id="new-run")
    files = storage.read(lake, FILES)
    versions = {"old-run": "ingest-4", "new-run": "ingest-5"}
    old = parsed_by_other_code(files, versions=versions, current="ingest-5")
    # a and the empty file were parsed by the old code; the copy and the hidden entry are no parse of their own
    assert old["path"].to_list() == ["a.jsonl", "empty.jsonl"] and set(old["code_version"]) == {"ingest-4"}
    assert parsed_by_other_code(files, versions={"new-run": "ingest-5"}, current="ingest-5").height == 0

    before = storage.read(lake, DOCUMENTS).sort("doc_id")
    marked = old.select(FILES.column_names).with_columns(pl.lit(CODE_CHANGED).alias("reason"))
    storage.upsert(lake, FILES, marked)
    report = ingest.run(inbox, lake, config=CFG, run_id="stale-run")
    assert report.documents == 3 and report.files_new == 2 and report.files_unchanged == 3  # b, copy, hidden: not
    files = storage.read(lake, FILES).sort("path")
    assert files.filter(pl.col("path") == "a.jsonl").row(0, named=True)["retries"] == 0  # not a failure
    assert CODE_CHANGED not in set(files["reason"].drop_nulls())
    versions["stale-run"] = "ingest-5"
    assert parsed_by_other_code(files, versions=versions, current="ingest-5").height == 0
    assert storage.read(lake, DOCUMENTS).sort("doc_id").drop("ingested_at").equals(before.drop("ingested_at"))
