"""The real-wire check's weak labels (``benchmarks/dedup_wire.py``): headline tickers tell companies apart."""

from __future__ import annotations

import polars as pl

from benchmarks.dedup_wire import company_groups, measure


def test_ticker_sets_sharing_a_ticker_are_one_company():
    assert company_groups([["WIT"], ["WIT"]]) == 1
    assert company_groups([["AFG", "GY"], ["GY"], ["AFG"]]) == 1  # one story naming both, then each
    assert company_groups([["WIT"], ["ABC"], ["WIT"], ["XYZ"]]) == 3
    # a later set can bridge two groups found before it
    assert company_groups([["A"], ["B"], ["A", "B"]]) == 1


def test_company_joins_and_same_ticker_docs_of_a_clustering():
    wire = pl.DataFrame(
        {
            "doc_id": ["n1", "n2", "n3", "c1", "c2", "x", "plain"],
            "tickers": [["WIT"], ["ABC"], ["XYZ"], ["IBM"], ["IBM"], ["IBM"], []],
        }
    )
    clusters = pl.DataFrame(
        {
            # three companies' notices in one cluster (two joins); a story and its correction; a lone story
            # of the same company; a story without a ticker joined to the correction
            "doc_id": ["n1", "n2", "n3", "c1", "c2", "x", "plain"],
            "cluster_id": ["n1", "n1", "n1", "c1", "c1", "x", "c1"],
        }
    )
    m = measure(wire, clusters)
    assert m == {"near_duplicates": 4, "company_joins": 2, "same_ticker_docs": 2}
    # the same documents each in its own cluster: nothing joined, nothing paired
    alone = measure(wire, clusters.with_columns(pl.col("doc_id").alias("cluster_id")))
    assert alone == {"near_duplicates": 0, "company_joins": 0, "same_ticker_docs": 0}
