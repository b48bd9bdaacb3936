"""The code location: every asset, check, job, schedule, sensor and resource of newslake."""

import dagster as dg

from assets import automation, dedup, entities, executors, ingest, jobs, sentences
from assets.resources import SettingsResource

defs = dg.Definitions(
    assets=[ingest.ingest, ingest.documents, dedup.dedup, sentences.sentences, entities.entities],
    asset_checks=[ingest.dates_sane],
    jobs=[jobs.ingest_job, jobs.daily_job, jobs.maintenance_job, *executors.JOBS],
    schedules=[automation.daily_ingest, automation.maintenance_schedule],
    sensors=[automation.inbox_sensor, automation.partitions_sensor],
    resources={"settings": SettingsResource()},
    executor=dg.in_process_executor,
)
