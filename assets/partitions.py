"""Daily partitions by UTC publication date.

Starts in 1970 so that archives load (the Reuters corpus is from 1987) and ends with today (``end_offset=1``)
so that today's news and late articles for any earlier day can be materialized as soon as they arrive.
"""

import dagster as dg

PARTITION_START = "1970-01-01"

daily = dg.DailyPartitionsDefinition(start_date=PARTITION_START, timezone="UTC", end_offset=1)


def run_days(context: dg.AssetExecutionContext) -> list:
    """Every day this run covers: one partition, or a whole range under a single-run backfill."""
    from datetime import timedelta

    window = context.partition_time_window
    start, end = window.start.date(), window.end.date()
    return [start + timedelta(days=i) for i in range((end - start).days)]


single_run = dg.BackfillPolicy.single_run()
