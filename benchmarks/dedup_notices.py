"""A fourth development set: short wire notices, which the other recipes leave out (they keep bodies of 250
characters or more).

Reuters sends many stories whose body is a few lines and names the company in the headline only: dividend
notices ("Qtly div 25 cts vs 25 cts prior / Pay April one / Record March 13"), earnings tables ("Shr 1.07 dlrs
vs 73 cts / Net 12.6 mln vs 15.8 mln ..."), price changes. Two such bodies of different companies are one
template with other figures: deduplication compares bodies, so only the figures tell them apart. Session 12
found the learned verdict merging them on the end-to-end corpus, which the clean, noisy and shift sets could
not show.

Recipe (``--sets notices`` of ``dedup_quality.py``):

* **Originals**: Reuters NORM stories whose body has 60-250 characters, with the corpus's re-sent stories
  removed as in the other sets (``clean_pool``: a body sharing half its word 3-grams with an earlier one and
  nearly its figures). Their *shape* is the body with every number, number word and month masked; bodies of one
  shape held by at least 3 originals are a natural template family (``family_tags``: ``nat:``), the
  pairs whose merge counts as a template merge.
* **Copies**, 0-2 per original (a re-sent notice): a new or no dateline, a new headline (another
  wording of the same notice, or the headline upper-cased), and OCR-like letter noise at 0-3 % of the
  letters (digits untouched: a copy keeps its figures) on half of them.
* Dates as in the other sets: each original on one of 60 days, its copies 0-4 days later.
"""

from __future__ import annotations

import random
import re
from collections import Counter

import polars as pl

from benchmarks.dedup_quality import clean_pool, dated_rows, ocr_letters, reuters_records, reuters_story

_NUMBER = re.compile(
    r"\d[\d.,/-]*|\b(?:one|two|three|four|five|six|seven|eight|eights|nine|ten|eleven|twelve|half|quarter)\b"
)
_MONTH = re.compile(r"\b(?:jan|feb|march|mar|april|apr|may|june|jun|july|jul|aug|sept|sep|oct|nov|dec)[a-z]*\b\.?")


def shape(body: str) -> str:
    """The body with numbers, number words and months masked, lower case, one space between words: notices
    of one template with other figures or dates have one shape."""
    return " ".join(_MONTH.sub("@", _NUMBER.sub("#", body.lower())).split())


def load_notices(*, lo: int = 60, hi: int = 250) -> list[dict]:
    """Reuters NORM stories with a body of ``lo`` to ``hi`` characters, as the other sets' originals."""
    return [
        reuters_story(r, body) for r, body in reuters_records() if r.get("text_type") == "NORM" and lo <= len(body) < hi
    ]


def notice_copy(o: dict, rng: random.Random) -> dict:
    """A re-sent notice: another headline and dateline, letters garbled on half of the copies."""
    edits = []
    title = o["title"].upper() if rng.random() < 0.5 else f"{o['title']} - CORRECTED"
    edits.append("headline")
    dateline = o["dateline"] if rng.random() < 0.5 else ""
    if dateline != o["dateline"]:
        edits.append("dateline")
    paras = o["paras"]
    if rng.random() < 0.5:
        rate = rng.uniform(0.0, 0.03)
        paras = [ocr_letters(p, rng, rate) for p in paras]
        edits.append("ocr")
    return dict(title=title, dateline=dateline, paras=paras, byline="", edits=" ".join(edits))


def build_notices(n_originals: int, seed: int) -> pl.DataFrame:
    """The notices set: ``n_originals`` short notices (fewer when the corpus has fewer), 0-2 copies each."""
    rng = random.Random(seed)
    notices = load_notices()
    rng.shuffle(notices)
    pool = clean_pool(notices)[:n_originals]
    pool.sort(key=lambda d: d["key"])
    for o in pool:
        o["family"] = shape(" ".join(o["paras"]))
    fam = Counter(o["family"] for o in pool)
    return dated_rows(pool, rng, fam, lambda o: [notice_copy(o, rng) for _ in range(rng.choice([0, 1, 1, 2]))])
