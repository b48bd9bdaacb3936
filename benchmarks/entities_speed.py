"""Entity tagging throughput and memory, against plain spaCy measured in the same run.

Reads news from ``../shared/corpus`` (BBC full texts for throughput, Reuters-21578 for the long run;
research-licensed, never copied into the project) and says so and exits when it is absent. Usage::

    python -m benchmarks.entities_speed [--docs 1500] [--long-docs 8000] [--n-process 2]

1. **Reference**: ``nlp.pipe(texts, n_process=2)`` with only ``tok2vec`` and ``ner`` enabled, whole docs.
2. **Pipeline, cold cache**: :func:`pipeline.entities.entities_frame` on the same documents (sentence
   tagging in spawned workers + document-level resolution + frames); the first call (worker start-up
   included) is printed apart, then reference and pipeline alternate ``--reps`` times; medians compared.
3. **Republished copies**: a second batch in which half the documents are copies of the first batch's
   (new doc ids), tagged with and without the cache the first batch produced.
4. **Long run**: Reuters in batches with the cache off; RSS of the main process and the workers after each
   batch (it should stay flat) and the peak.

Words are whitespace-separated tokens of the document text. Sentences come from a simple punctuation/line
splitter here; in the assets they come from the ``sentences`` table.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import statistics
import time
from datetime import date
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parents[1]

from benchmarks._common import figure  # noqa: E402
from pipeline.entities import tagger as E  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpus"
_SENT = re.compile(r"[^\n]+?(?:[.!?](?=\s)|$)", re.M)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def frames(texts: list[str], prefix: str):
    docs, sents = [], []
    for i, text in enumerate(texts):
        doc_id = f"{prefix}-{i}"
        docs.append((doc_id, date(2024, 1, 1), text))
        for j, m in enumerate(m for m in _SENT.finditer(text) if m.group().strip()):
            s, e = m.start(), m.end()
            while text[s].isspace():
                s += 1
            sec = "headline" if j == 0 else "body"
            sents.append(
                (
                    doc_id,
                    date(2024, 1, 1),
                    j,
                    s,
                    e,
                    text[s:e],
                    sec,
                    hashlib.sha1(text[s:e].encode()).hexdigest(),
                )
            )
    d = pl.DataFrame(docs, schema=["doc_id", "pub_date", "text"], orient="row")
    s = pl.DataFrame(
        sents,
        schema=["doc_id", "pub_date", "sent_idx", "start", "end", "text", "section", "sent_hash"],
        orient="row",
    ).with_columns(pl.col("sent_idx", "start", "end").cast(pl.Int32))
    return d, s


def load(path: Path, fmt) -> list[str]:
    return [t for t in (fmt(json.loads(line)) for line in path.open()) if t]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--docs", type=int, default=1500, help="documents for the throughput comparison")
    ap.add_argument(
        "--long-docs", type=int, default=8000, help="Reuters documents for the memory run (0: skip)"
    )
    ap.add_argument("--batch", type=int, default=1000, help="documents per batch in the long run")
    ap.add_argument("--n-process", type=int, default=2)
    ap.add_argument("--reps", type=int, default=3, help="interleaved repetitions of reference and pipeline")
    ap.add_argument("--model", default=E.TaggerConfig().model)
    args = ap.parse_args()
    bbc, reuters = CORPUS / "bbc_fulltext.jsonl", CORPUS / "reuters21578.jsonl"
    if not bbc.exists():
        print(f"SKIPPED: {bbc} is absent (research data kept outside the project).")
        return
    texts = load(bbc, lambda r: f"{r['title']}\n\n{r['text']}")[: args.docs]
    words = sum(len(t.split()) for t in texts)
    docs, sents = frames(texts, "bbc")
    print(
        f"corpus: {len(texts)} BBC documents, {words} words, {sents.height} sentences; cores: {os.cpu_count()}, "
        f"load average {os.getloadavg()[0]:.1f}"
    )

    import spacy

    nlp = spacy.load(
        E._package(args.model), exclude=["tagger", "parser", "attribute_ruler", "lemmatizer", "senter"]
    )
    config = E.TaggerConfig(model=args.model, n_process=args.n_process)
    t = time.perf_counter()
    E.tag_documents(docs, sents, None, config=config)
    print(f"pipeline first call incl. worker start-up: {words / (time.perf_counter() - t):,.0f} words/s")
    # Interleaved repetitions: other processes on the machine shift both figures alike; medians compared.
    refs, pipes = [], []
    for rep in range(args.reps):
        t = time.perf_counter()
        n_ref = sum(len(d.ents) for d in nlp.pipe(texts, n_process=args.n_process, batch_size=64))
        refs.append(words / (time.perf_counter() - t))
        t = time.perf_counter()
        ents, cache, stats = E.tag_documents(docs, sents, None, config=config)
        pipes.append(words / (time.perf_counter() - t))
        print(
            f"  rep {rep}: reference {refs[-1]:,.0f} words/s ({n_ref} ents), pipeline {pipes[-1]:,.0f} words/s "
            f"({stats['entities']} entities), load average {os.getloadavg()[0]:.1f}"
        )
    ref, pipe = statistics.median(refs), statistics.median(pipes)
    print(f"reference nlp.pipe({nlp.pipe_names}, n_process={args.n_process}), median: {ref:,.0f} words/s")
    print(
        f"pipeline tag_documents(n_process={args.n_process}), cold cache, median: {pipe:,.0f} words/s "
        f"= {pipe / ref:.2f}x reference (required >= 0.9x)"
    )
    figure("cold.speed_over_reference", pipe / ref)

    # Republished copies: batch 2 = half new documents, half copies of batch 1 (new ids).
    half = len(texts) // 2
    first, rest = texts[:half], texts[half:]
    d1, s1 = frames(first, "day1")
    _, cache1, _ = E.tag_documents(d1, s1, None, config=config)
    batch2 = rest[: half // 2] + first[: half // 2]
    d2, s2 = frames(batch2, "day2")
    w2 = sum(len(x.split()) for x in batch2)
    t = time.perf_counter()
    E.tag_documents(d2, s2, None, config=config)
    no_cache = time.perf_counter() - t
    t = time.perf_counter()
    _, _, st2 = E.tag_documents(d2, s2, cache1, config=config)
    with_cache = time.perf_counter() - t
    print(
        f"republished copies (50% of batch): without cache {w2 / no_cache:,.0f} words/s, with cache "
        f"{w2 / with_cache:,.0f} words/s = {no_cache / with_cache:.2f}x; cache_hit_rate {st2['cache_hit_rate']}"
    )

    if args.long_docs and reuters.exists():
        rtexts = load(reuters, lambda r: f"{r.get('title') or ''}\n\n{r.get('body') or ''}".strip())[
            : args.long_docs
        ]
        pool = E._pool(config)
        pids = [p.pid for p in pool._pool]
        peak, total_w, t = 0.0, 0, time.perf_counter()
        for b in range(0, len(rtexts), args.batch):
            chunk = rtexts[b : b + args.batch]
            d, s = frames(chunk, f"r{b}")
            E.tag_documents(d, s, None, config=config)
            total_w += sum(len(x.split()) for x in chunk)
            rss = [rss_mb(os.getpid())] + [rss_mb(p) for p in pids]
            peak = max(peak, sum(rss))
            print(
                f"  long run: {b + len(chunk):>6} docs, RSS main {rss[0]:.0f} MB, "
                f"workers {[round(r) for r in rss[1:]]} MB"
            )
        print(
            f"long run: {len(rtexts)} Reuters documents, {total_w} words, {total_w / (time.perf_counter() - t):,.0f} "
            f"words/s; peak total RSS {peak:.0f} MB"
        )
    elif args.long_docs:
        print(f"long run SKIPPED: {reuters} is absent")
    E.close_pools()


if __name__ == "__main__":
    main()
