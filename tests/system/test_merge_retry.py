"""Two real processes MERGE overlapping keys into the same tables at once; storage redoes a MERGE that lost its
commit (issue 18), so neither writer fails and every key is stored exactly once.

Unlike ``test_concurrent_writes.py`` the writers here do not retry anything themselves: a commit conflict that
escaped ``pipeline.storage`` would fail the child. Each round is released by a two-sided file barrier so the
MERGEs overlap; ``entity_cache`` is merged insert-only, ``files`` insert-or-update. Run on a local lake and on
the local S3 server (moto) that the other system tests use.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from benchmarks._s3 import local_s3
from pipeline import storage
from pipeline.schema import ENTITY_CACHE, FILES
from pipeline.storage import Lake

PROJECT = Path(__file__).resolve().parents[2]
ROUNDS = 12
PER_ROUND = 20  # keys per writer per round; the two writers share half of them


def cache_keys(worker: int, r: int) -> list[str]:
    return [f"r{r}-k{j}" for j in range(worker * PER_ROUND // 2, worker * PER_ROUND // 2 + PER_ROUND)]


def cache_frame(worker: int, r: int) -> pl.DataFrame:
    keys = cache_keys(worker, r)
    return pl.DataFrame(
        {"sent_hash": keys, "model": ["m"] * len(keys), "ents": [[{"start": 0, "end": 1, "label": f"W{worker}",
                                                                     "score": 1.0}]] * len(keys)},
        schema=ENTITY_CACHE.schema,
    )  # fmt: skip


def files_frame(worker: int, r: int) -> pl.DataFrame:
    paths = [f"inbox/{k}.html" for k in cache_keys(worker, r)]
    n = len(paths)
    return pl.DataFrame(
        {
            "path": paths, "sha256": [f"w{worker}"] * n, "size": [r] * n, "format": ["html"] * n,
            "compression": ["none"] * n, "status": ["ok"] * n, "reason": [None] * n, "records": [1] * n,
            "documents": [1] * n, "rejected": [0] * n, "duplicate_of": [None] * n,
            "ingested_at": [datetime.now(UTC)] * n, "run_id": [f"w{worker}"] * n, "retries": [0] * n,
            "decode_flags": [[]] * n,
        },
        schema=FILES.schema,
    )  # fmt: skip


def child(root: str, barrier: Path, worker: int) -> None:
    lake = Lake(root)
    for r in range(ROUNDS):
        (barrier / f"ready-{r}-{worker}").touch()
        deadline = time.monotonic() + 120
        while not (barrier / f"ready-{r}-{1 - worker}").exists():
            if time.monotonic() > deadline:
                raise SystemExit("the other writer never arrived")
            time.sleep(0.002)
        storage.append(lake, ENTITY_CACHE, cache_frame(worker, r))
        storage.upsert(lake, FILES, files_frame(worker, r))
    print(f"done retries={storage.merge_retries}", flush=True)


def race(tmp_path: Path, root: str, env: dict) -> int:
    """Run both writers to the end; return the MERGEs they redid after a conflict."""
    barrier = tmp_path / f"barrier-{abs(hash(root))}"
    barrier.mkdir()
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.system.test_merge_retry", root, str(barrier), str(w)],
            cwd=PROJECT, env={**env, "PYTHONPATH": str(PROJECT)}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True,
        )
        for w in (0, 1)
    ]  # fmt: skip
    retries = 0
    for p in procs:
        out, err = p.communicate(timeout=600)
        assert p.returncode == 0 and "done" in out, err[-4000:]
        retries += int(out.split("retries=")[1].split()[0])
    return retries


def check(lake: Lake) -> None:
    expected = sorted({k for r in range(ROUNDS) for w in (0, 1) for k in cache_keys(w, r)})
    cache = storage.read(lake, ENTITY_CACHE)
    assert cache.height == len(expected) == cache["sent_hash"].n_unique(), "entity_cache keys doubled or lost"
    assert sorted(cache["sent_hash"]) == expected
    files = storage.read(lake, FILES)
    assert sorted(files["path"]) == sorted(f"inbox/{k}.html" for k in expected), "files paths doubled or lost"
    # insert-or-update: each row is one writer's whole row, never a mix of the two
    assert files.filter(pl.col("sha256") != pl.col("run_id")).height == 0
    for name in ("entity_cache", "files"):  # the retried MERGEs' files are normalised like the others
        dt = lake.open(name)
        assert dt is not None
        ds = dt.to_pyarrow_dataset()
        for frag in ds.get_fragments():
            import pyarrow as pa

            assert not any(pa.types.is_string_view(f.type) for f in frag.physical_schema), (name, frag.path)


@pytest.mark.slow
def test_two_processes_merging_overlapping_keys_locally(tmp_path):
    root = str(tmp_path / "lake")
    retries = race(tmp_path, root, dict(os.environ))
    check(Lake(root))
    print(f"local: {retries} MERGE commits redone after a conflict")
    assert retries > 0, "the writers never conflicted: the test did not exercise the retry"


@pytest.mark.slow
def test_two_processes_merging_overlapping_keys_on_s3(tmp_path, monkeypatch):
    with local_s3("merge-retry") as creds:
        for k, v in creds.items():
            monkeypatch.setenv(k, v)
        root = "s3://merge-retry/lake"
        retries = race(tmp_path, root, {**os.environ, **creds})
        check(Lake(root, storage_options=creds))
        print(f"s3: {retries} MERGE commits redone after a conflict")
        assert retries > 0, "the writers never conflicted: the test did not exercise the retry"


if __name__ == "__main__":
    child(sys.argv[1], Path(sys.argv[2]), int(sys.argv[3]))
