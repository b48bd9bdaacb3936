"""Study (issue 19, session 17; measured, not adopted): a consistency guard on the learned verdict's edges.

Template merges are direct links: a copy of story A, garbled or cut, is accepted against A's template
sibling B. The guard tried here drops an accepted pair (x, y) whose tree score is under ``--below`` when one
of its nodes has an edge scored at least ``SURE`` to a third node z whose pair with the other node the
trees judged and rejected (z is surely x's story, and that story was judged different from y).

The study runs ``deduplicate`` unchanged, records every judged node pair (verdict, tree score, MinHash
similarity), then recomputes clusters as connected components of the accepted pairs of the whole set,
without and with the guard (one component pass over all pairs, not the product's views and hops: compare
the two columns of a row, not either with ``dedup_quality``). ``--events F`` writes every pair the guard
drops at ``--below`` 0.95 with the labels of (x, y) and (z, y) and the scores, to see what separates
template pairs from true ones.

    python -m benchmarks.dedup_consistency --sets clean,noisy,shift,names,notices --seeds 29,41,43,47,79,83

Needs ../shared/corpus (via ``dedup_quality``).
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict

import numpy as np
import polars as pl

from benchmarks.dedup_quality import CORPUS, build_set, run_newslake, scores, template_merges
from pipeline.dedup import DedupConfig, verdict
from pipeline.dedup import cluster as C

SURE = 0.99

SCORE: dict[tuple[int, int], float] = {}  # tree score of the pairs the model judged
JUDGED: dict[tuple[int, int], bool] = {}  # verdict of every judged pair
SIM: dict[tuple[int, int], float] = {}
NODES: list[pl.DataFrame] = []
_features, _confirm = C.pair_features, C._confirm


def _recording_features(p, mhs, config, names):  # type: ignore[no-untyped-def]
    x = _features(p, mhs, config, names)
    model = verdict.load().model
    if tuple(names) == tuple(model.features):
        for a, b, s in zip(p.pairs["a"].to_list(), p.pairs["b"].to_list(), model.score(x), strict=True):
            SCORE[(min(a, b), max(a, b))] = float(s)
    return x


def _recording_confirm(pairs, groups, mhs, config, rare=False):  # type: ignore[no-untyped-def]
    NODES.append(groups.select("gid", "doc_id"))
    out = _confirm(pairs, groups, mhs, config, rare=rare)
    if "nw" in pairs.columns:  # (not the closing similarity call)
        for a, b, ok, sim in out.select("a", "b", "ok", "sim").iter_rows():
            JUDGED[(a, b)], SIM[(a, b)] = ok, sim
    return out


def components(nodes: set[int], edges: list[tuple[int, int]]) -> dict[int, int]:
    """Each node's component label (the product's ``cluster._components`` over node ids)."""
    src, dst = (np.array([e[i] for e in edges], dtype=np.int64) for i in (0, 1))
    root = C._components(max(nodes, default=-1) + 1, src, dst)
    return {n: int(root[n]) for n in nodes}


def guarded(
    accepted: list[tuple[int, int]], below: float, *, as_similar: bool = False
) -> tuple[set[tuple[int, int]], list[dict]]:
    """The accepted pairs the guard drops, and one event per (pair, third node) that drops it (``as_similar``:
    only a rejected pair at least as MinHash-similar as the weak one counts)."""
    near: dict[int, dict[int, float]] = defaultdict(dict)
    for a, b in accepted:
        near[a][b] = near[b][a] = SCORE.get((a, b), 1.0)
    drop, events = set(), []
    for x, y in accepted:
        s = SCORE.get((x, y), 1.0)
        if s >= below:
            continue
        for u, v in ((x, y), (y, x)):
            for z, sz in near[u].items():
                k = (min(z, v), max(z, v))
                if z != v and sz >= SURE and k in JUDGED and not JUDGED[k]:
                    if as_similar and SIM[k] < SIM[(x, y)]:
                        continue
                    drop.add((x, y))
                    events.append(
                        dict(x=x, y=y, z=z, v=v, s_xy=s, s_zy=SCORE.get(k, -1.0), sim_xy=SIM[(x, y)], sim_zy=SIM[k])
                    )
    return drop, events


def study(
    df: pl.DataFrame, name: str, seed: int, belows: list[float], *, as_similar: bool = False
) -> tuple[dict, list[dict]]:
    """One set: P, R, template merges and pairs dropped without the guard and at each ``below``; the events
    of ``below`` 0.95."""
    SCORE.clear(), JUDGED.clear(), SIM.clear(), NODES.clear()
    pred, _, _ = run_newslake(df, DedupConfig())
    node_of = dict(zip(NODES[0]["doc_id"].to_list(), NODES[0]["gid"].to_list(), strict=True))
    doc_of = {g: d for d, g in node_of.items()}
    gold, docs = df["gold"].to_list(), df["doc_id"].to_list()
    gold_of = dict(zip(docs, gold, strict=True))
    family = dict(zip(df["gold"], df["family"].str.split(" "), strict=True))

    def labels(comp: dict[int, int]) -> list[str]:
        # a document outside NODES[0] is an exact copy: the component of a node in its product cluster
        rep: dict[str, int] = {}
        for d, p in zip(docs, pred, strict=True):
            if d in node_of:
                rep.setdefault(p, comp[node_of[d]])
        return [str(comp[node_of[d]]) if d in node_of else str(rep.get(p, p)) for d, p in zip(docs, pred, strict=True)]

    def label(p: int, q: int) -> str:
        ga, gb = gold_of[doc_of[p]], gold_of[doc_of[q]]
        return "pos" if ga == gb else "tpl" if set(family[ga]) & set(family[gb]) else "neg"

    accepted = [k for k, ok in JUDGED.items() if ok]
    nodes = set(node_of.values())
    lab = labels(components(nodes, accepted))
    m = scores(gold, lab)
    row: dict = dict(set=name, seed=seed, base=(m["precision"], m["recall"], template_merges(df, lab), 0))
    out: list[dict] = []
    for below in belows:
        drop, events = guarded(accepted, below, as_similar=as_similar)
        lab = labels(components(nodes, [k for k in accepted if k not in drop]))
        m = scores(gold, lab)
        row[str(below)] = (m["precision"], m["recall"], template_merges(df, lab), len(drop))
        if below == 0.95:
            for e in events:
                out.append(dict(e, set=name, seed=seed, lab=label(e["x"], e["y"]), lab_zy=label(e["z"], e["v"])))
    return row, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sets", default="clean,noisy,shift,names,notices")
    ap.add_argument("--seeds", default="29,41,43,47,79,83")
    ap.add_argument("--below", default="0.93,0.95,0.97", help="tree scores under which an accepted pair is weak")
    ap.add_argument("--events", help="parquet file for the pairs dropped at --below 0.95 (with their labels)")
    ap.add_argument(
        "--as-similar", action="store_true", help="the rejected pair must be at least as similar as the weak one"
    )
    ap.add_argument("--originals", type=int, default=2400)
    ap.add_argument("--noisy-originals", type=int, default=1000)
    args = ap.parse_args()
    if not (CORPUS / "reuters21578.jsonl").exists():
        print(f"SKIPPED: corpus not found at {CORPUS} (../shared/corpus is absent); no figures measured.")
        return
    C.pair_features, C._confirm = _recording_features, _recording_confirm
    belows = [float(x) for x in args.below.split(",")]
    rows, all_events = [], []
    for seed in [int(x) for x in args.seeds.split(",")]:
        for name in args.sets.split(","):
            row, events = study(build_set(name, args, seed), name, seed, belows, as_similar=args.as_similar)
            rows.append(row)
            all_events += events
            print(json.dumps(row), flush=True)
    print("\nper set: mean P / mean R / template merges (sum) / pairs dropped; worst R")
    for name in args.sets.split(","):
        rs = [r for r in rows if r["set"] == name]
        for key in ["base", *map(str, belows)]:
            v = np.array([r[key] for r in rs], dtype=float)
            print(f"  {name:8s} {key:>5s}: {v[:, 0].mean():.4f} / {v[:, 1].mean():.4f} / {v[:, 2].sum():.0f} / "
                  f"{v[:, 3].sum():.0f}; worst R {v[:, 1].min():.4f}")  # fmt: skip
    if args.events and all_events:
        ev = pl.DataFrame(all_events)
        ev.write_parquet(args.events)
        med = [pl.len(), pl.col("s_zy").median(), pl.col("sim_zy").median()]
        print(ev.group_by("set", "lab").agg(*med).sort("set", "lab"))


if __name__ == "__main__":
    main()
