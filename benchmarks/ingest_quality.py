"""HTML extraction quality on both development sets, the no-article gate, metadata fill rates and CPU per page.

Every figure is printed next to plain trafilatura measured in the same run.

* **bench**: the 181-page article-extraction benchmark (``../shared/corpus/extraction-benchmark``); body text
  scored as its evaluate script does: 4-token ``\\w+`` shingles, per-page normalised TP/FP/FN, precision and
  recall averaged over pages, F1 of the averages.
* **treval**: trafilatura's 990-page evaluation corpus (``../shared/extraction-trafilatura-eval``), scored as
  its ``SCORING.md`` says: ``with``/``without`` segments found in the whitespace-normalised output, micro-averaged.
  Plain trafilatura gets the raw bytes, as in trafilatura's own evaluation.
* newslake = the real ``parse_file`` on each page written to a temporary inbox; body = ``text[body_start:
  body_end]``; a page rejected (``no_article`` ...) scores as empty output and is counted as a false reject.
* CPU: ``parse_file`` (read, decode, extract, metadata, dates, language, row) and ``extract_html`` alone (the
  decoded page to title, body, metadata and date candidates) against plain ``bare_extraction`` on the already
  decoded page, interleaved page by page so machine load hits all three alike.
* Gate: the committed fixtures (``tests/unit/ingest/fixtures/html/{articles,non_articles}``, written for this
  project) and Reuters-21578 wire stories rendered at run time as plain ``<article>`` pages (headline + paragraphs).

    python -m benchmarks.ingest_quality [--shared ../shared] [--briefs 3000] [--sets bench,treval] [--limit N]
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import html
import json
import random
import re
import statistics
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests/unit/ingest/fixtures/html"
FIELDS = ("title", "site", "authors", "date", "language")

_TOKEN = re.compile(r"\w+", re.UNICODE | re.MULTILINE | re.IGNORECASE | re.DOTALL)


# --- scoring -------------------------------------------------------------------------------------------------
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


def score_shingles(golds: list[str], preds: list[str | None]) -> tuple[float, float, float]:
    rows = [tp_fp_fn(g, p or "") for g, p in zip(golds, preds, strict=True)]
    p = statistics.mean(1.0 if fp == fn == 0 else tp / (tp + fp) if tp else 0.0 for tp, fp, fn in rows if tp + fp)
    r = statistics.mean(1.0 if fp == fn == 0 else tp / (tp + fn) if tp else 0.0 for tp, fp, fn in rows if tp + fn)
    return p, r, 2 * p * r / (p + r)


def _norm(t: str) -> str:
    return re.sub(r"\s+", " ", t).strip()


def score_segments(items: list[dict], preds: list[str | None]) -> tuple[float, float, float]:
    tp = fp = fn = 0
    for item, out in zip(items, preds, strict=True):
        o = _norm(out) if isinstance(out, str) else None
        t = sum(_norm(w) in o for w in item["with"]) if o is not None else 0
        tp, fn = tp + t, fn + len(item["with"]) - t
        fp += sum(_norm(w) in o for w in item["without"]) if o is not None else 0
    return tp / (tp + fp), tp / (tp + fn), 2 * tp / (2 * tp + fp + fn)


# --- the development sets ------------------------------------------------------------------------------------
def load_sets(shared: Path, wanted: set[str]) -> dict[str, dict]:
    """``{name: {"raw": [bytes], "gold": [...], "score": fn}}`` for every set present under ``shared``."""
    sets = {}
    b = shared / "corpus/extraction-benchmark"
    if "bench" in wanted and (b / "ground-truth.json").exists():
        truth = json.loads((b / "ground-truth.json").read_text())
        raw = [gzip.decompress((b / "html" / f"{k}.html.gz").read_bytes()) for k in truth]
        sets["bench"] = dict(raw=raw, gold=[v.get("articleBody", "") for v in truth.values()], score=score_shingles)
    elif "bench" in wanted:
        print(f"SKIPPED bench: {b} not found (development data lives in ../shared)")
    t = shared / "extraction-trafilatura-eval"
    if "treval" in wanted and (t / "evaldata.json").exists():
        items = list(json.loads((t / "evaldata.json").read_text(encoding="utf-8")).values())
        raw = [gzip.decompress((t / "html" / f"{it['file']}.gz").read_bytes()) for it in items]
        sets["treval"] = dict(raw=raw, gold=items, score=score_segments)
    elif "treval" in wanted:
        print(f"SKIPPED treval: {t} not found (development data lives in ../shared)")
    return sets


PLAIN = {  # name -> trafilatura.extract keyword arguments (raw bytes in, as trafilatura's evaluation does)
    "plain extract() defaults": {},
    "plain standard (comments off)": dict(include_comments=False, include_tables=True),
    "plain favor_precision": dict(include_comments=False, include_tables=True, favor_precision=True),
    "plain favor_recall": dict(include_comments=False, include_tables=True, favor_recall=True),
}


SLUG = dict(zip(PLAIN, ("plain_default", "plain_standard", "plain_precision", "plain_recall"), strict=True))
SLUG["bare"] = "plain_bare_extraction"


def run_pages(raw: list[bytes], inbox: Path) -> dict:
    """newslake and plain trafilatura on the same pages; CPU of parse_file vs bare_extraction interleaved."""
    from trafilatura import bare_extraction, extract

    from pipeline.ingest import IngestConfig, parse_file, scan_inbox
    from pipeline.ingest.decode import decode_bytes
    from pipeline.ingest.html import extract_html
    from pipeline.ingest.records import Reject

    for f in inbox.iterdir():
        f.unlink()
    for i, data in enumerate(raw):
        (inbox / f"{i:05d}.html").write_bytes(data)
    entries = scan_inbox(inbox)
    config, at = IngestConfig(workers=0), datetime.now(UTC)
    parse_file(entries[0], config=config, ingested_at=at)  # warm up: imports, language model
    bare_extraction(decode_bytes(raw[0], sniff_html=True)[0])
    ours, bare, reasons, rows = [], [], Counter(), []
    cpu_ours = cpu_bare = cpu_extract = 0.0
    for entry, data in zip(entries, raw, strict=True):
        text = decode_bytes(data, sniff_html=True)[0]
        c0 = time.process_time()
        doc = bare_extraction(text)
        c1 = time.process_time()
        pf = parse_file(entry, config=config, ingested_at=at)
        c2 = time.process_time()
        with contextlib.suppress(Reject):
            extract_html(text)
        cpu_ours, cpu_bare, cpu_extract = cpu_ours + c2 - c1, cpu_bare + c1 - c0, cpu_extract + time.process_time() - c2
        bare.append((doc.text if doc is not None else "") or "")
        reasons[pf.reason or pf.status] += 1
        if pf.documents.height:
            row = pf.documents.row(0, named=True)
            ours.append(row["text"][row["body_start"] : row["body_end"]])
            rows.append(row)
        else:
            ours.append(None)
    plain = {name: [_safe(extract, data, kw) for data in raw] for name, kw in PLAIN.items()}
    n = len(raw)
    cpu = (cpu_ours / n, cpu_bare / n, cpu_extract / n)
    return dict(ours=ours, bare=bare, plain=plain, reasons=reasons, rows=rows, cpu=cpu)


def _safe(extract, data: bytes, kw: dict) -> str | None:
    try:
        return extract(data, **kw)
    except Exception:  # scored as no output, as in trafilatura's evaluation
        return None


def fill_rates(rows: list[dict]) -> dict[str, float]:
    have = {
        "title": lambda r: bool(r["title"]),
        "site": lambda r: bool(r["site"]),
        "authors": lambda r: bool(r["authors"]),
        "date": lambda r: r["pub_date"] is not None,
        "language": lambda r: bool(r["language"]),
    }
    return {f: sum(map(have[f], rows)) / len(rows) if rows else 0.0 for f in FIELDS}


# --- the gate ------------------------------------------------------------------------------------------------
def wire_briefs(path: Path, n: int, seed: int = 16) -> list[bytes]:
    """Reuters-21578 stories rendered as plain ``<article>`` pages: headline, then the story's paragraphs."""
    recs = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            r = json.loads(line)
            if (r.get("title") or "").strip() and (r.get("body") or "").strip():
                recs.append(r)
    pages = []
    for r in random.Random(seed).sample(recs, min(n, len(recs))):
        body = re.sub(r"\s*Reuter\s*(&#3;)?\s*$", "", r["body"].replace("\x03", "")).strip()
        paras = [" ".join(p.split()) for p in re.split(r"\n {3,}", body) if p.strip()]
        title = html.escape(" ".join(r["title"].split()).title())
        ps = "".join(f"<p>{html.escape(p)}</p>" for p in paras)
        head = f"<!DOCTYPE html><html><head><title>{title}</title></head>"
        doc = f"{head}<body><article><h1>{title}</h1>{ps}</article></body></html>"
        pages.append(doc.encode())
    return pages


def gate(pages: list[bytes], inbox: Path) -> Counter:
    from pipeline.ingest import IngestConfig, parse_file, scan_inbox

    for f in inbox.iterdir():
        f.unlink()
    for i, data in enumerate(pages):
        (inbox / f"{i:05d}.html").write_bytes(data)
    config, at = IngestConfig(workers=0), datetime.now(UTC)
    return Counter(parse_file(e, config=config, ingested_at=at).reason or "ok" for e in scan_inbox(inbox))


def _short(page: bytes) -> bool:
    paras = re.findall(rb"<p>(.*?)</p>", page)
    return all(len(p.split()) < 10 for p in paras)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--shared", default=str(ROOT.parent / "shared"))
    ap.add_argument("--briefs", type=int, default=3000)
    ap.add_argument("--sets", default="bench,treval")
    ap.add_argument("--limit", type=int, default=0, help="first N pages of each set only (a smoke run)")
    args = ap.parse_args()
    shared = Path(args.shared)
    sets = load_sets(shared, set(args.sets.split(",")))
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        inbox = Path(tmp)
        for name, s in sets.items():
            if args.limit:
                s["raw"], s["gold"] = s["raw"][: args.limit], s["gold"][: args.limit]
            results[name] = run_pages(s["raw"], inbox)
        fx = {
            kind: [p.read_bytes() for p in sorted((FIXTURES / kind).glob("*.html"))]
            for kind in ("articles", "non_articles")
        }
        fx_res = {kind: gate(pages, inbox) for kind, pages in fx.items()}
        reuters = shared / "corpus/reuters21578.jsonl"
        briefs = wire_briefs(reuters, args.briefs) if reuters.exists() and args.briefs else []
        brief_res = gate(briefs, inbox) if briefs else None

    names, figures = list(results), {}
    if names:
        print("\n## Extraction quality (body text), same run")
        print(f"{'extractor':<36}" + "".join(f"{n + ' P':>10}{n + ' R':>10}{n + ' F1':>11}" for n in names))
        lines = {
            "newslake (parse_file, body)": "ours",
            "plain bare_extraction(decoded)": "bare",
            **{k: k for k in PLAIN},
        }
        for label, key in lines.items():
            cells = ""
            for n in names:
                res = results[n]
                pred = res[key] if key in ("ours", "bare") else res["plain"][key]
                p, r, f = sets[n]["score"](sets[n]["gold"], pred)
                cells += f"{p:>10.4f}{r:>10.4f}{f:>11.4f}"
                figures[f"extraction.{n}.f1.{SLUG.get(key, key)}"] = f
            print(f"{label:<36}{cells}")
        print("\n## Rejects")
        for n in names:
            res = results[n]
            rejected = sum(p is None for p in res["ours"])
            figures[f"extraction.{n}.articles_accepted_share"] = 1 - rejected / len(res["ours"])
            status = dict(res["reasons"])
            print(f"{n}: {len(res['ours'])} pages, newslake status {status}; article pages rejected: {rejected}")
        print("\n## CPU per page (ms; interleaved page by page in this run; ratio = newslake / plain bare_extraction)")
        print(f"{'set':<8}{'bare_extraction':>17}{'parse_file':>12}{'ratio':>8}{'extract_html':>14}{'ratio':>8}")
        for n in names:
            ours_cpu, bare_cpu, extract_cpu = results[n]["cpu"]
            figures[f"extraction.{n}.plain_cpu_over_ours"] = bare_cpu / ours_cpu
            figures[f"extraction.{n}.plain_cpu_over_extract_html"] = bare_cpu / extract_cpu
            print(
                f"{n:<8}{bare_cpu * 1000:>17.2f}{ours_cpu * 1000:>12.2f}{ours_cpu / bare_cpu:>7.2f}x"
                f"{extract_cpu * 1000:>14.2f}{extract_cpu / bare_cpu:>7.2f}x"
            )
        print("\n## Metadata fill rates (documents produced)")
        print(f"{'set':<10}" + "".join(f"{f:>10}" for f in FIELDS))
        for n in names:
            fr = fill_rates(results[n]["rows"])
            figures.update({f"metadata.{n}.{f}_fill": v for f, v in fr.items()})
            print(f"{n:<10}" + "".join(f"{fr[f]:>10.3f}" for f in FIELDS))
    print("\n## No-article gate")
    arts, non = fx_res["articles"], fx_res["non_articles"]
    print(f"fixtures: articles {sum(arts.values())}, false rejects {sum(arts.values()) - arts['ok']} {dict(arts)}")
    print(f"fixtures: non-articles {sum(non.values())}, false accepts {non['ok']} {dict(non)}")
    figures["gate.fixture_articles_accepted_share"] = arts["ok"] / sum(arts.values())
    figures["gate.fixture_non_articles_rejected_share"] = 1 - non["ok"] / sum(non.values())
    if brief_res is None:
        print(f"SKIPPED wire briefs: {reuters} not found")
    else:
        n_short = sum(map(_short, briefs))
        rej = sum(brief_res.values()) - brief_res["ok"]
        print(
            f"wire briefs: {len(briefs)} Reuters stories ({n_short} with every paragraph short), "
            f"false rejects {rej} {dict(brief_res)}"
        )
        figures["gate.wire_briefs_accepted_share"] = brief_res["ok"] / len(briefs)
    for n in names:  # the margins the quality gate holds: ours minus plain default and the best plain setting
        plain = max(v for k, v in figures.items() if k.startswith(f"extraction.{n}.f1.plain"))
        figures[f"extraction.{n}.f1_margin_over_best_plain"] = figures[f"extraction.{n}.f1.ours"] - plain
        default = figures[f"extraction.{n}.f1.plain_default"]
        figures[f"extraction.{n}.f1_margin_over_plain_default"] = figures[f"extraction.{n}.f1.ours"] - default
    print("\n## Figures (name: value; floors in benchmarks/README-ingest.md)")
    for k, v in figures.items():
        print(f"{k}: {v:.4f}")
    for k, v in figures.items():  # for benchmarks/gate.py
        print(f"FIGURE {k} {v:.6g}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
