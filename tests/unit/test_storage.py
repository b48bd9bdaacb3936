"""Delta writes replace exactly the named partitions, never more; predicates accept only real dates."""

from __future__ import annotations

import json
from datetime import date

import polars as pl
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline import storage
from pipeline.schema import REJECTS, SENTENCES
from pipeline.storage import Lake

D1, D2, D3 = date(1987, 2, 26), date(1987, 2, 27), date(2026, 11, 24)


def sentences(day: date, n: int, tag: str = "a") -> pl.DataFrame:
    return pl.DataFrame(
        {
            "doc_id": [f"{tag}-{day}-{i}" for i in range(n)], "pub_date": [day] * n, "sent_idx": list(range(n)),
            "start": [0] * n, "end": [3] * n, "text": [tag * 3] * n, "section": ["body"] * n,
            "sent_hash": [f"h{i}" for i in range(n)],
        },
        schema=SENTENCES.schema,
    )


def add_actions(lake: Lake, table) -> pl.DataFrame:
    actions = pl.from_arrow(pa.table(lake.open(table).get_add_actions(flatten=True)))
    return actions.select("path", "partition.pub_date").sort("path")


def test_overwriting_one_day_leaves_other_days_untouched(lake_dir):
    lake = Lake(str(lake_dir))
    storage.write_partitions(lake, SENTENCES, pl.concat([sentences(D1, 3), sentences(D2, 2), sentences(D3, 4)]),
                             dates=[D1, D2, D3], run_id="run-1")
    before = add_actions(lake, SENTENCES).filter(pl.col("partition.pub_date").cast(pl.String) != str(D2))

    for attempt in range(3):  # a retried run must not duplicate anything
        storage.write_partitions(lake, SENTENCES, sentences(D2, 5, tag="b"), dates=[D2], run_id=f"run-2-{attempt}")

    after = add_actions(lake, SENTENCES).filter(pl.col("partition.pub_date").cast(pl.String) != str(D2))
    assert before.equals(after), "files of other partitions changed"
    counts = dict(storage.read(lake, SENTENCES).group_by("pub_date").len().iter_rows())
    assert counts == {D1: 3, D2: 5, D3: 4}
    assert set(storage.read(lake, SENTENCES, dates=[D2])["text"]) == {"bbb"}


def test_empty_frame_clears_its_partition_only(lake_dir):
    lake = Lake(str(lake_dir))
    storage.write_partitions(lake, SENTENCES, pl.concat([sentences(D1, 2), sentences(D2, 2)]), dates=[D1, D2])
    storage.write_partitions(lake, SENTENCES, SENTENCES.empty(), dates=[D1])
    assert storage.read(lake, SENTENCES)["pub_date"].to_list() == [D2, D2]
    assert storage.partition_dates(lake, SENTENCES) == [D2]


def test_rows_outside_the_named_partitions_are_refused(lake_dir):
    lake = Lake(str(lake_dir))
    storage.write_partitions(lake, SENTENCES, sentences(D1, 1), dates=[D1])
    with pytest.raises(ValueError, match="outside"):
        storage.write_partitions(lake, SENTENCES, sentences(D2, 1), dates=[D1])
    assert storage.read(lake, SENTENCES).height == 1


def test_commit_metadata_records_run_and_code_version(lake_dir):
    lake = Lake(str(lake_dir))
    storage.write_partitions(lake, SENTENCES, sentences(D1, 1), dates=[D1], run_id="abc", code_version="seg-9")
    last = lake.open(SENTENCES).history(1)[0]
    assert last["newslake.run_id"] == "abc" and last["newslake.code_version"] == "seg-9"


def test_time_travel_reads_an_earlier_version(lake_dir):
    lake = Lake(str(lake_dir))
    v0 = storage.write_partitions(lake, SENTENCES, sentences(D1, 2), dates=[D1])
    storage.write_partitions(lake, SENTENCES, sentences(D1, 7, tag="z"), dates=[D1])
    assert storage.read(lake, SENTENCES, version=v0).height == 2
    assert storage.read(lake, SENTENCES).height == 7


def test_upsert_is_idempotent_and_null_keys_match(lake_dir):
    lake = Lake(str(lake_dir))
    rows = pl.DataFrame(
        {"source_path": ["a.html", "b.jsonl"], "source_sha256": ["1", "2"], "record_key": [None, "7"],
         "stage": ["ingest", "ingest"], "reason": ["empty_file", "bad_json"], "detail": ["", ""],
         "rejected_at": [None, None], "run_id": ["r", "r"]},
        schema=REJECTS.schema,
    )
    for _ in range(3):
        storage.upsert(lake, REJECTS, rows)
    assert storage.read(lake, REJECTS).height == 2
    v = lake.version(REJECTS)
    assert storage.upsert(lake, REJECTS, REJECTS.empty()) == v, "an empty upsert must not commit"


def test_tables_checkpoint_their_log_every_ten_commits_and_read_the_same_from_it(lake_dir, tmp_path):
    """Opening a table reads its newest checkpoint and the commits after it, not every commit since version 0."""
    import shutil
    from pathlib import Path

    lake = Lake(str(lake_dir))
    for i in range(12):  # version 0 creates the table; each write is one commit
        storage.write_partitions(lake, SENTENCES, sentences(D1, i + 1, tag=f"t{i}"), dates=[D1], run_id=f"r{i}")
    for i in range(6):  # a MERGE and its normalising commit each
        storage.upsert(lake, REJECTS, pl.DataFrame(
            {"source_path": [f"{i}.html"], "source_sha256": ["1"], "record_key": [None], "stage": ["ingest"],
             "reason": ["empty_file"], "detail": [""], "rejected_at": [None], "run_id": ["r"]},
            schema=REJECTS.schema))  # fmt: skip
    for table, version in ((SENTENCES, 12), (REJECTS, 12)):
        log = Path(lake.uri(table)) / "_delta_log"
        assert lake.version(table) == version
        assert sorted(p.name for p in log.glob("*.checkpoint.parquet")) == [f"{9:020d}.checkpoint.parquet"], table
        assert json.loads((log / "_last_checkpoint").read_text())["version"] == 9
    expected = {t: storage.read(lake, t) for t in (SENTENCES, REJECTS)}
    assert expected[SENTENCES]["text"].to_list() == ["t11t11t11"] * 12 and expected[REJECTS].height == 6
    # the checkpoint alone holds versions 0..9: a copy without those commits reads the same rows
    copy = Lake(str(tmp_path / "copy"))
    shutil.copytree(lake.root, copy.root)
    for table in (SENTENCES, REJECTS):
        for v in range(10):
            (Path(copy.uri(table)) / "_delta_log" / f"{v:020d}.json").unlink()
        assert storage.read(copy, table).sort(table.column_names).equals(expected[table].sort(table.column_names))
    # time travel to before the checkpoint still replays the commits
    assert storage.read(lake, SENTENCES, version=5)["text"].to_list() == ["t4t4t4"] * 5


@pytest.mark.parametrize("good", ["1987-02-26", "2026-11-28", date(2000, 1, 1)])
def test_validate_date_accepts_dates(good):
    assert isinstance(storage.validate_date(good), date)


@given(st.text(max_size=40))
@settings(max_examples=300, deadline=None)
def test_predicates_refuse_anything_but_a_date(hostile):
    try:
        day = storage.validate_date(hostile)
    except ValueError:
        with pytest.raises(ValueError):
            storage.partition_predicate([hostile])
        return
    assert hostile == day.isoformat()
    assert storage.partition_predicate([hostile]) == f"pub_date IN ('{hostile}')"


@pytest.mark.parametrize("hostile", ["2024-01-01' OR 1=1 --", "2024-01-01 OR pub_date IS NOT NULL", "2024-13-45",
                                     "x = 'b' OR 1=1", "２０２４-01-01"])
def test_known_injection_strings_are_refused(hostile):
    with pytest.raises(ValueError):
        storage.partition_predicate([hostile])


def test_ranged_reads_list_only_their_partitions_and_see_new_commits(lake_dir):
    lake = Lake(str(lake_dir))
    storage.write_partitions(lake, SENTENCES, pl.concat([sentences(D1, 3), sentences(D2, 2), sentences(D3, 4)]),
                             dates=[D1, D2, D3])
    lf = storage.scan(lake, SENTENCES, between=(D2, D3))
    assert dict(lf.collect().group_by("pub_date").len().iter_rows()) == {D2: 2, D3: 4}
    assert storage.scan(lake, SENTENCES, between=(None, D1)).collect().height == 3
    assert storage.read(lake, SENTENCES, dates=[]).height == 0  # no day named: no rows, not the whole table
    assert storage.read(lake, SENTENCES, between=(D1, D2)).height == 5
    # the opened table is cached; a commit (here: another writer object) must be seen by the next read
    storage.write_partitions(lake, SENTENCES, sentences(D1, 7, tag="c"), dates=[D1])
    assert storage.read(lake, SENTENCES, dates=[D1]).height == 7
    rows = dict(storage.partition_rows(lake, SENTENCES).iter_rows())
    assert rows == {D1: 7, D2: 2, D3: 4}


def test_a_scan_refuses_a_symlinked_data_file_and_matches_a_read(lake_dir, tmp_path):
    """The lazy scan (the dedup window) reads this version's files with polars' Delta reader: the same rows
    and types as an eager read, and a data file replaced by a symlink to a file outside the table is
    refused, as the eager read refuses it."""
    lake = Lake(str(lake_dir))
    storage.write_partitions(lake, SENTENCES, pl.concat([sentences(D1, 3), sentences(D2, 2)]), dates=[D1, D2])
    scanned = storage.scan(lake, SENTENCES, between=(D1, D2)).collect().sort("doc_id")
    assert scanned.equals(storage.read(lake, SENTENCES, between=(D1, D2)).sort("doc_id"))
    assert scanned.schema == SENTENCES.schema
    target = lake_dir / "sentences" / lake.open(SENTENCES).file_uris()[0].split("/sentences/", 1)[1]
    outside = tmp_path / "outside.parquet"
    target.rename(outside)
    target.symlink_to(outside)
    lake = Lake(str(lake_dir))
    with pytest.raises(PermissionError, match="symlink"):
        storage.scan(lake, SENTENCES, between=(D1, D2))
    with pytest.raises(PermissionError, match="symlink"):
        storage.read(lake, SENTENCES, between=(D1, D2))
