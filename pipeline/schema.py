"""Every table's schema, in one place.

Each table is a :class:`Table`: a name, an ordered polars schema, the partition column (if any) and a
one-line description per column (used by the README, the Dagster column schema and ``newslake sql``).
Timestamps are always ``Datetime("us", "UTC")``: a naive datetime becomes ``timestamp_ntz`` in Delta and
DuckDB and silently shifts by the reader's zone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeAlias

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

# A polars dtype as written in the column lists: an instance (``pl.Datetime("us", "UTC")``, ``pl.List(...)``)
# or a bare class (``pl.String``); polars accepts both wherever it takes a dtype.
DType: TypeAlias = pl.DataType | type[pl.DataType]

UTC_TS = pl.Datetime("us", "UTC")


@dataclass(frozen=True)
class Column:
    name: str
    dtype: DType
    doc: str


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    doc: str
    partition_by: str | None = "pub_date"

    @property
    def schema(self) -> pl.Schema:
        return pl.Schema({c.name: c.dtype for c in self.columns})

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def empty(self) -> pl.DataFrame:
        return pl.DataFrame(schema=self.schema)

    def conform(self, df: pl.DataFrame) -> pl.DataFrame:
        """Return ``df`` with exactly this table's columns, order and types.

        Missing columns are an error (a stage forgot one); extra columns are dropped.
        """
        missing = [c for c in self.column_names if c not in df.columns]
        if missing:
            raise ValueError(f"{self.name}: frame lacks columns {missing}")
        return df.select([pl.col(c.name).cast(c.dtype, strict=True) for c in self.columns])


def _t(name: str, doc: str, cols: list[tuple[str, DType, str]], partition_by: str | None = "pub_date") -> Table:
    return Table(name, tuple(Column(*c) for c in cols), doc, partition_by)


FILES = _t(
    "files",
    "Every inbox entry ever seen, one row per path: the state of the bytes it holds now (the ingestion manifest).",
    [
        ("path", pl.String, "path relative to the inbox"),
        ("sha256", pl.String, "hex sha256 of the file's bytes; same bytes under another name are recognised"),
        ("size", pl.Int64, "bytes"),
        ("format", pl.String, "html | text | jsonl | warc | unknown (after gzip is removed)"),
        ("compression", pl.String, "none | gzip"),
        ("status", pl.String, "ok | partial (some records rejected) | rejected | duplicate_file"),
        ("reason", pl.String, "why a file was rejected or skipped; null when ok"),
        ("records", pl.Int64, "records (pages, articles, lines) found in the file"),
        ("documents", pl.Int64, "documents produced"),
        ("rejected", pl.Int64, "records rejected"),
        ("duplicate_of", pl.String, "path of the earlier file with the same bytes, for duplicate_file"),
        ("ingested_at", UTC_TS, "when this version of the file was ingested (UTC)"),
        ("run_id", pl.String, "Dagster run that ingested it"),
        ("retries", pl.Int64, "times these bytes were parsed again after a transient failure (timeout, vanished, ...)"),
        (
            "decode_flags",
            pl.List(pl.String),
            "charset decisions worth a look: charset_mismatch (declared charset "
            "overruled by valid UTF-8), bytes_replaced, charset_guessed, mixed_encodings (decoded per article)",
        ),
    ],
    partition_by=None,
)

DOCUMENTS = _t(
    "documents",
    "One row per news document, partitioned by UTC publication date (NULL = undated, see README).",
    [
        ("doc_id", pl.String, "stable id: hash of source path and record key"),
        ("pub_date", pl.Date, "UTC publication date; NULL when no trustworthy date was found"),
        ("pub_datetime", UTC_TS, "publication time in UTC (midnight when only a day is known)"),
        ("date_raw", pl.String, "the date string as found, before parsing"),
        ("date_source", pl.String, "metadata | record_field | url | text | file_name | none"),
        ("date_flags", pl.List(pl.String), "sanity flags: future, impossible, ambiguous_dmy, url_mismatch, ..."),
        ("title", pl.String, "headline"),
        ("text", pl.String, "headline, blank line, body paragraphs (blank-line separated), then captions"),
        ("body_start", pl.Int32, "offset in text where the body begins (0 when there is no headline)"),
        ("body_end", pl.Int32, "offset in text where the body ends; captions follow after a blank line"),
        ("captions", pl.List(pl.String), "photo captions, kept apart from the body (also after body_end in text)"),
        ("authors", pl.List(pl.String), "bylines"),
        ("site", pl.String, "site or publisher name"),
        ("url", pl.String, "canonical URL when known"),
        ("language", pl.String, "ISO 639-1 code, detected"),
        ("source_path", pl.String, "inbox-relative path of the file the document came from"),
        ("source_sha256", pl.String, "sha256 of that file"),
        ("record_key", pl.String, "position or id of the record inside its file"),
        ("format", pl.String, "html | text | jsonl | warc"),
        ("crawled_at", UTC_TS, "crawl time (WARC-Date) when known"),
        ("ingested_at", UTC_TS, "when newslake ingested it"),
        ("words", pl.Int32, "whitespace-separated tokens in text"),
        (
            "decode_flags",
            pl.List(pl.String),
            "charset decisions for this document: charset_mismatch, bytes_replaced, charset_guessed, "
            "mixed_encodings (its file mixes encodings); empty when clean; NULL in lakes migrated from before",
        ),
    ],
)

REJECTS = _t(
    "rejects",
    "Every file or record that could not become a document, with a specific reason.",
    [
        ("source_path", pl.String, "inbox-relative path"),
        ("source_sha256", pl.String, "sha256 of the file"),
        ("record_key", pl.String, "position of the record in the file; NULL for a whole file"),
        ("stage", pl.String, "ingest | dedup | segment | tag"),
        ("reason", pl.String, "machine-readable reason code (see README)"),
        ("detail", pl.String, "human-readable detail"),
        ("rejected_at", UTC_TS, "when"),
        ("run_id", pl.String, "Dagster run id"),
    ],
    partition_by=None,
)

SIGNATURES = _t(
    "signatures",
    "Per-document dedup signature: normalised-text hash, MinHash band hashes, figures; the cross-day index.",
    [
        ("doc_id", pl.String, "document"),
        ("pub_date", pl.Date, "publication date (partition)"),
        ("pub_datetime", UTC_TS, "publication time, for the canonical order"),
        ("text_len", pl.Int32, "characters of normalised text, for the canonical order"),
        ("exact_hash", pl.String, "hash of the normalised text"),
        # Fixed-width integers packed into one binary value per row, not lists: a reader gets them with one
        # buffer view instead of decoding list levels (5-8x cheaper to scan, and the cross-day window is
        # scanned for them on every run). Delta has no unsigned integers; bytes carry them unchanged.
        (
            "bands",
            pl.Binary,
            "one 64-bit hash per LSH band, then the word keys of the first words (int64 little-endian)",
        ),
        ("minhash", pl.Binary, "MinHash signature: one 32-bit value per slot (uint32 little-endian)"),
        ("figures", pl.String, "the numbers in the text, normalised, for the template-story guard"),
        ("tokens", pl.Binary, "first words of the normalised text as 16-bit hashes (uint16 LE), for the verifier"),
    ],
)

DUPLICATES = _t(
    "duplicates",
    "Cluster membership of every dated document: itself canonical, or an exact/near duplicate of another.",
    [
        ("doc_id", pl.String, "document"),
        ("pub_date", pl.Date, "publication date (partition)"),
        ("cluster_id", pl.String, "id of the cluster (derived from the canonical document)"),
        ("canonical_doc_id", pl.String, "the cluster's canonical document"),
        ("is_canonical", pl.Boolean, "true for the one document per cluster that downstream stages process"),
        ("method", pl.String, "unique | exact | near"),
        ("similarity", pl.Float64, "similarity to the canonical document (1.0 for exact, itself)"),
    ],
)

SENTENCES = _t(
    "sentences",
    "Sentences of canonical documents; text[start:end] of the document is the sentence, exactly.",
    [
        ("doc_id", pl.String, "document"),
        ("pub_date", pl.Date, "publication date (partition)"),
        ("sent_idx", pl.Int32, "0-based index of the sentence in its document"),
        ("start", pl.Int32, "character offset into documents.text"),
        ("end", pl.Int32, "end offset (exclusive)"),
        ("text", pl.String, "the sentence"),
        ("section", pl.String, "headline | body | caption"),
        ("sent_hash", pl.String, "hash of the normalised sentence text (stable across documents)"),
    ],
)

ENTITIES = _t(
    "entities",
    "Entity mentions in canonical documents; text[start:end] of the document is the mention, exactly.",
    [
        ("doc_id", pl.String, "document"),
        ("pub_date", pl.Date, "publication date (partition)"),
        ("sent_idx", pl.Int32, "sentence holding the mention"),
        ("start", pl.Int32, "character offset into documents.text"),
        ("end", pl.Int32, "end offset (exclusive)"),
        ("text", pl.String, "mention as written"),
        ("label", pl.String, "OntoNotes label (PERSON, ORG, GPE, ...), made consistent within the document"),
        ("norm", pl.String, "canonical form within the document (surname resolves to full name)"),
        ("model", pl.String, "tagging model name and version"),
    ],
)

ENTITY_DAILY = _t(
    "entity_daily",
    "Per day and entity: how many mentions and how many documents.",
    [
        ("pub_date", pl.Date, "publication date (partition)"),
        ("norm", pl.String, "entity"),
        ("label", pl.String, "label"),
        ("mentions", pl.Int64, "mentions that day"),
        ("documents", pl.Int64, "canonical documents mentioning it that day"),
    ],
)

ENTITY_CACHE = _t(
    "entity_cache",
    "Model output per distinct sentence (by hash and model version), so republished sentences are not re-tagged.",
    [
        ("sent_hash", pl.String, "sentences.sent_hash"),
        ("model", pl.String, "model name and version"),
        (
            "ents",
            pl.List(pl.Struct({"start": pl.Int32, "end": pl.Int32, "label": pl.String, "score": pl.Float32})),
            "mentions relative to the sentence start",
        ),
    ],
    partition_by=None,
)

RELEASES = _t(
    "releases",
    "Named, citable snapshots of the lake: one row per release and table (see README, Releases).",
    [
        ("release", pl.String, "release name, unique"),
        ("table_name", pl.String, "table in the release"),
        ("version", pl.Int64, "Delta version of the table in the release; NULL when it did not exist yet"),
        ("rows", pl.Int64, "rows of the table at that version"),
        ("content_sha256", pl.String, "sha256 of the rows as sorted JSON lines: independent of file layout"),
        ("committed_at", UTC_TS, "time of that version's commit"),
        ("run_id", pl.String, "Dagster run that committed that version"),
        ("created_at", UTC_TS, "when the release was created"),
        ("note", pl.String, "the creator's note"),
        ("provenance", pl.String, "JSON: package version, git commit, stage code versions and models"),
    ],
    partition_by=None,
)

# Tables a release snapshots (every table but ``releases`` itself).
DATA_TABLES = (FILES, DOCUMENTS, REJECTS, SIGNATURES, DUPLICATES, SENTENCES, ENTITIES, ENTITY_DAILY, ENTITY_CACHE)
TABLES: dict[str, Table] = {t.name: t for t in (*DATA_TABLES, RELEASES)}


# Columns that identify a row, stored NOT NULL (Delta ``nullable: false``): no writer can commit a row without
# them. ``pub_date`` is never among them (NULL is the undated partition), nor is ``rejects.record_key`` (NULL
# for a whole file).
NOT_NULL: dict[str, tuple[str, ...]] = {
    "files": ("path",),
    "documents": ("doc_id",),
    "rejects": ("source_path", "stage", "reason"),
    "signatures": ("doc_id",),
    "duplicates": ("doc_id",),
    "sentences": ("doc_id", "sent_idx"),
    "entities": ("doc_id",),
    "entity_daily": ("norm",),
    "entity_cache": ("sent_hash", "model"),
    "releases": ("release", "table_name"),
}


def delta_schema(table: Table):
    """The Delta schema a table is stored with: its columns' meanings as field metadata ``comment`` (what Spark's
    ``DESCRIBE``, deltalake's ``schema()`` and DuckDB show) and its :data:`NOT_NULL` columns non-nullable.

    New tables are created with it; ``newslake migrate`` compares a stored table with it (see
    ``pipeline.storage.schema_annotations_diff``)."""
    from deltalake.schema import Field
    from deltalake.schema import Schema as DeltaSchema

    docs = {c.name: c.doc for c in table.columns}
    keys = set(NOT_NULL.get(table.name, ()))
    plain = DeltaSchema.from_arrow(table.empty().to_arrow().schema)
    return DeltaSchema(
        [Field(f.name, f.type, nullable=f.name not in keys, metadata={"comment": docs[f.name]}) for f in plain.fields]
    )


def pack_le(values: np.ndarray, offsets: np.ndarray) -> pa.LargeBinaryArray:
    """Rows of fixed-width integers as binary values: row ``i`` holds ``values[offsets[i]:offsets[i + 1]]``,
    little-endian (how ``signatures.bands`` and ``signatures.minhash`` are stored)."""
    v = np.ascontiguousarray(values, dtype=values.dtype.newbyteorder("<"))
    off = np.asarray(offsets, dtype=np.int64) * v.itemsize
    return pa.LargeBinaryArray.from_buffers(pa.large_binary(), off.size - 1, [None, pa.py_buffer(off), pa.py_buffer(v)])


def unpack_le(arr: pa.Array | pa.ChunkedArray, dtype: np.dtype | type) -> tuple[np.ndarray, np.ndarray]:
    """``(values, offsets)`` of :func:`pack_le` rows (a null row is empty; no copy of one large-binary chunk)."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks() if arr.num_chunks != 1 else arr.chunk(0)
    if not pa.types.is_large_binary(arr.type):
        arr = arr.cast(pa.large_binary())
    if arr.null_count:
        arr = pc.fill_null(arr, pa.scalar(b"", pa.large_binary()))
    width = np.dtype(dtype).itemsize
    offs = np.frombuffer(arr.buffers()[1], dtype=np.int64)[arr.offset : arr.offset + len(arr) + 1]
    first, last = (int(offs[0]), int(offs[-1])) if offs.size else (0, 0)
    data = arr.buffers()[2]
    values = (
        np.frombuffer(data, dtype=np.dtype(dtype).newbyteorder("<"), count=(last - first) // width, offset=first)
        if data is not None and last > first
        else np.zeros(0, dtype=dtype)
    )
    return values, (offs - first) // width


def _list_to_le(dtype: type) -> Callable[[pa.Array], pa.Array]:
    """An upgrade of a list-of-int64 column to :func:`pack_le` rows of ``dtype`` (a null list becomes empty)."""

    def convert(arr: pa.Array) -> pa.Array:
        arr = arr.cast(pa.large_list(pa.int64()))
        if arr.null_count:
            arr = pc.fill_null(arr, pa.scalar([], pa.large_list(pa.int64())))
        offs = np.frombuffer(arr.buffers()[1], dtype=np.int64)[arr.offset : arr.offset + len(arr) + 1]
        values = arr.flatten().to_numpy(zero_copy_only=False).astype(dtype)
        return pack_le(values, offs - offs[0])

    return convert


@dataclass(frozen=True)
class Upgrade:
    """How ``newslake migrate`` rewrites a stored column whose type an older newslake wrote."""

    stored: DType  # the type older versions stored
    convert: Callable[[pa.Array], pa.Array]  # stored values -> the declared type, row for row


# (table, column) -> the conversions newslake knows; any other type change is left to a person.
# Lists until 2026-12 (dedup-12 wrote both forms of these columns; the values are the same).
UPGRADES: dict[tuple[str, str], Upgrade] = {
    ("signatures", "bands"): Upgrade(pl.List(pl.Int64), _list_to_le(np.int64)),
    ("signatures", "minhash"): Upgrade(pl.List(pl.Int64), _list_to_le(np.uint32)),
}


def _type_name(dtype: DType) -> str:
    return "timestamp (UTC)" if dtype == UTC_TS else str(dtype).replace("String", "string")


def markdown() -> str:
    """Every table as markdown (the README's table reference is generated from this)."""
    out = []
    for t in TABLES.values():
        part = f"partitioned by `{t.partition_by}`" if t.partition_by else "not partitioned"
        out.append(f"### `{t.name}` ({part})\n\n{t.doc}\n\n| column | type | meaning |\n|---|---|---|")
        out += [f"| `{c.name}` | {_type_name(c.dtype)} | {c.doc.replace('|', '/')} |" for c in t.columns]
        out.append("")
    return "\n".join(out)


if __name__ == "__main__":
    print(markdown())
