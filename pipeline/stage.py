"""What every stage runner returns, the partition keys, and the one ordered list of stages.

A runner reads, transforms, writes and returns a :class:`StageResult`: per table and partition, the rows
written, the Delta version, a preview frame and the stage's figures; per check and partition, pass or fail.
Plain data only, so a stage and its checks are tested without Dagster; ``assets/`` turns a result into
Dagster events one partition at a time.

Partition keys are the publication days (``YYYY-MM-DD``) plus :data:`UNDATED` for documents without a
trustworthy date, which go through every stage like a day of their own.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import polars as pl

from pipeline import versions

UNDATED = "undated"
Day = date | None  # None = the undated documents


def day_key(day: Day) -> str:
    """The partition key of a publication day (``None`` = :data:`UNDATED`)."""
    return UNDATED if day is None else day.isoformat()


def parse_key(key: str) -> Day:
    """Inverse of :func:`day_key`; raises :class:`InvalidDate` for anything else."""
    if key == UNDATED:
        return None
    from pipeline.storage import validate_date  # storage imports deltalake; keep this module light

    return validate_date(key)


def sort_keys(keys: Iterable[str]) -> list[str]:
    """Days in calendar order, then :data:`UNDATED` (the order Dagster shows and ranges follow)."""
    return sorted(set(keys), key=lambda k: (k == UNDATED, k))


def order_days(days: Iterable[Day]) -> list[Day]:
    """Distinct days in calendar order, the undated key (None) last: the order every runner works in."""
    return sorted(set(days), key=lambda d: (d is None, d))


def split_days(days: Iterable[Day]) -> tuple[list[date], bool]:
    """(sorted dated days, whether the undated key is among them): the arguments storage reads take."""
    days = list(days)
    return sorted({d for d in days if d is not None}), any(d is None for d in days)


@dataclass(frozen=True)
class CheckOutcome:
    """One check on one partition of one table."""

    table: str
    name: str
    passed: bool
    partition: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TableOutcome:
    """What a stage wrote to one partition of one table (``partition`` None = an unpartitioned table)."""

    table: str
    partition: str | None
    rows: int
    version: int | None
    preview: pl.DataFrame
    figures: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class StageResult:
    """A runner's outcome: one entry per table partition written and per check evaluated."""

    stage: str
    tables: list[TableOutcome] = field(default_factory=list)
    checks: list[CheckOutcome] = field(default_factory=list)
    figures: Mapping[str, Any] = field(default_factory=dict)

    def failed_checks(self) -> list[CheckOutcome]:
        return [c for c in self.checks if not c.passed]


def per_partition(
    table: str,
    frame: pl.DataFrame,
    days: Iterable[Day],
    *,
    version: int | None,
    figures=None,
    preview_sort: str | None = None,
) -> list[TableOutcome]:
    """One :class:`TableOutcome` per day from a frame holding the rows written for all of them.

    ``figures(day, day_rows)`` returns the stage's figures for one day.
    """
    out = []
    by_day = {k[0]: g for k, g in frame.group_by("pub_date")} if frame.height else {}
    for day in days:
        rows = by_day.get(day, frame.clear())
        shown = rows.sort(preview_sort, descending=True) if preview_sort and rows.height else rows
        out.append(
            TableOutcome(
                table, day_key(day), rows.height, version, shown.head(10), figures(day, rows) if figures else {}
            )
        )
    return out


def offsets_mismatch(rows: pl.DataFrame, docs: pl.DataFrame) -> pl.DataFrame:
    """Rows whose (start, end) slice of their document's text differs from their stored text."""
    if rows.height == 0:
        return rows.select("doc_id", "pub_date").clear()
    joined = rows.select("doc_id", "pub_date", "start", "end", "text").join(
        docs.select("doc_id", pl.col("text").alias("doc_text")), on="doc_id", how="left"
    )
    return (
        joined.with_columns(
            pl.col("doc_text").str.slice(pl.col("start"), pl.col("end") - pl.col("start")).alias("slice")
        )
        .filter((pl.col("slice") != pl.col("text")) | pl.col("slice").is_null())
        .select("doc_id", "pub_date")
    )


def count_by_day(frame: pl.DataFrame, days: Iterable[Day]) -> dict[Day, int]:
    """Rows of ``frame`` per day, 0 for days without any."""
    counts = dict(frame.group_by("pub_date").len().iter_rows()) if frame.height else {}
    return {d: int(counts.get(d, 0)) for d in days}


@dataclass(frozen=True)
class Stage:
    """One daily stage: its name, the assets (tables) it materializes in order, and its code version."""

    name: str
    tables: tuple[str, ...]
    code_version: str
    checks: Mapping[str, Mapping[str, str]] = field(default_factory=dict)  # table -> check name -> meaning


INGEST = Stage(
    "ingest",
    ("files", "documents", "rejects"),
    versions.INGEST,
    {
        "files": {"every_record_accounted_for": "For every file: records = documents + record rejects."},
        "documents": {"dates_sane": "pub_date is the UTC date of pub_datetime and not after tomorrow."},
    },
)
DEDUP = Stage(
    "dedup",
    ("signatures", "duplicates"),
    versions.DEDUP,
    {
        "duplicates": {
            "every_document_clustered": "Every document of the partition has exactly one duplicates row.",
            "canonical_is_in_cluster": "Every canonical_doc_id is a document within the window.",
        },
    },
)
SENTENCES = Stage(
    "sentences",
    ("sentences",),
    versions.SEGMENT,
    {
        "sentences": {
            "offsets_reproduce_sentences": "documents.text[start:end] equals the stored sentence, for every row.",
            "sentence_ids_unique": "(doc_id, sent_idx) is unique.",
        },
    },
)
ENTITIES = Stage(
    "entities",
    ("entities", "entity_daily"),
    versions.ENTITIES_WITH_MODEL,
    {
        "entities": {
            "offsets_reproduce_mentions": "documents.text[start:end] equals the stored mention, for every row.",
            "sentence_exists": "Every entity's document and sentence exist in `sentences`.",
        },
    },
)

STAGES: tuple[Stage, ...] = (INGEST, DEDUP, SENTENCES, ENTITIES)
"""Every stage in processing order; each job and the CLI follow it."""
DAILY: tuple[Stage, ...] = STAGES[1:]
"""The stages that run per publication day, after ingestion."""
DAILY_TABLES: tuple[str, ...] = tuple(t for s in DAILY for t in s.tables)
LAST_TABLE = DAILY_TABLES[-1]
"""A day is done when this table's partition was written after its inputs last changed."""
