"""Table health: compact small files, vacuum files no version needs any more, checkpoint the log.

Every daily run adds at least one file per partition it rewrites; compaction merges them, vacuum deletes the
files that only old versions reference once they are older than the retention (default 7 days, so time travel
within a week keeps working and no concurrent reader loses a file). Must not run while a writer runs: the
Dagster job carries the lake-writer tag, which is limited to one run at a time.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow as pa

from pipeline.schema import TABLES
from pipeline.storage import Lake, _commit


@dataclass(frozen=True)
class MaintenanceConfig:
    retention_hours: int = 168
    target_file_bytes: int = 128 * 1024 * 1024
    checkpoint: bool = True


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


def maintain(lake: Lake, *, config: MaintenanceConfig = MaintenanceConfig(), run_id: str | None = None,
             tables: list[str] | None = None) -> list[TableHealth]:
    """Compact, vacuum and checkpoint every existing table; return before/after file counts."""
    out = []
    for name in tables or list(TABLES):
        dt = lake.open(name)
        if dt is None:
            continue
        h = TableHealth(name, files_before=sum(file_counts(lake, name).values()))
        metrics = dt.optimize.compact(target_size=config.target_file_bytes,
                                      commit_properties=_commit(run_id, "maintenance"))
        h.compacted_removed = int(metrics.get("numFilesRemoved", 0))
        dt = lake.open(name)
        h.vacuumed = len(dt.vacuum(retention_hours=config.retention_hours, dry_run=False,
                                   enforce_retention_duration=config.retention_hours >= 168,
                                   commit_properties=_commit(run_id, "maintenance")))
        if config.checkpoint:
            dt.create_checkpoint()
        counts = file_counts(lake, name)
        h.files_after = sum(counts.values())
        h.max_files_per_partition = max(counts.values(), default=0)
        h.version = lake.version(name)
        out.append(h)
    return out
