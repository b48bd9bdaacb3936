"""Measuring helpers for the end-to-end benchmark: process-tree RSS, Dagster step timings, sizes on disk.

psutil is not installed, so the process tree is read from /proc: every ``interval`` seconds the RSS of the
child and all its descendants (ingestion and spaCy worker processes) is summed; the peak of those sums is
reported. Workers are spawned, not forked, so little memory is shared and the sum is close to the truth (an
upper bound).
"""

from __future__ import annotations

import os
import re
import subprocess
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

_PAGE = os.sysconf("SC_PAGE_SIZE")


def _children_map() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = defaultdict(list)
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as fh:
                stat = fh.read()
        except OSError:
            continue
        # the command name may hold spaces and parentheses: fields start after the last ')'
        ppid = int(stat[stat.rindex(b")") + 2 :].split()[1])
        kids[ppid].append(int(entry.name))
    return kids


def tree_rss_bytes(pid: int) -> tuple[int, int]:
    """(RSS of ``pid`` and all its descendants, number of processes)."""
    kids = _children_map()
    todo, total, n = [pid], 0, 0
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/statm") as fh:
                total += int(fh.read().split()[1]) * _PAGE
            n += 1
        except OSError:
            pass
        todo.extend(kids.get(p, ()))
    return total, n


@dataclass
class RunResult:
    seconds: float
    peak_rss_mb: float
    max_procs: int
    returncode: int
    stdout: str
    stderr: str
    load_before: tuple[float, float, float]
    load_after: tuple[float, float, float]


def run_tree(
    cmd: list[str], *, env: dict | None = None, cwd: str | Path | None = None, interval: float = 0.2
) -> RunResult:
    """Run ``cmd``; wall time and peak RSS of its whole process tree."""
    load0 = os.getloadavg()
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak, procs, stop = [0], [0], threading.Event()

    def poll():
        while not stop.is_set():
            rss, n = tree_rss_bytes(proc.pid)
            peak[0], procs[0] = max(peak[0], rss), max(procs[0], n)
            stop.wait(interval)

    th = threading.Thread(target=poll, daemon=True)
    th.start()
    out, err = proc.communicate()
    secs = time.perf_counter() - t0
    stop.set()
    th.join()
    return RunResult(secs, peak[0] / 2**20, procs[0], proc.returncode, out, err, load0, os.getloadavg())


def dir_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file())


def table_sizes(lake: Path) -> dict[str, tuple[int, int]]:
    """Per table folder: (bytes on disk incl. the log, data files)."""
    out = {}
    for t in sorted(p for p in Path(lake).iterdir() if p.is_dir()):
        out[t.name] = (dir_bytes(t), sum(1 for _ in t.rglob("*.parquet")))
    return out


@dataclass
class StepTimes:
    """Per Dagster step key: seconds summed over every run in the instance; plus run and cache facts."""

    steps: dict[str, float] = field(default_factory=dict)
    runs: int = 0
    run_seconds: float = 0.0
    cache_hit_rate: list[float] = field(default_factory=list)
    stages: dict[str, float] = field(default_factory=dict)  # unused since one step = one stage


def _instance(home: Path):
    import dagster as dg

    os.environ["DAGSTER_HOME"] = str(home)
    return dg.DagsterInstance.get()


def dagster_run_ids(home: Path) -> set[str]:
    inst = _instance(home)
    try:
        return {r.run_id for r in inst.get_runs()}
    finally:
        inst.dispose()


_STAGE_LOG = re.compile(r"^(\w+): \d+ day\(s\) in ([0-9.]+)s$")


def dagster_step_times(home: Path, *, exclude: set[str] = frozenset()) -> StepTimes:
    """Read STEP_START .. STEP_SUCCESS/FAILURE from the run storage in ``home`` (a DAGSTER_HOME).

    Runs in ``exclude`` (those of earlier invocations) are skipped."""
    inst = _instance(home)
    res = StepTimes()
    starts: dict[tuple[str, str], float] = {}
    for run in inst.get_runs():
        if run.run_id in exclude:
            continue
        res.runs += 1
        run_t = {}
        seen_rate = False
        for rec in inst.all_logs(run.run_id):
            ev = rec.dagster_event
            if ev is None:
                if m := _STAGE_LOG.match(rec.user_message or ""):
                    res.stages[m.group(1)] = res.stages.get(m.group(1), 0.0) + float(m.group(2))
                continue
            kind = ev.event_type_value
            if kind in ("RUN_START", "RUN_SUCCESS", "RUN_FAILURE"):
                run_t[kind] = rec.timestamp
            if kind == "STEP_START":
                starts[(run.run_id, ev.step_key)] = rec.timestamp
            elif kind in ("STEP_SUCCESS", "STEP_FAILURE"):
                t0 = starts.pop((run.run_id, ev.step_key), None)
                if t0 is not None:
                    res.steps[ev.step_key] = res.steps.get(ev.step_key, 0.0) + rec.timestamp - t0
            elif kind == "ASSET_MATERIALIZATION":
                mat = ev.event_specific_data.materialization
                # the whole run's figure (`run_` prefix) is on each of its partitions' events: read it once a run
                if mat.asset_key.path == ["entities"] and "run_cache_hit_rate" in mat.metadata and not seen_rate:
                    res.cache_hit_rate.append(float(mat.metadata["run_cache_hit_rate"].value))
                    seen_rate = True
        if "RUN_START" in run_t:
            end = run_t.get("RUN_SUCCESS", run_t.get("RUN_FAILURE", run_t["RUN_START"]))
            res.run_seconds += end - run_t["RUN_START"]
    inst.dispose()
    return res
