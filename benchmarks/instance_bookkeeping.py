"""Dagster's own bookkeeping for a 16x backfill: SQLite (the default instance) vs PostgreSQL (deploy/).

What a backfill costs the instance, with the lake work taken out: the real ``assets.results.emit`` records,
per day, one materialization per daily table (5) and one evaluation per check (6), through real runs of a
job shaped like ``daily_job`` (one multi-asset step per stage, partitioned by ``pub_days``, single-run
backfill policy) whose steps compute nothing. Measured per instance:

* adding the backfill's days as dynamic partitions (ingestion does this);
* ``--runs`` runs covering ``--days`` days (the 16x end-to-end benchmark made 49 runs over 4,800 documents
  of far-apart days), then the same days as one single-run backfill;
* the planner's query (``assets.automation.pending``: latest storage id per partition, twice), which
  ``newslake run`` and the partitions sensor make before every decision.

    python -m benchmarks.instance_bookkeeping [--days 240] [--runs 48]

PostgreSQL: the server at $DAGSTER_PG_HOST (default 127.0.0.1:5432, user $USER); a database is created for
the measurement and dropped. Without the server or dagster-postgres the PostgreSQL column prints SKIPPED.
"""

from __future__ import annotations

import argparse
import getpass
import os
import shutil
import sys
import tempfile
import time
import uuid
import warnings
from datetime import date, timedelta
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
warnings.filterwarnings("ignore")


def build_job():
    """A job with daily_job's shape and events, whose steps do no lake work."""
    import dagster as dg
    import polars as pl

    from assets.partitions import pub_days, single_run
    from assets.results import check_specs, emit
    from pipeline.stage import DAILY, CheckOutcome, StageResult, TableOutcome

    preview = pl.DataFrame({"doc_id": ["d1", "d2"], "pub_date": [date(2026, 1, 1)] * 2})

    def result(stage, keys):
        tables = [TableOutcome(t, k, 100, 1, preview, {"documents": 100}) for t in stage.tables for k in keys]
        checks = [
            CheckOutcome(t, name, True, k, {"missing": 0}) for t, c in stage.checks.items() for name in c for k in keys
        ]
        return StageResult(stage.name, tables, checks)

    def make(stage):
        @dg.multi_asset(
            name=stage.name,
            specs=[
                dg.AssetSpec(t, partitions_def=pub_days, deps=[prev] if prev else [])
                for t, prev in zip(stage.tables, (None, *stage.tables[:-1]), strict=True)
            ],
            check_specs=check_specs(stage, partitioned=True),
            partitions_def=pub_days,
            backfill_policy=single_run,
            can_subset=True,
        )
        def step(context):
            yield from emit(
                context, stage, result(stage, context.partition_keys), lake_uri=lambda t: f"/lake/{t}", seconds=0.0
            )

        return step

    assets = [make(s) for s in DAILY]
    job = dg.define_asset_job("daily_job", partitions_def=pub_days)
    defs = dg.Definitions(assets=assets, jobs=[job], executor=dg.in_process_executor)
    return defs.resolve_job_def("daily_job")


def measure(inst, job, *, days: list[str], runs: int) -> dict[str, float]:
    import dagster as dg

    from assets import automation, partitions
    from assets.instance import hold_event_connections

    hold_event_connections(inst)  # as `newslake` does with its instance (nothing under NEWSLAKE_INSTANCE_SYNC=full)
    out = {}
    t = time.perf_counter()
    partitions.add_keys(inst, days)
    out["add partitions"] = time.perf_counter() - t
    per = max(1, len(days) // runs)
    chunks = [days[i : i + per] for i in range(0, len(days), per)]
    tags = lambda a, b: automation.range_tags(a, b)  # noqa: E731
    quiet = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}  # as newslake run does
    t = time.perf_counter()
    for chunk in chunks:
        res = job.execute_in_process(instance=inst, run_config=quiet, tags=tags(chunk[0], chunk[-1]))
        assert res.success
    out[f"{len(chunks)} runs"] = time.perf_counter() - t
    t = time.perf_counter()
    assert job.execute_in_process(instance=inst, run_config=quiet, tags=tags(days[0], days[-1])).success
    out[f"1 run x {len(days)} days"] = time.perf_counter() - t
    t = time.perf_counter()
    _, todo, _ = automation.pending(inst, window_days=30)
    out["planner query"] = time.perf_counter() - t
    event = dg.DagsterEventType.ASSET_MATERIALIZATION
    done = inst.get_latest_storage_id_by_partition(dg.AssetKey("entity_daily"), event)
    assert set(done) == set(days), "every partition must be recorded"
    out["events"] = float(len(inst.get_records_for_run(inst.get_runs(limit=1)[0].run_id, limit=100000).records))
    return out


def sqlite_instance(root: Path):
    import dagster as dg

    home = root / "sqlite_home"
    home.mkdir(parents=True)
    shutil.copy(PROJECT / "assets" / "dagster.yaml", home / "dagster.yaml")
    return dg.DagsterInstance.from_config(str(home))


def postgres_instance(root: Path):
    """(instance, drop) or (None, reason)."""
    try:
        import dagster_postgres  # noqa: F401
        import psycopg2
    except ImportError as exc:
        return None, f"dagster-postgres not installed ({exc})"
    import dagster as dg

    env = {
        "DAGSTER_PG_HOST": os.environ.get("DAGSTER_PG_HOST", "127.0.0.1"),
        "DAGSTER_PG_PORT": os.environ.get("DAGSTER_PG_PORT", "5432"),
        "DAGSTER_PG_USERNAME": os.environ.get("DAGSTER_PG_USERNAME", getpass.getuser()),
        "DAGSTER_PG_PASSWORD": os.environ.get("DAGSTER_PG_PASSWORD", ""),
        "DAGSTER_PG_DB": f"newslake_bench_{uuid.uuid4().hex[:10]}",
    }
    try:
        admin = psycopg2.connect(
            host=env["DAGSTER_PG_HOST"],
            port=int(env["DAGSTER_PG_PORT"]),
            user=env["DAGSTER_PG_USERNAME"],
            password=env["DAGSTER_PG_PASSWORD"] or None,
            dbname="postgres",
            connect_timeout=5,
        )
    except psycopg2.OperationalError as exc:
        return None, f"PostgreSQL unreachable ({str(exc).strip()})"
    admin.autocommit = True
    admin.cursor().execute(f'CREATE DATABASE "{env["DAGSTER_PG_DB"]}"')
    os.environ.update(env)
    home = root / "pg_home"
    home.mkdir(parents=True)
    shutil.copy(PROJECT / "deploy" / "dagster-postgres.yaml", home / "dagster.yaml")
    inst = dg.DagsterInstance.from_config(str(home))

    def drop():
        inst.dispose()
        admin.cursor().execute(f'DROP DATABASE IF EXISTS "{env["DAGSTER_PG_DB"]}" WITH (FORCE)')
        admin.close()

    return inst, drop


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", type=int, default=240, help="days in the backfill (default: %(default)s)")
    ap.add_argument("--runs", type=int, default=48, help="runs the days are split into (default: %(default)s)")
    args = ap.parse_args(argv)
    start = date(1987, 1, 1)
    days = [(start + timedelta(days=i)).isoformat() for i in range(args.days)]
    job = build_job()
    results = {}
    with tempfile.TemporaryDirectory(prefix="nl_bookkeeping_") as tmp:
        from assets.instance import ENV, tune_sqlite_instance

        # SQLite as Dagster leaves it, then as the code location tunes it (assets/instance.py), same process
        os.environ[ENV] = "full"
        tune_sqlite_instance()
        inst = sqlite_instance(Path(tmp) / "defaults")
        results["SQLite defaults"] = measure(inst, job, days=days, runs=args.runs)
        inst.dispose()
        os.environ[ENV] = "normal"
        tune_sqlite_instance()
        inst = sqlite_instance(Path(tmp) / "tuned")
        results["SQLite (newslake)"] = measure(inst, job, days=days, runs=args.runs)
        inst.dispose()
        # PostgreSQL as Dagster leaves it (a new connection per statement group), then holding a connection
        for sync, name in (("full", "PostgreSQL defaults"), ("normal", "PostgreSQL (newslake)")):
            os.environ[ENV] = sync
            inst, drop = postgres_instance(Path(tmp) / sync)
            if inst is None:
                print(f"PostgreSQL: SKIPPED ({drop})")
                break
            try:
                results[name] = measure(inst, job, days=days, runs=args.runs)
            finally:
                drop()
    rows = list(next(iter(results.values())))
    names = list(results)
    print(
        f"\nDagster bookkeeping, {args.days} days, 5 materializations + 6 check evaluations per day, "
        f"SQLite with Dagster's defaults and as newslake sets it "
        f"(assets/instance.py: pooled engines, synchronous=NORMAL) "
        f"(load {os.getloadavg()[0]:.1f}, {os.cpu_count()} CPUs)"
    )
    print("| measure | " + " | ".join(names) + " |")
    print("|---|" + "---:|" * len(names))
    for row in rows:
        cells = [f"{results[n][row]:.0f}" if row == "events" else f"{results[n][row]:.2f} s" for n in names]
        print(f"| {row} | " + " | ".join(cells) + " |")
    per_run = {n: results[n][f"{len(range(0, args.days, max(1, args.days // args.runs)))} runs"] for n in names}
    n_runs = len(range(0, args.days, max(1, args.days // args.runs)))
    print("| per run (of the split backfill) | " + " | ".join(f"{per_run[n] / n_runs:.2f} s" for n in names) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
