"""One run of a recipe at a time, across processes.

The lock is a kernel file lock (``fcntl``/``LockFileEx`` through the filelock library) on
``<state file>.lock``: the kernel releases it when the process ends, however it ends, so a run
killed with SIGKILL never blocks the next one. Who holds it and since when is written beside it
(``<state file>.lock.json``) for the message the second run prints.
"""

from __future__ import annotations

import json
import os
import socket
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

from filelock import FileLock, Timeout

from syncfw.errors import LockHeld


class RunLock:
    """A non-blocking, process-wide run lock next to the state file.

    Raises:
        LockHeld: (on ``__enter__``) another process holds it; the message says which and since when.
    """

    def __init__(self, state_path: Path, recipe: str, command: str) -> None:
        state_path.parent.mkdir(parents=True, exist_ok=True)
        self.path = state_path.with_name(state_path.name + ".lock")
        self.info = state_path.with_name(state_path.name + ".lock.json")
        self.recipe = recipe
        self.command = command
        self._lock = FileLock(str(self.path), timeout=0)

    def __enter__(self) -> RunLock:
        try:
            self._lock.acquire()
        except Timeout:
            holder = self._holder()
            raise LockHeld(
                f"another run of recipe {self.recipe} holds its lock ({holder}); this run did nothing. "
                "Wait for it to finish, or check that process."
            ) from None
        self.info.write_text(
            json.dumps(
                {
                    "pid": os.getpid(),
                    "host": socket.gethostname(),
                    "command": self.command,
                    "since": datetime.now(UTC).isoformat(timespec="seconds"),
                }
            )
        )
        return self

    def _holder(self) -> str:
        try:
            info = json.loads(self.info.read_text())
            return f"{info['command']} by pid {info['pid']} on {info['host']} since {info['since']}"
        except (OSError, ValueError, KeyError):
            return "holder unknown"

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.info.unlink(missing_ok=True)
        self._lock.release()
