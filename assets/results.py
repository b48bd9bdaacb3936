"""A runner's :class:`~pipeline.stage.StageResult` as Dagster events, one partition at a time.

A run over several days would otherwise give every partition the whole run's figures. So each stage step
attaches each partition's own rows, Delta version, preview and figures to the materialization Dagster records
for that partition, then yields one result per selected asset (which lets downstream steps run), and logs one
``AssetCheckEvaluation`` per check and partition. One event per table and partition: a ranged run of 100 days
writes a few thousand events, and each costs the SQLite instance milliseconds. A failed check fails the step
(checks are blocking) after every evaluation has been recorded.
"""

import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import dagster as dg
import polars as pl
from deltalake.exceptions import CommitFailedError

from assets.instance import hold_event_connections
from pipeline import progress
from pipeline.schema import TABLES, DType
from pipeline.stage import Stage, StageResult

KINDS = {"python", "delta", "polars"}
_DAGSTER_TYPES: dict[DType, str] = {pl.String: "string", pl.Date: "date", pl.Boolean: "boolean", pl.Float64: "double"}


def column_schema(table_name: str) -> dg.TableSchema:
    table = TABLES[table_name]
    return dg.TableSchema(
        columns=[
            dg.TableColumn(c.name, _DAGSTER_TYPES.get(c.dtype, str(c.dtype)), description=c.doc) for c in table.columns
        ]
    )


def preview(df: pl.DataFrame, *, rows: int = 10, max_chars: int = 60) -> dg.MarkdownMetadataValue:
    """A valid markdown table of the first rows (cells shortened; pipes and newlines escaped)."""
    if df.height == 0:
        return dg.MetadataValue.md("(no rows)")
    shown = df.head(rows)
    cols = [c for c in shown.columns if shown.schema[c] != pl.Binary]  # packed hashes say nothing to a reader

    def cell(v: Any) -> str:
        text = ", ".join(map(str, v)) if isinstance(v, list) else "" if v is None else str(v)
        text = text.replace("\n", " ").replace("|", "\\|")
        return text[:max_chars] + ("…" if len(text) > max_chars else "")

    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(cell(r[c]) for c in cols) + " |" for r in shown.select(cols).iter_rows(named=True)]
    return dg.MetadataValue.md("\n".join(lines))


def counts_table(counts: Mapping, *, key: str, value: str = "count") -> dg.MarkdownMetadataValue:
    lines = [f"| {key} | {value} |", "|---|---:|"]
    lines += [f"| {k} | {v} |" for k, v in sorted(counts.items(), key=lambda kv: (-kv[1], str(kv[0])))]
    return dg.MetadataValue.md("\n".join(lines) if counts else f"(no {key})")


def metadata_value(name: str, value: Any):
    if isinstance(value, pl.DataFrame):
        return preview(value)
    if isinstance(value, Mapping):
        return counts_table(value, key=name.split("_by_")[-1] if "_by_" in name else "key")
    if isinstance(value, list | tuple):
        return dg.MetadataValue.json(list(value))
    return value


def _partition_metadata(outcome, uri: str, settings_digest: str) -> dict:
    md = {
        "dagster/row_count": outcome.rows,
        "dagster/column_schema": column_schema(outcome.table),
        "dagster/uri": uri,
        "delta_version": outcome.version if outcome.version is not None else -1,
        "preview": preview(outcome.preview),
        # the stage's settings that wrote this partition: a day written with other ones is listed as stale
        "settings_digest": settings_digest,
    }
    md.update({k: metadata_value(k, v) for k, v in outcome.figures.items()})
    return md


def _run_partitions(context: dg.AssetExecutionContext) -> set[str]:
    """The partition keys this run materializes (empty for an unpartitioned run such as ``ingest_job``)."""
    if context.has_partition_key_range or context.has_partition_key:
        return set(context.partition_keys)
    return set()


def emit(
    context: dg.AssetExecutionContext,
    stage: Stage,
    result: StageResult,
    *,
    lake_uri,
    seconds: float,
    settings_digest: str,
) -> Iterator[dg.MaterializeResult]:
    """Yield what lets the run go on, with the per-partition truth; then log checks and fail on a failed one.

    For a table and partition that the run materializes, the partition's own metadata is attached to the
    materialization Dagster records for that partition (``add_asset_metadata``); any other table partition the
    stage wrote (``documents`` days from the unpartitioned ingestion run) gets its own ``AssetMaterialization``.
    Figures of the whole run carry a ``run_`` prefix: on a partition's event they describe the run that wrote it.
    """
    hold_event_connections(context.instance)  # this process writes one event per table, day and check
    partitions = sorted({t.partition for t in result.tables if t.partition is not None})
    selected = {k.to_user_string() for k in context.selected_asset_keys}
    in_run = _run_partitions(context)
    logged = []
    for outcome in result.tables:
        metadata = _partition_metadata(outcome, lake_uri(outcome.table), settings_digest)
        if outcome.table in selected and (outcome.partition is None or outcome.partition in in_run):
            context.add_asset_metadata(metadata, asset_key=outcome.table, partition_key=outcome.partition)
        else:
            logged.append(
                dg.AssetMaterialization(
                    asset_key=outcome.table,
                    partition=outcome.partition,
                    metadata=metadata,
                    tags={"dagster/code_version": stage.code_version},
                )
            )
    for key in stage.tables:
        if key in selected:
            yield dg.MaterializeResult(
                asset_key=key,
                metadata={
                    "run_partitions": len(partitions),
                    "run_seconds": round(seconds, 2),
                    **{f"run_{k}": metadata_value(k, v) for k, v in result.figures.items()},
                },
            )
    for event in logged:
        context.log_event(event)
    for check in result.checks:
        context.log_event(
            dg.AssetCheckEvaluation(
                asset_key=dg.AssetKey(check.table),
                check_name=check.name,
                passed=check.passed,
                partition=check.partition,
                blocking=True,
                metadata={k: metadata_value(k, v) for k, v in check.metadata.items()},
            )
        )
    failed = result.failed_checks()
    if failed:
        names = sorted({f"{c.table}.{c.name}[{c.partition}]" for c in failed})
        raise dg.Failure(f"{stage.name}: blocking checks failed: {', '.join(names[:20])}")


def check_specs(stage: Stage, *, partitioned: bool) -> list[dg.AssetCheckSpec]:
    import warnings

    from assets.partitions import pub_days

    with warnings.catch_warnings():  # partitioned checks are a preview feature; newslake relies on them
        warnings.simplefilter("ignore")
        return [
            dg.AssetCheckSpec(
                name, asset=table, blocking=True, description=meaning, partitions_def=pub_days if partitioned else None
            )
            for table, checks in stage.checks.items()
            for name, meaning in checks.items()
        ]


TRANSIENT = (OSError, CommitFailedError, TimeoutError)


@contextmanager
def transient_io_retry(*, max_retries: int = 3, seconds_to_wait: float = 2.0):
    """Step retries for transient I/O only: a logic error fails at once, a flaky disk or store is retried."""
    try:
        yield
    except TRANSIENT as exc:
        raise dg.RetryRequested(max_retries=max_retries, seconds_to_wait=seconds_to_wait) from exc


class ProgressLog:
    """Logs `done/total`, rate and time left at most every ``every`` seconds (shows in the run's log view)."""

    def __init__(self, log, what: str, *, every: float = 5.0):
        self.log, self.what, self.every = log, what, every
        self.t0 = self.last = time.monotonic()

    def __call__(self, done: int, total: int) -> None:
        progress.report(self.what, done, total)
        now = time.monotonic()
        if now - self.last < self.every and done != total:
            return
        self.last = now
        rate = done / max(now - self.t0, 1e-9)
        left = (total - done) / rate if rate > 0 else float("nan")
        self.log.info(f"{self.what}: {done}/{total} ({rate:.1f}/s, ~{left:.0f}s left)")


def daily_spec(key: str, stage: Stage, *, deps: list[str], doc: str, kinds: set[str] = KINDS) -> dg.AssetSpec:
    """A daily table of ``stage``: partitioned by publication day, in the stage's group and code version."""
    from assets.partitions import pub_days

    return dg.AssetSpec(
        key,
        group_name=stage.name,
        kinds=kinds,
        code_version=stage.code_version,
        deps=deps,
        partitions_def=pub_days,
        description=doc,
    )


def _tags_later_here(context: dg.AssetExecutionContext, stage: Stage) -> bool:
    """This run tags entities after ``stage``, in this same process (in-process executor, entities selected):
    its workers can start while the earlier stages run. With one process per step they would die unused."""
    from pipeline.stage import DAILY, ENTITIES

    if stage not in DAILY or DAILY.index(stage) >= DAILY.index(ENTITIES):
        return False
    # `execute_in_process` (the CLI, tests) swaps the job's in-process executor for its own.
    if context.job_def.executor_def.name not in (dg.in_process_executor.name, "execute_in_process_executor"):
        return False
    run = context.run
    if run.step_keys_to_execute is not None and ENTITIES.name not in run.step_keys_to_execute:
        return False
    return not run.asset_selection or dg.AssetKey(ENTITIES.tables[0]) in run.asset_selection


def run_daily_step(context: dg.AssetExecutionContext, settings, stage: Stage, run, *, what: str):
    """The body of every daily step: the stage's runner over the run's partition keys, then its events."""
    from assets.guard import wait_for_own_days
    from pipeline.stage import parse_key

    wait_for_own_days(context)  # never interleave writes of a day with an earlier run's
    if _tags_later_here(context, stage):
        from pipeline.entities.runner import warm

        warm(settings=settings.get_settings())
    t0, lake, config = time.perf_counter(), settings.get_lake(), settings.get_settings()
    with transient_io_retry():
        result = run(
            lake,
            [parse_key(k) for k in context.partition_keys],
            settings=config,
            run_id=context.run_id,
            on_progress=ProgressLog(context.log, what),
        )
    seconds = time.perf_counter() - t0
    yield from emit(
        context, stage, result, lake_uri=lake.uri, seconds=seconds, settings_digest=config.digest(stage.name)
    )
