"""Jobs: ingestion, the daily stages (any partitions), and lake maintenance.

Every job runs its steps in one process (``in_process_executor``): a run started from the UI or by the
daemon then costs what the same run costs from ``newslake run``, instead of a fresh interpreter per step.
"""

import dagster as dg

from assets.partitions import pub_days
from assets.resources import SettingsResource
from pipeline import maintenance
from pipeline.stage import DAILY_TABLES, INGEST

ingest_job = dg.define_asset_job(
    "ingest_job",
    selection=dg.AssetSelection.assets(*(t for t in INGEST.tables if t != "documents")),
    description="Ingest new or changed inbox files.",
)
daily_job = dg.define_asset_job(
    "daily_job",
    selection=dg.AssetSelection.assets(*DAILY_TABLES),
    partitions_def=pub_days,
    description="Deduplicate, segment and tag the selected publication days.",
)


class MaintenanceSettings(dg.Config):
    retention_hours: int = 168


@dg.op
def maintain_lake(context: dg.OpExecutionContext, config: MaintenanceSettings, settings: SettingsResource):
    """Compact small files per partition, vacuum files older than the retention, write log checkpoints."""
    health = maintenance.maintain(
        settings.get_lake(),
        config=maintenance.MaintenanceConfig(retention_hours=config.retention_hours),
        run_id=context.run_id,
    )
    rows = ["| table | files before | files after | max per partition | vacuumed |", "|---|---:|---:|---:|---:|"]
    rows += [
        f"| {h.table} | {h.files_before} | {h.files_after} | {h.max_files_per_partition} | {h.vacuumed} |"
        for h in health
    ]
    context.add_output_metadata({"tables": dg.MetadataValue.md("\n".join(rows))})


@dg.job(description="Compact and vacuum every table.")
def maintenance_job():
    maintain_lake()
