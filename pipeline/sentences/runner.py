"""Stage ``sentences`` runner: canonical documents of a set of days -> ``sentences``."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import polars as pl

from pipeline import storage, versions
from pipeline.config import Settings
from pipeline.dedup.runner import canonical, require
from pipeline.schema import DOCUMENTS, SENTENCES
from pipeline.sentences.table import segment_documents
from pipeline.stage import (
    CheckOutcome,
    Day,
    StageResult,
    count_by_day,
    day_key,
    offsets_mismatch,
    order_days,
    per_partition,
)
from pipeline.stage import split_days as _split
from pipeline.storage import Lake


def run(
    lake: Lake,
    days: Iterable[Day],
    *,
    settings: Settings,
    run_id: str | None,
    on_progress: Callable[[int, int], None] | None = None,
) -> StageResult:
    """Split every canonical document of ``days`` into sentences; per-day outcomes and checks."""
    days = order_days(days)
    require(lake, DOCUMENTS, needed_by="sentences")
    docs = canonical(lake, days)
    sents = segment_documents(docs, config=settings.sentences)
    dated, undated = _split(days)
    version = storage.write_partitions(
        lake,
        SENTENCES,
        sents,
        dates=dated,
        include_undated=undated,
        run_id=run_id,
        code_version=versions.SEGMENT,
        extra_metadata={"settings_digest": settings.digest("sentences")},
    )
    docs_per_day = count_by_day(docs, days)

    def figures(day: Day, rows: pl.DataFrame) -> dict:
        per_doc = rows.group_by("doc_id").len()["len"] if rows.height else pl.Series([], dtype=pl.UInt32)
        return {
            "documents": docs_per_day[day],
            "sentences_per_document": round(float(per_doc.mean()), 2) if per_doc.len() else 0.0,  # type: ignore[arg-type]
            "sentences_per_document_max": int(per_doc.max()) if per_doc.len() else 0,  # type: ignore[arg-type]
            "sections": dict(rows.group_by("section").len().iter_rows()) if rows.height else {},
        }

    tables = per_partition("sentences", sents, days, version=version, figures=figures)
    bad = count_by_day(offsets_mismatch(sents, docs), days)
    repeated = count_by_day(sents.filter(pl.struct("doc_id", "sent_idx").is_duplicated()), days)
    checks = []
    for day in days:
        key = day_key(day)
        checks += [
            CheckOutcome("sentences", "offsets_reproduce_sentences", bad[day] == 0, key, {"mismatched_rows": bad[day]}),
            CheckOutcome("sentences", "sentence_ids_unique", repeated[day] == 0, key, {"repeated_ids": repeated[day]}),
        ]
    if on_progress:
        on_progress(1, 1)
    return StageResult("sentences", tables, checks, {"documents": docs.height})
