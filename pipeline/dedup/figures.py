"""Template guard: do the figures of two texts disagree? (numbers, the words around them, the leads' first numbers)

Wire services publish template stories: the same sentences with other figures (a central bank's daily
operations, a company's quarterly results, a price report). Their texts are near-identical, so similarity
alone would merge them; their figures are not. :func:`template_conflicts` decides that per candidate pair from
each text's figures (``pipeline.dedup.text``); :func:`same_numbers` is the opposite signal (a copy keeps its
multi-digit numbers wherever its paragraphs moved). Used by :mod:`pipeline.dedup.cluster`'s confirmation.
"""

from __future__ import annotations

import functools

import numpy as np
import polars as pl
import pyarrow as pa

from pipeline.dedup.signatures import LEAD_TOKEN, MARK, _ranks
from pipeline.dedup.tokens import _distinct, token_sketch

NOVEL = 0.6  # whole-text pairs: a template pair when this share of each text's numbers is new to the other
LEAD_NUMBERS = 2  # lead-only pairs: how many of the leads' first numbers must agree
SAME_SHARE = 0.9  # same_numbers: share of each text's multi-digit numbers found in the other


def template_conflicts(
    pairs: pl.DataFrame,
    figures: pl.DataFrame,
    *,
    tolerance: float,
    lead_only: np.ndarray | None = None,
    lead_numbers: np.ndarray | None = None,
    lead_novel: np.ndarray | None = None,
) -> pl.Series:
    """Boolean per row of ``pairs`` (columns a, b): do the two texts' figures disagree?

    A *slot* is the word before or the word after a number (see ``pipeline.dedup.text``). A slot found in
    both texts where neither text's numbers there are a subset of the other's is a conflict; a pair is a
    template pair when conflicts exceed ``tolerance`` times the shared slots. Slots found in one text only
    (a trimmed or extended part, a slot garbled by noise) say nothing either way. When no slot is shared
    but both texts have multi-digit numbers, the pair is a template pair if no such number appears in
    both; and when each text has at least two multi-digit numbers and at least ``NOVEL`` of each text's
    are absent from the other, it is a template pair whatever the slots say (noise garbles the words of
    slots; a copy keeps most of its numbers). ``figures`` maps ``gid`` to the ``figures`` string.

    ``lead_only`` marks pairs that share their lead but not their whole text (a prefix copy followed by
    other text): the rest of each text is unrelated, so its numbers may fill common slots ("5 pct")
    with other values and need not be shared. For those pairs a slot is the word before *and* the word
    after the number together, and the no-shared-slot rule does not apply; instead the numbers of the
    two leads (the ``^lead=`` token, see ``pipeline.dedup.signatures``) must start alike: the first
    ``min(LEAD_NUMBERS, len_a, len_b)`` of them must be equal (a prefix copy keeps the numbers of its
    prefix, a template story with the same opening words has its own numbers from the first one).
    ``lead_numbers`` (default: all) says for which lead-only pairs this lead-number rule applies: not for
    prefix copies whose numbers the verifier checked on the shared part itself (a cut inside the lead,
    or a dateline in one text only, shifts the leads' numbers). ``lead_novel`` marks lead-only pairs to
    which the *new numbers* rule applies as well (a verified match that reaches the end of the token
    sketches: the texts may go on alike after it, as a template sibling's do with other figures).
    """
    n = pairs.height
    if n == 0:
        return pl.Series("pid", [], dtype=pl.Boolean)
    ga, gb = pairs["a"].to_numpy(), pairs["b"].to_numpy()
    lead = np.zeros(n, bool) if lead_only is None else np.asarray(lead_only, dtype=bool)
    numbers = np.ones(n, bool) if lead_numbers is None else np.asarray(lead_numbers, dtype=bool)
    novel = np.zeros(n, bool) if lead_novel is None else np.asarray(lead_novel, dtype=bool)
    # each text's figures are parsed once (not once per pair it is in), in polars; the pairs are then
    # compared on integer codes in numpy (slot and number strings coded, see ``_codes``)
    need = pl.Series(np.r_[ga, gb]).unique()
    fg = _Figures(figures.filter(pl.col("gid").is_in(need.implode())))
    ia, ib = fg.find(ga), fg.find(gb)

    n_shared, conflicts = slot_conflicts(fg, ia, ib, lead)
    slot_bad = (n_shared > 0) & (conflicts > n_shared * tolerance)

    # no slot in common (reworded or garbled context): figures on both sides, none of them shared
    # (single digits are left out here: OCR turns letters into them and they carry little)
    f1 = fg.f1
    ma, mb = (p * f1 + f for p, f in (fg.multi(ia), fg.multi(ib)))  # sorted, distinct
    na, nb = np.bincount(ma // f1, minlength=n), np.bincount(mb // f1, minlength=n)
    nc = np.bincount(np.intersect1d(ma, mb, assume_unique=True) // f1, minlength=n)
    value_bad = ~lead & (na > 0) & (nb > 0) & (n_shared == 0) & (nc == 0)

    # lead-only pairs: the lead is the text they share, so its numbers must start alike (a prefix copy
    # keeps the numbers of the prefix; a template story has other numbers from its first one)
    la, lb = fg.lead_len[ia], fg.lead_len[ib]
    m = np.minimum(la, lb)
    differ = (fg.lead0[ia] != fg.lead0[ib]) | ((m > 1) & (fg.lead1[ia] != fg.lead1[ib]))
    lead_bad = lead & numbers & (la >= 0) & (lb >= 0) & (m > 0) & differ

    # most numbers new on both sides (each has at least two): other figures in the same words, whose
    # slots noise has garbled (a copy keeps most of its numbers; extended copies add some)
    # (also for the lead-only pairs marked ``lead_novel``)
    novel_bad = (~lead | novel) & (na >= 2) & (nb >= 2) & ((na - nc) >= NOVEL * na) & ((nb - nc) >= NOVEL * nb)
    return pl.Series("pid", slot_bad | value_bad | lead_bad | novel_bad)


def slot_conflicts(fg: _Figures, ia: np.ndarray, ib: np.ndarray, lead: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per pair (texts ``ia[i]``, ``ib[i]`` of ``fg``): its shared slots, and how many of them conflict
    (neither text's numbers there a subset of the other's). ``lead`` picks the lead-only slot form."""
    n = ia.size
    # a slot is the word before or the word after a number ("worth 129 mln" fills "worth ." and ". mln");
    # per slot, the numbers found there in each text (lead-only pairs: both words together, see above).
    # Rows (pair, slot, number) of each side, distinct; (pair, slot) keys; numbers per key on each side
    pa_, sa, fa = fg.rows(ia, lead)
    pb_, sb, fb = fg.rows(ib, lead)
    s1 = int(max(sa.max(initial=0), sb.max(initial=0))) + 1
    ka, ca = _distinct(pa_ * s1 + sa, counts=True)
    kb, cb = _distinct(pb_ * s1 + sb, counts=True)
    shared, i_a, i_b = np.intersect1d(ka, kb, assume_unique=True, return_indices=True)
    # numbers found in a shared slot on both sides (a trimmed copy keeps a subset of a slot's numbers;
    # a template has other numbers there)
    f1 = fg.f1

    def in_shared(k: np.ndarray, f: np.ndarray) -> np.ndarray:  # distinct (shared slot index, number)
        j = np.minimum(np.searchsorted(shared, k), max(shared.size - 1, 0))
        ok = shared[j] == k if shared.size else np.zeros(k.size, bool)
        return np.sort(j[ok] * f1 + f[ok])

    common = np.intersect1d(in_shared(pa_ * s1 + sa, fa), in_shared(pb_ * s1 + sb, fb), assume_unique=True)
    cc = np.bincount(common // f1, minlength=shared.size)
    conflict = (cc < ca[i_a]) & (cc < cb[i_b])
    pid = shared // s1
    return np.bincount(pid, minlength=n), np.bincount(pid, weights=conflict, minlength=n)


def row_of(sorted_gids: np.ndarray, gids: np.ndarray) -> np.ndarray:
    """Index of each of ``gids`` in ``sorted_gids`` (``len(sorted_gids)`` for one not there)."""
    j = np.minimum(np.searchsorted(sorted_gids, gids), max(sorted_gids.size - 1, 0))
    found = sorted_gids[j] == gids if sorted_gids.size else np.zeros(gids.size, bool)
    return np.where(found, j, sorted_gids.size)


class _Figures:
    """The ``figures`` of some texts, parsed: per text its distinct (slot, number) tokens in both slot
    forms, its distinct multi-digit numbers, and its lead's first ``LEAD_NUMBERS`` numbers, as codes.

    Texts are addressed by their index in ``gids`` (sorted); ``find`` maps gids to it (``len(gids)``: a
    text without figures row, which has no tokens and no lead numbers).
    """

    def __init__(self, figs: pl.DataFrame) -> None:
        figs = figs.sort("gid")
        self.gids = figs["gid"].to_numpy()
        g = self.gids.size
        toks = (
            figs.select(pl.int_range(pl.len(), dtype=pl.Int64).alias("i"), pl.col("figures").str.split(" ").alias("t"))
            .explode("t")
            .filter(pl.col("t").is_not_null() & (pl.col("t") != "") & ~pl.col("t").str.starts_with(MARK))
            .select("i", pl.col("t").str.split_exact("=", 1).struct.rename_fields(["slot", "fig"]))
            .unnest("t")
            .unique()
        )
        ti, fcode = toks["i"].to_numpy(), _codes(toks["fig"])
        self.f1 = int(fcode.max(initial=-1)) + 1  # number codes are below it
        # slot codes: the split form codes the word before a number as 2c and the word after it as 2c + 1
        # (c: the word's code), the joint form the slot itself; the two texts of a pair use one form, so
        # codes need only agree within a form. Empty words and the empty joint slot "_" are no slots.
        words = toks.select(pl.col("slot").str.split_exact("_", 1).struct.rename_fields(["p", "n"])).unnest("slot")
        wp, wn = words["p"], words["n"]
        wcode = _codes(pl.concat([wp, wn]))
        keep_p = (wp.is_not_null() & (wp != "")).to_numpy()
        keep_n = (wn.is_not_null() & (wn != "")).to_numpy()
        keep_b = (toks["slot"] != "_").fill_null(False).to_numpy()
        m = toks.height
        rows = np.concatenate(
            [
                np.stack([ti, np.zeros(m, np.int64), 2 * wcode[:m], fcode])[:, keep_p],
                np.stack([ti, np.zeros(m, np.int64), 2 * wcode[m:] + 1, fcode])[:, keep_n],
                np.stack([ti, np.ones(m, np.int64), _codes(toks["slot"]), fcode])[:, keep_b],
            ],
            axis=1,
        )
        i, lead, sl, f = _distinct_rows(rows)
        self.form_s, self.form_f = sl, f
        self.form_at = np.searchsorted(i * 2 + lead, np.arange(2 * g + 3))  # rows of text i, form l: 2i + l
        multi = (toks["fig"].str.len_chars() > 1).fill_null(False).to_numpy()
        mi, self.multi_f = _distinct_rows(np.stack([ti[multi], fcode[multi]]))
        self.multi_at = np.searchsorted(mi, np.arange(g + 2))
        first = figs.select(
            pl.col("figures")
            .str.extract(rf"\{LEAD_TOKEN}=([0-9,]*)", 1)
            .str.split(",")
            .list.eval(pl.element().filter(pl.element() != ""))
            .list.head(LEAD_NUMBERS)
            .alias("x")
        )["x"]
        # (-1: no lead token, never compared; a text without figures row too)
        self.lead_len = np.r_[first.list.len().fill_null(-1).cast(pl.Int64).to_numpy(), -1]
        vals = pl.concat([first.list.get(0, null_on_oob=True), first.list.get(1, null_on_oob=True)])
        ranks = vals.rank("dense").fill_null(0).cast(pl.Int64).to_numpy()
        self.lead0, self.lead1 = np.r_[ranks[:g], 0], np.r_[ranks[g:], 0]

    def find(self, gids: np.ndarray) -> np.ndarray:
        return row_of(self.gids, gids)

    def rows(self, idx: np.ndarray, lead: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(pair, slot code, number code) of the texts ``idx`` of the pairs, in each pair's slot form."""
        k = 2 * idx + lead
        lo, hi = self.form_at[k], self.form_at[k + 1]
        cnt = hi - lo
        at = np.repeat(lo, cnt) + _ranks(cnt)
        return np.repeat(np.arange(idx.size, dtype=np.int64), cnt), self.form_s[at], self.form_f[at]

    def multi(self, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(pair, number code) of the distinct multi-digit numbers of the texts ``idx`` of the pairs, sorted."""
        lo, hi = self.multi_at[idx], self.multi_at[idx + 1]
        cnt = hi - lo
        at = np.repeat(lo, cnt) + _ranks(cnt)
        return np.repeat(np.arange(idx.size, dtype=np.int64), cnt), self.multi_f[at]


def _codes(x: pl.Series) -> np.ndarray:
    """Dense int64 codes of a column's values: equal values, equal codes (null has its own).

    By their 64-bit hash, when the hashes are as many as the values (no collision among them: then
    the codes are exact), else by rank.
    """
    h = x.hash(seed=0).to_numpy()
    order = np.argsort(h, kind="stable")
    hs = h[order]
    first = np.ones(hs.size, dtype=bool)
    np.not_equal(hs[1:], hs[:-1], out=first[1:])
    if int(first.sum()) != x.n_unique():
        return x.rank("dense").fill_null(0).cast(pl.Int64).to_numpy()
    codes = np.empty(hs.size, dtype=np.int64)
    codes[order] = np.cumsum(first) - 1
    return codes


def _distinct_rows(rows: np.ndarray) -> np.ndarray:
    """Distinct columns of a (k, n) int64 array, sorted by row 0, then row 1, ... (returned as rows)."""
    if rows.shape[1] == 0:
        return rows
    bits = [int(r.max()).bit_length() for r in rows]  # (codes are >= 0)
    if sum(bits) <= 62:  # one packed key: a sort of integers
        key = np.zeros(rows.shape[1], dtype=np.int64)
        for r, b in zip(rows, bits, strict=True):
            key = (key << b) | r
        key = _distinct(key)[0]
        out = np.empty((rows.shape[0], key.size), dtype=np.int64)
        for j in range(rows.shape[0] - 1, -1, -1):
            out[j] = key & ((1 << bits[j]) - 1)
            key = key >> bits[j]
        return out
    rows = rows[:, np.lexsort(rows[::-1])]
    first = np.ones(rows.shape[1], dtype=bool)
    first[1:] = (rows[:, 1:] != rows[:, :-1]).any(0)
    return rows[:, first]


# common function words: left out of the tail vocabulary comparison (``tail_vocabulary``)
STOP_WORDS = (
    "the a an of to in and for on at by with from said it its is was that as be has have will would which this "
    "were are or not but he she they their his after over than about also up more new"
)


@functools.cache
def _stop_words(seed: int) -> np.ndarray:
    """Token-sketch codes of ``STOP_WORDS`` (the sketch hashes words with the configuration's seed)."""
    sk = token_sketch(pa.array([STOP_WORDS]), 256, seed)[0].as_py()
    codes = np.frombuffer(sk, dtype="<u2").astype(np.int32)
    codes.setflags(write=False)  # cached: shared by every call
    return codes


def same_numbers(pairs: pl.DataFrame, figures: pl.DataFrame, *, least: int, share: float) -> pl.Series:
    """Boolean per row of ``pairs`` (columns a, b): do both texts have the same multi-digit numbers?

    Each text has at least ``least`` multi-digit numbers (occurrences) and at least ``share`` of each
    text's occurrences are matched by equal values in the other (as multisets: wherever they stand). A
    copy whose paragraphs were moved, or whose slot words noise garbled, keeps its numbers; a template
    story with the same words has its own values. ``figures`` maps ``gid`` to the ``figures`` string.
    """
    pairs = pairs.select("a", "b").with_row_index("pid")

    def values(side: str) -> pl.DataFrame:
        return (
            pairs.select("pid", side)
            .join(figures.rename({"gid": side}), on=side)
            .select("pid", pl.col("figures").str.split(" ").alias("t"))
            .explode("t")
            .filter(pl.col("t").is_not_null() & ~pl.col("t").str.starts_with(MARK))
            .select("pid", pl.col("t").str.split_exact("=", 1).struct.field("field_1").alias("fig"))
            .filter(pl.col("fig").str.len_chars() > 1)
            .group_by("pid", "fig")
            .len(side)
        )

    va, vb = values("a"), values("b")
    na = va.group_by("pid").agg(pl.col("a").sum().alias("na"))
    nb = vb.group_by("pid").agg(pl.col("b").sum().alias("nb"))
    nc = va.join(vb, on=["pid", "fig"]).group_by("pid").agg(pl.min_horizontal("a", "b").sum().alias("nc"))
    good = (
        na.join(nb, on="pid")
        .join(nc, on="pid")
        .filter(
            (pl.col("na") >= least)
            & (pl.col("nb") >= least)
            & (pl.col("nc") >= share * pl.col("na"))
            & (pl.col("nc") >= share * pl.col("nb"))
        )
    )
    return pairs["pid"].is_in(good["pid"].implode())
