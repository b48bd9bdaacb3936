"""Scale-out executors: ``daily_job_celery`` runs each step of the daily job on a Celery worker.

The default jobs run every step in the run's own process (``in_process_executor``, see :mod:`assets.jobs`):
cheapest for one machine. Across machines, Dagster's Celery executor (dagster-celery) submits each step to a
broker queue and a pool of workers executes it; the workers rebuild the job from this module
(:func:`celery_daily_job`) and report events to the shared instance (PostgreSQL: ``deploy/``).

The executor is declared here without importing dagster-celery (celery costs ~0.5-1 s to import and is an
optional dependency): its config schema is dagster-celery's, and the library is imported only when a run
actually uses the executor. Workers: ``celery -A dagster_celery.app worker -Q dagster`` (or
``dagster-celery worker start``) with the same code, ``DAGSTER_HOME`` and ``NEWSLAKE_*`` environment.
"""

import dagster as dg
from dagster._core.execution.retries import get_retries_config  # the schema dagster-celery itself uses

from assets.partitions import pub_days
from pipeline.stage import DAILY_TABLES

CELERY_CONFIG = {
    "broker": dg.Field(
        dg.Noneable(dg.StringSource),
        is_required=False,
        description="Celery broker URL; default pyamqp://guest@$DAGSTER_CELERY_BROKER_HOST:5672// (localhost).",
    ),
    "backend": dg.Field(dg.Noneable(dg.StringSource), is_required=False, default_value="rpc://"),
    "include": dg.Field([str], is_required=False, description="Modules every worker should import."),
    "config_source": dg.Field(
        dg.Noneable(dg.Permissive()),
        is_required=False,
        description="Celery settings, e.g. task_default_queue (the queue the workers consume).",
    ),
    "retries": get_retries_config(),
}


@dg.executor(name="celery", config_schema=CELERY_CONFIG, requirements=dg.multiple_process_executor_requirements())
def celery_executor(init_context):
    """dagster-celery's executor, imported when a run starts (not when the code location loads)."""
    from dagster_celery.executor import celery_executor as upstream

    return upstream.executor_creation_fn(init_context)


daily_job_celery = dg.define_asset_job(
    "daily_job_celery",
    selection=dg.AssetSelection.assets(*DAILY_TABLES),
    partitions_def=pub_days,
    executor_def=celery_executor,
    description="daily_job with every step executed by a Celery worker (needs a broker and running workers).",
)
JOBS = [daily_job_celery]


def celery_daily_job() -> dg.JobDefinition:
    """The resolved ``daily_job_celery``; module-level so ``dg.reconstructable`` can point workers at it."""
    from assets.definitions import defs

    if not any(getattr(j, "name", None) == daily_job_celery.name for j in defs.jobs or []):
        defs = dg.Definitions.merge(defs, dg.Definitions(jobs=[daily_job_celery]))
    return defs.resolve_job_def(daily_job_celery.name)
