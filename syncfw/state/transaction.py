"""The writes of one open transaction, for any backend whose driver follows PEP 249."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Protocol

from syncfw.state.dialect import Dialect
from syncfw.state.history import HistoryWrites
from syncfw.state.writes import SyncWrites


class Cursor(Protocol):
    """What a PEP 249 cursor offers here (sqlite3's and psycopg's)."""

    def fetchone(self) -> Any: ...

    def fetchmany(self, size: int, /) -> list[Any]: ...

    def fetchall(self) -> list[Any]: ...


class Connection(Protocol):
    """What a PEP 249 connection offers here: sqlite3's and psycopg's both run a statement on
    the connection itself (a shortcut for a new cursor's ``execute``)."""

    def execute(self, sql: str, params: Sequence[Any], /) -> Cursor: ...

    def cursor(self) -> Any: ...

    def close(self) -> None: ...


class Transaction(SyncWrites, HistoryWrites):
    """Writes inside a store's ``transaction()`` (both
    :class:`~syncfw.state.protocol.SyncTransaction` and
    :class:`~syncfw.state.protocol.HistoryTransaction`), on ``db`` in ``dialect``."""

    def __init__(self, db: Connection, dialect: Dialect) -> None:
        self._db = db
        self.dialect = dialect

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[Sequence[Any]]:
        return list(self._db.execute(self.dialect.sql(sql), params).fetchall())

    def _execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        self._db.execute(self.dialect.sql(sql), params)

    def _executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        self._db.cursor().executemany(self.dialect.sql(sql), rows)

    def _returning(self, sql: str, params: Sequence[Any]) -> Any:
        return self._db.execute(self.dialect.sql(sql), params).fetchone()[0]
