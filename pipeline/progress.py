"""A process-wide progress sink, so a terminal front end can draw bars for work done inside Dagster steps.

Steps report ``(what, done, total)``; by default nothing is drawn. ``newslake run`` installs a sink that
updates a progress bar, because its runs execute in the same process.
"""

from __future__ import annotations

from collections.abc import Callable

Sink = Callable[[str, int, int], None]
_sink: Sink | None = None


def set_sink(sink: Sink | None) -> None:
    global _sink
    _sink = sink


def report(what: str, done: int, total: int) -> None:
    if _sink is not None:
        _sink(what, done, total)
