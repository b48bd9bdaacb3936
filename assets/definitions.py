"""The code location: every asset, check, job, schedule, sensor and resource of newslake."""

import dagster as dg

from assets import automation, backfill, dedup, ingestion, maintenance, nlp
from assets.resources import InboxResource, LakeResource

defs = dg.Definitions(
    assets=[ingestion.ingest, dedup.signatures, dedup.duplicates, nlp.sentences, nlp.entities, nlp.entity_daily],
    jobs=[automation.ingest_job, automation.daily_job, backfill.backfill_job, maintenance.maintenance_job],
    schedules=[automation.daily_ingest, maintenance.maintenance_schedule],
    sensors=[automation.inbox_sensor, automation.partitions_sensor],
    resources={
        "lake": LakeResource(root=dg.EnvVar("NEWSLAKE_LAKE")),
        "inbox": InboxResource(path=dg.EnvVar("NEWSLAKE_INBOX"), config_file=dg.EnvVar("NEWSLAKE_INGEST_CONFIG")),
        "dedup_settings": dedup.DedupSettings(),
        "tagger": nlp.TaggerSettings(),
    },
)
