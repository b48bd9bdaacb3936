"""Deduplication on a real wire: all 21,578 Reuters-21578 stories with their own dates, no synthetic copies.

The development sets know which documents are copies; a real wire does not. What it does have is a weak
label that catches the costliest mistake, joining different companies' stories: most Reuters company stories
name the company's ticker in the headline ("WITCO CORP <WIT> SETS REGULAR QTLY PAYOUT"), and deduplication
never reads headlines. So, per near-duplicate cluster, the headlines' ticker sets are grouped (two sets sharing
a ticker are one company) and every group beyond the first is a **company join**: a story merged with another
company's. Dividend notices of one template with the same figures ("Qtly div 25 cts vs 25 cts prior / Pay
April 30 / Record April 15") are the usual case, and session 12 found the learned verdict making hundreds.

**Same-ticker joins** (documents clustered with another document of the same ticker) are a rough view of
recall: a correction or a re-sent notice is one, but so is a company's next story when the text is close.
Neither figure is precision or recall; both move when a verdict changes what it merges, so each verdict is
printed side by side, measured in the same run.

    python -m benchmarks.dedup_wire [--verdict FILE] [--config JSON]

``--verdict``: a candidate learned verdict (``dedup_verdict --out``) measured beside the shipped one.
Reads ``../shared/corpus/reuters21578.jsonl`` (skipped when absent); never writes into the repository.
"""

from __future__ import annotations

import argparse
import json
import re
import time
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from benchmarks.dedup_quality import CORPUS, render, reuters_records, reuters_story, use_verdict
from pipeline.dedup import DedupConfig, compute_signatures, deduplicate, verdict

_TICKER = r"<([A-Z][A-Z.]{0,7})>"
_EXCHANGE = r"\.[A-Z]{1,2}$"  # "<ETRE.O>" and "<ETRE>" are one company: the exchange suffix is dropped


def load_wire() -> pl.DataFrame:
    """Every Reuters story as a document (title, dateline and body as ``render`` lays them out), dated by its
    own timestamp, with the headline's tickers."""
    rows = []
    for r, body in reuters_records():
        s = reuters_story(r, body)
        text, bs, be = render(s["title"], s["dateline"], s["paras"])
        stamp = re.search(r"\d{1,2}-[A-Za-z]{3}-\d{4} \d\d:\d\d:\d\d", r["date"])
        if stamp is None:  # (4 stories have a garbled date)
            continue
        ts = datetime.strptime(stamp.group(), "%d-%b-%Y %H:%M:%S").replace(tzinfo=UTC)
        rows.append(dict(doc_id=s["key"], title=s["title"], text=text, body_start=bs, body_end=be, ts=ts))
    df = pl.DataFrame(rows)
    return df.select(
        "doc_id",
        pl.col("ts").dt.date().alias("pub_date"),
        pl.col("ts").dt.cast_time_unit("us").alias("pub_datetime"),
        "title",
        "text",
        pl.col("body_start", "body_end").cast(pl.Int32),
        pl.col("title")
        .str.extract_all(_TICKER)
        .list.eval(pl.element().str.strip_chars("<>").str.replace(_EXCHANGE, ""))
        .alias("tickers"),
    )


def company_groups(ticker_sets: list[list[str]]) -> int:
    """How many companies a cluster's headlines name: ticker sets sharing a ticker are one company."""
    groups: list[set[str]] = []
    for s in map(set, ticker_sets):
        touching = [g for g in groups if g & s]
        for g in touching:
            groups.remove(g)
            s |= g
        groups.append(s)
    return len(groups)


def measure(wire: pl.DataFrame, clusters: pl.DataFrame) -> dict[str, int]:
    """Near-duplicate documents, company joins and same-ticker joins of one clustering."""
    j = clusters.join(wire.select("doc_id", "tickers"), on="doc_id")
    named = j.filter(pl.col("tickers").list.len() > 0)
    per = named.group_by("cluster_id").agg("tickers", pl.len().alias("n")).filter(pl.col("n") > 1)
    joins = sum(company_groups(ts) - 1 for ts in per["tickers"].to_list())
    exploded = named.explode("tickers").unique(["doc_id", "tickers"])
    shared = exploded.group_by("cluster_id", "tickers").agg(pl.col("doc_id").n_unique().alias("n"))
    partners = exploded.join(shared.filter(pl.col("n") > 1), on=["cluster_id", "tickers"])["doc_id"].n_unique()
    return dict(
        near_duplicates=clusters.height - clusters["cluster_id"].n_unique(),
        company_joins=joins,
        same_ticker_docs=partners,
    )


def run(sig: pl.DataFrame, config: DedupConfig, model: Path | None = None) -> tuple[pl.DataFrame, float]:
    if model is not None:
        use_verdict(model)
    t = time.process_time()
    out = deduplicate(sig, sig, config=config).select("doc_id", "cluster_id")
    return out, time.process_time() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", default="{}", help="DedupConfig overrides for every run, as JSON")
    ap.add_argument("--verdict", help="a candidate learned verdict, measured beside the shipped one")
    args = ap.parse_args()
    if not (CORPUS / "reuters21578.jsonl").exists():
        print(f"SKIPPED: corpus not found at {CORPUS} (../shared/corpus is absent); nothing measured.")
        return
    wire = load_wire()
    extra = json.loads(args.config)
    sig = compute_signatures(wire, config=DedupConfig(**extra))
    shipped = verdict.MODEL
    runs = [
        ("rules", DedupConfig(**extra | {"verdict": "rules"}), None),
        ("learned", DedupConfig(**extra | {"verdict": "learned"}), shipped),
    ]
    if args.verdict:
        runs.append(("candidate", DedupConfig(**extra | {"verdict": "learned"}), Path(args.verdict).resolve()))
    named = int((wire["tickers"].list.len() > 0).sum())
    print(f"{wire.height} Reuters stories, {named} with a ticker in the headline, one frame (30-day views)\n")
    print(f"{'verdict':>10} {'near dups':>10} {'company joins':>14} {'same-ticker docs':>17} {'CPU s':>6}")
    figures = {}
    for name, cfg, model in runs:
        clusters, secs = run(sig, cfg, model)
        m = measure(wire, clusters)
        print(f"{name:>10} {m['near_duplicates']:>10} {m['company_joins']:>14} {m['same_ticker_docs']:>17} {secs:6.1f}")
        figures[name] = m
    print("\nfigures (name value), for the quality gate (a count that must stay low is negated):")
    for name, m in figures.items():
        print(f"FIGURE wire.{name}.company_joins_negated {-m['company_joins']}")


if __name__ == "__main__":
    main()
