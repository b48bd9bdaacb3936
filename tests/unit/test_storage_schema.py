"""Stored tables describe themselves (column comments, NOT NULL keys) and hold no view-typed Parquet columns."""

from __future__ import annotations

from datetime import UTC, date, datetime

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from deltalake import DeltaTable, write_deltalake

from pipeline import maintenance, storage
from pipeline.errors import NewslakeError
from pipeline.schema import ENTITY_CACHE, FILES, NOT_NULL, REJECTS, SENTENCES, TABLES, delta_schema
from pipeline.storage import Lake

DAY = date(2026, 11, 24)


def cache_rows(keys: list[str], model: str = "m1") -> pl.DataFrame:
    ents = [[{"start": 0, "end": 3, "label": "ORG", "score": 0.9}] if i % 2 else [] for i in range(len(keys))]
    return pl.DataFrame({"sent_hash": keys, "model": [model] * len(keys), "ents": ents}, schema=ENTITY_CACHE.schema)


def file_rows(paths: list[str], status: str = "ok") -> pl.DataFrame:
    n = len(paths)
    return pl.DataFrame(
        {
            "path": paths, "sha256": [f"s{p}" for p in paths], "size": [10] * n, "format": ["html"] * n,
            "compression": ["none"] * n, "status": [status] * n, "reason": [None] * n, "records": [1] * n,
            "documents": [1] * n, "rejected": [0] * n, "duplicate_of": [None] * n,
            "ingested_at": [datetime(2026, 11, 24, 12, 0, 0, 123456, tzinfo=UTC)] * n, "run_id": ["r"] * n,
            "retries": [0] * n, "decode_flags": [["charset_guessed"]] * n,
        },
        schema=FILES.schema,
    )  # fmt: skip


def reject_rows(paths: list[str], detail: str = "d") -> pl.DataFrame:
    n = len(paths)
    return pl.DataFrame(
        {
            "source_path": paths, "source_sha256": [None] * n, "record_key": [None] * n, "stage": ["ingest"] * n,
            "reason": ["empty_file"] * n, "detail": [detail] * n,
            "rejected_at": [datetime(2026, 11, 24, tzinfo=UTC)] * n, "run_id": ["r"] * n,
        },
        schema=REJECTS.schema,
    )  # fmt: skip


def sentences(n: int) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "doc_id": [f"d{i}" for i in range(n)], "pub_date": [DAY] * n, "sent_idx": list(range(n)),
            "start": [0] * n, "end": [3] * n, "text": ["abc"] * n, "section": ["body"] * n,
            "sent_hash": [f"h{i}" for i in range(n)],
        },
        schema=SENTENCES.schema,
    )  # fmt: skip


def view_typed(t: pa.DataType) -> bool:
    if pa.types.is_string_view(t) or pa.types.is_binary_view(t):
        return True
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return view_typed(t.value_type)
    if pa.types.is_struct(t):
        return any(view_typed(t.field(i).type) for i in range(t.num_fields))
    return False


def view_columns(lake: Lake, name: str) -> dict[str, list[str]]:
    """Per live data file of the table, the columns its Parquet (Arrow) schema declares with a view type."""
    out = {}
    for uri in DeltaTable(lake.uri(name)).file_uris():
        schema = pq.read_schema(uri.removeprefix("file://"))
        out[uri] = [f.name for f in schema if view_typed(f.type)]
    return out


def test_merged_tables_store_plain_string_types_from_the_first_write(lake_dir):
    lake = Lake(str(lake_dir))
    storage.append(lake, ENTITY_CACHE, cache_rows(["a", "b", "c"]))
    storage.append(lake, ENTITY_CACHE, cache_rows(["c", "d"]))  # insert-only: c is kept as first written
    storage.upsert(lake, FILES, file_rows(["x.html", "y.html"]))
    storage.upsert(lake, FILES, file_rows(["y.html", "z.html"], status="partial"))  # rewrites the file holding y
    storage.upsert(lake, REJECTS, reject_rows(["p1", "p2"]))
    storage.upsert(lake, REJECTS, reject_rows(["p2"], detail="again"))
    storage.delete_where_in(lake, REJECTS, "source_path", ["p1"])
    for name in ("entity_cache", "files", "rejects"):
        per_file = view_columns(lake, name)
        assert per_file and all(cols == [] for cols in per_file.values()), (name, per_file)
    # same rows as the MERGEs made them
    cache = storage.read(lake, ENTITY_CACHE).sort("sent_hash")
    assert cache["sent_hash"].to_list() == ["a", "b", "c", "d"]
    assert cache.filter(pl.col("sent_hash") == "c")["ents"].to_list() == [[]]  # c was index 2 of the first write
    files = storage.read(lake, FILES).sort("path")
    assert files.select("path", "status").rows() == [("x.html", "ok"), ("y.html", "partial"), ("z.html", "partial")]
    assert files["decode_flags"].to_list() == [["charset_guessed"]] * 3
    assert files["ingested_at"].to_list()[0] == datetime(2026, 11, 24, 12, 0, 0, 123456, tzinfo=UTC)
    rejects = storage.read(lake, REJECTS)
    assert rejects.select("source_path", "detail").rows() == [("p2", "again")]
    # the rewritten files keep their statistics: row counts from the log equal the rows read
    for name in ("entity_cache", "files", "rejects"):
        actions = pa.table(DeltaTable(lake.uri(name)).get_add_actions(flatten=True))
        assert sum(actions.column("num_records").to_pylist()) == storage.read(lake, TABLES[name]).height


def test_maintenance_rewrites_view_typed_files_left_by_an_older_writer(lake_dir):
    """A lake written before storage normalised MERGE output: maintenance rewrites only those files."""
    lake = Lake(str(lake_dir))
    storage.append(lake, ENTITY_CACHE, cache_rows(["a", "b"]))
    dt = DeltaTable(lake.uri("entity_cache"))
    dt.merge(
        cache_rows(["c"]).to_arrow(), predicate="t.sent_hash = s.sent_hash", source_alias="s", target_alias="t"
    ).when_not_matched_insert_all().execute()  # a raw MERGE, as storage wrote before
    assert any(cols for cols in view_columns(lake, "entity_cache").values())  # deltalake still writes views
    health = maintenance.maintain(lake, tables=["entity_cache"], config=maintenance.MaintenanceConfig(checkpoint=False))
    assert health[0].extra["rewritten_without_string_view"] is True
    assert all(cols == [] for cols in view_columns(lake, "entity_cache").values())
    assert sorted(storage.read(lake, ENTITY_CACHE)["sent_hash"].to_list()) == ["a", "b", "c"]


def test_new_tables_store_column_comments_and_not_null_keys(lake_dir):
    lake = Lake(str(lake_dir))
    storage.append(lake, ENTITY_CACHE, cache_rows(["a"]))
    storage.upsert(lake, FILES, file_rows(["x.html"]))
    storage.write_partitions(lake, SENTENCES, sentences(2), dates=[DAY])
    for table in (ENTITY_CACHE, FILES, SENTENCES):
        stored = {f.name: f for f in DeltaTable(lake.uri(table)).schema().fields}
        assert [c.name for c in table.columns] == list(stored)
        for c in table.columns:
            assert stored[c.name].metadata.get("comment") == c.doc, (table.name, c.name)
            assert stored[c.name].nullable is (c.name not in NOT_NULL[table.name]), (table.name, c.name)
        assert storage.schema_annotations_diff(lake, table) == ([], [])
    # what a reader sees: pyarrow through deltalake carries the comment and the NOT NULL
    arrow = DeltaTable(lake.uri("files")).schema().to_arrow()
    path = pa.schema(arrow).field("path")
    assert not path.nullable and path.metadata[b"comment"] == b"path relative to the inbox"


def test_every_declared_key_column_exists_and_the_delta_schema_follows_the_module():
    for name, table in TABLES.items():
        keys = NOT_NULL[name]
        assert keys and set(keys) <= set(table.column_names), name
        assert "pub_date" not in keys
        fields = delta_schema(table).fields
        assert [f.name for f in fields] == table.column_names
        assert {f.name for f in fields if not f.nullable} == set(keys)


@pytest.mark.parametrize("kind", ["append", "upsert", "write_partitions"])
def test_a_null_key_is_refused_naming_table_and_column(lake_dir, kind):
    lake = Lake(str(lake_dir))
    if kind == "append":
        table, good, bad = (
            ENTITY_CACHE,
            cache_rows(["a"]),
            cache_rows(["b", "c"]).with_columns(
                pl.when(pl.col("sent_hash") == "c").then(None).otherwise(pl.col("sent_hash")).alias("sent_hash")
            ),
        )
        column = "sent_hash"
        write = storage.append
    elif kind == "upsert":
        table, good, bad = (
            FILES,
            file_rows(["x.html"]),
            file_rows(["y.html"]).with_columns(path=pl.lit(None, pl.String)),
        )
        column = "path"
        write = storage.upsert
    else:
        table, good = SENTENCES, sentences(2)
        bad = sentences(3).with_columns(sent_idx=pl.lit(None, pl.Int32))
        column = "sent_idx"

        def write(lake, table, df):
            return storage.write_partitions(lake, table, df, dates=[DAY])

    write(lake, table, good)
    version = lake.version(table)
    with pytest.raises(NewslakeError) as err:
        write(lake, table, bad)
    assert isinstance(err.value, storage.NullKey)
    assert table.name in str(err.value) and column in str(err.value)
    assert lake.version(table) == version  # nothing committed
    assert storage.read(lake, table).height == good.height


def test_delta_itself_refuses_a_null_key_written_around_newslake(lake_dir):
    """The NOT NULL is in the stored schema, not only in newslake's check: another writer is refused too."""
    lake = Lake(str(lake_dir))
    storage.upsert(lake, FILES, file_rows(["x.html"]))
    bad = file_rows(["y.html"]).with_columns(path=pl.lit(None, pl.String)).to_arrow()
    with pytest.raises(Exception, match="(?i)invalid|null|validation"):
        write_deltalake(lake.uri("files"), bad, mode="append")
    assert storage.read(lake, FILES)["path"].to_list() == ["x.html"]


def test_an_existing_table_without_comments_gets_them_in_place(lake_dir):
    """Tables created before comments were stored: the drift is reported, comments are set by a metadata
    commit, and the nullable keys are reported (Delta cannot tighten them in place)."""
    lake = Lake(str(lake_dir))
    DeltaTable.create(lake.uri("files"), schema=FILES.empty().to_arrow().schema)  # how storage created tables
    storage.upsert(lake, FILES, file_rows(["x.html"]))
    comments, nullable = storage.schema_annotations_diff(lake, FILES)
    assert comments == FILES.column_names and nullable == ["path"]
    assert storage.store_comments(lake, FILES) == FILES.column_names
    assert storage.schema_annotations_diff(lake, FILES) == ([], ["path"])
    stored = {f.name: f.metadata.get("comment") for f in DeltaTable(lake.uri("files")).schema().fields}
    assert stored == {c.name: c.doc for c in FILES.columns}
    assert storage.read(lake, FILES)["path"].to_list() == ["x.html"]
    with pytest.raises(storage.NullKey):  # still refused by newslake's own check
        storage.upsert(lake, FILES, file_rows(["y"]).with_columns(path=pl.lit(None, pl.String)))


def test_two_writers_normalising_the_same_file_do_not_double_its_rows(lake_dir, monkeypatch):
    """The other writer rewrites the file between this one's snapshot and its commit: this commit must conflict
    (deltalake skips that check for ``dataChange: false`` removes, which doubled rows on S3)."""
    lake = Lake(str(lake_dir))
    storage.append(lake, ENTITY_CACHE, cache_rows(["a", "b"]))
    DeltaTable(lake.uri("entity_cache")).merge(
        cache_rows(["c"]).to_arrow(), predicate="t.sent_hash = s.sent_hash", source_alias="s", target_alias="t"
    ).when_not_matched_insert_all().execute()  # a view-typed file, as a raw MERGE writes it
    real_fs, raced = storage._delta_fs, []

    def fs_after_the_other_writer(lake_, table_):
        if not raced:  # runs after this call loaded its snapshot: the other writer commits first
            raced.append("started")
            raced.append(storage.normalise_view_files(lake_, table_))
        return real_fs(lake_, table_)

    monkeypatch.setattr(storage, "_delta_fs", fs_after_the_other_writer)
    assert storage.normalise_view_files(lake, ENTITY_CACHE) == 0
    assert raced == ["started", 1]
    assert sorted(storage.read(lake, ENTITY_CACHE)["sent_hash"].to_list()) == ["a", "b", "c"]
    assert all(cols == [] for cols in view_columns(lake, "entity_cache").values())
    files = {u.rsplit("/", 1)[-1] for u in DeltaTable(lake.uri("entity_cache")).file_uris()}
    on_disk = {p.name for p in (lake_dir / "entity_cache").glob("*.parquet")}
    assert len(files) == 2 and files <= on_disk  # the loser's copy is deleted, not left in the table


# --- packed integer columns (signatures.bands / minhash) and their upgrade from lists -----------------------


def test_packed_rows_round_trip_through_slices_nulls_and_polars():
    import numpy as np

    from pipeline.schema import pack_le, unpack_le

    values = np.array([0, 1, 2**32 - 1, 7, 2**31, 5], dtype=np.uint32)
    arr = pack_le(values, np.array([0, 2, 2, 6]))  # rows: [0, 1], [], [2**32-1, 7, 2**31, 5]
    got, offs = unpack_le(pl.Series(arr).to_arrow(), np.uint32)  # through polars' own binary type
    assert got.tolist() == values.tolist() and offs.tolist() == [0, 2, 2, 6]
    got, offs = unpack_le(arr.slice(1), np.uint32)  # an offset into the buffers
    assert got.tolist() == values[2:].tolist() and offs.tolist() == [0, 0, 4]
    with_null = pa.concat_arrays([arr.slice(0, 1), pa.array([None], pa.large_binary()), arr.slice(2)])
    got, offs = unpack_le(pa.chunked_array([with_null]), np.uint32)
    assert got.tolist() == [0, 1, 2**32 - 1, 7, 2**31, 5] and offs.tolist() == [0, 2, 2, 6]
    signed = pack_le(np.array([-1, 2**62], dtype=np.int64), np.array([0, 2]))
    assert unpack_le(signed, np.int64)[0].tolist() == [-1, 2**62]
    assert signed[0].as_py() == b"\xff" * 8 + (2**62).to_bytes(8, "little")  # little-endian on any host


def test_upgrades_convert_int64_lists_row_for_row():
    import numpy as np

    from pipeline.schema import UPGRADES, unpack_le

    old = pa.array([[5, 2**32 - 1], None, [], [9]], pa.large_list(pa.int64())).slice(0)
    got, offs = unpack_le(UPGRADES[("signatures", "minhash")].convert(old), np.uint32)
    assert got.tolist() == [5, 2**32 - 1, 9] and offs.tolist() == [0, 2, 2, 2, 3]
    old = pa.array([[1], [-(2**63), 3]], pa.list_(pa.int64())).slice(1)
    got, offs = unpack_le(UPGRADES[("signatures", "bands")].convert(old), np.int64)
    assert got.tolist() == [-(2**63), 3] and offs.tolist() == [0, 2]


def test_rewrite_converts_only_declared_upgrades(tmp_path):
    from pipeline.errors import SchemaMismatch
    from pipeline.schema import SIGNATURES

    lake = Lake(str(tmp_path / "lake"))
    rows = {
        "doc_id": ["a", "b"],
        "pub_date": [DAY, None],
        "pub_datetime": [datetime(2026, 11, 24, tzinfo=UTC), None],
        "text_len": [10, 3],
        "exact_hash": ["h", None],
        "bands": [[1, -2], []],
        "minhash": [[3, 2**32 - 1], []],
        "figures": ["", ""],
        "tokens": [b"\x01\x00", None],
    }
    schema = {**SIGNATURES.schema, "bands": pl.List(pl.Int64), "minhash": pl.List(pl.Int64)}
    old = pl.DataFrame(rows, schema=schema)
    write_deltalake(lake.uri(SIGNATURES), old.to_arrow(), partition_by="pub_date")
    assert storage.upgrades(lake, SIGNATURES) == ["bands", "minhash"]
    assert storage.rewrite(lake, SIGNATURES) == ["bands", "minhash"]
    got = storage.read(lake, SIGNATURES).sort("doc_id")
    assert got.schema == SIGNATURES.schema
    assert got.drop("bands", "minhash").equals(old.drop("bands", "minhash"))
    assert got["minhash"].to_list() == [(3).to_bytes(4, "little") + b"\xff" * 4, b""]
    assert storage.upgrades(lake, SIGNATURES) == [] and storage.rewrite(lake, SIGNATURES) == []

    # a type change without a declared conversion is refused, and nothing is written
    other = Lake(str(tmp_path / "other"))
    odd = old.with_columns(pl.col("text_len").cast(pl.Int64))
    write_deltalake(other.uri(SIGNATURES), odd.to_arrow(), partition_by="pub_date")
    version = other.version("signatures")
    with pytest.raises(SchemaMismatch, match="text_len"):
        storage.rewrite(other, SIGNATURES)
    assert other.version("signatures") == version
