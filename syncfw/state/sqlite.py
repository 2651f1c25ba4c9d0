"""The SQLite state store: one file per recipe, in WAL mode, offering both parts of
:mod:`syncfw.state.protocol` (the engine's :class:`SyncState` and the :class:`RunHistory`).

What is SQLite's own lives here: the connection and its pragmas, ``BEGIN IMMEDIATE``, the schema
version in ``PRAGMA user_version``, and what SQLite's error codes mean for the user (a full disk,
the process's file size limit, a failing disk).
"""

from __future__ import annotations

import shutil
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, ClassVar

from syncfw.errors import StateError
from syncfw.state.connection import ConnectedStore
from syncfw.state.dialect import SQLITE, Dialect
from syncfw.state.schema import MIGRATIONS
from syncfw.state.transaction import Transaction


class StateStore(ConnectedStore):
    """A recipe's state in one SQLite file. Safe to share between threads of one process.

    Raises:
        StateError: the file cannot be opened, migrated, read or written.
    """

    dialect: ClassVar[Dialect] = SQLITE
    driver_error: ClassVar[type[Exception]] = sqlite3.Error
    _db: sqlite3.Connection

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.RLock()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA busy_timeout=10000")
            self._migrate()
        except (sqlite3.Error, OSError) as exc:
            raise StateError(f"cannot open the state store {path}: {exc}") from exc

    @property
    def schema_version(self) -> int:
        """How many of :data:`syncfw.state.schema.MIGRATIONS` the file has had."""
        return int(self._db.execute("PRAGMA user_version").fetchone()[0])

    def _migrate(self) -> None:
        """Apply the migrations the file lacks, each in its own transaction with its version; the
        version is read again under the write lock, so two processes opening an old store at
        once apply each migration once."""
        self._check_version()
        while self.schema_version < len(MIGRATIONS):
            self._db.execute("BEGIN IMMEDIATE")
            try:
                version = self.schema_version
                if version < len(MIGRATIONS):
                    self._apply(MIGRATIONS[version])
                    self._db.execute(f"PRAGMA user_version = {version + 1}")
                self._db.execute("COMMIT")
            except BaseException:
                self._rollback()
                raise

    def _check_version(self) -> None:
        version = self.schema_version
        if version > len(MIGRATIONS):
            raise StateError(
                f"the state store {self.path} was written by a newer syncfw (schema {version}); "
                "upgrade syncfw to use it"
            )

    def __str__(self) -> str:
        return str(self.path)

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """Group writes; everything inside commits together or not at all.

        Raises:
            StateError: the commit failed (the caller must stop: nothing more may be written).
        """
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise StateError(self._not_written(exc)) from exc
            try:
                yield Transaction(self._db, self.dialect)
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                message = self._not_written(exc)
                self._rollback()
                if _error_code(exc) in (sqlite3.SQLITE_FULL, sqlite3.SQLITE_IOERR):
                    self._give_back_log()
                raise StateError(message) from exc
            except BaseException:
                self._rollback()
                raise

    def end_run(
        self,
        run_id: str,
        *,
        finished_at: str,
        status: str,
        exit_code: int,
        summary: dict[str, Any],
        error: str | None,
    ) -> None:
        """Record the end of a run in its own transaction, even when the disk is full: a refused
        write gives back the space of the write-ahead log (:meth:`_give_back_log`), so the end is
        written once more after a refusal.

        Raises:
            StateError: the end could not be recorded even then; the next run records the run
                as failed (:meth:`HistoryWrites.end_unfinished_runs`).
        """

        def record() -> None:
            with self.transaction() as tx:
                tx.finish_run(
                    run_id,
                    finished_at=finished_at,
                    status=status,
                    exit_code=exit_code,
                    summary=summary,
                    error=error,
                )

        try:
            record()
        except StateError:
            record()

    def _give_back_log(self) -> None:
        """After a write refused for want of room: copy the write-ahead log into the database and truncate it to
        nothing (``PRAGMA wal_checkpoint(TRUNCATE)``,
        https://www.sqlite.org/pragma.html#pragma_wal_checkpoint). A run's commits grow the log up
        to SQLite's automatic checkpoint at 1000 pages
        (https://www.sqlite.org/wal.html#automatic_checkpoint), about 4 MiB that a full disk or
        the file size limit may be missing; the end of the run and its alerts can then be written.
        Nothing happens when the checkpoint itself cannot be written."""
        with suppress(sqlite3.Error):
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def _rollback(self) -> None:
        # SQLite rolls a transaction back by itself after SQLITE_FULL, SQLITE_IOERR, SQLITE_BUSY or
        # SQLITE_NOMEM (https://www.sqlite.org/lang_transaction.html, "Response To Errors Within A
        # Transaction"): a second ROLLBACK would fail and hide the error that ended it.
        if not self._db.in_transaction:
            return
        with suppress(sqlite3.Error):
            self._db.execute("ROLLBACK")

    def _not_written(self, exc: sqlite3.Error) -> str:
        """The one-line message of a failed write: what happened, that nothing is lost (intents are
        committed before each Notion write, cursors only after), and what to do."""
        cause, todo = self._write_failure(exc)
        return (
            f"the state store {self.path} could not be written: {cause}; nothing is lost: the next "
            f"run settles the writes this run made to Notion and goes on from there. {todo}"
        )

    def _write_failure(self, exc: sqlite3.Error) -> tuple[str, str]:
        """Why a write failed, and what to do. SQLite reports ENOSPC as SQLITE_FULL but a write
        refused for another reason (EFBIG past the file size limit, EIO, EDQUOT) as SQLITE_IOERR
        (https://www.sqlite.org/rescode.html), so an I/O error is checked against the free space
        and the process's file size limit (``ulimit -f``)."""
        code = _error_code(exc)
        free = _free_space(self.path.parent)
        room = "Free some space" + (
            "" if free is None else f" ({free // 1024} KiB free in {self.path.parent})"
        )
        if code == sqlite3.SQLITE_FULL:
            return "disk full", f"{room} and run again."
        if code != sqlite3.SQLITE_IOERR:
            return str(exc), "Check the file and run again."
        limit = _file_size_limit()
        if limit is not None and self._largest_file() + _LARGEST_WRITE >= limit:
            return (
                f"disk full: a file of the state store reached the file size limit of this process "
                f"({limit // 1024} KiB, `ulimit -f`)",
                "Raise the limit (or move `state.path` elsewhere) and run again.",
            )
        if free is not None and free < _LARGEST_WRITE:
            return "disk full", f"{room} and run again."
        return f"{exc} (a write to the disk failed)", "Check the disk (`dmesg`) and run again."

    def _largest_file(self) -> int:
        sizes = [0]
        for suffix in ("", "-wal", "-journal"):
            with suppress(OSError):
                sizes.append(self.path.with_name(self.path.name + suffix).stat().st_size)
        return max(sizes)


def _error_code(exc: sqlite3.Error) -> int:
    """The primary result code of ``exc`` (https://www.sqlite.org/rescode.html), 0 if none."""
    return int(getattr(exc, "sqlite_errorcode", 0)) & 0xFF


# A WAL frame: a page of at most 64 KiB and its 24-byte header (https://www.sqlite.org/fileformat.html).
_LARGEST_WRITE = 65536 + 24


def _free_space(directory: Path) -> int | None:
    """Bytes free for this user on the file system of ``directory``, or None if unknown."""
    try:
        return shutil.disk_usage(directory).free
    except OSError:
        return None


def _file_size_limit() -> int | None:
    """The soft RLIMIT_FSIZE of this process in bytes, or None when unlimited (or not POSIX)."""
    try:
        import resource
    except ImportError:
        return None
    soft = resource.getrlimit(resource.RLIMIT_FSIZE)[0]
    return None if soft == resource.RLIM_INFINITY else soft
