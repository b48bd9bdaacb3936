"""`newslake release create|list|show`: named, citable snapshots of the lake (pipeline/releases.py)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable


def _run_finished_check() -> Callable[[str], bool]:
    """``is_finished(run_id)`` from the Dagster instance of ``--home``: a run still queued or running is not;
    a run id the instance does not know (another home, a script) counts as finished."""
    import dagster as dg

    instance = dg.DagsterInstance.get()
    unfinished = {
        dg.DagsterRunStatus.QUEUED,
        dg.DagsterRunStatus.NOT_STARTED,
        dg.DagsterRunStatus.STARTING,
        dg.DagsterRunStatus.STARTED,
        dg.DagsterRunStatus.CANCELING,
    }
    cache: dict[str, bool] = {}

    def is_finished(run_id: str) -> bool:
        if run_id not in cache:
            run = instance.get_run_by_id(run_id) if len(run_id) == 36 else None
            cache[run_id] = run is None or run.status not in unfinished
        return cache[run_id]

    return is_finished


def cmd_create(args) -> int:
    from newslake.cli import _env
    from newslake.history import lake_of
    from pipeline import releases, sql

    lake = lake_of(args)
    try:
        sql.require_tables(lake)
        _env(args)  # the Dagster home tells which runs are still writing
        rows = releases.create(lake, args.name, note=args.note or "", is_finished=_run_finished_check())
    except (sql.LakeNotFound, releases.ReleaseError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    _show(rows)
    print(f'release {args.name} recorded; query it with: newslake sql --release {args.name} "..."')
    return 0


def _show(rows) -> None:
    import polars as pl

    first = rows.row(0, named=True)
    print(f"release {first['release']} created {first['created_at']:%Y-%m-%d %H:%M:%S} UTC; note: {first['note']}")
    prov = json.loads(first["provenance"] or "{}")
    code = prov.get("code", {})
    print(
        f"code: newslake {code.get('package_version', '?')} git {code.get('git_commit', 'unknown')}; "
        f"models: {', '.join(prov.get('models', [])) or 'none'}"
    )
    with pl.Config(
        tbl_rows=50,
        tbl_hide_dataframe_shape=True,
        tbl_hide_column_data_types=True,
        fmt_str_lengths=64,
        tbl_width_chars=220,
    ):
        print(rows.select("table_name", "version", "rows", "content_sha256", "committed_at", "run_id"))


def cmd_list(args) -> int:
    import polars as pl

    from newslake.history import lake_of
    from pipeline import releases

    rows = releases.all_releases(lake_of(args))
    if rows.height == 0:
        print("no releases yet; create one with: newslake release create NAME --note TEXT")
        return 0
    summary = (
        rows.group_by("release")
        .agg(pl.col("created_at").first(), pl.col("rows").sum().alias("total_rows"), pl.col("note").first())
        .sort("created_at")
    )
    with pl.Config(tbl_rows=200, tbl_hide_dataframe_shape=True, tbl_hide_column_data_types=True, fmt_str_lengths=80):
        print(summary)
    return 0


def cmd_show(args) -> int:
    from newslake.history import lake_of
    from pipeline import releases

    try:
        rows = releases.get(lake_of(args), args.name)
    except releases.ReleaseError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(rows.to_dicts(), indent=2, default=str))
    else:
        _show(rows)
    return 0


def register(subparsers, common) -> None:
    r = subparsers.add_parser(
        "release",
        help="named, citable snapshots of the lake (create, list, show)",
        description="A release records the version, row count and content digest of every "
        "table at one consistent moment (no run's half-written state), with code and model "
        "versions; maintenance never deletes what a release needs.",
    )
    sub = r.add_subparsers(dest="release_command", required=True)
    c = sub.add_parser("create", help="record a release of the lake as it is now")
    common(c, inbox=False)
    c.add_argument("name", help="release name: letters, digits, '.', '_', '-' (e.g. 2026-11)")
    c.add_argument("--note", help="what this release is for (shown in the datasheet)")
    c.set_defaults(func=cmd_create)
    ls = sub.add_parser("list", help="every release")
    common(ls, inbox=False)
    ls.set_defaults(func=cmd_list)
    s = sub.add_parser("show", help="one release: tables, versions, rows, digests, provenance")
    common(s, inbox=False)
    s.add_argument("name")
    s.add_argument("--json", action="store_true", help="machine-readable")
    s.set_defaults(func=cmd_show)
