"""Cross-day clustering: band join, confirmation, template guard, connected components, canonical choice.

Definition of the result for a day ``D`` (a pure function of the signatures dated in ``[D - w, D]``):

* documents with the same ``exact_hash`` form one *node* (exact duplicates, method ``exact``);
* the *view* of ``D`` holds the nodes with a document dated in ``[D - w, D]`` (``w = window_days``;
  undated documents only see undated ones);
* hop 1: the nodes of ``D``'s documents are band-joined (join on band hash, which encodes the band index)
  against every node of the view; hop ``h + 1`` does the same for the nodes first reached at hop ``h``
  (``max_hops``, default 2: a day's copy of ``y`` also meets ``y``'s own older duplicate ``z``);
* a candidate pair is an edge when its estimated similarity reaches ``threshold`` and the figures agree
  (template guard, ``template_conflicts`` in :mod:`pipeline.dedup.figures`), or, with the learned verdict,
  when the trees accept it and the subject check does not part it (each text repeats a name of its first
  paragraph that the other lacks, with little else shared: ``_name_veto``); an accepted pair they are not
  sure of is no edge when a sure duplicate of one of its texts was judged different from the other (the
  consistency guard, ``_inconsistent``);
* a cluster is a connected component of these edges; its canonical document is the first of its view
  documents by (earliest ``pub_datetime``, longest normalised text, smallest ``doc_id``), and
  ``cluster_id`` is the canonical ``doc_id``.

So clusters of two days agree whenever the chain that links them lies within both windows and within
``max_hops`` of each day; a chain longer than that may give a later day an intermediate canonical.
Cost: candidate pairs, confirmation and components scale with the day (and the documents it reaches);
the window costs one linear pass (read without its MinHash column, order, exact groups, band table) and
one semi-join probe per hop; MinHash rows are read only for candidates.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import date, timedelta

import numpy as np
import polars as pl

from pipeline.dedup import figures, verdict
from pipeline.dedup.config import DedupConfig
from pipeline.dedup.figures import SAME_SHARE, _stop_words, same_numbers, template_conflicts
from pipeline.dedup.pairs import PairTexts
from pipeline.dedup.pairs import features as pair_features
from pipeline.dedup.signatures import band_rows
from pipeline.dedup.tokens import (
    PAD_A,
    PAD_B,
    dense_prefix,
    gather,
    shared_numbers,
    sketch_codes,
    tail_vocabulary,
    verify,
)
from pipeline.schema import DUPLICATES, SIGNATURES, unpack_le

_UNDATED = -(10**6)  # day number standing for a null pub_date
_EPOCH = date(1970, 1, 1)
START_MATCHES = 4  # tail_vocabulary: matched words among the first 8 (the copy starts where its original does)
DENSE_REST = 5  # dense_tail: words of a full sketch after the dense end (a tail, not the end of the sketch)
TAIL_WORDS = 5  # tail_vocabulary: distinct words of the shorter text's tail needed
_VERIFY_CHUNK = 8_192  # pairs per verifier batch (bounds its (pairs, words) matrices; 20k was slower: cache)
_KEY_CHUNK = 400_000  # frontier (node, band hash) rows per pair-building join: bounds hot buckets
_SCORE_CHUNK = 4_096  # pairs per slot comparison (its (pairs, slots) temporaries stay in cache: ~1.6x faster than 50k)


def window_bounds(day: date, *, window_days: int | None) -> tuple[date | None, date]:
    """First and last date (both inclusive) whose signatures the result for ``day`` depends on.

    ``None`` as the first date means unlimited (every earlier partition).
    """
    return (None if window_days is None else day - timedelta(days=window_days)), day


def affected_days(day: date, *, known_days: Iterable[date], window_days: int | None) -> list[date]:
    """Later days whose duplicates must be recomputed when ``day``'s signatures change.

    Those are the known days ``d`` with ``day < d <= day + window_days`` (every later day when unlimited);
    ``day`` itself is not included.
    """
    last = None if window_days is None else day + timedelta(days=window_days)
    return sorted({d for d in known_days if d > day and (last is None or d <= last)})


def _daynum(col: str = "pub_date") -> pl.Expr:
    return (pl.col(col) - pl.lit(_EPOCH)).dt.total_days().cast(pl.Int32).fill_null(_UNDATED)


def _view_lo(v: pl.Expr, window_days: int | None) -> pl.Expr:
    lo = pl.lit(_UNDATED + 1) if window_days is None else v - window_days
    return pl.when(v == _UNDATED).then(pl.lit(_UNDATED)).otherwise(lo)


def _in_view(d: str, v: str, window_days: int | None) -> pl.Expr:
    return (pl.col(d) >= _view_lo(pl.col(v), window_days)) & (pl.col(d) <= pl.col(v))


class _MinHashes:
    """MinHash rows and token sketches of exact-group representatives, read on demand and cached.

    The window's MinHash and token columns are the bulk of its bytes and only candidates need them, so
    they are read (from the LazyFrame, with a doc_id filter) for the groups a hop actually confirms.
    Rows are appended in the order they are read and found through a dense gid -> row index (gids are
    ranks): no sorted copy of the cache. The MinHash rows are packed uint32 (``pipeline.schema.pack_le``):
    a read views their bytes, with no list levels to decode.
    """

    def __init__(self, day: pl.DataFrame, window: pl.LazyFrame, reps: pl.DataFrame, k: int) -> None:
        self.day, self.window, self.reps, self.k = day, window, reps, k
        self.pos = np.full(int(np.max(reps["gid"].to_numpy(), initial=0)) + 1, -1, dtype=np.int64)
        self.rows = np.zeros((0, k), dtype=np.uint32)
        # token sketches of the rows, concatenated (int16 views of the codes): row i's are
        # codes[starts[i] : starts[i] + words[i]] (no per-sketch Python objects to join per batch)
        self.codes = np.zeros(0, dtype=np.int16)
        self.starts = np.zeros(0, dtype=np.int64)
        self.words = np.zeros(0, dtype=np.int64)

    def index(self, gids: np.ndarray) -> np.ndarray:
        """Row of each gid in ``rows`` / ``tokens`` (reading the ones not cached yet)."""
        missing = gids[self.pos[gids] < 0]
        if missing.size:
            want = self.reps.filter(pl.col("gid").is_in(pl.Series(missing).implode()))
            ids = want["doc_id"].implode()
            cols = ("doc_id", "minhash", "tokens")
            found = pl.concat(
                [
                    self.day.filter(pl.col("doc_id").is_in(ids)).select(cols),
                    self.window.filter(pl.col("doc_id").is_in(ids)).select(cols).collect(),
                ]
            ).unique("doc_id", keep="first")
            gid = found.select("doc_id").join(want, on="doc_id", how="left", maintain_order="left")["gid"]
            mh = unpack_le(found["minhash"].to_arrow(), np.uint32)[0].reshape(found.height, self.k)
            codes, starts, words = sketch_codes(found["tokens"].to_arrow())
            self.pos[gid.to_numpy()] = np.arange(len(self.rows), len(self.rows) + found.height)
            self.rows = np.concatenate([self.rows, mh]) if len(self.rows) else mh
            self.starts = np.concatenate([self.starts, starts + self.codes.size])
            self.codes = np.concatenate([self.codes, codes])
            self.words = np.concatenate([self.words, words])
        return self.pos[gids]

    def unpack(self, rows: np.ndarray, width: int, pad: int) -> tuple[np.ndarray, np.ndarray]:
        """The sketches of cache rows ``rows`` as ``tokens.unpack`` gives them."""
        return gather(self.codes, self.starts[rows], self.words[rows], width, pad)


def pair_scores(
    mh_a: np.ndarray, mh_b: np.ndarray, len_a: np.ndarray, len_b: np.ndarray, *, config: DedupConfig
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Whole-text similarity (Jaccard, or containment, see config), lead Jaccard and whole-text Jaccard."""
    k = config.num_perm - config.lead_perm
    j = np.empty(mh_a.shape[0])
    jl = np.zeros(mh_a.shape[0])
    for s in range(0, j.size, _SCORE_CHUNK):
        _match_rates(mh_a[s : s + _SCORE_CHUNK] == mh_b[s : s + _SCORE_CHUNK], k, j, jl, s)
    whole, lead = _scores(j, jl, len_a, len_b, config)
    return whole, lead, j


def _match_rates(eq: np.ndarray, k: int, whole: np.ndarray, lead: np.ndarray, at: int) -> None:
    """Share of equal slots among the first ``k`` (into ``whole``) and the rest (into ``lead``), from row ``at``.

    (Integer counts over the slot count: the same floats as ``eq.mean(1)``, without a float pass.)
    """
    whole[at : at + eq.shape[0]] = eq[:, :k].sum(1, dtype=np.int32) / k
    if eq.shape[1] > k:
        lead[at : at + eq.shape[0]] = eq[:, k:].sum(1, dtype=np.int32) / (eq.shape[1] - k)


def _scores(
    j: np.ndarray, jl: np.ndarray, len_a: np.ndarray, len_b: np.ndarray, config: DedupConfig
) -> tuple[np.ndarray, np.ndarray]:
    """Whole-text similarity and lead Jaccard from the slot match rates (see ``pair_scores``)."""
    if config.containment:
        lo = np.maximum(np.minimum(len_a, len_b), 1).astype(float)
        ratio = np.maximum(len_a, len_b) / lo
        cont = np.minimum(1.0, j * (1 + ratio) / (1 + j))
        # not between two short texts (notices of one template); the trees learned on containment everywhere
        floor = config.containment_chars if config.verdict == "rules" else 0
        j = np.where((j >= config.min_jaccard) & (np.maximum(len_a, len_b) >= floor), np.maximum(j, cont), j)
    if config.lead_perm:
        jl = np.where(np.minimum(len_a, len_b) >= config.lead_chars, jl, 0.0)
    return j, jl


def pair_similarity(
    mh_a: np.ndarray, mh_b: np.ndarray, len_a: np.ndarray, len_b: np.ndarray, *, config: DedupConfig
) -> np.ndarray:
    """Estimated similarity of aligned signature rows: the whole-text similarity, or the lead's Jaccard
    when both texts are longer than the lead and it reaches ``lead_threshold`` (shifted so that
    ``lead_threshold`` maps to ``threshold``)."""
    j, jl, _ = pair_scores(mh_a, mh_b, len_a, len_b, config=config)
    return _combine(j, jl, config)


def _combine(whole: np.ndarray, lead: np.ndarray, config: DedupConfig) -> np.ndarray:
    shifted = np.where(lead >= config.lead_threshold, config.threshold + lead - config.lead_threshold, 0.0)
    return np.maximum(whole, np.minimum(shifted, 1.0))


def _confirm(
    pairs: pl.DataFrame, groups: pl.DataFrame, mhs: _MinHashes, config: DedupConfig, *, rare: bool = False
) -> pl.DataFrame:
    """Similarity and verdict of node pairs ``(a, b)``: columns a, b, sim, ok.

    A pair is a duplicate when its MinHash similarity reaches the threshold and the figures agree (the
    ``figures`` guard, and the verifier's number check when it has one), or when the second-stage
    verifier (``pipeline.dedup.tokens``) finds a long enough matched prefix: its number check then
    decides when it has ``verify_numbers`` numbers and the shared part lies inside the sketches, else
    the ``figures`` guard (as for a pair sharing only its lead). Since dedup-6 also: a MinHash-similar
    pair with the same multi-digit numbers (``same_numbers``); a verified pair whose whole sketches match
    with agreeing numbers (``verify_full``); and a prefix copy recognised by where its dense match ends
    (``dense_tail``: numbers checked in the dense part only; ``tail_vocabulary``: no numbers, but a tail
    unrelated to the original's continuation), the last two judged by the lead-only ``figures`` rules.
    """
    if pairs.height == 0:
        return pairs.select("a", "b").with_columns(
            pl.lit(0.0).alias("sim"), pl.lit(False).alias("ok"), pl.lit(False).alias("rare"), pl.lit(0.0).alias("score")
        )
    # pairs whose shared word keys are rare in a view: the relaxed thresholds (see _relaxed), and the
    # tail after a dense part without numbers must match little of the original (rare_tail)
    tail_rate = 1.0
    if rare:
        config, tail_rate = _relaxed(config), config.rare_tail
    need = pl.concat([pairs["a"], pairs["b"]]).unique()
    sub = groups.filter(pl.col("gid").is_in(need.implode())).sort("gid")
    gids = sub["gid"].to_numpy()
    rows = mhs.index(gids)
    tl = sub["text_len"].to_numpy()
    at = np.zeros(int(gids.max()) + 1, dtype=np.int64)  # index of each gid in `gids` (a lookup, not a search)
    at[gids] = np.arange(gids.size)
    ia, ib = at[pairs["a"].to_numpy()], at[pairs["b"].to_numpy()]
    # slot match rates in chunks (the pairs' MinHash rows are never materialised whole)
    k = config.num_perm - config.lead_perm
    jw, jl = np.empty(ia.size), np.zeros(ia.size)
    for s in range(0, ia.size, _SCORE_CHUNK):
        ra, rb = rows[ia[s : s + _SCORE_CHUNK]], rows[ib[s : s + _SCORE_CHUNK]]
        _match_rates(np.take(mhs.rows, ra, axis=0) == np.take(mhs.rows, rb, axis=0), k, jw, jl, s)
    whole, lead = _scores(jw, jl, tl[ia], tl[ib], config)
    sim = _combine(whole, lead, config)
    if config.verdict == "learned":
        return _learned(pairs, sub, mhs, config, rows[ia], rows[ib], tl[ia], tl[ib], jw, lead, sim)
    mh_ok = sim >= config.threshold
    n = pairs.height
    guard = np.zeros(n, dtype=bool)
    if config.template_guard:
        guard = _guard(pairs, np.flatnonzero(mh_ok), sub, whole, config)
    ok = mh_ok & ~guard
    if config.token_count and config.veto_conflicts:
        # pairs the MinHash confirms only by containment or by their leads (whole-text Jaccard under the
        # threshold): vetoed when most of their checked numbers conflict (a template story sharing a
        # formulaic part; a copy keeps its figures)
        weak = np.flatnonzero(ok & (jw < config.threshold))
        if weak.size:
            w = config.token_count
            for s in range(0, weak.size, _VERIFY_CHUNK):
                part = weak[s : s + _VERIFY_CHUNK]
                a, la = mhs.unpack(rows[ia[part]], w, PAD_A)
                b, lb = mhs.unpack(rows[ib[part]], w, PAD_B)
                _, _, chk, bad, _ = verify(
                    a, la, b, lb, band=config.verify_band, ratio=config.verify_ratio, digits=config.digit_conflicts
                )
                ok[part[(chk >= config.verify_numbers) & (bad >= config.veto_conflicts * chk)]] = False
    verified_sim = np.zeros(n)  # the verifier's matched share, for the pairs it looked at
    if config.same_numbers:
        # MinHash-similar pairs with the same multi-digit numbers, wherever they stand (a moved paragraph
        # reorders the lead's numbers; noise garbles the slot words), are duplicates
        redo = np.flatnonzero(mh_ok & ~ok)
        if redo.size:
            same = same_numbers(
                pairs[redo], sub.select("gid", "figures"), least=config.same_numbers, share=SAME_SHARE
            ).to_numpy()
            ok[redo[same]] = True
    if config.token_count:
        # second stage: pairs the MinHash and figures did not confirm, with some MinHash evidence (a
        # Jaccard estimate of the whole texts or of the leads; random band collisions are skipped)
        idx = np.flatnonzero(~ok & (np.maximum(jw, jl) >= config.verify_evidence))
        if config.verify_keys and config.key_ngram and "nw" in pairs.columns:
            # the verifier looks for a matched prefix from the start: a pair sharing no word key of
            # its first words has none (the candidate pairs carry their count of shared word keys)
            idx = idx[pairs["nw"].to_numpy()[idx] >= config.verify_keys]
        v_ok = np.zeros(idx.size, dtype=bool)
        v_decides = np.zeros(idx.size, dtype=bool)
        v_prefix = np.zeros(idx.size, dtype=bool)
        v_dense = np.zeros(idx.size, dtype=bool)  # confirmed by where the dense match ends (dense_tail)
        v_full = np.zeros(idx.size, dtype=bool)  # whole sketches matched (verify_full)
        v_sim = np.zeros(idx.size)
        w = config.token_count
        # pairs in order of their longer sketch: each batch's matrices are only as wide as its longest
        words = np.minimum(mhs.words[rows], w)
        width = np.maximum(words[ia[idx]], words[ib[idx]])
        order = np.argsort(width, kind="stable")
        idx, width = idx[order], width[order]
        for s in range(0, idx.size, _VERIFY_CHUNK):
            sl = slice(s, s + _VERIFY_CHUNK)
            wc = max(int(width[sl].max()), 1)
            a, la = mhs.unpack(rows[ia[idx[sl]]], wc, PAD_A)
            b, lb = mhs.unpack(rows[ib[idx[sl]]], wc, PAD_B)
            hits: list[np.ndarray] = []
            lm, matched, chk, bad, _ = verify(
                a,
                la,
                b,
                lb,
                band=config.verify_band,
                ratio=config.verify_ratio,
                min_words=config.verify_words,
                min_share=config.verify_share,
                hits=hits,
                digits=config.digit_conflicts,
            )
            short = np.minimum(la, lb)
            v_prefix[sl] = (lm < short) | (short < w)  # the shared part ends inside the sketches
            checked = v_prefix[sl] & (chk >= config.verify_numbers)  # ... and its numbers were checked
            # the whole sketches match (the shared part may end after them: a long prefix copy, whose
            # figures after the cut say nothing): with checked numbers that agree, and the multi-digit
            # numbers of the sketches mostly shared (a template sibling's garbled anchors hide its other
            # values from the number check, not from this count), judged as a prefix copy
            full = ~v_prefix[sl] & (chk >= config.verify_numbers) & (bad <= config.verify_conflicts * chk)
            if config.verify_full and full.any():
                ns, nt, nc = shared_numbers(a[full], la[full], b[full], lb[full], lm[full], config.verify_band)
                novel = (ns >= 2) & (nt >= 2) & (ns - nc >= figures.NOVEL * ns) & (nt - nc >= figures.NOVEL * nt)
                full[np.flatnonzero(full)[novel]] = False
                v_prefix[sl] |= full
                v_full[sl] |= full
            else:
                full[:] = False
            # a prefix-shaped pair with a few conflicts (chance anchors of its appended text's numbers)
            # is left to the figures guard; more conflicts, or any beyond verify_conflicts elsewhere, reject
            guarded = max(config.verify_conflicts_guarded, config.verify_conflicts)
            tol = np.where(v_prefix[sl], guarded, config.verify_conflicts)
            long_enough = lm >= np.maximum(config.verify_words, config.verify_share * short)
            v_ok[sl] = long_enough & (bad <= tol * chk) & (checked | full | (lm >= config.verify_words_unchecked))
            if config.dense_tail:  # (0 disables tail_vocabulary too)
                # a partial copy matches densely up to its cut, then its tail (an unrelated brief) matches
                # nothing of the original: only the numbers of the densely matched part say anything
                # (the brief's numbers find chance anchors); another version of a template keeps matching
                # after its formulaic opening, with other values (every pair the number check does not
                # decide: those the old rules accept are marked too, for the lead-number rule below)
                part = np.flatnonzero(long_enough & ~(v_ok[sl] & checked & (bad <= config.verify_conflicts * chk)))
                if part.size:
                    e, trate, chk_e, bad_e, ns, nt, nc, start = dense_prefix(
                        a[part],
                        la[part],
                        b[part],
                        lb[part],
                        band=config.verify_band,
                        window=8,
                        least=5,
                        hit=hits[0][part],  # the same pairs, the same orientation: verify's matches
                        digits=config.digit_conflicts,
                    )
                    novel = (ns >= 2) & (nt >= 2) & (ns - nc >= figures.NOVEL * ns) & (nt - nc >= figures.NOVEL * nt)
                    checked_e = (chk_e >= config.verify_numbers) & (bad_e <= config.verify_conflicts * chk_e)
                    # a dense part that reaches the end of a full sketch says nothing of what follows it
                    # (a template sibling goes on alike, with other figures): a tail is needed there
                    ends = (short[part] < w) | (e < short[part] - DENSE_REST)
                    dense = (e >= config.verify_words) & (trate <= config.dense_tail) & checked_e & ~novel & ends
                    if config.tail_vocabulary:
                        # no numbers to check: the shorter text goes on after the dense end with words the
                        # longer one's continuation does not have (an unrelated brief after a partial
                        # copy; a formulaic opening goes on about the same things)
                        nv, nsh = tail_vocabulary(a[part], la[part], b[part], lb[part], e, _stop_words(config.seed))
                        dense |= (
                            (e >= config.dense_words_unchecked)
                            & (chk_e < config.verify_numbers)
                            & (bad_e == 0)
                            & ~novel
                            & (start >= START_MATCHES)
                            & (nv >= TAIL_WORDS)
                            & (nsh <= config.tail_vocabulary * nv)
                            & (trate <= tail_rate)
                        )
                    v_ok[sl][part[dense]] = True
                    v_prefix[sl][part[dense]] = True
                    v_dense[sl][part[dense]] = True
            v_decides[sl] = v_ok[sl] & checked & (bad <= config.verify_conflicts * chk)
            v_sim[sl] = matched / np.maximum(short, 1)
        if config.template_guard:
            # the figures decide the rest: a prefix copy by the rules of a pair sharing only its lead
            # (the texts after the shared part are unrelated: their numbers say nothing), else as whole texts
            rest = v_ok & ~v_decides
            as_lead = whole.copy()
            # (-1: as a pair sharing its lead, without the lead-number rule: the verifier checked the
            # numbers of the dense part itself)
            dense_rule = -1.0 if config.dense_own_numbers else 0.0
            as_lead[idx[rest]] = np.where(v_prefix[rest], np.where(v_dense[rest], dense_rule, 0.0), 1.0)
            novel = np.zeros(pairs.height, dtype=bool)
            novel[idx[rest]] = v_full[rest] & ~v_dense[rest]
            v_ok[rest] = ~_guard(pairs, idx[rest], sub, as_lead, config, novel)[idx[rest]]
        ok[idx[v_ok]] = True
        sim[idx[v_ok]] = np.maximum(sim[idx[v_ok]], v_sim[v_ok])
        verified_sim[idx] = v_sim
    if config.same_numbers and config.same_evidence < 1.0:
        # what is still rejected with some MinHash evidence but the same multi-digit numbers (a cut,
        # garbled or extended copy under the threshold keeps its figures; a template sibling does not)
        late = np.flatnonzero(~ok & ~mh_ok & (np.maximum(jw, jl) >= config.same_evidence))
        if late.size:
            same = late[
                same_numbers(
                    pairs[late], sub.select("gid", "figures"), least=config.same_numbers, share=SAME_SHARE
                ).to_numpy()
            ]
            ok[same] = True
            sim[same] = np.maximum(sim[same], verified_sim[same])
    # rejected pairs the word-key rarity rule may still link (per view: see deduplicate, _rare_pairs)
    retry = np.zeros(n, dtype=bool)
    if _rare_on(config) and "nw" in pairs.columns:
        retry = ~ok & (np.maximum(jw, jl) >= config.rare_evidence) & (pairs["nw"].to_numpy() >= config.rare_keys)
    return pairs.select("a", "b").with_columns(
        pl.Series("sim", sim), pl.Series("ok", ok), pl.Series("rare", retry), pl.Series("score", ok.astype(float))
    )


def _learned(
    pairs: pl.DataFrame,
    sub: pl.DataFrame,
    mhs: _MinHashes,
    config: DedupConfig,
    row_a: np.ndarray,
    row_b: np.ndarray,
    len_a: np.ndarray,
    len_b: np.ndarray,
    jw: np.ndarray,
    lead: np.ndarray,
    sim: np.ndarray,
) -> pl.DataFrame:
    """``_confirm`` with the learned verdict (``pipeline.dedup.verdict``): pairs with some MinHash evidence
    pass the screen's cheap look (and the triage's), then the model's; an accepted pair's similarity is at
    least the share of the shorter text the verifier matched. The closing call of ``deduplicate`` (pairs without ``nw``:
    a document and its canonical one, judged already) asks for that similarity only."""
    v = verdict.load()
    ok = np.zeros(pairs.height, dtype=bool)
    score = np.zeros(pairs.height)  # the model's probability (0 for pairs an earlier stage rejected)
    # each pair's texts in (smaller, larger) node order, as the hops give them: the features that orient a
    # pair by sketch length fall back on this order when the lengths tie
    ga, gb = pairs["a"].to_numpy(), pairs["b"].to_numpy()
    swap = ga > gb
    row_a, row_b = np.where(swap, row_b, row_a), np.where(swap, row_a, row_b)
    len_a, len_b = np.where(swap, len_b, len_a), np.where(swap, len_a, len_b)
    ordered = pairs.with_columns(
        pl.Series("a", np.where(swap, gb, ga), dtype=pairs["a"].dtype),
        pl.Series("b", np.where(swap, ga, gb), dtype=pairs["b"].dtype),
    )

    def texts(at: np.ndarray) -> PairTexts:
        return PairTexts(
            pairs=ordered[at],
            figures=sub.select("gid", "figures"),
            row_a=row_a[at],
            row_b=row_b[at],
            len_a=len_a[at],
            len_b=len_b[at],
            jw=jw[at],
            lead=lead[at],
            sim=sim[at],
        )

    if "nw" not in pairs.columns:
        share = pair_features(texts(np.arange(pairs.height)), mhs, config, ("matched_share",))[:, 0]
        return pairs.select("a", "b").with_columns(
            pl.Series("sim", np.maximum(sim, share)),
            pl.Series("ok", ok),
            pl.lit(False).alias("rare"),
            pl.lit(0.0).alias("score"),
        )
    nw = pairs["nw"].to_numpy()
    look = np.flatnonzero(v.looks_at(evidence=np.maximum(jw, lead), keys=nw, similar=sim >= config.threshold))

    for stage, stage_cut in v.stages:
        if look.size:
            cheap = pair_features(texts(look), mhs, config, stage.features)
            look = look[stage.score(cheap) >= stage_cut]
    if look.size:
        x = pair_features(texts(look), mhs, config, v.model.features)
        score[look] = v.model.score(x)
        ok[look] = score[look] >= v.cut
        if config.name_veto > 0 and ok[look].any():
            _name_veto(look[ok[look]], x[ok[look]], v.model.features, texts, mhs, config, ok, score)
        if "matched_share" in v.model.features:
            share = x[:, v.model.features.index("matched_share")]
            sim[look] = np.where(ok[look], np.maximum(sim[look], share), sim[look])
    return pairs.select("a", "b").with_columns(
        pl.Series("sim", sim), pl.Series("ok", ok), pl.lit(False).alias("rare"), pl.Series("score", score)
    )


def _name_veto(
    acc: np.ndarray,
    x: np.ndarray,
    names: tuple[str, ...],
    texts: Callable[[np.ndarray], PairTexts],
    mhs: _MinHashes,
    config: DedupConfig,
    ok: np.ndarray,
    score: np.ndarray,
) -> None:
    """The subject check (``DedupConfig.name_veto``) on the pairs ``acc`` the trees accepted (``x``: their
    features ``names``): the vetoed ones become rejected pairs with score 0, in ``ok`` and ``score``."""
    if "word_hit" in names:
        hit = x[:, names.index("word_hit")]
    else:
        hit = pair_features(texts(acc), mhs, config, ("word_hit",))[:, 0]
    miss = pair_features(texts(acc), mhs, config, ("name_miss",))[:, 0]
    veto = acc[(miss >= 1) & (hit < config.name_veto)]
    ok[veto], score[veto] = False, 0.0


def _rare_on(config: DedupConfig) -> bool:
    return config.verdict == "rules" and bool(config.rare_keys and config.token_count and config.key_ngram)


def _relaxed(config: DedupConfig) -> DedupConfig:
    """The verifier thresholds for pairs whose shared word keys are rare in the view (``rare_keys``)."""
    return replace(
        config,
        verify_words=min(config.verify_words, config.rare_words),
        dense_words_unchecked=min(config.dense_words_unchecked, config.rare_dense_unchecked),
        verify_evidence=min(config.verify_evidence, config.rare_evidence),
        verify_conflicts_guarded=config.verify_conflicts,  # no tolerance for chance anchors either
        rare_keys=0,
    )


def _rare_pairs(maybe: pl.DataFrame, keys: pl.DataFrame, presence: pl.DataFrame, config: DedupConfig) -> pl.DataFrame:
    """Rows ``(v, a, b)`` of ``maybe`` whose nodes share at least ``rare_keys`` word keys (``keys``: gid, key)
    each held by at most ``rare_nodes`` nodes present in view ``v`` (a pure function of the view's documents)."""
    # the keys of each node pair (view-free), then per view; only the pairs' own nodes' key rows are joined
    ab = maybe.select("a", "b").unique()
    mine = keys.filter(pl.col("gid").is_in(pl.concat([ab["a"], ab["b"]]).unique().implode()))
    both = ab.join(mine.rename({"gid": "a"}), on="a").join(mine.rename({"gid": "b"}), on=["b", "key"])
    shared = maybe.join(both, on=["a", "b"])
    if shared.height == 0:
        return maybe.select("v", "a", "b").clear()
    held = keys.filter(pl.col("key").is_in(shared["key"].unique().implode())).join(presence, on="gid")
    # a key held by at most rare_nodes nodes of the whole frame is rare in each of its views
    total = held.group_by("key").agg(pl.col("gid").n_unique().alias("n"))
    few = total.filter(pl.col("n") <= config.rare_nodes).select("key")
    need = shared.select("v", "key").unique().join(few, on="key", how="anti")
    per_view = (
        need.join(held, on="key")
        .filter(_in_view("dnum", "v", config.window_days))
        .group_by("v", "key")
        .agg(pl.col("gid").n_unique().alias("n"))
        .filter(pl.col("n") <= config.rare_nodes)
        .select("v", "key")
    )
    rare_vk = pl.concat([shared.select("v", "key").unique().join(few, on="key"), per_view])
    return (
        shared.join(rare_vk, on=["v", "key"])
        .group_by("v", "a", "b")
        .len()
        .filter(pl.col("len") >= config.rare_keys)
        .select("v", "a", "b")
    )


def _guard(
    pairs: pl.DataFrame,
    idx: np.ndarray,
    sub: pl.DataFrame,
    whole: np.ndarray,
    config: DedupConfig,
    novel: np.ndarray | None = None,
) -> np.ndarray:
    """Boolean per pair: rows ``idx`` of ``pairs`` whose figures conflict (``template_conflicts``)."""
    out = np.zeros(pairs.height, dtype=bool)
    if idx.size:
        bad = template_conflicts(
            pairs[idx],
            sub.select("gid", "figures"),
            tolerance=config.figure_tolerance,
            lead_only=whole[idx] < config.threshold,
            lead_numbers=whole[idx] >= 0,
            lead_novel=None if novel is None else novel[idx],
        )
        out[idx[bad.to_numpy()]] = True
    return out


def _candidates(
    fkeys: pl.DataFrame, band_tab: pl.DataFrame, presence: pl.DataFrame, config: DedupConfig
) -> pl.DataFrame:
    """Candidate pairs (v, gid, gid2, nw, a, b) of a hop: frontier nodes ``fkeys`` (v, gid, key, w) and the
    nodes of their views sharing an LSH band, or ``key_min`` word keys (nw: the word keys shared)."""
    # one probe of the window's band table (semi-join on the frontier's keys); the pairs are then built
    # from the few rows that share a key, in chunks of whole frontier nodes (bounds hot buckets; a
    # pair's rows all fall in one chunk: chunks are ranges of gids, no sort needed), grouped on one
    # integer for (view, node, node) when it fits (a single-key group-by: half the cost of two keys)
    # (is_in: half the cost of a semi-join on this table, same rows in the same order)
    hits = band_tab.filter(pl.col("key").is_in(fkeys["key"].unique().implode())).rename({"gid": "gid2"}).drop("w")
    upto = np.cumsum(np.bincount(fkeys["gid"].to_numpy()))  # frontier rows with gid <= g
    last = np.unique(np.r_[np.searchsorted(upto, np.arange(_KEY_CHUNK, upto[-1], _KEY_CHUNK)), upto.size - 1])
    chunks = (
        [fkeys]
        if last.size == 1
        else [
            fkeys.filter(pl.col("gid").is_between(int(lo), int(hi)))
            for lo, hi in zip(np.r_[0, last[:-1] + 1], last, strict=True)
        ]
    )
    gbits = int(np.max(band_tab["gid"].to_numpy(), initial=1)).bit_length()
    shift = 1 << gbits
    v_lo, v_hi = fkeys.select(pl.col("v").min().alias("lo"), pl.col("v").max().alias("hi")).cast(pl.Int64).row(0)
    packed = 2 * gbits < 63 and v_hi - v_lo < 1 << (63 - 2 * gbits)
    pk = pl.col("gid").cast(pl.UInt64) * shift + pl.col("gid2")
    keys = (
        [((pl.col("v") - v_lo).cast(pl.UInt64) * (shift * shift) + pk).alias("pk")] if packed else ["v", pk.alias("pk")]
    )
    parts = [
        chunk.join(hits, on="key")
        .filter(pl.col("gid") != pl.col("gid2"))
        .group_by(keys)
        .agg(pl.len().alias("n"), pl.col("w").sum().alias("nw"))
        .filter((pl.col("n") > pl.col("nw")) | (pl.col("nw") >= config.key_min))  # an LSH band, or key_min word keys
        for chunk in chunks
    ]
    view = (pl.col("pk") // (shift * shift)).cast(pl.Int64) + v_lo if packed else pl.col("v")
    return (
        pl.concat(parts)
        .select(
            view.cast(pl.Int32).alias("v"),
            (pl.col("pk") // shift % shift).cast(pl.UInt32).alias("gid"),
            (pl.col("pk") % shift).cast(pl.UInt32).alias("gid2"),
            "nw",
        )
        .join(presence.rename({"gid": "gid2"}), on="gid2")
        .filter(_in_view("dnum", "v", config.window_days))
        .select("v", "gid", "gid2", "nw")
        .unique()
        .with_columns(pl.min_horizontal("gid", "gid2").alias("a"), pl.max_horizontal("gid", "gid2").alias("b"))
    )


def _inconsistent(edges: pl.DataFrame, checked: pl.DataFrame, config: DedupConfig) -> pl.DataFrame:
    """Edges (v, a, b) the consistency guard removes: accepted with a tree score under
    ``consistency_below``, while one of the two nodes has, in the same view, an edge scored at least
    ``consistency_sure`` to a third node whose pair with the other node was judged and rejected, though
    it is no less MinHash-similar (``sim``) than the weak pair.

    Why: a copy garbled by OCR or cut short may have lost what tells its story from a template sibling's
    (the figures), and the trees accept it against both. Its sure duplicate still has them, and the trees'
    rejection of that text against the sibling, on at least as much shared text, is the better evidence:
    the weak link is dropped and the copy stays with its story. A pair is judged once (its verdict is a
    function of the two texts), so the rule reads the hops' verdicts; a pair no hop judged is no evidence.
    """
    scored = checked.select("a", "b", "score", "sim")
    ed = edges.select("v", "a", "b").unique().join(scored, on=["a", "b"])
    ends = pl.concat(
        [
            ed.select("v", pl.col("a").alias("x"), pl.col("b").alias("y"), "a", "b", "score", "sim"),
            ed.select("v", pl.col("b").alias("x"), pl.col("a").alias("y"), "a", "b", "score", "sim"),
        ]
    )
    weak = ends.filter(pl.col("score") < config.consistency_below)
    sure = ends.filter(pl.col("score") >= config.consistency_sure).select("v", "x", pl.col("y").alias("z"))
    rejected = checked.filter(~pl.col("ok")).select(
        pl.col("a").alias("za"), pl.col("b").alias("zb"), pl.col("sim").alias("zsim")
    )
    return (
        weak.join(sure, on=["v", "x"])
        .filter(pl.col("z") != pl.col("y"))
        .with_columns(pl.min_horizontal("y", "z").alias("za"), pl.max_horizontal("y", "z").alias("zb"))
        .join(rejected, on=["za", "zb"])
        .filter(pl.col("zsim") >= pl.col("sim"))
        .select("v", "a", "b")
        .unique()
    )


def _components(n: int, src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Smallest node index of each node's connected component (min-label propagation, pointer jumping)."""
    lab = np.arange(n)
    while src.size:
        m = np.minimum(lab[src], lab[dst])
        new = lab.copy()
        np.minimum.at(new, src, m)
        np.minimum.at(new, dst, m)
        new = new[new]
        if np.array_equal(new, lab):
            break
        lab = new
    return lab


def deduplicate(
    day: pl.DataFrame,
    window: pl.DataFrame | pl.LazyFrame,
    *,
    config: DedupConfig = DedupConfig(),  # noqa: B008
) -> pl.DataFrame:
    """Duplicate clusters of the day's documents against themselves and the window (see module docstring).

    Parameters
    ----------
    day : pl.DataFrame
        ``SIGNATURES`` rows of the partition(s) being (re)computed; each date is its own view.
    window : pl.DataFrame or pl.LazyFrame
        ``SIGNATURES`` rows of earlier partitions (may include the day's rows and rows outside the
        windows; both are handled). A LazyFrame is filtered to the needed dates before collecting.
    config : DedupConfig
        Must be the configuration the signatures were computed with.

    Returns
    -------
    pl.DataFrame
        ``DUPLICATES`` rows, one per document of ``day``, sorted by ``pub_date``, ``doc_id``.
    """
    cols = SIGNATURES.column_names
    w = config.window_days
    day = day.select(cols).unique("doc_id", keep="first", maintain_order=True)
    if day.height == 0:
        return DUPLICATES.empty()
    views = day.select(_daynum().unique()).to_series()
    lo_all = min(_UNDATED if v == _UNDATED else (_UNDATED + 1 if w is None else v - w) for v in views)
    hi_all = views.max()
    win_lazy = window.lazy().filter(
        _daynum().is_between(lo_all, hi_all) & ~pl.col("doc_id").is_in(day["doc_id"].implode())
    )
    win = win_lazy.select([c for c in cols if c not in ("minhash", "tokens")]).collect()
    u = (
        pl.concat(
            [
                day.drop("minhash", "tokens").with_columns(pl.lit(True).alias("is_day")),
                win.with_columns(pl.lit(False).alias("is_day")),
            ]
        )
        .with_columns(_daynum().alias("dnum"))
        .sort(["pub_datetime", "text_len", "doc_id"], descending=[False, True, False], nulls_last=True)
        .with_row_index("rank")
        .with_columns(
            pl.coalesce("exact_hash", pl.lit("\x00doc:") + pl.col("doc_id")).rank("dense").cast(pl.UInt32).alias("gid")
        )
    )
    # one node per exact group; its content is that of its first member (all members normalise alike)
    groups = u.filter(pl.col("rank") == pl.col("rank").min().over("gid")).select(
        "gid", "doc_id", "bands", "text_len", "figures"
    )
    mhs = _MinHashes(day, win_lazy, groups.select("gid", "doc_id"), config.num_perm)
    members = u.select("doc_id", "pub_date", "gid", "dnum", "rank", "is_day")
    del win, u  # the window's band lists live on in `groups` only, until the band table is built
    # the LSH band hashes come first in `bands`, then the word keys (w): a pair sharing only word keys
    # is a candidate when it shares at least `key_min` of them (one common phrase is not enough)
    band_tab = band_rows(groups, "gid", bands=config.bands)
    groups = groups.drop("bands")
    word_keys = band_tab.filter("w").select("gid", "key") if _rare_on(config) else band_tab.clear()
    presence = members.select("gid", "dnum").unique()

    visited = members.filter("is_day").select(pl.col("dnum").alias("v"), "gid").unique()
    frontier, edges = visited, []
    schema = {
        "a": pl.UInt32,
        "b": pl.UInt32,
        "sim": pl.Float64,
        "ok": pl.Boolean,
        "rare": pl.Boolean,
        "score": pl.Float64,
    }
    checked = pl.DataFrame(schema=schema)
    rare_checked = pl.DataFrame(schema=schema)  # verdicts under the relaxed thresholds (_relaxed)
    rare_edges = [pl.DataFrame(schema={"v": pl.Int32, "a": pl.UInt32, "b": pl.UInt32, "sim": pl.Float64})]
    for _ in range(config.max_hops):
        if frontier.height == 0:
            break
        fkeys = frontier.join(band_tab, on="gid")
        if fkeys.height == 0:  # the frontier's documents are too short for any band: nothing to link
            edges.append(fkeys.select("v", "gid", *(pl.col("gid").alias(c) for c in ("gid2", "a", "b"))))  # no rows
            break
        cand = _candidates(fkeys, band_tab, presence, config)
        todo = cand.select("a", "b", "nw").unique(["a", "b"]).join(checked, on=["a", "b"], how="anti")
        checked = pl.concat([checked, _confirm(todo, groups, mhs, config)])
        hop_edges = cand.join(checked.filter("ok"), on=["a", "b"]).select("v", "gid", "gid2", "a", "b")
        if _rare_on(config):
            # word-key rarity: pairs the rules reject, sharing keys that few nodes of *this view* have,
            # are verified again with the relaxed thresholds; linked in that view only
            maybe = cand.join(checked.filter("rare").select("a", "b"), on=["a", "b"])
            if maybe.height:
                rare_vab = _rare_pairs(maybe.select("v", "a", "b").unique(), word_keys, presence, config)
                todo = (
                    maybe.join(rare_vab, on=["v", "a", "b"], how="semi")
                    .select("a", "b", "nw")
                    .unique(["a", "b"])
                    .join(rare_checked, on=["a", "b"], how="anti")
                )
                rare_checked = pl.concat([rare_checked, _confirm(todo, groups, mhs, config, rare=True)])
                linked = rare_vab.join(rare_checked.filter("ok").select("a", "b", "sim"), on=["a", "b"])
                rare_edges.append(linked.select(pl.col("v").cast(pl.Int32), "a", "b", "sim"))
                hop_edges = pl.concat(
                    [hop_edges, cand.join(linked, on=["v", "a", "b"], how="semi").select("v", "gid", "gid2", "a", "b")]
                ).unique()
        edges.append(hop_edges)
        frontier = (
            hop_edges.select("v", pl.col("gid2").alias("gid")).unique().join(visited, on=["v", "gid"], how="anti")
        )
        visited = pl.concat([visited, frontier])

    # nodes ordered by (view, canonical order of their first document in the view): the smallest node
    # index of a component is its canonical node
    nodes = (
        visited.join(members.select("gid", pl.col("dnum").alias("d"), "rank", "doc_id"), on="gid")
        .filter(_in_view("d", "v", w))
        .group_by("v", "gid")
        .agg(pl.col("rank").min().alias("vrank"), pl.col("doc_id").sort_by("rank").first().alias("cdoc"))
        .sort("v", "vrank")
        .with_row_index("q")
    )
    linked = pl.concat(edges)
    if config.verdict == "learned" and config.consistency_below > 0:  # (the rules give no score)
        linked = linked.join(_inconsistent(linked, checked, config), on=["v", "a", "b"], how="anti")
    e = linked.join(nodes.select("v", "gid", pl.col("q").alias("q1")), on=["v", "gid"]).join(
        nodes.select("v", pl.col("gid").alias("gid2"), pl.col("q").alias("q2")), on=["v", "gid2"]
    )
    root = _components(nodes.height, e["q1"].to_numpy().astype(np.int64), e["q2"].to_numpy().astype(np.int64))
    nodes = nodes.with_columns(pl.Series("root", root, dtype=pl.UInt32))
    canon = nodes.select(pl.col("q").alias("root"), pl.col("gid").alias("cgid"), pl.col("cdoc").alias("canonical"))
    out = (
        members.filter("is_day")
        .join(nodes.select(pl.col("v").alias("dnum"), "gid", "root"), on=["dnum", "gid"])
        .join(canon, on="root")
    )
    near = out.filter(pl.col("gid") != pl.col("cgid"))
    sims = _confirm(
        near.select(pl.col("gid").alias("a"), pl.col("cgid").alias("b")).unique(), groups, mhs, config
    ).select(pl.col("a").alias("gid"), pl.col("b").alias("cgid"), "sim")
    # a pair linked by the rarity rule in a view reports its relaxed similarity there
    rare_sim = pl.concat(rare_edges).select(pl.col("v").alias("dnum"), "a", "b", pl.col("sim").alias("rsim")).unique()
    out = (
        out.with_columns(pl.min_horizontal("gid", "cgid").alias("a"), pl.max_horizontal("gid", "cgid").alias("b"))
        .join(sims, on=["gid", "cgid"], how="left")
        .join(rare_sim, on=["dnum", "a", "b"], how="left")
        .with_columns(pl.max_horizontal("sim", "rsim").alias("sim"))
        .drop("a", "b", "rsim")
    )
    out = out.with_columns(
        pl.col("canonical").alias("cluster_id"),
        pl.col("canonical").alias("canonical_doc_id"),
        (pl.col("doc_id") == pl.col("canonical")).alias("is_canonical"),
        pl.when(pl.col("doc_id") == pl.col("canonical"))
        .then(pl.lit("unique"))
        .when(pl.col("gid") == pl.col("cgid"))
        .then(pl.lit("exact"))
        .otherwise(pl.lit("near"))
        .alias("method"),
        pl.when(pl.col("gid") == pl.col("cgid")).then(1.0).otherwise(pl.col("sim")).alias("similarity"),
    )
    return DUPLICATES.conform(out).sort("pub_date", "doc_id")
