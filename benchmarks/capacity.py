"""Capacity: documents per core-second per stage, memory per worker, 1 vs 2 workers, and a backfill projection.

Every measurement runs in a fresh child process (so peak RSS and child CPU belong to it alone), on one
inbox built in a temp dir: ``--docs`` documents of ../shared/corpus (Reuters JSONL, BBC, HTML pages; see
``e2e_corpus``) when present, else the soak benchmark's synthetic stories (printed which). Stages are the pure
runners (no Dagster): ``pipeline.ingest.run`` with ``workers`` = 1 and 2, ``pipeline.dedup.runner`` and
``pipeline.sentences.runner`` (single process), ``pipeline.entities.runner`` with ``n_process`` = 1 and 2 on a
lake with an empty entity cache (every sentence goes through spaCy).

Figures: wall seconds; CPU seconds of the process and its workers; documents per core-second
(= documents / CPU seconds at 1 worker: robust to other load on the machine); the 2-worker speedup; the peak
RSS of the main process and of the largest worker.

The projection (a model, printed with its inputs): a one-year backfill of ``--project-docs`` documents over
365 days is 365 independent day-runs (runs on disjoint days run concurrently and give the serial tables:
tests/system/test_concurrent_runs.py). A run uses ``k`` = 2 cores (ingest/tagging workers); W cores run W/k runs
at once, in ceil(365 / (W/k)) waves. A day's run takes ``day_docs`` times the sum over stages of (CPU
seconds of the main process + CPU seconds of the workers / k) per document (Amdahl per stage, from CPU
seconds, which other load on the machine does not distort), plus a fixed per-run overhead (Dagster
bookkeeping and start-up, ``--run-overhead``).

    python -m benchmarks.capacity [--docs 1000] [--project-docs 100e6]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
MAPPING = PROJECT / "examples" / "wire-1987-mapping.toml"


def _usage() -> dict:
    s, c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return {
        "cpu_self": s.ru_utime + s.ru_stime,
        "cpu_children": c.ru_utime + c.ru_stime,
        "rss_main_mb": s.ru_maxrss / 1024,
        "rss_worker_mb": c.ru_maxrss / 1024,
    }


def _days(lake):
    from pipeline import storage
    from pipeline.schema import DOCUMENTS

    return storage.partition_rows(lake, DOCUMENTS)["pub_date"].to_list()


def child(stage: str, workers: int, inbox: str, lake_dir: str, config: str | None) -> dict:
    """One measurement in this (fresh) process; prints nothing but the JSON result."""
    from pipeline.config import Settings
    from pipeline.storage import Lake

    settings = Settings.load(config_file=config, inbox=inbox, lake=lake_dir, workers=workers)
    lake = Lake(lake_dir)
    before = _usage()
    t0 = time.perf_counter()
    if stage == "ingest":
        from pipeline.ingest import run

        report = run(Path(inbox), lake, config=settings.ingest)
        docs = report.documents
    elif stage in ("dedup", "sentences"):
        from importlib import import_module

        days = _days(lake)
        result = import_module(f"pipeline.{stage}.runner").run(lake, days, settings=settings, run_id=None)
        docs = sum(t.rows for t in result.tables if t.table == ("duplicates" if stage == "dedup" else "documents"))
        if stage == "sentences":
            from pipeline.dedup.runner import canonical

            docs = canonical(lake, days).height
    elif stage == "entities":
        from pipeline.entities import runner, tagger

        days = _days(lake)
        result = runner.run(lake, days, settings=settings, run_id=None)
        docs = _canonical_count(lake, days)
        for pool in tagger._POOLS.values():  # a clean exit reaps the workers: their CPU and RSS are counted
            pool.close()
            pool.join()
        tagger._POOLS.clear()
        # The workers were forked by the fork server, which reaped them: stopping it (as CPython's own tests
        # do) makes this process reap it, so its spaCy import and the workers' CPU land in RUSAGE_CHILDREN.
        from multiprocessing import forkserver

        if getattr(forkserver._forkserver, "_forkserver_pid", None) is not None:
            forkserver._forkserver._stop()
    else:
        raise SystemExit(f"unknown stage {stage}")
    wall = time.perf_counter() - t0
    after = _usage()
    main_cpu, worker_cpu = after["cpu_self"] - before["cpu_self"], after["cpu_children"] - before["cpu_children"]
    return {
        "stage": stage,
        "workers": workers,
        "docs": docs,
        "wall": wall,
        "cpu": main_cpu + worker_cpu,
        "cpu_main": main_cpu,
        "cpu_workers": worker_cpu,
        "rss_main_mb": after["rss_main_mb"],
        "rss_worker_mb": after["rss_worker_mb"],
    }


def _canonical_count(lake, days) -> int:
    from pipeline.dedup.runner import canonical

    return canonical(lake, days).height


def _run_child(stage: str, workers: int, inbox: Path, lake: Path, config: str | None) -> dict:
    cmd = [
        sys.executable,
        __file__,
        "--child",
        stage,
        "--workers",
        str(workers),
        "--inbox",
        str(inbox),
        "--lake",
        str(lake),
    ] + (["--config", config] if config else [])
    res = subprocess.run(cmd, capture_output=True, text=True, cwd=PROJECT)
    if res.returncode != 0:
        raise SystemExit(f"{stage} x{workers} failed:\n{res.stderr[-3000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def build_inbox(dest: Path, docs: int) -> tuple[str, str | None]:
    """(description, settings file) of the inbox written to ``dest``."""
    from benchmarks import e2e_corpus

    if e2e_corpus.corpus_present():
        st = e2e_corpus.build_inbox(dest, docs=docs)
        return f"../shared/corpus subset: {st.total_docs} documents, {st.files} files", str(MAPPING)
    print(f"SKIPPED corpus: ../shared/corpus not found at {e2e_corpus.CORPUS}; using synthetic stories instead")
    from benchmarks import soak

    dest.mkdir(parents=True, exist_ok=True)
    rng, start, n, i = random.Random(5), date(2026, 1, 1), 0, 0
    while n < docs:
        day = start + timedelta(days=i)
        recs = [soak.story(rng, day, k) for k in range(50)]
        (dest / f"feed-{day}.jsonl").write_text("\n".join(json.dumps(r) for r in recs) + "\n")
        n, i = n + len(recs), i + 1
    return f"synthetic soak stories: {n} documents over {i} days", None


def measure(docs: int) -> tuple[str, list[dict]]:
    rows = []
    with tempfile.TemporaryDirectory(prefix="nl_capacity_") as tmp:
        tmp = Path(tmp)
        what, config = build_inbox(tmp / "inbox", docs)
        for w in (1, 2):
            lake = tmp / f"lake_ingest{w}"
            rows.append(_run_child("ingest", w, tmp / "inbox", lake, config))
        base = tmp / "lake_ingest1"
        for stage in ("dedup", "sentences"):
            rows.append(_run_child(stage, 1, tmp / "inbox", base, config))
        for w in (1, 2):  # each on a copy without an entity cache: every sentence is tagged
            lake = tmp / f"lake_entities{w}"
            shutil.copytree(base, lake)
            rows.append(_run_child("entities", w, tmp / "inbox", lake, config))
    return what, rows


def report(what: str, rows: list[dict], *, project_docs: float, overhead: float, k: int) -> None:
    print(f"\ncapacity on {what} (load {' '.join(f'{x:.1f}' for x in os.getloadavg())}, {os.cpu_count()} CPUs)")
    print(
        "| stage | workers | documents | wall s | CPU main s | CPU workers s | docs/core-s | wall speedup "
        "| main RSS MB | largest worker RSS MB |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    by = {(r["stage"], r["workers"]): r for r in rows}
    for r in rows:
        one = by.get((r["stage"], 1))
        speed = f"{one['wall'] / r['wall']:.2f}x" if r["workers"] > 1 and one else ""
        rate = r["docs"] / r["cpu"] if r["cpu"] else float("nan")
        worker = f"{r['rss_worker_mb']:.0f}" if r["cpu_workers"] > 0 else ""
        print(
            f"| {r['stage']} | {r['workers']} | {r['docs']} | {r['wall']:.1f} | {r['cpu_main']:.1f} | "
            f"{r['cpu_workers']:.1f} | {rate:.1f} | {speed} | {r['rss_main_mb']:.0f} | {worker} |"
        )
    # Amdahl per stage from CPU seconds (robust to other load): a run with k cores spends main + workers / k
    # seconds per document in each stage; stages without workers are all main.
    per_doc = {}
    for stage in ("ingest", "dedup", "sentences", "entities"):
        r = by.get((stage, 2)) or by[(stage, 1)]
        per_doc[stage] = (r["cpu_main"] + r["cpu_workers"] / k) / max(1, r["docs"])
    run_s_per_doc = sum(per_doc.values())
    worker_mb = max(r["rss_worker_mb"] for r in rows)
    main_mb = max(r["rss_main_mb"] for r in rows)
    day_docs = project_docs / 365
    day_s = day_docs * run_s_per_doc + overhead
    print(
        f"\nmodel: a day-run with k={k} cores spends per document "
        + ", ".join(f"{s} {v * 1000:.1f} ms" for s, v in per_doc.items())
        + f" = {run_s_per_doc * 1000:.1f} ms (main CPU + workers' CPU / k, from the 2-worker rows); "
        f"+ {overhead:.1f} s fixed per run; {day_docs:,.0f} documents per day -> {day_s / 3600:.2f} h per day-run"
    )
    print(
        f"projected one-year backfill of {project_docs:,.0f} documents = 365 independent day-runs, cores / k at once:"
    )
    print("| cores | runs at once | waves | wall time | memory: runs x (main + k workers) |")
    print("|---:|---:|---:|---:|---:|")
    for cores in (8, 32, 128):
        at_once = max(1, cores // k)
        waves = math.ceil(365 / at_once)
        mem_gb = at_once * (main_mb + k * worker_mb) / 1024
        print(
            f"| {cores} | {at_once} | {waves} | {waves * day_s / 3600:,.1f} h ({waves * day_s / 86400:.1f} d) "
            f"| {mem_gb:,.0f} GB |"
        )
    print(
        "caveats: a day-run's main RSS grows with the day's size (274k documents, not a few hundred): measure one "
        "full day before sizing nodes; wall speedups above mean little while the load exceeds the cores."
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--docs", type=int, default=1000, help="documents in the inbox (default: %(default)s)")
    ap.add_argument("--project-docs", type=float, default=100e6)
    ap.add_argument(
        "--run-overhead",
        type=float,
        default=5.0,
        help="fixed seconds per run (Dagster bookkeeping + start-up; see instance_bookkeeping.py)",
    )
    ap.add_argument("--cores-per-run", type=int, default=2)
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--workers", type=int, default=1, help=argparse.SUPPRESS)
    ap.add_argument("--inbox", help=argparse.SUPPRESS)
    ap.add_argument("--lake", help=argparse.SUPPRESS)
    ap.add_argument("--config", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child, args.workers, args.inbox, args.lake, args.config)))
        return 0
    what, rows = measure(args.docs)
    report(what, rows, project_docs=args.project_docs, overhead=args.run_overhead, k=args.cores_per_run)
    return 0


if __name__ == "__main__":
    sys.exit(main())
