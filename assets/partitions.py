"""Partitions: the publication days that hold documents, plus ``undated``.

Dynamic partitions, added by ingestion as it writes a new day, so the UI shows exactly the days with data
(any year: 1987 archives included) and never 1970 to today. Keys stay in calendar order, then ``undated``:
a run over a range (``dagster/asset_partition_range_*``) covers the keys between its ends in this order.
"""

from collections.abc import Iterable

import dagster as dg

from pipeline.stage import sort_keys

NAME = "pub_days"
pub_days = dg.DynamicPartitionsDefinition(name=NAME)
single_run = dg.BackfillPolicy.single_run()


def add_keys(instance: dg.DagsterInstance, keys: Iterable[str]) -> list[str]:
    """Add new keys keeping calendar order; returns the keys added.

    Dynamic keys are listed in the order they were added, so a day earlier than the newest known one is
    inserted by removing and re-adding the keys after it (their materializations are kept: Dagster stores
    them by key).
    """
    current = list(instance.get_dynamic_partitions(NAME))
    new = set(keys) - set(current)
    if not new:
        return []
    desired = sort_keys([*current, *new])
    first = next((i for i, (a, b) in enumerate(zip(current, desired, strict=False)) if a != b), len(current))
    for key in current[first:]:
        instance.delete_dynamic_partition(NAME, key)
    instance.add_dynamic_partitions(NAME, desired[first:])
    return sorted(new)


def keys(instance: dg.DagsterInstance) -> list[str]:
    return list(instance.get_dynamic_partitions(NAME))
