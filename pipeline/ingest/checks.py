"""Ingestion's checks as pure functions: nothing lost (reconciliation) and sane dates."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl


def unreconciled(files: pl.DataFrame, documents: pl.DataFrame, rejects: pl.DataFrame) -> pl.DataFrame:
    """Files whose records are not all accounted for: records != documents + record-level rejects.

    Every input record must be a document or a reject (duplicates are documents too; they are flagged, not
    removed). Byte-identical copies of another file (``duplicate_file``) produce nothing by design.
    """
    docs = documents.group_by("source_path").agg(pl.len().alias("found_documents"))
    rej = (
        rejects.filter(pl.col("record_key").is_not_null()).group_by("source_path").agg(pl.len().alias("found_rejects"))
    )
    latest = files.filter(pl.col("status") != "duplicate_file").sort("ingested_at").unique("path", keep="last")
    return (
        latest.join(docs, left_on="path", right_on="source_path", how="left")
        .join(rej, left_on="path", right_on="source_path", how="left")
        .with_columns(pl.col("found_documents", "found_rejects").fill_null(0))
        .filter(pl.col("records") != pl.col("found_documents") + pl.col("found_rejects"))
        .select("path", "records", "found_documents", "found_rejects")
    )


def date_problems(documents: pl.DataFrame, *, today: date) -> pl.DataFrame:
    """Documents whose partition disagrees with their UTC time, or that are dated after tomorrow."""
    return documents.filter(
        (pl.col("pub_date") != pl.col("pub_datetime").dt.date())
        | (pl.col("pub_date") > pl.lit(today + timedelta(days=1)))
        | (pl.col("pub_date").is_null() != pl.col("pub_datetime").is_null())
    ).select("doc_id", "pub_date", "pub_datetime", "date_raw", "source_path")
