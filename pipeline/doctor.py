"""Check every table's Delta log and data files, and repair what can be repaired (``newslake doctor``).

Pure library: returns plain data. Damage found per table (and per ``pub_date`` day where the log says):

* ``unreadable_log``: the table's log cannot be replayed (a corrupt or truncated JSON line); the entry names
  the log file and line when it is local;
* ``missing_file``: the log lists a data file that is gone (deleted by hand, a broken copy); on disk, and in an
  object store (S3 and the like: one listing per table);
* ``symlinked_file``: a data file that is a symlink or resolves outside the table root (never read);
* ``unlistable``: the object store refused to list the table's files (credentials, network): nothing is known.

:func:`repair` drops missing and symlinked files from the log (Delta's FSCK; the symlinks themselves are
removed: they are not data), then schedules re-ingestion: every inbox path whose records are no longer all
accounted for (documents + rejects) gets ``files.reason = 'repair_pending'``, a transient reason, so the next
``newslake run`` parses it again and rewrites its documents; the days whose downstream tables lost files are
returned for reprocessing (``newslake run --date ...``).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
import pyarrow as pa

from pipeline import storage
from pipeline.schema import DOCUMENTS, FILES, REJECTS, TABLES
from pipeline.storage import Lake

REPAIR_REASON = "repair_pending"


@dataclass(frozen=True)
class Damage:
    table: str
    kind: str  # unreadable_log | missing_file | symlinked_file | unlistable
    file: str  # the data or log file, relative to the table root when local
    day: str | None  # pub_date partition ("" = undated), None when unknown or unpartitioned
    detail: str = ""


@dataclass(frozen=True)
class RepairReport:
    removed: dict[str, int] = field(default_factory=dict)  # table -> files dropped from its log
    reingest_paths: list[str] = field(default_factory=list)  # inbox paths the next run parses again
    reprocess_days: list[str] = field(default_factory=list)  # days whose downstream stages must run again
    unrepaired: list[Damage] = field(default_factory=list)  # damage doctor cannot fix (corrupt logs)


def _local(lake: Lake) -> bool:
    return "://" not in lake.root


def _log_problems(lake: Lake, name: str, err: Exception) -> list[Damage]:
    """Name the corrupt log file and line (local lakes); else the error, with the table's name."""
    root = Path(lake.uri(name))
    out = []
    if _local(lake) and (root / "_delta_log").is_dir():
        for f in sorted((root / "_delta_log").glob("*.json")):
            try:
                lines = f.read_text(encoding="utf-8").splitlines()
            except (OSError, UnicodeDecodeError) as e:
                out.append(Damage(name, "unreadable_log", f"_delta_log/{f.name}", None, str(e)[:200]))
                continue
            for i, line in enumerate(lines, 1):
                if not line.strip():
                    continue
                try:
                    json.loads(line)
                except ValueError as e:
                    out.append(Damage(name, "unreadable_log", f"_delta_log/{f.name}", None, f"line {i}: {e}"))
    return out or [Damage(name, "unreadable_log", "_delta_log", None, f"{type(err).__name__}: {err}"[:300])]


def data_files(dt) -> list[str]:
    """Paths (relative to the table root) of the data files the table's current version lists."""
    return pa.table(dt.get_add_actions(flatten=True)).column("path").to_pylist()


def unsafe_files(lake: Lake, name: str, dt) -> list[tuple[str, str]]:
    """``(file, why)`` for data files of a local table that are symlinks or resolve outside the table root."""
    if not _local(lake):
        return []
    root = Path(lake.uri(name))
    real_root = root.resolve()
    out = []
    for rel in data_files(dt):
        p = root / rel
        if p.is_symlink() or any(q.is_symlink() for q in p.parents if q != root and root in q.parents):
            out.append((rel, "symlink"))
        elif p.exists() and real_root not in p.resolve().parents:
            out.append((rel, "outside the table root"))
    return out


def missing_remote(dt) -> set[str]:
    """Data files the log lists but the object store lacks (one listing of the table's prefix, by delta-rs'
    own FSCK in dry-run mode: the same test :func:`repair` acts on; nothing is written)."""
    removed = dt.repair(dry_run=True).get("files_removed") or []
    return set(json.loads(removed) if isinstance(removed, str) else removed)


def check(lake: Lake) -> list[Damage]:
    """Every problem in every table of the lake (empty: healthy)."""
    out: list[Damage] = []
    for name in TABLES:
        try:
            dt = lake.open(name)
        except Exception as err:  # noqa: BLE001 - any failure to replay the log is damage to report
            out += _log_problems(lake, name, err)
            continue
        if dt is None:
            continue
        days = {}
        try:
            actions = pl.from_arrow(pa.table(dt.get_add_actions(flatten=True)))
            assert isinstance(actions, pl.DataFrame)
            if "partition.pub_date" in actions.columns:
                days = dict(
                    zip(actions["path"].to_list(), actions["partition.pub_date"].cast(pl.String).to_list(), strict=True)
                )
        except Exception:  # noqa: BLE001 - days are a convenience; the file list below is what matters
            days = {}
        unsafe = dict(unsafe_files(lake, name, dt))
        try:
            gone = set() if _local(lake) else missing_remote(dt)
        except Exception as err:  # noqa: BLE001 - a store that cannot be listed is reported, not fatal
            out.append(Damage(name, "unlistable", "", None, f"{type(err).__name__}: {err}"[:300]))
            gone = set()
        for rel in data_files(dt):
            day = days.get(rel)
            day = "" if day is None and rel in days else day
            if rel in unsafe:
                out.append(Damage(name, "symlinked_file", rel, day, unsafe[rel]))
            elif _local(lake) and not (Path(lake.uri(name)) / rel).exists():
                out.append(Damage(name, "missing_file", rel, day, "listed in the log, not on disk"))
            elif rel in gone:
                out.append(Damage(name, "missing_file", rel, day, "listed in the log, not in the object store"))
    return out


def repair(lake: Lake, *, run_id: str | None = None) -> RepairReport:
    """Drop missing and symlinked files from the logs, then schedule re-ingestion and reprocessing."""
    damage = check(lake)
    removed: dict[str, int] = {}
    days: set[str] = set()
    for d in damage:
        if d.kind == "symlinked_file":
            os.unlink(Path(lake.uri(d.table)) / d.file)  # a link is not data; its target is never touched
    for name in sorted({d.table for d in damage if d.kind in ("missing_file", "symlinked_file")}):
        dt = storage.DeltaTable(lake.uri(name), storage_options=lake.storage_options or None)
        metrics = dt.repair(dry_run=False)
        removed[name] = len(
            json.loads(metrics["files_removed"])
            if isinstance(metrics.get("files_removed"), str)
            else metrics.get("files_removed") or []
        )
        days |= {d.day for d in damage if d.table == name and d.day}
    reingest: list[str] = []
    if removed:
        from pipeline.ingest.checks import unreconciled

        files = storage.read(lake, FILES)
        lost = unreconciled(
            files, storage.read(lake, DOCUMENTS, columns=["doc_id", "source_path"]), storage.read(lake, REJECTS)
        )
        reingest = sorted(lost["path"].to_list())
        if reingest:
            rows = files.filter(pl.col("path").is_in(reingest)).sort("ingested_at").unique("path", keep="last")
            rows = rows.with_columns(
                pl.lit("rejected").alias("status"),
                pl.lit(REPAIR_REASON).alias("reason"),
                pl.lit(0, pl.Int64).alias("retries"),
            )
            storage.upsert(lake, FILES, rows, run_id=run_id, code_version="doctor")
    unrepaired = [d for d in damage if d.kind in ("unreadable_log", "unlistable")]
    return RepairReport(removed, reingest, sorted(days), unrepaired)
