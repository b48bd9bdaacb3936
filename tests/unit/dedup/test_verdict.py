"""The learned verdict's trees, evaluated in numpy: the walk, the shipped model, the features it names."""

from __future__ import annotations

import hashlib
import math

import numpy as np
import pytest

from pipeline import versions
from pipeline.dedup import pairs, verdict

# two trees of different depths; node = [feature, threshold, missing_left, left, right, value]
FOREST = {
    "features": ["x", "y"],
    "base": -0.5,
    "trees": [
        [[0, 1.0, True, 1, 2, 0.0], [0, 0, False, -1, -1, -1.0], [0, 0, False, -1, -1, 2.0]],
        [
            [1, 0.0, False, 1, 2, 0.0],
            [0, 0, False, -1, -1, 0.25],
            [0, 3.0, True, 3, 4, 0.0],
            [0, 0, False, -1, -1, -0.75],
            [1, 5.0, False, 5, 6, 0.0],
            [0, 0, False, -1, -1, 1.5],
            [0, 0, False, -1, -1, -2.0],
        ],
    ],
}


def walk(tree: list, row: list[float]) -> float:
    """One tree, one row, node by node: the reference the vectorised walk must match."""
    i = 0
    while tree[i][3] >= 0:
        f, t, missing_left, left, right, _ = tree[i]
        v = row[f]
        i = (left if missing_left else right) if math.isnan(v) else (left if v <= t else right)
    return tree[i][5]


def test_leaf_masks_match_node_by_node_evaluation():
    f = verdict.from_dict(FOREST)
    assert len(f.segments) == 1
    rng = np.random.default_rng(0)
    x = rng.uniform(-2, 7, size=(500, 2))
    x[rng.random(x.shape) < 0.1] = np.nan
    x[:5] = [[1.0, 0.0], [1.0, 5.0], [0.5, 4.9], [np.nan, 6.0], [3.0, np.nan]]  # on the thresholds, missing
    raw = [FOREST["base"] + sum(walk(t, list(r)) for t in FOREST["trees"]) for r in x]
    expect = 1 / (1 + np.exp(-np.array(raw)))
    np.testing.assert_allclose(f.score(x), expect, rtol=0, atol=1e-12)
    # without missing values the fast path gives the same
    clean = np.nan_to_num(x, nan=2.0)
    raw = [FOREST["base"] + sum(walk(t, list(r)) for t in FOREST["trees"]) for r in clean]
    np.testing.assert_allclose(f.score(clean), 1 / (1 + np.exp(-np.array(raw))), rtol=0, atol=1e-12)


def random_tree(rng: np.random.Generator, leaves: int, features: int) -> list:
    """A tree of ``leaves`` leaves grown by splitting random leaves: lopsided and balanced shapes, thresholds
    from a few values (ties between nodes), NaN sent either way."""
    tree = [[0, 0.0, False, -1, -1, float(rng.normal())]]
    for _ in range(leaves - 1):
        at = int(rng.choice([i for i, n in enumerate(tree) if n[3] < 0]))
        tree[at] = [int(rng.integers(features)), float(rng.integers(-3, 4)) / 2, bool(rng.random() < 0.5),
                    len(tree), len(tree) + 1, 0.0]  # fmt: skip
        tree += [[0, 0.0, False, -1, -1, float(rng.normal())] for _ in range(2)]
    return tree


@pytest.mark.parametrize("leaves", [1, 2, 7, 8, 9, 16, 31, 33, 64])
def test_random_forests_match_node_by_node_evaluation(leaves: int):
    """Leaf masks of every width (8, 16, 32 and 64 bits), one-leaf trees, shared thresholds, missing values
    and values on the thresholds: each row's sum equals the walk's, bit for bit when taken in the same order."""
    rng = np.random.default_rng(leaves)
    trees = [random_tree(rng, int(rng.integers(1, leaves + 1)) if i else leaves, 4) for i in range(12)]
    f = verdict.from_dict({"features": list("abcd"), "base": 0.25, "trees": trees})
    x = rng.integers(-4, 5, size=(3000, 4)) / 2 + rng.choice([0.0, 0.1, -0.1], size=(3000, 4))
    x[rng.random(x.shape) < 0.1] = np.nan
    order = sorted(trees, key=verdict._depth, reverse=True)
    raw = np.array([[walk(t, list(r)) for t in order] for r in x]).sum(1) + 0.25
    np.testing.assert_array_equal(f.score(x), 1 / (1 + np.exp(-raw)))


def test_more_than_64_leaves_are_refused():
    with pytest.raises(ValueError, match="65 leaves"):
        verdict.from_dict({"features": ["a"], "base": 0.0, "trees": [random_tree(np.random.default_rng(0), 65, 1)]})


def test_scores_are_the_same_in_chunks(monkeypatch: pytest.MonkeyPatch):
    f = verdict.from_dict(FOREST)
    x = np.random.default_rng(1).uniform(-2, 7, size=(1000, 2))
    whole = f.score(x)
    monkeypatch.setattr(verdict, "_CHUNK", 7)
    np.testing.assert_array_equal(f.score(x), whole)


def test_early_exit_stops_only_rows_under_its_floor():
    """After the first tree, rows whose sum is under ``exit_raw`` keep it; the others get every tree."""
    early = verdict.from_dict(FOREST | {"exit_trees": 1, "exit_raw": 0.0})
    assert len(early.segments) == 2
    x = np.random.default_rng(2).uniform(-2, 7, size=(400, 2))
    first = np.array([FOREST["base"] + walk(FOREST["trees"][0], list(r)) for r in x])
    whole = np.array([FOREST["base"] + sum(walk(t, list(r)) for t in FOREST["trees"]) for r in x])
    expect = np.where(first >= 0.0, whole, first)
    assert (first < 0).any() and (first >= 0).any()  # both kinds of rows are there
    np.testing.assert_allclose(early.score(x), 1 / (1 + np.exp(-expect)), rtol=0, atol=1e-12)
    # no floor: the same as no exit at all
    no_floor = verdict.from_dict(FOREST | {"exit_trees": 1, "exit_raw": -np.inf})
    np.testing.assert_array_equal(no_floor.score(x), verdict.from_dict(FOREST).score(x))


def test_shipped_verdict_names_known_features():
    v = verdict.load()
    assert 0 < v.cut < 1 and 0 < v.screen_cut < 1 and 0 <= v.evidence < 1
    assert set(v.screen.features) <= set(pairs.MINHASH + ("nw",))  # the screen's features cost nothing
    assert set(v.model.features) <= set(pairs.ALL)
    for f in (v.screen, v.model):
        for seg in f.segments:
            assert max(seg.used) < len(f.features)
            for thr, table in zip(seg.thresholds, seg.masks, strict=True):
                assert (np.diff(thr) >= 0).all() and table.shape == (thr.size + 1, seg.values.shape[0])


def test_a_new_model_is_a_new_code_version():
    """The trees decide what is a duplicate: shipping others must change ``versions.DEDUP`` (stale days are
    then listed and recomputed on request), so the model's hash is pinned next to it."""
    digest = hashlib.sha256(verdict.MODEL.read_bytes()).hexdigest()
    assert digest == versions.DEDUP_MODEL_SHA256, "verdict.json changed: bump versions.DEDUP and DEDUP_MODEL_SHA256"


def test_learned_verdict_refuses_settings_it_was_not_trained_with():
    """Its features are measured with the default signatures and verifier: other values are refused, by name;
    settings outside the features (the window) are free."""
    from pipeline.dedup import DedupConfig

    assert DedupConfig(verdict="learned", window_days=5, max_hops=3).window_days == 5
    with pytest.raises(ValueError, match="token_count"):
        DedupConfig(verdict="learned", token_count=0)
    with pytest.raises(ValueError, match="bands, rows"):
        DedupConfig(verdict="learned", num_perm=168, bands=84, rows=2)
    assert DedupConfig(verdict="rules", token_count=0).token_count == 0  # the rules take any of them
    with pytest.raises(ValueError, match="verdict = 'rules'"):  # the default names the way out
        DedupConfig(token_count=0)


def test_a_pair_the_triage_rejects_is_never_judged_by_the_model(monkeypatch: pytest.MonkeyPatch):
    """The cascade in ``deduplicate``: a near copy is linked through the screen and the model; a triage stage
    (here the screen's forest again) that passes nothing (cut over 1) leaves it unlinked, and the model is
    never asked; one that passes everything changes nothing."""
    import dataclasses

    from tests.unit.dedup.test_dedup import STORY, dedup_all, doc

    edited = [STORY[0], STORY[1], STORY[2][:-20] + " said officials on Tuesday.", STORY[3]]
    rows = [doc("orig", 0, STORY), doc("near", 1, edited)]
    shipped = verdict.load()
    assert dedup_all(rows)["near"]["canonical_doc_id"] == "orig"
    asked: list[int] = []
    score = verdict.Forest.score
    monkeypatch.setattr(verdict.Forest, "score", lambda self, x: (asked.append(id(self)), score(self, x))[1])
    for cut, linked in ((1.01, False), (0.0, True)):
        with_triage = dataclasses.replace(shipped, triage=verdict.from_dict(_screen_dict()), triage_cut=cut)
        monkeypatch.setattr(verdict, "load", lambda path=None, v=with_triage: v)
        asked.clear()
        out = dedup_all(rows)
        assert (out["near"]["canonical_doc_id"] == "orig") is linked
        assert id(with_triage.triage) in asked and (id(shipped.model) in asked) is linked


def _screen_dict() -> dict:
    import json

    return json.loads(verdict.MODEL.read_text())["screen"]
