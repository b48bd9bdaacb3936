"""Stage ``entities`` runner: sentences of canonical documents -> ``entities`` (+ ``entity_cache``) ->
``entity_daily``.

Each document is tagged by the pipeline for its language (``TaggerConfig.model`` and ``other_models``: English
and French by default). A document in a language without an installed pipeline gets no entity rows and is
counted per day as ``skipped_language`` (an English model on German text yields noise such as ``dem`` NORP).
Documents whose language could not be detected are tagged by the primary model.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import polars as pl

from pipeline import storage, versions
from pipeline.config import Settings
from pipeline.dedup.runner import canonical, require
from pipeline.entities.tagger import (
    TaggerConfig,
    count_daily,
    model_id,
    model_language,
    models_by_language,
    tag_documents,
    warm_workers,
)
from pipeline.schema import DOCUMENTS, ENTITIES, ENTITY_CACHE, ENTITY_DAILY, SENTENCES
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
    chunk_documents: int = 2000,
) -> StageResult:
    """Tag the canonical documents of ``days``, then count entities per day; per-day outcomes and checks."""
    days = order_days(days)
    require(lake, DOCUMENTS, needed_by="entities")
    require(lake, SENTENCES, needed_by="entities")
    cfg = settings.entities
    dated, undated = _split(days)
    sents_all = storage.read(lake, SENTENCES, dates=dated, undated=undated)
    if sents_all.height >= cfg.min_parallel:
        # The workers load the model while this process reads the documents and the cache (in the background:
        # a pool a daily run already started is not waited for here).
        warm_workers(cfg)
    docs = canonical(lake, days)
    by_lang = models_by_language(cfg)
    primary = model_language(cfg)
    # Undetected language: the primary model. Another language without a model: skipped, counted per day.
    lang = pl.col("language").fill_null(primary)
    skipped = count_by_day(docs.filter(~lang.is_in(list(by_lang))), days)
    parts, models, totals = [], [], {"sentences": 0, "tagged_sentences": 0}
    for code, lang_cfg in by_lang.items():
        group = docs.filter(lang == code)
        if group.height == 0:
            continue
        sents = sents_all.join(group.select("doc_id"), on="doc_id", how="semi")
        mid = model_id(lang_cfg)
        models.append(mid)
        # Only the cache rows of these sentences are read (pushed down to the Parquet scan).
        cache = storage.read(lake, ENTITY_CACHE, where_in=("sent_hash", sents["sent_hash"].unique().to_list()))
        mentions, new_cache, stats = _tag_in_chunks(
            group, sents, cache.filter(pl.col("model") == mid), lang_cfg, chunk_documents, on_progress
        )
        parts.append(mentions)
        for k in totals:
            totals[k] += int(stats.get(k, 0))
        if new_cache.height:  # merged by (sent_hash, model): concurrent runs never add a key twice
            storage.upsert(
                lake,
                ENTITY_CACHE,
                new_cache.unique(["sent_hash", "model"]),
                run_id=run_id,
                code_version=versions.ENTITIES_WITH_MODEL,
            )
    mentions = pl.concat(parts) if parts else ENTITIES.empty()
    mid = ",".join(models) or model_id(cfg)
    sents = sents_all.join(docs.filter(lang.is_in(list(by_lang))).select("doc_id"), on="doc_id", how="semi")
    provenance = {"settings_digest": settings.digest("entities"), "model": mid}
    version = storage.write_partitions(
        lake,
        ENTITIES,
        mentions,
        dates=dated,
        include_undated=undated,
        run_id=run_id,
        code_version=versions.ENTITIES_WITH_MODEL,
        extra_metadata=provenance,
    )
    daily = count_daily(mentions)
    daily_version = storage.write_partitions(
        lake,
        ENTITY_DAILY,
        daily,
        dates=dated,
        include_undated=undated,
        run_id=run_id,
        code_version=versions.ENTITIES_WITH_MODEL,
        extra_metadata=provenance,
    )

    def figures(day: Day, rows: pl.DataFrame) -> dict:
        top = rows.group_by("norm", "label").len().sort("len", descending=True).head(15) if rows.height else None
        return {
            "model": mid,
            "by_label": dict(rows.group_by("label").len().iter_rows()) if rows.height else {},
            "top_entities": {f"{n} ({lab})": c for n, lab, c in top.iter_rows()} if top is not None else {},
            "skipped_language": skipped[day],
        }

    tables = per_partition("entities", mentions, days, version=version, figures=figures)
    tables += per_partition("entity_daily", daily, days, version=daily_version, preview_sort="mentions")
    bad = count_by_day(offsets_mismatch(mentions, docs), days)
    orphans = count_by_day(mentions.join(sents, on=["doc_id", "sent_idx"], how="anti"), days)
    checks = []
    for day in days:
        key = day_key(day)
        checks += [
            CheckOutcome("entities", "offsets_reproduce_mentions", bad[day] == 0, key, {"mismatched_rows": bad[day]}),
            CheckOutcome("entities", "sentence_exists", orphans[day] == 0, key, {"orphan_rows": orphans[day]}),
        ]
    figures_all = {
        "model": mid,
        "cache_hit_rate": (
            round(1 - totals["tagged_sentences"] / totals["sentences"], 4) if totals["sentences"] else 0.0
        ),
        "sentences_tagged": totals["tagged_sentences"],
        "skipped_language": sum(skipped.values()),
    }
    return StageResult("entities", tables, checks, figures_all)


def warm(*, settings: Settings) -> None:
    """Start the tagging workers in the background, for a process that runs other stages before this one.

    Their start-up (the fork server's spaCy import, each worker's model: ~1.5 s + ~0.9 s of CPU) then uses the
    core those single-threaded stages leave idle. Small runs gain too: tagging in-process would load the model
    on the critical path instead."""
    warm_workers(settings.entities)


def _tag_in_chunks(docs, sents, cache, cfg: TaggerConfig, chunk: int, on_progress):
    """Tag documents a chunk at a time: bounded memory, and progress over long backfills."""
    parts, caches = [], []
    totals: dict[str, float] = {}  # summed per-chunk counts, then the cache hit rate
    order = docs.sort("doc_id")
    for start in range(0, max(order.height, 1), chunk):
        part = order.slice(start, chunk)
        ids = part["doc_id"].implode()
        mentions, new_cache, stats = tag_documents(part, sents.filter(pl.col("doc_id").is_in(ids)), cache, config=cfg)
        parts.append(mentions)
        caches.append(new_cache)
        cache = pl.concat([cache, new_cache], how="vertical_relaxed") if new_cache.height else cache
        for k, v in stats.items():
            if isinstance(v, int | float) and k != "cache_hit_rate":
                totals[k] = totals.get(k, 0) + v
        if on_progress:
            on_progress(min(start + chunk, order.height), order.height)
    n = totals.get("sentences", 0)
    totals["cache_hit_rate"] = (n - totals.get("tagged_sentences", n)) / n if n else 0.0
    return pl.concat(parts), pl.concat(caches), totals
