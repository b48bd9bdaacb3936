"""Train the learned dedup verdict (``pipeline/dedup/verdict.json``) from ``dedup_learned``'s pair tables.

The pair tables (``python -m benchmarks.dedup_learned extract``, under ``--cache``, never in the
repository) hold, per candidate node pair of the development sets, the measures the rules compute and the
label (same original or not). This fits two scikit-learn ``HistGradientBoostingClassifier`` forests on the
training seeds' clean and noisy pairs and writes their trees as numbers (``pipeline.dedup.verdict``
evaluates them in numpy; scikit-learn is not needed at run time):

* the *screen*, on the features every candidate pair has for free (MinHash estimates, lengths, shared word
  keys); its cut keeps all but ``--screen-loss`` of the pairs the model accepts rightly;
* the *model*, on ``--features`` (``MODEL_FEATURES``: chosen in session 11 by cost and by held-out quality,
  with the dense part's first-word matches and the tail vocabulary since learned-7, session 14; see
  README-dedup); its cut maximises the summed mean ARI of the training sets;
* the *triage* (learned-8, session 16), on ``--triage-features`` (the screen's and the verifier's
  alignment: a fifth of the model's feature cost), fitted on the pairs the screen passes; its cut keeps
  all but ``--triage-loss`` of the pairs the model accepts rightly. ``--keep FILE`` takes the screen,
  the model and their cuts from an earlier verdict file unchanged and fits the triage alone.

Both cuts are chosen on leave-one-seed-out predictions over the training seeds, at cluster level (connected
components of the accepted candidate pairs). The other seeds and the shift recipe are never read here: they
are the test (``dedup_quality --seeds``, ``dedup_learned study``).

    python -m benchmarks.dedup_learned extract --sets clean,noisy,notices --seeds 7,11,13,17,19,23,53,59,61,67,71,73
    python -m benchmarks.dedup_verdict --sets clean,noisy,notices --version learned-7 [--cache /tmp/learned19] [--out F]
    python -m benchmarks.dedup_verdict --sets clean,noisy,notices --version learned-8 --keep pipeline/dedup/verdict.json
    # (OMP_NUM_THREADS=2: ~6 min)
"""

from __future__ import annotations

import argparse
import itertools
import json
from pathlib import Path

import numpy as np
import polars as pl

from benchmarks.dedup_learned import components_pred, gid_table, load_set
from benchmarks.dedup_quality import scores
from pipeline.dedup import DedupConfig, compute_signatures, verdict
from pipeline.dedup import pairs as P

SCREEN_FEATURES = P.MINHASH + ("nw",)
# the cheap group of helper-21's study (session 11: no number check, dense part or tail vocabulary), with
# the figures guard's three verdicts (free here: derived from the same counts)
MODEL_FEATURES = (
    *P.MINHASH, *P.VERIFIER, *P.PREFIX_NUMBERS, "slots", "slot_conf", "slot_rate", "slots_j", "slot_conf_j",
    "nc", "lead_m", "lead_differ", "n_lo", "n_hi", "new_lo", "new_hi", "guard_whole", "guard_lead",
    "guard_lead_own", "nw", *P.MATCHES, *P.NUMBER_CHECK, "start8", *P.TAIL, *P.LEAD_GAP,
)  # fmt: skip
# what the triage sees (learned-8): the screen's features, the verifier's alignment without its number check
# and the figures guard's counts; not the number check, the dense part or the tail vocabulary (the model's
# costliest passes). On the speed day's 76k pairs after the screen these cost 1.2 s against the model's 2.9 s;
# at a 0.1 % loss cut about a quarter of the pairs pass, against about half without the figures (session 16).
TRIAGE_FEATURES = SCREEN_FEATURES + P.VERIFIER + P.MATCHES + P.FIGURES
TRAIN_SEEDS = "7,11,13,17,19,23,53,59,61,67,71,73"  # (29-47: the held-out test seeds, never read here)
CUTS = np.r_[np.round(np.arange(0.5, 0.96, 0.05), 2), 0.97, 0.98, 0.99]


def pair_table(cache: Path, name: str, seed: int, *, evidence: float, keys: int) -> pl.DataFrame:
    """One set's candidate pairs with the product's feature names and ``seen``: the verdict judges it."""
    t = pl.read_parquet(cache / f"pairs_{name}_{seed}.parquet")
    seen = (pl.col("mh_ok") > 0) | ((pl.max_horizontal("jw", "jl") >= evidence) & (pl.col("nw") >= keys))
    return t.with_columns(seen.alias("seen"), pl.lit(seed).alias("seed"), pl.lit(name).alias("set"))


def export(model, names: tuple[str, ...]) -> dict:
    """A fitted forest in the JSON form ``verdict.from_dict`` reads (children -1 at leaves)."""
    trees = [
        [
            [
                int(n["feature_idx"]),
                float(n["num_threshold"]),
                bool(n["missing_go_to_left"]),
                -1 if n["is_leaf"] else int(n["left"]),
                -1 if n["is_leaf"] else int(n["right"]),
                float(n["value"]),
            ]
            for n in pred.nodes
        ]
        for (pred,) in model._predictors
    ]
    return dict(features=list(names), base=float(np.ravel(model._baseline_prediction)[0]), trees=trees)


def main() -> None:
    from sklearn import __version__ as sk_version
    from sklearn.ensemble import HistGradientBoostingClassifier

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cache", default="/tmp/learned19")
    ap.add_argument("--seeds", default=TRAIN_SEEDS)
    ap.add_argument("--sets", default="clean,noisy")
    ap.add_argument("--features", default=",".join(MODEL_FEATURES))
    ap.add_argument("--evidence", type=float, default=0.05)
    ap.add_argument("--keys", type=int, default=0, help="shared word keys a pair under the threshold needs")
    ap.add_argument("--max-iter", type=int, default=300)
    ap.add_argument("--leaves", type=int, default=31)
    ap.add_argument("--rate", type=float, default=0.08)
    ap.add_argument("--screen-trees", type=int, default=30)
    ap.add_argument("--screen-leaves", type=int, default=15)
    ap.add_argument("--screen-loss", type=float, default=0.001)
    ap.add_argument("--triage-features", default=",".join(TRIAGE_FEATURES), help="empty: no triage")
    ap.add_argument("--triage-trees", type=int, default=40)
    ap.add_argument("--triage-leaves", type=int, default=15)
    ap.add_argument("--triage-loss", type=float, default=0.001)
    ap.add_argument("--keep", help="a verdict file: keep its screen, model, cuts and early exit; fit the triage only")
    ap.add_argument("--exit-trees", type=int, default=40, help="the model's early exit: after this many trees")
    ap.add_argument("--exit-loss", type=float, default=0.0005, help="share of the accepted pairs it may stop")
    ap.add_argument(
        "--decreasing",
        default="",
        help="features the model's probability may only fall with (monotonic constraints), comma-separated",
    )
    ap.add_argument(
        "--random-state", type=int, default=0, help="the model's early-stopping split (another draw of the same fit)"
    )
    ap.add_argument("--cut", type=float, help="the model's cut (default: the one maximising the summed mean ARI)")
    ap.add_argument("--version", default="learned-1")
    ap.add_argument("--out", default=str(verdict.MODEL))
    args = ap.parse_args()
    cache, seeds, sets = Path(args.cache), [int(x) for x in args.seeds.split(",")], args.sets.split(",")
    kept = json.loads(Path(args.keep).read_text()) if args.keep else None
    names = tuple(kept["model"]["features"]) if kept else tuple(x for x in args.features.split(",") if x)
    triage_names = tuple(x for x in args.triage_features.split(",") if x)
    down = {x for x in args.decreasing.split(",") if x}
    if down - set(names):
        raise SystemExit(f"--decreasing names features the model does not use: {sorted(down - set(names))}")
    monotonic = [-1 if n in down else 0 for n in names]
    evidence, keys = (kept["evidence"], kept["keys"]) if kept else (args.evidence, args.keys)
    tabs = {(n, s): pair_table(cache, n, s, evidence=evidence, keys=keys) for s in seeds for n in sets}
    # (in a fixed row order: the extract writes pairs in no particular order, and the fit's binning
    # subsample and early-stopping split depend on it)
    seen = pl.concat([t.filter("seen") for t in tabs.values()], how="diagonal").sort("set", "seed", "a", "b")
    y = seen["pos"].to_numpy()

    def model(x: np.ndarray, yy: np.ndarray):
        return HistGradientBoostingClassifier(
            max_iter=args.max_iter,
            learning_rate=args.rate,
            max_leaf_nodes=args.leaves,
            monotonic_cst=monotonic if down else None,
            random_state=args.random_state,
        ).fit(x, yy)

    def small(trees: int, leaves: int):
        def fit(x: np.ndarray, yy: np.ndarray):
            return HistGradientBoostingClassifier(
                max_iter=trees, max_leaf_nodes=leaves, early_stopping=False, random_state=0
            ).fit(x, yy)

        return fit

    screen, triage = small(args.screen_trees, args.screen_leaves), small(args.triage_trees, args.triage_leaves)
    x_m, x_s, x_t = (seen.select(f).to_numpy() for f in (names, SCREEN_FEATURES, triage_names))
    seed_of = seen["seed"].to_numpy()
    config = DedupConfig()
    sets_ = {k: load_set(cache, *k) for k in tabs}
    gids = {k: gid_table(compute_signatures(df, config=config)) for k, df in sets_.items()}
    p_t = np.ones(seen.height)

    def accepted(k: tuple[str, int], cut: float, screen_cut: float, exit_raw: float, triage_cut: float) -> np.ndarray:
        cols = ("a", "b", "seed", "set", "p_m", "p_s", "early", "p_t")
        t = tabs[k].join(seen.select(cols), on=["a", "b", "seed", "set"], how="left")
        ok = (t["p_m"].fill_null(0) >= cut) & (t["p_s"].fill_null(0) >= screen_cut)
        ok = ok & (t["p_t"].fill_null(0) >= triage_cut)
        return (ok & (t["early"].fill_null(-np.inf) >= exit_raw)).to_numpy()

    def measure(cut: float, screen_cut: float = 0.0, exit_raw: float = -np.inf, triage_cut: float = 0.0):
        got: dict[str, list] = {n: [] for n in sets}
        for k in tabs:
            pred = components_pred(gids[k], tabs[k], accepted(k, cut, screen_cut, exit_raw, triage_cut), sets_[k])
            m = scores(sets_[k]["gold"].to_list(), pred)
            got[k[0]].append((m["precision"], m["recall"], m["ari"]))
        return {n: np.array(v).mean(0) for n, v in got.items()}

    def shown(m: dict) -> str:
        return ", ".join(f"{n} P {v[0]:.4f} R {v[1]:.4f} ARI {v[2]:.4f}" for n, v in m.items())

    if kept:
        # the kept forests' own scores (in-sample: they were fitted on these seeds' pairs)
        vk = verdict.verdict_from_dict(kept)
        whole = verdict.from_dict({k: v for k, v in kept["model"].items() if k not in ("exit_trees", "exit_raw")})
        p_m, p_s = whole.score(x_m), vk.screen.score(x_s)
        early = vk.model.base + vk.model.segments[0].raw(np.ascontiguousarray(x_m), bool(np.isnan(x_m).any()))
        cut, screen_cut, exit_raw = vk.cut, vk.screen_cut, vk.model.exit_raw
        seen = seen.with_columns(pl.Series("p_m", p_m), pl.Series("p_s", p_s), pl.Series("early", early))
    else:
        # leave-one-seed-out scores of both forests on the training pairs
        p_m, p_s, early = np.zeros(seen.height), np.zeros(seen.height), np.zeros(seen.height)
        for s in seeds:
            out, inn = seed_of == s, seed_of != s
            fold = model(x_m[inn], y[inn])
            p_m[out] = fold.predict_proba(x_m[out])[:, 1]
            # the sum of the first exit_trees trees (scikit-learn's raw score, the baseline included)
            staged = fold.staged_decision_function(x_m[out])
            early[out] = np.ravel(next(itertools.islice(staged, args.exit_trees - 1, None)))
            p_s[out] = screen(x_s[inn], y[inn]).predict_proba(x_s[out])[:, 1]
            print(f"  out-of-fold scores for seed {s}", flush=True)
        # (no triage yet: every pair passes it while the cut is chosen)
        seen = seen.with_columns(
            pl.Series("p_m", p_m), pl.Series("p_s", p_s), pl.Series("early", early), pl.Series("p_t", p_t)
        )

        print(f"{'cut':>5} " + " ".join(f"{n + ' P / R / ARI':>26}" for n in sets))
        best = None
        for c in CUTS:
            m = measure(float(c))
            print(f"{c:5.2f} " + " ".join(f"{v[0]:8.4f} {v[1]:8.4f} {v[2]:8.4f}" for v in m.values()))
            total = sum(v[2] for v in m.values())
            if best is None or total > best[0]:
                best = (total, float(c))
        assert best is not None
        cut = best[1] if args.cut is None else args.cut
        rightly = (p_m >= cut) & y
        screen_cut = float(np.quantile(p_s[rightly], args.screen_loss))
        exit_raw = float(np.quantile(early[p_m >= cut], args.exit_loss))
    rightly = (p_m >= cut) & y
    passed = p_s >= screen_cut
    kept_share = float(passed.mean())
    beyond = float((early[passed] >= exit_raw).mean())
    seen = seen.with_columns(pl.Series("p_t", p_t))
    m = measure(cut, screen_cut, exit_raw)
    print(
        f"cut {cut:.2f}; screen cut {screen_cut:.4g} (keeps {kept_share:.3f} of the training pairs seen); early exit "
        f"under {exit_raw:.3f} (goes on for {beyond:.3f} of those kept); with both: " + shown(m)
    )
    triage_cut, t_fit = 0.0, None
    if triage_names:
        # the triage sees the pairs the screen passes: its leave-one-seed-out scores on them
        p_t = np.zeros(seen.height)
        for s in seeds:
            out, inn = passed & (seed_of == s), passed & (seed_of != s)
            p_t[out] = triage(x_t[inn], y[inn]).predict_proba(x_t[out])[:, 1]
        triage_cut = float(np.quantile(p_t[rightly & passed], args.triage_loss))
        goes = passed & (p_t >= triage_cut)
        seen = seen.with_columns(pl.Series("p_t", p_t))
        m = measure(cut, screen_cut, exit_raw, triage_cut)
        print(
            f"triage cut {triage_cut:.4g}: passes {goes.sum() / max(passed.sum(), 1):.3f} of the pairs the screen "
            f"passes; stops {int((rightly & passed & ~goes).sum())} of {int((rightly & passed).sum())} rightly "
            f"accepted and {int(((p_m >= cut) & ~y & passed & ~goes).sum())} of "
            f"{int(((p_m >= cut) & ~y & passed).sum())} wrongly accepted; with all: " + shown(m)
        )
        t_fit = triage(x_t[passed], y[passed])

    if kept:
        d = dict(kept, version=args.version)
        d["trained"] = dict(kept.get("trained", {}))
    else:
        m_fit, s_fit = model(x_m, y), screen(x_s, y)
        trained = dict(
            seeds=seeds, sets=sets, pairs=int(seen.height), positives=int(y.sum()), sklearn=sk_version,
            max_iter=args.max_iter, max_leaf_nodes=args.leaves, learning_rate=args.rate,
            screen_trees=args.screen_trees, screen_leaves=args.screen_leaves, screen_loss=args.screen_loss,
            decreasing=sorted(down),
        )  # fmt: skip
        d = dict(
            version=args.version,
            cut=cut,
            screen_cut=screen_cut,
            evidence=args.evidence,
            keys=args.keys,
            trained=trained,
            screen=export(s_fit, SCREEN_FEATURES),
            model=export(m_fit, names) | dict(exit_trees=args.exit_trees, exit_raw=exit_raw),
        )
    d.pop("triage", None)
    d.pop("triage_cut", None)
    # (with --keep, the kept forests' own command stays; this one is the triage's)
    d["trained"]["triage_command" if kept else "command"] = "python -m benchmarks.dedup_verdict " + " ".join(
        f"--{k.replace('_', '-')} {v}" for k, v in vars(args).items() if k not in ("cache", "out") and v is not None
    )
    checks = []
    if t_fit is not None:
        d["trained"] |= dict(
            triage_trees=args.triage_trees, triage_leaves=args.triage_leaves, triage_loss=args.triage_loss,
            triage_sklearn=sk_version,
        )  # fmt: skip
        d |= dict(triage=export(t_fit, triage_names), triage_cut=triage_cut)
        checks.append((verdict.from_dict(d["triage"]), t_fit, x_t))
    v = verdict.verdict_from_dict(d)
    if not kept:
        whole = verdict.from_dict(export(m_fit, names))  # (without the early exit: every tree for every row)
        checks += [(whole, m_fit, x_m), (v.screen, s_fit, x_s)]
        stopped = v.model.score(x_m) != whole.score(x_m)
        print(f"early exit on the training pairs: {stopped.mean():.3f} stop early; accepted by every tree but "
              f"stopped: {int((stopped & (whole.score(x_m) >= cut)).sum())}")  # fmt: skip
    for forest, fitted, x in checks:
        gap = float(np.abs(forest.score(x) - fitted.predict_proba(x)[:, 1]).max())
        assert gap < 1e-9, f"the exported trees score differently from scikit-learn's ({gap})"
    Path(args.out).write_text(json.dumps(d, separators=(",", ":")) + "\n")
    nodes = sum(len(tr) for tr in d["model"]["trees"])
    print(
        f"{seen.height} training pairs ({int(y.sum())} positive); model {len(d['model']['trees'])} trees, {nodes} "
        f"nodes; screen {len(d['screen']['trees'])} trees; triage {len(d.get('triage', {}).get('trees', []))} "
        f"trees; written to {args.out}"
    )


if __name__ == "__main__":
    main()
