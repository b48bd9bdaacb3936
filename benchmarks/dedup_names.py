"""A fifth development set: stories of one formula that differ in the company's name (session 13).

What the learned verdict still joins on the real wire (``dedup_wire.py``) is mostly formulaic announcements
whose body differs only in the name at its start: "Witco Corp said it filed with the Securities and Exchange
Commission a registration statement covering a 100 mln dlr issue of convertible debentures ...", fourteen
banks raising the prime rate, eurobond issues. Reuters has natural families of them.

Recipe (``--sets names`` of ``dedup_quality.py``; ``names-train`` for ``dedup_learned extract``):

* **Opening shape**: the body's first 14 words after its subject (the words before "said", "is issuing" and
  a few other verbs), with numbers, number words and months masked. Stories of one opening shape held by at
  least 3 stories are a *name family*; the pairs whose merge counts as a template merge.
* **Split**: families are split in two by a hash of their shape. ``names-train`` holds one half (the
  verdict's training sets), ``names`` the other (the check), so a model is never measured on a family it
  was trained on. The real-wire check reads both halves: its company joins within the check half are the
  fair figure for a model trained on ``names-train``.
* **Originals**: every story of the half's families, and other stories with a subject (60-1,500 characters)
  up to ``n_originals``; **copies** as in the notices set (another headline, dateline kept or dropped, OCR
  letter noise on half of them), 0-2 per original.
"""

from __future__ import annotations

import functools
import hashlib
import random
import re
from collections import Counter

import polars as pl

from benchmarks.dedup_notices import notice_copy, shape
from benchmarks.dedup_quality import clean_pool, dated_rows, reuters_records, reuters_story

_SUBJECT = re.compile(r"^(.{2,80}?)\s+(?:said|says|is|was|has|have|will|raised|cut|declared)\b")
MIN_FAMILY = 3


def opening_shape(body: str) -> str | None:
    """The opening after the subject, masked (None when no subject is found)."""
    m = _SUBJECT.match(body)
    if m is None:
        return None
    return "@ " + shape(" ".join(body[m.end(1) :].split()[:14]))


def half(family: str) -> str:
    """Which half a family belongs to: ``train`` or ``check`` (a stable hash of its shape)."""
    return "train" if hashlib.blake2b(family.encode(), digest_size=2).digest()[0] % 2 == 0 else "check"


def load_stories() -> list[dict]:
    """Reuters NORM stories of 60-1,500 characters with a subject, each with its opening shape as ``family``."""
    out = []
    for r, body in reuters_records():
        flat = " ".join(body.split())
        fam = opening_shape(flat) if r.get("text_type") == "NORM" and 60 <= len(flat) < 1500 else None
        if fam is not None:
            out.append(reuters_story(r, body, family=fam))
    return out


@functools.cache
def _pool() -> tuple[dict, ...]:
    """The stories without the corpus's re-sent ones (the same for every seed: computed once)."""
    return tuple(clean_pool(load_stories()))


def build_names(n_originals: int, seed: int, part: str = "check") -> pl.DataFrame:
    """One half's name families and other stories (``n_originals`` in all), 0-2 copies each."""
    rng = random.Random(seed)
    stories = _pool()
    size = Counter(s["family"] for s in stories)
    families = [s for s in stories if size[s["family"]] >= MIN_FAMILY and half(s["family"]) == part]
    others = [s for s in stories if size[s["family"]] < MIN_FAMILY]
    rng.shuffle(others)
    pool = families + others[: max(0, n_originals - len(families))]
    pool.sort(key=lambda d: d["key"])
    fam = Counter(o["family"] for o in pool)
    return dated_rows(pool, rng, fam, lambda o: [notice_copy(o, rng) for _ in range(rng.choice([0, 1, 1, 2]))])
