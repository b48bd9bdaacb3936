"""Research measurement (issue 19): does a learned verdict over the candidate pairs' features move the
dedup frontier (noisy recall against precision and template merges), and which features carry it?

Not a product change: ``pipeline.dedup`` is untouched. The study wraps ``cluster._confirm`` (the
function ``deduplicate`` calls on each hop's new candidate pairs):

* ``extract``: runs ``deduplicate`` with the rules (its output is unchanged: the wrapper only records)
  on the clean and noisy sets of each seed and stores, per candidate node pair, the features below, the
  rules' verdict (``_confirm``'s, or the word-key rarity rule's in any view) and the label from the set
  builder (same original: positive; two originals sharing a template tag, a headline family or figure
  siblings: template negative; else negative), under ``--cache`` (outside the repository);
* ``study``: fits a model on the training seeds' pairs (clean + noisy), chooses its threshold on the
  training seeds (out-of-fold predictions, leave-one-seed-out; cluster-level mean ARI of the connected
  components of the accepted candidate pairs), then runs ``deduplicate`` on the test seeds with
  ``_confirm``'s verdict replaced by the model's (views and hops as the code does; the rarity rule is
  off, its information is in the features) and prints the same precision / recall / ARI / template
  merges as ``dedup_quality.evaluate`` for the rules and the model, per seed, worst and mean; the pair-level
  frontier; coefficients, importances and ablations.

Word-key rarity: ``rarity_frame`` counts the nodes of the whole set holding each shared key (not a
function of a day's window: left out by default, ``--drop none`` keeps it); ``rarity_view`` counts them in
the view of the later node's first day, ``[v - 30, v]`` (what the rarity rule's per-view counts see, for the
earliest view holding both nodes). ``--model lr``: logistic regression; ``--train-sets clean`` or ``noisy``:
transfer between the two recipes; ``--ablate``: feature-group ablations at pair level on the training seeds.

Cheaper models (issue 19, cheap-model study): ``--keep`` (names, ``group:NAME``) restricts the features
before ``--drop``; ``--prefilter E`` rejects pairs with ``max(jw, jl) < E`` unseen (not trained on either);
``--max-iter``, ``--max-leaf-nodes``, ``--max-depth``, ``--learning-rate`` size the trees (the model's trees
and nodes are printed); ``costs`` times each part of ``pair_features`` (CPU per 1000 candidate pairs, against
``deduplicate``'s) and lists the features that change when a pair's (a, b) is swapped. ``figures_sym`` holds
gid-order-free forms of na, nb, new_a, new_b (min / max of the two sides).

    python -m benchmarks.dedup_learned extract [--seeds 7,11,...] [--cache /tmp/learned19]
    python -m benchmarks.dedup_learned costs --seeds 7 --sets clean,noisy
    python -m benchmarks.dedup_learned study [--train 7,11,13,17,19,23] [--test 29,31,37,41,43,47]

Needs scikit-learn (not a project dependency) and ../shared/corpus (via ``dedup_quality``).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import polars as pl

from benchmarks.dedup_quality import CORPUS, build_set, scores, template_merges
from pipeline.dedup import DedupConfig, compute_signatures, deduplicate
from pipeline.dedup import cluster as C
from pipeline.dedup import pairs as P
from pipeline.dedup.figures import _Figures, _stop_words, same_numbers, slot_conflicts, template_conflicts
from pipeline.dedup.signatures import band_rows
from pipeline.dedup.tokens import PAD_A, PAD_B, _hits, _oriented, dense_prefix, shared_numbers, tail_vocabulary, verify

SETS = ("clean", "noisy")
RARE = 4  # a word key held by at most this many nodes is rare (rare_nodes)
VIEW_CAP = 40  # per-view key counts are computed for keys held by at most this many nodes of the frame
CHUNK = 4096

# feature groups (for ablations); every name is a column of the pair tables
GROUPS = {
    "minhash": ["jw", "jl", "cont", "sim", "mh_ok"],
    "lengths": ["log_short", "log_long", "len_ratio", "ls", "lt"],
    "verifier": ["lm", "lm_share", "matched", "matched_share", "vtail", "prefix_shaped"],
    "numcheck": ["chk", "bad", "bad_rate"],
    "dense": ["e", "e_share", "trate", "chk_e", "bad_e", "bad_e_rate", "start8", "dense_novel"],
    "tailvocab": ["nv", "nsh", "nsh_share"],
    "lm_numbers": ["ns_l", "nt_l", "nc_l", "full_novel"],
    "figures": [
        "slots",
        "slot_conf",
        "slot_rate",
        "slots_j",
        "slot_conf_j",
        "na",
        "nb",
        "nc",
        "new_a",
        "new_b",
        "lead_m",
        "lead_differ",
        "guard_whole",
        "guard_lead",
        "guard_lead_own",
        "same_nums",
    ],
    # na, nb, new_a, new_b follow the gid order (arbitrary): the same counts as min / max of the two sides
    "figures_sym": ["n_lo", "n_hi", "new_lo", "new_hi"],
    "keys": ["nw", "k_shared"],  # shared word keys (a property of the pair)
    "rarity_frame": ["k_rare", "k_min", "k_mean_log"],  # how many nodes of the whole frame hold them
    "rarity_view": ["k_rare_v", "k_min_v", "k_mean_log_v"],  # ... of the view of the later node's day
    "gaps": ["gap_s", "gap_t"],  # session 17 study: words before the first match on each side
    "names": ["name_miss", "name_miss_hi", "name_n"],  # session 19: lead names missing from the other text
    "new": ["first_hit", "word_share", "word_hit", "num_hit", "n_num_s", "pos_eq", "pos_eq_num", "digit_only"],
}
FEATURES = [f for g in GROUPS.values() for f in g]


# ------------------------------------------------------------------ features ----
def _figure_parts(pairs: pl.DataFrame, figs: pl.DataFrame) -> dict[str, np.ndarray]:
    """Each side's count of distinct multi-digit numbers by gid order (``na``, ``nb``) and the share of
    them new to the other (the product's ``pairs`` has them as fewer / more: ``n_lo``, ``n_hi``, ...)."""
    n = pairs.height
    ga, gb = pairs["a"].to_numpy(), pairs["b"].to_numpy()
    need = pl.Series(np.r_[ga, gb]).unique()
    fg = _Figures(figs.filter(pl.col("gid").is_in(need.implode())))
    ia, ib = fg.find(ga), fg.find(gb)
    ma, mb = (p * fg.f1 + f for p, f in (fg.multi(ia), fg.multi(ib)))
    na, nb = np.bincount(ma // fg.f1, minlength=n), np.bincount(mb // fg.f1, minlength=n)
    nc = np.bincount(np.intersect1d(ma, mb, assume_unique=True) // fg.f1, minlength=n)
    return dict(na=na, nb=nb, new_a=(na - nc) / np.maximum(na, 1), new_b=(nb - nc) / np.maximum(nb, 1))


def _key_parts(
    pairs: pl.DataFrame, gkeys: pl.DataFrame, counts: pl.DataFrame, presence: pl.DataFrame, window: int
) -> dict[str, np.ndarray]:
    """Shared word keys of each pair and how many nodes hold each: in the whole frame (``k_*``), and in
    the view of the later node's first day, ``[v - window, v]`` (``k_*_v``; exact for keys held by at
    most ``VIEW_CAP`` nodes of the frame, the frame's count above)."""
    p = pairs.select("a", "b").with_row_index("pid")
    mine = gkeys.filter(pl.col("gid").is_in(pl.concat([p["a"], p["b"]]).unique().implode()))
    first = presence.group_by("gid").agg(pl.col("dnum").min().alias("d"))
    both = (
        p.join(mine.rename({"gid": "a"}), on="a")
        .join(mine.rename({"gid": "b"}), on=["b", "key"])
        .join(counts, on="key")
        .join(first.rename({"gid": "a", "d": "da"}), on="a")
        .join(first.rename({"gid": "b", "d": "db"}), on="b")
        .with_columns(pl.max_horizontal("da", "db").alias("v"))
    )
    few = both.filter(pl.col("cnt") <= VIEW_CAP).select("pid", "key", "v")
    held = gkeys.filter(pl.col("key").is_in(few["key"].unique().implode())).join(presence, on="gid")
    per_view = (
        few.join(held, on="key")
        .filter(pl.col("dnum").is_between(pl.col("v") - window, pl.col("v")))
        .group_by("pid", "key")
        .agg(pl.col("gid").n_unique().alias("cnt_v"))
    )
    both = both.join(per_view, on=["pid", "key"], how="left").with_columns(pl.coalesce("cnt_v", "cnt"))
    agg = both.group_by("pid").agg(
        pl.len().alias("k_shared"),
        (pl.col("cnt") <= RARE).sum().alias("k_rare"),
        pl.col("cnt").min().alias("k_min"),
        pl.col("cnt").log().mean().alias("k_mean_log"),
        (pl.col("cnt_v") <= RARE).sum().alias("k_rare_v"),
        pl.col("cnt_v").min().alias("k_min_v"),
        pl.col("cnt_v").log().mean().alias("k_mean_log_v"),
    )
    f = p.select("pid").join(agg, on="pid", how="left").sort("pid")
    fill = dict(k_shared=0, k_rare=0, k_min=1000, k_mean_log=10.0, k_rare_v=0, k_min_v=1000, k_mean_log_v=10.0)
    return {k: f[k].fill_null(v).to_numpy().astype(float) for k, v in fill.items()}


def _pair_nodes(pairs: pl.DataFrame, groups: pl.DataFrame, mhs: C._MinHashes) -> tuple:
    """The pairs' nodes (``groups`` rows, by gid), their MinHash cache rows and text lengths, and each
    pair's two node indices into them."""
    need = pl.concat([pairs["a"], pairs["b"]]).unique()
    sub = groups.filter(pl.col("gid").is_in(need.implode())).sort("gid")
    gids = sub["gid"].to_numpy()
    rows = mhs.index(gids)
    tl = sub["text_len"].to_numpy().astype(float)
    at = np.zeros(int(gids.max()) + 1, dtype=np.int64)
    at[gids] = np.arange(gids.size)
    ia, ib = at[pairs["a"].to_numpy()], at[pairs["b"].to_numpy()]
    return sub, rows, tl, ia, ib


def _estimates(mhs: C._MinHashes, rows, tl, ia, ib, config: DedupConfig) -> tuple:
    """Per pair: the whole-text slot match rate, the lead estimate and the rules' combined similarity."""
    n = ia.size
    k = config.num_perm - config.lead_perm
    jw, jl = np.empty(n), np.zeros(n)
    for s in range(0, n, CHUNK):
        ra, rb = rows[ia[s : s + CHUNK]], rows[ib[s : s + CHUNK]]
        C._match_rates(np.take(mhs.rows, ra, axis=0) == np.take(mhs.rows, rb, axis=0), k, jw, jl, s)
    whole, lead = C._scores(jw, jl, tl[ia], tl[ib], config)
    return jw, lead, C._combine(whole, lead, config)


def pair_features(
    pairs: pl.DataFrame, groups: pl.DataFrame, mhs: C._MinHashes, config: DedupConfig, keyinfo: tuple
) -> pl.DataFrame:
    """One row of features per row of ``pairs`` (columns a, b, nw): what the rules compute, and more."""
    n = pairs.height
    sub, rows, tl, ia, ib = _pair_nodes(pairs, groups, mhs)
    jw, lead, sim = _estimates(mhs, rows, tl, ia, ib, config)
    # what the product computes (``pipeline.dedup.pairs``: the number check from NUMBERS_FROM matched words
    # on; tables extracted before session 11 checked every pair's numbers), then the study's own features
    texts = P.PairTexts(
        pairs=pairs,
        figures=sub.select("gid", "figures"),
        row_a=rows[ia],
        row_b=rows[ib],
        len_a=tl[ia],
        len_b=tl[ib],
        jw=jw,
        lead=lead,
        sim=sim,
    )
    shared = tuple(x for x in FEATURES if x in P.ALL)
    x = P.features(texts, mhs, config, shared)
    f: dict[str, np.ndarray] = {name: x[:, j] for j, name in enumerate(shared)}
    # word_share: the tail vocabulary measured from the start (a second pass); na / nb: by gid order
    f["word_share"] = np.zeros(n)
    f["gap_s"], f["gap_t"] = np.zeros(n), np.zeros(n)
    stop = _stop_words(config.seed)
    words = np.minimum(mhs.words[rows], config.token_count)
    for s in range(0, n, CHUNK):
        sl = slice(s, min(s + CHUNK, n))
        wc = max(int(np.maximum(words[ia[sl]], words[ib[sl]]).max()), 1)
        a, la = mhs.unpack(rows[ia[sl]], wc, PAD_A)
        b, lb = mhs.unpack(rows[ib[sl]], wc, PAD_B)
        nv0, nsh0 = tail_vocabulary(a, la, b, lb, np.zeros(a.shape[0], dtype=np.int64), stop)
        f["word_share"][sl] = nsh0 / np.maximum(nv0, 1)
        f["gap_s"][sl], f["gap_t"][sl] = _lead_gaps(a, la, b, lb, config.verify_band)
    parts = _figure_parts(pairs, sub.select("gid", "figures"))
    f |= {k: parts[k] for k in ("na", "nb", "new_a", "new_b")}
    f |= _key_parts(pairs, *keyinfo)
    return pl.DataFrame({name: np.asarray(f[name], dtype=np.float64) for name in FEATURES})


def _lead_gaps(
    a: np.ndarray, la: np.ndarray, b: np.ndarray, lb: np.ndarray, band: int
) -> tuple[np.ndarray, np.ndarray]:
    """Words before the first word found in the other sketch (within ``band``), in the shorter sketch and in
    the longer one (session 17 study: a formula sibling names another subject, so both texts start with
    words the other lacks, of other lengths; a copy starts where its original does)."""
    s, t, ls = _oriented(a, b, la, lb)
    hit = _hits(s, t, band) & (np.arange(s.shape[1]) < ls[:, None])
    return np.where(hit.any(1), np.argmax(hit, 1), ls).astype(float), P._longer_gap(a, la, b, lb, band)


# ------------------------------------------------------------- feature costs ----
COST_PARTS = {  # timed part -> the feature groups it serves (a group needs every part naming it)
    "setup": "all (node lookup)",
    "minhash": "minhash, lengths (log_*)",
    "unpack": "lengths (ls, lt), verifier, numcheck, dense, tailvocab, lm_numbers, new",
    "verifier": "verifier (verify without the number check)",
    "numcheck": "numcheck (verify's number check, on every pair)",
    "dense": "dense",
    "tailvocab": "tailvocab",
    "word_share": "new: word_share (a second tail_vocabulary, from the start)",
    "new": "new: the rest (the oriented masks)",
    "lm_numbers": "lm_numbers",
    "fig_build": "figures, figures_sym (_Figures of the pairs' nodes)",
    "fig_slots": "figures: slots, slot_conf, slot_rate, slots_j, slot_conf_j",
    "fig_multi": "figures: na, nb, nc, new_a, new_b; figures_sym",
    "fig_lead": "figures: lead_m, lead_differ",
    "guards": "figures: guard_whole, guard_lead, guard_lead_own (3 template_conflicts)",
    "same_nums": "figures: same_nums",
    "keys": "keys: k_shared (rarity too: polars joins); nw is free",
}


def part_costs(pairs: pl.DataFrame, groups: pl.DataFrame, mhs: C._MinHashes, config: DedupConfig, keyinfo) -> dict:
    """CPU seconds of each part of ``pair_features`` (the same calls, each timed on its own)."""
    cost: dict[str, float] = defaultdict(float)
    clock = [time.process_time()]

    def tick(name: str) -> None:
        now = time.process_time()
        cost[name] += now - clock[0]
        clock[0] = now

    n = pairs.height
    sub, rows, tl, ia, ib = _pair_nodes(pairs, groups, mhs)
    tick("setup")
    jw, lead, _ = _estimates(mhs, rows, tl, ia, ib, config)
    lo, hi = np.maximum(np.minimum(tl[ia], tl[ib]), 1), np.maximum(tl[ia], tl[ib])
    _ = np.log(lo), np.log(hi), hi / lo, np.minimum(1.0, jw * (1 + hi / lo) / (1 + jw))
    tick("minhash")
    w, band, stop = config.token_count, config.verify_band, _stop_words(config.seed)
    words = np.minimum(mhs.words[rows], w)
    for s in range(0, n, CHUNK):
        sl = slice(s, min(s + CHUNK, n))
        wc = max(int(np.maximum(words[ia[sl]], words[ib[sl]]).max()), 1)
        a, la = mhs.unpack(rows[ia[sl]], wc, PAD_A)
        b, lb = mhs.unpack(rows[ib[sl]], wc, PAD_B)
        tick("unpack")
        hits: list[np.ndarray] = []
        before = cost["verifier"]
        lm, *_ = verify(a, la, b, lb, band=band, ratio=config.verify_ratio, min_words=w + 1, hits=hits)
        tick("verifier")
        last_verifier = cost["verifier"] - before
        verify(a, la, b, lb, band=band, ratio=config.verify_ratio, digits=config.digit_conflicts)
        tick("numcheck")
        cost["numcheck"] -= last_verifier  # (the full call less the one without the number check)
        e, *_ = dense_prefix(a, la, b, lb, band=band, window=8, least=5, hit=hits[0], digits=config.digit_conflicts)
        tick("dense")
        tail_vocabulary(a, la, b, lb, e, stop)
        tick("tailvocab")
        tail_vocabulary(a, la, b, lb, np.zeros_like(e), stop)
        tick("word_share")
        st, tt, ls = _oriented(a, b, la, lb)
        valid = np.arange(st.shape[1]) < ls[:, None]
        kind = st & 3
        _ = ((kind == 0) & valid).sum(1), ((kind == 3) & valid).sum(1), ((st == tt) & valid).sum(1)
        tick("new")
        shared_numbers(a, la, b, lb, lm, band)
        tick("lm_numbers")
    figs = sub.select("gid", "figures")
    fg = _Figures(figs)  # (sub: the pairs' nodes only)
    fa, fb = fg.find(pairs["a"].to_numpy()), fg.find(pairs["b"].to_numpy())
    tick("fig_build")
    for lead_form in (np.zeros(n, bool), np.ones(n, bool)):
        slot_conflicts(fg, fa, fb, lead_form)
    tick("fig_slots")
    ma, mb = (p * fg.f1 + f for p, f in (fg.multi(fa), fg.multi(fb)))
    np.bincount(ma // fg.f1, minlength=n), np.bincount(mb // fg.f1, minlength=n)
    np.bincount(np.intersect1d(ma, mb, assume_unique=True) // fg.f1, minlength=n)
    tick("fig_multi")
    la_, lb_ = fg.lead_len[fa], fg.lead_len[fb]
    _ = (fg.lead0[fa] != fg.lead0[fb]) | ((np.minimum(la_, lb_) > 1) & (fg.lead1[fa] != fg.lead1[fb]))
    tick("fig_lead")
    tol = config.figure_tolerance
    template_conflicts(pairs, figs, tolerance=tol, lead_only=np.zeros(n, bool))
    template_conflicts(pairs, figs, tolerance=tol, lead_only=np.ones(n, bool))
    template_conflicts(pairs, figs, tolerance=tol, lead_only=np.ones(n, bool), lead_numbers=np.zeros(n, bool))
    tick("guards")
    same_numbers(pairs, figs, least=config.same_numbers, share=C.SAME_SHARE)
    tick("same_nums")
    _key_parts(pairs, *keyinfo)
    tick("keys")
    return cost


class _Wrap:
    """Stands in for ``cluster._confirm`` while active (``with``); ``orig`` is the real one."""

    def __init__(self) -> None:
        self.orig = C._confirm

    def __enter__(self):
        C._confirm = self
        return self

    def __exit__(self, *exc) -> None:
        C._confirm = self.orig


class Capture(_Wrap):
    """Wraps ``cluster._confirm`` while active: the hop calls' arguments, and the rules' own CPU in it."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple] = []
        self.seconds = 0.0

    def __call__(self, pairs, groups, mhs, config, *, rare: bool = False):
        t = time.process_time()
        res = self.orig(pairs, groups, mhs, config, rare=rare)
        self.seconds += time.process_time() - t
        if pairs.height and "nw" in pairs.columns and not rare:
            self.calls.append((pairs, groups, mhs))
        return res


def costs(cache: Path, seeds: list[int], config: DedupConfig, sets: tuple[str, ...], rounds: int = 2) -> None:
    """Per set: deduplicate's CPU, _confirm's, and each feature part's per 1000 candidate pairs (best of
    ``rounds``); also checks which features change when every pair's (a, b) is swapped."""
    for seed in seeds:
        for name in sets:
            df = load_set(cache, name, seed)
            sig = compute_signatures(df, config=config)
            best = None
            for _ in range(rounds):
                cap = Capture()
                t = time.process_time()
                with cap:
                    deduplicate(sig, sig, config=config)
                secs = time.process_time() - t
                best = min(best or (secs, cap), (secs, cap), key=lambda x: x[0])
            secs, cap = best
            npairs = sum(c[0].height for c in cap.calls)
            hook = Hook(sig, config)
            groups = cap.calls[0][1]
            gk = groups.select("gid", "doc_id").join(hook.doc_keys, on="doc_id").select("gid", "key").unique()
            keyinfo = (gk, gk.group_by("key").agg(pl.col("gid").n_unique().alias("cnt")), hook.presence, 30)
            tot: dict[str, float] = defaultdict(lambda: 1e9)
            for _ in range(rounds):
                run_cost: dict[str, float] = defaultdict(float)
                for pairs, groups, mhs in cap.calls:
                    for k, v in part_costs(pairs, groups, mhs, config, keyinfo).items():
                        run_cost[k] += v
                for k, v in run_cost.items():
                    tot[k] = min(tot[k], v)
            per = 1000 / max(npairs, 1)
            print(
                f"\n{name} seed {seed}: {df.height} docs, {npairs} candidate pairs in {len(cap.calls)} hop calls; "
                f"deduplicate {secs:.3f}s CPU ({secs * per * 1000:.1f} ms per 1000 pairs), of it _confirm "
                f"{cap.seconds:.3f}s; features (sum of parts) {sum(tot.values()):.3f}s "
                f"({sum(tot.values()) / secs:.2f}x deduplicate)"
            )
            print(f"  {'part':<11} {'ms/1000 pairs':>13} {'x dedup':>8}  serves")
            for k in COST_PARTS:
                print(f"  {k:<11} {tot[k] * per * 1000:13.2f} {tot[k] / secs:8.3f}  {COST_PARTS[k]}")
            # symmetry: the features of (b, a) against those of (a, b)
            pairs, groups, mhs = max(cap.calls, key=lambda c: c[0].height)
            f1 = pair_features(pairs, groups, mhs, config, keyinfo)
            sw = pairs.with_columns(pl.col("a").alias("b"), pl.col("b").alias("a"))
            f2 = pair_features(sw, groups, mhs, config, keyinfo)
            odd = [c for c in FEATURES if not np.allclose(f1[c].to_numpy(), f2[c].to_numpy(), equal_nan=True)]
            share = {c: float(np.mean(~np.isclose(f1[c].to_numpy(), f2[c].to_numpy()))) for c in odd}
            print("  not symmetric in (a, b) (share of pairs that change): ", end="")
            print(", ".join(f"{c} {v:.3f}" for c, v in share.items()))


# -------------------------------------------------------- hooked deduplicate ----
class Hook(_Wrap):
    """Replaces ``cluster._confirm`` while active. ``model=None``: records features and the rules'
    verdicts (output unchanged); else the verdict of the hop candidates is ``model(features)``."""

    def __init__(
        self,
        sig: pl.DataFrame,
        config: DedupConfig,
        model=None,
        threshold: float = 0.5,
        cols=None,
        prefilter: float = 0.0,
    ):
        super().__init__()
        self.config, self.model, self.threshold, self.cols = config, model, threshold, cols or FEATURES
        self.prefilter = prefilter
        self.doc_keys = band_rows(sig, "doc_id", bands=config.bands).filter("w").select("doc_id", "key")
        # (the benchmark passes one frame as day and window: gids as ``gid_table`` numbers them)
        dn = (pl.col("pub_date") - pl.date(1970, 1, 1)).dt.total_days().cast(pl.Int32).alias("dnum")
        self.presence = gid_table(sig).join(sig.select("doc_id", dn), on="doc_id").select("gid", "dnum").unique()
        self.keyinfo: tuple | None = None
        self.records: list[pl.DataFrame] = []
        self.rare_ok: list[pl.DataFrame] = []
        self.feature_seconds = 0.0
        self.model_seconds, self.model_pairs = 0.0, 0

    def __call__(self, pairs, groups, mhs, config, *, rare: bool = False):
        res = self.orig(pairs, groups, mhs, config, rare=rare)
        if pairs.height == 0 or "nw" not in pairs.columns:
            return res  # (the closing similarity call for the output frame)
        if rare:
            self.rare_ok.append(res.filter("ok").select("a", "b"))
            return res
        t = time.process_time()
        if self.keyinfo is None:
            gk = groups.select("gid", "doc_id").join(self.doc_keys, on="doc_id").select("gid", "key").unique()
            counts = gk.group_by("key").agg(pl.col("gid").n_unique().alias("cnt"))
            self.keyinfo = (gk, counts, self.presence, config.window_days)
        feats = pair_features(pairs, groups, mhs, config, self.keyinfo)
        self.feature_seconds += time.process_time() - t
        if self.model is None:
            self.records.append(
                pl.concat([res.select("a", "b", pl.col("ok").alias("rules_ok")), feats], how="horizontal")
            )
            return res
        t = time.process_time()
        p = self.model.predict_proba(feats.select(self.cols).to_numpy())[:, 1]
        self.model_seconds += time.process_time() - t
        self.model_pairs += feats.height
        ok = (p >= self.threshold) & passes(feats, self.prefilter)
        # (its own probability as the score: the consistency guard reads it, see cluster._inconsistent)
        return res.with_columns(pl.Series("ok", ok), pl.lit(False).alias("rare"), pl.Series("score", p))


def gid_table(sig: pl.DataFrame) -> pl.DataFrame:
    """doc_id -> gid as ``deduplicate`` numbers the exact groups when day and window are the same frame."""
    return sig.select(
        "doc_id",
        pl.coalesce("exact_hash", pl.lit("\x00doc:") + pl.col("doc_id")).rank("dense").cast(pl.UInt32).alias("gid"),
    )


def run(df: pl.DataFrame, sig: pl.DataFrame, config: DedupConfig, hook: Hook | None) -> tuple[list[str], float]:
    t = time.process_time()
    if hook is None:
        dup = deduplicate(sig, sig, config=config)
    else:
        with hook:
            dup = deduplicate(sig, sig, config=config)
    secs = time.process_time() - t
    pred = df.select("doc_id").join(dup.select("doc_id", "cluster_id"), on="doc_id", how="left")
    return pred["cluster_id"].to_list(), secs


def rules_run(cache: Path, name: str, seed: int, df, sig, config, reuse: bool) -> tuple[tuple, float]:
    """The rules' (deduplicate as is) precision, recall, ARI, template merges and CPU seconds on a set;
    ``reuse``: from a previous study run's file under the cache (the same code and set)."""
    p = cache / f"rules_{name}_{seed}.json"
    if reuse and p.exists():
        x = json.loads(p.read_text())
        return tuple(x[:4]), x[4]
    pred, secs = run(df, sig, config, None)
    m = scores(df["gold"].to_list(), pred)
    x = [m["precision"], m["recall"], m["ari"], template_merges(df, pred), secs]
    p.write_text(json.dumps(x))
    return tuple(x[:4]), x[4]


def load_set(cache: Path, name: str, seed: int) -> pl.DataFrame:
    p = cache / f"{name}_{seed}.parquet"
    if not p.exists():
        df = build_set(name, argparse.Namespace(originals=2400, noisy_originals=1000), seed)
        df.write_parquet(p)
    return pl.read_parquet(p)


def extract(cache: Path, seeds: list[int], config: DedupConfig, sets: tuple[str, ...] = SETS) -> None:
    for seed in seeds:
        for name in sets:
            out = cache / f"pairs_{name}_{seed}.parquet"
            df = load_set(cache, name, seed)
            sig = compute_signatures(df, config=config)
            t = time.process_time()
            pred0, secs0 = run(df, sig, config, None)
            hook = Hook(sig, config)
            pred1, secs1 = run(df, sig, config, hook)
            assert pred0 == pred1, "the recording hook changed the output"
            pairs = pl.concat(hook.records).unique(["a", "b"], keep="first")
            rare = pl.concat(hook.rare_ok).unique().with_columns(pl.lit(True).alias("rare_ok"))
            gt = gid_table(sig).join(df.select("doc_id", "gold", "family"), on="doc_id")
            rep = gt.group_by("gid").agg(
                pl.col("gold").first(), pl.col("family").first(), pl.col("gold").n_unique().alias("ng")
            )
            ambiguous = int((rep["ng"] > 1).sum())
            tags = rep.select("gid", "gold", pl.col("family").str.split(" "))
            lab = (
                pairs.select("a", "b")
                .join(tags.rename({"gid": "a", "gold": "gold_a", "family": "fam_a"}), on="a")
                .join(tags.rename({"gid": "b", "gold": "gold_b", "family": "fam_b"}), on="b")
                .with_columns(
                    (pl.col("gold_a") == pl.col("gold_b")).alias("pos"),
                    (
                        (pl.col("gold_a") != pl.col("gold_b"))
                        & (pl.col("fam_a").list.set_intersection("fam_b").list.len() > 0)
                    ).alias("tpl"),
                )
                .select("a", "b", "gold_a", "gold_b", "pos", "tpl")
            )
            pairs = (
                pairs.join(lab, on=["a", "b"])
                .join(rare, on=["a", "b"], how="left")
                .with_columns(pl.col("rare_ok").fill_null(False))
                .with_columns((pl.col("rules_ok") | pl.col("rare_ok")).alias("rules_any"))
            )
            pairs.write_parquet(out)
            print(
                f"{name} seed {seed}: {df.height} docs, {pairs.height} candidate pairs "
                f"({int(pairs['pos'].sum())} positive, {int(pairs['tpl'].sum())} template), rules accept "
                f"{int(pairs['rules_any'].sum())}; deduplicate {secs0:.2f}s CPU, features {hook.feature_seconds:.2f}s "
                f"CPU ({hook.feature_seconds / max(secs0, 1e-9):.2f}x); exact groups with >1 original: {ambiguous} "
                f"[{time.process_time() - t:.1f}s]",
                flush=True,
            )


# ------------------------------------------------------------------- study ----
def components_pred(sig_gids: pl.DataFrame, pairs: pl.DataFrame, accept: np.ndarray, df: pl.DataFrame) -> list[str]:
    """Cluster labels: connected components of the accepted candidate node pairs (no views)."""
    n = int(sig_gids["gid"].max()) + 1
    acc = pairs.filter(pl.Series(accept))
    lab = C._components(n, acc["a"].to_numpy().astype(np.int64), acc["b"].to_numpy().astype(np.int64))
    g = df.select("doc_id").join(sig_gids, on="doc_id", how="left")["gid"].to_numpy()
    return [str(x) for x in lab[g]]


def passes(t: pl.DataFrame, e: float) -> np.ndarray:
    """The pair prefilter: pairs with ``max(jw, jl) < e`` (a random band collision) are rejected unseen."""
    return np.maximum(t["jw"].to_numpy(), t["jl"].to_numpy()) >= e


def with_sym(t: pl.DataFrame) -> pl.DataFrame:
    """The gid-order-free forms of na, nb, new_a, new_b (pair tables extracted before they existed)."""
    if "n_lo" in t.columns:
        return t
    return t.with_columns(
        pl.min_horizontal("na", "nb").alias("n_lo"),
        pl.max_horizontal("na", "nb").alias("n_hi"),
        pl.min_horizontal("new_a", "new_b").alias("new_lo"),
        pl.max_horizontal("new_a", "new_b").alias("new_hi"),
    )


def model_size(model) -> str:
    """Trees and nodes of a fitted HistGradientBoostingClassifier (what a numpy evaluator would hold)."""
    if not hasattr(model, "_predictors"):
        return "(not a tree ensemble)"
    trees = [t for it in model._predictors for t in it]
    nodes = sum(t.nodes.size for t in trees)
    leaves = sum(int(t.nodes["is_leaf"].sum()) for t in trees)
    depth = max(int(t.nodes["depth"].max()) for t in trees)
    return f"{len(trees)} trees, {nodes} nodes ({leaves} leaves), max depth {depth}"


def make_model(kind: str, args: argparse.Namespace | None = None):
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer, StandardScaler

    if kind == "gbt":
        return HistGradientBoostingClassifier(
            max_iter=args.max_iter if args else 300,
            learning_rate=args.learning_rate if args else 0.08,
            max_leaf_nodes=args.max_leaf_nodes if args else 31,
            max_depth=args.max_depth if args and args.max_depth else None,
            random_state=0,
        )
    return make_pipeline(
        FunctionTransformer(lambda x: np.sign(x) * np.log1p(np.abs(x))),
        StandardScaler(),
        LogisticRegression(C=1.0, max_iter=3000),
    )


def pair_frontier(y: np.ndarray, tpl: np.ndarray, p: np.ndarray) -> tuple[float, float]:
    """Pair-level recall at precision >= 0.99 and at zero accepted template pairs (best threshold)."""
    order = np.argsort(-p, kind="stable")
    ys, ts, ps = y[order], tpl[order], p[order]
    tp, fp = np.cumsum(ys), np.cumsum(~ys)
    last = np.r_[ps[1:] != ps[:-1], True]  # cut only between distinct scores
    prec = tp / np.maximum(tp + fp, 1)
    rec = tp / max(y.sum(), 1)
    ok99 = last & (prec >= 0.99)
    r99 = float(rec[ok99].max()) if ok99.any() else 0.0
    first_t = np.argmax(ts) if ts.any() else ys.size
    cut = np.flatnonzero(last[:first_t])
    r0 = float(rec[cut].max()) if cut.size else 0.0
    return r99, r0


def study(args: argparse.Namespace, config: DedupConfig) -> None:
    cache = Path(args.cache)
    train, test = _ints(args.train), _ints(args.test)
    cols = feature_list(args)
    tabs = {(n, s): with_sym(pl.read_parquet(cache / f"pairs_{n}_{s}.parquet")) for n in SETS for s in train + test}
    pre = args.prefilter
    # sets only tested on (the shift recipe): cluster level only, never in training or the threshold
    unseen = tuple(n for n in args.test_only.split(",") if n.strip())
    print(f"{len(cols)} features: {','.join(cols)}")
    print(f"pairs per set (positive / template / other); prefilter max(jw, jl) >= {pre}: share kept, positives lost")
    for (n, s), t in tabs.items():
        ok = passes(t, pre)
        print(
            f"  {n} {s}: {t.height} ({int(t['pos'].sum())} / {int(t['tpl'].sum())} / "
            f"{int((~t['pos'] & ~t['tpl']).sum())}); kept {ok.mean():.3f}, positives lost "
            f"{int((t['pos'].to_numpy() & ~ok).sum())}"
        )

    def xy(keys):
        t = pl.concat([tabs[k] for k in keys])
        t = t.filter(pl.Series(passes(t, pre)))  # the model never sees the prefiltered pairs
        return t.select(cols).to_numpy(), t["pos"].to_numpy()

    keys_tr = [(n, s) for s in train for n in SETS if n in args.train_sets.split(",")]
    # out-of-fold scores on the training seeds (leave one seed out) for the threshold
    oof = {}
    for s in train:
        m = make_model(args.model, args).fit(*xy([k for k in keys_tr if k[1] != s]))
        for n in SETS:
            oof[(n, s)] = m.predict_proba(tabs[(n, s)].select(cols).to_numpy())[:, 1] * passes(tabs[(n, s)], pre)
    keys_thr = keys_tr  # the threshold is chosen on the training sets only
    sigs, dfs, gids = {}, {}, {}
    for k in keys_thr + [(n, s) for s in test for n in SETS + unseen]:
        dfs[k] = load_set(cache, *k)
        sigs[k] = compute_signatures(dfs[k], config=config)
        gids[k] = gid_table(sigs[k])
    grid = np.r_[np.round(np.arange(0.1, 0.96, 0.05), 2), 0.97, 0.98, 0.99]
    print(f"\nthreshold on training seeds (OOF scores, components of accepted candidate pairs), model {args.model}:")
    print(
        f"{'thr':>5} {'cl.P':>7} {'cl.R':>7} {'cl.ARI':>7} {'cl.tpl':>6} "
        f"{'no.P':>7} {'no.R':>7} {'no.ARI':>7} {'no.tpl':>6}"
    )
    best = None
    for thr in grid:
        agg = defaultdict(list)
        for n, s in keys_thr:
            pred = components_pred(gids[(n, s)], tabs[(n, s)], oof[(n, s)] >= thr, dfs[(n, s)])
            m = scores(dfs[(n, s)]["gold"].to_list(), pred)
            agg[n].append((m["precision"], m["recall"], m["ari"], template_merges(dfs[(n, s)], pred)))
        mean = {n: np.mean(np.array(v, float), 0) for n, v in agg.items()}
        print(f"{thr:5.2f} " + " ".join(_fmt(mean, n) for n in SETS))
        obj = sum(m[2] for m in mean.values())
        if best is None or obj > best[0]:
            best = (obj, thr)
    # the rules by the same components measure (training seeds), for reference
    agg = defaultdict(list)
    for n, s in keys_thr:
        pred = components_pred(gids[(n, s)], tabs[(n, s)], tabs[(n, s)]["rules_any"].to_numpy(), dfs[(n, s)])
        m = scores(dfs[(n, s)]["gold"].to_list(), pred)
        agg[n].append((m["precision"], m["recall"], m["ari"], template_merges(dfs[(n, s)], pred)))
    mean = {n: np.mean(np.array(v, float), 0) for n, v in agg.items()}
    print("rules " + " ".join(_fmt(mean, n) for n in SETS))
    thr = float(args.threshold) if args.threshold else float(best[1])
    print(f"chosen threshold {thr:.2f} (max of the training sets' summed mean ARI, training seeds)")

    model = make_model(args.model, args).fit(*xy(keys_tr))
    print(f"model: {model_size(model)}")
    # cluster level on the test seeds: rules (deduplicate as is) against the model's verdicts
    rows = defaultdict(list)
    predict = defaultdict(list)  # the model's predict_proba CPU, ms per 1000 pairs
    for s in test:
        for n in SETS + unseen:
            df, sig = dfs[(n, s)], sigs[(n, s)]
            gold = df["gold"].to_list()
            pr, sr = rules_run(cache, n, s, df, sig, config, args.reuse_rules)
            hook = Hook(sig, config, model, thr, cols, prefilter=pre)
            pm, sm = run(df, sig, config, hook)
            predict[n].append(hook.model_seconds * 1e6 / max(hook.model_pairs, 1))
            m = scores(gold, pm)
            rows[(n, "model")].append((s, m["precision"], m["recall"], m["ari"], template_merges(df, pm), sm))
            rows[(n, "rules")].append((s, *pr, sr))
    for n in SETS + unseen:
        print(f"\n[{n}] test seeds, cluster level (deduplicate; model: _confirm's verdict replaced, rarity rule off)")
        print(
            f"{'seed':>6} {'rules P':>8} {'R':>7} {'ARI':>7} {'tpl':>4}   {'model P':>8} {'R':>7} {'ARI':>7} {'tpl':>4}"
        )
        a, b = np.array(rows[(n, "rules")], float), np.array(rows[(n, "model")], float)
        for i, s in enumerate(test):
            print(
                f"{s:>6} {a[i, 1]:8.4f} {a[i, 2]:7.4f} {a[i, 3]:7.4f} {int(a[i, 4]):>4}   "
                f"{b[i, 1]:8.4f} {b[i, 2]:7.4f} {b[i, 3]:7.4f} {int(b[i, 4]):>4}"
            )
        for label, f in (
            ("worst", lambda x: np.r_[x[:, 1:4].min(0), x[:, 4].max()]),
            ("mean", lambda x: x[:, 1:5].mean(0)),
        ):
            ra, rb = f(a), f(b)
            print(
                f"{label:>6} {ra[0]:8.4f} {ra[1]:7.4f} {ra[2]:7.4f} {ra[3]:4.1f}   "
                f"{rb[0]:8.4f} {rb[1]:7.4f} {rb[2]:7.4f} {rb[3]:4.1f}"
            )
        print(
            f"  CPU s per set (deduplicate; model run includes features + model): rules {a[:, 5].mean():.2f}, "
            f"model {b[:, 5].mean():.2f}; predict_proba {np.mean(predict[n]):.2f} ms per 1000 pairs"
        )
    # pair level on the test seeds' candidate pairs (rules' candidates)
    print("\npair level, test seeds' candidate pairs (pooled per set): rules' point; model at the chosen threshold;")
    print(
        "model's best recall at precision >= 0.99 and at zero template pairs "
        "(oracle thresholds on test pairs: the frontier)"
    )
    for n in SETS:
        t = pl.concat([tabs[(n, s)] for s in test])
        y, tpl = t["pos"].to_numpy(), t["tpl"].to_numpy()
        p = model.predict_proba(t.select(cols).to_numpy())[:, 1] * passes(t, pre)
        for who, acc in (("rules", t["rules_any"].to_numpy()), ("model", p >= thr)):
            tp = int((acc & y).sum())
            print(
                f"  [{n}] {who}: P {tp / max(acc.sum(), 1):.4f} R {tp / max(y.sum(), 1):.4f} "
                f"(accepted {int(acc.sum())}, FP {int((acc & ~y).sum())}, template {int((acc & tpl).sum())}, "
                f"FN {int((~acc & y).sum())})"
            )
        r99, r0 = pair_frontier(y, tpl, p)
        rr99, rr0 = pair_frontier(y, tpl, t["rules_any"].to_numpy().astype(float))
        print(
            f"  [{n}] frontier: model R@P0.99 {r99:.4f}, R@0 template {r0:.4f}; "
            f"rules (one point) R@P0.99 {rr99:.4f}, R@0tpl {rr0:.4f}"
        )
    explain(model, cols, args, tabs, keys_tr, train, thr)


def explain(model, cols, args, tabs, keys_tr, train, thr) -> None:
    """LR coefficients; feature-group ablations at pair level on the training seeds (two folds of seeds)."""
    if args.model == "lr":
        coef = model[-1].coef_[0]
        order = np.argsort(-np.abs(coef))
        print("\nlogistic regression, standardised log1p features, top coefficients:")
        print("  " + ", ".join(f"{cols[i]} {coef[i]:+.2f}" for i in order[:20]))
    if not args.ablate:
        return
    half = len(train) // 2
    folds = [train[:half], train[half:]]
    variants = [("all", cols)]
    variants += [(f"-{g}", [c for c in cols if c not in GROUPS[g]]) for g in GROUPS if set(GROUPS[g]) & set(cols)]
    variants += [(f"only {g}", [c for c in cols if c in GROUPS[g]]) for g in GROUPS if set(GROUPS[g]) & set(cols)]
    if args.ablate_each:  # one feature at a time, of the groups named
        each = [c for g in args.ablate_each.split(",") for c in GROUPS[g] if c in cols]
        variants = [("all", cols)] + [(f"-{c}", [x for x in cols if x != c]) for c in each]
    print(
        f"\nfeature groups, pair level on the training seeds (two folds: {folds[0]} / {folds[1]}, each scored by the"
        f" model of the other), threshold {thr:.2f}:"
    )
    print(
        f"{'variant':<16} " + " ".join(f"{n[:2]}.R@P99 {n[:2]}.R@0tp {n[:2]}.FP {n[:2]}.tpl {n[:2]}.FN" for n in SETS)
    )
    for name, use in variants:
        y, tpl, p, kind = [], [], [], []
        for i, fold in enumerate(folds):
            fit_keys = [k for k in keys_tr if k[1] in folds[1 - i]]
            t = pl.concat([tabs[k] for k in fit_keys])
            m = make_model(args.model, args).fit(t.select(use).to_numpy(), t["pos"].to_numpy())
            for n in SETS:
                t = pl.concat([tabs[(n, s)] for s in fold])
                y.append(t["pos"].to_numpy())
                tpl.append(t["tpl"].to_numpy())
                p.append(m.predict_proba(t.select(use).to_numpy())[:, 1])
                kind.append(np.full(t.height, n))
        y, tpl, p, kind = (np.concatenate(x) for x in (y, tpl, p, kind))
        out = []
        for n in SETS:
            s_ = kind == n
            r99, r0 = pair_frontier(y[s_], tpl[s_], p[s_])
            acc = p[s_] >= thr
            fp, ft, fn = (acc & ~y[s_]).sum(), (acc & tpl[s_]).sum(), (~acc & y[s_]).sum()
            out.append(f"{r99:9.4f} {r0:9.4f} {fp:5d} {ft:6d} {fn:5d}")
        print(f"{name:<16} " + " ".join(out), flush=True)
    out = []
    for n in SETS:
        t = pl.concat([tabs[(n, s)] for s in train])
        y, tpl, acc = t["pos"].to_numpy(), t["tpl"].to_numpy(), t["rules_any"].to_numpy()
        r = (acc & y).sum() / max(y.sum(), 1)
        out.append(f"R {r:.4f} {'':>8} {(acc & ~y).sum():5d} {(acc & tpl).sum():6d} {(~acc & y).sum():5d}")
    print(f"{'rules':<16} " + " ".join(out))


def _fmt(mean: dict, n: str) -> str:
    x = mean.get(n, np.full(4, np.nan))
    return " ".join(f"{v:7.4f}" if i < 3 else f"{v:6.1f}" for i, v in enumerate(x))


def _expand(s: str) -> list[str]:
    """Comma-separated feature names and ``group:NAME`` (all of a group's features)."""
    out = []
    for x in s.split(","):
        x = x.strip()
        if x.startswith("group:"):
            out += GROUPS[x[6:]]
        elif x and x != "none":
            out.append(x)
    return out


def feature_list(args: argparse.Namespace) -> list[str]:
    keep, drop = _expand(args.keep) or FEATURES, set(_expand(args.drop))
    unknown = (set(keep) | drop) - set(FEATURES)
    assert not unknown, f"unknown features {sorted(unknown)}"
    return [c for c in FEATURES if c in keep and c not in drop]


def _ints(s: str) -> list[int]:
    return [int(x) for x in s.split(",") if x.strip()]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("what", choices=["extract", "study", "costs"])
    ap.add_argument("--cache", default="/tmp/learned19", help="sets and pair tables (never in the repository)")
    ap.add_argument("--seeds", default="7,11,13,17,19,23,29,31,37,41,43,47")
    ap.add_argument(
        "--sets", default="clean,noisy", help="extract: which sets (clean, noisy, shift, notices, names, names-train)"
    )
    ap.add_argument(
        "--test-only", default="", help="study: sets evaluated at cluster level only, never trained on (shift)"
    )
    ap.add_argument("--train", default="7,11,13,17,19,23")
    ap.add_argument("--test", default="29,31,37,41,43,47")
    ap.add_argument("--model", default="gbt", choices=["gbt", "lr"])
    ap.add_argument("--train-sets", default="clean,noisy", help="which sets' pairs train the model (transfer)")
    ap.add_argument("--drop", default="group:rarity_frame", help="features (comma-separated) left out of the model")
    ap.add_argument(
        "--keep", default="", help="features (names, group:NAME) the model may use (default all), before --drop"
    )
    ap.add_argument("--prefilter", type=float, default=0.0, help="reject pairs with max(jw, jl) below this unseen")
    ap.add_argument("--max-iter", type=int, default=300, help="gbt: boosting iterations")
    ap.add_argument("--max-leaf-nodes", type=int, default=31, help="gbt: leaves per tree")
    ap.add_argument("--max-depth", type=int, default=0, help="gbt: tree depth (0: unbounded)")
    ap.add_argument("--learning-rate", type=float, default=0.08, help="gbt: learning rate")
    ap.add_argument("--reuse-rules", action="store_true", help="study: the rules' test figures from the cache")
    ap.add_argument("--ablate", action="store_true", help="feature-group ablations (pair level, training seeds)")
    ap.add_argument("--ablate-each", default="", help="with --ablate: drop each feature of these groups instead")
    ap.add_argument("--threshold", default="", help="fixed threshold instead of the training-seed choice")
    args = ap.parse_args()
    if not (CORPUS / "reuters21578.jsonl").exists():
        print(f"SKIPPED: corpus not found at {CORPUS} (../shared/corpus is absent); nothing measured.")
        return
    if args.what == "study" and importlib.util.find_spec("sklearn") is None:
        print("SKIPPED: scikit-learn is not installed (pip install -c constraints.txt -e '.[bench]')")
        return
    cache = Path(args.cache)
    cache.mkdir(parents=True, exist_ok=True)
    # the study records and replaces the rules' verdict; containment on every pair, as ``_scores`` gives the
    # trees their ``sim`` (the rules' 200-character floor is a rule, not a measure)
    config = DedupConfig(verdict="rules", containment_chars=0)
    if args.what == "extract":
        extract(cache, _ints(args.seeds), config, tuple(args.sets.split(",")))
    elif args.what == "costs":
        costs(cache, _ints(args.seeds), config, tuple(args.sets.split(",")))
    else:
        study(args, config)


if __name__ == "__main__":
    main()
