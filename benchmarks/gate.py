"""Quality gate: run the quality benchmarks and fail when a figure drops below its documented floor.

Floors live in ``benchmarks/floors.toml`` (copied from the target column of each benchmark README)::

    [[floor]]
    script = "sentences_quality"        # benchmarks/<script>.py
    figure = "ud_pooled.newslake.f1" # a FIGURE line the script prints
    min = 0.892

Usage: ``python -m benchmarks.gate [--only SCRIPT ...]``. A script that prints SKIPPED (no ../shared) is
reported as skipped, not passed; a figure the script did not print fails the gate. Heavy: not run in CI.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tomllib
from collections import defaultdict

from benchmarks._common import PROJECT

FLOORS = PROJECT / "benchmarks" / "floors.toml"
_FIGURE = re.compile(r"^FIGURE\s+(\S+)\s+([-+0-9.eEinfa]+)\s*$", re.M)


def parse_figures(output: str) -> dict[str, float]:
    return {name: float(value) for name, value in _FIGURE.findall(output)}


def check(floors: list[dict], figures_by_script: dict[str, dict[str, float] | None]) -> list[str]:
    """Failures, one line each; a script whose figures are None was skipped (no data)."""
    failures = []
    for f in floors:
        figures = figures_by_script.get(f["script"])
        if figures is None:
            continue
        value = figures.get(f["figure"])
        if value is None:
            failures.append(f"{f['script']}: figure {f['figure']} was not printed")
        elif value < f["min"]:
            failures.append(f"{f['script']}: {f['figure']} = {value:.4f} below its floor {f['min']}")
    return failures


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", nargs="*", help="run only these scripts")
    args = ap.parse_args(argv)
    floors = tomllib.loads(FLOORS.read_text())["floor"]
    scripts = defaultdict(list)
    for f in floors:
        if not args.only or f["script"] in args.only:
            scripts[f["script"]].append(f)
    results: dict[str, dict[str, float] | None] = {}
    for script in scripts:
        print(f"== {script}", flush=True)
        proc = subprocess.run([sys.executable, "-m", f"benchmarks.{script}"], cwd=PROJECT, capture_output=True,
                              text=True)
        if proc.returncode != 0:
            results[script] = {}
            print(proc.stdout[-2000:], proc.stderr[-2000:], sep="\n")
            continue
        results[script] = None if "SKIPPED" in proc.stdout and not _FIGURE.search(proc.stdout) else parse_figures(
            proc.stdout)
    failures = check([f for fs in scripts.values() for f in fs], results)
    for script, figs in results.items():
        state = "skipped (no development data)" if figs is None else f"{len(figs)} figures"
        print(f"{script}: {state}")
    for line in failures:
        print(f"FAIL {line}")
    print("gate:", "FAILED" if failures else "passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
