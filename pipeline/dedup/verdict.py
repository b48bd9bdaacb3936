"""A learned verdict for candidate pairs: gradient-boosted trees evaluated in numpy.

The trees are trained outside the product (``benchmarks/dedup_verdict.py``, on pairs of the development
sets, never the held-out seeds) and shipped as a JSON file of numbers: per node its feature,
threshold and children, per leaf its value. Nothing here needs scikit-learn: evaluating a tree is a walk
from its root, a comparison per level, done for every pair and every tree at once.

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
_CHUNK = 8192  # pairs per evaluation step: (pairs x trees) node indices and a level's temporaries, ~100 MB


@dataclass(frozen=True, eq=False)
class Forest:
    """Additive trees: the probability is ``sigmoid(base + the sum of each tree's leaf value)``.

    Nodes of every tree are in one set of arrays; each segment (the trees before the early exit, the
    rest) holds its trees' first nodes, deepest tree first. A leaf's children are itself, so walking a
    segment's ``depth`` levels ends on a leaf whatever a tree's own depth.
    """

    features: tuple[str, ...]
    feature: np.ndarray  # int64 per node (0 at leaves)
    threshold: np.ndarray  # float64 per node: go left when x <= threshold
    missing_left: np.ndarray  # bool per node: where NaN goes
    child: np.ndarray  # int32 (nodes x 2): left, right
    value: np.ndarray  # float64 per node (leaves)
    segments: tuple[tuple[np.ndarray, np.ndarray, int], ...]  # (roots, active per level, depth): see _walk
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
            part += self._walk(xs, 0, nan)
            if len(self.segments) > 1:
                go = np.flatnonzero(part >= self.exit_raw)
                if go.size:
                    part[go] += self._walk(xs[go], 1, nan)
        return 1.0 / (1.0 + np.exp(-raw))

    def _walk(self, xs: np.ndarray, segment: int, nan: bool) -> np.ndarray:
        """The sum of the leaf values of the segment's trees, per row."""
        roots, active, depth = self.segments[segment]
        width = xs.shape[1]
        flat = xs.ravel()
        at = (np.arange(xs.shape[0], dtype=np.int64) * width)[:, None]
        node = np.broadcast_to(roots, (xs.shape[0], roots.size)).copy()
        # trees are ordered deepest first: below level d only the first ``active[d]`` trees move
        for d in range(depth):
            k = int(active[d])
            cur = node[:, :k]
            v = flat[at + self.feature[cur]]
            right = v > self.threshold[cur]
            if nan:
                right = np.where(np.isnan(v), ~self.missing_left[cur], right)
            node[:, :k] = self.child[cur, right.view(np.int8)]
        return self.value[node].sum(1)


@dataclass(frozen=True, eq=False)
class Verdict:
    """Two forests in a cascade. The *screen* sees only what every candidate pair has already (MinHash
    estimates, lengths, shared word keys) and rejects the pairs that are plainly unrelated: most
    candidates of a large window are chance band collisions, and the full features cost ~50x more. The
    *model* judges the rest on the full features: a duplicate when its probability reaches ``cut``."""

    screen: Forest
    screen_cut: float
    model: Forest
    cut: float
    evidence: float  # pairs under the MinHash threshold with a max(whole, lead) Jaccard estimate under this
    keys: int  # ... or fewer shared word keys than this are rejected unseen (``looks_at``)
    version: str

    def looks_at(self, *, evidence: np.ndarray, keys: np.ndarray, similar: np.ndarray) -> np.ndarray:
        """Pairs the forests judge: MinHash-similar ones, and those with some evidence of a shared part."""
        return similar | ((evidence >= self.evidence) & (keys >= self.keys))


def verdict_from_dict(d: dict) -> Verdict:
    """A ``Verdict`` from its JSON form (``screen`` and ``model`` forests, see ``from_dict``)."""
    return Verdict(
        screen=from_dict(d["screen"]),
        screen_cut=float(d["screen_cut"]),
        model=from_dict(d["model"]),
        cut=float(d["cut"]),
        evidence=float(d["evidence"]),
        keys=int(d["keys"]),
        version=str(d["version"]),
    )


def from_dict(d: dict) -> Forest:
    """A ``Forest`` from the JSON form: ``features``, ``base`` and ``trees``, a list of node lists, each node
    ``[feature, threshold, missing_left, left, right, value]`` with children indexed within the tree (-1 at
    leaves); optionally ``exit_trees`` and ``exit_raw`` (the early exit, see ``Forest.score``)."""
    trees = d["trees"]
    cut = int(d.get("exit_trees") or len(trees))
    feature: list[int] = []
    threshold: list[float] = []
    missing: list[bool] = []
    child: list[tuple[int, int]] = []
    value: list[float] = []
    segments = []
    for part in (trees[:cut], trees[cut:]):
        if not part:
            continue
        part = sorted(part, key=_depth, reverse=True)  # (a sum: the order within a segment does not matter)
        depths = np.array([_depth(t) for t in part], dtype=np.int64)
        roots = []
        for tree in part:
            at = len(feature)
            roots.append(at)
            for i, (f, t, m, lo, hi, v) in enumerate(tree):
                leaf = lo < 0
                feature.append(0 if leaf else f)
                threshold.append(t)
                missing.append(bool(m))
                child.append((at + i, at + i) if leaf else (at + lo, at + hi))
                value.append(v)
        depth = int(depths.max(initial=0))
        active = np.array([(depths > level).sum() for level in range(depth)], dtype=np.int64)
        segments.append((np.asarray(roots, dtype=np.int32), active, depth))
    return Forest(
        features=tuple(d["features"]),
        feature=np.asarray(feature, dtype=np.int64),
        threshold=np.asarray(threshold, dtype=np.float64),
        missing_left=np.asarray(missing, dtype=bool),
        child=np.asarray(child, dtype=np.int32).reshape(-1, 2),
        value=np.asarray(value, dtype=np.float64),
        segments=tuple(segments),
        base=float(d["base"]),
        exit_raw=float(d.get("exit_raw", -np.inf)),
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


@functools.cache
def load(path: str | None = None) -> Verdict:
    """The verdict in ``path``, by default the shipped one, ``MODEL`` (cached: parsed once per process)."""
    return verdict_from_dict(json.loads(Path(path or MODEL).read_text()))
