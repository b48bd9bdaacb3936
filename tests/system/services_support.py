"""Helpers for the scale-out tests: real services on this machine, real `newslake` processes, table snapshots.

A test that needs PostgreSQL or RabbitMQ uses the real server and FAILS with a message saying which service is
down (it never skips silently); such tests carry the ``services`` marker, so ``-m "not services"`` deselects
them. The service libraries (dagster-postgres, dagster-celery, psycopg2) are test dependencies: missing, the test fails.
"""

from __future__ import annotations

import contextlib
import getpass
import importlib
import os
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest

PROJECT = Path(__file__).resolve().parents[2]
PG_HOST = os.environ.get("NEWSLAKE_TEST_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("NEWSLAKE_TEST_PG_PORT", "5432"))
PG_USER = os.environ.get("NEWSLAKE_TEST_PG_USER") or os.environ.get("PGUSER") or getpass.getuser()
PG_PASSWORD = os.environ.get("NEWSLAKE_TEST_PG_PASSWORD", "")
AMQP = ("127.0.0.1", int(os.environ.get("NEWSLAKE_TEST_AMQP_PORT", "5672")))
VOLATILE = {"run_id", "ingested_at", "rejected_at"}  # differ between any two runs by design
DESELECT = "deselect with -m 'not services'"


def need_package(module: str, pip_name: str):
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        pytest.fail(f"{pip_name} is not installed ({exc}): pip install -c constraints.txt -e '.[test]'", pytrace=False)


def require_tcp(host: str, port: int, what: str) -> None:
    """Fail the test clearly when a service does not accept connections."""
    try:
        socket.create_connection((host, port), timeout=3).close()
    except OSError as exc:
        pytest.fail(f"{what} is not reachable at {host}:{port} ({exc}): start it, or {DESELECT}", pytrace=False)


@contextlib.contextmanager
def fresh_pg_database() -> Iterator[dict[str, str]]:
    """A new PostgreSQL database for one test (dropped afterwards); yields the DAGSTER_PG_* environment."""
    psycopg2 = need_package("psycopg2", "psycopg2-binary")
    require_tcp(PG_HOST, PG_PORT, "PostgreSQL")
    try:
        admin = psycopg2.connect(
            host=PG_HOST, port=PG_PORT, user=PG_USER, password=PG_PASSWORD or None, dbname="postgres", connect_timeout=5
        )
    except psycopg2.OperationalError as exc:
        pytest.fail(f"PostgreSQL at {PG_HOST}:{PG_PORT} refused user {PG_USER!r}: {exc}; {DESELECT}", pytrace=False)
    admin.autocommit = True
    name = f"newslake_test_{uuid.uuid4().hex[:12]}"
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    try:
        yield {
            "DAGSTER_PG_HOST": PG_HOST,
            "DAGSTER_PG_PORT": str(PG_PORT),
            "DAGSTER_PG_DB": name,
            "DAGSTER_PG_USERNAME": PG_USER,
            "DAGSTER_PG_PASSWORD": PG_PASSWORD,
        }
    finally:
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def pg_query(env: dict[str, str], sql: str) -> list[tuple]:
    import psycopg2

    conn = psycopg2.connect(
        host=env["DAGSTER_PG_HOST"],
        port=int(env["DAGSTER_PG_PORT"]),
        user=env["DAGSTER_PG_USERNAME"],
        dbname=env["DAGSTER_PG_DB"],
        password=env["DAGSTER_PG_PASSWORD"] or None,
    )
    with contextlib.closing(conn), conn.cursor() as cur:
        cur.execute(sql)
        return cur.fetchall()


def newslake(*args: str, env: dict[str, str], timeout: float = 900, wait: bool = True, input: str | None = None):
    """The real command in its own process (``wait=False`` returns the Popen); ``input`` is its stdin."""
    cmd = [sys.executable, "-m", "newslake.cli", *args]
    full_env = {**os.environ, **env}
    if not wait:
        return subprocess.Popen(
            cmd, env=full_env, cwd=PROJECT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
    return subprocess.run(cmd, env=full_env, cwd=PROJECT, capture_output=True, text=True, timeout=timeout, input=input)


def ok(out: subprocess.CompletedProcess) -> str:
    """The command's stdout, after asserting it succeeded (its output tails otherwise)."""
    assert out.returncode == 0, (out.stdout[-2000:], out.stderr[-3000:])
    return out.stdout


def snapshot(lake_uri: str, *, storage_options: dict | None = None) -> dict[str, pl.DataFrame]:
    """Every table's rows, sorted, without the columns that name a run or a time."""
    from pipeline import storage
    from pipeline.schema import TABLES
    from pipeline.storage import Lake

    lake, out = Lake(lake_uri, storage_options=storage_options or {}), {}
    for name, table in TABLES.items():
        if name == "releases" or not lake.exists(table):
            continue
        df = storage.read(lake, table)
        df = df.select([c for c in df.columns if c not in VOLATILE])
        sortable = [c for c, t in df.schema.items() if not isinstance(t, pl.List | pl.Struct)]
        out[name] = df.sort(sortable, nulls_last=True)
    return out


def assert_same_tables(got: dict[str, pl.DataFrame], want: dict[str, pl.DataFrame]) -> None:
    assert sorted(got) == sorted(want), f"tables differ: {sorted(got)} vs {sorted(want)}"
    for name in want:
        assert got[name].equals(want[name]), f"{name}: {got[name].height} rows vs {want[name].height} (serial)"
