"""The Dagster shell around :mod:`pipeline`: assets, partitions, resources, checks, schedules, sensors."""
