"""Interrupts of ``newslake run``: Ctrl-C in a terminal (SIGINT to the whole foreground process group) and
SIGTERM stop a run between commits, say so in one line and exit 130.

Dagster runs the jobs in this process and takes SIGINT itself while a run executes: it turns the interrupt
into a failed run (or, raised inside a garbage-collector callback, loses it), its console logger prints that
failure with stack traces, and the processes it starts to mirror a step's output print their own tracebacks.
This module records every interrupt whichever handler takes it (:func:`interrupted`), keeps those children
and the console logger quiet once one arrived, and holds interrupts during the instance's event writes.
"""

from __future__ import annotations

import contextlib
import functools
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any

INTERRUPTS = (signal.SIGINT, signal.SIGTERM)


_signals: int | None = None  # read end of the wakeup pipe while interrupts_as_keyboard_interrupt is active
_interrupted = False


@contextlib.contextmanager
def interrupts_as_keyboard_interrupt() -> Iterator[None]:
    """SIGTERM behaves like Ctrl-C: the run stops between commits and is recorded as canceled or failed.

    Meanwhile every SIGINT and SIGTERM is also noted for :func:`interrupted`, whichever handler takes it: during a
    run Dagster's does, and it turns the interrupt into a failed run (or loses it, when it raises inside a
    garbage-collector callback, where Python ignores exceptions). Python writes the number of every signal that
    reaches a handler to the wakeup fd, so that record does not depend on any handler."""
    global _signals, _interrupted

    def handler(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, handler)
    read, write = os.pipe()
    os.set_blocking(read, False)
    os.set_blocking(write, False)
    previous_fd = signal.set_wakeup_fd(write, warn_on_full_buffer=False)
    _signals, _interrupted = read, False
    previous_hook = sys.unraisablehook

    def unraisable(info) -> None:
        # An interrupt raised where Python cannot propagate it (that garbage-collector callback): noted above,
        # it needs no "Exception ignored" traceback on the terminal.
        if isinstance(info.exc_value, Exception) or info.exc_value is None:
            previous_hook(info)

    sys.unraisablehook = unraisable
    try:
        yield
    finally:
        sys.unraisablehook = previous_hook
        signal.set_wakeup_fd(previous_fd)
        _signals = None
        os.close(read)
        os.close(write)
        signal.signal(signal.SIGTERM, previous)


def interrupted() -> bool:
    """Whether SIGINT or SIGTERM arrived since :func:`interrupts_as_keyboard_interrupt` began."""
    global _interrupted
    with contextlib.suppress(BlockingIOError):
        while _signals is not None and not _interrupted and (numbers := os.read(_signals, 512)):
            _interrupted = any(n in INTERRUPTS for n in numbers)
    return _interrupted


def tails_ignore_ctrl_c() -> None:
    """Start the processes that mirror a step's captured output to the terminal (``tail -F`` and Dagster's
    ``watch_orphans`` script) with SIGINT blocked: Ctrl-C in a terminal signals the whole foreground process
    group, and the script would print a KeyboardInterrupt traceback on the terminal. The blocked mask is
    inherited through exec; Dagster still stops both with SIGTERM at the step's end. A Dagster release without
    ``tail_to_stream`` is left as it is."""
    from dagster._core.execution import compute_logs

    original = getattr(compute_logs, "tail_to_stream", None)
    if original is None or getattr(original, "newslake", False):
        return

    @contextlib.contextmanager
    def tail_to_stream(path, stream):
        with contextlib.ExitStack() as stack:
            mask = signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGINT])  # pending meanwhile, not lost
            try:
                pids = stack.enter_context(original(path, stream))
            finally:
                signal.pthread_sigmask(signal.SIG_SETMASK, mask)
            yield pids

    tail_to_stream.newslake = True  # type: ignore[attr-defined]
    compute_logs.tail_to_stream = tail_to_stream


def quiet_after_interrupt(job):
    """``job`` with Dagster's console logger silent once an interrupt arrived: what it would print then is the
    interruption told as a failed step and run, with stack traces; the CLI says it in one line, the run's log
    keeps them. The same logger definition otherwise (the job's snapshot does not change)."""
    import dagster as dg

    console = dg.colored_console_logger

    def create(init_context):
        logger = console.logger_fn(init_context)
        logger.addFilter(lambda record: not interrupted())
        return logger

    quiet = dg.LoggerDefinition(create, config_schema=console.config_schema, description=console.description)
    return job.with_logger_defs({**job.loggers, "console": quiet})


def held_during(store: Callable[..., None]) -> Callable[..., None]:
    """``store`` (the instance's event write) with SIGINT and SIGTERM handled once it returns.

    During a run Dagster's handler raises wherever the main thread is. Raised inside a SQLite write, it left the
    statement unfinished and its connection holding the write lock as long as the exception lived: the run's
    failure event then waited 30 s for that lock and failed ("database is locked"), the run stayed STARTED and
    newslake exited 1 with that traceback."""

    @functools.wraps(store)
    def held_store(*args: Any, **kwargs: Any) -> None:
        previous: dict[int, Any] = {sig: signal.getsignal(sig) for sig in INTERRUPTS}
        if threading.current_thread() is not threading.main_thread() or None in previous.values():
            return store(*args, **kwargs)  # Python runs handlers in the main thread only; None: not set by Python
        held: list[tuple[int, Any]] = []
        for sig in INTERRUPTS:
            signal.signal(sig, lambda signum, frame: held.append((signum, frame)))
        try:
            return store(*args, **kwargs)
        finally:
            for number, handler in previous.items():
                signal.signal(number, handler)
            for number, frame in held[:1]:
                if callable(previous[number]):
                    previous[number](number, frame)
                elif previous[number] == signal.SIG_DFL:
                    signal.raise_signal(number)

    return held_store
