"""Deduplication: normalisation, signatures, clusters across days, template stories, order invariance."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

import numpy as np
import polars as pl
import pytest

from pipeline.dedup import (
    DedupConfig,
    affected_days,
    compute_signatures,
    deduplicate,
    normalise,
    window_bounds,
)
from pipeline.dedup.minhash import minhash
from pipeline.dedup.text import normalised_frame
from pipeline.schema import DUPLICATES, SIGNATURES, unpack_le

D0 = date(2024, 3, 1)
_WORDS = (  # noqa: SIM905 - a word list is easier to read as text
    "market bank minister council report growth price shares company rates government union talks plan "
    "oil coffee harvest export import board chairman election court ruling police storm city river "
    "bridge school hospital budget debt bond yield inflation factory strike airline airport rail port "
    "league match season coach player film festival music award science space rocket satellite energy "
    "wind solar coal gas pipeline treaty border army navy summit visit farmers drought rain flood"
).split()


def paragraph(seed: int, n: int = 28) -> str:
    rng = random.Random(seed)
    return " ".join(rng.choice(_WORDS) for _ in range(n)).capitalize() + "."


def doc(doc_id: str, day: int, paras: list[str], *, title: str = "Headline", hour: int = 9) -> dict:
    body = "\n\n".join(paras)
    text = f"{title}\n\n{body}"
    ts = datetime(D0.year, D0.month, D0.day, hour, tzinfo=UTC) + timedelta(days=day)
    return dict(
        doc_id=doc_id,
        pub_date=ts.date(),
        pub_datetime=ts,
        text=text,
        body_start=len(title) + 2,
        body_end=len(text),
    )


def frame(rows: list[dict]) -> pl.DataFrame:
    return pl.DataFrame(rows).with_columns(
        pl.col("pub_datetime").dt.cast_time_unit("us"), pl.col("body_start", "body_end").cast(pl.Int32)
    )


VERDICT = "learned"  # set per test by the ``verdict`` fixture


@pytest.fixture(autouse=True, params=["learned", "rules"])
def verdict(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every behaviour test runs under both verdicts (the rules are the default); a test of one of the
    rules (``@rules_only``) under the rules only."""
    if request.param == "learned" and request.node.get_closest_marker("rules_only"):
        pytest.skip("a test of one of the rules")
    monkeypatch.setattr(f"{__name__}.VERDICT", request.param)
    return request.param


rules_only = pytest.mark.rules_only


def config(**overrides: object) -> DedupConfig:
    """The configuration under test: the verdict of this run, with ``overrides``."""
    return DedupConfig(**{"verdict": VERDICT, **overrides})  # type: ignore[arg-type]


def rules(**overrides: object) -> DedupConfig:
    """The rules verdict with ``overrides`` (a rule switched off: the test has teeth)."""
    return DedupConfig(**{"verdict": "rules", **overrides})  # type: ignore[arg-type]


def dedup_all(rows: list[dict], cfg: DedupConfig | None = None) -> dict[str, dict]:
    cfg = cfg or config()
    sig = compute_signatures(frame(rows), config=cfg)
    out = deduplicate(sig, sig, config=cfg)
    return {r["doc_id"]: r for r in out.iter_rows(named=True)}


STORY = [paragraph(1), paragraph(2), paragraph(3), paragraph(4)]


# ---------------------------------------------------------------- normalisation ----
def test_normalise_drops_dateline_byline_signoff_and_repeats():
    plain = normalise("Shares rose sharply.\n\nTraders were calm.")
    assert plain == "shares rose sharply traders were calm"
    assert normalise("LONDON (Reuters) - Shares rose sharply.\n\nTraders were calm.") == plain
    assert normalise("SALVADOR, Feb 26 - Shares rose sharply.\n\nTraders were calm.\n Reuter\n\x03") == plain
    assert normalise("By Jane Doe\n\nShares rose sharply.\n\nTraders were calm.") == plain
    assert normalise("Shares rose sharply.\n\nTraders were calm.\n\n(Reporting by Jane Doe; Editing by X)") == plain
    assert normalise("Shares rose sharply.\n\nTraders were calm.\n\nShares  rose sharply!") == plain
    # an ordinary first sentence is not a dateline
    assert normalise("Apple - the company - said so.").startswith("apple the company")


def test_signatures_schema_and_body_only():
    rows = [
        doc("a", 0, STORY, title="Original headline"),
        doc("b", 0, ["By John Smith", "WASHINGTON (Reuters) - " + STORY[0], *STORY[1:]], title="New headline"),
        doc("c", 0, STORY[:3]),
        doc("short", 0, ["Tiny."]),
        doc("empty", 0, [""], title=""),
    ]
    sig = compute_signatures(frame(rows))
    assert sig.schema == SIGNATURES.schema
    assert sig["doc_id"].to_list() == ["a", "b", "c", "short", "empty"]
    h = dict(zip(sig["doc_id"], sig["exact_hash"], strict=True))
    assert h["a"] == h["b"] != h["c"]
    assert h["empty"] is None
    cfg = DedupConfig()
    bands = dict(zip(sig["doc_id"], unpacked(sig["bands"], np.int64), strict=True))
    assert len(bands["a"]) > cfg.bands and bands["short"] == []  # LSH bands, then the word keys (dedup-5)
    no_keys = compute_signatures(frame(rows), config=DedupConfig(verdict="rules", key_ngram=0))
    plain = dict(zip(no_keys["doc_id"], unpacked(no_keys["bands"], np.int64), strict=True))
    assert plain["a"] == bands["a"][: cfg.bands]
    mh = dict(zip(sig["doc_id"], unpacked(sig["minhash"], np.uint32), strict=True))
    assert len(mh["a"]) == cfg.num_perm and mh["short"] == []
    # the stored values are the MinHash itself, slot for slot (packed uint32, not reinterpreted)
    assert mh["a"] == minhash([normalised_frame(frame(rows))["norm_text"][0]], config=cfg)[0].tolist()


def unpacked(col: pl.Series, dtype: type) -> list[list[int]]:
    values, offs = unpack_le(col.to_arrow(), dtype)
    return [values[a:b].tolist() for a, b in zip(offs[:-1], offs[1:], strict=True)]


def test_signatures_are_stable_for_the_same_text():
    a = compute_signatures(frame([doc("a", 0, STORY)]))
    b = compute_signatures(frame([doc("zz", 3, STORY, title="Other")]))
    assert a["minhash"].to_list() == b["minhash"].to_list()
    assert a["bands"].to_list() == b["bands"].to_list()


# ---------------------------------------------------------------- clusters ----
def test_exact_near_and_unique():
    edited = [STORY[0], STORY[1].replace(" ", "  ", 1), STORY[2][:-20] + " said officials on Tuesday.", STORY[3]]
    other = [paragraph(50), paragraph(51), paragraph(52)]
    out = dedup_all(
        [
            doc("orig", 0, STORY),
            doc("exact", 1, STORY, title="Another headline"),
            doc("near", 2, edited),
            doc("other", 2, other),
        ]
    )
    assert out["orig"]["is_canonical"] and out["orig"]["method"] == "unique"
    assert out["exact"]["method"] == "exact" and out["exact"]["canonical_doc_id"] == "orig"
    assert out["near"]["method"] == "near" and out["near"]["canonical_doc_id"] == "orig"
    assert 0.5 <= out["near"]["similarity"] < 1.0
    assert out["other"]["canonical_doc_id"] == "other"
    assert len({out[k]["cluster_id"] for k in ("orig", "exact", "near")}) == 1


def test_trimmed_and_extended_copies_are_duplicates():
    out = dedup_all(
        [
            doc("orig", 0, STORY),
            doc("trim", 0, STORY[:2], hour=10),
            doc("ext", 1, [*STORY, paragraph(99)]),
        ]
    )
    assert out["trim"]["canonical_doc_id"] == "orig"
    assert out["ext"]["canonical_doc_id"] == "orig"


def test_canonical_is_earliest_then_longest_then_doc_id():
    longer = [*STORY, paragraph(7, 8)]
    out = dedup_all([doc("b", 0, STORY, hour=9), doc("a", 0, STORY, hour=10), doc("c", 0, longer, hour=9)])
    assert {r["canonical_doc_id"] for r in out.values()} == {"c"}  # same time: the longest wins
    out = dedup_all([doc("b", 0, STORY, hour=9), doc("a", 0, STORY, hour=9)])
    assert {r["canonical_doc_id"] for r in out.values()} == {"a"}  # full tie: smallest doc_id
    out = dedup_all([doc("b", 0, STORY, hour=8), doc("a", 0, longer, hour=9)])
    assert {r["canonical_doc_id"] for r in out.values()} == {"b"}  # earliest first


def test_output_is_independent_of_input_row_order():
    rows = [doc(f"d{i}", i % 3, STORY if i % 2 else [paragraph(i), paragraph(i + 100)]) for i in range(12)]
    sig = compute_signatures(frame(rows))
    ref = deduplicate(sig, sig, config=config())
    shuffled = sig.sample(fraction=1.0, shuffle=True, seed=3)
    assert deduplicate(shuffled, shuffled.sample(fraction=1.0, shuffle=True, seed=4), config=config()).equals(ref)
    assert ref.schema == DUPLICATES.schema


def test_window_limits_reach():
    rows = [doc("old", 0, STORY), doc("new", 10, STORY)]
    assert dedup_all(rows, config(window_days=5))["new"]["canonical_doc_id"] == "new"
    assert dedup_all(rows, config(window_days=10))["new"]["canonical_doc_id"] == "old"
    assert dedup_all(rows, config(window_days=None))["new"]["canonical_doc_id"] == "old"


def test_day_rows_only_and_later_days_not_seen():
    sig = compute_signatures(frame([doc("x", 0, STORY), doc("y", 1, STORY)]))
    out = deduplicate(sig.filter(pl.col("doc_id") == "x"), sig, config=config())
    assert out["doc_id"].to_list() == ["x"]
    assert out["is_canonical"][0]  # y is later: it does not affect day 0


@rules_only  # (the hops are one code for both verdicts; the learned one does not link this chain's pairs)
def test_second_hop_gives_the_older_cluster():
    """e (day 2) resembles y (day 1) which resembles z (day 0); e alone does not match z. (Each link is
    5 of 11 paragraphs of random words shared: a partial overlap, not a copy, which the learned verdict
    does not call a duplicate.)"""
    p = [paragraph(200 + i) for i in range(14)]
    z, y, e = p[0:8], p[3:11], p[6:14]  # Jaccard z-y and y-e 5/11, z-e 2/14
    sig = compute_signatures(frame([doc("z", 0, z), doc("y", 1, y), doc("e", 2, e)]))
    day2 = sig.filter(pl.col("doc_id") == "e")
    one_hop = deduplicate(day2, sig, config=config(max_hops=1)).row(0, named=True)
    two_hops = deduplicate(day2, sig, config=config()).row(0, named=True)
    assert one_hop["canonical_doc_id"] == "y"
    assert two_hops["canonical_doc_id"] == "z"
    assert deduplicate(sig.filter(pl.col("doc_id") == "y"), sig, config=config())["canonical_doc_id"][0] == "z"


# ---------------------------------------------------------------- templates ----
TRADE = (
    "The country's trade balance showed a surplus of {a} billion dlrs in {m}, against a deficit of {b} mln "
    "dlrs in the previous month, the statistics office said.\n\n"
    "Exports rose {c} pct to {d} billion dlrs while imports fell {e} pct to {f} billion dlrs, it said. "
    "The office gave no breakdown by country and said seasonally adjusted figures would follow later."
)
FED = (
    "The Federal Reserve entered the government securities market to arrange {a} billion dlrs of customer "
    "repurchase agreements, a Fed spokesman said.\n\nDealers said Federal funds were trading at {b} pct "
    "when the Fed began its temporary and indirect supply of reserves to the banking system."
)


def test_template_stories_with_other_figures_are_not_duplicates():
    t1 = TRADE.format(a="1.2", m="March", b="300", c="4.5", d="12.3", e="2.1", f="11.1")
    t2 = TRADE.format(a="0.8", m="April", b="150", c="3.9", d="12.9", e="1.7", f="12.1")
    f1, f2 = FED.format(a="1.5", b="6-3/16"), FED.format(a="1.5", b="6-1/4")
    rows = [doc("t1", 0, t1.split("\n\n")), doc("t2", 1, t2.split("\n\n")),
            doc("f1", 0, f1.split("\n\n")), doc("f2", 1, f2.split("\n\n"))]  # fmt: skip
    out = dedup_all(rows)
    assert out["t2"]["canonical_doc_id"] == "t2"
    assert out["f2"]["canonical_doc_id"] == "f2"
    # without the guard they would be merged: the test has teeth
    loose = dedup_all(rows, rules(template_guard=False))
    assert loose["t2"]["canonical_doc_id"] == "t1" and loose["f2"]["canonical_doc_id"] == "f1"


def test_resent_report_with_wording_correction_is_a_duplicate():
    t1 = TRADE.format(a="1.2", m="March", b="300", c="4.5", d="12.3", e="2.1", f="11.1")
    corrected = t1.replace("the statistics office said", "the national statistics office said on Tuesday")
    trimmed = t1.split("\n\n")[0]
    out = dedup_all(
        [
            doc("t1", 0, t1.split("\n\n")),
            doc("fix", 0, ["CORRECTED - " + corrected.split("\n\n")[0], corrected.split("\n\n")[1]], hour=11),
            doc("trim", 1, [trimmed]),
        ]
    )
    assert out["fix"]["canonical_doc_id"] == "t1" and out["fix"]["method"] == "near"
    assert out["trim"]["canonical_doc_id"] == "t1"


# ---------------------------------------------------------------- across days ----
def test_window_bounds_and_affected_days():
    assert window_bounds(date(2024, 3, 31), window_days=30) == (date(2024, 3, 1), date(2024, 3, 31))
    assert window_bounds(date(2024, 3, 31), window_days=None) == (None, date(2024, 3, 31))
    known = [D0 + timedelta(days=i) for i in (0, 1, 2, 5, 9, 40)]
    assert affected_days(D0 + timedelta(days=1), known_days=known, window_days=4) == [
        D0 + timedelta(days=2),
        D0 + timedelta(days=5),
    ]
    assert affected_days(D0, known_days=known, window_days=None) == known[1:]
    assert affected_days(D0 + timedelta(days=40), known_days=known, window_days=30) == []


def _corpus() -> dict[date, pl.DataFrame]:
    """Eight days with exact copies, near copies, a three-day chain, templates and unique stories."""
    p = [paragraph(300 + i) for i in range(16)]
    trade = [TRADE.format(a=f"1.{i}", m="May", b=f"{i}00", c="4.5", d=f"1{i}.3", e="2.1", f="11.1") for i in range(3)]
    rows = [
        doc("z", 0, p[0:8]), doc("y", 1, p[3:11]), doc("e", 2, p[6:14]), doc("e2", 3, p[6:14], title="Copy"),
        doc("s", 0, STORY), doc("s_exact", 2, STORY, title="Re-run"), doc("s_trim", 4, STORY[:3]),
        doc("s_late", 6, [*STORY, paragraph(400)]), doc("u1", 1, [paragraph(500), paragraph(501)]),
        doc("u2", 5, [paragraph(502), paragraph(503)]), doc("u3", 7, [paragraph(504)]),
        *(doc(f"trade{i}", i + 3, trade[i].split("\n\n")) for i in range(3)),
        doc("trade1_fix", 5, trade[1].replace("office said", "office said on Friday").split("\n\n")),
    ]  # fmt: skip
    df = frame(rows)
    return {d: df.filter(pl.col("pub_date") == d) for d in sorted(df["pub_date"].unique())}


def _process(order: list[date], docs: dict[date, pl.DataFrame], config: DedupConfig) -> pl.DataFrame:
    """What the pipeline does: signatures of a day, then its duplicates and those of affected days."""
    sigs: dict[date, pl.DataFrame] = {}
    dups: dict[date, pl.DataFrame] = {}
    for day in order:
        sigs[day] = compute_signatures(docs[day], config=config)
        for d in [day, *affected_days(day, known_days=sigs, window_days=config.window_days)]:
            lo, hi = window_bounds(d, window_days=config.window_days)
            window = pl.concat([s for k, s in sigs.items() if (lo is None or k >= lo) and k <= hi])
            dups[d] = deduplicate(sigs[d], window.lazy(), config=config)
    return pl.concat(dups.values()).sort("doc_id")


@pytest.mark.parametrize("window_days", [3, None])
def test_order_invariance(window_days):
    docs = _corpus()
    cfg = config(window_days=window_days)
    days = sorted(docs)
    in_order = _process(days, docs, cfg)
    assert _process(days[::-1], docs, cfg).equals(in_order)
    for seed in (1, 2):
        shuffled = days[:]
        random.Random(seed).shuffle(shuffled)
        assert _process(shuffled, docs, cfg).equals(in_order)
    canon = dict(zip(in_order["doc_id"], in_order["canonical_doc_id"], strict=True))
    # the result is not trivial: chains, exact and near copies, templates kept apart
    assert canon["y"] == canon["e"] == canon["e2"] == "z"
    assert canon["s_exact"] == "s"
    # day 4 no longer sees day 0 with a 3-day window: the copy of day 2 is the earliest it knows
    assert canon["s_trim"] == ("s" if window_days is None else "s_exact")
    assert canon["s_late"] == ("s" if window_days is None else "s_trim")
    assert canon["trade1"] == "trade1" and canon["trade2"] == "trade2"
    assert canon["trade1_fix"] == "trade1"


# ---------------------------------------------------------------- noisy and partial copies ----
LONG = [paragraph(600 + i, 40) for i in range(6)]  # ~1,700 normalised characters


def ocr(text: str, seed: int, rate: float = 0.04) -> str:
    """OCR-like noise: ``rate`` of the letters replaced by a look-alike or dropped."""
    rng, look = random.Random(seed), {"m": "rn", "l": "1", "e": "c", "o": "0", "i": "l", "s": "5", "a": "o"}
    out = []
    for ch in text:
        if ch.isalpha() and rng.random() < rate:
            out.append(look.get(ch, "") if rng.random() < 0.8 else "")
        else:
            out.append(ch)
    return "".join(out)


def test_ocr_noisy_copy_is_linked():
    noisy = [ocr(p, i) for i, p in enumerate(LONG)]
    out = dedup_all([doc("orig", 0, LONG), doc("scan", 2, noisy), doc("other", 1, [paragraph(700, 200)])])
    assert out["scan"]["canonical_doc_id"] == "orig" and out["scan"]["method"] == "near"
    assert out["other"]["canonical_doc_id"] == "other"


def test_prefix_copy_with_unrelated_text_points_at_the_fuller_story():
    """40 % of the story, then an outlet's own text longer than what it kept."""
    words = " ".join(LONG).split(" ")
    kept = " ".join(words[: int(0.4 * len(words))])
    brief = [paragraph(800 + i, 40) for i in range(4)]
    rows = [doc("full", 0, LONG), doc("partial", 1, [kept, *brief])]
    out = dedup_all(rows)
    assert out["partial"]["canonical_doc_id"] == "full" and out["partial"]["method"] == "near"
    # the whole texts alone do not say so: the lead does (the test has teeth)
    whole_only = rules(num_perm=126, bands=42, lead_perm=0, key_ngram=0)
    assert dedup_all(rows, whole_only)["partial"]["canonical_doc_id"] == "partial"
    # ... and so do the word keys of the token sketch, without the lead (dedup-5)
    keys_only = rules(num_perm=126, bands=42, lead_perm=0)
    assert dedup_all(rows, keys_only)["partial"]["canonical_doc_id"] == "full"
    too_few = rules(num_perm=126, bands=42, lead_perm=0, key_min=1000)  # shared keys are counted
    assert dedup_all(rows, too_few)["partial"]["canonical_doc_id"] == "partial"


def test_prefix_copy_of_a_template_story_keeps_its_own_figures():
    """Template siblings differing only in figures stay apart, also when a prefix copy of one of them
    (with other text after it) is in the window."""
    fill = [paragraph(900 + i, 30) for i in range(3)]
    t1 = TRADE.format(a="1.2", m="March", b="300", c="4.5", d="12.3", e="2.1", f="11.1").split("\n\n") + fill
    t2 = TRADE.format(a="0.8", m="March", b="150", c="3.9", d="12.9", e="1.7", f="12.1").split("\n\n") + fill
    rows = [doc("t1", 0, t1), doc("t2", 1, t2), doc("t1_part", 2, [t1[0], paragraph(950, 60), paragraph(951, 60)])]
    out = dedup_all(rows)
    assert out["t2"]["canonical_doc_id"] == "t2"
    assert out["t1_part"]["canonical_doc_id"] == "t1"
    loose = dedup_all(rows, rules(template_guard=False))
    assert loose["t2"]["canonical_doc_id"] == "t1"


def test_order_invariance_with_noisy_and_partial_copies():
    words = " ".join(LONG).split(" ")
    part = [" ".join(words[: int(0.35 * len(words))]), paragraph(980, 80)]
    rows = [doc("a", 0, LONG), doc("b", 1, [ocr(p, 7 + i) for i, p in enumerate(LONG)]), doc("c", 2, part),
            doc("d", 3, [ocr(p, 30 + i) for i, p in enumerate(part)]), doc("u", 2, [paragraph(990, 120)])]  # fmt: skip
    df = frame(rows)
    docs = {d: df.filter(pl.col("pub_date") == d) for d in sorted(df["pub_date"].unique())}
    cfg = config(window_days=2)
    days = sorted(docs)
    ref = _process(days, docs, cfg)
    assert _process(days[::-1], docs, cfg).equals(ref)
    shuffled = days[:]
    random.Random(5).shuffle(shuffled)
    assert _process(shuffled, docs, cfg).equals(ref)
    canon = dict(zip(ref["doc_id"], ref["canonical_doc_id"], strict=True))
    assert canon["b"] == canon["c"] == "a" and canon["u"] == "u"
    assert canon["d"] == "b"  # day 3 no longer sees day 0: the earliest copy it knows


# ---------------------------------------------------------------- lead numbers (dedup-3) ----
BOE = (
    "The Bank of England said it forecast a shortage of around {a} mln stg in the money market today. "
    "Among the main factors affecting liquidity, {what} will {verb} {b} mln stg while a rise in note "
    "circulation and bankers' balances below target will take out around {c} mln stg."
)


def test_lead_numbers_are_stored_with_the_figures():
    opening = BOE.format(a="700", b="501", c="285", what="bills maturing in official hands", verb="drain some")
    sig = compute_signatures(frame([doc("x", 0, [opening, paragraph(1, 60)]), doc("y", 0, ["S0me 5ome text " * 30])]))
    figs = dict(zip(sig["doc_id"], sig["figures"], strict=True))
    assert figs["x"].endswith("^lead=700,501")  # 285 lies beyond the lead's 250 characters
    assert figs["y"].endswith(" ^lead=")  # digits glued to letters (OCR: "S0me 5ome") are not lead numbers
    assert "^lead" not in compute_signatures(frame([doc("x", 0, [opening])]), config=DedupConfig(
        verdict="rules", num_perm=126, bands=42, lead_perm=0))["figures"][0]  # fmt: skip


# Dividend notices as wires send them: the company is named in the headline only, so the bodies are one
# template with other figures (names and figures invented here).
NOTICES = [
    ("HARLOW PUMPS INC <HRP> SETS QUARTERLY DIVIDEND", "Qtly div 12 cts vs 12 cts prior", "Pay April 15", "March 31"),
    ("BELMONT FOODS CORP <BLF> DIVIDEND", "Qtly div eight cts vs eight cts prior", "Pay April one", "March 16"),
    ("KESTREL BANCORP <KSB> SETS REGULAR PAYOUT", "Qtly div 25 cts vs 25 cts prior", "Pay April one", "March 13"),
    ("ORLAND MILLS INC <ORM> RAISES QTLY DIVIDEND", "Qtly div nine cts vs 7.5 cts prior", "Pay March 30", "March 13"),
    ("TANSY PRODUCTS CORP <TNP> DIVIDEND", "Qtly div three cts vs three cts prior", "Pay April three", "March 13"),
    ("VEGA CHEMICAL CO <VGC> REGULAR DIVIDEND", "Qtly div 35 cts vs 35 cts prior", "Payable March 31", "March nine"),
]


def test_short_notices_of_different_companies_stay_apart():
    """Session 12 found the learned verdict (learned-1) merging such notices on real wire data (e2e corpus: 23
    of the 33 edges it added to the rules' on 1,200 documents): its training sets had no notices this short.
    the trees since learned-2 were trained with the notices set too and keep them apart, as the rules do."""
    rows = [doc(f"n{i}", 0, [div, pay, f"Record {d} Reuter"], title=t) for i, (t, div, pay, d) in enumerate(NOTICES)]
    out = dedup_all(rows)
    assert all(out[r["doc_id"]]["canonical_doc_id"] == r["doc_id"] for r in rows)


@rules_only
def test_two_short_notices_are_not_judged_by_containment():
    """dedup-10: two dividend notices of one template, the same rate, other dates. Containment (2J / (1 + J)
    for texts of about equal length) lifted their Jaccard over the threshold; between two short texts it no
    longer counts. A trimmed copy of a longer story still matches by containment (the tests above)."""
    notices = [
        ("GENERAL WIDGETS <GW> SETS DIVIDEND", "ST. LOUIS, April 2 - Qtly div 25 cts vs 25 cts prior", "Pay May 15",
         "Record April 20 Reuter"),
        ("MELLON MORTGAGE TRUST <MMT> DIV", "NEW YORK, April 8 - Qtly div 25 cts vs 25 cts prior", "Payable May 6",
         "Record April 24 Reuter"),
        ("HOLLY CANDY CORP <HLC> SETS REGULAR DIVIDEND",
         "COLORADO SPRINGS, Colo., March 6 - Qtly div 25 cts vs 25 cts prior", "Pay March 31",
         "Record March 18 Reuter"),
    ]  # fmt: skip
    rows = [doc(f"n{i}", 0, [div, pay, rec], title=t) for i, (t, div, pay, rec) in enumerate(notices)]
    out = dedup_all(rows, rules())
    assert all(out[r["doc_id"]]["canonical_doc_id"] == r["doc_id"] for r in rows)
    # containment between short texts, as in dedup-9: the trust's notice joins the candy maker's
    assert dedup_all(rows, rules(containment_chars=0))["n1"]["canonical_doc_id"] == "n2"


def test_formulaic_openings_with_other_numbers_stay_apart(monkeypatch):
    """Two reports open with the same formula (same first figure, then others) and go on differently:
    they share only their lead, whose numbers differ; a prefix copy of one, with other text after it,
    keeps that one's lead numbers and joins it. (learned-2, dedup-11, scored the two reports 0.896 and 0.912
    against its cut of 0.90 and joined them; learned-7 keeps them apart.)"""
    s1 = [BOE.format(a="700", b="501", c="285", what="bills maturing in official hands", verb="drain some")]
    s2 = [BOE.format(a="700", b="546", c="285", what="maturing assistance and treasury bills", verb="drain")]
    rows = [
        doc("s1", 0, s1 + [paragraph(1000 + i, 40) for i in range(3)]),
        doc("s2", 1, s2 + [paragraph(1100 + i, 40) for i in range(3)]),
        doc("copy", 2, s1 + [paragraph(1200 + i, 40) for i in range(3)]),
    ]
    out = dedup_all(rows)
    assert out["copy"]["canonical_doc_id"] == "s1" and out["copy"]["method"] == "near"
    assert out["s2"]["canonical_doc_id"] == "s2"
    # the figure slots alone do not tell them apart (the test has teeth)
    monkeypatch.setattr("pipeline.dedup.figures.LEAD_NUMBERS", 0)
    assert dedup_all(rows, rules())["s2"]["canonical_doc_id"] == "s1"


def test_template_sibling_with_garbled_slot_words_stays_apart(monkeypatch):
    """Same words, two of three figures changed, and the words next to them garbled by OCR: no figure
    slot is shared with another number, but most numbers of each text are new to the other."""
    words = [paragraph(1300 + i, 30) for i in range(3)]
    one = ["The group acquired it for 150 mln dlrs in April 15 and sold it in 1987.", *words]
    two = ["The group aequired it for 150 mln dlrs in Aoril 36 ond sold it cn 7360.", *words]
    plain = ["The group acquired it for 150 mln dlrs in April 15 and sold it in 1987.", *words]
    rows = [doc("one", 0, one), doc("two", 1, two), doc("copy", 2, [ocr(p, 3) for p in plain])]
    out = dedup_all(rows)
    assert out["two"]["canonical_doc_id"] == "two"
    assert out["copy"]["canonical_doc_id"] == "one"  # noise alone does not make numbers new
    monkeypatch.setattr("pipeline.dedup.figures.NOVEL", 1.01)  # the rule off: merged (teeth)
    assert dedup_all(rows, rules())["two"]["canonical_doc_id"] == "one"


# ---------------------------------------------------------------- token sketch and verifier (dedup-4) ----
def _codes(text: str) -> list[int]:
    import numpy as np
    import pyarrow as pa

    from pipeline.dedup.tokens import token_sketch

    return np.frombuffer(token_sketch(pa.array([text]), 256, 1)[0].as_py(), dtype="<u2").tolist()


def test_token_sketch_marks_numbers_and_keeps_the_first_words():
    codes = _codes("the 3 bank 1 lent 150 mln 5ome")
    assert [c & 3 for c in codes] == [0, 1, 0, 1, 0, 3, 0, 0]  # "5ome" (OCR) is a word
    # a unit of <= 2 letters glued to >= 2 digits is a number (dedup-5): "800m", "10th"; not "8m", "12abc"
    assert [c & 3 for c in _codes("the 800m and 10th 8m 12abc")] == [0, 3, 0, 3, 0, 0]
    assert codes[1] != codes[3] and codes[0] != codes[2]  # one-digit numbers and words hash apart
    assert _codes("the 3 bank") == codes[:3]  # a word's hash does not depend on its neighbours
    assert len(_codes(" ".join(["word"] * 300))) == 256
    sig = compute_signatures(frame([doc("x", 0, [paragraph(1, 40)]), doc("y", 0, ["Short."])]))
    tok = dict(zip(sig["doc_id"], sig["tokens"], strict=True))
    assert len(tok["x"]) == 2 * 40 and tok["y"] is None  # no MinHash, never a candidate: no sketch


def _verify(a: str, b: str):
    import numpy as np
    import pyarrow as pa

    from pipeline.dedup.tokens import PAD_A, PAD_B, token_sketch, unpack, verify

    sk = token_sketch(pa.array([normalise(a), normalise(b)]), 256, 1).to_pylist()
    x, lx = unpack(sk[:1], 256, PAD_A)
    y, ly = unpack(sk[1:], 256, PAD_B)
    return [
        int(np.asarray(v)[0]) if i < 4 else float(np.asarray(v)[0])
        for i, v in enumerate(verify(x, lx, y, ly, band=6, ratio=0.6))
    ]


def test_verifier_on_sketches_narrower_than_its_band():
    """Batches are as wide as their longest sketch: a batch of 3-word sketches (narrower than the band
    of 6) is still scored, and matches like its words do."""
    import numpy as np
    import pyarrow as pa

    from pipeline.dedup.tokens import PAD_A, PAD_B, dense_prefix, token_sketch, unpack, verify

    texts = ["quarterly profit rose", "profit quarterly rose", "shares fell sharply"]
    sk = token_sketch(pa.array(texts), 256, 1).to_pylist()
    x, lx = unpack([sk[0], sk[0]], 3, PAD_A)
    y, ly = unpack([sk[1], sk[2]], 3, PAD_B)
    lm, matched, _, _, _ = verify(x, lx, y, ly, band=6, ratio=0.6)
    assert lm.tolist() == [3, 0] and matched.tolist() == [3, 0]  # the same words, moved; other words
    e, *_ = dense_prefix(x, lx, y, ly, band=6, window=8, least=5)
    assert np.asarray(e).tolist() == [0, 0]  # narrower than the window: no dense window


def test_verifier_matched_prefix_and_number_conflicts():
    story = " ".join(LONG)
    words = story.split(" ")
    kept = " ".join(words[:100])
    noisy_prefix = ocr(kept, 3) + " " + paragraph(1500, 200)
    lm, matched, checked, conflicts, tail = _verify(noisy_prefix, story)
    # the copied part (the prefix runs on while 60 % of it matches), then the appended text matches little
    assert 85 <= matched <= 110 and lm <= matched / 0.6 and tail < 0.35
    lm, *_ = _verify(paragraph(1600, 120), story)
    assert lm < 30  # unrelated text
    t1 = TRADE.format(a="1.2", m="March", b="300", c="4.5", d="12.3", e="2.1", f="11.1")
    t2 = TRADE.format(a="0.8", m="March", b="150", c="3.9", d="12.9", e="1.7", f="12.1")
    _, _, checked, conflicts, _ = _verify(t1, t2)
    assert checked >= 10 and conflicts >= 8  # same words, other figures
    _, _, checked, conflicts, _ = _verify(ocr(t1, 5, 0.05), t1)
    assert checked >= 6 and conflicts == 0  # noise garbles letters, not figures


@rules_only
def test_noisy_prefix_copy_is_confirmed_by_the_verifier():
    """A third of a story, OCR-garbled, then an outlet's own text: a candidate through the lead bands,
    confirmed by the token sketch (the copied words in order) when the lead's Jaccard estimate does not
    confirm it (``lead_threshold=0.99``: real leads of short stories share too little)."""
    story = [paragraph(1700 + i, 30) for i in range(6)]
    words = " ".join(story).split(" ")
    part = [ocr(" ".join(words[:60]), 11, 0.05) + ".", paragraph(1750, 40)]
    rows = [doc("full", 0, story), doc("part", 1, part), doc("other", 1, [paragraph(1760, 120)])]
    out = dedup_all(rows, rules(lead_threshold=0.99))
    assert out["part"]["canonical_doc_id"] == "full" and out["part"]["method"] == "near"
    assert out["other"]["canonical_doc_id"] == "other"
    off = rules(lead_threshold=0.99, token_count=0)
    assert dedup_all(rows, off)["part"]["canonical_doc_id"] == "part"  # teeth


def test_prefix_copy_with_other_figures_is_not_verified():
    """The same prefix with other figures (a template story cut short) is no copy: the verifier's number
    check rejects what its word match alone would accept."""
    fill = [paragraph(1800 + i, 30) for i in range(3)]
    t1 = TRADE.format(a="1.2", m="March", b="300", c="4.5", d="12.3", e="2.1", f="11.1").split("\n\n") + fill
    t2 = TRADE.format(a="0.8", m="March", b="150", c="3.9", d="12.9", e="1.7", f="12.1").split("\n\n")
    part = [ocr(p, 21, 0.05) for p in t2] + [paragraph(1850, 70), paragraph(1851, 70)]
    rows = [doc("t1", 0, t1), doc("t2_part", 1, part)]
    out = dedup_all(rows)
    assert out["t2_part"]["canonical_doc_id"] == "t2_part"
    loose = rules(template_guard=False, verify_conflicts=1.0)
    assert dedup_all(rows, loose)["t2_part"]["canonical_doc_id"] == "t1"  # teeth


def pseudo_words(seed: int, n: int) -> str:
    """Random letter strings: unrelated texts that share almost no shingles (unlike ``paragraph``)."""
    rng = random.Random(seed)
    letters = "abcdefghijklmnopqrstuvwxyz"
    return " ".join("".join(rng.choice(letters) for _ in range(rng.randint(2, 8))) for _ in range(n)) + "."


@rules_only
def test_lead_confirmed_template_story_is_vetoed_by_its_numbers():
    """Two reports sharing a formulaic opening with other figures, then unrelated text: their leads
    confirm the pair; the verifier's number check vetoes it (dedup-5), also without the figures guard."""
    fill = [pseudo_words(2000 + i, 60) for i in range(3)]
    other = [pseudo_words(2100 + i, 60) for i in range(3)]
    t1 = TRADE.format(a="1.2", m="March", b="300", c="4.5", d="12.3", e="2.1", f="11.1").split("\n\n") + fill
    t2 = TRADE.format(a="0.8", m="March", b="150", c="3.9", d="12.9", e="1.7", f="12.1").split("\n\n") + other
    rows = [doc("t1", 0, t1), doc("t2", 1, t2)]
    assert dedup_all(rows, rules(template_guard=False))["t2"]["canonical_doc_id"] == "t2"
    no_veto = rules(template_guard=False, veto_conflicts=0)
    assert dedup_all(rows, no_veto)["t2"]["canonical_doc_id"] == "t1"  # teeth
    # the same opening with the same figures is a prefix copy: not vetoed
    t1_copy = t1[:2] + other
    assert dedup_all([doc("t1", 0, t1), doc("c", 1, t1_copy)])["c"]["canonical_doc_id"] == "t1"


@rules_only
def test_verifier_only_sees_pairs_sharing_word_keys():
    """The verifier's gate: the noisy prefix copy of a story shares word keys of its first words; with
    more shared keys required than it has, it is not verified (and not found)."""
    story = [paragraph(1700 + i, 30) for i in range(6)]
    words = " ".join(story).split(" ")
    part = [ocr(" ".join(words[:60]), 11, 0.05) + ".", paragraph(1750, 40)]
    rows = [doc("full", 0, story), doc("part", 1, part)]
    assert dedup_all(rows, rules(lead_threshold=0.99))["part"]["canonical_doc_id"] == "full"
    gated = rules(lead_threshold=0.99, verify_keys=1000)
    assert dedup_all(rows, gated)["part"]["canonical_doc_id"] == "part"


def test_sibling_whose_figures_carry_units_is_not_verified():
    """Same words, other figures glued to their units ("800m", "1500m"): the figures guard rejects the
    pair and the verifier's number check must not accept it (it sees the figures as numbers)."""
    text = (
        "She was named athlete of 2004 in the vote after taking {a}m and {b}m gold in the games. Her world "
        "{c}m title followed a win in 1993. She also took the {a}m record, and the world named her athlete "
        "for 2004 and she thanked her coach and her family for their support over the years."
    )
    fill = [pseudo_words(2200 + i, 40) for i in range(2)]
    t1 = [text.format(a="800", b="1500", c="400"), *fill]
    t2 = [text.format(a="002", b="6652", c="529"), *fill]
    rows = [doc("t1", 0, t1), doc("t2", 1, t2)]
    assert dedup_all(rows)["t2"]["canonical_doc_id"] == "t2"
    assert dedup_all(rows, rules(template_guard=False))["t2"]["canonical_doc_id"] == "t1"  # teeth


def test_prefix_copy_is_judged_by_its_shared_part_not_by_the_appended_numbers():
    """Half a story (its figures are in the other half), then an outlet's brief with figures of its own:
    the whole-text figures rules call the two templates (no shared number, all new on both sides); the
    verifier sees a prefix copy, whose figures are judged as for a pair sharing only its lead."""
    story = [
        paragraph(2300, 40),
        paragraph(2301, 40),
        paragraph(2302, 40) + " Sales rose 12 pct to 345 mln dlrs and profit 67 mln.",
        paragraph(2303, 40) + " The 1986 figure was 789 mln dlrs.",
    ]
    copy = [story[0], story[1], pseudo_words(2310, 30) + " Output fell 41 pct to 566 tonnes in 1985, from 902 tonnes."]
    rows = [doc("full", 0, story), doc("copy", 1, copy)]
    assert dedup_all(rows)["copy"]["canonical_doc_id"] == "full"
    assert dedup_all(rows, rules(token_count=0))["copy"]["canonical_doc_id"] == "copy"  # teeth


def test_a_day_of_documents_too_short_for_any_band_is_unique():
    # "fine" has no shingles, so no band keys: the day must still get one cluster row per document
    out = dedup_all([doc("tiny", 0, ["fine"], title=""), doc("tiny2", 0, ["ok"], title="")])
    assert {k: v["method"] for k, v in out.items()} == {"tiny": "unique", "tiny2": "unique"}


# ---------------------------------------------------------------- dedup-6 ----
def _sketches(*texts: str):
    import pyarrow as pa

    from pipeline.dedup.tokens import PAD_A, PAD_B, token_sketch, unpack

    sk = token_sketch(pa.array([normalise(t) for t in texts]), 256, 1).to_pylist()
    x, lx = unpack(sk[:1], 256, PAD_A)
    y, ly = unpack(sk[1:2], 256, PAD_B)
    return x, lx, y, ly


def test_shared_numbers_counts_values_wherever_they_stand():
    import numpy as np

    from pipeline.dedup.tokens import shared_numbers

    t1 = TRADE.format(a="1.2", m="March", b="300", c="4.5", d="12.3", e="2.1", f="11.1")
    t2 = TRADE.format(a="0.8", m="March", b="150", c="3.9", d="12.9", e="1.7", f="12.1")
    first, second = t1.split("\n\n")
    moved = ocr(second + "\n\n" + first, 4, 0.05)  # paragraphs swapped, letters garbled
    for other, common in ((moved, 3), (t2, 1)):  # the copy keeps 300, 12 and 11; the sibling only 12
        x, lx, y, ly = _sketches(t1, other)
        ns, nt, nc = shared_numbers(x, lx, y, ly, np.minimum(lx, ly), 6)
        assert ns[0] == 3 and nt[0] == 3 and nc[0] == common


def test_dense_prefix_ends_where_the_copy_stops():
    """A prefix copy matches densely up to its cut, then its appended brief matches almost nothing: the
    dense end is the cut (the ratio-based matched prefix runs on), and only the numbers before it are
    checked (the brief's numbers find chance anchors in the original)."""
    from pipeline.dedup.tokens import dense_prefix, verify

    words = " ".join(LONG).split(" ")
    brief = pseudo_words(2400, 60) + " rose 55 pct said the bank " + pseudo_words(2401, 60)
    original = " ".join(words[:80]) + " rose 12 pct said the bank " + " ".join(words[80:])
    copy = ocr(" ".join(words[:80]), 5, 0.03) + " " + brief
    x, lx, y, ly = _sketches(copy, original)
    lm, *_ = verify(x, lx, y, ly, band=6, ratio=0.6)
    e, tail, chk, bad, *_ = dense_prefix(x, lx, y, ly, band=6, window=8, least=5)
    assert 70 <= e[0] <= 82 and lm[0] > e[0] + 20  # the ratio lets the matched prefix run into the brief
    assert tail[0] < 0.15 and bad[0] == 0
    # a continuation that is the same template with other words keeps matching: no early dense end
    x, lx, y, ly = _sketches(original.replace("rose 12", "rose 13"), original)
    e, tail, *_ = dense_prefix(x, lx, y, ly, band=6, window=8, least=5)
    assert e[0] >= min(lx[0], ly[0]) - 1


def test_same_numbers_wherever_they_stand():
    """``same_numbers``: a copy whose paragraphs were reordered and letters garbled keeps all its
    multi-digit numbers (its lead numbers and slot words differ); a template sibling has its own; too few
    numbers say nothing. End to end, the sibling stays apart and the copy is linked."""
    from pipeline.dedup.figures import same_numbers

    text = (
        "The bank said it bought {a} mln stg of bills in band one at {b} pct and {c} mln stg in band two.\n\n"
        "This brings its help so far today to {d} mln stg against a forecast shortage of {e} mln stg, "
        "and compares with {f} mln stg yesterday.\n\n"
        "The bank also said it would drain {g} mln stg from the market on Friday when bills mature."
    )
    first = text.format(a="226", b="97", c="117", d="343", e="350", f="415", g="180")
    other = text.format(a="114", b="97", c="228", d="512", e="600", f="415", g="95")
    paras = first.split("\n\n")
    moved = [ocr(p, 30 + i, 0.03) for i, p in enumerate([paras[2], paras[1], paras[0]])]
    few = ["The bank said it bought 226 mln stg of bills today. " + paragraph(2500, 30)]
    rows = [doc("orig", 0, paras), doc("scan", 1, moved), doc("sib", 2, other.split("\n\n")), doc("few", 3, few)]
    sig = compute_signatures(frame(rows))
    figures = sig.select(pl.int_range(pl.len(), dtype=pl.UInt32).alias("gid"), "figures")
    pairs = pl.DataFrame({"a": [0, 0, 0], "b": [1, 2, 3]}, schema={"a": pl.UInt32, "b": pl.UInt32})
    assert same_numbers(pairs, figures, least=3, share=0.9).to_list() == [True, False, False]
    assert same_numbers(pairs, figures, least=8, share=0.9).to_list() == [False, False, False]  # 7 numbers
    out = dedup_all(rows)
    assert out["scan"]["canonical_doc_id"] == "orig" and out["sib"]["canonical_doc_id"] == "sib"


def test_tail_vocabulary_tells_an_unrelated_brief_from_a_continuation():
    import numpy as np

    from pipeline.dedup.figures import _stop_words
    from pipeline.dedup.tokens import tail_vocabulary

    words = " ".join(LONG).split(" ")
    original = " ".join(words[:120])
    brief = pseudo_words(2600, 40)
    same_things = " ".join(words[30:70][::-1])  # other sentences about the same things
    for tail, low in ((brief, True), (same_things, False)):
        x, lx, y, ly = _sketches(" ".join(words[:30]) + " " + tail, original)
        nv, shared = tail_vocabulary(x, lx, y, ly, np.array([30]), _stop_words(1))
        assert nv[0] >= 5 and (shared[0] <= 0.1 * nv[0]) == low


def test_tail_vocabulary_counts_as_sets_do():
    """Against Python sets, on random sketches with repeats, numbers, stop words and padding: the distinct
    tail words of the shorter sketch after ``e`` and those its partner has after ``e``."""
    import numpy as np

    from pipeline.dedup.tokens import PAD_A, PAD_B, tail_vocabulary

    rng = np.random.default_rng(5)
    n, w = 300, 40
    vocab = (rng.integers(0, 1 << 14, 60) * 4).astype(np.int16)  # word codes: two low bits clear
    stop = vocab[:6].astype(np.int32)
    numbers = vocab[6:10] + 1  # (a number's code has a low bit set)
    pool = np.r_[vocab, numbers]
    la, lb = rng.integers(0, w + 1, n), rng.integers(0, w + 1, n)
    a = np.where(np.arange(w) < la[:, None], rng.choice(pool, (n, w)), PAD_A).astype(np.int16)
    b = np.where(np.arange(w) < lb[:, None], rng.choice(pool, (n, w)), PAD_B).astype(np.int16)
    e = rng.integers(0, w, n)
    nv, shared = tail_vocabulary(a, la, b, lb, e, stop)
    for i in range(n):
        (s, ls), (t, lt) = sorted([(a[i], la[i]), (b[i], lb[i])], key=lambda x: x[1])
        keep = {int(x) for x in s[e[i] : ls] if x % 4 == 0 and x not in stop}
        assert nv[i] == len(keep)
        assert shared[i] == len(keep & {int(x) for x in t[e[i] : lt]})
    assert nv.max() > 5 and shared.max() > 2 and (shared < nv).any()  # (the draw exercises both counts)


def test_dense_prefix_without_numbers_keeps_the_rest():
    """``numbers=False`` (the learned verdict when its model names no dense number count) leaves the dense
    end, tail rate and first-word matches as they are, and the four number counts at zero."""
    import numpy as np

    from pipeline.dedup.tokens import dense_prefix

    words = " ".join(LONG).split(" ")
    copy = ocr(" ".join(words[:80]), 5, 0.03) + " rose 55 pct " + pseudo_words(2400, 60)
    x, lx, y, ly = _sketches(copy, " ".join(words[:80]) + " rose 12 pct " + " ".join(words[80:]))
    full = dense_prefix(x, lx, y, ly, band=6, window=8, least=5)
    cheap = dense_prefix(x, lx, y, ly, band=6, window=8, least=5, numbers=False)
    for i in (0, 1, 7):  # e, tail rate, matches among the first words
        assert np.array_equal(full[i], cheap[i])
    assert full[2][0] > 0 and all(not c.any() for c in cheap[2:7])


@rules_only
def test_short_prefix_copy_without_numbers_is_linked_by_its_unrelated_tail():
    """26 words of a short story without figures (too few words for ``verify_words_unchecked``), then an
    outlet's own brief: linked because the copy starts with the story, matches it densely and then goes
    on with words the story never uses (not linked with the rule off: teeth). The other side, a
    continuation about the same things, is ``test_tail_vocabulary_tells_an_unrelated_brief_from_a_continuation``."""
    story = [pseudo_words(2700 + i, 30) for i in range(3)]
    words = " ".join(story).replace(".", "").split(" ")
    copy = [" ".join(words[:26]) + ".", pseudo_words(2710, 40)]
    rows = [doc("full", 0, story), doc("copy", 1, copy)]
    loose_lead = rules(lead_threshold=0.99)  # the lead alone must not decide
    assert dedup_all(rows, loose_lead)["copy"]["canonical_doc_id"] == "full"
    off = rules(lead_threshold=0.99, tail_vocabulary=0, rare_keys=0)  # (rarity would link it too)
    assert dedup_all(rows, off)["copy"]["canonical_doc_id"] == "copy"


def test_dense_prefix_counts_the_matches_of_the_first_words():
    """The tail rule needs the copy to start where its original starts (``START_MATCHES`` of the first 8
    words): two notices sharing a formulaic phrase after different names ("X corp said it filed ...")
    match densely, but not from their first words."""
    from pipeline.dedup.cluster import START_MATCHES
    from pipeline.dedup.tokens import dense_prefix

    story = [pseudo_words(2800 + i, 30) for i in range(3)]
    words = " ".join(story).replace(".", "").split(" ")
    named = pseudo_words(2810, 6).rstrip(".") + " " + " ".join(words[6:32]) + " " + pseudo_words(2811, 40)
    copy = ocr(" ".join(words[:32]), 3, 0.03) + " " + pseudo_words(2811, 40)
    for text, starts in ((named, False), (copy, True)):
        x, lx, y, ly = _sketches(text, " ".join(story))
        e, *_, start = dense_prefix(x, lx, y, ly, band=6, window=8, least=5)
        assert 28 <= e[0] <= 32 and (start[0] >= START_MATCHES) == starts


def test_longer_gap_counts_the_longer_texts_words_before_its_first_match():
    """``gap_t``: a formula sibling opens with another subject's name, so the longer text has words before
    its first match; a cut or garbled copy opens where its original does. On random sketches (first matches
    before and after the scan's first places, and none) it equals the whole comparison done with
    ``_hits`` in the longer text's direction."""
    import numpy as np

    from pipeline.dedup.pairs import _longer_gap
    from pipeline.dedup.tokens import PAD_A, PAD_B, _hits, _oriented

    story = [pseudo_words(2820 + i, 30) for i in range(3)]
    words = " ".join(story).replace(".", "").split(" ")
    sibling = "the " + pseudo_words(2830, 9).rstrip(".") + " " + " ".join(words[6:60])
    copy = ocr(" ".join(words[:40]), 3, 0.03) + " " + pseudo_words(2831, 40)
    gaps = [_longer_gap(*_sketches(text, " ".join(story)), 6)[0] for text in (sibling, copy)]
    assert gaps[0] >= 4 and gaps[1] == 0

    rng = np.random.default_rng(5)
    n, w, band = 300, 64, 3
    a, b = rng.integers(0, 4000, (n, w)) * 4, rng.integers(0, 4000, (n, w)) * 4
    la, lb = rng.integers(1, w + 1, n), rng.integers(1, w + 1, n)
    first = rng.integers(0, w, n)  # plant one shared word at a random place of b (in range of some a place)
    for i in np.flatnonzero(rng.random(n) < 0.8):
        b[i, first[i]] = a[i, min(first[i] + 1, w - 1)]
    a[np.arange(w) >= la[:, None]], b[np.arange(w) >= lb[:, None]] = PAD_A, PAD_B
    s, t, _ = _oriented(a, b, la, lb)
    lt = np.maximum(la, lb)
    hit = _hits(t, s, band) & (np.arange(w) < lt[:, None])
    want = np.where(hit.any(1), np.argmax(hit, 1), lt)
    got = _longer_gap(a, la, b, lb, band)
    assert (got > 24).any() and (got == lt).any() and (got < 24).any()
    assert np.array_equal(got, want)

    # the first pass looks past its 24 places: place 22 of the longer matches place 25 of the shorter, and
    # place 23 matches at 23 (a first pass cut at 24 on both sides would say 23)
    a = np.where(np.arange(64) < 60, np.arange(1, 65) * 4, PAD_A)[None, :]
    b = np.arange(1001, 1065)[None, :] * 4
    b[0, 22], b[0, 23] = a[0, 25], a[0, 23]
    assert _longer_gap(a, np.array([60]), b, np.array([64]), band)[0] == 22


def filing(name: str, seed: int, words: int) -> list[str]:
    """A formula story of company ``name`` (its subject named twice), going on with ``words`` words of its own."""
    return [
        f"{name} Corp said it filed with the Securities and Exchange Commission a registration statement "
        "covering a 75 mln dlr issue of convertible subordinated debentures due 2012.",
        f"Proceeds will be used for general corporate purposes and possible acquisitions, {name} said.",
        pseudo_words(seed, words),
    ]


def test_lead_names_are_the_leads_capitalised_words_that_recur():
    """Lead names: capitalised words of the first ``lead`` characters found twice or more in the text (case
    counts), lower-cased, in order of first occurrence; stored as sketch codes in ``^names=``, which the
    figures guard does not read."""
    import pyarrow as pa

    from pipeline.dedup.figures import template_conflicts
    from pipeline.dedup.text import normalised_frame
    from pipeline.dedup.tokens import token_sketch

    text = (
        "MTech Corp and Quorvex said the 3Com deal closed. "
        + pseudo_words(2840, 40)
        + " Zeller joined.\n\nMTech said Quorvex and Zeller agreed; the quorvex unit and 3Com rose 12 pct. Corp"
    )
    names = normalised_frame(frame([doc("x", 0, [text])]), names_lead=100)["names"].to_list()
    assert names == [["mtech", "corp", "quorvex"]]  # Zeller recurs but starts after 100 characters
    cut = doc("c", 0, ["Quorvex Corp said it filed", "Halbrook Inc said Halbrook and Quorvex agreed."])
    assert normalised_frame(frame([cut]), names_lead=100)["names"].to_list() == [["quorvex"]]  # first paragraph
    assert normalised_frame(frame([doc("x", 0, [text])]), names_lead=100, names_most=2)["names"][0].to_list() == [
        "mtech",
        "corp",
    ]
    sig = compute_signatures(frame([doc("x", 0, [text]), doc("y", 0, [text.replace("12 pct", "14 pct")])]))
    figs = sig["figures"].to_list()
    codes = token_sketch(pa.array(["mtech", "corp", "quorvex"]), 1, DedupConfig().seed).buffers()[2]
    import numpy as np

    want = ",".join(str(int(c)) for c in np.frombuffer(codes, "<u2"))
    assert f"^names={want} " in figs[0]
    figures = pl.DataFrame({"gid": [0, 1], "figures": figs})
    assert template_conflicts(pl.DataFrame({"a": [0], "b": [1]}), figures, tolerance=0.0).to_list() == [True]
    same = pl.DataFrame({"gid": [0, 1], "figures": [figs[0], figs[0].replace(want, "1,2,3")]})
    assert template_conflicts(pl.DataFrame({"a": [0], "b": [1]}), same, tolerance=0.0).to_list() == [False]


def test_name_misses_tell_a_formula_sibling_from_its_copies():
    """``NAMES``: a formula sibling's subject is missing from the story and the story's from it; a garbled
    or cut copy keeps its original's subject, so the fewer side's misses (``name_miss``) stay 0 even when
    noise garbles the name in the copy (then only ``name_miss_hi`` counts it). (A name misread alike in
    every place is a name of the copy's own: the trees weigh it with the rest of the noise.)"""
    import numpy as np

    from pipeline.dedup.pairs import _lead_names, _name_misses
    from pipeline.dedup.tokens import PAD_A, PAD_B, unpack

    story = filing("Quorvex", 2850, 40)
    texts = {"sibling": filing("Halbrook", 2851, 40), "cut": [story[0], pseudo_words(2852, 50)]}
    texts |= {f"ocr{k}": [ocr(p, 2860 + k, 0.05) for p in story] for k in range(12)}
    # the subject garbled in both places, not alike: the copy has no name of its own
    texts["misread"] = [story[0].replace("Quorvex", "Qu0rvex"), story[1].replace("Quorvex", "Quorvcx"), story[2]]
    rows = [doc("story", 0, story)] + [doc(k, 0, v) for k, v in texts.items()]
    sig = compute_signatures(frame(rows))
    figures = pl.DataFrame({"gid": np.arange(sig.height), "figures": sig["figures"]})
    other = np.arange(1, sig.height)
    na, nb = _lead_names(figures, np.zeros(other.size, np.int64), other)
    a, _ = unpack(sig["tokens"].to_list()[:1] * other.size, 256, PAD_A)
    b, _ = unpack(sig["tokens"].to_list()[1:], 256, PAD_B)
    got = _name_misses(na, a, nb, b)
    miss = dict(zip(sig["doc_id"][1:], got["name_miss"], strict=True))
    assert miss["sibling"] == 1 and got["name_n"][0] == 1
    assert all(v == 0 for k, v in miss.items() if k != "sibling"), {k: v for k, v in miss.items() if v}
    hi = dict(zip(sig["doc_id"][1:], got["name_miss_hi"], strict=True))
    assert hi["misread"] == 1 and hi["sibling"] == 1 and hi["cut"] == 0


def test_subject_check_keeps_a_formula_sibling_apart_and_its_copies_together(verdict: str):
    """dedup-15: two companies' filings of one formula, each going on with its own text (a partial copy's
    shape), are merged by the trees alone; the subject check (``name_veto``) parts them, and the story's
    cut copy and OCR copy stay with it."""
    if verdict == "rules":
        pytest.skip("the subject check is the learned verdict's")

    story = filing("Quorvex", 3000, 60)
    rows = [
        doc("story", 0, story),
        doc("sibling", 1, filing("Halbrook", 3100, 60)),
        doc("cut", 1, [*story[:2], pseudo_words(3200, 60)]),
        doc("ocr", 2, [ocr(p, 3300, 0.03) for p in story]),
    ]
    canon = {k: v["canonical_doc_id"] for k, v in dedup_all(rows, config()).items()}
    assert canon == {"story": "story", "sibling": "sibling", "cut": "story", "ocr": "story"}
    assert dedup_all(rows, config(name_veto=0.0))["sibling"]["canonical_doc_id"] == "story"  # teeth


@rules_only
def test_prefix_copy_cut_inside_the_lead_is_judged_by_its_own_numbers():
    """The copy keeps 28 words (with the story's first number) and its brief brings a number of its own
    into the first 250 characters: the leads' second numbers differ. The dense match ends at the cut, so
    the verifier's numbers of the shared part judge it, not the lead-number rule (teeth: with it)."""
    words = " ".join(pseudo_words(2900 + i, 30) for i in range(3)).replace(".", "").split(" ")
    words[10], words[34] = "1234", "5678"
    story = [" ".join(words[:45]) + ".", " ".join(words[45:]) + "."]
    copy = [" ".join(words[:28]) + ".", pseudo_words(2910, 3).rstrip(".") + " 77 " + pseudo_words(2911, 40)]
    rows = [doc("full", 0, story), doc("copy", 1, copy)]
    loose_lead = rules(lead_threshold=0.99)
    assert dedup_all(rows, loose_lead)["copy"]["canonical_doc_id"] == "full"
    strict = rules(lead_threshold=0.99, dense_own_numbers=False)
    assert dedup_all(rows, strict)["copy"]["canonical_doc_id"] == "copy"


def test_template_conflicts_slot_value_and_lead_rules():
    """The figures guard's rules on hand-made ``figures`` strings: other numbers in a shared slot conflict
    (a subset does not: a trimmed copy); with no shared slot, multi-digit numbers on both sides and none
    in common make a template pair; a lead-only pair compares its slots by both words and its leads'
    first numbers; a pair of texts without figures never conflicts."""
    import numpy as np

    from pipeline.dedup.figures import template_conflicts

    figures = pl.DataFrame(
        {
            "gid": [0, 1, 2, 3, 4, 5, 6, 7],
            "figures": [
                "profit_rose=12 sales_mln=40 ^lead=12,40",  # 0
                "profit_rose=12 ^lead=12",  # 1: a trimmed copy of 0 (a subset of its numbers)
                "profit_rose=15 sales_mln=41 ^lead=15,41",  # 2: a template sibling of 0 (other numbers)
                "quarter_up=12 year_down=40 ^lead=12,40",  # 3: no slot shared with 0, the same numbers
                "quarter_up=77 year_down=88 ^lead=77,88",  # 4: no slot shared with 0, other numbers
                "^lead=",  # 5: no figures
                "",  # 6: no figures at all
                "profit_x=12 y_mln=40 ^lead=12,41",  # 7: lead numbers start alike for one, not for two
            ],
        },
        schema={"gid": pl.UInt32, "figures": pl.String},
    )
    pairs = pl.DataFrame({"a": [0, 0, 0, 0, 5, 0], "b": [1, 2, 3, 4, 6, 7]}, schema={"a": pl.UInt32, "b": pl.UInt32})
    whole = template_conflicts(pairs, figures, tolerance=0.1).to_list()
    assert whole[:5] == [False, True, False, True, False]
    lead = np.array([False, False, False, False, False, True])
    assert template_conflicts(pairs, figures, tolerance=0.1, lead_only=lead).to_list()[5]  # 12,40 vs 12,41
    two = template_conflicts(pairs[5:], figures, tolerance=0.1, lead_only=np.array([True]))
    one = template_conflicts(
        pairs[5:],
        figures.with_columns(pl.col("figures").str.replace("12,41", "12")),
        tolerance=0.1,
        lead_only=np.array([True]),
    )
    assert two.to_list() == [True] and one.to_list() == [False]  # (the shorter lead decides how many)


def test_lead_novel_applies_the_new_numbers_rule_to_a_lead_only_pair():
    """A verified match reaching the end of both token sketches says nothing of what follows: a template
    sibling goes on alike with other figures. ``lead_novel`` adds the *new numbers* rule to the lead-only
    rules for such pairs (garbled slot words hide the other values from the slot rule)."""
    import numpy as np

    from pipeline.dedup.figures import template_conflicts

    figures = pl.DataFrame(
        {
            "gid": [0, 1],
            "figures": ["review_which=2011 an_employment=80 ^lead=", "in_terider=4353 towards_employment=71 ^lead="],
        },
        schema={"gid": pl.UInt32, "figures": pl.String},
    )
    pairs = pl.DataFrame({"a": [0], "b": [1]}, schema={"a": pl.UInt32, "b": pl.UInt32})
    lead = np.array([True])
    assert not template_conflicts(pairs, figures, tolerance=0.1, lead_only=lead)[0]
    assert template_conflicts(pairs, figures, tolerance=0.1, lead_only=lead, lead_novel=np.array([True]))[0]


# ---------------------------------------------------------------- word-key rarity (issue 19) ----
@rules_only
def test_rare_word_keys_link_a_short_prefix_copy_per_view():
    """A copy keeping only the first 22 words of a story (then an unrelated brief) is linked in a view
    where the story's word keys are rare, not in a view where other documents share them."""
    story = paragraph(1100, 70)
    head = " ".join(story.split(" ")[:22])
    rows = [
        doc("story", 0, [story]),
        doc("copy", 1, [head, pseudo_words(1101, 40)]),
        doc("copy_again", 3, [head, pseudo_words(1101, 40)]),  # the same text: one node with "copy"
    ]
    # on day 2, five texts with the story's first words in their middle: its keys are common in day 3's view
    fillers = [
        doc(f"f{i}", 2, [pseudo_words(1200 + i, 25).rstrip(".") + " " + head + " " + pseudo_words(1300 + i, 25)])
        for i in range(5)
    ]
    cfg = rules(window_days=5, rare_keys=2)
    out = dedup_all(rows + fillers, cfg)
    assert out["copy"]["canonical_doc_id"] == "story" and out["copy"]["method"] == "near"
    assert out["copy_again"]["canonical_doc_id"] == "copy"  # day 3: the keys are common, the copy stands alone
    assert all(out[f"f{i}"]["canonical_doc_id"] == f"f{i}" for i in range(5))
    # without the fillers day 3 links it too; without the rule neither day does
    assert dedup_all(rows, cfg)["copy_again"]["canonical_doc_id"] == "story"
    assert (
        dedup_all(rows + fillers, rules(window_days=5, rare_keys=2, rare_nodes=7))["copy_again"]["canonical_doc_id"]
        == "story"
    )
    off = dedup_all(rows + fillers, rules(window_days=5, rare_keys=0))
    assert off["copy"]["canonical_doc_id"] == "copy"
    # one day at a time (each day's window only): the same verdicts
    df = frame(rows + fillers)
    sig = compute_signatures(df, config=cfg)
    for d in sig["pub_date"].unique():
        lo, hi = window_bounds(d, window_days=cfg.window_days)
        day_out = deduplicate(
            sig.filter(pl.col("pub_date") == d), sig.filter(pl.col("pub_date").is_between(lo, hi)), config=cfg
        )
        for r in day_out.iter_rows(named=True):
            assert r["canonical_doc_id"] == out[r["doc_id"]]["canonical_doc_id"]


# ---------------------------------------------------------------- dedup-8 ----
def _rating_notice(r1: int, r2: int) -> list[str]:
    """A notice whose figures are two multi-digit numbers and two lone digits (a rating change)."""
    return [
        pseudo_words(3000, 12)
        + f" raised to baa {r1} from ba {r2} about 86 mln dlrs of debt "
        + pseudo_words(3001, 12),
        pseudo_words(3002, 25) + " with 28 outlets planned next year " + pseudo_words(3004, 10),
        pseudo_words(3003, 25),
    ]


def test_lone_digits_facing_other_digits_are_number_conflicts():
    """A template sibling differing only in lone digits ("Baa-3" / "Baa-2") has conflicts with
    ``digits``; a scan whose letters became digits ("5", "1" inside words) has none: a digit never
    faces another digit there."""
    import re

    from pipeline.dedup.tokens import verify

    text = "\n\n".join(_rating_notice(3, 1))
    sibling = "\n\n".join(_rating_notice(2, 6))
    scan = re.sub(r"([a-z]{2})s", r"\g<1>5", re.sub(r"([a-z]{2})l", r"\g<1>1", text, count=4), count=4)
    assert sum(ch.isdigit() for ch in scan) >= sum(ch.isdigit() for ch in text) + 6  # letters became digits
    for other, conflicts in ((sibling, 4), (scan, 0)):  # 2 digits, each way
        x, lx, y, ly = _sketches(text, other)
        _, _, chk, bad, _ = verify(x, lx, y, ly, band=6, ratio=0.6, digits=True)
        assert bad[0] == conflicts and chk[0] >= 4  # (and the multi-digit numbers, agreeing)
        _, _, _, bad, _ = verify(x, lx, y, ly, band=6, ratio=0.6, digits=False)
        assert bad[0] == 0


def test_sibling_differing_in_lone_digits_stays_apart():
    """End to end: the sibling shares every word and its two multi-digit numbers (too few for
    ``same_numbers``), so the verifier's number check decides; lone digits make it a template pair.
    A noisy scan of the notice is still linked; with ``digit_conflicts`` off the sibling is linked too
    (teeth)."""
    notice, sibling = _rating_notice(3, 1), _rating_notice(2, 6)
    scan = [ocr(p, 40 + i, 0.03) for i, p in enumerate(notice)]
    rows = [doc("notice", 0, notice), doc("sibling", 1, sibling), doc("scan", 2, scan)]
    out = dedup_all(rows)
    assert out["sibling"]["canonical_doc_id"] == "sibling" and out["scan"]["canonical_doc_id"] == "notice"
    off = dedup_all(rows, rules(digit_conflicts=False))
    assert off["sibling"]["canonical_doc_id"] == "notice"


def _report(sales: str, prior: str, profit: str, cts: str, before: str, outlook: str) -> list[str]:
    return [
        f"The company said third quarter sales rose to {sales} mln dlrs from {prior} mln a year earlier. "
        + paragraph(1, 20),
        paragraph(2, 30) + f" Net profit was {profit} mln dlrs, or {cts} cts a share, against {before} mln dlrs.",
        paragraph(3, 30) + f" It expects 1987 sales of about {outlook} mln dlrs.",
        paragraph(4, 30),
    ]


def test_garbled_copy_under_the_threshold_is_linked_by_its_numbers():
    """dedup-9: a scan too garbled for the MinHash threshold and the verifier, cut and extended, keeps every
    figure of what it copies: ``same_numbers`` links it (``same_evidence``). The same scan of a sibling with
    other figures stays apart."""
    original = _report("4,512", "3,977", "318", "142", "266", "17,250")
    sibling = _report("4,873", "3,102", "295", "131", "248", "16,900")

    def scan(paras: list[str]) -> list[str]:
        return [ocr(p, 0, 0.12) for p in paras[:3]] + [paragraph(9, 40)]

    out = dedup_all([doc("orig", 0, original), doc("scan", 1, scan(original))])
    assert out["scan"]["canonical_doc_id"] == "orig" and out["scan"]["similarity"] < DedupConfig().threshold
    dedup8 = dedup_all([doc("orig", 0, original), doc("scan", 1, scan(original))], rules(same_evidence=1.0))
    assert dedup8["scan"]["canonical_doc_id"] == "scan"
    out = dedup_all([doc("orig", 0, original), doc("sib", 1, scan(sibling))])
    assert out["sib"]["canonical_doc_id"] == "sib"


def test_learned_similarity_is_the_same_in_every_call(monkeypatch: pytest.MonkeyPatch):
    """Under the learned verdict a pair's reported similarity is one function of the pair: the closing call
    that reports a document against its canonical one (without shared-key counts, in the document's order)
    does not judge the pair again (no forest runs there), and gives the value of the hop that linked it."""
    from pipeline.dedup import cluster, verdict

    calls: list[tuple[bool, pl.DataFrame]] = []
    scored_in_closing: list[int] = []
    real, score = cluster._learned, verdict.Forest.score

    def spy(pairs: pl.DataFrame, *args: object) -> pl.DataFrame:
        calls.append(("nw" in pairs.columns, pairs))
        out = real(pairs, *args)  # type: ignore[arg-type]
        calls[-1] = (calls[-1][0], out)
        return out

    def counted(self: verdict.Forest, x):  # type: ignore[no-untyped-def]
        if not calls[-1][0]:
            scored_in_closing.append(len(x))
        return score(self, x)

    monkeypatch.setattr(cluster, "_learned", spy)
    monkeypatch.setattr(verdict.Forest, "score", counted)
    noisy = [ocr(p, 40 + i) for i, p in enumerate(LONG)]
    words = " ".join(LONG).split(" ")
    part = [" ".join(words[: int(0.4 * len(words))]), paragraph(1210, 60)]
    out = dedup_all([doc("orig", 0, LONG), doc("scan", 1, noisy), doc("part", 2, part)], rules(verdict="learned"))
    assert out["scan"]["canonical_doc_id"] == "orig" and out["part"]["canonical_doc_id"] == "orig"
    assert scored_in_closing == []

    def unordered(df: pl.DataFrame) -> pl.DataFrame:
        return df.select(pl.min_horizontal("a", "b").alias("x"), pl.max_horizontal("a", "b").alias("y"), "sim", "ok")

    hops = pl.concat([unordered(o) for has_nw, o in calls if has_nw]).filter("ok")
    closing = pl.concat([unordered(o) for has_nw, o in calls if not has_nw])
    both = hops.join(closing, on=["x", "y"], suffix="_closing")
    assert both.height == 2  # the scan and the partial copy are linked to the original directly
    assert both["sim"].to_list() == both["sim_closing"].to_list()


# ---------------------------------------------------------------- the consistency guard (option) ----
def test_consistency_guard_drops_a_weak_link_a_sure_duplicate_contradicts():
    from pipeline.dedup.cluster import _inconsistent

    # view 0: a = 1 (a story), a' = 2 (its garbled copy), b = 3 (a template sibling of a)
    def edges(*pairs: tuple[int, int, int]) -> pl.DataFrame:
        rows = [dict(v=v, gid=x, gid2=y, a=min(x, y), b=max(x, y)) for v, x, y in pairs]
        return pl.DataFrame(rows, schema={"v": pl.Int32, **dict.fromkeys(("gid", "gid2", "a", "b"), pl.UInt32)})

    def checked(*rows: tuple[int, int, float, bool, float]) -> pl.DataFrame:
        cols = ("a", "b", "sim", "ok", "score")
        return pl.DataFrame([dict(zip(cols, r, strict=True)) for r in rows]).with_columns(
            pl.col("a", "b").cast(pl.UInt32), pl.lit(False).alias("rare")
        )

    cfg = DedupConfig(consistency_below=0.95)
    sure, weak = (1, 2, 0.9, True, 0.999), (2, 3, 0.6, True, 0.92)
    dropped = _inconsistent(edges((0, 1, 2), (0, 2, 3)), checked(sure, weak, (1, 3, 0.8, False, 0.01)), cfg)
    assert dropped.rows() == [(0, 2, 3)]
    # no evidence: the sure duplicate's pair with the sibling was never judged, or was judged on less shared
    # text than the weak link (a cut copy), or the link is not weak, or the sure edge is in another view
    assert _inconsistent(edges((0, 1, 2), (0, 2, 3)), checked(sure, weak), cfg).height == 0
    low = checked(sure, weak, (1, 3, 0.5, False, 0.01))
    assert _inconsistent(edges((0, 1, 2), (0, 2, 3)), low, cfg).height == 0
    strong = checked(sure, (2, 3, 0.6, True, 0.97), (1, 3, 0.8, False, 0.01))
    assert _inconsistent(edges((0, 1, 2), (0, 2, 3)), strong, cfg).height == 0
    assert _inconsistent(edges((1, 1, 2), (0, 2, 3)), checked(sure, weak, (1, 3, 0.8, False, 0.01)), cfg).height == 0
    # either end of the weak link may have the sure duplicate
    flipped = checked((3, 4, 0.9, True, 0.999), weak, (2, 4, 0.7, False, 0.2))
    assert _inconsistent(edges((0, 3, 4), (0, 2, 3)), flipped, cfg).rows() == [(0, 2, 3)]


@pytest.mark.parametrize("window_days", [3, None])
def test_consistency_guard_keeps_the_cluster_semantics(window_days):
    # the guard on (the default) and off: the same order invariance and the same clusters on the mixed
    # corpus, where no link is weak and contradicted
    docs = _corpus()
    cfg = DedupConfig(window_days=window_days)
    assert cfg.consistency_below > 0
    days = sorted(docs)
    ref = _process(days, docs, cfg)
    assert _process(days[::-1], docs, cfg).equals(ref)
    assert ref.equals(_process(days, docs, DedupConfig(window_days=window_days, consistency_below=0.0)))
