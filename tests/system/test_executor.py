"""A real multi-worker executor: ``daily_job_celery`` with its steps run by Celery workers on the local broker.

Two Celery workers (separate processes, ``celery -A dagster_celery.app worker``) consume a queue made for
this test on the local RabbitMQ; the instance is PostgreSQL (a fresh database), as in a deployment. After
one ingestion, two runs of ``daily_job_celery`` (the dated days as one range, the undated key as another) are
launched at once from two processes; every step must have executed in a worker process, and every table must
equal the tables of one in-process ``newslake run`` of the same inbox.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid

import pytest
from services_support import (
    AMQP,
    PROJECT,
    assert_same_tables,
    fresh_pg_database,
    need_package,
    newslake,
    require_tcp,
    snapshot,
)

pytestmark = [pytest.mark.services, pytest.mark.slow]

INGEST = """
import dagster as dg
from assets.definitions import defs
assert defs.resolve_job_def("ingest_job").execute_in_process(instance=dg.DagsterInstance.get()).success
"""
LAUNCH = """
import sys
import dagster as dg
from assets.automation import range_tags
from assets.executors import celery_daily_job
start, end, queue = sys.argv[1:4]
config = {"execution": {"config": {"config_source": {"task_default_queue": queue}}}}
with dg.DagsterInstance.get() as inst:
    res = dg.execute_job(dg.reconstructable(celery_daily_job), instance=inst, tags=range_tags(start, end),
                         run_config=config)
    sys.exit(0 if res.success else 1)
"""


def _python(code: str, *args: str, env: dict) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", code, *args],
        env=env,
        cwd=PROJECT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish(proc: subprocess.Popen, what: str, timeout: float = 900) -> None:
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, f"{what} failed:\n{err[-4000:]}"


def _wait_ready(log_path, proc, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"celery worker exited ({proc.returncode}):\n{log_path.read_text()[-3000:]}")
        if " ready." in log_path.read_text():
            return
        time.sleep(0.5)
    pytest.fail(f"celery worker not ready after {timeout}s:\n{log_path.read_text()[-3000:]}")


@pytest.fixture
def services():
    need_package("dagster_celery", "dagster-celery")
    need_package("dagster_postgres", "dagster-postgres")
    require_tcp(*AMQP, "RabbitMQ (the Celery broker)")
    with fresh_pg_database() as pg:
        yield pg


def test_daily_job_on_celery_workers_equals_in_process_run(services, sample_inbox, tmp_path, monkeypatch):
    import dagster as dg

    home, lake = tmp_path / "home", tmp_path / "lake"
    home.mkdir()
    shutil.copy(PROJECT / "deploy" / "dagster-postgres.yaml", home / "dagster.yaml")
    queue = f"newslake-test-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        **services,
        "DAGSTER_HOME": str(home),
        "NEWSLAKE_LAKE": str(lake),
        "NEWSLAKE_INBOX": str(sample_inbox),
        "NEWSLAKE_CONFIG": "",
        "NEWSLAKE_INGEST_CONFIG": "",
    }
    for key in services:
        monkeypatch.setenv(key, services[key])

    # the reference: one in-process newslake run of the same inbox (SQLite instance, its own lake)
    ref_root = tmp_path / "ref"
    reference = newslake(
        "run",
        "--inbox",
        str(sample_inbox),
        "--lake",
        str(ref_root / "lake"),
        "--home",
        str(ref_root / "home"),
        "--no-progress",
        env={"NEWSLAKE_CONFIG": ""},
    )
    assert reference.returncode == 0, reference.stderr[-3000:]

    _finish(_python(INGEST, env=env), "ingest_job")
    workers, logs = [], []
    try:
        for i in range(2):
            log = tmp_path / f"worker{i}.log"
            logs.append(log)
            # solo pool: the step runs in the worker's main process, which may start the tagger's processes
            workers.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "celery",
                        "-A",
                        "dagster_celery.app",
                        "worker",
                        "-Q",
                        queue,
                        "-P",
                        "solo",
                        "-n",
                        f"w{i}-{queue}@%h",
                        "--without-gossip",
                        "--without-mingle",
                        "-l",
                        "INFO",
                    ],
                    env=env,
                    cwd=PROJECT,
                    stdout=log.open("w"),
                    stderr=subprocess.STDOUT,
                )
            )
        for w, log in zip(workers, logs, strict=True):
            _wait_ready(log, w)

        with dg.DagsterInstance.from_config(str(home)) as inst:
            keys = list(inst.get_dynamic_partitions("pub_days"))
        dated = [k for k in keys if k != "undated"]
        assert len(dated) >= 3 and "undated" in keys
        launches = [
            _python(LAUNCH, dated[0], dated[-1], queue, env=env),
            _python(LAUNCH, "undated", "undated", queue, env=env),
        ]
        for p in launches:
            _finish(p, "daily_job_celery")
        worker_pids = {w.pid for w in workers}
    finally:
        for w in workers:
            w.terminate()
        for w in workers:
            try:
                w.wait(timeout=30)
            except subprocess.TimeoutExpired:
                w.kill()

    with dg.DagsterInstance.from_config(str(home)) as inst:
        runs = inst.get_runs(dg.RunsFilter(job_name="daily_job_celery"))
        assert len(runs) == 2 and all(r.status == dg.DagsterRunStatus.SUCCESS for r in runs)
        step_pids = {}
        for run in runs:
            for entry in inst.all_logs(run.run_id, of_type=dg.DagsterEventType.STEP_START):
                step_pids[(run.run_id[:8], entry.dagster_event.step_key)] = entry.dagster_event.pid
    assert len(step_pids) == 6, step_pids  # 3 stage steps per run
    assert set(step_pids.values()) <= worker_pids, f"steps ran outside the workers: {step_pids} vs {worker_pids}"
    print(f"steps per worker pid: { {p: sum(v == p for v in step_pids.values()) for p in worker_pids} }")
    assert_same_tables(snapshot(str(lake)), snapshot(str(ref_root / "lake")))
