"""Which partitions to (re)compute: one rule for the CLI, the sensor and the UI's "what is missing".

A day is *done* when the last daily table (``entity_daily``) was written for it after every input it
depends on last changed: its own documents and the documents of every day in its dedup window (a late
article on day d can change the clusters of the days after d). Inputs are compared by the order in which
the instance recorded them (storage ids), so an interrupted run, a failed check or a killed process leaves
the day to do, and an unchanged day is never redone.

Runs over different days run at once, so a day's ``duplicates`` may be computed while an earlier day of its
window has no current ``signatures`` yet (that day is in another run, or was never processed). The dedup
step therefore records, per day and just before it reads the window, a :class:`WindowRead`: when it read
(the instance's order) and which window days were *unseen* (their signatures older than their documents).
A day whose last read had unseen days, or whose window's documents changed after the read, is not done: the
next plan (sensor or ``newslake run``) processes it again, and the result equals a serial build.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from pipeline.dedup.cluster import affected_days as _later_days
from pipeline.stage import UNDATED, sort_keys


def affected_days(touched: Iterable[date], *, existing: Iterable[date], window_days: int | None) -> set[date]:
    """Touched days plus the existing later days whose dedup window contains a touched day."""
    existing = list(existing)
    out = set(touched)
    for day in touched:
        out.update(_later_days(day, known_days=existing, window_days=window_days))
    return out


@dataclass(frozen=True)
class WindowRead:
    """What a day's dedup step recorded just before it read the signatures of its window."""

    storage_id: int  # when, in the instance's order: a write recorded later was not seen
    unseen: tuple[str, ...] = ()  # window days (other than the day) whose signatures were not current then


def earlier_window_keys(keys: Iterable[str], first: str, *, window_days: int | None) -> list[str]:
    """The dated keys before ``first`` that are in the dedup window of ``first`` or of a later day."""
    if first == UNDATED:
        return []
    lo = None if window_days is None else (date.fromisoformat(first) - timedelta(days=window_days)).isoformat()
    return [k for k in sort_keys(keys) if k != UNDATED and k < first and (lo is None or k >= lo)]


def not_current(keys: Iterable[str], *, inputs: Mapping[str, int], signatures: Mapping[str, int]) -> list[str]:
    """Keys whose latest ``signatures`` write is older than their latest ``documents`` write (or missing)."""
    return [k for k in keys if signatures.get(k, -1) < inputs.get(k, -1)]


def keys_to_process(
    keys: Iterable[str],
    *,
    inputs: Mapping[str, int],
    done: Mapping[str, int],
    window_days: int | None,
    reads: Mapping[str, WindowRead] | None = None,
) -> list[str]:
    """Partition keys whose last table is older than their inputs (or missing), in key order.

    ``inputs`` maps a key to the storage id of its latest ``documents`` write, ``done`` to that of its latest
    last-stage write. A dated key depends on the documents of itself and of the ``window_days`` days before
    it (all earlier days when None); the undated key only on its own. ``reads`` holds each day's latest
    :class:`WindowRead`: a day is also to do when that read had unseen days, or when a window day's
    documents were written after it (days without a read, processed before reads were recorded, are judged
    by ``done`` alone).
    """
    ordered = sort_keys(keys)
    dated = [k for k in ordered if k != UNDATED]
    reads = reads or {}
    todo = []
    newest_input: dict[str, int] = {}
    newest_other: dict[str, int] = {}  # the window's newest input, the day itself excluded
    # Sweep days in order keeping the window's newest input (a deque of (day, id) would be O(n); days are few).
    for i, key in enumerate(dated):
        day = date.fromisoformat(key)
        lo = None if window_days is None else day - timedelta(days=window_days)
        best = -1
        for prev in reversed(dated[:i]):
            if lo is not None and date.fromisoformat(prev) < lo:
                break
            best = max(best, inputs.get(prev, -1))
        newest_other[key] = best
        newest_input[key] = max(best, inputs.get(key, -1))
    if UNDATED in ordered:
        newest_input[UNDATED] = inputs.get(UNDATED, -1)
    for key in ordered:
        read = reads.get(key)
        stale_read = read is not None and (bool(read.unseen) or newest_other.get(key, -1) > read.storage_id)
        if key not in done or done[key] < newest_input.get(key, -1) or stale_read:
            todo.append(key)
    return todo


def key_ranges(selected: Iterable[str], *, keys: Iterable[str], max_gap: int = 14) -> list[tuple[str, str]]:
    """Group selected keys into inclusive ranges of consecutive keys (in key order).

    Each range is one run. Up to ``max_gap`` unselected keys between two selected ones are bridged: an
    extra day costs far less than another run's start-up. The undated key is always a range of its own.
    """
    ordered = sort_keys(keys)
    index = {k: i for i, k in enumerate(ordered)}
    chosen = sorted({index[k] for k in selected if k in index})
    ranges: list[list[int]] = []
    for i in chosen:
        undated_edge = ordered[i] == UNDATED or (ranges and ordered[ranges[-1][1]] == UNDATED)
        if ranges and not undated_edge and i - ranges[-1][1] <= max_gap + 1:
            ranges[-1][1] = i
        else:
            ranges.append([i, i])
    return [(ordered[a], ordered[b]) for a, b in ranges]


def keys_between(keys: Iterable[str], start: str, end: str) -> list[str]:
    """The keys of an inclusive range, as a run over it processes them."""
    ordered = sort_keys(keys)
    return ordered[ordered.index(start) : ordered.index(end) + 1]


@dataclass(frozen=True)
class Written:
    """What wrote a stage's table for a day: its code version and the digest of the stage's settings
    (``Settings.digest(stage)``); either is None where the instance recorded none."""

    code: str | None
    settings: str | None = None


def outdated_keys(
    written: Mapping[str, Mapping[str, Written]], current: Mapping[str, Written]
) -> dict[str, dict[str, Written]]:
    """Keys whose last write of some stage was made by other code or other settings than now, with what wrote them.

    ``written`` maps a stage to what made its last write of each key, ``current`` a stage to what would write
    it now. Settings are compared only where both digests are known: a day written before digests were
    recorded is judged by its code alone. A key a stage never wrote is not outdated but not done
    (:func:`keys_to_process` finds it). Such keys are reported, never processed on their own: after an
    upgrade or a settings change, recomputing the whole history may take hours, so the user asks for it
    (``newslake run --stale``).
    """
    out: dict[str, dict[str, Written]] = {}
    for stage, now in current.items():
        for key, then in written.get(stage, {}).items():
            other_settings = None not in (then.settings, now.settings) and then.settings != now.settings
            if then.code != now.code or other_settings:
                out.setdefault(key, {})[stage] = then
    return {k: out[k] for k in sort_keys(out)}


def describe_outdated(outdated: Mapping[str, Mapping[str, Written]], current: Mapping[str, Written]) -> list[str]:
    """One line per (stage, what wrote it): how many days, from which to which, and what replaces it."""
    groups: dict[tuple[str, Written], list[str]] = {}
    for key, stages in outdated.items():
        for stage, then in stages.items():
            # older code is the news whatever settings it ran with: one line per old version
            group = then if then.code == current[stage].code else Written(then.code)
            groups.setdefault((stage, group), []).append(key)
    lines = []
    for (stage, then), keys in sorted(groups.items(), key=lambda g: (g[0][0], _label(g[0][1]))):
        span = keys[0] if len(keys) == 1 else f"{keys[0]} .. {keys[-1]}"
        now = current[stage]
        if then.code != now.code:
            what = f"written by {then.code or 'unrecorded'}, now {now.code}"
        else:
            what = f"written with other [{stage}] settings ({then.settings}, now {now.settings})"
        lines.append(f"{stage}: {len(keys)} day(s) {what} ({span})")
    return lines


def _label(written: Written) -> str:
    return f"{written.code or 'unrecorded'} {written.settings or ''}"
