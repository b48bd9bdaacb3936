"""``parse_files``: run :func:`~.parse.parse_file` in worker processes with a per-file time limit.

Why processes: trafilatura/lxml can hang or crash on hostile pages and have crashed under threads; a worker
that overruns its limit is killed (SIGKILL) and replaced, a worker that dies is replaced, and the file
becomes a ``rejected`` :class:`ParsedFile` (``timeout`` / ``worker_crashed``). Results come back in input
order; at most ``4 x workers`` files are in flight or buffered, so memory does not grow with the number of
files. Workers are fresh interpreters (``python -c``) talking over a socket pair: nothing is inherited from
the caller (no forked threads or locks, e.g. polars' pool) and, unlike multiprocessing's ``spawn``, the
caller's ``__main__`` is never re-imported, so callers need no ``if __name__ == "__main__"`` guard. Workers
are replaced after ``MAX_TASKS_PER_WORKER`` files to bound slow leaks in the parsing libraries.

A worker sends a file's documents and rejects in parts of at most ``parse.FLUSH_DOCS`` rows or
``parse.FLUSH_BYTES`` of text as it parses (``("part", idx, docs, rejects)``), then the file's result: its
own memory stays near the file's bytes plus one part, however many documents the file holds. The parent
joins the parts to the result; a file whose worker times out or dies has its parts dropped and becomes one
rejected file, so a file is written whole or not at all (and retried).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import socket
import subprocess
import sys
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from multiprocessing.connection import Connection, wait
from pathlib import Path

import polars as pl

from pipeline.ingest.config import IngestConfig
from pipeline.ingest.inbox import InboxEntry
from pipeline.ingest.parse import parse_file, rejected_file
from pipeline.ingest.records import ParsedFile

MAX_TASKS_PER_WORKER = 500
START_TIMEOUT_S = 120.0
_SIZE_STEP = 8 << 20


def time_limit(entry: InboxEntry, config: IngestConfig) -> float:
    """Per-file limit: ``timeout_s``, plus ``timeout_s`` per further 8 MiB (WARCs hold many pages)."""
    return config.timeout_s * (1 + max(entry.size, 0) // _SIZE_STEP)


_ROOT = str(Path(__file__).resolve().parents[2])  # the directory holding the ``pipeline`` package


def _child_main(fd: int) -> None:
    """Entry point of a worker interpreter: receive (config, ingested_at), then (index, entry) tasks."""
    conn = Connection(fd)
    config, ingested_at = conn.recv()
    # load trafilatura (html.py imports it lazily) and the language model before saying ready: the
    # per-file clock must not count them
    from pipeline.ingest.html import warm_up
    from pipeline.ingest.language import detect_language

    warm_up()
    detect_language("warm up the language model once per worker")
    conn.send(("ready", None))
    while True:
        try:
            msg = conn.recv()
        except EOFError:
            return
        if msg is None:
            return
        idx, entry = msg

        def emit(docs, rejects, idx=idx):
            conn.send(("part", idx, docs, rejects))  # (None, None): drop the parts sent for this file

        conn.send((idx, parse_file(entry, config=config, ingested_at=ingested_at, emit=emit)))


class _Slot:
    def __init__(self, config: IngestConfig, ingested_at: datetime):
        parent, child = socket.socketpair()
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (_ROOT, env.get("PYTHONPATH")) if p)
        # SIGINT ignored from the start: Ctrl-C in a terminal signals the whole foreground process group, and the
        # parent (interrupted itself) stops its workers; one dying of it would print a traceback.
        code = (
            "import signal; signal.signal(signal.SIGINT, signal.SIG_IGN); "
            f"from pipeline.ingest.workers import _child_main; _child_main({child.fileno()})"
        )
        self.proc = subprocess.Popen(
            [sys.executable, "-c", code],
            pass_fds=[child.fileno()],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
        )
        child.close()
        self.conn = Connection(parent.detach())
        self.conn.send((config, ingested_at))
        self.started = time.monotonic()
        self.ready = False
        self.task: tuple[int, InboxEntry] | None = None
        self.deadline = 0.0
        self.done = 0

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        if self.alive():
            self.proc.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(5)
        self.conn.close()

    def stop(self) -> None:
        if not self.ready:  # still starting (e.g. a pool with nothing to parse): no need to wait for it
            self.kill()
            return
        with contextlib.suppress(OSError, ValueError):
            self.conn.send(None)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(2)
        self.kill()


class WorkerPool:
    """``n`` parsing workers, started at construction so their start-up overlaps the caller's own work.

    Use as a context manager; :meth:`map` may be called more than once. Replaced workers (time limit,
    crash, ``MAX_TASKS_PER_WORKER``) are restarted on demand.
    """

    def __init__(self, n: int, *, config: IngestConfig, ingested_at: datetime):
        self.config, self.ingested_at = config, ingested_at
        self.slots = [_Slot(config, ingested_at) for _ in range(max(1, n))]
        self.start_failures = 0

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, exc_type, *exc) -> None:
        if exc_type is None:
            self.close()
        else:  # interrupted or failed: the files being parsed are not waited for (workers ignore Ctrl-C)
            for s in self.slots:
                s.kill()

    def close(self) -> None:
        for s in self.slots:
            s.stop()

    def map(
        self, entries: list[InboxEntry], on_progress: Callable[[int, int], None] | None = None
    ) -> Iterator[ParsedFile]:
        """Parse ``entries``; yield one :class:`ParsedFile` each, in input order."""
        config, ingested_at, slots = self.config, self.ingested_at, self.slots
        total = len(entries)
        pending = deque(enumerate(entries))
        results: dict[int, ParsedFile] = {}
        parts: dict[int, list[tuple[pl.DataFrame, pl.DataFrame]]] = {}  # a file's output sent ahead of its result
        next_out = 0
        window = 4 * len(slots)
        while next_out < total:
            now = time.monotonic()
            for s in slots:
                if s.ready and s.task is None and pending and pending[0][0] < next_out + window:
                    s.task = pending.popleft()
                    s.deadline = now + time_limit(s.task[1], config)
                    s.conn.send(s.task)
            waits = [s.deadline for s in slots if s.task] + [s.started + START_TIMEOUT_S for s in slots if not s.ready]
            timeout = max(0.0, min(waits) - now) if waits else None
            wait([s.conn for s in slots], timeout)  # a dead worker's socket reads EOF
            for i, s in enumerate(slots):
                replace = False
                try:
                    while s.conn.poll():
                        msg = s.conn.recv()
                        if msg[0] == "ready":
                            s.ready = True
                        elif msg[0] == "part":
                            _, idx, docs, rejects = msg
                            if docs is None:
                                parts.pop(idx, None)
                            else:
                                parts.setdefault(idx, []).append((docs, rejects))
                        else:
                            idx, res = msg
                            results[idx] = _joined(res, parts.pop(idx, []))
                            s.task = None
                            s.done += 1
                except (EOFError, OSError):
                    replace = True
                now = time.monotonic()
                if s.task and now > s.deadline:
                    idx, e = s.task
                    parts.pop(idx, None)
                    detail = f"parsing took over {time_limit(e, config):.0f}s"
                    results[idx] = rejected_file(e, "timeout", detail, ingested_at=ingested_at)
                    replace = True
                elif replace or not s.alive():
                    if not s.ready:
                        self.start_failures += 1
                        if self.start_failures >= 3:  # an environment problem (imports), not bad input
                            raise RuntimeError("ingest workers die at start-up; run with workers=0 to see why")
                    if s.task:
                        idx, e = s.task
                        parts.pop(idx, None)
                        results[idx] = rejected_file(
                            e, "worker_crashed", f"exit code {s.proc.poll()}", ingested_at=ingested_at
                        )
                    replace = True
                elif not s.ready and now > s.started + START_TIMEOUT_S:
                    raise RuntimeError("ingest worker did not start")  # environment problem, not input
                if replace or (s.task is None and s.done >= MAX_TASKS_PER_WORKER):
                    s.task = None
                    s.kill() if replace else s.stop()
                    slots[i] = _Slot(config, ingested_at)
            while next_out in results:
                yield results.pop(next_out)
                next_out += 1
                if on_progress:
                    on_progress(next_out, total)


def _joined(res: ParsedFile, parts: list[tuple[pl.DataFrame, pl.DataFrame]]) -> ParsedFile:
    """A file's result with the parts its worker sent ahead (see ``parse_file``'s ``emit``)."""
    if not parts:
        return res
    docs = pl.concat([*(d for d, _ in parts), res.documents])
    rejects = pl.concat([*(r for _, r in parts), res.rejects])
    return dataclasses.replace(res, documents=docs, rejects=rejects)


def parse_files(
    entries: Iterable[InboxEntry],
    *,
    config: IngestConfig,
    ingested_at: datetime,
    on_progress: Callable[[int, int], None] | None = None,
    pool: WorkerPool | None = None,
) -> Iterator[ParsedFile]:
    """Parse ``entries`` in ``config.workers`` processes; yield one :class:`ParsedFile` each, in input order.

    ``config.workers == 0`` parses in this process (no time limit; for debugging). Never raises for bad
    input: timeouts and crashed workers become rejected files. ``pool``: workers started earlier (see
    :class:`WorkerPool`); it is left open. Without it, workers are started here and stopped at the end.
    """
    todo = list(entries)
    total = len(todo)
    if config.workers <= 0:
        for i, e in enumerate(todo, 1):
            yield parse_file(e, config=config, ingested_at=ingested_at)
            if on_progress:
                on_progress(i, total)
        return
    if not todo:
        return
    if pool is not None:
        yield from pool.map(todo, on_progress)
        return
    with WorkerPool(min(config.workers, total), config=config, ingested_at=ingested_at) as own:
        yield from own.map(todo, on_progress)
