"""The schedule and sensors. Each submits the same jobs ``newslake run`` executes.

* ``daily_ingest`` (RUNNING by default) launches ``ingest_job`` every day at 00:30 UTC; ``inbox_sensor``
  (RUNNING) launches it when the inbox changes.
* ``partitions_sensor`` (RUNNING) launches ``daily_job`` for the days that are not done
  (:func:`pipeline.planning.keys_to_process`): their inputs changed after their last table was written, or
  their duplicates were computed while a window day's signatures were missing (another run was writing them).
  It launches nothing while a daily run is queued or in progress, and a tick never repeats a run for the
  same inputs (the run key holds the newest input's storage id).
  Days a stage last wrote with older code or other settings are named in its skip reason, not launched (see
  ``newslake run --stale``).
* ``weekly_maintenance`` compacts and vacuums on Sundays.
"""

import dagster as dg

from assets import jobs, partitions
from assets.dedup import window_reads
from assets.resources import SettingsResource
from pipeline import planning
from pipeline.config import Settings
from pipeline.ingest.inbox import inbox_fingerprint
from pipeline.stage import DAILY, LAST_TABLE

CODE_VERSION_TAG = "dagster/code_version"
RANGE_START = "dagster/asset_partition_range_start"
RANGE_END = "dagster/asset_partition_range_end"
_ACTIVE = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
]


def range_tags(start: str, end: str) -> dict[str, str]:
    """Run tags that make one run cover every key from start to end (a single-run backfill)."""
    return {RANGE_START: start, RANGE_END: end}


def pending(instance: dg.DagsterInstance, *, window_days: int | None) -> tuple[list[str], list[str], int]:
    """(every key, keys not done, newest input id): what the sensor and ``newslake run`` share."""
    keys = partitions.keys(instance)
    event = dg.DagsterEventType.ASSET_MATERIALIZATION
    inputs = instance.get_latest_storage_id_by_partition(dg.AssetKey("documents"), event)
    done = instance.get_latest_storage_id_by_partition(dg.AssetKey(LAST_TABLE), event)
    reads = window_reads(instance)
    todo = planning.keys_to_process(keys, inputs=inputs, done=done, window_days=window_days, reads=reads)
    return keys, todo, max(inputs.values(), default=0)


def written(instance: dg.DagsterInstance) -> dict[str, dict[str, planning.Written]]:
    """Per daily stage and day, the code version and settings digest recorded with its last table's last
    materialization (the settings digest is missing on days written before it was recorded)."""
    event = dg.DagsterEventType.ASSET_MATERIALIZATION
    out: dict[str, dict[str, planning.Written]] = {}
    for stage in DAILY:
        key = dg.AssetKey(stage.tables[-1])
        latest = instance.get_latest_storage_id_by_partition(key, event)
        ids = sorted(latest.values())
        found: dict[str, planning.Written] = {}
        for i in range(0, len(ids), 500):  # bounded queries on long histories
            chunk = ids[i : i + 500]
            records = instance.fetch_materializations(
                dg.AssetRecordsFilter(asset_key=key, storage_ids=chunk), limit=len(chunk)
            ).records
            for rec in records:
                mat = rec.event_log_entry.asset_materialization
                if mat is not None and mat.partition is not None:
                    digest = getattr(mat.metadata.get("settings_digest"), "value", None)
                    found[mat.partition] = planning.Written((mat.tags or {}).get(CODE_VERSION_TAG), digest)
        out[stage.name] = found
    return out


def ingest_code_versions(instance: dg.DagsterInstance, settings: Settings) -> dict[str, str]:
    """What parsed each ingestion run's files, by run id (from ``files``): its ingest code version, followed by
    "with other [ingest] settings" when the run recorded an ``[ingest]`` digest other than ``settings``'."""
    out: dict[str, str] = {}
    now = settings.digest("ingest")
    cursor = None
    while True:
        page = instance.fetch_materializations(dg.AssetKey("files"), limit=1000, cursor=cursor)
        for rec in page.records:
            mat = rec.event_log_entry.asset_materialization
            version = (mat.tags or {}).get(CODE_VERSION_TAG) if mat is not None else None
            if mat is not None and version:
                digest = getattr(mat.metadata.get("settings_digest"), "value", None)
                out[rec.run_id] = version if digest in (None, now) else f"{version} with other [ingest] settings"
        if not page.has_more:
            return out
        cursor = page.cursor


def current(settings: Settings) -> dict[str, planning.Written]:
    """What would write each daily stage's tables now: its code version and the digest of its settings."""
    return {stage.name: planning.Written(stage.code_version, settings.digest(stage.name)) for stage in DAILY}


def outdated(instance: dg.DagsterInstance, settings: Settings) -> dict[str, dict[str, planning.Written]]:
    """Days some stage last wrote with other code or settings than now: ``{day: {stage: what wrote it}}``."""
    keys = set(partitions.keys(instance))  # a day that no longer has a partition is nothing to redo
    stale = planning.outdated_keys(written(instance), current(settings))
    return {k: v for k, v in stale.items() if k in keys}


@dg.schedule(
    job=jobs.ingest_job,
    cron_schedule="30 0 * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
)
def daily_ingest(context: dg.ScheduleEvaluationContext):
    """Every day at 00:30 UTC: ingest what arrived; the partitions sensor then processes the days."""
    return dg.RunRequest(run_key=f"daily-{context.scheduled_execution_time:%Y-%m-%d}")


@dg.sensor(job=jobs.ingest_job, minimum_interval_seconds=30, default_status=dg.DefaultSensorStatus.RUNNING)
def inbox_sensor(context: dg.SensorEvaluationContext, settings: SettingsResource):
    """Launch ingestion when files arrive in (or change in) the inbox."""
    from pathlib import Path

    fingerprint = inbox_fingerprint(Path(settings.get_settings().inbox))
    if fingerprint == context.cursor:
        return dg.SkipReason("inbox unchanged")
    context.update_cursor(fingerprint)
    if fingerprint == last_ingested_fingerprint(context.instance):
        return dg.SkipReason("inbox unchanged since the last ingestion (e.g. by newslake run)")
    return dg.RunRequest(run_key=f"inbox-{fingerprint[:16]}")


def last_ingested_fingerprint(instance: dg.DagsterInstance) -> str | None:
    """The inbox fingerprint the latest ingestion recorded on ``files``, from any run: CLI, schedule or UI."""
    event = instance.get_latest_materialization_event(dg.AssetKey("files"))
    if event is None or event.asset_materialization is None:
        return None
    return getattr(event.asset_materialization.metadata.get("inbox_fingerprint"), "value", None)


@dg.sensor(job=jobs.daily_job, minimum_interval_seconds=30, default_status=dg.DefaultSensorStatus.RUNNING)
def partitions_sensor(context: dg.SensorEvaluationContext, settings: SettingsResource):
    """Process every day whose inputs changed since its last table was written (and nothing else)."""
    instance = context.instance
    if instance.get_runs(dg.RunsFilter(job_name=jobs.daily_job.name, statuses=_ACTIVE), limit=1):
        return dg.SkipReason("a daily run is queued or in progress")
    keys, todo, newest = pending(instance, window_days=settings.get_settings().dedup.window_days)
    if not todo:
        # reported, not launched: the user decides when history is recomputed
        if stale := outdated(instance, settings.get_settings()):
            return dg.SkipReason(
                f"every day is done; {len(stale)} day(s) were written by older code or other settings "
                "(newslake run --stale, or a backfill of those days, recomputes them)"
            )
        return dg.SkipReason("every day is done")
    return [
        dg.RunRequest(run_key=f"days-{a}-{b}-{newest}", tags=range_tags(a, b))
        for a, b in planning.key_ranges(todo, keys=keys)
    ]


maintenance_schedule = dg.ScheduleDefinition(
    name="weekly_maintenance",
    job=jobs.maintenance_job,
    cron_schedule="0 3 * * 0",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Sundays 03:00 UTC: compact and vacuum the lake.",
)
