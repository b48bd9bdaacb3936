"""Which daily partitions to (re)compute after ingestion touched some days."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from pipeline import dedup


def affected_days(touched: Iterable[date], *, existing: Iterable[date], window_days: int | None) -> set[date]:
    """Touched days plus the existing later days whose dedup window contains a touched day.

    A late article for day d can change the duplicate clusters of the days after d (up to the window), so
    those are recomputed too; with an unlimited window (None) every later day is.
    """
    existing = list(existing)
    out = set(touched)
    for day in touched:
        out.update(dedup.affected_days(day, known_days=existing, window_days=window_days))
    return out


def contiguous_ranges(days: Iterable[date], *, max_gap: int = 14) -> list[tuple[date, date]]:
    """Group days into inclusive ranges, merging gaps of at most ``max_gap`` empty days.

    Each range becomes one single-run backfill: an empty day in a range costs milliseconds, one more run
    costs seconds of start-up (run creation, model loading), so gaps up to two weeks are merged.
    """
    ordered = sorted(set(days))
    ranges: list[tuple[date, date]] = []
    for d in ordered:
        if ranges and (d - ranges[-1][1]).days <= max_gap + 1:
            ranges[-1] = (ranges[-1][0], d)
        else:
            ranges.append((d, d))
    return ranges
