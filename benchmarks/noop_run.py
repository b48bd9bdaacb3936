"""`newslake run` on an unchanged inbox: the no-op fast path vs the full path, in the same run (issue 18).

Builds a lake from a copy of the committed sample inbox (``--days`` more synthetic days can be added), then
alternates, ``--repeat`` times each:

* **fast**: ``newslake run`` as a user types it (the recorded state matches: no Dagster import);
* **full**: the same command after deleting the recorded state (``$DAGSTER_HOME/.newslake-noop.json``), so it
  goes through Dagster exactly as every no-op run did before the fast path: import the definitions, open the
  instance, reap, check the inbox, plan the days, print the summary.

Wall time and CPU (user + system of the process) per command, median over the repeats; the load is printed.
Needs no development data.

    python -m benchmarks.noop_run [--repeat 5] [--days 30]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from benchmarks._common import PROJECT, load

STATE = ".newslake-noop.json"
FAST = "nothing to do"


def run(args: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-m", "newslake.cli", *args], env=env, cwd=PROJECT, capture_output=True, text=True
    )
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if out.returncode:
        sys.exit(f"newslake {' '.join(args)} failed:\n{out.stderr[-3000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, out.stderr


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--days", type=int, default=0, help="synthetic days added to the sample inbox (10 docs each)")
    a = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="noop-bench-"))
    try:
        inbox = tmp / "inbox"
        shutil.copytree(PROJECT / "data" / "inbox", inbox)
        for i in range(a.days):
            day = date(2026, 1, 1) + timedelta(days=i)
            rows = [
                {
                    "id": f"{day}-{k}",
                    "title": f"Story {k}",
                    "date": f"{day}T08:00:00Z",
                    "text": f"Story {k} of {day}: the council of Port Ellery met on the harbour works.",
                }
                for k in range(10)
            ]
            (inbox / f"synthetic-{day}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
        env = {k: v for k, v in os.environ.items() if not k.startswith(("NEWSLAKE_", "DAGSTER_"))}
        home = tmp / "home"
        cmd = ["run", "--inbox", str(inbox), "--lake", str(tmp / "lake"), "--home", str(home), "--no-progress"]
        wall, cpu, _ = run(cmd, env)
        print(f"first run (ingest and process): {wall:.2f} s wall, {cpu:.2f} s CPU; {load()}")
        fast: list[tuple[float, float]] = []
        full: list[tuple[float, float]] = []
        for _ in range(a.repeat):
            wall, cpu, err = run(cmd, env)
            assert FAST in err, err
            fast.append((wall, cpu))
            (home / STATE).unlink()
            wall, cpu, err = run(cmd, env)
            assert FAST not in err and "nothing to ingest" in err, err
            full.append((wall, cpu))
        for name, xs in (("no-op, fast path", fast), ("no-op, full path (before)", full)):
            w = statistics.median(x[0] for x in xs)
            c = statistics.median(x[1] for x in xs)
            print(f"{name:28s} median {w:6.2f} s wall {c:6.2f} s CPU  (walls: {', '.join(f'{x[0]:.2f}' for x in xs)})")
        ratio = statistics.median(x[0] for x in full) / statistics.median(x[0] for x in fast)
        print(f"full / fast wall: {ratio:.1f}x; {load()}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
