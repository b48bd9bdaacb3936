"""End-to-end speed and scale: `newslake run` against the script a user would write, at 1x/4x/16x.

For each size an inbox is built in a temp dir from ../shared/corpus (see :mod:`e2e_corpus`); then, alternating
the order, the reference script (:mod:`e2e_reference`) and `newslake run` on a fresh lake each run in a
subprocess while /proc is polled for the peak RSS of the whole process tree. Per-stage times come from
Dagster's event log in the run's DAGSTER_HOME. Every figure is printed with ``os.getloadavg()``.

Then (optional) the incremental cost of one new day of 1k documents added to the largest and the smallest lake,
and table health after many daily runs (see :mod:`e2e_health`).

    python -m benchmarks.e2e                          # base 300 docs; 1x, 4x, 16x; incremental; 100-day health
    python -m benchmarks.e2e --scales 1 --health-days 0 --no-incremental    # quick look (~1 min)

On this 2-core machine under load: scaling + incremental ~13 min, the 100 daily runs of the health part ~20 min.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from benchmarks import e2e_corpus  # noqa: E402
from benchmarks.e2e_measure import dagster_step_times, run_tree, table_sizes  # noqa: E402

PROJECT = Path(__file__).resolve().parents[1]
PY = sys.executable
NEWSLAKE = str(Path(PY).with_name("newslake"))
CONFIG = PROJECT / "examples" / "wire-1987-mapping.toml"
# One Dagster step per stage (assets/): pipeline.stage.STAGES in order.
STEP_ORDER = ["ingest", "dedup", "sentences", "entities"]


def load() -> str:
    return "load {:.2f}/{:.2f}/{:.2f}".format(*os.getloadavg())


def say(msg: str) -> None:
    print(f"{msg}  [{load()}]", flush=True)


def run_reference(inbox: Path, work: Path) -> dict:
    out = work / "ref-out"
    shutil.rmtree(out, ignore_errors=True)
    r = run_tree([PY, str(Path(__file__).with_name("e2e_reference.py")), "--inbox", str(inbox), "--out", str(out)])
    if r.returncode:
        raise RuntimeError(f"reference failed:\n{r.stderr[-3000:]}")
    info = json.loads(r.stdout.strip().splitlines()[-1])
    return {"seconds": r.seconds, "peak_rss_mb": r.peak_rss_mb, "procs": r.max_procs, "stages": info["stages"],
            "docs": info["docs"], "words": info["words"], "sentences": info["sentences"],
            "entities": info["entities"], "load": r.load_after,
            "bytes": sum(p.stat().st_size for p in out.iterdir())}


def lake_facts(lake: Path) -> dict:
    import polars as pl

    from pipeline import storage
    from pipeline.schema import DOCUMENTS, DUPLICATES, ENTITIES, SENTENCES

    lk = storage.Lake(str(lake))
    docs = storage.read(lk, DOCUMENTS, columns=["pub_date", "words"])
    dups = storage.read(lk, DUPLICATES, columns=["method"])
    methods = dict(dups.group_by("method").len().iter_rows()) if dups.height else {}
    return {"documents": docs.height, "undated": docs.filter(pl.col("pub_date").is_null()).height,
            "days": docs["pub_date"].n_unique(), "words": int(docs["words"].sum() or 0),
            "exact": methods.get("exact", 0), "near": methods.get("near", 0),
            "sentences": storage.read(lk, SENTENCES, columns=["doc_id"]).height,
            "entities": storage.read(lk, ENTITIES, columns=["doc_id"]).height}


def run_newslake(inbox: Path, lake: Path, home: Path, *, fresh: bool = True) -> dict:
    if fresh:
        shutil.rmtree(lake, ignore_errors=True)
        shutil.rmtree(home, ignore_errors=True)
    before = _run_ids(home) if home.exists() else set()
    env = dict(os.environ, DAGSTER_HOME=str(home))
    r = run_tree([NEWSLAKE, "run", "--inbox", str(inbox), "--lake", str(lake), "--home", str(home),
                  "--config", str(CONFIG), "--no-progress"], env=env, cwd=PROJECT)
    if r.returncode:
        raise RuntimeError(f"newslake run failed:\n{r.stderr[-3000:]}")
    steps = dagster_step_times(home, exclude=before)
    return {"seconds": r.seconds, "peak_rss_mb": r.peak_rss_mb, "procs": r.max_procs, "steps": steps.steps,
            "stages": steps.stages,
            "runs": steps.runs, "run_seconds": steps.run_seconds, "cache_hit_rate": steps.cache_hit_rate,
            "load": r.load_after, "tables": table_sizes(lake), **lake_facts(lake)}


def _run_ids(home: Path) -> set[str]:
    from benchmarks.e2e_measure import dagster_run_ids

    return dagster_run_ids(home)


def print_pair(size: str, ref: dict, nl: dict) -> None:
    words = nl["words"]
    say(f"[{size}] reference: {ref['seconds']:.1f}s for {ref['docs']} docs = {ref['docs'] / ref['seconds']:.1f} "
        f"docs/s, {ref['words'] / ref['seconds']:.0f} words/s, peak RSS {ref['peak_rss_mb']:.0f} MB "
        f"({ref['procs']} procs); stages {ref['stages']}")
    steps = ", ".join(f"{k} {nl['steps'].get(k, nl['stages'].get(k, 0)):.1f}s" for k in STEP_ORDER)
    other = nl["seconds"] - sum(nl["steps"].values())
    say(f"[{size}] newslake:  {nl['seconds']:.1f}s for {nl['documents']} docs = "
        f"{nl['documents'] / nl['seconds']:.1f} docs/s, {words / nl['seconds']:.0f} words/s, peak RSS "
        f"{nl['peak_rss_mb']:.0f} MB ({nl['procs']} procs); steps: {steps}; outside steps (start-up, Dagster, "
        f"summary) {other:.1f}s over {nl['runs']} runs")
    say(f"[{size}] newslake: {nl['days']} days, {nl['undated']} undated, dup exact {nl['exact']} near "
        f"{nl['near']} ({(nl['exact'] + nl['near']) / max(1, nl['documents']):.1%}), {nl['sentences']} "
        f"sentences, {nl['entities']} entities, entity cache hit rate "
        f"{sum(nl['cache_hit_rate']) / max(1, len(nl['cache_hit_rate'])):.3f} (mean over runs)")
    sizes = ", ".join(f"{t} {b / 2**20:.1f} MB/{n} files" for t, (b, n) in nl["tables"].items())
    say(f"[{size}] tables: {sizes}; reference parquet {ref['bytes'] / 2**20:.1f} MB")
    say(f"[{size}] RATIO newslake/reference speed = {ref['seconds'] / nl['seconds']:.2f}x")


def scaling(args, work: Path) -> list[dict]:
    results = []
    for n, scale in enumerate(args.scales):
        inbox = work / f"inbox-{scale}x"
        shutil.rmtree(inbox, ignore_errors=True)
        st = e2e_corpus.build_inbox(inbox, docs=args.docs, fraction=args.fraction, scale=scale,
                                    by_day=not args.sample)
        say(f"[{scale}x] inbox: {st.total_docs} docs ({st.docs}), {st.files} files, {st.bytes / 2**20:.1f} MB")
        pair = {}
        order = ["ref", "nl"] if n % 2 == 0 else ["nl", "ref"]
        for _ in range(args.repeat):
            for who in order:
                if who == "ref":
                    pair.setdefault("ref", []).append(run_reference(inbox, work))
                else:
                    pair.setdefault("nl", []).append(run_newslake(inbox, work / f"lake-{scale}x",
                                                                  work / f"home-{scale}x"))
            print_pair(f"{scale}x", pair["ref"][-1], pair["nl"][-1])
            order.reverse()
        best = {k: min(v, key=lambda r: r["seconds"]) for k, v in pair.items()}
        results.append({"scale": scale, "docs": st.total_docs, **best,
                        **{f"all_{k}": [r["seconds"] for r in v] for k, v in pair.items()}})
    if len(results) > 1:
        base = results[0]
        for r in results[1:]:
            k = r["scale"] / base["scale"]
            say(f"SCALING {r['scale']}x vs {base['scale']}x: data x{k:g}, newslake time "
                f"x{r['nl']['seconds'] / base['nl']['seconds']:.2f}, reference time "
                f"x{r['ref']['seconds'] / base['ref']['seconds']:.2f}; newslake peak RSS "
                f"{r['nl']['peak_rss_mb']:.0f} MB")
    return results


def incremental(args, work: Path, results: list[dict]) -> dict:
    """One new day of ``args.day_docs`` documents added to the largest and to the smallest lake."""
    out = {}
    sizes = sorted({results[0]["scale"], results[-1]["scale"]}, reverse=True)
    day = e2e_corpus.new_day_records(args.day_docs)
    for scale in sizes:
        inbox, lake, home = work / f"inbox-{scale}x", work / f"lake-{scale}x", work / f"home-{scale}x"
        if not (lake / "documents").exists():
            run_newslake(inbox, lake, home)
        path = inbox / "zz-newday.jsonl"
        path.write_text(day)
        res = run_newslake(inbox, lake, home, fresh=False)
        path.unlink()
        held = res["documents"] - args.day_docs
        steps = ", ".join(f"{k} {res['steps'].get(k, res['stages'].get(k, 0)):.1f}s" for k in STEP_ORDER)
        say(f"INCREMENTAL lake of {held} docs + 1 day of {args.day_docs}: {res['seconds']:.1f}s; steps: "
            f"{steps}; peak RSS {res['peak_rss_mb']:.0f} MB")
        out[held] = res
    return out


def profile(args, work: Path) -> None:
    """cProfile of one `newslake run` on the base inbox (main process; ingestion workers are not profiled)."""
    import pstats

    inbox, lake, home = work / "inbox-profile", work / "lake-profile", work / "home-profile"
    e2e_corpus.build_inbox(inbox, docs=args.docs, fraction=args.fraction, scale=1, by_day=not args.sample)
    prof = args.profile
    env = dict(os.environ, DAGSTER_HOME=str(home))
    r = run_tree([PY, "-m", "cProfile", "-o", str(prof), NEWSLAKE, "run", "--inbox", str(inbox), "--lake",
                  str(lake), "--home", str(home), "--config", str(CONFIG), "--no-progress"], env=env, cwd=PROJECT)
    say(f"PROFILE newslake run under cProfile: {r.seconds:.1f}s (exit {r.returncode}); top functions by "
        f"cumulative time (stats in {prof}):")
    stats = pstats.Stats(str(prof))
    stats.sort_stats("cumulative").print_stats(40)
    stats.sort_stats("tottime").print_stats(25)


def _git_head() -> str:
    """Commit under test, and whether the tree has local changes (other sessions edit it concurrently)."""
    import subprocess

    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=PROJECT, capture_output=True,
                              text=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=PROJECT,
                               capture_output=True, text=True).stdout.strip()
    except OSError:
        return "unknown"
    return head + (" + local changes" if dirty else "")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--docs", type=int, default=300, help="base size in documents (default %(default)s)")
    ap.add_argument("--fraction", type=float, help="base size as a share of the corpus (instead of --docs)")
    ap.add_argument("--sample", action="store_true",
                    help="base = random sample of records (sparse days) instead of whole earliest days")
    ap.add_argument("--scales", type=lambda s: [int(x) for x in s.split(",") if x], default=[1, 4, 16],
                    help="comma-separated multiples of the base (empty: skip the scaling part)")
    ap.add_argument("--repeat", type=int, default=1, help="reference/newslake pairs per size")
    ap.add_argument("--day-docs", type=int, default=1000, help="documents in the incremental day")
    ap.add_argument("--no-incremental", action="store_true")
    ap.add_argument("--health-days", type=int, default=100, help="daily runs for table health (0 = skip)")
    ap.add_argument("--json", type=Path, help="write every figure here")
    ap.add_argument("--profile", type=Path, help="also cProfile one base-size run; write the stats here")
    args = ap.parse_args(argv)
    if not e2e_corpus.corpus_present():
        print(f"../shared/corpus not found at {e2e_corpus.CORPUS}: nothing to measure (this benchmark reads "
              "the Reuters, BBC and extraction-benchmark files from there).")
        return 0
    base = args.docs if args.fraction is None else args.fraction
    say(f"code {_git_head()}; cores {os.cpu_count()}, base {base} docs, scales {args.scales}")
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="newslake-e2e-") as tmp:
        work = Path(tmp)
        if args.profile:
            profile(args, work)
        report = {"scaling": scaling(args, work)} if args.scales else {}
        if not args.no_incremental and args.scales:
            report["incremental"] = incremental(args, work, report["scaling"])
        if args.health_days:
            from benchmarks import e2e_health

            report["health"] = e2e_health.health(work / "health", days=args.health_days, say=say)
    say(f"total benchmark time {time.monotonic() - t0:.0f}s")
    if args.json:
        args.json.write_text(json.dumps(report, indent=1, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
