"""Body-text quality of newslake's HTML extraction on the article-extraction benchmark.

Runs the real pipeline (``parse_files`` over the benchmark's ``.html.gz`` files, body = ``text[body_start:
body_end]``) and, in the same run, plain ``trafilatura.bare_extraction`` on the same pages. Metric as in the
benchmark's evaluate script: 4-token shingles (``\\w+`` tokens), per-page normalised TP/FP/FN, precision
and recall averaged over pages, F1 of the averages.

    python benchmarks/extraction_quality.py [--corpus ../shared/corpus/extraction-benchmark]
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import statistics
import sys
import tempfile
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

_TOKEN = re.compile(r"\w+", re.UNICODE | re.MULTILINE | re.IGNORECASE | re.DOTALL)


def _shingles(text: str, n: int = 4) -> Counter:
    t = _TOKEN.findall(text or "")
    return Counter(tuple(t[i : i + n]) for i in range(max(1, len(t) - n + 1)) if t[i : i + n])


def tp_fp_fn(true: str, pred: str) -> tuple[float, float, float]:
    a, b = _shingles(true), _shingles(pred)
    tp = fp = fn = 0
    for k in set(a) | set(b):
        x, y = a.get(k, 0), b.get(k, 0)
        tp += min(x, y)
        fp += max(0, y - x)
        fn += max(0, x - y)
    s = tp + fp + fn
    return (tp / s, fp / s, fn / s) if s else (0.0, 0.0, 0.0)


def _p(tp, fp, fn):
    return 1.0 if fp == fn == 0 else 0.0 if tp == fp == 0 else tp / (tp + fp)


def _r(tp, fp, fn):
    return 1.0 if fp == fn == 0 else 0.0 if tp == fn == 0 else tp / (tp + fn)


def score(gold: dict[str, str], pred: dict[str, str]) -> tuple[float, float, float]:
    rows = [tp_fp_fn(gold[k], pred.get(k, "")) for k in gold]
    p = statistics.mean(_p(*r) for r in rows if r[0] + r[1] > 0)
    r = statistics.mean(_r(*r) for r in rows if r[0] + r[2] > 0)
    return p, r, 2 * p * r / (p + r)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpus", default=str(ROOT.parent / "shared/corpus/extraction-benchmark"))
    args = ap.parse_args()
    corpus = Path(args.corpus)
    if not (corpus / "ground-truth.json").exists():
        print(f"extraction benchmark not found at {corpus}: nothing measured (it lives in ../shared)")
        return 0
    from trafilatura import bare_extraction

    from pipeline.ingest import IngestConfig, parse_files, scan_inbox
    from pipeline.ingest.decode import decode_bytes

    truth = json.loads((corpus / "ground-truth.json").read_text())
    gold = {k: v.get("articleBody", "") for k, v in truth.items()}
    # the pipeline reads an inbox; point one at the benchmark pages (symlinks are refused, so copy to tmp)
    with tempfile.TemporaryDirectory() as tmp:
        for k in gold:
            (Path(tmp) / f"{k}.html.gz").write_bytes((corpus / "html" / f"{k}.html.gz").read_bytes())
        entries = scan_inbox(Path(tmp))
        ours, status = {}, Counter()
        for pf in parse_files(entries, config=IngestConfig(workers=2), ingested_at=datetime.now(UTC)):
            key = pf.rel_path.removesuffix(".html.gz")
            status[pf.reason or pf.status] += 1
            if pf.documents.height:
                row = pf.documents.row(0, named=True)
                ours[key] = row["text"][row["body_start"] : row["body_end"]]
    plain = {}
    for k in gold:
        html = decode_bytes(gzip.decompress((corpus / "html" / f"{k}.html.gz").read_bytes()), sniff_html=True)[0]
        doc = bare_extraction(html)
        plain[k] = (doc.text if doc is not None else "") or ""
    print(f"pages: {len(gold)}   newslake file status: {dict(status)}")
    print(f"{'extractor':<34}{'precision':>10}{'recall':>10}{'F1':>10}")
    for name, pred in (("newslake (parse_files, body only)", ours), ("plain trafilatura bare_extraction", plain)):
        p, r, f = score(gold, pred)
        print(f"{name:<34}{p:>10.4f}{r:>10.4f}{f:>10.4f}")
    print("published: trafilatura 2.0 F1 0.958; target >= 0.958, aim 0.965")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
