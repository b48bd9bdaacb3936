"""Features of candidate pairs, for the learned verdict (``pipeline.dedup.verdict``).

Every feature is what the rules of ``cluster._confirm`` measure, as a number instead of a yes / no: the
MinHash estimates, the lengths, the verifier's matched prefix and number check, where its dense match
ends, the tail vocabulary and the figures (shared slots, conflicts, multi-digit numbers, the leads' first
numbers). Each is a function of the two texts only, taken in (smaller, larger) node order: node numbers
follow ``exact_hash``, so two texts have the same order in every view and for any input order, and a pair
gets one verdict everywhere. (Counts by side are by the shorter / longer text or by fewer / more numbers;
the verifier's features orient a pair by sketch length and fall back on the node order when lengths tie.)

Only the features a model names are computed (``features``), each group of them in one pass.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from pipeline.dedup.config import DedupConfig
from pipeline.dedup.figures import (
    NOVEL,
    SAME_SHARE,
    _Figures,
    _stop_words,
    row_of,
    same_numbers,
    slot_conflicts,
)
from pipeline.dedup.signatures import NAMES_TOKEN, _ranks
from pipeline.dedup.tokens import PAD_A, PAD_B, _hits, _oriented, dense_prefix, shared_numbers, tail_vocabulary, verify

if TYPE_CHECKING:
    from pipeline.dedup.cluster import _MinHashes

_CHUNK = 4096
_GAP_SCAN = 24  # places of the longer sketch ``_longer_gap`` compares before comparing a pair whole

# features by the pass that computes them
MINHASH = ("jw", "jl", "cont", "sim", "mh_ok", "log_short", "log_long", "len_ratio")
VERIFIER = ("ls", "lt", "lm", "lm_share", "matched", "matched_share", "vtail", "prefix_shaped")
NUMBER_CHECK = ("chk", "bad", "bad_rate")  # the verifier's number check (the costliest part: only when named)
NUMBERS_FROM = 20  # ... and only for pairs with a matched prefix of at least this many words (else 0)
MATCHES = ("first_hit", "word_hit", "num_hit", "n_num_s", "pos_eq", "pos_eq_num", "digit_only")
# words of the longer sketch before its first word found in the shorter (``first_hit`` is the shorter's): a
# formula sibling names another subject, so both texts open with words the other lacks; a copy, even a cut
# or garbled one, opens where its original does (dedup-14, session 18)
LEAD_GAP = ("gap_t",)
# a story's subject: the lead names (capitalised words of the lead that recur, ``pipeline.dedup.text``) of one
# text missing from the other's sketch, the fewer of the two sides' counts and the more, and the fewer names.
# A formula sibling's subject ("Micropolis ... Micropolis said") is missing from its sibling, and the
# sibling's from it; a copy, cut or garbled, keeps its original's subject, and noise that garbles the
# original's name in the copy leaves the copy no recurring name its original lacks (session 19)
NAMES = ("name_miss", "name_miss_hi", "name_n")
_NO_NAME = -18  # 0xFFEE: the padding of the names (low bits 10, like the sketch's padding: never a code)
DENSE = ("e", "e_share", "trate", "chk_e", "bad_e", "bad_e_rate", "start8", "dense_novel")
DENSE_NUMBERS = ("chk_e", "bad_e", "bad_e_rate", "dense_novel")  # (the costly part of the dense pass)
TAIL = ("nv", "nsh", "nsh_share")
PREFIX_NUMBERS = ("ns_l", "nt_l", "nc_l", "full_novel")
FIGURES = (
    "slots", "slot_conf", "slot_rate", "slots_j", "slot_conf_j", "n_lo", "n_hi", "nc", "new_lo",
    "new_hi", "lead_m", "lead_differ", "guard_whole", "guard_lead", "guard_lead_own",
)  # fmt: skip
OTHER = ("same_nums", "nw")
ALL = MINHASH + VERIFIER + NUMBER_CHECK + MATCHES + LEAD_GAP + NAMES + DENSE + TAIL + PREFIX_NUMBERS + FIGURES + OTHER


@dataclass(frozen=True)
class PairTexts:
    """What ``cluster._confirm`` already has for its pairs: the MinHash cache rows of each side, the
    texts' lengths, the slot match rates and the figures strings of the pairs' nodes."""

    pairs: pl.DataFrame  # a, b (and nw: shared word keys)
    figures: pl.DataFrame  # gid, figures (the pairs' nodes)
    row_a: np.ndarray
    row_b: np.ndarray
    len_a: np.ndarray
    len_b: np.ndarray
    jw: np.ndarray  # whole-text slot match rate
    lead: np.ndarray  # lead Jaccard estimate (0 when a text is shorter than the lead)
    sim: np.ndarray  # the rules' combined MinHash similarity


def features(p: PairTexts, mhs: _MinHashes, config: DedupConfig, names: tuple[str, ...]) -> np.ndarray:
    """(pairs x names) float64 matrix of the named features."""
    want = set(names)
    unknown = want - set(ALL)
    if unknown:
        raise ValueError(f"unknown pair features: {sorted(unknown)}")
    n = p.pairs.height
    f: dict[str, np.ndarray] = {}
    lo = np.maximum(np.minimum(p.len_a, p.len_b), 1).astype(float)
    hi = np.maximum(np.maximum(p.len_a, p.len_b), 1).astype(float)
    f |= dict(
        jw=p.jw,
        jl=p.lead,
        cont=np.minimum(1.0, p.jw * (1 + hi / lo) / (1 + p.jw)),
        sim=p.sim,
        mh_ok=(p.sim >= config.threshold).astype(float),
        log_short=np.log(lo),
        log_long=np.log(hi),
        len_ratio=hi / lo,
    )
    if want & set(VERIFIER + NUMBER_CHECK + MATCHES + LEAD_GAP + DENSE + TAIL + PREFIX_NUMBERS):
        f |= _token_features(p, mhs, config, want)
    if want & set(NAMES):
        f |= _name_features(p, mhs, config)
    if want & set(FIGURES):
        f |= _figure_features(p, config)
    if "same_nums" in want:
        f["same_nums"] = same_numbers(p.pairs, p.figures, least=config.same_numbers, share=SAME_SHARE).to_numpy()
    if "nw" in want:
        f["nw"] = p.pairs["nw"].to_numpy() if "nw" in p.pairs.columns else np.zeros(n)
    return np.column_stack([np.asarray(f[x], dtype=np.float64) for x in names]) if names else np.zeros((n, 0))


def _token_features(p: PairTexts, mhs: _MinHashes, config: DedupConfig, want: set[str]) -> dict[str, np.ndarray]:
    """Verifier, dense part, tail vocabulary and prefix numbers, in chunks of pairs of similar width."""
    n = p.row_a.size
    w = config.token_count
    band = config.verify_band
    dense_on = bool(want & set(DENSE + TAIL))
    token_groups = VERIFIER + NUMBER_CHECK + MATCHES + LEAD_GAP + DENSE + TAIL + PREFIX_NUMBERS
    out = {x: np.zeros(n) for x in token_groups if x in want}
    # (a matched prefix longer than any sketch: no pair's numbers are checked)
    numbers_from = NUMBERS_FROM if want & set(NUMBER_CHECK) else w + 1
    for at, a, la, b, lb in _chunks(p, mhs, w):
        hits: list[np.ndarray] = []
        lm, matched, chk, bad, vtail = verify(
            a,
            la,
            b,
            lb,
            band=band,
            ratio=config.verify_ratio,
            min_words=numbers_from,
            hits=hits,
            digits=config.digit_conflicts,
        )
        ls, lt = np.minimum(la, lb), np.maximum(la, lb)
        vals: dict[str, np.ndarray] = dict(
            ls=ls,
            lt=lt,
            lm=lm,
            lm_share=lm / np.maximum(ls, 1),
            matched=matched,
            matched_share=matched / np.maximum(ls, 1),
            vtail=vtail,
            prefix_shaped=((lm < ls) | (ls < w)).astype(float),
            chk=chk,
            bad=bad,
            bad_rate=bad / np.maximum(chk, 1),
        )
        if want & set(MATCHES):
            vals |= _matches(a, la, b, lb, hits[0])
        if "gap_t" in want:
            vals["gap_t"] = _longer_gap(a, la, b, lb, band)
        if dense_on:
            e, trate, chk_e, bad_e, ns, nt, nc, start = dense_prefix(
                a,
                la,
                b,
                lb,
                band=band,
                window=8,
                least=5,
                hit=hits[0],
                digits=config.digit_conflicts,
                numbers=bool(want & set(DENSE_NUMBERS)),
            )
            vals |= dict(
                e=e,
                e_share=e / np.maximum(ls, 1),
                trate=trate,
                chk_e=chk_e,
                bad_e=bad_e,
                bad_e_rate=bad_e / np.maximum(chk_e, 1),
                start8=start,
                dense_novel=_novel(ns, nt, nc),
            )
            if want & set(TAIL):
                nv, nsh = tail_vocabulary(a, la, b, lb, e, _stop_words(config.seed))
                vals |= dict(nv=nv, nsh=nsh, nsh_share=nsh / np.maximum(nv, 1))
        if want & set(PREFIX_NUMBERS):
            ns_l, nt_l, nc_l = shared_numbers(a, la, b, lb, lm, band)
            vals |= dict(ns_l=ns_l, nt_l=nt_l, nc_l=nc_l, full_novel=_novel(ns_l, nt_l, nc_l))
        for name in out:
            out[name][at] = vals[name]
    return out


def _chunks(p: PairTexts, mhs: _MinHashes, words: int) -> Iterator[tuple[np.ndarray, ...]]:
    """The pairs in chunks of similar width: (pair indices, sketches a, their lengths, sketches b, lengths),
    each side padded to the chunk's widest sketch (at most ``words``)."""
    cap = np.minimum(mhs.words, words)
    width = np.maximum(cap[p.row_a], cap[p.row_b])
    order = np.argsort(width, kind="stable")
    for s in range(0, p.row_a.size, _CHUNK):
        at = order[s : s + _CHUNK]
        wc = max(int(width[at].max()), 1)
        a, la = mhs.unpack(p.row_a[at], wc, PAD_A)
        b, lb = mhs.unpack(p.row_b[at], wc, PAD_B)
        yield at, a, la, b, lb


def _matches(a: np.ndarray, la: np.ndarray, b: np.ndarray, lb: np.ndarray, hit: np.ndarray) -> dict[str, np.ndarray]:
    """Where the shorter sketch's words and numbers find the longer's (``hit``: verify's matches, same
    orientation): the first match, the share of its words and of its numbers matched, and the share
    matched at the very same position (a copy keeps its place, a rewrite shifts)."""
    st, tt, ls = _oriented(a, b, la, lb)
    valid = np.arange(st.shape[1]) < ls[:, None]
    kind = st & 3
    words, numbers = (kind == 0) & valid, (kind == 3) & valid
    anyhit = hit & valid
    same = (st == tt) & valid
    n_words, n_numbers = words.sum(1), numbers.sum(1)
    word_hit = (hit & words).sum(1) / np.maximum(n_words, 1)
    num_hit = (hit & numbers).sum(1) / np.maximum(n_numbers, 1)
    return dict(
        first_hit=np.where(anyhit.any(1), np.argmax(anyhit, 1), ls),
        word_hit=word_hit,
        num_hit=num_hit,
        n_num_s=n_numbers,
        pos_eq=same.sum(1) / np.maximum(ls, 1),
        pos_eq_num=(same & numbers).sum(1) / np.maximum(n_numbers, 1),
        # the words agree (>= 90 % of the shorter's found) but its multi-digit numbers do not
        digit_only=((word_hit >= 0.9) & (n_numbers >= 2) & (num_hit <= 0.5)).astype(float),
    )


def _longer_gap(a: np.ndarray, la: np.ndarray, b: np.ndarray, lb: np.ndarray, band: int) -> np.ndarray:
    """Words of the longer sketch before its first word that the shorter has within ``band`` places (its
    length when none). Most pairs match early, so the first ``_GAP_SCAN`` places are compared first (with
    the ``band`` places after them that they can match) and only the pairs with no match there whole.
    (Padding never matches: ``_oriented``.)"""
    s, t, _ = _oriented(a, b, la, lb)
    gap = np.maximum(la, lb).astype(float)  # (no match)
    k = min(t.shape[1], _GAP_SCAN)
    hit = _hits(t[:, : k + band], s[:, : k + band], band)[:, :k]
    found = hit.any(1)
    gap[found] = np.argmax(hit[found], 1)
    rest = np.flatnonzero(~found)
    if rest.size and k < t.shape[1]:
        hit = _hits(t[rest], s[rest], band)
        found = hit.any(1)
        gap[rest[found]] = np.argmax(hit[found], 1)
    return gap


def _name_features(p: PairTexts, mhs: _MinHashes, config: DedupConfig) -> dict[str, np.ndarray]:
    """``NAMES``, in chunks of pairs of similar width (the sketches only: no verifier)."""
    n = p.row_a.size
    out = {x: np.zeros(n) for x in NAMES}
    names_a, names_b = _lead_names(p.figures, p.pairs["a"].to_numpy(), p.pairs["b"].to_numpy())
    for at, a, _, b, _ in _chunks(p, mhs, config.token_count):
        for name, v in _name_misses(names_a[at], a, names_b[at], b).items():
            out[name][at] = v
    return out


def _lead_names(figures: pl.DataFrame, *gids: np.ndarray) -> list[np.ndarray]:
    """Per array of ``gids``: (len(gids) x most names) int16 sketch codes of the texts' lead names (the
    ``^names=`` token of ``figures``, see ``pipeline.dedup.signatures``), ``_NO_NAME`` after them and for a
    text without any. (Only these texts' figures are parsed: ``figures`` holds every node of a call.)"""
    need = pl.Series(np.concatenate(gids)).unique().implode()
    at = (
        figures.filter(pl.col("gid").is_in(need))
        .sort("gid")
        .select(
            "gid",
            pl.col("figures")
            .str.extract(rf"\{NAMES_TOKEN}=([0-9,]*)", 1)
            .str.split(",")
            .list.eval(pl.element().filter(pl.element() != "").cast(pl.Int64))
            .fill_null([])
            .alias("c"),
        )
    )
    lens = at["c"].list.len().to_numpy().astype(np.int64)
    codes = np.full((at.height + 1, max(int(lens.max(initial=0)), 1)), _NO_NAME, dtype=np.int16)  # (last: not found)
    flat = at["c"].explode().drop_nulls().to_numpy().astype(np.uint16).view(np.int16)
    if flat.size:
        codes[np.repeat(np.arange(at.height), lens), _ranks(lens)] = flat
    return [codes[row_of(at["gid"].to_numpy(), g)] for g in gids]


def _name_misses(na: np.ndarray, a: np.ndarray, nb: np.ndarray, b: np.ndarray) -> dict[str, np.ndarray]:
    """``NAMES`` of pairs: each side's lead names ``na`` / ``nb`` looked for in the other side's sketch."""
    miss_a = ((na != _NO_NAME) & ~(na[:, :, None] == b[:, None, :]).any(2)).sum(1)
    miss_b = ((nb != _NO_NAME) & ~(nb[:, :, None] == a[:, None, :]).any(2)).sum(1)
    count_a, count_b = (na != _NO_NAME).sum(1), (nb != _NO_NAME).sum(1)
    return dict(
        name_miss=np.minimum(miss_a, miss_b),
        name_miss_hi=np.maximum(miss_a, miss_b),
        name_n=np.minimum(count_a, count_b),
    )


def _novel(ns: np.ndarray, nt: np.ndarray, nc: np.ndarray) -> np.ndarray:
    """Most numbers new on both sides (each has at least two): the template rule ``figures.NOVEL``."""
    return ((ns >= 2) & (nt >= 2) & (ns - nc >= NOVEL * ns) & (nt - nc >= NOVEL * nt)).astype(float)


def _figure_features(p: PairTexts, config: DedupConfig) -> dict[str, np.ndarray]:
    """The figures guard's counts (see ``figures.template_conflicts``) in both slot forms, and its verdicts
    as a whole-text pair, as a lead-only pair and as a lead-only pair without the lead-number rule."""
    ga, gb = p.pairs["a"].to_numpy(), p.pairs["b"].to_numpy()
    n = ga.size
    # only these pairs' texts are parsed (``p.figures`` holds every node of the call, most of them in pairs
    # an earlier stage rejected); codes are compared for equality only, so fewer texts code alike
    fg = _Figures(p.figures.filter(pl.col("gid").is_in(pl.Series(np.r_[ga, gb]).unique().implode())))
    ia, ib = fg.find(ga), fg.find(gb)
    out: dict[str, np.ndarray] = {}
    for suffix, lead in (("", np.zeros(n, bool)), ("_j", np.ones(n, bool))):
        slots, conflicts = slot_conflicts(fg, ia, ib, lead)
        out["slots" + suffix], out["slot_conf" + suffix] = slots.astype(float), conflicts
    out["slot_rate"] = out["slot_conf"] / np.maximum(out["slots"], 1)
    ma, mb = (q * fg.f1 + v for q, v in (fg.multi(ia), fg.multi(ib)))
    na, nb = np.bincount(ma // fg.f1, minlength=n), np.bincount(mb // fg.f1, minlength=n)
    nc = np.bincount(np.intersect1d(ma, mb, assume_unique=True) // fg.f1, minlength=n)
    few, many = np.minimum(na, nb), np.maximum(na, nb)
    out |= dict(
        n_lo=few,
        n_hi=many,
        nc=nc,
        new_lo=(few - nc) / np.maximum(few, 1),
        new_hi=(many - nc) / np.maximum(many, 1),
    )
    la, lb = fg.lead_len[ia], fg.lead_len[ib]
    m = np.minimum(la, lb)
    differ = (fg.lead0[ia] != fg.lead0[ib]) | ((m > 1) & (fg.lead1[ia] != fg.lead1[ib]))
    lead_differ = (la >= 0) & (lb >= 0) & (m > 0) & differ
    out["lead_m"], out["lead_differ"] = m, lead_differ.astype(float)
    # the guard's own verdicts (template_conflicts), from the same counts
    tol = config.figure_tolerance
    whole_bad = (out["slots"] > 0) & (out["slot_conf"] > out["slots"] * tol)
    joint_bad = (out["slots_j"] > 0) & (out["slot_conf_j"] > out["slots_j"] * tol)
    value_bad = (na > 0) & (nb > 0) & (out["slots"] == 0) & (nc == 0)
    novel_bad = _novel(na, nb, nc).astype(bool)
    out["guard_whole"] = (whole_bad | value_bad | novel_bad).astype(float)
    out["guard_lead"] = (joint_bad | lead_differ).astype(float)
    out["guard_lead_own"] = joint_bad.astype(float)
    return out
