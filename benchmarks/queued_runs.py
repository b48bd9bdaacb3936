"""Four ``daily_job`` runs over disjoint day ranges through Dagster's run queue, at once vs one at a time.

The production path (issue 18): a real ``$DAGSTER_HOME`` with newslake's instance settings, the runs
submitted with ``dagster job launch`` to the ``QueuedRunCoordinator``, dequeued by ``dagster-daemon`` and
launched by the default run launcher (each run its own process). Two builds of the same synthetic inbox
(four ranges of ``--days`` days, further apart than the dedup window, ``--docs`` stories a day):

* **serial**: the queue admits one run at a time (``max_concurrent_runs: 1``);
* **concurrent**: four at a time (newslake's setting).

Ingestion is done before (not timed). Printed per build: the wall time from the first run's start to the last
run's end (Dagster's run records), each run's duration, the CPU count and load; then whether the tables are
equal (every table, rows sorted, run ids and times left out). ``--s3`` puts both lakes on a local moto S3
server instead of a folder.

    python -m benchmarks.queued_runs [--days 4] [--docs 40] [--s3]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from benchmarks import soak
from benchmarks._common import PROJECT, load

STARTS = [date(2026, 1, 5), date(2026, 3, 2), date(2026, 4, 27), date(2026, 6, 22)]  # 56 days apart
INGEST = """
import dagster as dg
from assets.definitions import defs
assert defs.resolve_job_def("ingest_job").execute_in_process(instance=dg.DagsterInstance.get()).success
"""
VOLATILE = {"run_id", "ingested_at", "rejected_at"}


def make_inbox(inbox: Path, *, days: int, docs: int) -> list[tuple[str, str]]:
    rng = random.Random(5)
    inbox.mkdir(parents=True)
    for start in STARTS:
        previous = None
        for i in range(days):
            day = start + timedelta(days=i)
            records = [soak.story(rng, day, k) for k in range(docs)] + [soak.market_report(day, rng)]
            if previous:
                records.append(dict(previous, id=f"{day:%Y%m%d}-copy", date=f"{day.isoformat()}T05:00:00Z"))
            previous = records[0]
            (inbox / f"feed-{day.isoformat()}.jsonl").write_text("\n".join(json.dumps(r) for r in records) + "\n")
    return [(s.isoformat(), (s + timedelta(days=days - 1)).isoformat()) for s in STARTS]


def build(root: Path, lake: str, inbox: Path, ranges, *, concurrency: int, extra_env: dict) -> dict:
    import dagster as dg

    home = root / "home"
    home.mkdir(parents=True)
    yaml = (PROJECT / "assets" / "dagster.yaml").read_text()
    assert "max_concurrent_runs: 4" in yaml
    (home / "dagster.yaml").write_text(yaml.replace("max_concurrent_runs: 4", f"max_concurrent_runs: {concurrency}"))
    env = {
        **os.environ,
        **extra_env,
        "DAGSTER_HOME": str(home),
        "NEWSLAKE_LAKE": lake,
        "NEWSLAKE_INBOX": str(inbox),
        "NEWSLAKE_CONFIG": "",
        "NEWSLAKE_INGEST_CONFIG": "",
    }
    subprocess.run([sys.executable, "-c", INGEST], env=env, cwd=PROJECT, check=True, capture_output=True)
    exe = Path(sys.executable).parent
    workspace = str(PROJECT / "workspace.yaml")
    launches = [
        subprocess.Popen(
            [
                str(exe / "dagster"),
                "job",
                "launch",
                "-w",
                workspace,
                "-j",
                "daily_job",
                "--tags",
                json.dumps({"dagster/asset_partition_range_start": a, "dagster/asset_partition_range_end": b}),
            ],
            env=env,
            cwd=home,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for a, b in ranges
    ]
    for p in launches:
        out, err = p.communicate(timeout=600)
        if p.returncode:
            sys.exit(f"dagster job launch failed:\n{err[-3000:]}")
    t0 = time.monotonic()
    daemon = subprocess.Popen(
        [str(exe / "dagster-daemon"), "run", "-w", workspace],
        env=env,
        cwd=home,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        with dg.DagsterInstance.from_config(str(home)) as inst:
            while True:
                records = inst.get_run_records(dg.RunsFilter(job_name="daily_job"))
                if len(records) >= len(ranges) and all(r.dagster_run.is_finished for r in records):
                    break
                if time.monotonic() - t0 > 3600:
                    sys.exit("runs did not finish within an hour")
                time.sleep(1)
            queue_wall = time.monotonic() - t0
    finally:
        os.killpg(daemon.pid, signal.SIGINT)
        try:
            daemon.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(daemon.pid, signal.SIGKILL)
    statuses = [r.dagster_run.status.value for r in records]
    return {
        "wall": max(r.end_time for r in records) - min(r.start_time for r in records),
        "queue_wall": queue_wall,
        "runs": sorted(
            (r.dagster_run.tags.get("dagster/asset_partition_range_start"), r.end_time - r.start_time) for r in records
        ),
        "statuses": statuses,
    }


def snapshot(lake_uri: str, storage_options: dict | None = None) -> dict:
    import polars as pl

    from pipeline import storage
    from pipeline.schema import TABLES
    from pipeline.storage import Lake

    lake, out = Lake(lake_uri, storage_options=storage_options or {}), {}
    for name, table in TABLES.items():
        if name == "releases" or not lake.exists(table):
            continue
        df = storage.read(lake, table)
        df = df.select([c for c in df.columns if c not in VOLATILE])
        sortable = [c for c, t in df.schema.items() if not isinstance(t, pl.List | pl.Struct)]
        out[name] = df.sort(sortable, nulls_last=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", type=int, default=4, help="days per range")
    ap.add_argument("--docs", type=int, default=40, help="stories per day")
    ap.add_argument("--s3", action="store_true", help="lakes on a local moto S3 server")
    a = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="queued-runs-"))
    stack = contextlib.ExitStack()
    try:
        ranges = make_inbox(tmp / "inbox", days=a.days, docs=a.docs)
        extra_env: dict[str, str] = {}
        opts: dict[str, str] = {}
        lakes = {"serial": str(tmp / "serial" / "lake"), "concurrent": str(tmp / "concurrent" / "lake")}
        if a.s3:
            from benchmarks._s3 import local_s3

            extra_env = stack.enter_context(local_s3("lake"))
            opts = dict(extra_env)
            lakes = {"serial": "s3://lake/serial", "concurrent": "s3://lake/concurrent"}
        n_docs = len(ranges) * a.days * (a.docs + 2) - len(ranges)
        print(
            f"{len(ranges)} ranges x {a.days} days, ~{n_docs} documents; lake: {'moto S3' if a.s3 else 'local'}; "
            f"{os.cpu_count()} CPUs; {load()}",
            flush=True,
        )
        results = {}
        for name, concurrency in (("serial", 1), ("concurrent", 4)):
            r = build(tmp / name, lakes[name], tmp / "inbox", ranges, concurrency=concurrency, extra_env=extra_env)
            results[name] = r
            runs = ", ".join(f"{start}: {sec:.1f}s" for start, sec in r["runs"])
            print(
                f"{name:10s} max_concurrent_runs={concurrency}: first start -> last end {r['wall']:6.1f} s "
                f"(queue to finished {r['queue_wall']:.1f} s); runs: {runs}; statuses {set(r['statuses'])}; {load()}",
                flush=True,
            )
        want, got = snapshot(lakes["serial"], opts), snapshot(lakes["concurrent"], opts)
        same = sorted(want) == sorted(got) and all(got[k].equals(want[k]) for k in want)
        diff = [k for k in want if k not in got or not got[k].equals(want[k])]
        ratio = results["serial"]["wall"] / results["concurrent"]["wall"]
        print(f"tables equal to the serial build: {same}{'' if same else f' (differ: {diff})'}")
        print("| lake | serial s | 4 at once s | speed-up |\n|---|---:|---:|---:|")
        print(
            f"| {'moto S3' if a.s3 else 'local'} | {results['serial']['wall']:.1f} | "
            f"{results['concurrent']['wall']:.1f} | {ratio:.2f}x |"
        )
    finally:
        stack.close()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
