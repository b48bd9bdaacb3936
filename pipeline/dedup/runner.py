"""Stage ``dedup`` runner: ``documents`` -> ``signatures`` -> ``duplicates`` for a set of days.

The undated documents are a partition of their own (:data:`pipeline.stage.UNDATED`): they are compared only
with each other, as the clustering defines.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import polars as pl

from pipeline import storage, versions
from pipeline.config import Settings
from pipeline.dedup.cluster import deduplicate, window_bounds
from pipeline.dedup.signatures import compute_signatures
from pipeline.errors import MissingTable
from pipeline.schema import DOCUMENTS, DUPLICATES, SIGNATURES
from pipeline.stage import CheckOutcome, Day, StageResult, count_by_day, day_key, order_days, per_partition, split_days
from pipeline.storage import Lake


def require(lake: Lake, table, *, needed_by: str) -> None:
    """Fail with a clear message when an upstream table does not exist (never an empty partition)."""
    if not lake.exists(table):
        raise MissingTable(
            f"{needed_by} needs the table {table.name!r}, which does not exist under "
            f"{lake.root}: run ingestion first (newslake run)"
        )


def canonical(lake: Lake, days: Iterable[Day]) -> pl.DataFrame:
    """The documents downstream stages process: canonical ones (all of them before dedup ran).

    The same rule as the ``unique_documents`` view in ``newslake sql``, extended to the undated key.
    """
    dated, undated = split_days(days)
    docs = storage.read(lake, DOCUMENTS, dates=dated, undated=undated)
    dups = storage.read(lake, DUPLICATES, dates=dated, undated=undated, columns=["doc_id", "is_canonical"])
    return docs.join(dups, on="doc_id", how="left").filter(pl.col("is_canonical").fill_null(True))


def run(
    lake: Lake,
    days: Iterable[Day],
    *,
    settings: Settings,
    run_id: str | None,
    on_progress: Callable[[int, int], None] | None = None,
) -> StageResult:
    """Signatures, then duplicate clusters, for ``days``; per-day outcomes and checks."""
    days = order_days(days)
    require(lake, DOCUMENTS, needed_by="dedup")
    sig_tables = run_signatures(lake, days, settings=settings, run_id=run_id)
    if on_progress:
        on_progress(1, 2)
    result = run_duplicates(lake, days, settings=settings, run_id=run_id)
    if on_progress:
        on_progress(2, 2)
    return StageResult("dedup", sig_tables + result.tables, result.checks, result.figures)


def run_signatures(lake: Lake, days: list[Day], *, settings: Settings, run_id: str | None):
    dated, undated = split_days(days)
    docs = storage.read(lake, DOCUMENTS, dates=dated, undated=undated)
    sig = compute_signatures(docs, config=settings.dedup)
    version = storage.write_partitions(
        lake,
        SIGNATURES,
        sig,
        dates=dated,
        include_undated=undated,
        run_id=run_id,
        code_version=versions.DEDUP,
        extra_metadata={"settings_digest": settings.digest("dedup")},
    )
    return per_partition(
        "signatures",
        sig.drop("minhash"),
        days,
        version=version,
        figures=lambda day, rows: {"with_minhash": int(rows["exact_hash"].is_not_null().sum())},
    )


def _window(lake: Lake, days: list[Day], window_days: int | None) -> pl.LazyFrame:
    dated, undated = split_days(days)
    parts = []
    if dated:
        lo, _ = window_bounds(dated[0], window_days=window_days)
        # Lazy: deduplicate reads the window's MinHash lists only for candidate documents.
        parts.append(storage.scan(lake, SIGNATURES, between=(lo, dated[-1])))
    if undated:
        parts.append(storage.read(lake, SIGNATURES, dates=[], undated=True).lazy())
    return pl.concat(parts) if parts else SIGNATURES.empty().lazy()


def run_duplicates(lake: Lake, days: list[Day], *, settings: Settings, run_id: str | None) -> StageResult:
    cfg = settings.dedup
    dated, undated = split_days(days)
    day_sig = storage.read(lake, SIGNATURES, dates=dated, undated=undated)
    window = _window(lake, days, cfg.window_days)
    dups = deduplicate(day_sig, window, config=cfg)
    version = storage.write_partitions(
        lake,
        DUPLICATES,
        dups,
        dates=dated,
        include_undated=undated,
        run_id=run_id,
        code_version=versions.DEDUP,
        extra_metadata={"settings_digest": settings.digest("dedup")},
    )
    window_ids = window.select("doc_id").collect()["doc_id"]

    def figures(day: Day, rows: pl.DataFrame) -> dict:
        n = rows.height
        dup = int((~rows["is_canonical"]).sum()) if n else 0
        return {
            "documents": n,
            "duplicates": dup,
            "duplicate_rate": round(dup / n, 4) if n else 0.0,
            "duplicates_exact": int((rows["method"] == "exact").sum()) if n else 0,
            "duplicates_near": int((rows["method"] == "near").sum()) if n else 0,
            "window_days": "unlimited" if cfg.window_days is None else cfg.window_days,
        }

    tables = per_partition("duplicates", dups, days, version=version, figures=figures)
    # One pass per check over all the days (not one filter per day: a year's backfill has 365 days).
    missing = count_by_day(day_sig.join(dups, on="doc_id", how="anti"), days)
    repeated = _repeated_ids_by_day(dups, days)
    dangling = count_by_day(dups.filter(~pl.col("canonical_doc_id").is_in(window_ids.implode())), days)
    checks = []
    for day in days:
        key = day_key(day)
        checks += [
            CheckOutcome(
                "duplicates",
                "every_document_clustered",
                missing[day] == 0 and repeated[day] == 0,
                key,
                {"missing": missing[day], "repeated": repeated[day]},
            ),
            CheckOutcome(
                "duplicates", "canonical_is_in_cluster", dangling[day] == 0, key, {"dangling_canonicals": dangling[day]}
            ),
        ]
    return StageResult("dedup", tables, checks, {"window_documents": window_ids.len()})


def _repeated_ids_by_day(dups: pl.DataFrame, days: list[Day]) -> dict[Day, int]:
    """Rows beyond the first per ``doc_id``, per day."""
    if dups.height == 0:
        return dict.fromkeys(days, 0)
    per_day = dups.group_by("pub_date").agg((pl.len() - pl.col("doc_id").n_unique()).alias("n"))
    counts = dict(per_day.iter_rows())
    return {d: int(counts.get(d, 0)) for d in days}
