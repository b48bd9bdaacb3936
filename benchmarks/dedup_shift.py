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
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta

import polars as pl

from benchmarks.dedup_quality import (
    CITIES,
    CORPUS,
    LETTERS,
    LOOKALIKE,
    NAMES,
    clean_pool,
    family_tags,
    figure_sibling,
    load_corpus,
    render,
    swap_words,
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
    out = []
    for ch in text:
        if ch.isdigit():
            out.append(DIGIT_LOOKALIKE[ch] if rng.random() < rate / 3 else ch)
            continue
        if not ch.isalpha() or rng.random() >= rate:
            out.append(ch)
            continue
        r = rng.random()
        if r < 0.5:
            out.append(LOOKALIKE.get(ch.lower(), rng.choice(LETTERS)))
        elif r < 0.75:
            out.append(rng.choice(LETTERS))
        elif r >= 0.9:
            out.append(ch + rng.choice(" .,'"))
    return "".join(out)


def topical_prefix(
    paras: list[str], rng: random.Random, same_topic: list[dict], extra: list[dict], used: set[str]
) -> list[str]:
    """The first 20-70 % of the story's words, then 1-3 paragraphs of another story, on the same topic when
    one is left (each such story is used once)."""
    n = sum(len(p.split(" ")) for p in paras)
    keep, kept = max(1, int(n * rng.uniform(0.2, 0.7))), []
    for p in paras:
        w = p.split(" ")
        kept.append(" ".join(w[:keep]))
        keep -= len(w)
        if keep <= 0:
            break
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
    title, dateline, paras, byline = o["title"], o["dateline"], list(o["paras"]), ""
    kinds = SHIFT_KINDS if prefix_ok else ("ocr", "swaps")  # a cut may lose every figure siblings differ in
    heavy = rng.sample(kinds, min(len(kinds), rng.choice([1, 1, 1, 2, 2, 3])))
    if rng.random() < 0.8:
        title = rng.choice(["UPDATE 2-", "REFILE-", "", "FACTBOX-"]) + " ".join(
            rng.sample(title.split() or ["news"], max(1, len(title.split()) - 1))
        )
    if rng.random() < 0.3:
        dateline = "" if dateline else f"{rng.choice(CITIES)} (Reuters) -"
    if rng.random() < 0.3:
        byline = f"By {rng.choice(NAMES)}"
    if "condense" in heavy:
        paras = condense(paras, rng)
    if "prefix" in heavy:
        paras = topical_prefix(paras, rng, *pools)
    elif rng.random() < 0.15 and len(paras) >= 3:
        i, j = rng.sample(range(len(paras)), 2)
        paras.insert(j, paras.pop(i))
    if "swaps" in heavy:
        paras = swap_words(paras, rng, rng.uniform(0.03, 0.15), vocab)
    if "ocr" in heavy:
        rate = rng.uniform(0.01, 0.06)
        paras = [ocr_scan(p, rng, rate) for p in paras]
        title = ocr_scan(title, rng, rate)
    return dict(title=title, dateline=dateline, paras=paras, byline=byline, edits=",".join(sorted(heavy)))


def build_shift(n_originals: int, seed: int) -> pl.DataFrame:
    """The shift set (recipe: module docstring); columns as ``dedup_quality.build_noisy``."""
    rng = random.Random(seed)
    corpus = load_corpus()
    topic = topics()
    fam = Counter(d["family"] for d in corpus if d["family"])
    families = [d for d in corpus if d["family"] and fam[d["family"]] >= 3]
    rng.shuffle(families)
    others = [d for d in corpus if not (d["family"] and fam[d["family"]] >= 3)]
    rng.shuffle(others)
    n_fam = n_originals // 6
    picked = families[:n_fam] + others[: n_originals - n_fam]
    picked.sort(key=lambda d: d["key"])
    chosen = {d["key"] for d in picked}
    extra = [d for d in corpus if d["key"] not in chosen]
    rng.shuffle(extra)
    by_topic: dict[str, list[dict]] = defaultdict(list)
    for d in extra:
        if d["key"] in topic:
            by_topic[topic[d["key"]]].append(d)
    pool = clean_pool(picked)
    sibs = []
    for o in rng.sample(pool, len(pool) // 6):
        sibs += [s for s in (figure_sibling(o, rng, j) for j in range(rng.randint(1, 2))) if s]
    no_prefix = {s["key"] for s in sibs} | {s["key"].split("-tpl")[0] for s in sibs} | {d["key"] for d in families}
    pool = pool + sibs
    vocab = sorted({w for d in rng.sample(pool, 200) for p in d["paras"] for w in p.split() if w.isalpha()})
    rows, start, used = [], date(2024, 1, 1), set()
    for o in pool:
        day = start + timedelta(days=rng.randrange(60))
        t0 = datetime(day.year, day.month, day.day, rng.randrange(24), rng.randrange(60), tzinfo=UTC)
        versions = [dict(title=o["title"], dateline=o["dateline"], paras=o["paras"], byline="", edits="")]
        same = by_topic.get(topic.get(o["key"].split("-tpl")[0], ""), [])
        for _ in range(rng.choice([0, 1, 2, 3, 5, 7])):
            versions.append(shift_copy(o, rng, (same, extra, used), vocab, o["key"] not in no_prefix))
        for v_i, v in enumerate(versions):
            text, bs, be = render(v["title"], v["dateline"], v["paras"], v["byline"])
            ts = t0 + timedelta(minutes=rng.randrange(1, 4 * 24 * 60)) if v_i else t0
            rows.append(
                dict(
                    doc_id=f"{o['key']}#{v_i}",
                    gold=o["key"],
                    pub_date=ts.date(),
                    pub_datetime=ts,
                    text=text,
                    body_start=bs,
                    body_end=be,
                    edits=v["edits"],
                    family=family_tags(o, fam),
                )
            )
    df = pl.DataFrame(rows).with_columns(pl.col("pub_datetime").dt.cast_time_unit("us"))
    return df.with_columns(pl.col("body_start", "body_end").cast(pl.Int32))
