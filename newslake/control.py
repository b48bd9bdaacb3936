"""The CLI's side of the control plane: a safe Dagster instance, crash recovery, and runs of the jobs.

``newslake run`` executes the same jobs the schedule, the sensors and the UI launch (``ingest_job``,
``daily_job`` over partition ranges), in the same instance, so run history, partitions and checks are one
truth. Three things a command line needs that the daemon does for launched runs:

* **Instance creation is serialised** with a lock file in the Dagster home: two processes starting at once on
  a new home otherwise race on the SQLite schema.
* **Crashed runs are reaped**: a run this machine executed in-process whose process is gone (SIGKILL, OOM,
  reboot) is still ``STARTED`` in the instance; it is marked failed before anything else happens.
* **One writer per lake from the CLI**: a second ``newslake run`` on the same Dagster home waits for the
  first (an OS lock, released by the kernel when a process dies, so a killed run never wedges the next).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import signal
import socket
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

PID_TAG = "newslake/pid"
HOST_TAG = "newslake/host"
_LIVE = ("NOT_STARTED", "STARTING", "STARTED", "CANCELING")


def prepare_home(home: Path, template: Path) -> None:
    """Create the Dagster home with newslake's instance settings (atomically: concurrent starts are safe)."""
    home.mkdir(parents=True, exist_ok=True)
    target = home / "dagster.yaml"
    if not target.exists():
        fd, tmp = tempfile.mkstemp(dir=home, prefix=".dagster.yaml.")
        os.close(fd)
        shutil.copy(template, tmp)
        os.replace(tmp, target)


@contextlib.contextmanager
def file_lock(path: Path, *, what: str, wait_message: str | None = None) -> Iterator[None]:
    """An exclusive ``flock`` on ``path``; the kernel releases it when the holder dies."""
    with open(path, "a+") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if wait_message:
                print(wait_message, file=sys.stderr)
            fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def instance(home: Path):
    """The Dagster instance of ``home``, created (schema and all) by one process at a time."""
    import dagster as dg

    with file_lock(home / ".instance.lock", what="instance"):
        inst = dg.DagsterInstance.from_config(str(home))
        inst.get_runs(limit=1)  # touches every storage, so the schema exists before the lock is released
    return inst


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def reap_dead_runs(inst) -> list[str]:
    """Mark failed every in-process run of this host whose process is gone; returns their run ids."""
    import dagster as dg

    statuses = [dg.DagsterRunStatus[s] for s in _LIVE]
    reaped = []
    for run in inst.get_runs(dg.RunsFilter(statuses=statuses, tags={HOST_TAG: socket.gethostname()})):
        pid = int(run.tags.get(PID_TAG, "0") or 0)
        if pid and pid != os.getpid() and not _alive(pid):
            inst.report_run_failed(
                run,
                f"newslake: the process that ran this run (pid {pid}) is gone "
                "(killed or crashed); marked failed by the next newslake command",
            )
            reaped.append(run.run_id)
    return reaped


LOCATION = "newslake"  # workspace.yaml's location_name
REPOSITORY = "__repository__"  # the repository Dagster makes of a Definitions object


def run_tags() -> dict[str, str]:
    """Who runs the run (for reaping), and the code location it belongs to: with the same repository and
    location tags a launched run gets, the UI lists CLI runs on the job's page and the Overview timeline."""
    from dagster._core.storage.tags import CODE_LOCATION_TAG, REPOSITORY_LABEL_TAG

    return {
        PID_TAG: str(os.getpid()),
        HOST_TAG: socket.gethostname(),
        REPOSITORY_LABEL_TAG: f"{REPOSITORY}@{LOCATION}",
        CODE_LOCATION_TAG: LOCATION,
    }


@contextlib.contextmanager
def interrupts_as_keyboard_interrupt() -> Iterator[None]:
    """SIGTERM behaves like Ctrl-C: the run stops between commits and is recorded as canceled or failed."""

    def handler(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def execute(defs, job_name: str, inst, *, tags: dict[str, str], log_level: str) -> bool:
    """Run one job in this process; an interrupt marks the run failed (never left STARTED) and re-raises."""
    import dagster as dg

    job = defs.resolve_job_def(job_name)
    run_config = {"loggers": {"console": {"config": {"log_level": log_level}}}}
    t0 = time.monotonic()
    try:
        res = job.execute_in_process(
            instance=inst, run_config=run_config, tags={**tags, **run_tags()}, raise_on_error=False
        )
    except KeyboardInterrupt:
        for run in inst.get_runs(
            dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED], tags={PID_TAG: str(os.getpid())})
        ):
            inst.report_run_failed(run, "newslake: interrupted (Ctrl-C or SIGTERM)")
        raise
    if os.environ.get("NEWSLAKE_TIMINGS"):
        print(f"{job_name} {tags}: {time.monotonic() - t0:.2f}s", file=sys.stderr)
    return res.success
