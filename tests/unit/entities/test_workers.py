"""The tagger's worker processes as a process table shows them: how they start, what they share, how they end."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[3]


def _python(code: str, *args: str, **kw) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", code, *args],
        cwd=PROJECT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kw,
    )


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(") ")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_model_metadata_is_read_without_importing_spacy():
    import spacy.util

    from pipeline.entities.tagger import TaggerConfig, _package

    code = (
        "import json, sys\n"
        "from pipeline.entities.tagger import TaggerConfig, model_id, models_by_language, _meta\n"
        "cfg = TaggerConfig()\n"
        "out = {'id': model_id(cfg), 'langs': sorted(models_by_language(cfg)), 'meta': _meta(cfg.model),\n"
        "       'spacy_imported': 'spacy' in sys.modules}\n"
        "print(json.dumps(out))\n"
    )
    proc = _python(code)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err[-2000:]
    got = json.loads(out.strip().splitlines()[-1])
    assert got["spacy_imported"] is False
    # the same metadata spaCy itself reads
    theirs = spacy.util.get_model_meta(spacy.util.get_package_path(_package(TaggerConfig().model)))
    assert got["meta"]["version"] == theirs["version"] and got["meta"]["name"] == theirs["name"]
    assert got["id"] == f"{theirs['lang']}_{theirs['name']}=={theirs['version']}"
    assert "en" in got["langs"]


_START_WORKERS = (
    "import json, os, sys, time\n"
    "from pipeline.entities.tagger import TaggerConfig, tag_entities, _POOLS\n"
    "cfg = TaggerConfig(n_process=2, min_parallel=1, start=sys.argv[1])\n"
    "out = tag_entities(['Mayor Anna Lind of Port Ellery met officials in London on Monday.'] * 4, config=cfg)\n"
    "pool = next(iter(_POOLS.values()))\n"
    "workers = [p.pid for p in pool._pool]\n"
    "ppids = [int(open(f'/proc/{w}/stat').read().split(') ')[-1].split()[1]) for w in workers]\n"
    "print(json.dumps({'workers': workers, 'ppids': ppids, 'me': os.getpid(),\n"
    "                  'ents': sorted({e.text for e in out[0]})}), flush=True)\n"
    "time.sleep(300)\n"
)


@pytest.mark.slow
def test_workers_fork_from_one_server_with_spacy_imported_and_die_with_a_killed_parent():
    proc = _python(_START_WORKERS, "forkserver", start_new_session=True)
    try:
        line = proc.stdout.readline()
        assert line, proc.stderr.read()[-2000:]
        got = json.loads(line)
        assert "Anna Lind" in got["ents"] and "London" in got["ents"]
        servers = set(got["ppids"])
        # both workers are children of one fork server (not of the tagging process), which imported spaCy
        # before forking them: each worker's start skips that import
        assert len(servers) == 1 and got["me"] not in servers
        (server,) = servers
        maps = Path(f"/proc/{server}/maps").read_text()
        assert "/spacy/" in maps and "/thinc/" in maps
        assert "polars" not in maps  # its threads would make forking from the server unsafe
        os.kill(proc.pid, signal.SIGKILL)  # as `kill -9` of `newslake run` mid-run
        proc.wait(timeout=10)
        deadline = time.monotonic() + 30
        left = [p for p in [server, *got["workers"]] if _alive(p)]
        while left and time.monotonic() < deadline:
            time.sleep(0.2)
            left = [p for p in left if _alive(p)]
        assert not left, f"processes outlived their killed parent: {left}"
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)


@pytest.mark.slow
def test_spawned_workers_when_asked_give_the_same_entities():
    proc = _python(_START_WORKERS, "spawn", start_new_session=True)
    try:
        got = json.loads(proc.stdout.readline() or "{}")
        assert got, proc.stderr.read()[-2000:]
        assert set(got["ppids"]) == {got["me"]}  # spawned by the tagging process itself
        assert "Anna Lind" in got["ents"] and "London" in got["ents"]
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


def test_warm_workers_returns_at_once_and_tagging_waits_for_the_same_pool():
    from pipeline.entities import tagger as E

    E.close_pools()
    cfg = E.TaggerConfig(n_process=2, min_parallel=10_000)
    try:
        loads = E._load.cache_info()
        t0 = time.monotonic()
        E.warm_workers(cfg)
        assert time.monotonic() - t0 < 0.5  # the fork server's imports and the model loads happen elsewhere
        # tagging right away neither starts a second pool nor falls back to the process itself
        out = E.tag_entities(["Mayor Anna Lind of Port Ellery met officials in London on Monday."], config=cfg)
        assert len(E._POOLS) == 1
        pool = next(iter(E._POOLS.values()))
        E.warm_workers(cfg)  # a second call is a no-op
        assert next(iter(E._POOLS.values())) is pool and len(E._POOLS) == 1
        assert "Anna Lind" in {e.text for e in out[0]}
        assert E._load.cache_info() == loads  # this process never loaded (or looked up) the model itself
    finally:
        E.close_pools()


def test_numpy_and_blis_matrix_products_give_the_same_entities():
    from pipeline.entities import tagger as E

    texts = [
        "Mayor Anna Lind of Port Ellery met officials in London on Monday.",
        "Shares of Acme Corp rose 4.5 pct to 31 dlrs after the Federal Reserve cut rates by half a point in March.",
        "The European Commission said on Tuesday it would fine Google 2.4 billion euros.",
    ] * 3
    numpy_ = E.tag_raw(texts, config=E.TaggerConfig(matmul="numpy"))
    blis = E.tag_raw(texts, config=E.TaggerConfig(matmul="blis"))
    assert numpy_ == blis and sum(map(len, numpy_)) >= 9
    # the encoder really multiplies with numpy (its maxout layers) in one load, with blis in the other
    for matmul, use_blis in (("numpy", False), ("blis", True)):
        ner = E._load(E.TaggerConfig().model, matmul).get_pipe("ner")
        assert {n.ops.use_blis for n in ner.model.walk() if n.name.startswith("maxout")} == {use_blis}
    with pytest.raises(ValueError, match="matmul"):
        E.TaggerConfig(matmul="cuda")


def test_tagging_in_process_runs_one_blas_thread(monkeypatch):
    from threadpoolctl import threadpool_info

    from pipeline.entities import tagger as E

    seen = []
    run = E._run

    def spy(nlp, texts, batch_size):
        seen.extend(lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas")
        return run(nlp, texts, batch_size)

    def blas_threads():
        return [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]

    before = blas_threads()
    monkeypatch.setattr(E, "_run", spy)
    out = E.tag_raw(["Mayor Anna Lind of Port Ellery met officials in London on Monday."], config=E.TaggerConfig())
    assert out[0] and seen and set(seen) == {1}
    assert blas_threads() == before  # the limit ends with the call: the process's own numpy keeps its threads
