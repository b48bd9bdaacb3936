"""A range of days run from the UI costs what the same range costs from `newslake run` (issue: UI runs were 3-4x).

Builds an inbox of ``--days`` days from ``../shared/corpus/reuters21578.jsonl`` (``--per-day`` stories a day;
dates rewritten into consecutive days), ingests it once with ``newslake run``, then alternates, ``--rounds``
times: ``newslake run --skip-ingest --from A --to B`` (wall time of the command), and the same range launched
through the webserver of ``dagster dev`` as the UI does (GraphQL ``launchRun`` with the range tags; wall time
from launch to a terminal status). Both rewrite the same partitions, so they do the same work.

    python -m benchmarks.ui_vs_cli [--days 16] [--per-day 40] [--rounds 2]

Prints both times per round, the medians and their ratio (target: UI <= 1.2x CLI), and ``FIGURE`` lines.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import date, timedelta
from pathlib import Path

from benchmarks._common import PROJECT, figure, load, require, shared_dir

NEWSLAKE = [sys.executable, "-m", "newslake.cli"]


def build_inbox(dst: Path, *, days: int, per_day: int) -> tuple[str, str]:
    src = shared_dir() / "corpus" / "reuters21578.jsonl"
    start = date(1987, 3, 1)
    out = []
    with open(src) as fh:
        for i, line in enumerate(fh):
            if len(out) >= days * per_day:
                break
            rec = json.loads(line)
            if not (rec.get("body") or "").strip():
                continue
            day = start + timedelta(days=len(out) // per_day)
            out.append({"id": f"r{i}", "title": rec.get("title") or "", "text": rec["body"],
                        "date": f"{day.isoformat()}T12:00:00Z"})
    dst.mkdir(parents=True)
    (dst / "wire.jsonl").write_text("".join(json.dumps(r) + "\n" for r in out))
    return start.isoformat(), (start + timedelta(days=days - 1)).isoformat()


def gql(url: str, query: str, variables: dict | None = None) -> dict:
    req = urllib.request.Request(f"{url}/graphql", data=json.dumps({"query": query, "variables": variables or {}})
                                 .encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as resp:
        body = json.loads(resp.read())
    if body.get("errors"):
        raise RuntimeError(body["errors"])
    return body["data"]


def wait_ready(url: str, proc: subprocess.Popen, timeout: float = 300) -> None:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if proc.poll() is not None:
            raise RuntimeError("dagster dev exited")
        try:
            data = gql(url, "{ workspaceOrError { ... on Workspace { locationEntries { name "
                            "locationOrLoadError { __typename } } } } }")
            entries = data["workspaceOrError"]["locationEntries"]
            if entries and entries[0]["locationOrLoadError"]["__typename"] == "RepositoryLocation":
                return
        except OSError:
            pass
        time.sleep(1)
    raise TimeoutError("webserver not ready")


def ui_run(url: str, a: str, b: str) -> float:
    tags = [{"key": "dagster/asset_partition_range_start", "value": a},
            {"key": "dagster/asset_partition_range_end", "value": b}]
    t0 = time.monotonic()
    data = gql(url, """mutation($p: ExecutionParams!) { launchRun(executionParams: $p) { __typename
        ... on LaunchRunSuccess { run { runId } } ... on PythonError { message } } }""",
               {"p": {"selector": {"repositoryLocationName": "newslake", "repositoryName": "__repository__",
                                   "jobName": "daily_job"}, "runConfigData": {}, "executionMetadata": {"tags": tags}}})
    run_id = data["launchRun"]["run"]["runId"]
    while True:
        status = gql(url, "query($id: ID!) { runOrError(runId: $id) { ... on Run { status } } }",
                     {"id": run_id})["runOrError"]["status"]
        if status in ("SUCCESS", "FAILURE", "CANCELED"):
            if status != "SUCCESS":
                raise RuntimeError(f"UI run {run_id} {status}")
            return time.monotonic() - t0
        time.sleep(0.25)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--days", type=int, default=16)
    ap.add_argument("--per-day", type=int, default=40)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args(argv)
    if not require(shared_dir() / "corpus" / "reuters21578.jsonl", "the Reuters corpus"):
        return 0
    work = Path(tempfile.mkdtemp(prefix="newslake-ui-vs-cli-"))
    try:
        a, b = build_inbox(work / "inbox", days=args.days, per_day=args.per_day)
        env = {**os.environ, "DAGSTER_HOME": str(work / "home"), "NEWSLAKE_LAKE": str(work / "lake"),
               "NEWSLAKE_INBOX": str(work / "inbox")}
        subprocess.run([*NEWSLAKE, "run", "--no-progress"], env=env, cwd=PROJECT, check=True, capture_output=True)
        (work / "wd").mkdir()
        port = 3000 + os.getpid() % 1000
        dev = subprocess.Popen([str(Path(sys.executable).with_name("dagster")), "dev", "-w",
                                str(PROJECT / "workspace.yaml"), "-p", str(port)], cwd=work / "wd", env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        url = f"http://127.0.0.1:{port}"
        try:
            wait_ready(url, dev)
            time.sleep(5)  # let the sensors' first ticks pass (they find every day done)
            cli, ui = [], []
            for r in range(args.rounds):
                t0 = time.monotonic()
                subprocess.run([*NEWSLAKE, "run", "--skip-ingest", "--no-progress", "--from", a, "--to", b],
                               env=env, cwd=PROJECT, check=True, capture_output=True)
                cli.append(time.monotonic() - t0)
                ui.append(ui_run(url, a, b))
                print(f"round {r + 1}: newslake run {cli[-1]:.1f}s, UI launch {ui[-1]:.1f}s  [{load()}]", flush=True)
        finally:
            os.killpg(dev.pid, 15)
            dev.wait(timeout=60)
        c, u = statistics.median(cli), statistics.median(ui)
        print(f"{args.days} days x {args.per_day} stories: median newslake run {c:.1f}s, UI {u:.1f}s, "
              f"UI/CLI {u / c:.2f}x (target <= 1.2x)")
        figure("ui_vs_cli.cli_seconds", c)
        figure("ui_vs_cli.ui_seconds", u)
        figure("ui_vs_cli.cli_over_ui", c / u)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
