"""Sentences, entity mentions and daily entity counts of canonical (non-duplicate) documents."""


import dagster as dg
import polars as pl

from assets.metadata import ProgressLog, counts_table, table_metadata
from assets.partitions import daily, run_days, single_run
from assets.resources import LakeResource
from assets.retry import transient_io_retry
from pipeline import sentences as segment
from pipeline import storage, versions
from pipeline.entities import tagger as ent
from pipeline.schema import DOCUMENTS, DUPLICATES, ENTITIES, ENTITY_CACHE, ENTITY_DAILY, SENTENCES

GROUP = "nlp"
_KINDS = {"python", "delta", "polars"}


class TaggerSettings(dg.ConfigurableResource):
    """Entity tagging: the installed spaCy pipeline to use (default en_core_web_sm) and worker processes."""

    model: str = "en_core_web_sm"
    n_process: int = 2
    chunk_documents: int = 2000

    def config(self) -> ent.TaggerConfig:
        import dataclasses

        return dataclasses.replace(ent.TaggerConfig(), model=self.model, n_process=self.n_process)

    def setup_for_execution(self, context) -> None:
        # Resources are set up when a run starts: the tagger workers load spaCy while the dedup and sentence
        # steps run, instead of when the entities step needs them (~3 s). They are kept for later runs.
        ent.start_workers(self.config())


def canonical_documents(lk, days) -> pl.DataFrame:
    """The day's documents that downstream stages process: canonical ones (or all, before dedup ran)."""
    docs = storage.read(lk, DOCUMENTS, dates=days)
    dups = storage.read(lk, DUPLICATES, dates=days, columns=["doc_id", "is_canonical"])
    return docs.join(dups, on="doc_id", how="left").filter(pl.col("is_canonical").fill_null(True))


def _offsets_mismatch(rows: pl.DataFrame, docs: pl.DataFrame) -> int:
    """Rows whose (start, end) slice of the document text differs from their stored text."""
    if rows.height == 0:
        return 0
    joined = rows.select("doc_id", "start", "end", "text").join(
        docs.select("doc_id", pl.col("text").alias("doc_text")), on="doc_id", how="left")
    ok = joined.with_columns(
        pl.col("doc_text").str.slice(pl.col("start"), pl.col("end") - pl.col("start")).alias("slice")
    ).filter((pl.col("slice") != pl.col("text")) | pl.col("slice").is_null())
    return ok.height


@dg.asset(
    partitions_def=daily, backfill_policy=single_run, deps=["documents", "duplicates"], group_name=GROUP,
    kinds=_KINDS, code_version=versions.SEGMENT, pool="newslake_lake",
    check_specs=[
        dg.AssetCheckSpec("offsets_reproduce_sentences", asset="sentences", blocking=True,
                          description="documents.text[start:end] equals the stored sentence, for every row."),
        dg.AssetCheckSpec("sentence_ids_unique", asset="sentences", blocking=True,
                          description="(doc_id, sent_idx) is unique."),
    ],
)
def sentences(context: dg.AssetExecutionContext, lake: LakeResource):
    """Sentences of canonical documents with exact character offsets and their section."""
    return materialize_sentences(lake.lake(), run_days(context), run_id=context.run_id)


def materialize_sentences(lk, days, *, run_id: str) -> dg.MaterializeResult:
    """The ``sentences`` partitions of ``days`` (shared by the asset and the batch backfill job)."""
    docs = canonical_documents(lk, days)
    sents = segment.segment_documents(docs)
    with transient_io_retry():
        version = storage.write_partitions(lk, SENTENCES, sents, dates=days, run_id=run_id,
                                           code_version=versions.SEGMENT)
    per_doc = sents.group_by("doc_id").len()["len"] if sents.height else pl.Series([], dtype=pl.UInt32)
    bad = _offsets_mismatch(sents, docs)
    dup_ids = sents.height - sents.select("doc_id", "sent_idx").n_unique() if sents.height else 0
    return dg.MaterializeResult(
        metadata=table_metadata(
            SENTENCES, sents, version=version, uri=lk.uri(SENTENCES), documents=docs.height,
            sentences_per_document=round(float(per_doc.mean()), 2) if per_doc.len() else 0.0,
            sentences_per_document_max=int(per_doc.max()) if per_doc.len() else 0,
            sections=counts_table(dict(sents.group_by("section").len().iter_rows()) if sents.height else {},
                                  key="section"),
        ),
        check_results=[
            dg.AssetCheckResult(check_name="offsets_reproduce_sentences", passed=bad == 0,
                                metadata={"mismatched_rows": bad}),
            dg.AssetCheckResult(check_name="sentence_ids_unique", passed=dup_ids == 0,
                                metadata={"repeated_ids": dup_ids}),
        ],
    )


@dg.asset(
    partitions_def=daily, backfill_policy=single_run, deps=["documents", "sentences"], group_name=GROUP,
    kinds=_KINDS | {"spacy"}, code_version=versions.ENTITIES_WITH_MODEL, pool="newslake_lake",
    check_specs=[
        dg.AssetCheckSpec("offsets_reproduce_mentions", asset="entities", blocking=True,
                          description="documents.text[start:end] equals the stored mention, for every row."),
        dg.AssetCheckSpec("sentence_exists", asset="entities", blocking=True,
                          description="Every entity's document and sentence exist in `sentences`."),
    ],
)
def entities(context: dg.AssetExecutionContext, lake: LakeResource, tagger: TaggerSettings):
    """Entity mentions with offsets, consistent labels and in-document name resolution (`norm`)."""
    return materialize_entities(lake.lake(), run_days(context), run_id=context.run_id, tagger=tagger,
                                log=context.log)


def materialize_entities(lk, days, *, run_id: str, tagger: TaggerSettings, log) -> dg.MaterializeResult:
    """The ``entities`` partitions of ``days`` and new ``entity_cache`` rows (asset and batch backfill job)."""
    cfg = tagger.config()
    docs = canonical_documents(lk, days)
    sents = storage.read(lk, SENTENCES, dates=days)
    hashes = sents["sent_hash"].unique().to_list()
    # Only the cache rows of this partition's sentences are read (pushed down to the Parquet scan).
    cache = storage.read(lk, ENTITY_CACHE, where_in=("sent_hash", hashes)).filter(
        pl.col("model") == ent.model_id(cfg))
    mentions, new_cache, stats = _tag_in_chunks(log, docs, sents, cache, cfg, tagger.chunk_documents)
    with transient_io_retry():
        # New rows are sentences whose hash was not in the cache: append, no MERGE over the whole cache.
        # A retry re-reads the cache first and finds them, so nothing is appended twice.
        storage.append(lk, ENTITY_CACHE, new_cache.unique(["sent_hash", "model"]), run_id=run_id,
                       code_version=versions.ENTITIES_WITH_MODEL)
        version = storage.write_partitions(lk, ENTITIES, mentions, dates=days, run_id=run_id,
                                           code_version=versions.ENTITIES_WITH_MODEL)
    bad = _offsets_mismatch(mentions, docs)
    orphans = mentions.join(sents, on=["doc_id", "sent_idx"], how="anti").height if mentions.height else 0
    top = (mentions.group_by("norm", "label").len().sort("len", descending=True).head(15)
           if mentions.height else pl.DataFrame())
    return dg.MaterializeResult(
        metadata=table_metadata(
            ENTITIES, mentions, version=version, uri=lk.uri(ENTITIES), model=ent.model_id(cfg),
            cache_hit_rate=float(stats.get("cache_hit_rate", 0.0)),
            sentences_tagged=int(stats.get("tagged_sentences", 0)),
            top_entities=counts_table({f"{n} ({lab})": c for n, lab, c in top.iter_rows()}, key="entity"),
            by_label=counts_table(dict(stats.get("by_label", {})), key="label"),
        ),
        check_results=[
            dg.AssetCheckResult(check_name="offsets_reproduce_mentions", passed=bad == 0,
                                metadata={"mismatched_rows": bad}),
            dg.AssetCheckResult(check_name="sentence_exists", passed=orphans == 0,
                                metadata={"orphan_rows": orphans}),
        ],
    )


def _tag_in_chunks(run_log, docs, sents, cache, cfg, chunk: int):
    """Tag documents a chunk at a time: bounded memory, and progress in the run log over long backfills."""
    log = ProgressLog(run_log, "documents tagged")
    parts, caches, totals = [], [], {}
    order = docs.sort("doc_id")
    for start in range(0, max(order.height, 1), chunk):
        part = order.slice(start, chunk)
        ids = part["doc_id"].implode()
        mentions, new_cache, stats = ent.tag_documents(part, sents.filter(pl.col("doc_id").is_in(ids)), cache,
                                                        config=cfg)
        parts.append(mentions)
        caches.append(new_cache)
        cache = pl.concat([cache, new_cache], how="vertical_relaxed") if new_cache.height else cache
        for k, v in stats.items():
            if isinstance(v, int | float) and k != "cache_hit_rate":
                totals[k] = totals.get(k, 0) + v
            elif isinstance(v, dict):
                agg = totals.setdefault(k, {})
                for kk, vv in v.items():
                    agg[kk] = agg.get(kk, 0) + vv
        log(min(start + chunk, order.height), order.height)
    n = totals.get("sentences", 0)
    totals["cache_hit_rate"] = (n - totals.get("tagged_sentences", n)) / n if n else 0.0
    return pl.concat(parts), pl.concat(caches), totals


@dg.asset(
    partitions_def=daily, backfill_policy=single_run, deps=["entities"], group_name="analytics",
    kinds=_KINDS, code_version=versions.ENTITIES_WITH_MODEL, pool="newslake_lake",
)
def entity_daily(context: dg.AssetExecutionContext, lake: LakeResource):
    """Mentions and documents per entity and day: the table a newsroom analyst opens first."""
    return materialize_entity_daily(lake.lake(), run_days(context), run_id=context.run_id)


def materialize_entity_daily(lk, days, *, run_id: str) -> dg.MaterializeResult:
    """The ``entity_daily`` partitions of ``days`` (shared by the asset and the batch backfill job)."""
    daily_counts = ent.count_daily(storage.read(lk, ENTITIES, dates=days))
    with transient_io_retry():
        version = storage.write_partitions(lk, ENTITY_DAILY, daily_counts, dates=days, run_id=run_id,
                                           code_version=versions.ENTITIES_WITH_MODEL)
    return dg.MaterializeResult(
        metadata=table_metadata(ENTITY_DAILY, daily_counts.sort("mentions", descending=True), version=version,
                                uri=lk.uri(ENTITY_DAILY))
    )
