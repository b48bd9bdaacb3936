"""A learned verdict for candidate pairs: gradient-boosted trees evaluated in numpy.

The trees are trained outside the product (``benchmarks/dedup_verdict.py``, on pairs of the development
sets, never the held-out seeds) and shipped as a JSON file of numbers: per node its feature,
threshold and children, per leaf its value. Nothing here needs scikit-learn: every pair is scored by every
tree at once, from bit masks of the trees' leaves (see ``_Segment``).

A pair's features are a pure function of the two texts (see ``pipeline.dedup.pairs``), so the verdict does
not depend on the view, the day or the order of the input: the cluster semantics stay exact.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MODEL = Path(__file__).with_name("verdict.json")
_CHUNK = 8192  # pairs per evaluation step: (pairs x trees) leaf masks and their temporaries, ~10 MB
# leaf masks by the leaves they hold
_MASK = {8: np.uint8, 16: np.uint16, 32: np.uint32, 64: np.uint64}
_ONES = {w: (1 << w) - 1 for w in _MASK}


@dataclass(frozen=True, eq=False)
class _Segment:
    """Trees scored together by leaf masks (QuickScorer: Lucchese et al., SIGIR 2015).

    A tree's leaves are numbered left to right, bit ``l`` of a mask standing for leaf ``l``. A node whose
    test sends a row right rules out the leaves of its left subtree, and the leaf the row reaches is the
    lowest bit left after every such node has cleared its own. For one feature, the nodes sending a row
    right are those whose threshold is under its value: a prefix of the nodes sorted by threshold. So the
    masks are ANDed once per feature, from a table of running ANDs over that order, instead of a gather
    per node and level of a walk.
    """

    used: tuple[int, ...]  # columns of x the trees test
    thresholds: tuple[np.ndarray, ...]  # per used column: its nodes' thresholds, ascending
    masks: tuple[np.ndarray, ...]  # per used column: (nodes + 1, trees), row c = the AND of the first c nodes' masks
    missing: tuple[np.ndarray, ...]  # per used column: (trees,) the AND of the masks of nodes sending NaN right
    values: np.ndarray  # float64 (trees x leaves): tree t's leaf l at [t, l]

    def raw(self, xs: np.ndarray, nan: bool) -> np.ndarray:
        """The sum of the leaf values of the segment's trees, per row of ``xs``."""
        trees, width = self.values.shape
        acc = np.full((xs.shape[0], trees), _ONES[width], dtype=_MASK[width])
        for col, thr, table, miss in zip(self.used, self.thresholds, self.masks, self.missing, strict=True):
            v = xs[:, col]
            got = table[np.searchsorted(thr, v, side="left")]  # (a node sends x right when x > its threshold)
            if nan:
                gone = np.isnan(v)
                got[gone] = miss
            acc &= got
        leaf = np.frexp((acc & (~acc + np.asarray(1, dtype=acc.dtype))).astype(np.float64))[1] - 1  # lowest set bit
        # (rows x trees) leaf values summed along each row in tree order: the sum a node-by-node walk gives
        return self.values[np.arange(trees), leaf].sum(1)


@dataclass(frozen=True, eq=False)
class Forest:
    """Additive trees: the probability is ``sigmoid(base + the sum of each tree's leaf value)``.

    With an early exit the trees are two segments, those before it and the rest (see ``score``).
    """

    features: tuple[str, ...]
    segments: tuple[_Segment, ...]
    base: float
    exit_raw: float  # (with two segments) rows under this after the first go no further

    def score(self, x: np.ndarray) -> np.ndarray:
        """Probability of each row of ``x`` (pairs x ``len(features)``) being a duplicate pair.

        With an early exit (``exit_trees``), a row whose sum after the first ``exit_trees`` trees is under
        ``exit_raw`` stops there: its probability is that of the partial sum (below any useful cut; the
        training command sets ``exit_raw`` under the partial sums of the pairs the whole forest accepts).
        """
        x = np.ascontiguousarray(x, dtype=np.float64)
        nan = bool(np.isnan(x).any())
        raw = np.full(x.shape[0], self.base)
        for s in range(0, x.shape[0], _CHUNK):
            xs = x[s : s + _CHUNK]
            part = raw[s : s + _CHUNK]
            part += self.segments[0].raw(xs, nan)
            if len(self.segments) > 1:
                go = np.flatnonzero(part >= self.exit_raw)
                if go.size:
                    part[go] += self.segments[1].raw(xs[go], nan)
        return 1.0 / (1.0 + np.exp(-raw))


@dataclass(frozen=True, eq=False)
class Verdict:
    """Forests in a cascade. The *screen* sees only what every candidate pair has already (MinHash
    estimates, lengths, shared word keys) and rejects the pairs that are plainly unrelated: most
    candidates of a large window are chance band collisions, and the full features cost ~50x more. The
    *triage* (optional) also sees the verifier's alignment and the figures (~40 % of the full features' cost) and
    rejects most of what is left: texts sharing a topic or a formula, not a story. The *model* judges the
    rest on the full features: a duplicate when its probability reaches ``cut``. Each earlier stage's cut
    keeps all but a set share of the pairs the model accepts rightly (``benchmarks/dedup_verdict.py``)."""

    screen: Forest
    screen_cut: float
    model: Forest
    cut: float
    evidence: float  # pairs under the MinHash threshold with a max(whole, lead) Jaccard estimate under this
    keys: int  # ... or fewer shared word keys than this are rejected unseen (``looks_at``)
    version: str
    triage: Forest | None = None
    triage_cut: float = 0.0

    def looks_at(self, *, evidence: np.ndarray, keys: np.ndarray, similar: np.ndarray) -> np.ndarray:
        """Pairs the forests judge: MinHash-similar ones, and those with some evidence of a shared part."""
        return similar | ((evidence >= self.evidence) & (keys >= self.keys))

    @property
    def stages(self) -> tuple[tuple[Forest, float], ...]:
        """The forests before the model, with their cuts, in the order they look."""
        return ((self.screen, self.screen_cut),) + (((self.triage, self.triage_cut),) if self.triage else ())


def verdict_from_dict(d: dict) -> Verdict:
    """A ``Verdict`` from its JSON form (``screen``, optionally ``triage``, and ``model`` forests, see
    ``from_dict``)."""
    return Verdict(
        screen=from_dict(d["screen"]),
        screen_cut=float(d["screen_cut"]),
        model=from_dict(d["model"]),
        cut=float(d["cut"]),
        evidence=float(d["evidence"]),
        keys=int(d["keys"]),
        version=str(d["version"]),
        triage=from_dict(d["triage"]) if d.get("triage") else None,
        triage_cut=float(d.get("triage_cut", 0.0)),
    )


def from_dict(d: dict) -> Forest:
    """A ``Forest`` from the JSON form: ``features``, ``base`` and ``trees``, a list of node lists, each node
    ``[feature, threshold, missing_left, left, right, value]`` with children indexed within the tree (-1 at
    leaves); optionally ``exit_trees`` and ``exit_raw`` (the early exit, see ``Forest.score``)."""
    trees = d["trees"]
    cut = int(d.get("exit_trees") or len(trees))
    return Forest(
        features=tuple(d["features"]),
        # (deepest tree first within a segment: the order the sums of earlier versions were taken in, and a
        # sum's last bit depends on it)
        segments=tuple(_segment(sorted(p, key=_depth, reverse=True)) for p in (trees[:cut], trees[cut:]) if p),
        base=float(d["base"]),
        exit_raw=float(d.get("exit_raw", -np.inf)),
    )


def _segment(trees: list[list]) -> _Segment:
    """Leaf masks of the trees' nodes, in the tables ``_Segment.raw`` reads (see ``_Segment``)."""
    width = max(_leaves(t) for t in trees)
    if width > 64:
        raise ValueError(f"a tree with {width} leaves: leaf masks hold at most 64")
    width = next(w for w in _MASK if w >= width)
    dtype, ones = _MASK[width], _ONES[width]
    values = np.zeros((len(trees), width))
    nodes: list[tuple[int, float, bool, int, int]] = []  # internal nodes: feature, threshold, missing_left, tree, mask
    for t, tree in enumerate(trees):
        n_leaves = 0

        def visit(i: int, t: int = t, tree: list = tree) -> tuple[int, int]:
            """Number the leaves under node ``i`` left to right; their range [lo, hi)."""
            nonlocal n_leaves
            f, thr, m, lo, hi, v = tree[i]
            if lo < 0:
                values[t, n_leaves] = v
                n_leaves += 1
                return n_leaves - 1, n_leaves
            first, mid = visit(lo)
            visit(hi)
            left = ((1 << (mid - first)) - 1) << first  # the leaves of the left subtree
            nodes.append((f, thr, bool(m), t, ones & ~left))
            return first, n_leaves

        visit(0)
    used = sorted({f for f, *_ in nodes})
    thresholds, masks, missing = [], [], []
    for col in used:
        mine = sorted((n for n in nodes if n[0] == col), key=lambda n: n[1])
        step = np.full((len(mine) + 1, len(trees)), ones, dtype=dtype)
        nan = np.full(len(trees), ones, dtype=dtype)
        for k, (_, _, m, t, mask) in enumerate(mine, start=1):
            step[k, t] = mask
            if not m:
                nan[t] &= dtype(mask)
        thresholds.append(np.array([n[1] for n in mine], dtype=np.float64))
        masks.append(np.bitwise_and.accumulate(step, axis=0))
        missing.append(nan)
    return _Segment(
        used=tuple(used), thresholds=tuple(thresholds), masks=tuple(masks), missing=tuple(missing), values=values
    )


def _depth(tree: list) -> int:
    best, stack = 0, [(0, 0)]
    while stack:
        i, dep = stack.pop()
        lo, hi = tree[i][3], tree[i][4]
        if lo < 0:
            best = max(best, dep)
        else:
            stack += [(lo, dep + 1), (hi, dep + 1)]
    return best


def _leaves(tree: list) -> int:
    return sum(1 for node in tree if node[3] < 0)


@functools.cache
def load(path: str | None = None) -> Verdict:
    """The verdict in ``path``, by default the shipped one, ``MODEL`` (cached: parsed once per process)."""
    return verdict_from_dict(json.loads(Path(path or MODEL).read_text()))
