"""One new day on a 1,000,000-document lake vs the same day on a small lake: ingestion and dedup (issue 18).

No development data needed: the stories are synthetic (random words of a 20,000-word vocabulary, plus wire
copies). Steps:

1. a base day of ``--day-docs`` stories is ingested and deduplicated through the stage runners
   (``pipeline.ingest.runner.run``, ``pipeline.dedup.runner.run``): the **small lake**;
2. a copy of it gets ``--copies`` date-shifted copies of its ``documents`` and ``signatures`` (40 days apart,
   outside every dedup window; ids suffixed; one commit per copy, as daily runs would make): the **big lake**,
   ``(copies + 1) x day-docs`` documents (1,010,000 with the defaults);
3. the same new day (``--day-docs`` new stories the day after the base day, with wire copies of base-day
   stories among them) is ingested and deduplicated on each lake, small first then big, and again in the
   other order; the median of the two is printed.

Both lakes hold the same dedup window (the base day), so the difference is what the lake's size costs.
Wall and CPU seconds (this process plus the ingestion workers), the load, and the ratio big / small.

    python -m benchmarks.lake_1m [--copies 100] [--day-docs 10000]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import statistics
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from benchmarks._common import load

BASE = date(2026, 3, 1)
NEW = BASE + timedelta(days=1)


SYLLABLES = [a + b for a in "bdfgklmnprstvz" for b in ("a", "e", "i", "o", "u", "ar", "en", "is", "ol", "um")]


def story(rng: random.Random, day: date, k: int, vocab: list[str]) -> dict:
    """A story of random words from a large vocabulary: distinct stories share few shingles, as real ones do
    (templated stories would all be near-duplicates of each other, which no news day is)."""
    paras = [" ".join(rng.choices(vocab, k=rng.randint(40, 80))) + "." for _ in range(3)]
    return {
        "id": f"{day:%Y%m%d}-{k}",
        "title": " ".join(rng.choices(vocab, k=6)).capitalize(),
        "date": f"{day.isoformat()}T{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:00Z",
        "text": "\n\n".join(paras),
    }


def write_day(path: Path, day: date, n: int, *, seed: int, copies_of: list[dict] | None = None) -> list[dict]:
    rng = random.Random(seed)
    vocab = sorted({"".join(random.Random(i).choices(SYLLABLES, k=3)) for i in range(20_000)})
    records = [story(rng, day, k, vocab) for k in range(n)]
    for i, r in enumerate(copies_of or []):
        records[i * 10] = dict(r, id=f"{day:%Y%m%d}-wire-{i}", date=f"{day.isoformat()}T06:00:00Z")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return records


def rss_guard(limit_gb: float) -> None:
    """Stop the benchmark (not the machine) if this process grows past ``limit_gb`` resident."""
    import threading

    def watch() -> None:
        while True:
            with open("/proc/self/status") as fh:
                kb = next(int(line.split()[1]) for line in fh if line.startswith("VmRSS:"))
            if kb > limit_gb * 1024 * 1024:
                print(f"RSS {kb / 1024 / 1024:.1f} GB > {limit_gb} GB: stopping", flush=True)
                os._exit(3)
            time.sleep(0.5)

    threading.Thread(target=watch, daemon=True).start()


def cpu() -> float:
    s, c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime


def measure(fn) -> tuple[float, float]:
    w0, c0 = time.perf_counter(), cpu()
    fn()
    return time.perf_counter() - w0, cpu() - c0


def replicate(lake, copies: int) -> None:
    import polars as pl

    from pipeline import storage
    from pipeline.schema import DOCUMENTS, SIGNATURES

    base = {t: storage.read(lake, t).filter(pl.col("pub_date").is_not_null()) for t in (DOCUMENTS, SIGNATURES)}
    t0 = time.perf_counter()
    for k in range(1, copies + 1):
        for t, df in base.items():
            shifted = df.with_columns(
                pl.col("pub_date") - pl.duration(days=40 * k),
                pl.col("doc_id").str.slice(0, 13) + pl.lit(f"{k:03x}"),
            )
            if "pub_datetime" in shifted.columns:
                shifted = shifted.with_columns(pl.col("pub_datetime") - pl.duration(days=40 * k))
            storage.write_partitions(lake, t, shifted, dates=shifted["pub_date"].unique().to_list(), run_id="copy")
        if k % 10 == 0 or k == copies:
            print(f"  copy {k}/{copies} written ({time.perf_counter() - t0:.0f} s)", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--copies", type=int, default=100)
    ap.add_argument("--day-docs", type=int, default=10_000)
    ap.add_argument("--max-rss-gb", type=float, default=6.0, help="stop if this process grows past it")
    a = ap.parse_args()
    rss_guard(a.max_rss_gb)

    from pipeline import storage
    from pipeline.config import Settings
    from pipeline.dedup import runner as dedup
    from pipeline.ingest import runner as ingest
    from pipeline.schema import DOCUMENTS

    settings = Settings.load(environ={})
    tmp = Path(tempfile.mkdtemp(prefix="lake-1m-"))
    try:
        base = write_day(tmp / "inbox" / "base.jsonl", BASE, a.day_docs, seed=1)
        new_file = tmp / "new.jsonl"
        write_day(new_file, NEW, a.day_docs, seed=2, copies_of=base[: a.day_docs // 100])
        small = storage.Lake(str(tmp / "small"))
        w, c = measure(lambda: ingest.run(tmp / "inbox", small, config=settings.ingest))
        w2, c2 = measure(lambda: dedup.run(small, [BASE], settings=settings, run_id=None))
        print(f"small lake: base day ingested {w:.1f} s, deduplicated {w2:.1f} s; {load()}", flush=True)
        shutil.copytree(tmp / "small", tmp / "big")
        big = storage.Lake(str(tmp / "big"))
        w, c = measure(lambda: replicate(big, a.copies))
        n_big = storage.partition_rows(big, DOCUMENTS)["rows"].sum()
        print(f"big lake: {n_big:,} documents on {a.copies + 1} days, built in {w:.0f} s; {load()}", flush=True)
        for lake_dir in ("small", "big"):  # a frozen copy of each lake: each measurement starts from it
            shutil.copytree(tmp / lake_dir, tmp / f"{lake_dir}.frozen")

        results: dict[tuple[str, str], list[tuple[float, float]]] = {}
        for order in (("small", "big"), ("big", "small")):
            for name in order:
                shutil.rmtree(tmp / name)
                shutil.copytree(tmp / f"{name}.frozen", tmp / name)
                lake = storage.Lake(str(tmp / name))
                inbox = tmp / f"inbox-{name}"
                shutil.rmtree(inbox, ignore_errors=True)
                shutil.copytree(tmp / "inbox", inbox)
                shutil.copy(tmp / "inbox" / "base.jsonl", inbox / "base.jsonl")
                shutil.copy(new_file, inbox / "new.jsonl")
                # the base file is known to the manifest by content (sha256): only the new one is parsed
                results.setdefault((name, "ingest"), []).append(
                    measure(lambda lake=lake, inbox=inbox: ingest.run(inbox, lake, config=settings.ingest))
                )
                results.setdefault((name, "dedup"), []).append(
                    measure(lambda lake=lake: dedup.run(lake, [NEW], settings=settings, run_id=None))
                )
                print(
                    f"  {name}: ingest {results[(name, 'ingest')][-1][0]:.1f} s, "
                    f"dedup {results[(name, 'dedup')][-1][0]:.1f} s; {load()}",
                    flush=True,
                )
        print(f"\none new day of {a.day_docs:,} documents; median of 2 (both orders); {os.cpu_count()} CPUs; {load()}")
        print(
            "| stage | small lake wall s | big lake wall s | big/small wall | small CPU s | big CPU s | big/small CPU |"
        )
        print("|---|---:|---:|---:|---:|---:|---:|")
        for stage in ("ingest", "dedup"):
            sw = statistics.median(x[0] for x in results[("small", stage)])
            bw = statistics.median(x[0] for x in results[("big", stage)])
            sc = statistics.median(x[1] for x in results[("small", stage)])
            bc = statistics.median(x[1] for x in results[("big", stage)])
            print(f"| {stage} | {sw:.1f} | {bw:.1f} | {bw / sw:.2f}x | {sc:.1f} | {bc:.1f} | {bc / sc:.2f}x |")
        print(f"(small lake: {a.day_docs:,} documents; big lake: {n_big:,})")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
