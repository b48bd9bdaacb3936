"""The code location: every asset, check, job, schedule, sensor and resource of newslake."""

import dagster as dg

from assets import automation, dedup, entities, executors, ingest, jobs, sentences
from assets.instance import tune_sqlite_instance
from assets.resources import SettingsResource

tune_sqlite_instance()  # every process that loads this code location and writes run events

defs = dg.Definitions(
    assets=[ingest.ingest, ingest.documents, dedup.dedup, sentences.sentences, entities.entities],
    asset_checks=[ingest.dates_sane],
    jobs=[jobs.ingest_job, jobs.daily_job, jobs.maintenance_job, *executors.JOBS],
    schedules=[automation.daily_ingest, automation.maintenance_schedule],
    sensors=[automation.inbox_sensor, automation.partitions_sensor],
    resources={"settings": SettingsResource()},
    executor=dg.in_process_executor,
)
