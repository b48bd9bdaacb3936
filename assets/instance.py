"""What each event costs a SQLite Dagster instance (the embedded default).

Dagster's SQLite storages open a new connection for every write: each commit fsyncs the write-ahead log,
and closing the last connection to a file checkpoints the log into the database and fsyncs again. A ranged
run over a hundred days records a few thousand events (a materialization per table and day, a check
evaluation per check and day), so on a busy disk the instance took as long as the pipeline's own work.

:func:`tune_sqlite_instance` makes every SQLite connection of this process use ``synchronous=NORMAL`` —
SQLite's recommended setting for WAL databases: a killed process loses nothing (the log is in the operating
system's cache), a power cut can lose the last transactions but never corrupts the file — and keeps one idle
connection open to each recently used file, so that closing Dagster's connection is not the last close and
does not checkpoint. ``NEWSLAKE_INSTANCE_SYNC=full`` keeps SQLite's defaults. PostgreSQL is not touched.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections import OrderedDict

ENV = "NEWSLAKE_INSTANCE_SYNC"
KEEP_OPEN = 16  # files with an idle connection kept open (the index, the runs file, recent run shards)

_lock = threading.Lock()
_open: OrderedDict[str, sqlite3.Connection] = OrderedDict()


def tune_sqlite_instance() -> bool:
    """Apply the settings above to every SQLite connection SQLAlchemy opens from now on (idempotent).

    Returns whether they apply (False when ``NEWSLAKE_INSTANCE_SYNC=full``)."""
    from sqlalchemy import event
    from sqlalchemy.pool import Pool

    if os.environ.get(ENV, "normal").strip().lower() == "full":
        if event.contains(Pool, "connect", _on_connect):
            event.remove(Pool, "connect", _on_connect)
        return False
    if not event.contains(Pool, "connect", _on_connect):
        event.listen(Pool, "connect", _on_connect)
    return True


def _on_connect(dbapi_connection, _record) -> None:
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    dbapi_connection.execute("PRAGMA synchronous=NORMAL")
    path = next((row[2] for row in dbapi_connection.execute("PRAGMA database_list") if row[1] == "main"), "")
    if path:
        _keep_open(path)


def _keep_open(path: str) -> None:
    with _lock:
        if path in _open:
            _open.move_to_end(path)
            return
        try:
            keep = sqlite3.connect(path, check_same_thread=False)
            # A read opens the write-ahead log: from then on this connection counts as open for SQLite.
            keep.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchall()
        except sqlite3.Error:
            return
        _open[path] = keep
        while len(_open) > KEEP_OPEN:  # a long-lived process (daemon, UI) sees every run's shard: bounded
            _open.popitem(last=False)[1].close()


def kept_open() -> list[str]:
    """Files this process keeps an idle connection to (for tests and ``doctor``)."""
    with _lock:
        return list(_open)
