"""`newslake history [TABLE]`: every version of a table with time, run, operation, rows changed, provenance."""

from __future__ import annotations

import os
import sys


def lake_of(args):
    """The lake a read-only command uses: --lake > $NEWSLAKE_LAKE > data/lake, as ``newslake run`` resolves it,
    without creating anything (no Dagster home, no folder)."""
    from newslake.cli import DEFAULT_LAKE
    from pipeline.storage import Lake

    return Lake(args.lake or os.environ.get("NEWSLAKE_LAKE") or DEFAULT_LAKE)


_ROW_METRICS = (
    "num_added_rows",
    "num_output_rows",
    "num_target_rows_inserted",
    "num_target_rows_updated",
    "num_deleted_rows",
    "num_target_rows_deleted",
    "num_copied_rows",
    "num_target_rows_copied",
)


def history_frame(lake, name: str, limit: int):
    import polars as pl

    from pipeline import releases

    rows = []
    for h in releases.commits(lake, name)[:limit]:
        m = h.get("operationMetrics") or {}
        added = m.get("num_added_rows", m.get("num_target_rows_inserted", 0) or 0) or 0
        updated = m.get("num_target_rows_updated", 0) or 0
        deleted = m.get("num_deleted_rows", m.get("num_target_rows_deleted", 0)) or 0
        prov = {
            k.removeprefix("newslake."): v
            for k, v in h.items()
            if k.startswith("newslake.") and k not in ("newslake.run_id",) and v
        }
        rows.append(
            {
                "table": name,
                "version": h["version"],
                "committed_at": h["committed_at"],
                "operation": h.get("operation"),
                "run_id": h["run_id"],
                "rows_added": int(added),
                "rows_updated": int(updated),
                "rows_deleted": int(deleted),
                "provenance": " ".join(
                    f"{k}={str(v)[:12] if k == 'git_commit' else v}" for k, v in sorted(prov.items())
                ),
            }
        )
    return pl.DataFrame(
        rows,
        schema={
            "table": pl.String,
            "version": pl.Int64,
            "committed_at": pl.Datetime("us", "UTC"),
            "operation": pl.String,
            "run_id": pl.String,
            "rows_added": pl.Int64,
            "rows_updated": pl.Int64,
            "rows_deleted": pl.Int64,
            "provenance": pl.String,
        },
    )


def cmd_history(args) -> int:
    import polars as pl

    from pipeline import sql
    from pipeline.schema import TABLES

    lake = lake_of(args)
    try:
        present = sql.require_tables(lake)
    except sql.LakeNotFound as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.table and args.table not in TABLES:
        print(f"error: unknown table {args.table!r}; tables: {', '.join(present)}", file=sys.stderr)
        return 2
    names = [args.table] if args.table else present
    frame = pl.concat([history_frame(lake, n, args.limit) for n in names])
    if args.format == "csv":
        sys.stdout.write(frame.write_csv())
    elif args.format == "json":
        sys.stdout.write(frame.write_ndjson())
    else:
        with pl.Config(
            tbl_rows=-1,
            tbl_cols=-1,
            fmt_str_lengths=120,
            tbl_width_chars=220,
            tbl_hide_dataframe_shape=True,
            tbl_hide_column_data_types=True,
        ):
            print(frame)
    return 0


def register(subparsers, common) -> None:
    h = subparsers.add_parser(
        "history",
        help="versions of a table (or every table): time, run, rows changed",
        description="Newest first. A version listed here is readable (newslake sql "
        "--version TABLE=N) while maintenance keeps its files: the last N versions and "
        "every version a release names always are.",
    )
    common(h, inbox=False)
    h.add_argument("table", nargs="?", help="one table (default: every table)")
    h.add_argument("--limit", type=int, default=20, help="versions per table (default: %(default)s)")
    h.add_argument("--format", choices=["table", "csv", "json"], default="table")
    h.set_defaults(func=cmd_history)
