"""What every benchmark shares: where the development data is, how to skip without it, how to report.

``../shared`` (or ``$NEWSLAKE_SHARED``) holds research-licensed data that is never copied into the project: a
benchmark reads it at run time and prints ``SKIPPED: ...`` when it is absent. A figure the quality gate checks
is printed as ``FIGURE <name> <value>`` (:func:`figure`).
"""

from __future__ import annotations

import os
import resource
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]


def shared_dir() -> Path:
    """The development data folder: ``$NEWSLAKE_SHARED`` or ``../shared`` beside the project."""
    return Path(os.environ.get("NEWSLAKE_SHARED") or PROJECT.parent / "shared")


def require(path: Path, what: str) -> bool:
    """True when ``path`` exists; otherwise print a clear SKIPPED line naming it."""
    if path.exists():
        return True
    print(f"SKIPPED: {what} not found at {path} (development data lives in ../shared); nothing measured.")
    return False


def figure(name: str, value: float) -> None:
    """Print one figure for the quality gate (names are documented in the benchmark's README)."""
    print(f"FIGURE {name} {value:.6g}", flush=True)


def peak_rss_mb() -> float:
    """Peak resident memory of this process and its finished children, MiB."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, kids) / 1024


def load() -> str:
    return "load {:.2f}/{:.2f}/{:.2f}".format(*os.getloadavg())
