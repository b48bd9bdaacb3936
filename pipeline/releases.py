"""Releases: named, citable snapshots of the lake, and reading any table at a past version.

A release records, for every data table, the Delta version to read, its row count and a content digest, plus
the code and model versions, in the ``releases`` table. Anyone with the lake reads exactly those rows back
(``newslake sql --release``, ``newslake export``); maintenance keeps the files those versions need.

**Consistency.** A run writes its tables one after another (documents, then signatures, duplicates, ...), so
"the latest version of every table" taken while a run is half-way holds its first tables' new rows beside the
later tables' old rows. The snapshot therefore skips, per table, every commit made by a run that has not
finished (the caller says which runs are finished; the CLI asks the Dagster instance, and a run id it does not
know is treated as finished), and reads the latest versions twice in a fixed order, retrying until both reads
agree. Writer runs are serialized (one at a time), so the result is the lake as the last finished run left it.
Two Dagster runs make one ``newslake run`` (ingestion, then the daily stages): a release taken between them
holds the new documents without their sentences, exactly as a failed daily run would leave the lake.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import polars as pl
import pyarrow as pa
from deltalake import DeltaTable
from deltalake.exceptions import TableNotFoundError

from pipeline import storage, versions
from pipeline.schema import DATA_TABLES, RELEASES, TABLES, Table

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_LINES_PER_UPDATE = 50_000


class ReleaseError(ValueError):
    """A release name that is invalid, taken, or unknown; a snapshot that cannot be taken."""


@dataclass(frozen=True)
class TableState:
    """One table in a snapshot: its version (None: table absent) and that commit's time and run."""

    table: str
    version: int | None
    committed_at: datetime | None = None
    run_id: str | None = None


def validate_name(name: str) -> str:
    if not isinstance(name, str) or not _NAME_RE.fullmatch(name):
        raise ReleaseError(f"release names are 1-64 letters, digits, '.', '_' or '-': {name!r}")
    return name


# --- reading a table at a version -------------------------------------------------------------------------


def open_at(lake: storage.Lake, table: Table | str, version: int | None) -> DeltaTable | None:
    """A fresh handle on ``table`` at ``version`` (latest when None); None when the table does not exist."""
    if version is None:
        return None
    try:
        return DeltaTable(lake.uri(table), version=version, storage_options=lake.storage_options or None)
    except TableNotFoundError:
        return None


def read_at(lake: storage.Lake, table: Table, version: int | None) -> pl.DataFrame:
    """Every row of ``table`` at ``version`` with the declared types (None or absent: empty, typed)."""
    dt = open_at(lake, table, version)
    if dt is None:
        return table.empty()
    return conform_read(table, pl.from_arrow(dt.to_pyarrow_dataset().to_table()))


def conform_read(table: Table, df) -> pl.DataFrame:
    """Cast a frame read back from storage or an export to the declared types (view/large strings alike)."""
    schema = table.schema
    return df.with_columns([pl.col(c).cast(schema[c]) for c in df.columns if c in schema])


def commits(lake: storage.Lake, table: Table | str) -> list[dict]:
    """The table's commit log, newest first: version, time (UTC), operation, run id and every commit field."""
    dt = lake.open(table)
    if dt is None:
        return []
    out = []
    for h in dt.history():
        out.append(
            {
                **h,
                "committed_at": datetime.fromtimestamp(h["timestamp"] / 1000, UTC),
                "run_id": h.get("newslake.run_id") or None,
            }
        )
    return sorted(out, key=lambda h: h["version"], reverse=True)


def versions_as_of(lake: storage.Lake, when: datetime) -> dict[str, int | None]:
    """Per data table, the latest version committed at or before ``when`` (None: the table did not exist)."""
    if when.tzinfo is None:
        raise ReleaseError("an as-of time needs a zone (e.g. 2026-11-30T12:00:00Z)")
    out: dict[str, int | None] = {}
    for t in DATA_TABLES:
        out[t.name] = next((h["version"] for h in commits(lake, t) if h["committed_at"] <= when), None)
    return out


# --- content digests ----------------------------------------------------------------------------------------


def _json_lines(df: pl.DataFrame) -> pl.Series:
    # JSON has no bytes: binary columns (signatures.tokens) are hashed as their hex text
    binary = [c for c, t in df.schema.items() if t == pl.Binary]
    df = df.with_columns(pl.col(c).bin.encode("hex") for c in binary)
    return df.select(pl.struct(pl.all()).struct.json_encode().alias("line")).to_series()


def frame_digest(table: Table, df: pl.DataFrame, hasher=None) -> tuple[int, str]:
    """(rows, sha256) of a frame's content, independent of row order, file layout and string flavour.

    Rows are JSON-encoded with the declared column order and types, ordered by ``pub_date`` (NULL first, for
    partitioned tables) and then by the JSON text, and hashed one line each. Export and release use the same
    definition, so a recipient can check a copy against the release."""
    h = hasher or hashlib.sha256()
    # The declared columns the version has, in declared order: a version written before a migration added a
    # column keeps its digest.
    df = conform_read(table, df).select([c for c in table.column_names if c in df.columns])
    keys = [pl.col("pub_date")] if "pub_date" in df.columns else []
    lines = df.with_columns(_json_lines(df)).sort([*keys, pl.col("line")], nulls_last=False).get_column("line")
    for start in range(0, lines.len(), _LINES_PER_UPDATE):
        h.update(("\n".join(lines.slice(start, _LINES_PER_UPDATE).to_list()) + "\n").encode())
    return df.height, h.hexdigest()


def content_digest(lake: storage.Lake, table: Table, version: int | None) -> tuple[int, str]:
    """(rows, sha256) of ``table`` at ``version``, read one ``pub_date`` partition at a time (bounded memory)."""
    dt = open_at(lake, table, version)
    if dt is None:
        return frame_digest(table, table.empty())
    if not table.partition_by:
        return frame_digest(table, read_at(lake, table, version))
    import pyarrow.dataset as pads

    ds = dt.to_pyarrow_dataset()
    days = sorted({p.get("pub_date") for p in dt.partitions()}, key=lambda d: (d is not None, d or ""))
    h, rows = hashlib.sha256(), 0
    for day in days:
        col = pads.field("pub_date")
        cond = col.is_null() if day is None else col == pa.scalar(storage.validate_date(day), pa.date32())
        part = pl.from_arrow(ds.to_table(filter=cond))
        assert isinstance(part, pl.DataFrame)  # a pyarrow Table always converts to a DataFrame
        n, _ = frame_digest(table, part, hasher=h)
        rows += n
    return rows, h.hexdigest()


# --- snapshots and releases ---------------------------------------------------------------------------------


def snapshot(
    lake: storage.Lake, *, is_finished: Callable[[str], bool] = lambda _run: True, attempts: int = 5
) -> dict[str, TableState]:
    """Per data table, the newest version not written by an unfinished run (see the module docstring)."""
    for _ in range(attempts):
        before = storage.table_versions(lake)
        states = {}
        for t in DATA_TABLES:
            chosen = next((h for h in commits(lake, t) if not h["run_id"] or is_finished(h["run_id"])), None)
            states[t.name] = (
                TableState(t.name, chosen["version"], chosen["committed_at"], chosen["run_id"])
                if chosen
                else TableState(t.name, None)
            )
        if storage.table_versions(lake) == before:
            return states
    raise ReleaseError(f"the lake kept changing during {attempts} snapshot attempts; try again")


def provenance(lake: storage.Lake, states: dict[str, TableState], extra: dict | None = None) -> dict:
    """Code and model versions behind a snapshot: this code, plus what each table's commit recorded."""
    per_table = {}
    for name, st in states.items():
        if st.version is None:
            continue
        commit = next((h for h in commits(lake, name) if h["version"] == st.version), {})
        per_table[name] = {
            k.removeprefix("newslake."): v
            for k, v in commit.items()
            if k.startswith("newslake.") and k != "newslake.run_id"
        }
    models = (
        sorted(
            set(read_at(lake, TABLES["entities"], states["entities"].version)["model"].unique().drop_nulls().to_list())
        )
        if states.get("entities")
        else []
    )
    return {
        "code": storage.code_provenance(),
        "stage_versions": {
            "ingest": versions.INGEST,
            "dedup": versions.DEDUP,
            "segment": versions.SEGMENT,
            "entities": versions.ENTITIES,
        },
        "models": models,
        "tables": per_table,
        **(extra or {}),
    }


def create(
    lake: storage.Lake,
    name: str,
    *,
    note: str = "",
    is_finished: Callable[[str], bool] = lambda _r: True,
    extra_provenance: dict | None = None,
) -> pl.DataFrame:
    """Take a consistent snapshot, digest every table at it and record it as release ``name``."""
    validate_name(name)
    if name in list_names(lake):
        raise ReleaseError(f"release {name!r} exists already; releases are immutable, pick another name")
    states = snapshot(lake, is_finished=is_finished)
    prov = json.dumps(provenance(lake, states, extra_provenance), sort_keys=True)
    now = datetime.now(UTC)
    rows = []
    for t in DATA_TABLES:
        st = states[t.name]
        n, digest = content_digest(lake, t, st.version)
        rows.append(
            {
                "release": name,
                "table_name": t.name,
                "version": st.version,
                "rows": n,
                "content_sha256": digest,
                "committed_at": st.committed_at,
                "run_id": st.run_id,
                "created_at": now,
                "note": note,
                "provenance": prov,
            }
        )
    df = RELEASES.conform(pl.DataFrame(rows, schema=RELEASES.schema))
    storage.append(lake, RELEASES, df, run_id=f"release:{name}", code_version="release")
    for t in DATA_TABLES:
        if states[t.name].version is not None:
            keep_log(lake, t)
    return df


def keep_log(lake: storage.Lake, table: Table) -> None:
    """Turn off Delta's expired-log cleanup: a released version is readable only while its log entries exist."""
    dt = lake.open(table)
    if dt is not None and dt.metadata().configuration.get("delta.enableExpiredLogCleanup") != "false":
        dt.alter.set_table_properties(
            {"delta.enableExpiredLogCleanup": "false"}, commit_properties=storage._commit("release", "release")
        )


def all_releases(lake: storage.Lake) -> pl.DataFrame:
    return storage.read(lake, RELEASES)


def list_names(lake: storage.Lake) -> list[str]:
    return sorted(set(all_releases(lake)["release"].to_list()))


def get(lake: storage.Lake, name: str) -> pl.DataFrame:
    """The rows of release ``name`` (one per table), or :class:`ReleaseError` naming the releases there are."""
    rows = all_releases(lake).filter(pl.col("release") == name)
    if rows.height == 0:
        raise ReleaseError(f"no release {name!r} in {lake.root}; releases: {', '.join(list_names(lake)) or 'none'}")
    return rows


def release_versions(lake: storage.Lake, name: str) -> dict[str, int | None]:
    return dict(get(lake, name).select("table_name", "version").iter_rows())


def protected_versions(lake: storage.Lake) -> dict[str, dict[int, list[str]]]:
    """Per table, the versions releases need and the releases that need each."""
    out: dict[str, dict[int, list[str]]] = {}
    for rel, table, version in all_releases(lake).select("release", "table_name", "version").iter_rows():
        if version is not None:
            out.setdefault(table, {}).setdefault(version, []).append(rel)
    return out


def parse_time(text: str) -> datetime:
    """An as-of time: ISO 8601; without a zone it is UTC; a bare date means 00:00 UTC that day."""
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ReleaseError(f"not an ISO 8601 time: {text!r} (e.g. 2026-11-30T12:00:00Z)") from None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def pinned_versions(
    lake: storage.Lake, *, release: str | None = None, as_of: str | None = None, pins=()
) -> dict[str, int | None] | None:
    """The versions ``newslake sql`` pins: a release's, an as-of time's, plus ``TABLE=N`` pins on top
    (None: no pin, every table current)."""
    out = release_versions(lake, release) if release else versions_as_of(lake, parse_time(as_of)) if as_of else None
    for pin in pins:
        name, _, number = pin.partition("=")
        if name not in TABLES or not number.isdigit():
            raise ReleaseError(f"--version takes TABLE=N with a table of {', '.join(TABLES)}: {pin!r}")
        current = lake.version(name)
        if current is None or int(number) > current:
            raise ReleaseError(f"{name} has no version {number} (latest: {current})")
        out = {**(out or {}), name: int(number)}
    return out
