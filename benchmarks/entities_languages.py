"""Entities on non-English news: English labels on German and French pages, before and after language-aware tagging.

Reads the German and French pages of trafilatura's evaluation corpus (``../shared/extraction-trafilatura-eval``),
extracts each page's text with newslake's own HTML extraction, detects the language as ingestion does, and tags
the text twice in the same run:

* **before** — the English model on every page (what newslake did before issue 16);
* **after** — the entities runner's rule: the pipeline for the page's language (French: ``fr_core_news_sm``),
  or no entities when none is installed (German).

Prints, per language, the pages, words, and entities per 1,000 words from a model of *another* language (every
one of them is noise: ``dem`` NORP, ``Schulen`` PERSON) and from the page's own language model.

    python -m benchmarks.entities_languages [--max-pages 200]
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import time
from collections import defaultdict

from benchmarks._common import figure, require, shared_dir


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--max-pages", type=int, default=200, help="per language")
    args = ap.parse_args(argv)
    root = shared_dir() / "extraction-trafilatura-eval"
    if not require(root / "evaldata.json", "trafilatura's evaluation corpus"):
        return 0
    from pipeline.entities.tagger import TaggerConfig, model_language, models_by_language, tag_entities
    from pipeline.ingest.html import extract_html
    from pipeline.ingest.language import detect_language

    pages: dict[str, list[str]] = defaultdict(list)
    for meta in json.loads((root / "evaldata.json").read_text()).values():
        path = root / "html" / (meta["file"] + ".gz")
        if not path.exists():
            continue
        try:
            html = gzip.decompress(path.read_bytes()).decode("utf-8", "replace")
            text = "\n\n".join(extract_html(html).body)
        except Exception:  # noqa: BLE001 -- a page the extractor rejects is simply not measured
            continue
        lang = detect_language(text) if text else None
        if lang in ("de", "fr") and len(pages[lang]) < args.max_pages:
            pages[lang].append(text)
    english = TaggerConfig()
    by_lang = models_by_language(english)
    print(f"models: {', '.join(f'{k}={v.model}' for k, v in by_lang.items())}")
    print(f"{'lang':<5} {'pages':>6} {'words':>9} {'before: other-language /1k w':>30} "
          f"{'after: other-language /1k w':>29} {'after: own-model /1k w':>24} {'sec':>6}")
    for lang, texts in sorted(pages.items()):
        words = sum(len(t.split()) for t in texts)
        t0 = time.perf_counter()
        before = sum(len(e) for e in tag_entities(texts, config=english))
        # The runner's rule (pipeline.entities.runner): a page goes to the model registered for its language,
        # or to none. Entities count as other-language when the chosen model's language is not the page's.
        chosen = by_lang.get(lang)
        after = sum(len(e) for e in tag_entities(texts, config=chosen)) if chosen else 0
        own = after if chosen and model_language(chosen) == lang else 0
        wrong_after = after - own
        per_k = 1000 / max(words, 1)
        print(f"{lang:<5} {len(texts):>6} {words:>9,} {before * per_k:>30.1f} {wrong_after * per_k:>29.1f} "
              f"{own * per_k:>24.1f} {time.perf_counter() - t0:>6.1f}")
        figure(f"{lang}.other_language_entities_per_1k_words.before", before * per_k)
        figure(f"{lang}.other_language_entities_per_1k_words.after", wrong_after * per_k)
        # the gate checks minimums: none must come back, so the count is gated negated (floor 0)
        figure(f"{lang}.other_language_entities_per_1k_words.after_negated", -wrong_after * per_k)
    return 0


if __name__ == "__main__":
    sys.exit(main())
