"""Table health after many real daily runs: live files per partition before and after `newslake maintain`.

Each simulated day drops one JSONL feed of ``per_day`` edited Reuters stories dated that day plus one late
story for three days earlier, then runs `newslake run` (through Dagster, in one long-lived subprocess so the
start-up is paid once). Afterwards `newslake maintain` runs twice as a user would: with the default retention
(7 days: compaction, nothing young enough is vacuumed) and with ``--retention-hours 0`` (vacuum everything no
current version needs).

    python -m benchmarks.e2e_health --days 100
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

from benchmarks import e2e_corpus  # noqa: E402

PROJECT = Path(__file__).resolve().parents[1]
START = date(1990, 1, 1)


def _feed(lines: list[str], rng: random.Random, day: date, n: int, tag: str) -> str:
    out = []
    for j in range(n):
        r = json.loads(lines[rng.randrange(len(lines))])
        for f in ("title", "body", "unproc_text"):
            if r.get(f):
                r[f] = e2e_corpus._edit_text(r[f], rng)
        r["newid"], r["date"] = f"{tag}-{j}", e2e_corpus._reuters_date(day, 3600 + j * 600)
        out.append(json.dumps(r) + "\n")
    return "".join(out)


def _daily_runs(work: Path, days: int, per_day: int, first: int = 0) -> list[float]:
    """Runs in a subprocess: in-process `newslake run` per day; returns seconds per day."""
    from newslake.cli import main

    inbox, lake, home = work / "inbox", work / "lake", work / "home"
    inbox.mkdir(parents=True, exist_ok=True)
    os.environ["DAGSTER_HOME"] = str(home)
    lines = (e2e_corpus.CORPUS / e2e_corpus.REUTERS).read_text().splitlines()
    rng, secs = random.Random(5), []
    cfg = str(PROJECT / "examples" / "wire-1987-mapping.toml")
    for i in range(first, first + days):
        day = START + timedelta(days=i)
        text = _feed(lines, rng, day, per_day, f"d{i}")
        if i >= 3:
            text += _feed(lines, rng, day - timedelta(days=3), 1, f"late{i}")
        (inbox / f"feed-{day.isoformat()}.jsonl").write_text(text)
        t0 = time.perf_counter()
        code = main(["run", "--inbox", str(inbox), "--lake", str(lake), "--home", str(home), "--config", cfg,
                     "--no-progress"])
        secs.append(time.perf_counter() - t0)
        if code:
            raise RuntimeError(f"day {i}: newslake run failed")
    return secs


def _counts(lake: Path) -> dict[str, dict]:
    from pipeline import maintenance, storage

    lk = storage.Lake(str(lake))
    out = {}
    for name in storage.table_versions(lk):
        c = maintenance.file_counts(lk, name)
        if c:
            out[name] = {"live_files": sum(c.values()), "max_per_partition": max(c.values()),
                         "partitions": len(c), "parquet_on_disk": sum(1 for _ in (lake / name).rglob("*.parquet")),
                         "log_files": sum(1 for _ in (lake / name / "_delta_log").iterdir())}
    return out


def _runs(work: Path, days: int, per_day: int, first: int = 0) -> list[float]:
    r = subprocess.run([sys.executable, __file__, "--worker", str(work), "--days", str(days), "--per-day",
                        str(per_day), "--first", str(first)], capture_output=True, text=True, cwd=PROJECT)
    if r.returncode:
        raise RuntimeError(f"daily runs failed:\n{r.stderr[-3000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def health(work: Path, *, days: int = 100, per_day: int = 10, say=print) -> dict:
    work.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    secs = _runs(work, days, per_day)
    tenths = [round(sum(secs[i : i + max(1, days // 10)]) / len(secs[i : i + max(1, days // 10)]), 1)
              for i in range(0, days, max(1, days // 10))]
    say(f"HEALTH {days} daily runs ({per_day} docs + 1 late each) in {time.perf_counter() - t0:.0f}s; per run "
        f"first {secs[0]:.1f}s, median {sorted(secs)[len(secs) // 2]:.1f}s, last {secs[-1]:.1f}s; mean per "
        f"tenth of the runs {tenths}")
    report = {"seconds_per_run": secs, "before": _counts(work / "lake")}
    newslake = str(Path(sys.executable).with_name("newslake"))
    env = dict(os.environ, DAGSTER_HOME=str(work / "home"))
    for label, extra in (("after_maintain", []), ("after_maintain_retention0", ["--retention-hours", "0"])):
        t1 = time.perf_counter()
        m = subprocess.run([newslake, "maintain", "--lake", str(work / "lake"), "--home", str(work / "home"),
                            *extra], capture_output=True, text=True, env=env, cwd=PROJECT)
        if m.returncode:
            raise RuntimeError(f"maintain failed:\n{m.stderr[-3000:]}")
        report[label] = _counts(work / "lake")
        report[label + "_seconds"] = round(time.perf_counter() - t1, 1)
    for name in report["before"]:
        b, a, z = report["before"][name], report["after_maintain"][name], report["after_maintain_retention0"][name]
        say(f"HEALTH {name}: live files {b['live_files']} -> {a['live_files']} (max/partition "
            f"{b['max_per_partition']} -> {a['max_per_partition']}, {b['partitions']} partitions); parquet on "
            f"disk {b['parquet_on_disk']} -> {a['parquet_on_disk']} -> {z['parquet_on_disk']} (retention 0); "
            f"log files {b['log_files']} -> {z['log_files']}")
    after = _runs(work, 3, per_day, first=days)
    report["seconds_after_maintain"] = after
    say(f"HEALTH 3 more daily runs after maintenance: {after} s (before maintenance the last 3: {secs[-3:]})")
    say(f"HEALTH maintain took {report['after_maintain_seconds']}s (default retention), "
        f"{report['after_maintain_retention0_seconds']}s (retention 0)")
    return report


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--days", type=int, default=100)
    ap.add_argument("--per-day", type=int, default=10)
    ap.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--first", type=int, default=0, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        print(json.dumps([round(s, 2) for s in _daily_runs(args.worker, args.days, args.per_day, args.first)]))
    elif not e2e_corpus.corpus_present():
        print(f"../shared/corpus not found at {e2e_corpus.CORPUS}: nothing to measure.")
    else:
        import tempfile

        with tempfile.TemporaryDirectory(prefix="newslake-health-") as tmp:
            health(Path(tmp), days=args.days, per_day=args.per_day)
