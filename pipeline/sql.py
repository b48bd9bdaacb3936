"""DuckDB access to the lake: one view per table, over the table's current Delta version or a pinned one.

Views are built from ``DeltaTable(...).to_pyarrow_dataset()``, which lists exactly the files of that
version (time travel: ``versions`` pins tables to a version, e.g. a release's or an as-of time's).
``read_parquet`` over a table folder would also read files that Delta has removed (stale rows), and
the ``delta`` extension downloads itself at first use (fails offline), so neither is used.

After the views are registered the connection is locked down: no access to files or the network, and the
configuration cannot be changed back. A user query can read the lake's tables and nothing else.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import duckdb

from pipeline.releases import open_at
from pipeline.schema import TABLES
from pipeline.storage import Lake

# Convenience views on top of the tables. Fixed SQL: no identifier or value comes from input.
DERIVED_VIEWS = {
    "unique_documents": (
        "SELECT d.* FROM documents d LEFT JOIN duplicates u USING (doc_id) "
        "WHERE d.pub_date IS NOT NULL AND coalesce(u.is_canonical, true)"
    ),
    "undated_documents": "SELECT * FROM documents WHERE pub_date IS NULL",
}
_DERIVED_NEEDS = {"unique_documents": ("documents", "duplicates"), "undated_documents": ("documents",)}


class LakeNotFound(LookupError):
    """The lake path holds no newslake table (a wrong ``--lake``)."""


def require_tables(lake: Lake) -> list[str]:
    """The tables present under the lake, or :class:`LakeNotFound` naming the path and what is there."""
    present = [name for name in TABLES if lake.open(name) is not None]
    if present:
        return present
    found = ""
    if "://" not in lake.root:
        root = Path(lake.root)
        if not root.is_dir():
            raise LakeNotFound(f"no lake at {root}: the folder does not exist")
        entries = sorted(p.name for p in root.iterdir())[:20]
        found = f"; it holds: {', '.join(entries)}" if entries else "; it is empty"
    raise LakeNotFound(
        f"no newslake tables under {lake.root} (expected folders like documents/, sentences/ with a _delta_log){found}"
    )


class BrokenTable(UserWarning):
    """A table left out of ``newslake sql`` (corrupt log, missing or symlinked data file); run newslake doctor."""


def _skip(name: str, why: str) -> None:
    warnings.warn(
        f"table {name!r} left out: {why.splitlines()[0][:300]} (see `newslake doctor`)", BrokenTable, stacklevel=3
    )


def _open_or_warn(lake: Lake, name: str):
    try:
        return lake.open(name)
    except Exception as err:  # noqa: BLE001 - a corrupt log names no table by itself: say which one
        _skip(name, f"its Delta log cannot be read ({lake.uri(name)}/_delta_log): {err}")
        return None


def _safe_dataset(lake: Lake, name: str, dt):
    """The table's dataset, refusing data files that are symlinks or lie outside the table root (a link in
    the lake must not let a query read a file elsewhere) and files the log lists but the disk lacks."""
    from pipeline.doctor import data_files, unsafe_files

    bad = unsafe_files(lake, name, dt)
    if bad:
        raise PermissionError(f"data file {bad[0][0]} is a {bad[0][1]}: refused")
    if "://" not in lake.root:
        root = lake.uri(name)
        missing = [f for f in data_files(dt) if not os.path.exists(os.path.join(root, f))]
        if missing:
            raise FileNotFoundError(
                f"data file {missing[0]} is listed in the log but missing"
                + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else "")
            )
    return dt.to_pyarrow_dataset()


def connect(
    lake: Lake, *, lock_down: bool = True, versions: dict[str, int | None] | None = None
) -> duckdb.DuckDBPyConnection:
    """Open an in-memory DuckDB connection with a view per existing lake table.

    Parameters
    ----------
    lake
        The lake to expose.
    lock_down
        Disable external access (files, network, extensions) once the views exist.
    versions
        Tables pinned to a Delta version (time travel); None = the table did not exist then (an empty view
        with the declared columns). Tables not named are at their current version.
    """
    con = duckdb.connect(":memory:")
    present = []
    for name, table in TABLES.items():
        if versions is not None and name in versions:
            dt = open_at(lake, table, versions[name])
            if dt is None:  # absent at that moment: same columns, no rows
                con.register(f"_{name}_ds", table.empty().to_arrow())
                con.execute(f'CREATE VIEW "{name}" AS SELECT * FROM "_{name}_ds"')
                present.append(name)
                continue
        else:
            dt = _open_or_warn(lake, name)
        if dt is None:
            continue
        try:
            ds = _safe_dataset(lake, name, dt)
        except Exception as err:  # noqa: BLE001 - one broken table must not block SQL on the others
            _skip(name, f"{type(err).__name__}: {err}")
            continue
        # Registering the dataset keeps the scan lazy: filters and projections are pushed down.
        con.register(f"_{name}_ds", ds)
        con.execute(f'CREATE VIEW "{name}" AS SELECT * FROM "_{name}_ds"')
        present.append(name)
    for view, sql in DERIVED_VIEWS.items():
        if all(n in present for n in _DERIVED_NEEDS[view]):
            con.execute(f'CREATE VIEW "{view}" AS {sql}')
    if lock_down:
        con.execute("SET enable_external_access = false")
        con.execute("SET lock_configuration = true")
    return con


def views(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Names of the views a user can query."""
    rows = con.execute(
        "SELECT view_name FROM duckdb_views() WHERE NOT internal AND view_name NOT LIKE '\\_%' ESCAPE '\\' "
        "ORDER BY view_name"
    ).fetchall()
    return [r[0] for r in rows]


def query(lake: Lake, sql: str, params: list | dict | None = None, *, versions: dict[str, int | None] | None = None):
    """Run one query against the lake (tables optionally pinned) and return a polars frame (values bound)."""
    con = connect(lake, versions=versions)
    try:
        return con.sql(sql, params=params).pl()
    finally:
        con.close()
