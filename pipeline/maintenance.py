"""Table health: compact small files, vacuum files no kept version needs, checkpoint the log.

Every daily run adds at least one file per partition it rewrites; compaction merges them, vacuum deletes the
files that only old versions reference once they are older than the retention (default 7 days, so time travel
within a week keeps working and no concurrent reader loses a file). Some versions are kept whatever their age:
the last ``keep_last_versions`` of every table and every version a release (``pipeline/releases.py``) names,
so a cited release stays readable after any maintenance, including ``--retention-hours 0``. Must not run while
a writer runs: the Dagster job carries the lake-writer tag, which is limited to one run at a time.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow as pa

from pipeline import releases, storage
from pipeline.schema import TABLES
from pipeline.storage import WRITER_PROPERTIES, Lake, _commit


@dataclass(frozen=True)
class MaintenanceConfig:
    retention_hours: int = 168
    target_file_bytes: int = 128 * 1024 * 1024
    checkpoint: bool = True
    # Versions kept readable whatever the retention, besides the versions releases name.
    keep_last_versions: int = 10


@dataclass
class TableHealth:
    table: str
    files_before: int = 0
    files_after: int = 0
    max_files_per_partition: int = 0
    compacted_removed: int = 0
    vacuumed: int = 0
    version: int | None = None
    extra: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Retention:
    """What stays readable in one table after maintenance, and what releases cost."""

    table: str
    version: int
    last_versions: tuple[int, int]  # inclusive range of the last N versions
    release_versions: dict[int, list[str]]
    files_for_releases: int  # data files kept only because a release needs them

    def describe(self) -> str:
        a, b = self.last_versions
        text = f"v{a}..v{b} readable (the last {b - a + 1} versions, and any younger than the retention)"
        if self.release_versions:
            rel = ", ".join(f"v{v} ({', '.join(sorted(n))})" for v, n in sorted(self.release_versions.items()))
            text += f"; kept for releases: {rel}, {self.files_for_releases} files kept only for them"
        return text


def file_counts(lake: Lake, table: str) -> dict[str | None, int]:
    """Live data files per partition (None for an unpartitioned table)."""
    dt = lake.open(table)
    if dt is None:
        return {}
    actions = pa.table(dt.get_add_actions(flatten=True))
    col = "partition.pub_date" if "partition.pub_date" in actions.column_names else None
    counts: dict[str | None, int] = {}
    values = actions.column(col).to_pylist() if col else [None] * actions.num_rows
    for v in values:
        key = None if v is None else str(v)
        counts[key] = counts.get(key, 0) + 1
    return counts


def kept_versions(lake: Lake, table: str, *, keep_last: int) -> tuple[list[int], dict[int, list[str]]]:
    """(versions vacuum must keep readable, the release versions among them with the releases naming them)."""
    version = lake.version(table)
    if version is None:
        return [], {}
    last = range(max(0, version - max(keep_last, 1) + 1), version + 1)
    rel = releases.protected_versions(lake).get(table, {}) if table != "releases" else {}
    return sorted(set(last) | {v for v in rel if v <= version}), rel


def _files_of(lake: Lake, table: str, versions) -> set[str]:
    out: set[str] = set()
    for v in versions:
        dt = releases.open_at(lake, table, v)
        if dt is not None:
            out.update(dt.file_uris())
    return out


def retention(lake: Lake, table: str, *, keep_last: int = MaintenanceConfig.keep_last_versions) -> Retention | None:
    """Which versions of ``table`` maintenance keeps readable, and how many files only releases need."""
    version = lake.version(table)
    if version is None:
        return None
    keep, rel = kept_versions(lake, table, keep_last=keep_last)
    last = (max(0, version - max(keep_last, 1) + 1), version)
    only_rel = [v for v in rel if v < last[0]]
    extra = _files_of(lake, table, only_rel) - _files_of(lake, table, range(last[0], last[1] + 1))
    return Retention(table, version, last, rel, len(extra))


def _rewrite_plain(lake: Lake, name: str, run_id: str | None) -> bool:
    """Rewrite the files of an unpartitioned table that still declare string_view/binary_view (written by MERGE
    before storage normalised its files) with the same rows in plain types; True if there were any."""
    table = TABLES[name]
    if table.partition_by or lake.open(name) is None:
        return False
    return storage.normalise_view_files(lake, table, commit=_commit(run_id, "maintenance")) > 0


def maintain(
    lake: Lake,
    *,
    config: MaintenanceConfig = MaintenanceConfig(),
    run_id: str | None = None,
    tables: list[str] | None = None,
) -> list[TableHealth]:
    """Compact, vacuum (keeping the last N and every released version) and checkpoint every existing table."""
    out = []
    for name in tables or list(TABLES):
        dt = lake.open(name)
        if dt is None:
            continue
        h = TableHealth(name, files_before=sum(file_counts(lake, name).values()))
        h.extra["rewritten_without_string_view"] = _rewrite_plain(lake, name, run_id)
        dt = lake.open(name)
        assert dt is not None  # it existed above; maintenance never drops a table
        metrics = dt.optimize.compact(
            target_size=config.target_file_bytes,
            writer_properties=WRITER_PROPERTIES,
            commit_properties=_commit(run_id, "maintenance"),
        )
        h.compacted_removed = int(metrics.get("numFilesRemoved", 0))
        dt = lake.open(name)
        keep, rel = kept_versions(lake, name, keep_last=config.keep_last_versions)
        if rel:
            releases.keep_log(lake, TABLES[name])
            dt = lake.open(name)
        assert dt is not None
        h.vacuumed = len(
            dt.vacuum(
                retention_hours=config.retention_hours,
                dry_run=False,
                enforce_retention_duration=config.retention_hours >= 168,
                keep_versions=keep,
                commit_properties=_commit(run_id, "maintenance"),
            )
        )
        if config.checkpoint:
            dt = lake.open(name)
            assert dt is not None
            dt.create_checkpoint()
        counts = file_counts(lake, name)
        h.files_after = sum(counts.values())
        h.max_files_per_partition = max(counts.values(), default=0)
        h.version = lake.version(name)
        kept = retention(lake, name, keep_last=config.keep_last_versions)
        h.extra["retention"] = kept.describe() if kept else ""
        out.append(h)
    return out
