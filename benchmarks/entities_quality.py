"""Entity-level F1 of the entity pipeline vs the plain model on CoNLL-2003 (dev), measured in one run.

Reads ``../shared/eval/conll2003_dev.iob2.jsonl`` (research-licensed; never copied into the project) and
exits with a message when it is absent. Usage::

    python -m benchmarks.entities_quality [--model en_core_web_sm] [--limit-docs N] [--errors 20]

Documents are rebuilt from the CoNLL documents: each sentence's tokens joined with single spaces, one
sentence per line; the first sentence is the headline (then a blank line), and ALL-CAPS lines (datelines,
section titles of results tables) are ``headline`` sections too. Both systems tag the same sentences; the
plain model's labels and the pipeline's labels go through the same OntoNotes -> CoNLL mapping
(``ONTO_TO_CONLL`` below; numeric types are not CoNLL entities and are dropped). A mention counts when its
character span and mapped type both match a gold entity exactly.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from collections import Counter, defaultdict
from datetime import date
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parents[1]

from benchmarks._common import figure  # noqa: E402
from pipeline.entities.resolve import trim_span  # noqa: E402
from pipeline.entities.tagger import TaggerConfig, tag_documents, tag_raw  # noqa: E402

DATA = ROOT.parent / "shared" / "eval" / "conll2003_dev.iob2.jsonl"

# OntoNotes -> CoNLL-2003. CoNLL's LOC covers countries, cities and facilities (stadiums, roads); MISC
# covers nationalities and other names (events, works, laws, products, languages).
ONTO_TO_CONLL = {
    "PERSON": "PER",
    "ORG": "ORG",
    "GPE": "LOC",
    "LOC": "LOC",
    "FAC": "LOC",
    "NORP": "MISC",
    "EVENT": "MISC",
    "WORK_OF_ART": "MISC",
    "LAW": "MISC",
    "PRODUCT": "MISC",
    "LANGUAGE": "MISC",
}


def _all_caps(s: str) -> bool:
    letters = [c for c in s if c.isalpha()]
    return bool(letters) and all(c.isupper() for c in letters)


def build(rows: list[dict]):
    """CoNLL sentences -> (documents frame, sentences frame, gold spans per doc_id)."""
    by_doc = defaultdict(list)
    for r in rows:
        by_doc[r["doc"]].append(r)
    docs, sents, gold = [], [], {}
    for d, rs in sorted(by_doc.items()):
        rs.sort(key=lambda r: r["sent"])
        doc_id, parts, pos, spans = f"conll-{d}", [], 0, set()
        for i, r in enumerate(rs):
            sent = " ".join(r["tokens"])
            if i:
                sep = "\n\n" if i == 1 else "\n"
                parts.append(sep)
                pos += len(sep)
            section = "headline" if i == 0 or _all_caps(sent) else "body"
            sha = hashlib.sha1(sent.encode()).hexdigest()
            sents.append((doc_id, date(1996, 8, 30), i, pos, pos + len(sent), sent, section, sha))
            # Gold spans in document offsets.
            offs, p = [], pos
            for tok in r["tokens"]:
                offs.append((p, p + len(tok)))
                p += len(tok) + 1
            cur = None
            for j, tag in enumerate(r["ner"] + ["O"]):
                if cur and not tag.startswith("I-"):
                    spans.add((offs[cur[0]][0], offs[j - 1][1], cur[1]))
                    cur = None
                if tag.startswith("B-") or (tag.startswith("I-") and cur is None):
                    cur = (j, tag[2:])
            parts.append(sent)
            pos += len(sent)
        text = "".join(parts)
        body_start = len(" ".join(rs[0]["tokens"])) + 2 if len(rs) > 1 else 0
        docs.append((doc_id, date(1996, 8, 30), text, body_start, len(text)))
        gold[doc_id] = spans
    docs_df = pl.DataFrame(
        docs, schema=["doc_id", "pub_date", "text", "body_start", "body_end"], orient="row"
    ).with_columns(pl.col("body_start", "body_end").cast(pl.Int32))
    sents_df = pl.DataFrame(
        sents,
        schema=["doc_id", "pub_date", "sent_idx", "start", "end", "text", "section", "sent_hash"],
        orient="row",
    ).with_columns(pl.col("sent_idx", "start", "end").cast(pl.Int32))
    return docs_df, sents_df, gold


def score(pred: dict[str, set], gold: dict[str, set]) -> dict:
    tp = fp = fn = 0
    per = defaultdict(Counter)
    for doc_id, g in gold.items():
        p = pred.get(doc_id, set())
        for x in p & g:
            per[x[2]]["tp"] += 1
        for x in p - g:
            per[x[2]]["fp"] += 1
        for x in g - p:
            per[x[2]]["fn"] += 1
        tp, fp, fn = tp + len(p & g), fp + len(p - g), fn + len(g - p)

    def f1(tp, fp, fn):
        prec = tp / (tp + fp) if tp + fp else 0.0
        rec = tp / (tp + fn) if tp + fn else 0.0
        return prec, rec, (2 * prec * rec / (prec + rec) if prec + rec else 0.0)

    out = dict(zip(("precision", "recall", "f1"), f1(tp, fp, fn), strict=True))
    out["by_type"] = {t: round(f1(c["tp"], c["fp"], c["fn"])[2], 4) for t, c in sorted(per.items())}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=TaggerConfig().model)
    ap.add_argument("--limit-docs", type=int, default=0)
    ap.add_argument("--errors", type=int, default=0, help="print this many pipeline errors")
    args = ap.parse_args()
    if not DATA.exists():
        print(f"SKIPPED: {DATA} is absent (research data kept outside the project).")
        return
    rows = [json.loads(line) for line in DATA.open()]
    if args.limit_docs:
        rows = [r for r in rows if r["doc"] < args.limit_docs]
    docs, sents, gold = build(rows)
    config = TaggerConfig(model=args.model)
    texts = dict(zip(docs["doc_id"], docs["text"], strict=True))

    t0 = time.perf_counter()
    plain: dict[str, set] = defaultdict(set)
    raw = tag_raw(sents["text"].to_list(), config=config)
    for (doc_id, start), ents in zip(sents.select("doc_id", "start").iter_rows(), raw, strict=True):
        for s, e, lab, _ in ents:
            if lab in ONTO_TO_CONLL:
                plain[doc_id].add((start + s, start + e, ONTO_TO_CONLL[lab]))
    t1 = time.perf_counter()
    ents, _, stats = tag_documents(docs, sents, None, config=config)
    t2 = time.perf_counter()
    pipe: dict[str, set] = defaultdict(set)
    for doc_id, s, e, lab in ents.select("doc_id", "start", "end", "label").iter_rows():
        if lab in ONTO_TO_CONLL:
            pipe[doc_id].add((s, e, ONTO_TO_CONLL[lab]))
    # The same span clean-up alone (possessives, leading "the"), to show what the document-level steps add.
    trimmed: dict[str, set] = defaultdict(set)
    for doc_id, spans in plain.items():
        for s, e, lab in spans:
            s2, e2 = trim_span(texts[doc_id], s, e)
            trimmed[doc_id].add((s2, e2, lab))

    n_gold = sum(len(g) for g in gold.values())
    print(f"CoNLL-2003 dev: {docs.height} documents, {sents.height} sentences, {n_gold} gold entities")
    print(f"model: {stats and ents['model'][0] if ents.height else args.model}")
    results = {"plain model": score(plain, gold), "plain + span clean-up": score(trimmed, gold)}
    results["pipeline"] = score(pipe, gold)
    for name, r in results.items():
        print(
            f"{name:>22}: P={r['precision']:.4f} R={r['recall']:.4f} F1={r['f1']:.4f}  by type {r['by_type']}"
        )
    gain = results["pipeline"]["f1"] - results["plain model"]["f1"]
    print(f"F1 gain of the pipeline over the plain model: {gain:+.4f} (required >= +0.03)")
    figure("conll_dev.pipeline.f1", results["pipeline"]["f1"])
    figure("conll_dev.plain.f1", results["plain model"]["f1"])
    figure("conll_dev.f1_gain_over_plain", gain)
    print(f"time: plain {t1 - t0:.1f}s, pipeline {t2 - t1:.1f}s")
    if args.errors:
        shown = 0
        for doc_id in gold:
            for x in sorted(pipe[doc_id] ^ gold[doc_id]):
                kind = "FP" if x in pipe[doc_id] else "FN"
                print(kind, doc_id, repr(texts[doc_id][x[0] : x[1]]), x[2])
                shown += 1
                if shown >= args.errors:
                    return


if __name__ == "__main__":
    main()
