"""Step retries for transient I/O only: a logic error fails at once, a flaky disk or store is retried."""

from __future__ import annotations

from contextlib import contextmanager

import dagster as dg
from deltalake.exceptions import CommitFailedError

TRANSIENT = (OSError, CommitFailedError, TimeoutError)


@contextmanager
def transient_io_retry(*, max_retries: int = 3, seconds_to_wait: float = 2.0):
    try:
        yield
    except TRANSIENT as exc:
        raise dg.RetryRequested(max_retries=max_retries, seconds_to_wait=seconds_to_wait) from exc
