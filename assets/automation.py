"""Jobs, the daily schedule and the sensors.

* ``ingest_job`` reads new inbox files. The ``daily_ingest`` schedule (RUNNING by default) launches it every
  day at 00:30 UTC; the ``inbox_sensor`` (RUNNING by default) launches it when the inbox changes.
* ``partitions_sensor`` watches ``documents`` materializations and launches ``daily_job`` for every day
  ingestion touched, plus later days whose dedup window contains one (late articles), one single-run backfill
  per contiguous range.
* ``backfill_job`` (:mod:`assets.backfill`) processes any set of days in one run; ``newslake run`` uses it when
  the days fall in several far-apart ranges.
* Every run carries the ``newslake/lake=writer`` tag, limited to one at a time in ``data/dagster/dagster.yaml``,
  so two runs never write the lake at once.
"""


import hashlib
import os
from datetime import date

import dagster as dg

from assets.dedup import DedupSettings
from assets.partitions import daily
from assets.resources import InboxResource, LakeResource
from pipeline import planning, storage
from pipeline.schema import DOCUMENTS

WRITER_TAGS = {"newslake/lake": "writer"}
RANGE_START = "dagster/asset_partition_range_start"
RANGE_END = "dagster/asset_partition_range_end"

ingest_job = dg.define_asset_job(
    "ingest_job", selection=dg.AssetSelection.assets("files", "documents", "rejects"), tags=WRITER_TAGS,
    description="Ingest new or changed inbox files.",
)
daily_job = dg.define_asset_job(
    "daily_job",
    selection=dg.AssetSelection.assets("signatures", "duplicates", "sentences", "entities", "entity_daily"),
    partitions_def=daily, tags=WRITER_TAGS,
    description="Deduplicate, segment and tag the given publication days.",
)


def range_tags(start: date, end: date) -> dict[str, str]:
    """Run tags that make one run cover every day from start to end (single-run backfill)."""
    return {RANGE_START: start.isoformat(), RANGE_END: end.isoformat(), **WRITER_TAGS}


@dg.schedule(job=ingest_job, cron_schedule="30 0 * * *", execution_timezone="UTC",
             default_status=dg.DefaultScheduleStatus.RUNNING)
def daily_ingest(context: dg.ScheduleEvaluationContext):
    """Every day at 00:30 UTC: ingest what arrived; the partitions sensor then processes the touched days."""
    return dg.RunRequest(run_key=f"daily-{context.scheduled_execution_time:%Y-%m-%d}")


def inbox_fingerprint(folder) -> str:
    """Cheap change detector over names, sizes and modification times (no file is read)."""
    h = hashlib.sha256()
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        for name in sorted(files):
            path = os.path.join(root, name)
            try:
                st = os.lstat(path)
            except OSError:
                continue
            h.update(f"{os.path.relpath(path, folder)}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()


@dg.sensor(job=ingest_job, minimum_interval_seconds=30, default_status=dg.DefaultSensorStatus.RUNNING)
def inbox_sensor(context: dg.SensorEvaluationContext, inbox: InboxResource):
    """Launch ingestion when files arrive in (or change in) the inbox."""
    fingerprint = inbox_fingerprint(inbox.folder())
    if fingerprint == context.cursor:
        return dg.SkipReason("inbox unchanged")
    context.update_cursor(fingerprint)
    return dg.RunRequest(run_key=f"inbox-{fingerprint[:16]}")


@dg.asset_sensor(asset_key=dg.AssetKey("documents"), job=daily_job, minimum_interval_seconds=30,
                 default_status=dg.DefaultSensorStatus.RUNNING)
def partitions_sensor(context: dg.SensorEvaluationContext, asset_event, lake: LakeResource,
                      dedup_settings: DedupSettings):
    """After ingestion, process every touched day (and later days whose dedup window it falls in)."""
    materialization = asset_event.dagster_event.event_specific_data.materialization
    md = materialization.metadata.get("touched_dates")
    touched = [storage.validate_date(d) for d in (getattr(md, "data", None) or [])]
    if not touched:
        return dg.SkipReason("ingestion touched no day")
    existing = storage.partition_dates(lake.lake(), DOCUMENTS)
    days = planning.affected_days(touched, existing=existing, window_days=dedup_settings.config().window_days)
    return [
        dg.RunRequest(run_key=f"{asset_event.run_id}-{a}-{b}", tags=range_tags(a, b))
        for a, b in planning.contiguous_ranges(days)
    ]
