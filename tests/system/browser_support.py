"""Helpers for the browser test: a `dagster dev` subprocess, its GraphQL API and headless Chromium.

Kept apart from the test so that the test reads as what a user does in the UI.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

# Without the background-networking flags Chromium tries to reach Google services; on a closed network those
# connections are refused and slow the browser down.
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "chromium", "chromium-browser")
TERMINAL = {"SUCCESS", "FAILURE", "CANCELED"}
LOCATION = "newslake"
REPOSITORY = "__repository__"  # the name Dagster gives the repository of a `Definitions` object


def find_chromium() -> str | None:
    """Path of a Chromium executable: $NEWSLAKE_CHROMIUM, Debian's /usr/bin/chromium, or one on PATH."""
    for cand in (os.environ.get("NEWSLAKE_CHROMIUM"), *CHROMIUM_CANDIDATES):
        if cand and (path := shutil.which(cand)):
            return path
    return None


def free_port() -> int:
    """A loopback TCP port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def gql(base_url: str, query: str, variables: dict | None = None, *, timeout: float = 30) -> dict:
    """POST one GraphQL query to the webserver; return `data`, raising on GraphQL errors."""
    body = json.dumps({"query": query, "variables": variables or {}}).encode()
    req = urllib.request.Request(f"{base_url}/graphql", data=body,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        payload = json.load(resp)
    if payload.get("errors"):
        raise RuntimeError(f"GraphQL errors: {payload['errors']}")
    return payload["data"]


@dataclass
class DagsterDev:
    """`dagster dev` (webserver + daemon) on a loopback port, in its own process group.

    Use as a context manager: the whole process group (webserver, daemon, code servers, runs) is terminated on
    exit, whatever happened inside.
    """

    workspace: Path
    cwd: Path
    env: dict[str, str]
    log_path: Path
    host: str = "127.0.0.1"
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def __enter__(self) -> DagsterDev:
        exe = Path(sys.executable).with_name("dagster")
        cmd = [str(exe if exe.exists() else "dagster"), "dev", "-w", str(self.workspace),
               "-h", self.host, "-p", str(self.port)]
        self._log = open(self.log_path, "wb")  # noqa: SIM115 -- closed in __exit__
        self.proc = subprocess.Popen(cmd, cwd=self.cwd, env={**os.environ, **self.env}, stdout=self._log,
                                     stderr=subprocess.STDOUT, start_new_session=True,
                                     preexec_fn=_default_signals)
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self, *, grace: float = 20.0) -> None:
        if self.proc is None:
            return
        pgid = self.proc.pid  # start_new_session: the group id is the leader's pid
        for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 10.0)):
            try:
                os.killpg(pgid, sig)
            except ProcessLookupError:
                break
            if _group_gone(self.proc, pgid, wait):
                break
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=5)
        self._log.close()
        self.proc = None

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def wait_ready(self, *, timeout: float) -> None:
        """Wait until the webserver answers and the code location has loaded (or fail with the reason)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"dagster dev exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                state = location_state(self.url)
            except (urllib.error.URLError, ConnectionError, TimeoutError, RuntimeError):
                state = None
            if state == "RepositoryLocation":
                return
            if state is not None and state.startswith("error:"):
                raise RuntimeError(f"code location failed to load: {state[6:]}")
            time.sleep(1.0)
        raise TimeoutError(f"webserver not ready after {timeout:.0f}s:\n{self.log_tail()}")


def _default_signals() -> None:
    # A process started in the background of a non-interactive shell inherits SIGINT ignored, and
    # `dagster dev` maps SIGTERM to SIGINT's disposition: it would ignore both and only die by SIGKILL.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _group_gone(leader: subprocess.Popen, pgid: int, wait: float) -> bool:
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        leader.poll()  # reap the leader, else its zombie keeps the group alive
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.2)
    return False


def location_state(base_url: str) -> str | None:
    """`RepositoryLocation` once loaded, `error:<message>` if loading failed, None while loading."""
    data = gql(base_url, """{ workspaceOrError { __typename ... on Workspace { locationEntries {
        name loadStatus locationOrLoadError { __typename ... on PythonError { message } } } } } }""",
               timeout=10)
    entries = {e["name"]: e for e in data["workspaceOrError"].get("locationEntries", [])}
    entry = entries.get(LOCATION)
    if entry is None or entry["loadStatus"] != "LOADED" or entry["locationOrLoadError"] is None:
        return None
    loaded = entry["locationOrLoadError"]
    if loaded["__typename"] == "PythonError":
        return "error:" + loaded["message"]
    return loaded["__typename"]


def runs(base_url: str, *, job: str | None = None) -> list[dict]:
    """Runs, newest first: id, job, status and tags."""
    data = gql(base_url, """query($f: RunsFilter) { runsOrError(filter: $f) { __typename ... on Runs {
        results { runId jobName status tags { key value } assetSelection { path } } } } }""",
               {"f": {"pipelineName": job} if job else {}})
    return data["runsOrError"]["results"]


def run(base_url: str, run_id: str) -> dict:
    data = gql(base_url, """query($id: ID!) { runOrError(runId: $id) { __typename ... on Run {
        runId jobName status tags { key value } assetSelection { path } } } }""", {"id": run_id})
    return data["runOrError"]


def launch_job(base_url: str, job: str) -> str:
    """Launch an unpartitioned job as the UI's launchpad would; return the run id."""
    data = gql(base_url, """mutation($p: ExecutionParams!) { launchRun(executionParams: $p) {
        __typename ... on LaunchRunSuccess { run { runId } } ... on PythonError { message } } }""",
               {"p": {"selector": {"repositoryLocationName": LOCATION, "repositoryName": REPOSITORY,
                                   "jobName": job}, "runConfigData": {}}})
    res = data["launchRun"]
    if res["__typename"] != "LaunchRunSuccess":
        raise RuntimeError(f"could not launch {job}: {res}")
    return res["run"]["runId"]


def wait_for_run(base_url: str, run_id: str, *, timeout: float, poll: float = 2.0) -> dict:
    """Wait until the run reaches a terminal status (SUCCESS, FAILURE, CANCELED); return it."""
    deadline = time.monotonic() + timeout
    while True:
        current = run(base_url, run_id)
        if current.get("status") in TERMINAL:
            return current
        if time.monotonic() > deadline:
            raise TimeoutError(f"run {run_id} still {current.get('status')} after {timeout:.0f}s")
        time.sleep(poll)


def wait_until_idle(base_url: str, *, timeout: float, poll: float = 2.0) -> bool:
    """Wait until no run is queued or in progress; False if some still are after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        if all(r["status"] in TERMINAL for r in runs(base_url)):
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(poll)


def run_failure_messages(base_url: str, run_id: str, *, limit: int = 10) -> list[str]:
    """The error messages of a failed run, for the assertion message."""
    data = gql(base_url, """query($id: ID!) { logsForRun(runId: $id) { __typename ... on EventConnection {
        events { __typename ... on MessageEvent { message } ... on ExecutionStepFailureEvent {
        error { message } } ... on RunFailureEvent { message } } } } }""", {"id": run_id})
    events = data["logsForRun"].get("events", [])
    out = [e["error"]["message"] if e.get("error") else e.get("message", "") for e in events
           if e["__typename"] in ("ExecutionStepFailureEvent", "RunFailureEvent")]
    return out[-limit:]


def step_spans(base_url: str) -> list[tuple[float, float | None, str, str]]:
    """(start, end, run id, step key) of every step that started, in every run; end is None while running."""
    data = gql(base_url, """{ runsOrError { __typename ... on Runs { results { runId
        stepStats { stepKey startTime endTime } } } } }""")
    return [(st["startTime"], st["endTime"], r["runId"], st["stepKey"])
            for r in data["runsOrError"]["results"] for st in r["stepStats"] if st["startTime"]]


def partition_materializations(base_url: str, asset: str, partition: str) -> list[dict]:
    """Materializations of one partition of an asset: run id and partition of each."""
    data = gql(base_url, """query($k: AssetKeyInput!, $p: [String!]) { assetOrError(assetKey: $k) {
        __typename ... on Asset { assetMaterializations(partitions: $p) { runId partition timestamp
        metadataEntries { label ... on IntMetadataEntry { intValue } } } } } }""",
               {"k": {"path": [asset]}, "p": [partition]})
    return data["assetOrError"].get("assetMaterializations", [])


def partition_keys(base_url: str, asset: str) -> list[str]:
    """The partition keys the UI lists for an asset."""
    data = gql(base_url, """query($k: AssetKeyInput!) { assetNodeOrError(assetKey: $k) {
        __typename ... on AssetNode { partitionKeys } } }""", {"k": {"path": [asset]}})
    return data["assetNodeOrError"].get("partitionKeys") or []


def backfills(base_url: str) -> list[dict]:
    data = gql(base_url, """query { partitionBackfillsOrError(limit: 20) { __typename
        ... on PartitionBackfills { results { id status numPartitions
            assetBackfillData { rootTargetedPartitions { partitionKeys } } } } } }""")
    return data["partitionBackfillsOrError"].get("results", [])
