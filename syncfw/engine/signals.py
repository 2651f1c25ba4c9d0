"""Stopping a run cleanly on SIGINT / SIGTERM.

The first signal asks the run to stop: writes already sent finish and are committed, writes not
yet started are left for the next run, cursors stay before them, and the run exits 130 (SIGINT)
or 143 (SIGTERM) with a line saying what was done. A second signal is handled normally (the
default action), for an operator who really wants the process gone.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType


class StopSignal(threading.Event):
    """An event set by the first SIGINT/SIGTERM; ``signum`` says which one."""

    signum: int | None = None


@contextmanager
def stop_on_signals() -> Iterator[StopSignal]:
    """Install the handlers for the duration (only in the main thread, where Python allows it)."""
    stop = StopSignal()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        stop.signum = signum
        stop.set()
        signal.signal(signum, signal.SIG_DFL if signum == signal.SIGTERM else signal.default_int_handler)

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
