"""`newslake` command line: run the pipeline through Dagster, query the lake with SQL, open the UI."""

from __future__ import annotations

import argparse
import contextlib
import importlib
import logging
import os
import shutil
import sys
import time
import warnings
from datetime import date
from pathlib import Path
from typing import Any

PROJECT = Path(__file__).resolve().parents[1]
DEFAULT_INBOX = "data/inbox"
DEFAULT_LAKE = "data/lake"
DEFAULT_HOME = "data/dagster"
DAGSTER_YAML = PROJECT / "assets" / "dagster.yaml"
# Further subcommands, one module each: ``register(subparsers, common)`` adds the parser and sets ``func``.
COMMAND_MODULES: tuple[str, ...] = ("release", "history", "export", "doctor", "migrate")


def _env(args) -> dict[str, str]:
    """Point resources and the Dagster instance at the chosen folders: flag > environment > default.

    Paths become absolute, so the working directory no longer matters (``newslake ui`` starts elsewhere).
    """
    lake = args.lake or os.environ.get("NEWSLAKE_LAKE") or DEFAULT_LAKE
    env = {"NEWSLAKE_LAKE": lake if "://" in lake else str(Path(lake).expanduser().resolve())}
    if hasattr(args, "inbox"):
        inbox = args.inbox or os.environ.get("NEWSLAKE_INBOX") or DEFAULT_INBOX
        env["NEWSLAKE_INBOX"] = str(Path(inbox).expanduser().resolve())
    config = (
        getattr(args, "config", None) or os.environ.get("NEWSLAKE_CONFIG") or os.environ.get("NEWSLAKE_INGEST_CONFIG")
    )
    env["NEWSLAKE_CONFIG"] = str(Path(config).expanduser().resolve()) if config else ""
    env["NEWSLAKE_INGEST_CONFIG"] = env["NEWSLAKE_CONFIG"]
    home = Path(args.home or os.environ.get("DAGSTER_HOME") or DEFAULT_HOME).expanduser().resolve()
    env["DAGSTER_HOME"] = str(home)
    os.environ.update(env)
    return env


def _home(env) -> Path:
    from newslake import control

    home = Path(env["DAGSTER_HOME"])
    control.prepare_home(home, DAGSTER_YAML)
    return home


def _date(value: str) -> date:
    from pipeline.storage import validate_date

    try:
        return validate_date(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


class _Bars:
    """Progress bars fed by pipeline.progress (runs execute in this process)."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self.bars: dict[str, Any] = {}  # tqdm bars by label (tqdm is imported only once one is drawn)

    def __call__(self, what: str, done: int, total: int) -> None:
        if not self.enabled:
            return
        from tqdm import tqdm

        bar = self.bars.get(what)
        if bar is None or bar.total != total:
            if bar is not None:
                bar.close()
            bar = self.bars[what] = tqdm(total=total, desc=what, unit="", leave=False, file=sys.stderr)
        bar.n = done
        bar.refresh()
        if done >= total:
            bar.close()
            self.bars.pop(what, None)


def _plain_run(args) -> bool:
    """A run of everything that is not done (no day options): the only kind the no-op fast path answers."""
    return not (args.date or args.date_from or args.date_to or args.all or args.stale or args.skip_ingest)


def cmd_run(args) -> int:
    try:
        return _cmd_run(args)
    except KeyboardInterrupt:  # also while it waits for another run's lock, or checks the lake before any work
        print("\ninterrupted: committed work is kept; the next newslake run finishes the rest", file=sys.stderr)
        return 130


def _cmd_run(args) -> int:
    env = _env(args)
    home = _home(env)
    from newslake import control, interrupts

    if _plain_run(args) and _noop(env, home):
        return 0  # before importing anything heavy (a recorded state implies the lake passed the check below)
    from newslake.migrate import outdated_message
    from pipeline.storage import Lake

    if outdated := outdated_message(Lake(env["NEWSLAKE_LAKE"])):  # before any work: never half a run on it
        print(outdated, file=sys.stderr)
        return 2
    lock = control.file_lock(
        home / ".run.lock",
        what="run",
        wait_message="another newslake run is using this Dagster home; waiting for it ...",
    )
    with lock, interrupts.interrupts_as_keyboard_interrupt():
        return _run(args, home)


def _noop(env: dict[str, str], home: Path) -> bool:
    """Answer a run with nothing to do without importing Dagster: when everything the last plain run decided
    from is unchanged (its recorded fingerprint, :func:`newslake.control.noop_fingerprint`), print the summary
    it recorded. False (the full path) on any difference, or while another run holds the Dagster home."""
    from newslake import control

    t0 = time.monotonic()
    with control.try_lock(home / ".run.lock") as locked:
        summary = control.recorded_noop(home, control.noop_fingerprint(env, PROJECT)) if locked else None
    if summary is None:
        return False
    print(
        f"{env['NEWSLAKE_INBOX']}, settings, code, tables and run history unchanged since the last run: nothing to do",
        file=sys.stderr,
    )
    print(f"\nnewslake run finished in {time.monotonic() - t0:.1f}s; 0 day(s) processed by this run")
    sys.stdout.write(summary)
    return True


def _run(args, home: Path) -> int:
    from pipeline.config import Settings
    from pipeline.entities.runner import warm

    # The daily runs below tag in this process: the tagging workers start now, while this process imports
    # Dagster and ingests (they are not waited for; a run with nothing to tag leaves them unused).
    warm(settings=Settings.load())
    from assets import automation, partitions
    from assets.definitions import defs
    from newslake import control
    from pipeline import planning, progress, storage
    from pipeline.config import Settings

    control.forget_noop(home)
    settings = Settings.load()
    bars = _Bars(sys.stderr.isatty() and not args.no_progress)
    progress.set_sink(bars)
    inst = control.instance(home)
    reaped = control.reap_dead_runs(inst)
    if reaped:
        print(
            f"marked {len(reaped)} run(s) of killed processes as failed: {', '.join(r[:8] for r in reaped)}",
            file=sys.stderr,
        )
    log_level = "INFO" if args.verbose else "WARNING"
    lake = storage.Lake(settings.lake)
    t0 = time.monotonic()
    if args.stale and not args.skip_ingest:
        _request_reparse(inst, lake, settings)
    if not args.skip_ingest and _inbox_unchanged(inst, settings):
        print(f"{settings.inbox} unchanged since its last ingestion: nothing to ingest", file=sys.stderr)
    elif not args.skip_ingest:
        print(f"ingesting {settings.inbox} ...", file=sys.stderr)
        if not control.execute(defs, "ingest_job", inst, tags={}, log_level=log_level):
            print("ingestion failed; see `newslake ui` for the run's logs", file=sys.stderr)
            return 1
    # The lake is the truth about which days hold documents: a new Dagster home (or one that lost its state)
    # on an existing lake learns its partitions here; their days are then not done until processed.
    partitions.add_keys(inst, _lake_keys(lake))
    keys, todo, _ = automation.pending(inst, window_days=settings.dedup.window_days)
    if args.stale:
        todo = sorted(set(todo) | set(automation.outdated(inst, settings)))
    selected = _selected_keys(args, keys, todo)
    if selected is None:
        return 2
    failed = []
    for a, b in planning.key_ranges(selected, keys=keys):
        print(f"processing {a} .. {b}", file=sys.stderr)
        if not control.execute(defs, "daily_job", inst, tags=automation.range_tags(a, b), log_level=log_level):
            failed.append((a, b))
            break  # later ranges may depend on this one through the dedup window
    if failed:
        _summary(lake, selected, time.monotonic() - t0)
        print(f"FAILED: {failed}; see `newslake ui` for the run logs", file=sys.stderr)
        return 1
    # Fingerprint first, then check that nothing is left to do, then the summary: whatever changes after the
    # fingerprint was taken makes the next run's fingerprint differ, so a recorded state is never stale.
    fingerprint = control.noop_fingerprint(dict(os.environ), PROJECT) if _plain_run(args) else None
    stale = automation.outdated(inst, settings)
    body = _summary_text(lake) + _outdated_text(
        stale, automation.current(settings), _outdated_files(inst, lake, settings)
    )
    print(f"\nnewslake run finished in {time.monotonic() - t0:.1f}s; {len(selected)} day(s) processed by this run")
    sys.stdout.write(body)
    window = settings.dedup.window_days
    if fingerprint and _inbox_unchanged(inst, settings) and not automation.pending(inst, window_days=window)[1]:
        control.record_noop(home, fingerprint, body)
    return 0


def _outdated_files(inst, lake, settings):
    """``files`` rows last parsed by older ingest code or other ``[ingest]`` settings, with ``in_inbox``:
    whether the path is still there."""
    import polars as pl

    from assets.automation import ingest_code_versions
    from pipeline import storage
    from pipeline.ingest.manifest import parsed_by_other_code
    from pipeline.schema import FILES
    from pipeline.stage import INGEST

    rows = parsed_by_other_code(
        storage.read(lake, FILES), versions=ingest_code_versions(inst, settings), current=INGEST.code_version
    )
    inbox = Path(settings.inbox)
    present = [(inbox / p).is_file() for p in rows["path"].to_list()]
    return rows.with_columns(pl.Series("in_inbox", present, dtype=pl.Boolean))


def _request_reparse(inst, lake, settings) -> None:
    """Mark the inbox files older ingest code or other settings parsed, so this run's ingestion parses them again."""
    import polars as pl

    from pipeline import storage
    from pipeline.ingest.manifest import CODE_CHANGED
    from pipeline.schema import FILES

    rows = _outdated_files(inst, lake, settings).filter(pl.col("in_inbox"))
    if rows.height:
        marked = rows.select(FILES.column_names).with_columns(pl.lit(CODE_CHANGED).alias("reason"))
        storage.upsert(lake, FILES, marked, code_version="stale-request")
        print(
            f"{rows.height} file(s) to parse again (older ingest code or other settings parsed them)", file=sys.stderr
        )


def _outdated_text(outdated, current, files) -> str:
    """What the summary says about days and files written by older code or settings (nothing when none)."""
    if not outdated and not files.height:
        return ""
    from pipeline.planning import describe_outdated
    from pipeline.stage import INGEST

    lines = []
    for (version,), group in files.group_by("code_version", maintain_order=True):
        gone = group.height - int(group["in_inbox"].sum())
        note = f"; {gone} no longer in the inbox, kept as they are" if gone else ""
        lines.append(f"ingest: {group.height} file(s) parsed by {version}, now {INGEST.code_version}{note}")
    lines += describe_outdated(outdated, current)
    redo = bool(outdated) or bool(files["in_inbox"].any())
    return (
        f"written by older code or other settings: {files.height} file(s), {len(outdated)} day(s), "
        "kept as they are until recomputed\n"
        + "".join(f"  {line}\n" for line in lines)
        + ("recompute them: newslake run --stale\n" if redo else "")
    )


def _lake_keys(lake) -> list[str]:
    from pipeline import storage
    from pipeline.schema import DOCUMENTS
    from pipeline.stage import day_key

    rows = storage.partition_rows(lake, DOCUMENTS)
    return [day_key(d) for d, n in rows.iter_rows() if n]


def _inbox_unchanged(inst, settings) -> bool:
    """True when the inbox's names, sizes and times equal those the last ingestion saw and no file waits for a
    retry (a timeout, a repair): then an ingest run would find nothing to do, so none is made."""
    from assets.automation import last_ingested_fingerprint
    from pipeline import storage
    from pipeline.ingest.inbox import inbox_fingerprint
    from pipeline.ingest.manifest import PENDING
    from pipeline.schema import FILES

    inbox = Path(settings.inbox)
    if not inbox.is_dir() or inbox_fingerprint(inbox) != last_ingested_fingerprint(inst):
        return False
    files = storage.read(storage.Lake(settings.lake), FILES, columns=["status", "reason"])
    return files.height > 0 and not files["reason"].is_in(list(PENDING)).any()


def _selected_keys(args, keys: list[str], todo: list[str]) -> list[str] | None:
    """The partition keys this run processes: the options' days, or every day that is not done."""
    from pipeline.stage import day_key

    if args.date_from or args.date_to:
        if not (args.date_from and args.date_to) or args.date_from > args.date_to:
            print("--from and --to go together, --from first", file=sys.stderr)
            return None
        lo, hi = day_key(args.date_from), day_key(args.date_to)
        chosen = {k for k in keys if k != "undated" and lo <= k <= hi} | {day_key(d) for d in args.date or []}
    elif args.date:
        chosen = {day_key(d) for d in args.date}
    elif args.all:
        chosen = set(keys)
    else:
        return todo
    missing = sorted(chosen - set(keys))
    if missing:
        print(f"no documents on {', '.join(missing)}: nothing to process there", file=sys.stderr)
    return sorted(chosen & set(keys))


def _summary(lake, days, seconds: float) -> None:
    print(f"\nnewslake run finished in {seconds:.1f}s; {len(days)} day(s) processed by this run")
    sys.stdout.write(_summary_text(lake))


def _summary_text(lake) -> str:
    """Documents per day, rejects, table versions: a function of the tables' current versions only."""
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        _print_summary(lake)
    return out.getvalue()


def _print_summary(lake) -> None:
    import polars as pl

    from pipeline import storage
    from pipeline.schema import DOCUMENTS, DUPLICATES, ENTITIES, REJECTS, SENTENCES

    # Counts per day come from the Delta log (file statistics), so the summary costs the same on any lake.
    def per_day(table, name):
        return storage.partition_rows(lake, table).rename({"rows": name})

    docs = per_day(DOCUMENTS, "documents")
    table = docs
    for t, name in ((SENTENCES, "sentences"), (ENTITIES, "entities")):
        table = table.join(per_day(t, name), on="pub_date", how="left", nulls_equal=True)
    table = table.fill_null(0).sort("pub_date", nulls_last=False)
    shown = table.tail(20)
    dated = [d for d in shown["pub_date"].to_list() if d is not None]
    dups = (
        storage.read(lake, DUPLICATES, dates=dated, columns=["pub_date", "is_canonical"])
        .filter(~pl.col("is_canonical"))
        .group_by("pub_date")
        .agg(pl.len().alias("duplicates"))
    )
    shown = (
        shown.join(dups, on="pub_date", how="left", nulls_equal=True)
        .fill_null(0)
        .select("pub_date", "documents", "duplicates", "sentences", "entities")
    )
    rejects = storage.read(lake, REJECTS, columns=["reason"])
    n_docs = int(docs["documents"].sum()) if docs.height else 0
    undated = int(docs.filter(pl.col("pub_date").is_null())["documents"].sum()) if docs.height else 0
    print(
        f"documents: {n_docs} on {table.height - (1 if undated else 0)} day(s), {undated} undated "
        "(pub_date NULL: see the undated_documents view)"
    )
    with pl.Config(tbl_rows=20, tbl_hide_dataframe_shape=True, tbl_hide_column_data_types=True):
        print(shown)
        if table.height > 20:
            print(f"(last 20 of {table.height} days)")
        print(f"rejects: {rejects.height}")
        if rejects.height:
            print(rejects.group_by("reason").len().sort("len", descending=True).rename({"len": "count"}))
    print("table versions: " + ", ".join(f"{k}=v{v}" for k, v in storage.table_versions(lake).items() if v is not None))
    print(f"tables under: {lake.root}")
    print(
        'try: newslake sql "SELECT norm, label, sum(mentions) AS n FROM entity_daily GROUP BY ALL '
        'ORDER BY n DESC LIMIT 10"'
    )


def cmd_sql(args) -> int:
    # No _env() here: a query has no side effects (no Dagster home, no folder is created).
    from newslake.history import lake_of
    from pipeline import releases
    from pipeline import sql as lake_sql

    lake = lake_of(args)
    try:
        lake_sql.require_tables(lake)
        pinned = releases.pinned_versions(lake, release=args.release, as_of=args.as_of, pins=args.version or ())
    except (lake_sql.LakeNotFound, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    con = lake_sql.connect(lake, versions=pinned)
    params = dict(p.split("=", 1) for p in args.param) if args.param else None
    if args.query:
        return _run_query(con, args.query, params, args.format)
    if not sys.stdin.isatty():
        return _shell(con, lake_sql, lines=sys.stdin, params=params, fmt=args.format)
    return _shell(con, lake_sql)


def _run_query(con, query: str, params, fmt: str) -> int:
    """Run every statement of ``query`` in order and print each result; stop at the first error (exit 2)."""
    import duckdb

    try:
        statements = con.extract_statements(query)
    except duckdb.Error as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for st in statements:
        # Each statement gets the parameters it names (DuckDB refuses unused ones).
        bound = {k: v for k, v in (params or {}).items() if k in st.named_parameters} or None
        try:
            rel = con.sql(st.query, params=bound)
            if rel is None:  # a statement without a result
                continue
            df = rel.pl()
        except duckdb.Error as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        _print_frame(df, fmt)
    return 0


def _print_frame(df, fmt: str) -> None:
    import polars as pl

    from pipeline.export import binary_as_hex, nested_as_json

    if fmt == "csv":
        # CSV has no lists, structs or bytes: nested values as JSON text (NULL stays empty), bytes as hex
        sys.stdout.write(nested_as_json(binary_as_hex(df)).write_csv())
    elif fmt == "json":
        sys.stdout.write(binary_as_hex(df).write_ndjson())
    else:
        with pl.Config(tbl_rows=100, tbl_cols=-1, fmt_str_lengths=80, tbl_width_chars=160):
            print(df)
    sys.stdout.flush()


def _shell(con, lake_sql, *, lines=None, params=None, fmt: str = "table") -> int:
    """The interactive shell, or (``lines`` given) the same reading a piped script: dot-commands at the start
    of a statement, SQL run when a line ends with ';' (and at the end of input). A script stops at the
    first error with exit status 2."""
    buf: str  # the statement typed so far (the prompt below reads it)
    interactive = lines is None
    if interactive:
        with contextlib.suppress(ImportError):
            import readline  # noqa: F401  (line editing and history for input())
        print("newslake SQL (DuckDB). Views: " + ", ".join(lake_sql.views(con)))
        print("End statements with ';'. Commands: .tables, .schema TABLE, .quit")
        source = iter(lambda: input("newslake> " if not buf else "     ...> "), None)
    else:
        source = (line.rstrip("\n") for line in lines)
    buf, status = "", 0
    while True:
        try:
            line = next(source)
        except (StopIteration, EOFError, KeyboardInterrupt):
            if interactive:
                print()
            elif buf.strip():
                status = _run_query(con, buf, params, fmt)
            return status
        cmd = line.strip()
        if not buf and cmd in (".quit", ".exit", "\\q"):
            return status
        if not buf and cmd == ".tables":
            print("\n".join(lake_sql.views(con)), flush=True)
            continue
        if not buf and cmd.startswith(".schema"):
            name = cmd.split(maxsplit=1)[1] if " " in cmd else ""
            if name not in lake_sql.views(con):
                print(f"unknown table {name!r}; tables: {', '.join(lake_sql.views(con))}", flush=True)
                status = 2
                if not interactive:
                    return status
                continue
            _run_query(con, f'DESCRIBE "{name}"', None, "table")
            continue
        if not buf and cmd.startswith("."):
            print(f"unknown command {cmd.split()[0]!r}; commands: .tables, .schema TABLE, .quit", flush=True)
            status = 2
            if not interactive:
                return status
            continue
        buf += line + "\n"
        if buf.rstrip().endswith(";"):
            status = _run_query(con, buf, params if not interactive else None, fmt)
            buf = ""
            if status and not interactive:
                return status


def cmd_maintain(args) -> int:
    env = _env(args)
    home = _home(env)
    from assets.definitions import defs
    from newslake import control
    from pipeline import maintenance, storage

    run_config = {
        "ops": {"maintain_lake": {"config": {"retention_hours": args.retention_hours}}},
        "loggers": {"console": {"config": {"log_level": "WARNING"}}},
    }
    with control.file_lock(
        home / ".run.lock",
        what="maintain",
        wait_message="a newslake run is using this Dagster home; waiting for it ...",
    ):
        inst = control.instance(home)
        control.reap_dead_runs(inst)
        res = defs.resolve_job_def("maintenance_job").execute_in_process(
            instance=inst, run_config=run_config, tags=control.run_tags(), raise_on_error=False
        )
    lake = storage.Lake(os.environ["NEWSLAKE_LAKE"])
    for name in storage.table_versions(lake):
        counts = maintenance.file_counts(lake, name)
        if counts:
            kept = maintenance.retention(lake, name)  # which versions stay readable, what releases keep
            print(
                f"{name}: {sum(counts.values())} files, at most {max(counts.values())} per partition; "
                f"{kept.describe() if kept else ''}"
            )
    return 0 if res.success else 1


def _default_signals() -> None:
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def cmd_ui(args) -> int:
    import signal
    import subprocess

    env = _env(args)
    home = _home(env)
    from newslake import control

    control.reap_dead_runs(control.instance(home))
    workspace = PROJECT / "workspace.yaml"
    target = ["-w", str(workspace)] if workspace.exists() else ["-m", "assets.definitions", "-a", "defs"]
    exe = shutil.which("dagster") or str(Path(sys.executable).with_name("dagster"))
    cmd = [exe, "dev", *target, "-h", args.host, "-p", str(args.port)]
    print(f"Dagster UI on http://{args.host}:{args.port} (run history in {home})", file=sys.stderr)
    # Started from the Dagster home, not the project: `dagster dev` loads a .env from its working directory.
    # Its own process group, so SIGINT/SIGTERM to newslake stop the webserver, the daemon and their children.
    # With SIGINT and SIGTERM at their defaults: started in the background of a shell, newslake inherits SIGINT
    # ignored, and `dagster dev` gives SIGTERM SIGINT's disposition: it would then ignore the stop below.
    proc = subprocess.Popen(cmd, cwd=home, start_new_session=True, preexec_fn=_default_signals)

    def stop(signum, frame):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGINT)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        code = proc.wait(timeout=None)
    finally:
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
    return 0 if code in (0, -signal.SIGINT, 130) else code


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="newslake", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)

    def common(sp, inbox=True):
        if inbox:
            sp.add_argument(
                "--inbox", default=None, help=f"folder of raw input files (default: $NEWSLAKE_INBOX or {DEFAULT_INBOX})"
            )
            sp.add_argument(
                "--config",
                default=None,
                metavar="TOML",
                help="settings file (default: $NEWSLAKE_CONFIG): stages' options, JSONL mapping",
            )
        sp.add_argument(
            "--lake",
            default=None,
            help=f"table root: a folder or s3://bucket/prefix (default: $NEWSLAKE_LAKE or {DEFAULT_LAKE})",
        )
        sp.add_argument(
            "--home",
            default=None,
            help=f"Dagster home: run history, schedules (default: $DAGSTER_HOME or {DEFAULT_HOME})",
        )

    r = sub.add_parser(
        "run",
        help="ingest the inbox and materialize every stage through Dagster",
        description="Ingest new inbox files, then deduplicate, segment and tag the publication "
        "days they touched (and days never processed), one Dagster run per range of days.",
    )
    common(r)
    r.add_argument(
        "--date",
        type=_date,
        action="append",
        metavar="YYYY-MM-DD",
        help="process only these days (repeatable); a backfill of given days",
    )
    r.add_argument(
        "--from",
        dest="date_from",
        type=_date,
        metavar="YYYY-MM-DD",
        help="backfill every day from this one (with --to; inclusive)",
    )
    r.add_argument("--to", dest="date_to", type=_date, metavar="YYYY-MM-DD", help="last day of the backfill")
    r.add_argument("--all", action="store_true", help="reprocess every day found in the documents table")
    r.add_argument(
        "--stale",
        action="store_true",
        help="also parse the files and redo the days that older code or other settings parsed or wrote "
        "(listed by every run)",
    )
    r.add_argument("--skip-ingest", action="store_true", help="do not read the inbox, only process days")
    r.add_argument("--no-progress", action="store_true", help="no progress bars")
    r.add_argument("-v", "--verbose", action="store_true", help="show Dagster's step logs")
    r.set_defaults(func=cmd_run)

    s = sub.add_parser(
        "sql",
        help="query the lake with DuckDB (one-shot or interactive), now or at a release",
        description="Every table is a view of its current Delta version (or of the version "
        "--release/--as-of/--version name); also unique_documents (canonical, dated) and "
        "undated_documents. Without QUERY: an interactive shell, or a script read from stdin "
        "(every statement's result is printed; .tables and .schema work there too).",
    )
    common(s, inbox=False)
    s.add_argument(
        "query",
        nargs="?",
        help="SQL to run (several statements: every result is printed); bind values with $name and --param name=value",
    )
    s.add_argument("--param", action="append", metavar="NAME=VALUE", help="query parameter (repeatable)")
    s.add_argument(
        "--format",
        choices=["table", "csv", "json"],
        default="table",
        help="output; csv writes list columns as JSON text",
    )
    when = s.add_mutually_exclusive_group()
    when.add_argument("--release", metavar="NAME", help="every table as recorded by this release")
    when.add_argument(
        "--as-of",
        metavar="TIMESTAMP",
        help="every table as it was at this time (ISO 8601; no zone = UTC; a date = 00:00 UTC)",
    )
    s.add_argument(
        "--version",
        action="append",
        metavar="TABLE=N",
        help="this table at Delta version N (repeatable; on top of --release/--as-of)",
    )
    s.set_defaults(func=cmd_sql)

    m = sub.add_parser("maintain", help="compact small files and vacuum old ones (through Dagster)")
    common(m, inbox=False)
    m.add_argument(
        "--retention-hours",
        type=int,
        default=168,
        help="keep files needed by versions younger than this (default: %(default)s = 7 days)",
    )
    m.set_defaults(func=cmd_maintain)

    u = sub.add_parser("ui", help="start the Dagster UI (127.0.0.1 only)")
    common(u)
    u.add_argument("--port", type=int, default=3000)
    u.add_argument("--host", default="127.0.0.1", help="bind address (default: %(default)s; the UI has no login)")
    u.set_defaults(func=cmd_ui)
    for name in COMMAND_MODULES:
        importlib.import_module(f"newslake.{name}").register(sub, common)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    warnings.filterwarnings("ignore", message=".*is currently in beta.*")
    # newslake evaluates checks per partition and fails the step itself when one fails (assets/results.py), so
    # Dagster's note that the blocking checks' outputs were not yielded is noise on the terminal.
    logging.getLogger("dagster._core.execution.plan.active").addFilter(
        lambda record: "emitted no result" not in record.getMessage()
    )
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
