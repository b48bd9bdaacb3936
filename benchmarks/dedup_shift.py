"""The *shift* set: a third dedup development recipe, built to check transfer rather than to tune on.

The clean and noisy sets (``dedup_quality.build`` / ``build_noisy``) were the sets every dedup rule was chosen
on, and a model trained on one of them does worse than the rules on the other (README-dedup, "A learned
verdict"). This recipe moves each edit away from what those sets do, so a rule or a model that only learned
their edit distribution shows it here:

* more copies per story (0, 1, 2, 3, 5 or 7: a story's word keys are held by up to 8 nodes, twice the rarity
  rule's ``rare_nodes``);
* OCR noise at 1-6 % of letters **and digits** (a third of the letter rate, digit look-alikes 0/8, 1/7, 3/8,
  5/6: real scans confuse them; the other sets never touch a digit, which every number rule relies on);
* prefix copies keeping 20-70 % of the story, followed by 1-3 paragraphs of a story **on the same topic**
  (same Reuters topic or BBC category) when there is one: an outlet's own brief about the same thing;
* word swaps at 3-15 %;
* *condensed* copies: 20-40 % of the sentences after the first dropped (a sub-editor cutting inside).

As in the noisy set, template-family stories and figure siblings get no prefix and no condensed copies: a
copy that lost every figure its siblings differ in is a copy of each of them, and no label is right.

Originals, template families and figure siblings are picked as in the noisy set; light edits are the noisy
set's. ``dedup_quality.py --sets shift`` (or ``clean,noisy,shift``) prints it like the other two.
"""

from __future__ import annotations

import random
import re
from collections import defaultdict

import polars as pl

from benchmarks.dedup_quality import (
    CORPUS,
    Messy,
    dated_rows,
    first_words,
    messy_copy,
    ocr_letters,
    pick_originals,
    with_siblings,
)

DIGIT_LOOKALIKE = {"0": "8", "8": "3", "1": "7", "7": "1", "3": "8", "5": "6", "6": "5", "2": "7", "9": "8", "4": "9"}
SHIFT_KINDS = ("ocr", "prefix", "swaps", "condense")


def topics() -> dict[str, str]:
    """A topic per original key: the first Reuters topic, or the BBC category."""
    import json

    out = {}
    for line in (CORPUS / "reuters21578.jsonl").open():
        r = json.loads(line)
        if r.get("topics"):
            out[f"r{r['newid']}"] = r["topics"][0]
    for line in (CORPUS / "bbc_fulltext.jsonl").open():
        r = json.loads(line)
        out[f"b{r['id']}"] = f"bbc-{r['category']}"
    return out


def ocr_scan(text: str, rng: random.Random, rate: float) -> str:
    """Letters corrupted as in the noisy set; digits too, at a third of the rate, by look-alike digits."""
    return ocr_letters(text, rng, rate, DIGIT_LOOKALIKE)


def topical_prefix(
    paras: list[str], rng: random.Random, same_topic: list[dict], extra: list[dict], used: set[str]
) -> list[str]:
    """The first 20-70 % of the story's words, then 1-3 paragraphs of another story, on the same topic when
    one is left (each such story is used once)."""
    kept = first_words(paras, rng.uniform(0.2, 0.7))
    while same_topic and same_topic[-1]["key"] in used:
        same_topic.pop()
    while extra[-1]["key"] in used:
        extra.pop()
    other = (same_topic or extra).pop()
    used.add(other["key"])
    return kept + other["paras"][: rng.randint(1, 3)]


def condense(paras: list[str], rng: random.Random) -> list[str]:
    """Drop 20-40 % of the sentences after the first (whole paragraphs may go)."""
    sents = [(i, s) for i, p in enumerate(paras) for s in re.split(r"(?<=[.!?])\s+", p) if s]
    if len(sents) < 4:
        return paras
    drop = set(rng.sample(range(1, len(sents)), max(1, int((len(sents) - 1) * rng.uniform(0.2, 0.4)))))
    out: dict[int, list[str]] = defaultdict(list)
    for k, (i, s) in enumerate(sents):
        if k not in drop:
            out[i].append(s)
    return [" ".join(out[i]) for i in sorted(out)]


def shift_copy(o: dict, rng: random.Random, pools: tuple, vocab: list[str], prefix_ok: bool) -> dict:
    """A messy copy: 1-3 of the heavy edits (module docstring) on top of the noisy set's light edits."""
    how = Messy(
        kinds=SHIFT_KINDS,
        titles=("UPDATE 2-", "REFILE-", "", "FACTBOX-"),
        swaps=(0.03, 0.15),
        ocr=(0.01, 0.06),
        scan=ocr_scan,
        cut=lambda paras, r: topical_prefix(paras, r, *pools),
        condense=condense,
    )
    return messy_copy(o, rng, vocab, prefix_ok, how)


def build_shift(n_originals: int, seed: int) -> pl.DataFrame:
    """The shift set (recipe: module docstring); columns as ``dedup_quality.build_noisy``."""
    rng = random.Random(seed)
    pool, extra, fam, families = pick_originals(n_originals, rng)
    topic = topics()
    by_topic: dict[str, list[dict]] = defaultdict(list)
    for d in extra:
        if d["key"] in topic:
            by_topic[topic[d["key"]]].append(d)
    pool, no_prefix, vocab = with_siblings(pool, rng, families)
    used: set[str] = set()

    def copies(o: dict) -> list[dict]:
        same = by_topic.get(topic.get(o["key"].split("-tpl")[0], ""), [])
        pools = (same, extra, used)
        return [
            shift_copy(o, rng, pools, vocab, o["key"] not in no_prefix) for _ in range(rng.choice([0, 1, 2, 3, 5, 7]))
        ]

    return dated_rows(pool, rng, fam, copies)
