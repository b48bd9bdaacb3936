"""`newslake export` of a release: plain files that round-trip, a datasheet, a manifest, every format."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest
from services_support import newslake, ok

PROJECT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def released(tmp_path_factory):
    """A lake from the sample inbox with release `r1` (built once for this module)."""
    import shutil

    tmp = tmp_path_factory.mktemp("export")
    inbox = tmp / "inbox"
    shutil.copytree(PROJECT / "data" / "inbox", inbox)
    env = {**os.environ, "DAGSTER_HOME": str(tmp / "home"), "NEWSLAKE_LAKE": str(tmp / "lake")}
    ok(newslake("run", "--inbox", str(inbox), env=env))
    ok(newslake("release", "create", "r1", "--note", "export test", env=env))
    return tmp, env


@pytest.mark.slow
def test_parquet_export_round_trips_and_the_datasheet_says_what_it_holds(released):
    import polars as pl
    import pyarrow.parquet as pq

    from pipeline import export, releases
    from pipeline.schema import DATA_TABLES, TABLES
    from pipeline.storage import Lake

    tmp, env = released
    out = tmp / "parquet"
    ok(newslake("export", "--release", "r1", "--to", str(out), env=env))
    manifest = json.loads((out / "manifest.json").read_text())
    rel = {r["table_name"]: r for r in releases.get(Lake(env["NEWSLAKE_LAKE"]), "r1").iter_rows(named=True)}
    for t in DATA_TABLES:
        entry = manifest["tables"][t.name]
        path = out / entry["file"]
        assert hashlib.sha256(path.read_bytes()).hexdigest() == entry["sha256"]
        back = pl.read_parquet(path)
        # same rows as the release, by the same content digest
        assert releases.frame_digest(t, back) == (rel[t.name]["rows"], rel[t.name]["content_sha256"])
        assert back.height == entry["rows"]
        meta = pq.ParquetFile(path).metadata
        if meta.num_row_groups:
            assert meta.row_group(0).column(0).compression == "ZSTD"
        assert [c["name"] for c in entry["columns"]] == t.column_names
        if t.partition_by and back.height:
            dates = back["pub_date"].to_list()
            assert dates == sorted(dates, key=lambda d: (d is not None, d))  # sorted by pub_date, undated first
    assert ok(newslake("export", "--verify", str(out), env=env)).startswith("export verified")
    sheet = (out / "DATASHEET.md").read_text()
    documents = manifest["tables"]["documents"]
    assert documents["rows_per_day"] == {"undated": 1, "2026-11-24": 3, "2026-11-25": 2, "2026-11-26": 7}
    assert manifest["duplicates_removed"]["total"] == 1
    assert manifest["rejects_by_reason"] == {"malformed_json": 1}
    files = export.read_back(out, "files", "parquet")
    assert {(s["path"], s["sha256"]) for s in manifest["sources"]} == set(files.select("path", "sha256").iter_rows())
    assert manifest["provenance"]["code"]["package_version"] and manifest["provenance"]["models"]
    for needle in (
        "malformed_json",
        "2026-11-26 7",
        documents["sha256"],
        TABLES["documents"].columns[0].doc,
        manifest["sources"][0]["sha256"],
        "duplicates",
        manifest["provenance"]["models"][0],
        "package version",
    ):
        assert needle in sheet, needle
    # tampering is found
    (out / "rejects.parquet").write_bytes(b"not parquet")
    bad = newslake("export", "--verify", str(out), env=env)
    assert bad.returncode == 1 and "rejects.parquet" in bad.stdout
    # an export never mixes with older files
    again = newslake("export", "--release", "r1", "--to", str(out), env=env)
    assert again.returncode == 2 and "not empty" in again.stderr


@pytest.mark.slow
def test_csv_of_every_table_and_jsonl_round_trip(released):
    import csv

    import polars as pl

    from pipeline import export, releases
    from pipeline.schema import DATA_TABLES

    tmp, env = released
    out = tmp / "csv"
    ok(newslake("export", "--release", "r1", "--to", str(out), "--format", "csv", env=env))
    manifest = json.loads((out / "manifest.json").read_text())
    for t in DATA_TABLES:
        with open(out / f"{t.name}.csv", newline="") as f:
            rows = list(csv.DictReader(f))
        assert len(rows) == manifest["tables"][t.name]["rows"]
        for c, dtype in t.schema.items():
            if dtype.is_nested():
                for r in rows:
                    if r[c]:
                        assert isinstance(json.loads(r[c]), list)  # list columns are readable JSON
    # the same through `newslake sql --format csv` (list columns included), for every table
    for t in DATA_TABLES:
        got = newslake("sql", "--release", "r1", "--format", "csv", f'SELECT * FROM "{t.name}"', env=env)
        assert got.returncode == 0, got.stderr[-2000:]
        assert len(list(csv.reader(got.stdout.splitlines()))) == manifest["tables"][t.name]["rows"] + 1
    jl = tmp / "jsonl"
    ok(
        newslake(
            "export",
            "--release",
            "r1",
            "--to",
            str(jl),
            "--format",
            "jsonl",
            "--tables",
            "documents",
            "entities",
            env=env,
        )
    )
    assert sorted(p.name for p in jl.iterdir()) == [
        "DATASHEET.md",
        "documents.jsonl",
        "entities.jsonl",
        "manifest.json",
    ]
    assert export.verify(jl) == []
    docs = export.read_back(jl, "documents", "jsonl")
    assert isinstance(docs, pl.DataFrame) and docs.height == 13
    assert (
        releases.frame_digest(DATA_TABLES[1], docs)[1]
        == json.loads((jl / "manifest.json").read_text())["tables"]["documents"]["content_sha256"]
    )


def _view_typed(t) -> bool:
    import pyarrow as pa

    if pa.types.is_string_view(t) or pa.types.is_binary_view(t):
        return True
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return _view_typed(t.value_type)
    return pa.types.is_struct(t) and any(_view_typed(t.field(i).type) for i in range(t.num_fields))


@pytest.mark.slow
def test_every_table_is_zstd_plain_typed_and_readable_by_common_readers(released):
    """Uniform files as `newslake run` writes them (before any maintenance): zstd, no string_view/binary_view in
    any file's Arrow schema (MERGE-written `files`, `rejects`, `entity_cache` included), column comments and NOT
    NULL keys in the Delta schema; pyarrow, polars and pandas read every table, before and after maintenance."""
    import pandas
    import polars as pl
    import pyarrow.parquet as pq
    from deltalake import DeltaTable

    from pipeline import maintenance, releases
    from pipeline.schema import NOT_NULL, TABLES
    from pipeline.storage import Lake

    tmp, env = released
    lake = Lake(env["NEWSLAKE_LAKE"])
    present = [n for n in TABLES if lake.open(n) is not None]
    assert {"documents", "files", "rejects", "entities", "releases"} <= set(present)
    assert {"files", "rejects", "entity_cache"} <= set(present)  # the MERGE-written tables are checked too
    for name in present:
        for uri in lake.open(name).file_uris():
            meta = pq.ParquetFile(uri.removeprefix("file://")).metadata
            codecs = {
                meta.row_group(i).column(j).compression
                for i in range(meta.num_row_groups)
                for j in range(meta.num_columns)
            }
            assert codecs <= {"ZSTD"}, (name, uri, codecs)
            schema = pq.read_schema(uri.removeprefix("file://"))
            assert not [f.name for f in schema if _view_typed(f.type)], (name, uri, schema)
        fields = {f.name: f for f in DeltaTable(lake.uri(name)).schema().fields}
        for c in TABLES[name].columns:
            assert fields[c.name].metadata.get("comment") == c.doc, (name, c.name)
            assert fields[c.name].nullable is (c.name not in NOT_NULL[name]), (name, c.name)

    def read_everywhere():
        for name in present:
            dt = DeltaTable(lake.uri(name))
            rows = dt.to_pyarrow_table().num_rows
            assert pl.read_delta(lake.uri(name)).height == rows, name
            frame = dt.to_pandas()
            assert isinstance(frame, pandas.DataFrame) and len(frame) == rows, name
            assert list(frame.columns) == TABLES[name].column_names, name
            # pandas on the current files themselves (no Delta reader): same row count
            files = [u.removeprefix("file://") for u in dt.file_uris()]
            assert sum(len(pandas.read_parquet(f)) for f in files) == rows, name

    read_everywhere()
    maintenance.maintain(lake, config=maintenance.MaintenanceConfig(retention_hours=0))
    for name in present:
        for uri in DeltaTable(lake.uri(name)).file_uris():
            schema = pq.read_schema(uri.removeprefix("file://"))
            assert not [f.name for f in schema if _view_typed(f.type)], (name, schema)
    read_everywhere()
    # the release still reads as created after maintenance with retention 0
    for r in releases.get(lake, "r1").iter_rows(named=True):
        assert releases.content_digest(lake, TABLES[r["table_name"]], r["version"]) == (r["rows"], r["content_sha256"])


@pytest.mark.slow
def test_duckdb_delta_extension_reads_every_table_when_installable_offline(released):
    import duckdb

    from pipeline.schema import TABLES
    from pipeline.storage import Lake

    con = duckdb.connect()
    try:
        con.execute("SET autoinstall_known_extensions = false")
        con.execute("LOAD delta")
    except duckdb.Error as exc:
        # The only PyPI package shipping it, duckdb-ext-delta (1.4.4.20260205), is built for DuckDB 1.4.4 and
        # refused by the DuckDB 2.x installed here ("built specifically for DuckDB version 'v1.4.4'").
        pytest.skip(
            "DuckDB's delta extension is not installed and cannot be fetched offline (the PyPI package "
            f"duckdb-ext-delta is built for DuckDB 1.4.4, not {duckdb.__version__}): {exc}"
        )
    tmp, env = released
    lake = Lake(env["NEWSLAKE_LAKE"])
    for name in TABLES:
        dt = lake.open(name)
        if dt is not None:
            n = con.execute("SELECT count(*) FROM delta_scan(?)", [lake.uri(name)]).fetchone()[0]
            assert n == dt.to_pyarrow_table().num_rows, name
