"""Delta Lake reads and writes: the only module that writes tables.

Safety rules, each learnt the hard way upstream (see README "Guarantees"):

* A partition overwrite always carries an explicit predicate over ``pub_date``, built only from
  :class:`datetime.date` objects that passed :func:`validate_date`. A predicate is never assembled from
  data, so a hostile string cannot widen it into "delete everything".
* Rows outside the predicate are refused before writing: a write can only replace the partitions it names.
* An empty but typed frame with a predicate clears those partitions (a day whose documents all vanished).
* Unpartitioned tables (``files``, ``rejects``, ``entity_cache``) are upserted with MERGE on fixed key
  columns, so a retried run never duplicates rows.
* No write ever creates a table by appending: a missing table is first created empty (schema and
  partitioning only; a concurrent creator's "already exists" is success), then written with a predicate
  or MERGE. Two writers that both found no table therefore conflict like any other pair of writers
  instead of both committing an append (which doubled every row).
* Every commit records the Dagster run id and code version in the Delta commit metadata.
* Tables are created with the schema module's column meanings (field metadata ``comment``) and NOT NULL key
  columns; a frame with a NULL key is refused (:class:`NullKey`) before anything is written.
* No stored file has ``string_view``/``binary_view`` columns (pyarrow < 15 and other readers cannot read them).
  deltalake's MERGE (DataFusion reads the target with view types and, since delta-rs PR 4302, writes what it
  read; the session setting ``schema_force_view_types`` is not reachable from Python) writes them, so every
  MERGE is followed, in the same call, by a commit that replaces the files it wrote with the same rows in plain
  types (:func:`normalise_view_files`, statistics kept).
* MERGE is retried on Delta commit conflicts (bounded, jittered backoff, re-reading the table): a merge is
  keyed and idempotent (insert-only, or insert-or-replace by key), so redoing it on the new version is safe.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import queue
import random
import re
import threading
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl
import pyarrow as pa
from deltalake import CommitProperties, DeltaTable, WriterProperties, write_deltalake
from deltalake.exceptions import CommitFailedError, DeltaError, TableNotFoundError

from pipeline.errors import InvalidDate, NewslakeError, SchemaMismatch
from pipeline.schema import NOT_NULL, TABLES, UPGRADES, Table, delta_schema

_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

# Key columns for idempotent upserts of unpartitioned tables. Fixed strings: never built from data.
MERGE_KEYS: dict[str, tuple[str, ...]] = {
    "files": ("path",),  # one row per inbox path: the state of the bytes it holds now
    "rejects": ("source_path", "source_sha256", "record_key", "stage"),
    "entity_cache": ("sent_hash", "model"),
}


class NullKey(NewslakeError, ValueError):
    """A frame to be written has NULL in a column its table stores NOT NULL (``pipeline.schema.NOT_NULL``)."""


def check_not_null(table: Table, df: pl.DataFrame) -> None:
    """Raise :class:`NullKey`, naming the table, the columns and how many rows, if a key column holds NULL.

    Delta refuses such rows too, but with a bare "rows failed validation check" from Rust."""
    cols = [c for c in NOT_NULL.get(table.name, ()) if c in df.columns]
    if not cols or df.height == 0:
        return
    counts = df.select([pl.col(c).null_count() for c in cols]).row(0)
    bad = {c: n for c, n in zip(cols, counts, strict=True) if n}
    if bad:
        detail = ", ".join(f"{c} ({n} rows)" for c, n in bad.items())
        raise NullKey(f"{table.name}: NULL in NOT NULL column {detail}; refused before writing")


def validate_date(value: str | date) -> date:
    """Return ``value`` as a date, or raise ``ValueError`` unless it is exactly ``YYYY-MM-DD``.

    The only gate between user or data input and a Delta predicate.
    """
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or not _DATE_RE.fullmatch(value):
        raise InvalidDate(f"not a YYYY-MM-DD date: {value!r}")
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise InvalidDate(f"not a YYYY-MM-DD date: {value!r} ({exc})") from None


def partition_predicate(dates: Iterable[date], *, include_undated: bool = False) -> str:
    """Delta predicate selecting exactly the given ``pub_date`` partitions (and the NULL one, if asked)."""
    days = sorted({validate_date(d) for d in dates})
    parts = []
    if days:
        parts.append("pub_date IN (" + ", ".join(f"'{d.isoformat()}'" for d in days) + ")")
    if include_undated:
        parts.append("pub_date IS NULL")
    if not parts:
        raise ValueError("a partition predicate needs at least one date")
    return " OR ".join(parts)


_OPEN_CACHE: dict[str, tuple[tuple[int, int, int], DeltaTable]] = {}


def _log_stamp(uri: str) -> tuple[int, int, int] | None:
    try:
        st = os.stat(os.path.join(uri, "_delta_log"))
    except OSError:
        return None
    return st.st_ino, st.st_mtime_ns, st.st_ctime_ns


@dataclass(frozen=True)
class Lake:
    """Where the tables live: a local folder or an object-store URI (``s3://bucket/prefix``)."""

    root: str
    storage_options: dict[str, str] = field(default_factory=dict)

    def __post_init__(self):
        if "://" not in self.root:
            object.__setattr__(self, "root", str(Path(self.root).expanduser().resolve()))

    def uri(self, table: Table | str) -> str:
        name = table if isinstance(table, str) else table.name
        if name not in TABLES:
            raise ValueError(f"unknown table {name!r}")
        return f"{self.root.rstrip('/')}/{name}"

    def open(self, table: Table | str) -> DeltaTable | None:
        """The table at its latest version (None if it does not exist). Do not move it to another version.

        Local tables are cached per process while their ``_delta_log`` folder is unchanged: opening replays
        the log (~15 ms, more as it grows) and a run opens the same tables dozens of times. Any commit, from
        any process, adds a file to the folder and so changes its mtime, which invalidates the entry.
        """
        uri = self.uri(table)
        key = _log_stamp(uri) if "://" not in uri else None
        if key is not None and (hit := _OPEN_CACHE.get(uri)) is not None and hit[0] == key:
            return hit[1]
        try:
            dt = DeltaTable(uri, storage_options=self.storage_options or None)
        except TableNotFoundError:
            _OPEN_CACHE.pop(uri, None)
            return None
        if key is not None:
            _OPEN_CACHE[uri] = (key, dt)
        return dt

    def exists(self, table: Table | str) -> bool:
        return self.open(table) is not None

    def version(self, table: Table | str) -> int | None:
        dt = self.open(table)
        return None if dt is None else dt.version()


def stored_schema(lake: Lake, table: Table) -> pl.Schema | None:
    """The polars schema of the table as stored in its Delta log (None if it does not exist)."""
    dt = lake.open(table)
    if dt is None:
        return None
    empty = pl.from_arrow(pa.schema(dt.schema().to_arrow()).empty_table())
    assert isinstance(empty, pl.DataFrame)  # a pyarrow Table always converts to a DataFrame
    return empty.schema


def schema_diff(lake: Lake, table: Table) -> tuple[list[str], list[str], list[str]]:
    """(columns to add, columns with another type, columns on disk but no longer declared)."""
    stored = stored_schema(lake, table)
    if stored is None:
        return [], [], []
    declared = table.schema
    missing = [c for c in declared if c not in stored]
    changed = [c for c in declared if c in stored and stored[c] != declared[c]]
    extra = [c for c in stored if c not in declared]
    return missing, changed, extra


def check_schema(lake: Lake, table: Table) -> None:
    """Raise :class:`SchemaMismatch` unless the stored table matches its declaration exactly."""
    missing, changed, extra = schema_diff(lake, table)
    if changed:
        raise SchemaMismatch(
            f"{table.name}: column types changed {changed}; a type change needs a new table "
            "or a rewrite, not a silent cast"
        )
    if missing or extra:
        raise SchemaMismatch(
            f"{table.name}: stored columns differ (to add: {missing}, undeclared: {extra}); "
            "run `newslake migrate` to add declared columns"
        )


def migrate(lake: Lake, table: Table, *, run_id: str | None = None) -> list[str]:
    """Add columns declared in ``schema.py`` but missing on disk (nullable, NULL for existing rows).

    The only schema change newslake makes by itself; a changed type or a removed column raises.
    """
    missing, changed, extra = schema_diff(lake, table)
    if changed or extra:
        raise SchemaMismatch(f"{table.name}: cannot migrate automatically (changed: {changed}, undeclared: {extra})")
    if missing:
        from deltalake.schema import Field
        from deltalake.schema import Schema as DeltaSchema

        arrow = table.empty().select(missing).to_arrow().schema
        fields = list(DeltaSchema.from_arrow(arrow).fields)
        docs = {c.name: c.doc for c in table.columns}
        dt = lake.open(table)
        assert dt is not None  # schema_diff found stored columns, so the table exists
        dt.alter.add_columns(
            [Field(f.name, f.type, nullable=True, metadata={"comment": docs[f.name]}) for f in fields],
            commit_properties=_commit(run_id, "migration"),
        )
    return missing


def upgrades(lake: Lake, table: Table) -> list[str]:
    """Stored columns of another type that ``newslake migrate`` converts (``schema.UPGRADES``)."""
    stored = stored_schema(lake, table)
    _, changed, _ = schema_diff(lake, table)
    return [c for c in changed if (u := UPGRADES.get((table.name, c))) is not None and stored[c] == u.stored]  # type: ignore[index]


def rewrite(lake: Lake, table: Table, *, run_id: str | None = None, batch_rows: int = 65_536) -> list[str]:
    """Convert the stored columns :func:`upgrades` names, row for row, in one overwrite of the whole table.

    The rows are streamed (``batch_rows`` at a time) into new data files; one commit replaces every file with
    them and the table's schema with the declared one (comments, NOT NULL keys). Readers of the table see the
    old files or the new ones, never a mix; the old version stays readable by time travel until vacuumed.
    A writer that commits meanwhile makes this commit fail (it writes nothing then): run it again.
    """
    todo = upgrades(lake, table)
    missing, changed, extra = schema_diff(lake, table)
    if missing or extra or set(changed) - set(todo):
        raise SchemaMismatch(
            f"{table.name}: cannot rewrite (to add first: {missing}, undeclared: {extra}, "
            f"changed without a known conversion: {sorted(set(changed) - set(todo))})"
        )
    if not todo:
        return []
    dt = lake.open(table)
    assert dt is not None  # schema_diff found stored columns
    names = table.column_names
    docs = {c.name: c.doc for c in table.columns}
    target = pa.schema(
        [
            pa.field(
                f.name,
                _plain(f.type),
                nullable=f.name not in NOT_NULL.get(table.name, ()),
                metadata={"comment": docs[f.name]},
            )
            for f in table.empty().to_arrow().schema
        ]
    )

    def batches() -> Iterable[pa.RecordBatch]:
        for b in dt.to_pyarrow_dataset().to_batches(columns=names, batch_size=batch_rows):
            cols = [UPGRADES[(table.name, n)].convert(b.column(n)) if n in todo else b.column(n) for n in names]
            yield pa.RecordBatch.from_arrays([c.cast(f.type) for c, f in zip(cols, target, strict=True)], schema=target)

    write_deltalake(
        lake.uri(table),
        # read in another thread: the writer pulls batches from inside deltalake's async runtime, where
        # reading the table (deltalake again) would start a runtime within a runtime and panic
        pa.RecordBatchReader.from_batches(target, _in_thread(batches())),
        mode="overwrite",
        schema_mode="overwrite",
        partition_by=[table.partition_by] if table.partition_by else None,
        commit_properties=_commit(run_id, "migration", {"converted": todo}),
        storage_options=lake.storage_options or None,
        writer_properties=WRITER_PROPERTIES,
    )
    store_comments(lake, table, run_id=run_id)  # (a no-op where the writer kept the fields' comments)
    return todo


def _in_thread(items: Iterable, depth: int = 2) -> Iterator:
    """``items``, produced by a thread of its own (at most ``depth`` ahead); its exception is raised here."""
    q: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                while not stop.is_set():
                    try:
                        q.put(("item", item), timeout=0.5)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            q.put(("done", None))
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, which raises it
            q.put(("error", exc))

    thread = threading.Thread(target=produce, name="newslake-rewrite-reader", daemon=True)
    thread.start()
    try:
        while True:
            kind, value = q.get()
            if kind == "item":
                yield value
            elif kind == "error":
                raise value
            else:
                return
    finally:
        stop.set()


def schema_annotations_diff(lake: Lake, table: Table) -> tuple[list[str], list[str]]:
    """(columns whose stored comment differs from the schema module, NOT NULL columns stored nullable).

    Tables created before comments and NOT NULL were stored show every column here. The comments can be set in
    place (``DeltaTable.alter.set_column_metadata``: a metadata-only commit, see :func:`store_comments`).
    deltalake cannot make an existing column NOT NULL (it only has ``alter.drop_column_not_null``; Spark's
    ``ALTER COLUMN ... SET NOT NULL`` can), so an existing table keeps nullable keys, still checked on every
    write by :func:`check_not_null`, until it is rewritten with :func:`pipeline.schema.delta_schema`."""
    dt = lake.open(table)
    if dt is None:
        return [], []
    stored = {f.name: f for f in dt.schema().fields}
    target = {f.name: f for f in delta_schema(table).fields}
    comments = [
        n
        for n, f in target.items()
        if n in stored and (stored[n].metadata or {}).get("comment") != f.metadata["comment"]
    ]
    nullable = [n for n, f in target.items() if n in stored and not f.nullable and stored[n].nullable]
    return comments, nullable


def store_comments(lake: Lake, table: Table, *, run_id: str | None = None) -> list[str]:
    """Set the stored ``comment`` of every column whose comment differs from the schema module; return them."""
    comments, _ = schema_annotations_diff(lake, table)
    docs = {c.name: c.doc for c in table.columns}
    for name in comments:
        dt = lake.open(table)
        assert dt is not None
        stored = next(f for f in dt.schema().fields if f.name == name)
        dt.alter.set_column_metadata(
            name, {**(stored.metadata or {}), "comment": docs[name]}, commit_properties=_commit(run_id, "migration")
        )
    return comments


# Every Parquet file newslake writes (writes, MERGE, compaction) is zstd: ~40 % smaller than snappy here.
WRITER_PROPERTIES = WriterProperties(compression="ZSTD", compression_level=3, max_row_group_size=128 * 1024)

# Table properties every new table is created with. A checkpoint every 10 commits (Delta's default in Spark;
# deltalake's is 100): opening a table reads its newest checkpoint and only the commits after it, so without
# one every open (and every commit's conflict check) replays the whole log, one file per commit - one request
# per commit on an object store, and a table gets several commits per daily run, more with MERGE retries.
# deltalake writes the checkpoint itself, after the commit that completes the interval (its post-commit hook).
# Expired-log cleanup is as before: logs older than delta.logRetentionDuration (30 days), off once released.
# Tables created before this keep deltalake's 100; `newslake maintain` checkpoints them.
TABLE_PROPERTIES = {"delta.checkpointInterval": "10"}


@functools.cache
def code_provenance() -> dict[str, str]:
    """Package version and git commit of the running code; read once per process (absent keys are unknown).

    The git commit is read from ``.git`` files directly (no subprocess): HEAD, then the ref it names, loose
    or packed. An installed copy without a repository simply has no ``git_commit``."""
    from importlib import metadata

    out = {}
    try:
        out["package_version"] = metadata.version("newslake")
    except metadata.PackageNotFoundError:
        out["package_version"] = "unknown"
    git = Path(__file__).resolve().parents[1] / ".git"
    try:
        head = (git / "HEAD").read_text().strip()
        if head.startswith("ref: "):
            ref = head[5:]
            loose = git / ref
            if loose.is_file():
                head = loose.read_text().strip()
            else:
                packed = (git / "packed-refs").read_text().splitlines()
                head = next(line.split()[0] for line in packed if line.endswith(" " + ref))
        if re.fullmatch(r"[0-9a-f]{40}", head):
            out["git_commit"] = head
    except (OSError, StopIteration):
        pass
    return out


def _commit(run_id: str | None, code_version: str | None, extra: dict | None = None) -> CommitProperties:
    """Commit metadata: run id, stage code version, package version, git commit, plus ``extra`` (e.g.
    ``settings_digest``, ``model``). Keys are ``newslake.*`` in the commit info (polars, deltalake's
    ``history()``, DuckDB); the same provenance as JSON goes to ``userMetadata``, the field Spark's
    ``DESCRIBE HISTORY`` shows."""
    prov = {"run_id": run_id or "", "code_version": code_version or "", **code_provenance()}
    prov.update({k: str(v) for k, v in (extra or {}).items() if v is not None})
    meta = {f"newslake.{k}": v for k, v in prov.items()}
    meta["userMetadata"] = json.dumps(prov, sort_keys=True)
    return CommitProperties(custom_metadata=meta)


def _pub_date_filter(dates: Sequence[date] | None, undated: bool, between: tuple[date | None, date | None] | None):
    """The ``pub_date`` selection as a pyarrow row filter and as SQL for Delta's file pruning (None, None: all).

    Pruning lists only the matching partitions' files, so a read costs what it selects, not the table."""
    import pyarrow.dataset as pads

    col, exprs, sql = pads.field("pub_date"), [], []
    if dates is not None or undated:
        days = sorted({validate_date(d) for d in (dates or [])})
        exprs.append(
            col.isin(pa.array(days, pa.date32())) | col.is_null() if undated else col.isin(pa.array(days, pa.date32()))
        )
        sql.append(
            partition_predicate(days, include_undated=undated) if days else "pub_date IS NULL" if undated else "FALSE"
        )
    for bound, op in zip(between or (None, None), (">=", "<="), strict=True):
        if bound is not None:
            day = validate_date(bound)
            exprs.append(col >= pa.scalar(day, pa.date32()) if op == ">=" else col <= pa.scalar(day, pa.date32()))
            sql.append(f"pub_date {op} '{day.isoformat()}'")
    if not exprs:
        return None, None
    expr = exprs[0]
    for e in exprs[1:]:
        expr = expr & e
    return expr, " AND ".join(f"({c})" for c in sql)


def _dataset(dt: DeltaTable, table: Table, sql: str | None):
    if sql is not None and table.partition_by == "pub_date":
        ds = dt.to_pyarrow_dataset(file_pruning_predicate=sql)
    else:
        ds = dt.to_pyarrow_dataset()
    _refuse_links(dt, table, getattr(ds, "files", ()))  # relative to the table root (a sub-tree file system)
    return ds


def _refuse_links(dt: DeltaTable, table: Table, files: Iterable[str]) -> None:
    """Data files are opened only under the table root: a symlink planted in a local lake (to a Parquet file
    elsewhere) is refused, naming the table and the file, instead of being read as table rows. ``files`` are
    relative to the table root or absolute."""
    uri = dt.table_uri
    if "://" in uri and not uri.startswith("file://"):
        return
    base = uri.removeprefix("file://")
    root = os.path.realpath(base)
    for rel in files:
        f = os.path.join(base, rel)
        if os.path.islink(f) or not os.path.realpath(f).startswith(root + os.sep):
            raise PermissionError(
                f"{table.name}: data file {f} is a symlink or lies outside the table root; "
                "refused (see `newslake doctor`)"
            )


def scan(lake: Lake, table: Table, *, between: tuple[date | None, date | None] | None = None) -> pl.LazyFrame:
    """A lazy scan of the table's current version (filters and projections are pushed down).

    ``between`` (inclusive, None = open end) limits it to those ``pub_date`` partitions."""
    dt = lake.open(table)
    if dt is None:
        return table.empty().lazy()
    # Polars' own Delta reader over this version's files: a pyarrow dataset scanned through polars can leave
    # scanner threads that abort the process at exit ("terminate called without an active exception", seen
    # once in CI; pola-rs/polars#24169), and decodes the MinHash lists ~2x slower
    _refuse_links(dt, table, (u.removeprefix("file://") for u in dt.file_uris()))
    lf = pl.scan_delta(dt, storage_options=lake.storage_options or None)
    lo, hi = between or (None, None)
    if lo is not None:
        lf = lf.filter(pl.col("pub_date") >= validate_date(lo))
    if hi is not None:
        lf = lf.filter(pl.col("pub_date") <= validate_date(hi))
    return lf.select(table.column_names)


def read(
    lake: Lake,
    table: Table,
    *,
    dates: Sequence[date] | None = None,
    between: tuple[date | None, date | None] | None = None,
    undated: bool = False,
    where_in: tuple[str, Sequence] | None = None,
    columns: Sequence[str] | None = None,
    version: int | None = None,
) -> pl.DataFrame:
    """Read a table's current (or given) version, optionally only some ``pub_date`` partitions.

    ``dates`` selects listed days (an empty list: none), ``between`` an inclusive range (None = open end),
    ``where_in`` rows whose column (a name from the schema) holds one of the values; all are pushed down to
    the Parquet scan. A missing table reads as an empty, typed frame.
    """
    dt = lake.open(table)
    if dt is None:
        out = table.empty()
        return out.select(columns) if columns else out
    if version is not None:  # a fresh object: the one from lake.open is shared
        dt = DeltaTable(lake.uri(table), version=version, storage_options=lake.storage_options or None)
    import pyarrow.dataset as pads

    filt, sql = _pub_date_filter(dates, undated, between)
    ds = _dataset(dt, table, sql)
    if where_in is not None:
        name, values = where_in
        if name not in table.schema:
            raise ValueError(f"{table.name} has no column {name!r}")
        kind = ds.schema.field(name).type
        # A string_view column (written by some writers) is compared as string: pyarrow has no mixed kernel.
        kind = pa.string() if kind == pa.string_view() else kind
        cond = pads.field(name).cast(kind).isin(pa.array(list(values), type=kind))
        filt = cond if filt is None else (filt & cond)
    at = ds.to_table(columns=list(columns) if columns else None, filter=filt)
    df = pl.from_arrow(at)
    assert isinstance(df, pl.DataFrame)
    schema = table.schema
    return df.with_columns([pl.col(c).cast(schema[c]) for c in df.columns if c in schema])


def write_partitions(
    lake: Lake,
    table: Table,
    df: pl.DataFrame,
    *,
    dates: Iterable[date],
    include_undated: bool = False,
    run_id: str | None = None,
    code_version: str | None = None,
    extra_metadata: dict | None = None,
) -> int:
    """Replace exactly the named ``pub_date`` partitions of ``table`` with ``df``; return the new version.

    Other partitions are untouched. ``df`` may be empty (clears the partitions). Rows whose ``pub_date`` is
    outside ``dates`` raise ``ValueError`` before anything is written.
    """
    days = sorted({validate_date(d) for d in dates})
    predicate = partition_predicate(days, include_undated=include_undated)
    df = table.conform(df)
    check_not_null(table, df)
    outside = df.filter(~(pl.col("pub_date").is_in(days) | (pl.col("pub_date").is_null() & include_undated)))
    if outside.height:
        raise ValueError(f"{table.name}: {outside.height} rows fall outside the partitions being written")
    arrow = df.to_arrow()
    uri = lake.uri(table)
    check_schema(lake, table)
    commit = _commit(run_id, code_version, extra_metadata)
    ensure_table(lake, table)
    assert table.partition_by is not None  # only pub_date-partitioned tables are written by partition
    write_deltalake(
        uri,
        arrow,
        mode="overwrite",
        predicate=predicate,
        partition_by=[table.partition_by],
        commit_properties=commit,
        storage_options=lake.storage_options or None,
        writer_properties=WRITER_PROPERTIES,
    )
    return lake.version(table)  # type: ignore[return-value]


def upsert(
    lake: Lake,
    table: Table,
    df: pl.DataFrame,
    *,
    run_id: str | None = None,
    code_version: str | None = None,
) -> int | None:
    """Insert or update rows of an unpartitioned table by its fixed merge keys; return the version.

    An empty frame commits nothing and returns the current version.
    """
    keys = MERGE_KEYS[table.name]
    df = table.conform(df).unique(subset=list(keys), keep="last", maintain_order=True)
    check_not_null(table, df)
    if df.height == 0:
        return lake.version(table)
    return _merge(lake, table, df, commit=_commit(run_id, code_version), update=True)


# Attempts of one MERGE before its commit conflict is raised, and the backoff between them (doubling, jittered).
MERGE_ATTEMPTS = 8
MERGE_BACKOFF_S = 0.05
MERGE_BACKOFF_MAX_S = 2.0
# MERGE commits redone after a conflict in this process (for tests and logs).
merge_retries = 0


def _is_conflict(exc: Exception) -> bool:
    """A Delta commit that lost to a concurrent one (deltalake already retried the mere version clash)."""
    if isinstance(exc, CommitFailedError):
        return True
    text = str(exc).lower()
    return isinstance(exc, DeltaError) and (
        "concurrent" in text or "conflict" in text or "version already exists" in text
    )


def _merge(lake: Lake, table: Table, df: pl.DataFrame, *, commit: CommitProperties, update: bool) -> int:
    """MERGE ``df`` into ``table`` on its fixed keys (insert new keys; ``update``: also overwrite matches).

    A commit conflict (another writer committed files this MERGE read) re-reads the table and redoes the MERGE,
    up to :data:`MERGE_ATTEMPTS` times with jittered exponential backoff: the MERGE is keyed, so redoing it on the
    new version inserts each key once. The files it wrote are then rewritten in plain types."""
    keys = MERGE_KEYS[table.name]
    check_schema(lake, table)
    # NULL never equals NULL in SQL: compare keys null-safely.
    predicate = " AND ".join(f"(t.{k} IS NOT DISTINCT FROM s.{k})" for k in keys)
    source = df.to_arrow()
    for attempt in range(1, MERGE_ATTEMPTS + 1):
        dt = ensure_table(lake, table)
        if attempt > 1:
            dt = DeltaTable(lake.uri(table), storage_options=lake.storage_options or None)  # the newest version
        before = set(_live_files(dt))
        m = dt.merge(
            source,
            predicate=predicate,
            source_alias="s",
            target_alias="t",
            commit_properties=commit,
            writer_properties=WRITER_PROPERTIES,
        )
        if update:
            m = m.when_matched_update_all()
        try:
            m.when_not_matched_insert_all().execute()
        except Exception as exc:  # noqa: BLE001 - only commit conflicts are retried; everything else re-raised
            if not _is_conflict(exc) or attempt == MERGE_ATTEMPTS:
                raise
            global merge_retries
            merge_retries += 1
            delay = min(MERGE_BACKOFF_MAX_S, MERGE_BACKOFF_S * 2 ** (attempt - 1))
            time.sleep(random.uniform(delay / 2, delay))
            continue
        normalise_view_files(lake, table, exclude=before, commit=commit)
        return lake.version(table)  # type: ignore[return-value]
    raise AssertionError("unreachable: the last attempt returns or raises")


def _live_files(dt: DeltaTable) -> list[str]:
    return pa.table(dt.get_add_actions(flatten=False)).column("path").to_pylist()


def _is_view(t: pa.DataType) -> bool:
    if pa.types.is_string_view(t) or pa.types.is_binary_view(t):
        return True
    if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_list_view(t):
        return _is_view(t.value_type)
    if pa.types.is_struct(t):
        return any(_is_view(t.field(i).type) for i in range(t.num_fields))
    return False


def _plain(t: pa.DataType) -> pa.DataType:
    """``t`` with every view type replaced by its plain form (string, binary), nested ones too."""
    if pa.types.is_string_view(t):
        return pa.string()
    if pa.types.is_binary_view(t):
        return pa.binary()
    if pa.types.is_list(t) or pa.types.is_list_view(t):
        return pa.list_(pa.field(t.value_field.name, _plain(t.value_type), t.value_field.nullable))
    if pa.types.is_large_list(t):
        return pa.large_list(pa.field(t.value_field.name, _plain(t.value_type), t.value_field.nullable))
    if pa.types.is_struct(t):
        return pa.struct([f.with_type(_plain(f.type)) for f in (t.field(i) for i in range(t.num_fields))])
    return t


def _stat_value(v):
    if isinstance(v, datetime):  # Delta statistics: UTC, millisecond ISO-8601 with Z
        return v.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, dict):
        return {k: _stat_value(x) for k, x in v.items() if x is not None}
    return v


def _delta_fs(lake: Lake, table: Table):
    import pyarrow.fs as pafs
    from deltalake.fs import DeltaStorageHandler

    return pafs.PyFileSystem(DeltaStorageHandler(lake.uri(table), lake.storage_options or None))


def normalise_view_files(
    lake: Lake,
    table: Table,
    *,
    exclude: Iterable[str] = (),
    commit: CommitProperties | None = None,
) -> int:
    """Rewrite the live files of an unpartitioned table that declare view types, same rows in plain types; return
    how many. ``exclude``: paths known to be plain (the files before a MERGE), whose footers are not read.

    One commit removes the view-typed files and adds their plain copies with the same statistics, so readers see
    the same rows. If a concurrent writer removed or rewrote one of those files first, the commit conflicts; the
    snapshot is then read again and what is still view-typed is rewritten (bounded, jittered backoff, like MERGE),
    so a lost race never leaves a view-typed file behind. The actions say ``dataChange: true`` on purpose:
    deltalake 1.6.6 does not check a commit's ``dataChange: false`` removes against a concurrent commit removing
    the same file, so two processes normalising one file would both commit and double its rows (seen on S3;
    reproduced locally with two transactions)."""
    if table.partition_by is not None:
        raise ValueError(f"{table.name}: only unpartitioned (MERGE-written) tables are normalised")
    skip, done = set(exclude), 0
    for attempt in range(1, MERGE_ATTEMPTS + 1):
        try:
            return done + _normalise_once(lake, table, skip, commit)
        except Exception as exc:  # noqa: BLE001 - only commit conflicts are retried; everything else re-raised
            if not _is_conflict(exc) or attempt == MERGE_ATTEMPTS:
                raise
            delay = min(MERGE_BACKOFF_MAX_S, MERGE_BACKOFF_S * 2 ** (attempt - 1))
            time.sleep(random.uniform(delay / 2, delay))
    raise AssertionError("unreachable: the last attempt returns or raises")


def _normalise_once(lake: Lake, table: Table, skip: set[str], commit: CommitProperties | None) -> int:
    """One attempt of :func:`normalise_view_files` on a fresh snapshot (a commit conflict is raised)."""
    import pyarrow.parquet as pq
    from deltalake.transaction import AddAction, RemoveAction

    dt = DeltaTable(lake.uri(table), storage_options=lake.storage_options or None)
    fs = _delta_fs(lake, table)
    actions = [a for a in pa.table(dt.get_add_actions(flatten=False)).to_pylist() if a["path"] not in skip]
    todo = []
    for a in actions:
        with fs.open_input_file(a["path"]) as fh:
            schema = pq.read_schema(fh)
        if any(_is_view(f.type) for f in schema):
            todo.append((a, schema))
        else:
            skip.add(a["path"])  # plain: no need to read its footer again on a retry
    if not todo:
        return 0
    now = int(time.time() * 1000)
    adds, removes, written = [], [], []
    try:
        for a, schema in todo:
            with fs.open_input_file(a["path"]) as fh:
                data = pq.read_table(fh)
            target = pa.schema([f.with_type(_plain(f.type)) for f in schema], metadata=schema.metadata)
            data = data.cast(target)
            name = f"part-00000-{uuid.uuid4()}-c000.zstd.parquet"
            written.append(name)
            with fs.open_output_stream(name) as out:
                pq.write_table(data, out, compression="zstd", compression_level=3, row_group_size=128 * 1024)
            stats = {"numRecords": a["num_records"]}
            for key, col in (("minValues", "min"), ("maxValues", "max"), ("nullCount", "null_count")):
                if a.get(col):
                    stats[key] = _stat_value(a[col])
            size = fs.get_file_info(name).size
            adds.append(AddAction(name, size, {}, now, True, json.dumps(stats)))
            removes.append(RemoveAction(a["path"], True, now, a["size_bytes"], {}))
        dt.create_write_transaction(
            [*removes, *adds],
            mode="append",
            schema=dt.schema(),
            commit_properties=commit or _commit(None, "normalise"),
        )
    except Exception as exc:
        # A conflict means nothing was committed: the copies are nobody's files. After any other error the commit
        # may have landed, so the copies stay (vacuum removes them if they are not in the table).
        if _is_conflict(exc):
            for name in written:
                with contextlib.suppress(OSError):
                    fs.delete_file(name)
        raise
    return len(todo)


def ensure_table(lake: Lake, table: Table) -> DeltaTable:
    """Open ``table``, creating it empty (schema, partitioning; no rows) when missing.

    Creating is the only write that neither replaces nor merges, and it writes no rows, so two processes
    racing to create the table cannot double anything: the loser's commit of version 0 fails (put-if-absent)
    and it opens the winner's table instead.
    """
    dt = lake.open(table)
    if dt is not None:
        return dt
    try:
        DeltaTable.create(
            lake.uri(table),
            schema=delta_schema(table),
            mode="error",
            partition_by=[table.partition_by] if table.partition_by else None,
            storage_options=lake.storage_options or None,
            configuration=TABLE_PROPERTIES,
            commit_properties=_commit(None, "create"),
        )
    except Exception:  # noqa: BLE001 - which error a lost race raises differs by store; re-raised below
        if lake.open(table) is None:  # not a lost race: a real failure
            raise
    dt = lake.open(table)
    assert dt is not None
    return dt


def delete_where_in(
    lake: Lake,
    table: Table,
    column: str,
    values: Sequence[str],
    *,
    only: dict[str, str] | None = None,
    run_id: str | None = None,
    code_version: str | None = None,
) -> int | None:
    """Delete the rows of an unpartitioned table whose ``column`` holds one of ``values``; return the version.

    Values never enter SQL: they are the MERGE source, matched by a predicate of fixed column names; ``only``
    adds fixed ``column = 'literal'`` conditions (plain lower-case literals only).
    """
    if column not in table.schema or any(c not in table.schema for c in (only or {})):
        raise ValueError(f"{table.name}: unknown column in {column!r} / {only!r}")
    if any(not re.fullmatch(r"[a-z_]{1,40}", v) for v in (only or {}).values()):
        raise ValueError(f"not a plain literal: {only!r}")
    dt = lake.open(table)
    if dt is None or not values:
        return None if dt is None else dt.version()
    before = _live_files(dt)
    src = pa.table({column: pa.array(sorted(set(values)), type=pa.string())})
    pred = " AND ".join([f"t.{column} = s.{column}", *(f"t.{c} = '{v}'" for c, v in (only or {}).items())])
    (
        dt.merge(
            src,
            predicate=pred,
            source_alias="s",
            target_alias="t",
            commit_properties=_commit(run_id, code_version),
            writer_properties=WRITER_PROPERTIES,
        )
        .when_matched_delete()
        .execute()
    )
    normalise_view_files(lake, table, exclude=before, commit=_commit(run_id, code_version))
    return lake.version(table)


def append(
    lake: Lake, table: Table, df: pl.DataFrame, *, run_id: str | None = None, code_version: str | None = None
) -> int | None:
    """Add new rows to an unpartitioned table; empty = no commit.

    A keyed table (``entity_cache``) is merged insert-only on its keys: two runs that tagged the same
    sentence at the same time must not both add it, and rows already present are kept as they are.
    """
    if df.height == 0:
        return lake.version(table)
    if table.name in MERGE_KEYS:
        df = table.conform(df).unique(subset=list(MERGE_KEYS[table.name]), keep="first", maintain_order=True)
        check_not_null(table, df)
        return _merge(lake, table, df, commit=_commit(run_id, code_version), update=False)
    df = table.conform(df)
    check_not_null(table, df)
    check_schema(lake, table)
    ensure_table(lake, table)
    write_deltalake(
        lake.uri(table),
        df.to_arrow(),
        mode="append",
        commit_properties=_commit(run_id, code_version),
        storage_options=lake.storage_options or None,
        writer_properties=WRITER_PROPERTIES,
    )
    return lake.version(table)


def table_versions(lake: Lake) -> dict[str, int | None]:
    """Current Delta version of every known table (None when not created yet)."""
    return {name: lake.version(name) for name in TABLES}


def partition_rows(lake: Lake, table: Table) -> pl.DataFrame:
    """Rows per ``pub_date`` partition (NULL = undated) from the Delta log's file statistics, no data scan."""
    dt = lake.open(table)
    if dt is None:
        return pl.DataFrame(schema={"pub_date": pl.Date, "rows": pl.Int64})
    actions = pl.from_arrow(pa.table(dt.get_add_actions(flatten=True)))
    assert isinstance(actions, pl.DataFrame)
    return (
        actions.group_by(pl.col("partition.pub_date").cast(pl.Date).alias("pub_date"))
        .agg(pl.col("num_records").sum().cast(pl.Int64).alias("rows"))
        .sort("pub_date", nulls_last=False)
    )


def partition_dates(lake: Lake, table: Table) -> list[date]:
    """The ``pub_date`` values present in a partitioned table (from the Delta log, no data scan)."""
    dt = lake.open(table)
    if dt is None:
        return []
    days = set()
    for part in dt.partitions():
        value = part.get("pub_date")
        if value is not None:
            days.add(validate_date(value))
    return sorted(days)
