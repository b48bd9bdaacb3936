"""Deduplication: per-day signatures (the cross-day index) and duplicate clusters against a window."""


import dagster as dg
import polars as pl

from assets.metadata import table_metadata
from assets.partitions import daily, run_days, single_run
from assets.resources import LakeResource
from assets.retry import transient_io_retry
from pipeline import dedup, storage, versions
from pipeline.schema import DOCUMENTS, DUPLICATES, SIGNATURES

GROUP = "deduplication"
_KINDS = {"python", "delta", "polars"}
# Dagster's view of the window (staleness and lineage); the window actually read is DedupSettings.window_days.
WINDOW_MAPPING = dg.TimeWindowPartitionMapping(start_offset=-30, end_offset=0)


class DedupSettings(dg.ConfigurableResource):
    """Deduplication settings: the window of earlier days to compare with (-1 = unlimited) and threshold."""

    window_days: int = 30
    threshold: float | None = None

    def config(self) -> dedup.DedupConfig:
        import dataclasses

        cfg = dedup.DedupConfig()
        changes = {"window_days": None if self.window_days < 0 else self.window_days}
        if self.threshold is not None:
            changes["threshold"] = self.threshold
        return dataclasses.replace(cfg, **changes)


@dg.asset(
    partitions_def=daily, backfill_policy=single_run, deps=["documents"], group_name=GROUP, kinds=_KINDS,
    code_version=versions.DEDUP, pool="newslake_lake",
)
def signatures(context: dg.AssetExecutionContext, lake: LakeResource, dedup_settings: DedupSettings):
    """MinHash band hashes, exact hash and figures of every dated document: the persistent dedup index."""
    return materialize_signatures(lake.lake(), run_days(context), run_id=context.run_id,
                                  config=dedup_settings.config())


def materialize_signatures(lk, days, *, run_id: str, config: dedup.DedupConfig) -> dg.MaterializeResult:
    """The ``signatures`` partitions of ``days`` (shared by the asset and the batch backfill job)."""
    docs = storage.read(lk, DOCUMENTS, dates=days)
    sig = dedup.compute_signatures(docs, config=config)
    with transient_io_retry():
        version = storage.write_partitions(lk, SIGNATURES, sig, dates=days, run_id=run_id,
                                           code_version=versions.DEDUP)
    return dg.MaterializeResult(metadata=table_metadata(SIGNATURES, sig.drop("minhash"), version=version,
                                                        uri=lk.uri(SIGNATURES)) | {"days": len(days)})


@dg.asset(
    partitions_def=daily, backfill_policy=single_run, group_name=GROUP, kinds=_KINDS,
    deps=[dg.AssetDep("signatures", partition_mapping=WINDOW_MAPPING)],
    code_version=versions.DEDUP, pool="newslake_lake",
    check_specs=[
        dg.AssetCheckSpec("every_document_clustered", asset="duplicates", blocking=True,
                          description="Every document of the partition has exactly one duplicates row."),
        dg.AssetCheckSpec("canonical_is_in_cluster", asset="duplicates", blocking=True,
                          description="Every canonical_doc_id is a document within the window."),
    ],
)
def duplicates(context: dg.AssetExecutionContext, lake: LakeResource, dedup_settings: DedupSettings):
    """Exact and near-duplicate clusters; each day compared with itself and the window of earlier days."""
    return materialize_duplicates(lake.lake(), run_days(context), run_id=context.run_id,
                                  config=dedup_settings.config())


def materialize_duplicates(lk, days, *, run_id: str, config: dedup.DedupConfig) -> dg.MaterializeResult:
    """The ``duplicates`` partitions of ``days`` (any set of days, in one pass over their windows)."""
    cfg = config
    lo, _ = dedup.window_bounds(days[0], window_days=cfg.window_days)
    day_sig = storage.read(lk, SIGNATURES, dates=days)
    # Lazy: deduplicate reads the window's MinHash lists only for candidate documents.
    window = storage.scan(lk, SIGNATURES, between=(lo, days[-1]))
    dups = dedup.deduplicate(day_sig, window, config=cfg)
    window_ids = storage.read(lk, SIGNATURES, between=(lo, days[-1]), columns=["doc_id"])["doc_id"]
    with transient_io_retry():
        version = storage.write_partitions(lk, DUPLICATES, dups, dates=days, run_id=run_id,
                                           code_version=versions.DEDUP)
    per_day = (
        dups.group_by("pub_date").agg(
            pl.len().alias("documents"), (~pl.col("is_canonical")).sum().alias("duplicates"),
            (pl.col("method") == "exact").sum().alias("exact"), (pl.col("method") == "near").sum().alias("near"),
        ).with_columns((pl.col("duplicates") / pl.col("documents")).round(4).alias("duplicate_rate"))
        .sort("pub_date")
    )
    n_dup = int((~dups["is_canonical"]).sum()) if dups.height else 0
    missing = day_sig.join(dups, on="doc_id", how="anti").height
    extra = dups.height - dups["doc_id"].n_unique() if dups.height else 0
    bad_canon = dups.filter(~pl.col("canonical_doc_id").is_in(window_ids.implode())).height
    return dg.MaterializeResult(
        metadata=table_metadata(
            DUPLICATES, dups.filter(~pl.col("is_canonical")), version=version, uri=lk.uri(DUPLICATES),
            duplicate_rate=round(n_dup / dups.height, 4) if dups.height else 0.0,
            duplicates_exact=int((dups["method"] == "exact").sum()) if dups.height else 0,
            duplicates_near=int((dups["method"] == "near").sum()) if dups.height else 0,
            window_days=cfg.window_days if cfg.window_days is not None else -1,
            window_documents=window_ids.len(),
            duplicate_rate_per_day=dg.MetadataValue.md(_md(per_day)),
        ),
        check_results=[
            dg.AssetCheckResult(check_name="every_document_clustered", passed=missing == 0 and extra == 0,
                                metadata={"missing": missing, "repeated": extra}),
            dg.AssetCheckResult(check_name="canonical_is_in_cluster", passed=bad_canon == 0,
                                metadata={"dangling_canonicals": bad_canon}),
        ],
    )


def _md(df: pl.DataFrame) -> str:
    with pl.Config(tbl_formatting="MARKDOWN", tbl_hide_column_data_types=True, tbl_hide_dataframe_shape=True,
                   tbl_rows=60):
        return str(df.head(60)) if df.height else "(no documents)"
