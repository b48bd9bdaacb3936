"""Incremental cost on a big lake: one new day of 1k documents added to a lake of ~100k documents.

Building 100k documents through the whole pipeline takes about an hour on 2 cores, so the big lake is made from
a real one: `newslake run` builds a lake from the 16x inbox of :mod:`e2e_corpus` (4,800 documents), then every
partitioned table is copied ``--copies`` times through ``pipeline.storage`` with ``pub_date`` moved back by
60 years per copy (outside every dedup window) and ids suffixed, so the lake holds ~``(copies + 1) x 4,800``
documents in real Delta tables, one commit per copy. The ``files`` manifest and the entity cache are the real
ones. Then the same new day is added, through `newslake run`, to the small lake and to the big one.

    python -m benchmarks.e2e_biglake [--copies 20] [--day-docs 1000] [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

from benchmarks import e2e_corpus  # noqa: E402
from benchmarks.e2e import STEP_ORDER, run_newslake, say  # noqa: E402

PROJECT = Path(__file__).resolve().parents[1]


def _shift_id(col: str, k: int):
    import polars as pl

    return pl.col(col).str.slice(0, 13) + pl.lit(f"{k:03x}")


def replicate(lake: Path, copies: int) -> int:
    """Copy every partitioned table ``copies`` times, dates moved back 60 years per copy; return documents."""
    import polars as pl

    from pipeline import storage
    from pipeline.schema import DOCUMENTS, DUPLICATES, ENTITIES, ENTITY_DAILY, SENTENCES, SIGNATURES

    lk = storage.Lake(str(lake))
    ids = {DOCUMENTS: ["doc_id"], SIGNATURES: ["doc_id"], DUPLICATES: ["doc_id", "cluster_id", "canonical_doc_id"],
           SENTENCES: ["doc_id"], ENTITIES: ["doc_id"], ENTITY_DAILY: []}
    base = {t: storage.read(lk, t).filter(pl.col("pub_date").is_not_null()) for t in ids}
    for k in range(1, copies + 1):
        for t, cols in ids.items():
            df = base[t].with_columns(
                pl.col("pub_date").dt.offset_by(f"-{60 * k}y"), *[_shift_id(c, k) for c in cols if c in base[t].columns]
            )
            if "pub_datetime" in df.columns:
                df = df.with_columns(pl.col("pub_datetime").dt.offset_by(f"-{60 * k}y"))
            storage.write_partitions(lk, t, df, dates=df["pub_date"].unique().to_list(), run_id="replicate")
        print(f"  copy {k}/{copies} written", flush=True)
    return storage.read(lk, DOCUMENTS, columns=["doc_id"]).height


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--copies", type=int, default=20)
    ap.add_argument("--day-docs", type=int, default=1000)
    ap.add_argument("--keep", type=Path, help="work here and keep it (default: a temp dir, removed)")
    args = ap.parse_args(argv)
    if not e2e_corpus.corpus_present():
        print(f"{e2e_corpus.CORPUS} not found: nothing measured (the corpus lives in ../shared)")
        return 0
    work = args.keep or Path(tempfile.mkdtemp(prefix="newslake-biglake-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        inbox = work / "inbox"
        shutil.rmtree(inbox, ignore_errors=True)
        st = e2e_corpus.build_inbox(inbox, docs=300, scale=16, by_day=True)
        day = e2e_corpus.new_day_records(args.day_docs)
        out = {}
        for name, copies in (("small", 0), ("big", args.copies)):
            lake, home = work / f"lake-{name}", work / f"home-{name}"
            base = run_newslake(inbox, lake, home)
            t = time.perf_counter()
            held = replicate(lake, copies) if copies else base["documents"]
            say(f"[{name}] lake: {held} documents ({st.total_docs} through the pipeline in {base['seconds']:.1f}s, "
                f"{copies} date-shifted copies in {time.perf_counter() - t:.1f}s)")
            (inbox / "zz-newday.jsonl").write_text(day)
            res = run_newslake(inbox, lake, home, fresh=False)
            (inbox / "zz-newday.jsonl").unlink()
            steps = ", ".join(f"{k} {res['steps'].get(k, res['stages'].get(k, 0)):.1f}s" for k in STEP_ORDER)
            say(f"INCREMENTAL lake of {held} docs + 1 day of {args.day_docs}: {res['seconds']:.1f}s; steps: {steps}; "
                f"{res['runs']} runs; peak RSS {res['peak_rss_mb']:.0f} MB")
            out[name] = (held, res["seconds"])
        (s_docs, s_secs), (b_docs, b_secs) = out["small"], out["big"]
        say(f"INCREMENTAL SUMMARY: lake x{b_docs / s_docs:.1f} ({s_docs} -> {b_docs} documents), time of the new day "
            f"x{b_secs / s_secs:.2f} ({s_secs:.1f}s -> {b_secs:.1f}s)")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    raise SystemExit(main())
