"""Chunked steps of ``deduplicate`` give the same result whatever the chunk sizes.

Candidate pairs are aggregated per chunk of frontier nodes, MinHash rows compared per chunk of pairs and
sketches verified per batch: a pair split across two chunks (its shared bands or word keys counted
apart) or a batch whose padding changed a verdict would change the clusters.
"""

from __future__ import annotations

import polars as pl
import pytest
from test_dedup import LONG, _corpus, doc, frame, ocr, paragraph, pseudo_words

from pipeline.dedup import DedupConfig, cluster, compute_signatures, deduplicate


def _mixed() -> pl.DataFrame:
    """The order-invariance corpus plus OCR-noisy and partial copies, two of them found by the verifier
    only (a candidate through shared word keys, no MinHash confirmation)."""
    words = " ".join(LONG).split(" ")
    part = [" ".join(words[: int(0.4 * len(words))]), paragraph(980, 80)]
    story = [paragraph(1700 + i, 30) for i in range(6)]
    noisy = [ocr(" ".join(" ".join(story).split(" ")[:60]), 11, 0.05) + ".", paragraph(1750, 40)]
    short = [pseudo_words(2700 + i, 30) for i in range(3)]
    brief = [" ".join(" ".join(short).replace(".", "").split(" ")[:26]) + ".", pseudo_words(2710, 40)]
    extra = frame(
        [doc("a", 0, LONG), doc("b", 1, [ocr(p, 7 + i) for i, p in enumerate(LONG)]), doc("c", 2, part),
         doc("d", 3, [ocr(p, 30 + i) for i, p in enumerate(part)]), doc("u", 2, [paragraph(990, 120)]),
         doc("full", 4, story), doc("part", 5, noisy), doc("short", 5, short), doc("brief", 6, brief)]
    )  # fmt: skip
    return pl.concat([*_corpus().values(), extra])


@pytest.mark.parametrize("key_chunk", [1, 7, 50])
def test_chunk_sizes_do_not_change_the_clusters(monkeypatch, key_chunk):
    # the leads must not decide: the verifier does (a rules setting)
    cfg = DedupConfig(verdict="rules", window_days=3, lead_threshold=0.99)
    sig = compute_signatures(_mixed(), config=cfg)
    ref = deduplicate(sig, sig, config=cfg)
    near = ref.filter(pl.col("method") == "near")
    assert near.height >= 8  # not trivial: near copies across days, verified partial copies among them
    assert {"b", "c", "y", "s_trim", "part", "brief"} <= set(near["doc_id"])
    monkeypatch.setattr(cluster, "_KEY_CHUNK", key_chunk)
    monkeypatch.setattr(cluster, "_SCORE_CHUNK", 3)
    monkeypatch.setattr(cluster, "_VERIFY_CHUNK", 2)
    assert deduplicate(sig, sig, config=cfg).equals(ref)
    # one day against the whole set as a LazyFrame window (another set of views)
    day = sig.filter(pl.col("pub_date") == sig["pub_date"].sort()[sig.height // 2])
    monkeypatch.undo()
    one = deduplicate(day, sig.lazy(), config=cfg)
    monkeypatch.setattr(cluster, "_KEY_CHUNK", key_chunk)
    assert deduplicate(day, sig.lazy(), config=cfg).equals(one)
