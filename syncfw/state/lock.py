"""One run of a recipe at a time, across processes.

The lock is a kernel file lock (``fcntl``/``LockFileEx`` through the filelock library) on
``<state file>.lock``: the kernel releases it when the process ends, however it ends, so a run
killed with SIGKILL never blocks the next one. Who holds it and since when is written beside it
(``<state file>.lock.json``) for the message the second run prints.

A file lock belongs to the file, not to its name: when the file is deleted while a run holds it
(``rm .syncfw/*.lock``, a temporary-file cleaner), the next run creates a new file and locks that
one. So on Linux a run also holds a name in the abstract Unix socket namespace derived from the
state file's real path: a name no file operation can remove, freed by the kernel when the process
ends, exactly like the file lock. The file lock still covers what the name cannot: runs in other
network namespaces (containers) sharing the state directory. Elsewhere (macOS, Windows, or a
sandbox that forbids Unix sockets) there is no such name and only the file lock counts: do not
let cleaners delete ``*.lock`` there.
A local user who binds the name first blocks the recipe's runs (they exit 75 naming the holding
process); it can never let two runs in.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import socket
import struct
import sys
from pathlib import Path
from types import TracebackType

from filelock import FileLock, Timeout

from syncfw.clock import utcnow
from syncfw.errors import LockHeld

HOST_LOCKS = sys.platform.startswith("linux")
"""Whether the abstract-socket lock is available (Linux only)."""


class RunLock:
    """A non-blocking, process-wide run lock next to the state file.

    Raises:
        LockHeld: (on ``__enter__``) another process holds it; the message says which and since
            when, and whether its lock file was deleted while it ran.
    """

    def __init__(self, state_path: Path, recipe: str, command: str) -> None:
        state_path.parent.mkdir(parents=True, exist_ok=True)
        self.path = state_path.with_name(state_path.name + ".lock")
        self.info = state_path.with_name(state_path.name + ".lock.json")
        self.recipe = recipe
        self.command = command
        self._lock = FileLock(str(self.path), timeout=0)
        digest = hashlib.sha256(os.path.realpath(state_path).encode()).hexdigest()[:40]
        self._name = b"\0syncfw-run-lock-" + digest.encode()
        self._socket: socket.socket | None = None

    def __enter__(self) -> RunLock:
        try:
            self._lock.acquire()
        except Timeout:
            raise LockHeld(
                f"another run of recipe {self.recipe} holds its lock ({self._holder()}); this run did "
                "nothing. Wait for it to finish, or check that process."
            ) from None
        if HOST_LOCKS:
            try:
                self._socket = self._claim_name()
            except BaseException:
                self._lock.release()
                raise
        self.info.write_text(
            json.dumps(
                {
                    "pid": os.getpid(),
                    "host": socket.gethostname(),
                    "command": self.command,
                    "since": utcnow().isoformat(timespec="seconds"),
                }
            )
        )
        return self

    def _claim_name(self) -> socket.socket | None:
        """The bound name, or None where Unix sockets are not allowed (a sandbox): the file lock
        alone then.

        Raises:
            LockHeld: another process holds the name.
        """
        try:
            claim = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        except OSError:
            return None
        try:
            claim.bind(self._name)
            # lets a refused run ask who holds it (SO_PEERCRED); nothing is accepted, so each probe
            # keeps a place in the backlog until this run ends
            claim.listen(socket.SOMAXCONN)
        except OSError as exc:
            claim.close()
            if exc.errno != errno.EADDRINUSE:
                return None
            raise LockHeld(
                f"another run of recipe {self.recipe} is still running ({self._holder(self._peer())}) "
                f"although its lock file {self.path} was deleted or replaced; this run did nothing. Wait "
                f"for it to finish, and keep whatever deletes files in {self.path.parent} (a temporary-file "
                "cleaner?) away from it."
            ) from None
        return claim

    def _peer(self) -> int | None:
        """The pid of the process holding the name, as the kernel reports it."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
            # the holder never accepts: once its backlog is full a blocking connect would hang
            probe.setblocking(False)
            try:
                probe.connect(self._name)
                creds = probe.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
            except OSError:
                return None
        pid: int = struct.unpack("3i", creds)[0]
        return pid

    def _holder(self, pid: int | None = None) -> str:
        try:
            info = json.loads(self.info.read_text())
            if pid is None or info["pid"] == pid:
                return f"{info['command']} by pid {info['pid']} on {info['host']} since {info['since']}"
        except (OSError, ValueError, KeyError):
            pass
        return "holder unknown" if pid is None else f"pid {pid}"

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.info.unlink(missing_ok=True)
        if self._socket is not None:
            self._socket.close()
            self._socket = None
        self._lock.release()
