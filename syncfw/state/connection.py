"""What the SQLite and PostgreSQL stores share: one PEP 249 connection, used under a lock, in a
:class:`~syncfw.state.dialect.Dialect`. It runs the reads (:class:`SyncReads`,
:class:`HistoryReads`), applies one migration, and reads whole tables as they are stored (what
``syncfw state migrate`` copies, :mod:`syncfw.state.migrate`). Opening, transactions, schema
versions and what the driver's errors mean stay in the backend's module."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from typing import Any, ClassVar

from syncfw.errors import StateError
from syncfw.state.dialect import Dialect, identifier
from syncfw.state.history import HistoryReads
from syncfw.state.reads import SyncReads
from syncfw.state.schema import Migration
from syncfw.state.sql import CHUNK
from syncfw.state.transaction import Connection


class ConnectedStore(SyncReads, HistoryReads):
    """A store on one connection ``_db`` (safe to share between threads: every use holds
    ``_lock``). A backend sets :attr:`dialect` and :attr:`driver_error`, and says in
    :meth:`_one_line` what a driver error is without a secret.

    Raises:
        StateError: (reads) the store cannot be read.
    """

    dialect: ClassVar[Dialect]
    driver_error: ClassVar[type[Exception]]
    """The base class of the driver's errors (``sqlite3.Error``, ``psycopg.Error``)."""
    _db: Connection
    _lock: threading.RLock

    def _one_line(self, exc: Exception) -> str:
        """``exc`` as one line a user may see."""
        return " ".join(str(exc).split()) or type(exc).__name__

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[Sequence[Any]]:
        return list(self._db.execute(self.dialect.sql(sql), params).fetchall())

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[Sequence[Any]]:
        with self._lock:
            try:
                return self._rows(sql, params)
            except self.driver_error as exc:
                raise StateError(f"cannot read the state store {self}: {self._one_line(exc)}") from None

    def _apply(self, migration: Migration) -> None:
        """Apply ``migration`` inside the transaction the backend opened for it."""
        migration.apply(self._db, self.dialect)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def tables(self) -> list[str]:
        """The names of the store's tables, sorted (its schema version's bookkeeping aside)."""
        return [str(row[0]) for row in self._query(self.dialect.tables)]

    def columns(self, table: str) -> list[str]:
        """The names of ``table``'s columns, in order."""
        return [str(row[0]) for row in self._query(self.dialect.columns, (table,))]

    def table_rows(self, table: str, columns: Sequence[str]) -> Iterator[Sequence[Any]]:
        """Every row of ``table`` (``columns`` of it, values as stored), ordered by those columns,
        read :data:`~syncfw.state.sql.CHUNK` at a time. Another thread's use of the store waits
        until the iteration ends.

        Raises:
            StateError: the table cannot be read.
        """
        names = ", ".join(identifier(c) for c in columns)
        order = ", ".join(str(n) for n in range(1, len(columns) + 1))
        with self._lock:
            try:
                cursor = self._db.execute(f"SELECT {names} FROM {identifier(table)} ORDER BY {order}", ())
                while batch := cursor.fetchmany(CHUNK):
                    yield from batch
            except self.driver_error as exc:
                raise StateError(f"cannot read the state store {self}: {self._one_line(exc)}") from None
