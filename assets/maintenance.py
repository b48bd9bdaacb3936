"""Lake maintenance: compaction, vacuum and checkpoints, weekly, never beside a writer."""

import dagster as dg

from assets.automation import WRITER_TAGS
from assets.resources import LakeResource
from pipeline import maintenance


class MaintenanceSettings(dg.Config):
    retention_hours: int = 168


@dg.op(tags=WRITER_TAGS, pool="newslake_lake")
def maintain_lake(context: dg.OpExecutionContext, config: MaintenanceSettings, lake: LakeResource):
    """Compact small files per partition, vacuum files older than the retention, write log checkpoints."""
    health = maintenance.maintain(
        lake.lake(), config=maintenance.MaintenanceConfig(retention_hours=config.retention_hours),
        run_id=context.run_id,
    )
    rows = ["| table | files before | files after | max per partition | vacuumed |", "|---|---:|---:|---:|---:|"]
    rows += [f"| {h.table} | {h.files_before} | {h.files_after} | {h.max_files_per_partition} | {h.vacuumed} |"
             for h in health]
    context.add_output_metadata({"tables": dg.MetadataValue.md("\n".join(rows))})
    return None


@dg.job(tags=WRITER_TAGS, description="Compact and vacuum every table (one writer at a time).")
def maintenance_job():
    maintain_lake()


maintenance_schedule = dg.ScheduleDefinition(
    name="weekly_maintenance", job=maintenance_job, cron_schedule="0 3 * * 0", execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Sundays 03:00 UTC: compact and vacuum the lake.",
)
