"""Deduplication speed and memory at 25k / 100k / 400k documents, and one new day against a 30-day window.

Documents are replicated from ../shared/corpus (Reuters NORM + BBC bodies): every corpus document once
as itself, further *stories* as letter-substituted variants of a corpus document (a per-story random
letter permutation: the same lengths, spacing, digits and shingle statistics, but new text), and ~1/3
of the stories get one or two syndicated copies (new headline, last paragraph dropped, words changed)
dated 0-3 days later. 10k documents per day.

Each size runs in a fresh subprocess so that its peak RSS (ru_maxrss) is its own. The daily run is what
the pipeline does: signatures of the day, then ``deduplicate(day, window)`` with the previous 30 days
read from memory (the window's signatures computed day by day, as the pipeline does). References
measured in the same run: for the day against its window, the code issue 19 was filed against (dedup-1,
``REFERENCE_COMMIT``, extracted with ``git archive``; skipped without git history) and this code with
the second-stage verifier off; classic MinHash (one hash function per slot, ``scheme="perm"``) on the
first 25k documents.

    python -m benchmarks.dedup_speed [--sizes 25000,100000,400000] [--day 10000 --window 300000] [--rounds 3]

``--verdict FILE`` adds, for the day against its window, the learned verdict in FILE (another
``dedup_verdict --out``, e.g. the previous default) in the same rounds.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import random
import re
import resource
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import polars as pl

from pipeline.dedup import DedupConfig, compute_signatures, deduplicate, window_bounds  # noqa: E402
from pipeline.versions import DEDUP

# The code issue 19 was filed against ("today's signature + duplicates cost"): dedup-1, the parent of the
# commit that started dedup-2. Measured in the same run from a `git archive` of that commit's pipeline/.
REFERENCE_COMMIT = "09e736439920daa189784a037c7f79116b32fbc1"

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"
PER_DAY = 10_000
START = date(2024, 1, 1)
LETTERS = "abcdefghijklmnopqrstuvwxyz"


def base_docs() -> list[tuple[str, list[str]]]:
    out = []
    for line in (CORPUS / "reuters21578.jsonl").open():
        r = json.loads(line)
        body = (r.get("body") or "").replace("\x03", "").strip()
        if r.get("text_type") == "NORM" and len(body) >= 100:
            paras = [" ".join(p.split()) for p in re.split(r"\n {2,}", body) if p.strip()]
            out.append((r.get("title") or "", paras))
    for line in (CORPUS / "bbc_fulltext.jsonl").open():
        r = json.loads(line)
        out.append((r["title"], [" ".join(p.split()) for p in r["text"].split("\n\n") if p.strip()]))
    return out


def documents(n: int, seed: int = 11) -> pl.DataFrame:
    """``n`` documents (DOCUMENTS columns the dedup needs), dated over ``ceil(n / PER_DAY)`` days."""
    base = base_docs()
    rng = random.Random(seed)
    days = max(1, -(-n // PER_DAY))
    schema = {
        "doc_id": pl.String,
        "pub_date": pl.Date,
        "pub_datetime": pl.Datetime("us", "UTC"),
        "text": pl.String,
        "body_start": pl.Int32,
        "body_end": pl.Int32,
    }
    chunks: list[pl.DataFrame] = []
    rows: list[tuple] = []
    total, s = 0, 0
    while total + len(rows) < n:
        title, paras = base[s % len(base)]
        if s >= len(base):
            perm = list(LETTERS)
            rng.shuffle(perm)
            table = str.maketrans(LETTERS + LETTERS.upper(), "".join(perm) + "".join(perm).upper())
            title, paras = title.translate(table), [p.translate(table) for p in paras]
        day = rng.randrange(days)
        t0 = datetime(START.year, START.month, START.day, tzinfo=UTC) + timedelta(days=day, minutes=rng.randrange(1440))
        versions = [(title, paras, t0)]
        for _ in range(rng.choice([0, 0, 0, 0, 1, 2])):
            p = list(paras[:-1] if len(paras) > 2 else paras)
            i = rng.randrange(len(p))
            words = p[i].split(" ")
            j = rng.randrange(len(words))
            words[j : j + 2] = ["changed"]
            p[i] = " ".join(words)
            versions.append(("New: " + title, p, t0 + timedelta(minutes=rng.randrange(4 * 1440))))
        for v, (t, p, ts) in enumerate(versions):
            body = "\n\n".join(p)
            if ts.date() >= START + timedelta(days=days):
                ts = t0
            rows.append((f"s{s}v{v}", ts.date(), ts, f"{t}\n\n{body}", len(t) + 2, len(t) + 2 + len(body)))
        s += 1
        if len(rows) >= 20_000:  # keep the texts in Arrow memory, not Python objects
            chunks.append(pl.DataFrame(rows, schema=schema, orient="row"))
            total += len(rows)
            rows = []
    chunks.append(pl.DataFrame(rows, schema=schema, orient="row"))
    return pl.concat(chunks).head(n)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_size(n: int, config: DedupConfig) -> dict:
    """Daily processing of ``n`` documents in date order: signatures, then the day against its window."""
    docs = documents(n)
    words = int(docs["text"].str.count_matches(r"\S+").sum())
    by_day = docs.partition_by("pub_date", as_dict=True, maintain_order=False)
    del docs
    t_sig = t_dup = c_sig = c_dup = 0.0
    sigs: dict[date, pl.DataFrame] = {}
    dups = []
    for (day,) in sorted(by_day):
        t, c = time.perf_counter(), time.process_time()
        sigs[day] = compute_signatures(by_day.pop((day,)), config=config)
        t_sig += time.perf_counter() - t
        c_sig += time.process_time() - c
        lo, hi = window_bounds(day, window_days=config.window_days)
        for d in [d for d in sigs if d < lo]:  # the pipeline reads the window from Delta: keep only it
            del sigs[d]
        window = pl.concat([s for d, s in sigs.items() if lo <= d <= hi])
        t, c = time.perf_counter(), time.process_time()
        dups.append(deduplicate(sigs[day], window, config=config))
        t_dup += time.perf_counter() - t
        c_dup += time.process_time() - c
    dup = pl.concat(dups)
    return dict(
        docs=n,
        words=words,
        signatures_s=t_sig,
        dedup_s=t_dup,
        # CPU seconds of all threads: steadier than wall-clock on a shared machine
        cpu_ms_per_doc=1000 * (c_sig + c_dup) / n,
        docs_per_s=n / (t_sig + t_dup),
        duplicate_rate=1 - dup["is_canonical"].mean(),
        near=int((dup["method"] == "near").sum()),
        peak_rss_mb=peak_rss_mb(),
    )


def run_day(day_docs: int, window_docs: int, config: DedupConfig, store: Path) -> dict:
    """One new day of ``day_docs`` against a window of ``window_docs`` (30 days before it).

    As in the pipeline, the window's signatures are computed one day at a time and read back from
    Parquet as a LazyFrame (``deduplicate`` reads their MinHash and token columns only for candidates):
    the first call writes them under ``store`` and returns ``{"prepared": True}``, the next measures in a
    fresh process, so the peak RSS is the day's own (signatures, deduplicate), not the window's making.
    """
    global PER_DAY
    digest = hashlib.sha256(f"{DEDUP} {config} {window_docs}".encode()).hexdigest()[:16]
    path = store / f"window-{digest}.parquet"
    if not path.exists():
        PER_DAY = max(1, window_docs // 30)
        days = documents(window_docs, seed=5).partition_by("pub_date")
        pl.concat([compute_signatures(d, config=config) for d in days]).write_parquet(path)
        return dict(prepared=True)
    win = pl.scan_parquet(path)
    last = win.select(pl.col("pub_date").max()).collect().item()
    PER_DAY = day_docs
    new = documents(day_docs, seed=6).with_columns(pl.lit(last + timedelta(days=1)).alias("pub_date"))
    new = new.with_columns(pl.col("pub_datetime") + (pl.col("pub_date") - pl.lit(START)))
    t, c = time.perf_counter(), time.process_time()
    day_sig = compute_signatures(new, config=config)
    t_sig, c_sig = time.perf_counter() - t, time.process_time() - c
    window = pl.concat([win, day_sig.lazy()], how="vertical_relaxed")
    t, c = time.perf_counter(), time.process_time()
    dup = deduplicate(day_sig, window, config=config)
    t_dup, c_dup = time.perf_counter() - t, time.process_time() - c
    peak = peak_rss_mb()
    t = time.perf_counter()
    deduplicate(day_sig, day_sig, config=config)
    t_alone = time.perf_counter() - t
    tokens = win.select(pl.col("tokens").bin.size().mean()).collect().item() if "tokens" in day_sig.columns else 0.0
    return dict(day_docs=day_docs, window_docs=window_docs, signatures_s=t_sig, dedup_s=t_dup,
                dedup_day_alone_s=t_alone, rows=dup.height, peak_rss_mb=peak,
                cpu_ms_per_doc=1000 * (c_sig + c_dup) / day_docs, sig_cpu_ms=1000 * c_sig / day_docs,
                tokens_bytes_per_doc=tokens or 0.0, code=DEDUP)  # fmt: skip


def run_reference(n: int) -> dict:
    docs = documents(n)
    out = {}
    for scheme in ("oph", "perm"):
        cfg = DedupConfig(verdict="rules", scheme=scheme)
        t = time.perf_counter()
        compute_signatures(docs, config=cfg)
        out[scheme] = n / (time.perf_counter() - t)
    return out


def child(args: list[str], tree: Path | None = None) -> dict:
    """Run one measurement in a fresh interpreter; ``tree`` puts another ``pipeline`` package first on
    the path (the reference code)."""
    env = dict(os.environ)
    # the repository before site-packages: run as a script, the child's path starts at benchmarks/, and
    # pysbd installs a top-level ``benchmarks`` package of its own
    first = [str(tree)] if tree is not None else []
    env["PYTHONPATH"] = os.pathsep.join([*first, str(Path(__file__).resolve().parents[1]), env.get("PYTHONPATH", "")])
    res = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True, check=True, env=env)
    return json.loads(res.stdout.strip().splitlines()[-1])


def reference_tree(commit: str, into: Path) -> Path | None:
    """``pipeline/`` of ``commit`` extracted under ``into`` (None without git history, e.g. a tarball)."""
    repo = Path(__file__).resolve().parents[1]
    try:
        archive = subprocess.run(
            ["git", "-C", str(repo), "archive", commit, "pipeline"], capture_output=True, check=True
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="25000,100000,400000")
    ap.add_argument("--day", type=int, default=10_000)
    ap.add_argument("--window", type=int, default=300_000)
    ap.add_argument("--no-reference", action="store_true", help="skip the dedup-1 reference (git archive)")
    ap.add_argument("--rounds", type=int, default=3, help="alternated rounds of the day measurements (medians)")
    ap.add_argument("--config", default="{}", help='DedupConfig overrides measured, e.g. {"verdict": "learned"}')
    ap.add_argument("--_size", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--_daywin", help=argparse.SUPPRESS)
    ap.add_argument("--_store", help=argparse.SUPPRESS)
    ap.add_argument("--_ref", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--verdict", help="another learned verdict (a dedup_verdict --out file) measured in the same run")
    ap.add_argument("--_cfg", default="{}", help=argparse.SUPPRESS)
    ap.add_argument("--_verdict", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a._verdict:  # (imported here: the reference code, dedup-1, has no verdict module)
        from benchmarks.dedup_quality import use_verdict

        use_verdict(a._verdict)
    cfg = DedupConfig(**json.loads(a._cfg))
    if a._size:
        print(json.dumps(run_size(a._size, cfg)))
        return
    if a._daywin:
        d, w = map(int, a._daywin.split(","))
        print(json.dumps(run_day(d, w, cfg, Path(a._store))))
        return
    if a._ref:
        print(json.dumps(run_reference(a._ref)))
        return
    if not (CORPUS / "reuters21578.jsonl").exists():
        print(f"SKIPPED: corpus not found at {CORPUS} (../shared/corpus is absent); no figures measured.")
        return
    cfg = DedupConfig(**json.loads(a.config))
    print(f"config: {cfg.shingle}, {cfg.scheme}, {cfg.bands}x{cfg.rows}, verdict {cfg.verdict}, "
          f"window {cfg.window_days} days, {PER_DAY} docs/day")  # fmt: skip
    print(f"{'docs':>8} {'words':>11} {'signatures s':>12} {'dedup s':>8} {'docs/s':>8} {'CPU ms/doc':>10} "
          f"{'dup rate':>8} {'peak RSS MB':>11}")  # fmt: skip
    for n in [int(x) for x in a.sizes.split(",") if x]:
        r = child(["--_size", str(n)])
        print(f"{r['docs']:>8} {r['words']:>11} {r['signatures_s']:>12.1f} {r['dedup_s']:>8.1f} "
              f"{r['docs_per_s']:>8.0f} {r['cpu_ms_per_doc']:>10.3f} {r['duplicate_rate']:>8.3f} "
              f"{r['peak_rss_mb']:>11.0f}")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        ref_tree = None if a.no_reference else reference_tree(REFERENCE_COMMIT, Path(tmp) / "reference")
        if ref_tree is None:
            print(f"reference {REFERENCE_COMMIT[:7]} (dedup-1) not measured: no git history here or --no-reference")
        for w in sorted({a.window // 3, a.window}):
            # references in the same run: the code issue 19 was filed against (dedup-1), and this code
            # with the second-stage verifier off (token_count=0: dedup-3's work)
            runs: list[tuple[str, list[str], Path | None]] = [
                ("", ["--_cfg", a.config], None),
                (" [verifier off]", ["--_cfg", '{"verdict": "rules", "token_count": 0}'], None),
            ]
            if cfg.verdict != "rules":  # the rules, in the same run
                runs.append((" [rules]", ["--_cfg", '{"verdict": "rules"}'], None))
            if a.verdict:
                runs.append((f" [verdict {Path(a.verdict).name}]", ["--_cfg", a.config, "--_verdict", a.verdict], None))
            if ref_tree is not None:
                runs.append((f" [reference {REFERENCE_COMMIT[:7]}]", [], ref_tree))
            got: dict[str, list[dict]] = {label: [] for label, _, _ in runs}
            # rounds alternate the three (a shared machine's load drifts: one run each swung the ratio
            # to dedup-1 between 1.4x and 2.0x); the ratios are of the medians
            for rnd in range(a.rounds):
                for label, extra, tree in runs:
                    args = ["--_daywin", f"{a.day},{w}", "--_store", tmp, *extra]
                    r = child(args, tree)
                    r = child(args, tree) if r.get("prepared") else r
                    got[label].append(r)
                    print(f"[round {rnd + 1}] one day of {r['day_docs']} vs window of {r['window_docs']}{label} "
                          f"({r['code']}): signatures {r['signatures_s']:.1f} s, deduplicate {r['dedup_s']:.1f} s "
                          f"(the day alone: {r['dedup_day_alone_s']:.1f} s), CPU {r['cpu_ms_per_doc']:.3f} ms/doc "
                          f"(signatures {r['sig_cpu_ms']:.3f}), tokens {r['tokens_bytes_per_doc']:.0f} B/doc, "
                          f"peak RSS {r['peak_rss_mb']:.0f} MB", flush=True)  # fmt: skip
            med = {k: {m: statistics.median(r[m] for r in v) for m in ("cpu_ms_per_doc", "peak_rss_mb")}
                   for k, v in got.items()}  # fmt: skip
            print(f"  median of {a.rounds} round(s), window {w}: CPU {med['']['cpu_ms_per_doc']:.3f} ms/doc, "
                  f"peak RSS {med['']['peak_rss_mb']:.0f} MB")  # fmt: skip
            for label, _, _ in runs[1:]:
                print(f"  ratio to{label}: CPU {med['']['cpu_ms_per_doc'] / med[label]['cpu_ms_per_doc']:.2f}x, "
                      f"peak RSS {med['']['peak_rss_mb'] / med[label]['peak_rss_mb']:.2f}x "
                      f"({label.strip(' []')}: {med[label]['cpu_ms_per_doc']:.3f} ms/doc)")  # fmt: skip
    sizes = [int(x) for x in a.sizes.split(",") if x]
    if not sizes:  # (--sizes "": the day against its window only)
        return
    n_ref = min(25_000, *sizes)
    r = child(["--_ref", str(n_ref)])
    print(f"reference, signatures on {n_ref} docs: one-permutation MinHash {r['oph']:.0f} docs/s, "
          f"classic {cfg.num_perm}-function MinHash {r['perm']:.0f} docs/s")  # fmt: skip


if __name__ == "__main__":
    main()
