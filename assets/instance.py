"""What each run event costs the SQLite Dagster instance (the embedded default), and how newslake cuts it.

A ranged run over a hundred days records a few thousand events (a materialization per table and day, a check
evaluation per check and day). Dagster's SQLite event log opens a new SQLAlchemy engine and connection for
every statement group: each event paid an engine, a connection, statement compilation (the compiled cache
lives in the engine), an fsync per commit and, when that connection was the last one open, a checkpoint and
another fsync on close — about 15 ms of CPU per event here, a third of a 5,000-document ``newslake run``.

:func:`tune_sqlite_instance` (called where the code location loads, so in ``newslake``, run workers and the
daemon's runs) makes Dagster's SQLite event log keep one pooled engine per database file it writes:

* connections are reused, statements compiled once per engine; at most ``KEEP_OPEN`` files keep an engine
  (a long-lived process sees every run's file); ``wipe`` and ``dispose`` close them; a forked child drops
  its parent's connections without closing them;
* ``synchronous=NORMAL``, SQLite's recommended setting for WAL databases: a killed process loses nothing
  (the log is in the operating system's cache), a power cut can lose the last transactions, never the file;
* after a transaction that changed a run's file, its ``.db`` file is touched: the UI follows a running run
  by watching that file, which Dagster's per-event checkpoint used to modify.

``NEWSLAKE_INSTANCE_SYNC=full`` keeps Dagster's own behaviour. Only the dagster release pinned by
``constraints.txt`` is patched (another leaves Dagster as it is).

A PostgreSQL event log (the production instance) opens a new server connection for every statement group
unless it is told to hold one, as the webserver does; :func:`hold_event_connections` tells it, with Dagster's
own ``optimize_for_webserver`` (one pooled connection, a few more when threads need them, no statement timeout),
in each process that writes a run's events.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager

ENV = "NEWSLAKE_INSTANCE_SYNC"
KEEP_OPEN = 16  # database files with a pooled engine per storage (the index and recent run files)
TESTED_DAGSTER = ("1.13.",)  # the patched method's body is this release's; another release is left alone

_ORIGINAL: dict[str, object] = {}


def _enabled() -> bool:
    return os.environ.get(ENV, "normal").strip().lower() != "full"


def tune_sqlite_instance() -> bool:
    """Apply (or, with ``NEWSLAKE_INSTANCE_SYNC=full``, remove) the tuning above; idempotent.

    Returns whether it applies."""
    import dagster
    from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage as Storage

    wanted = _enabled() and dagster.__version__.startswith(TESTED_DAGSTER)
    if wanted and not _ORIGINAL:
        for name in ("_connect", "has_table", "wipe", "dispose"):
            _ORIGINAL[name] = getattr(Storage, name)
        Storage._connect = _connect  # type: ignore[method-assign]
        Storage.has_table = _has_table  # type: ignore[method-assign]
        Storage.wipe = _wipe  # type: ignore[method-assign]
        Storage.dispose = _dispose  # type: ignore[method-assign]
    elif not wanted and _ORIGINAL:
        for name, fn in _ORIGINAL.items():
            setattr(Storage, name, fn)
        _ORIGINAL.clear()
    return wanted


class _Engines:
    """A storage's pooled engines, newest last (one per database file)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.by_url: OrderedDict[str, object] = OrderedDict()
        self.pid = os.getpid()

    def get(self, url: str):
        from sqlalchemy import create_engine, event

        with self.lock:
            if self.pid != os.getpid():  # forked: the parent's connections are not ours to use or close
                for engine in self.by_url.values():
                    engine.dispose(close=False)  # type: ignore[attr-defined]
                self.by_url.clear()
                self.pid = os.getpid()
            engine = self.by_url.get(url)
            if engine is not None:
                self.by_url.move_to_end(url)
                return engine
            # check_same_thread: a pooled connection may serve another thread later (never two at once)
            engine = create_engine(
                url, pool_size=1, max_overflow=8, connect_args={"timeout": 30, "check_same_thread": False}
            )
            event.listen(engine, "connect", _pragmas)
            self.by_url[url] = engine
            while len(self.by_url) > KEEP_OPEN:
                self.by_url.popitem(last=False)[1].dispose()  # type: ignore[attr-defined]
            return engine

    def close(self) -> None:
        with self.lock:
            for engine in self.by_url.values():
                engine.dispose()  # type: ignore[attr-defined]
            self.by_url.clear()


def _pragmas(dbapi_connection, _record) -> None:
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.execute("PRAGMA synchronous=NORMAL")


def _engines(storage) -> _Engines:
    found = storage.__dict__.get("_newslake_engines")
    if found is None:
        found = storage.__dict__.setdefault("_newslake_engines", _Engines())
    return found


@contextmanager
def _connect(self, shard: str) -> Iterator:
    # Dagster's own method with a pooled engine instead of a new one each call (same lock, same transaction).
    with self._db_lock:
        engine = _engines(self).get(self.conn_string_for_shard(shard))
        if shard not in self._initialized_dbs:
            self._initdb(engine)
            self._initialized_dbs.add(shard)
        with engine.connect() as conn:
            raw = conn.connection.dbapi_connection
            before = raw.total_changes if isinstance(raw, sqlite3.Connection) else 0
            with conn.begin():
                yield conn
            changed = isinstance(raw, sqlite3.Connection) and raw.total_changes != before
        if changed:
            with contextlib.suppress(OSError):
                os.utime(self.path_for_shard(shard))  # wake the UI's watcher of this run's events


def _has_table(self, table_name: str) -> bool:
    from dagster._core.storage.event_log.sqlite.sqlite_event_log import INDEX_SHARD_NAME

    engine = _engines(self).get(self.conn_string_for_shard(INDEX_SHARD_NAME))
    with engine.connect() as conn:
        return bool(engine.dialect.has_table(conn, table_name))


def _wipe(self) -> None:
    _engines(self).close()  # the files are deleted: no connection may outlive them
    _ORIGINAL["wipe"](self)  # type: ignore[operator]


def _dispose(self) -> None:
    _engines(self).close()
    _ORIGINAL["dispose"](self)  # type: ignore[operator]


def hold_event_connections(instance) -> bool:
    """Make a PostgreSQL event log of ``instance`` hold its connections (idempotent); False when it is not one
    (SQLite is handled by :func:`tune_sqlite_instance`) or with ``NEWSLAKE_INSTANCE_SYNC=full``."""
    storage = instance.event_log_storage
    if not _enabled() or type(storage).__name__ != "PostgresEventLogStorage":
        return False
    if not storage.__dict__.get("_newslake_held"):
        # statement_timeout 0 = none: a run's queries are the run's, not a web request's
        storage.optimize_for_webserver(statement_timeout=0, pool_recycle=3600, max_overflow=4)
        storage.__dict__["_newslake_held"] = True
    return True
