"""Two real processes writing the same tables at the same moment never double a row (issue 15).

Each round gives both writers a fresh lake (the first-write race) or one whose tables exist, released by a
file barrier so the writes overlap. A writer retries a ``CommitFailedError`` the way a Dagster step does.
Afterwards every key is present exactly once: ``doc_id`` in ``documents``, the merge keys of ``rejects``
and ``entity_cache``. Run locally and against a local S3 server (moto), as ``tests/system/test_object_store.py``.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest

from benchmarks._s3 import local_s3
from pipeline import storage
from pipeline.schema import DOCUMENTS, ENTITY_CACHE, REJECTS
from pipeline.storage import Lake

PROJECT = Path(__file__).resolve().parents[2]
DAY0 = date(2026, 1, 1)


def frames(days: list[date], seed: int) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """The same rows for every writer of a round (the writers race to store identical work)."""
    n = 3
    docs = DOCUMENTS.empty().vstack(
        pl.DataFrame(
            {
                "doc_id": [f"{seed}-{d}-{i}" for d in days for i in range(n)],
                "pub_date": [d for d in days for _ in range(n)],
                "text": ["x"] * (n * len(days)),
            }
        )
        .with_columns(
            [
                pl.lit(None).cast(t).alias(c)
                for c, t in DOCUMENTS.schema.items()
                if c not in ("doc_id", "pub_date", "text")
            ]
        )
        .select(DOCUMENTS.column_names)
        .cast(dict(DOCUMENTS.schema))
    )
    rej = pl.DataFrame(
        {
            "source_path": [f"p{i}" for i in range(n)],
            "source_sha256": ["s"] * n,
            "record_key": [None, "1", "2"],
            "stage": ["ingest"] * n,
            "reason": ["empty_record"] * n,
            "detail": [""] * n,
            "rejected_at": [None] * n,
            "run_id": [None] * n,
        },
        schema=REJECTS.schema,
    )
    cache = pl.DataFrame(
        {"sent_hash": [f"h{seed}-{i}" for i in range(n)], "model": ["m"] * n, "ents": [[]] * n},
        schema=ENTITY_CACHE.schema,
    )
    return docs, rej, cache


def _with_retry(fn, tries: int = 20):
    from deltalake.exceptions import CommitFailedError

    for i in range(tries):
        try:
            return fn()
        except CommitFailedError:
            time.sleep(random.uniform(0.01, 0.1) * (i + 1))
    raise RuntimeError("commit kept conflicting")


def child(barrier: Path, roots: list[str], seeds: list[int]) -> None:
    """Writer process: for each round, wait for the barrier, then write all three tables."""
    for i, (root, seed) in enumerate(zip(roots, seeds, strict=True)):
        lake = Lake(root, storage_options={})
        rng = random.Random(seed)
        days = sorted({DAY0 + timedelta(days=rng.randrange(4)) for _ in range(rng.randint(1, 3))})
        docs, rej, cache = frames(days, seed)
        (barrier / f"ready-{i}-{os.getpid()}").touch()
        while not (barrier / f"go-{i}").exists():
            time.sleep(0.005)
        _with_retry(lambda: storage.write_partitions(lake, DOCUMENTS, docs, dates=days))  # noqa: B023
        _with_retry(lambda: storage.upsert(lake, REJECTS, rej))  # noqa: B023
        _with_retry(lambda: storage.append(lake, ENTITY_CACHE, cache))  # noqa: B023
    print("done", flush=True)


def race(tmp_path: Path, roots: list[str], seeds: list[int], env: dict) -> None:
    barrier = tmp_path / "barrier"
    barrier.mkdir(exist_ok=True)
    args = [
        sys.executable,
        "-m",
        "tests.system.test_concurrent_writes",
        str(barrier),
        ",".join(roots),
        ",".join(map(str, seeds)),
    ]
    procs = [
        subprocess.Popen(
            args,
            cwd=PROJECT,
            env={**env, "PYTHONPATH": str(PROJECT)},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    for i in range(len(roots)):
        deadline = time.monotonic() + 120
        while len(list(barrier.glob(f"ready-{i}-*"))) < 2:
            assert time.monotonic() < deadline and all(p.poll() is None for p in procs), [
                p.communicate() for p in procs if p.poll() is not None
            ]
            time.sleep(0.005)
        (barrier / f"go-{i}").touch()
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0 and "done" in out, err[-3000:]


def assert_no_doubles(lake: Lake, seed: int, *, ignore: date) -> None:
    rng = random.Random(seed)
    days = sorted({DAY0 + timedelta(days=rng.randrange(4)) for _ in range(rng.randint(1, 3))})
    docs, rej, cache = frames(days, seed)
    got = storage.read(lake, DOCUMENTS, columns=["doc_id", "pub_date"]).filter(pl.col("pub_date") != ignore)
    assert sorted(got["doc_id"]) == sorted(docs["doc_id"]), "documents doubled or lost"
    got_rej = storage.read(lake, REJECTS)
    assert got_rej.height == rej.height, got_rej
    got_cache = storage.read(lake, ENTITY_CACHE)
    assert sorted(got_cache["sent_hash"]) == sorted(cache["sent_hash"]), "entity_cache keys doubled"


def _run_rounds(tmp_path: Path, root_of, env: dict, *, existing: bool, rounds: int = 4, opts=None) -> None:
    seeds = [random.Random(42 + existing).randrange(1 << 30) + i for i in range(rounds)]
    roots = [root_of(i) for i in range(rounds)]
    if existing:
        for root in roots:  # tables exist (with rows of another round) before the race
            lake = Lake(root, storage_options=opts or {})
            d, r, c = frames([DAY0 + timedelta(days=9)], 7)
            storage.write_partitions(lake, DOCUMENTS, d, dates=[DAY0 + timedelta(days=9)])
    race(tmp_path, roots, seeds, env)
    for root, seed in zip(roots, seeds, strict=True):
        lake = Lake(root, storage_options=opts or {})
        if existing:
            old = storage.read(lake, DOCUMENTS, dates=[DAY0 + timedelta(days=9)])
            assert old.height == 3
        assert_no_doubles(lake, seed, ignore=DAY0 + timedelta(days=9))


@pytest.mark.slow
@pytest.mark.parametrize("existing", [False, True], ids=["fresh", "existing"])
def test_two_processes_local(tmp_path, existing):
    _run_rounds(tmp_path, lambda i: str(tmp_path / f"lake{i}"), dict(os.environ), existing=existing)


@pytest.mark.slow
@pytest.mark.parametrize("existing", [False, True], ids=["fresh", "existing"])
def test_two_processes_on_s3(tmp_path, existing, monkeypatch):
    bucket = f"lake-{'existing' if existing else 'fresh'}"
    with local_s3(bucket) as creds:
        for k, v in creds.items():
            monkeypatch.setenv(k, v)
        _run_rounds(tmp_path, lambda i: f"s3://{bucket}/r{i}", {**os.environ, **creds}, existing=existing, opts=creds)


if __name__ == "__main__":
    child(Path(sys.argv[1]), sys.argv[2].split(","), [int(s) for s in sys.argv[3].split(",")])
