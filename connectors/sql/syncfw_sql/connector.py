"""The SQL source connector: tables, views and queries of any SQLAlchemy database as streams.

Each stream of the config (:class:`~syncfw_sql.config.StreamConfig`) is read with one
``SELECT`` of the columns the mappings need, plus the key, ``updated_at`` and ``soft_delete``
columns::

    SELECT <columns> FROM <table, or (<query>) AS syncfw_rows>
    [WHERE <updated_at> >= :since] ORDER BY <updated_at>, <key>

through a server-side cursor (SQLAlchemy's ``stream_results`` with ``yield_per``; see "Using
Server Side Cursors (a.k.a. stream results)" in the SQLAlchemy 2 documentation): PostgreSQL
fetches ``batch_size`` rows at a time with ``FETCH FORWARD``, SQLite steps through the rows, and
the connector holds one batch. DuckDB's dialect has no server-side cursors: the DuckDB client holds
the result, fetched from it a batch at a time. A checkpoint follows
each batch. ``:since`` is the cursor's stamp less the look-back (:mod:`syncfw_sql.cursor`).
A stream without ``updated_at`` is read in full every time, ordered by key, with one checkpoint
at the end.

Records are ``Record(stream, key=<the key column's value as text>, data={column: plain value})``
with values as :mod:`syncfw_sql.values` describes; ``deleted`` is set when the ``soft_delete``
column marks the row. Rows deleted outright leave no trace a read can see: the key scan
(:meth:`SqlConnector.scan_keys`, ``SELECT <key> FROM ...``) lists the keys that exist, for the
engine's reconciliation (``reconcile_every:`` on the target).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar

import sqlalchemy as sa
from pydantic import BaseModel
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError
from tenacity.wait import wait_base

from syncfw import SourceError, SourceUnavailable
from syncfw.connector import RETRY_ATTEMPTS, RETRY_WAIT, Checkpoint, Connector, Record, StreamSpec, retrying
from syncfw_sql.config import SqlConfig, StreamConfig
from syncfw_sql.cursor import CursorBuilder, LookbackCursor, row_digest
from syncfw_sql.errors import FILE_DIALECTS, driver_message, is_transient_connect, source_error
from syncfw_sql.values import ValueProblem, is_deleted, key_text, plain, stamp

log = logging.getLogger(__name__)

SUBQUERY = "syncfw_rows"
"""The alias a query stream is read under."""
SCAN_BATCH = 10_000
"""Keys fetched at a time by the key scan."""


class SqlConnector(Connector):
    """Reads tables, views and queries through SQLAlchemy 2 (see the module docstring).

    One engine (connection pool) per connector; :meth:`close` disposes of it. Reads are
    read-only ``SELECT`` statements.
    """

    name = "sql"
    config_model = SqlConfig
    maturity = "beta"

    retry_attempts: ClassVar[int] = RETRY_ATTEMPTS
    retry_wait: ClassVar[wait_base] = RETRY_WAIT

    def __init__(self, config: BaseModel) -> None:
        if not isinstance(config, SqlConfig):
            raise TypeError(f"SqlConnector needs a SqlConfig, got {type(config).__name__}")
        super().__init__(config)
        self.settings = config
        self._engine: Engine | None = None

    def check(self) -> None:
        """Connect, and check that every configured stream's source and columns exist.

        Raises:
            syncfw.errors.SourceAuthError: the database refused the credentials.
            syncfw.errors.SourceUnavailable: a network database could not be reached after retries.
            syncfw.errors.SourceError: a database file does not exist, a table, view or query
                fails, or a configured column is not among the stream's columns.
        """
        with self._connection("connecting") as connection:
            for name, spec in self.settings.streams.items():
                self._columns(connection, name, spec)

    def stream(self, name: str) -> StreamSpec:
        """Stream ``name``: its key, its ``updated_at`` column as cursor field and its columns as
        fields (runs the stream's ``SELECT`` for no row to learn them).

        Raises:
            syncfw.errors.SourceError: ``name`` is not a configured stream, or :meth:`check`
                would fail for it.
        """
        spec = self._spec(name)
        with self._connection(f"describing stream {name!r}") as connection:
            columns = self._columns(connection, name, spec)
        return StreamSpec(
            name=name,
            primary_key=spec.key,
            cursor_field=spec.updated_at,
            fields=tuple(columns),
        )

    def read(self, stream: str, cursor: str | None, fields: Sequence[str]) -> Iterator[Record | Checkpoint]:
        """Yield the rows changed since ``cursor`` (every row when None), a checkpoint after each
        batch, and always a checkpoint at the end.

        Args:
            stream: a configured stream name.
            cursor: a cursor of an earlier checkpoint, or None.
            fields: the columns the mappings need (``address.city`` reads column ``address``);
                the key, ``updated_at`` and ``soft_delete`` columns are always read. Empty:
                every column.

        Raises:
            syncfw.errors.SourceError: everything :meth:`check` raises; a requested column is not
                in the stream (the message lists those that are); a row has a NULL key, an
                ``updated_at`` that is NULL or not a date-time, or a binary value (the message
                names the stream, the key and the column); the cursor is not one this connector
                wrote.
        """
        spec = self._spec(stream)
        try:
            start = LookbackCursor.decode(cursor)
        except ValueError as exc:
            raise SourceError(
                f"stream {stream!r}: {exc}; reset the stream's cursor to read it in full"
            ) from None
        with self._connection(f"reading stream {stream!r}") as connection:
            columns = self._selected(stream, spec, self._columns(connection, stream, spec), fields)
            datetimes = _text_datetimes(connection, spec)
            source = _source(spec, columns)
            query = sa.select(*(source.c[name] for name in columns))
            if spec.updated_at is None:
                ordered = query.order_by(source.c[spec.key])
                yield from self._read_full(connection, stream, spec, ordered, datetimes)
                return
            lookback = self.settings.lookback
            since = start.since(lookback)
            if since is not None:
                bound = since.astimezone(self.settings.zone).replace(tzinfo=None) if start.naive else since
                query = query.where(
                    source.c[spec.updated_at]
                    >= sa.bindparam("since", bound, type_=sa.DateTime(timezone=not start.naive))
                )
            query = query.order_by(source.c[spec.updated_at], source.c[spec.key])
            builder = CursorBuilder(start, lookback)
            checkpoint: Checkpoint | None = Checkpoint(stream, start.encode())
            for batch in self._batches(connection, query):
                for row in batch:
                    key, data, deleted = self._record(stream, spec, row, datetimes)
                    try:
                        moment, naive = stamp(row[spec.updated_at], self.settings.zone)
                    except ValueProblem as exc:
                        raise SourceError(
                            f"stream {stream!r}, key {key!r}: updated_at column {spec.updated_at!r}: {exc}"
                        ) from None
                    digest = row_digest(data)
                    if start.delivered(key, moment, digest, lookback):
                        continue
                    builder.add(key, moment, digest, naive=naive)
                    yield Record(stream, key, data, deleted=deleted)
                checkpoint = Checkpoint(stream, builder.cursor().encode())
                yield checkpoint
                checkpoint = None
            if checkpoint is not None:
                yield checkpoint

    def scan_keys(self, stream: str) -> Iterator[str]:
        """The key of every row of ``stream`` that exists now (less rows its ``soft_delete``
        column marks), as text exactly as :attr:`Record.key` holds it, fetched
        :data:`SCAN_BATCH` at a time: ``SELECT <key>[, <soft_delete>] FROM ...``.

        Raises:
            syncfw.errors.SourceError: everything :meth:`check` raises, or a row has a NULL key.
        """
        spec = self._spec(stream)
        with self._connection(f"scanning the keys of stream {stream!r}") as connection:
            columns = [spec.key] if spec.soft_delete is None else [spec.key, spec.soft_delete]
            self._selected(stream, spec, self._columns(connection, stream, spec), columns)
            source = _source(spec, columns)
            query = sa.select(*(source.c[name] for name in columns))
            for batch in self._batches(connection, query, size=SCAN_BATCH):
                for row in batch:
                    if spec.soft_delete is not None and is_deleted(row[spec.soft_delete]):
                        continue
                    yield self._key(stream, spec, row[spec.key])

    def close(self) -> None:
        """Close the connection pool."""
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    def _spec(self, stream: str) -> StreamConfig:
        try:
            return self.settings.streams[stream]
        except KeyError:
            known = ", ".join(sorted(self.settings.streams))
            raise SourceError(
                f"{self.settings.where}: no stream {stream!r} in the source's `streams:` (it has {known})"
            ) from None

    def _engine_for_url(self) -> Engine:
        if self._engine is None:
            url = self.settings.database_url
            if url.get_backend_name() in FILE_DIALECTS and url.database not in (None, "", ":memory:"):
                path = Path(url.database)
                if not path.is_file():
                    raise SourceError(
                        f"{self.settings.where}: the database file {str(path)!r} does not exist"
                    )
            connect_args: dict[str, Any] = {}
            if url.get_backend_name() == "postgresql":
                connect_args["connect_timeout"] = self.settings.connect_timeout_seconds
            try:
                self._engine = sa.create_engine(url, connect_args=connect_args)
            except (SQLAlchemyError, ImportError) as exc:
                raise SourceError(
                    f"{self.settings.where}: cannot use this URL ({driver_message(exc)}); install the "
                    "dialect's driver, e.g. pip install 'syncfw-sql[postgres]' or 'syncfw-sql[duckdb]'"
                ) from None
        return self._engine

    @contextmanager
    def _connection(self, what: str) -> Iterator[Connection]:
        """A connection (retrying transient failures to connect); database errors inside become
        syncfw errors."""
        engine = self._engine_for_url()
        url = self.settings.database_url
        attempts = retrying(
            "SQL",
            f"{what} ({self.settings.where})",
            retry=lambda exc: is_transient_connect(exc, url),
            log=log,
            stop=self.retry_attempts,
            wait=self.retry_wait,
            describe=lambda exc: driver_message(exc) if exc is not None else "",
        )
        try:
            connection = attempts(engine.connect)
        except SQLAlchemyError as exc:
            if is_transient_connect(exc, url):
                tries = attempts.statistics.get("attempt_number", 1)
                raise SourceUnavailable(
                    f"{self.settings.where}: {what} failed after {tries} tries: {driver_message(exc)}"
                ) from None
            raise source_error(exc, url, what) from None
        try:
            with connection:
                yield connection
        except SQLAlchemyError as exc:
            raise source_error(exc, url, what) from None

    def _batches(
        self, connection: Connection, query: sa.Select[Any], size: int | None = None
    ) -> Iterator[Sequence[sa.RowMapping]]:
        """The rows of ``query`` through a server-side cursor, ``size`` (``batch_size``) at a time."""
        rows = size or self.settings.batch_size
        result = connection.execution_options(stream_results=True, yield_per=rows).execute(query)
        yield from result.mappings().partitions()

    def _read_full(
        self,
        connection: Connection,
        stream: str,
        spec: StreamConfig,
        query: sa.Select[Any],
        datetimes: frozenset[str],
    ) -> Iterator[Record | Checkpoint]:
        for batch in self._batches(connection, query):
            for row in batch:
                key, data, deleted = self._record(stream, spec, row, datetimes)
                yield Record(stream, key, data, deleted=deleted)
        yield Checkpoint(stream, LookbackCursor().encode())

    def _record(
        self, stream: str, spec: StreamConfig, row: sa.RowMapping, datetimes: frozenset[str]
    ) -> tuple[str, dict[str, Any], bool]:
        """The row's key, plain data and deleted flag; ``datetimes`` are the columns whose text
        (SQLite's) is a date-time to read in the config's zone."""
        key = self._key(stream, spec, row[spec.key])
        data: dict[str, Any] = {}
        zone = self.settings.zone
        for column, value in row.items():
            try:
                if column in datetimes and isinstance(value, str):
                    value = stamp(value, zone)[0]
                data[str(column)] = plain(value, zone)
            except ValueProblem as exc:
                raise SourceError(f"stream {stream!r}, key {key!r}: column {str(column)!r}: {exc}") from None
        data[spec.key] = key
        deleted = spec.soft_delete is not None and is_deleted(row[spec.soft_delete])
        return key, data, deleted

    def _key(self, stream: str, spec: StreamConfig, value: Any) -> str:
        try:
            key = key_text(value)
        except ValueProblem as exc:
            raise SourceError(f"stream {stream!r}: key column {spec.key!r}: {exc}") from None
        if key is None:
            raise SourceError(
                f"stream {stream!r}: a row has no value in its key column {spec.key!r} (NULL or blank): "
                "every row needs a unique key; filter such rows out with a query stream"
            )
        return key

    def _columns(self, connection: Connection, stream: str, spec: StreamConfig) -> list[str]:
        """The stream's column names (its ``SELECT`` run for no row); the configured key,
        ``updated_at`` and ``soft_delete`` columns must be among them."""
        query: sa.Select[Any] = (
            sa.select(sa.literal_column("*")).select_from(_source(spec, ())).where(sa.false())
        )
        result: sa.CursorResult[Any] = connection.execute(query)
        names = result.keys()
        columns = [str(name) for name in names]
        result.close()
        configured = (("key", spec.key), ("updated_at", spec.updated_at), ("soft_delete", spec.soft_delete))
        for role, column in configured:
            if column is not None and column not in columns:
                raise SourceError(
                    f"stream {stream!r}: the {role} column {column!r} is not among its columns {columns}"
                )
        return columns

    def _selected(
        self, stream: str, spec: StreamConfig, available: list[str], fields: Sequence[str]
    ) -> list[str]:
        """The columns a read selects: key, ``updated_at``, ``soft_delete`` and the top-level
        column of every field path, each once; every column when ``fields`` is empty."""
        if not fields:
            return available
        wanted = [spec.key, spec.updated_at, spec.soft_delete, *(path.split(".")[0] for path in fields)]
        selected = list(dict.fromkeys(name for name in wanted if name is not None))
        missing = [name for name in selected if name not in available]
        if missing:
            raise SourceError(
                f"stream {stream!r} has no column {', '.join(map(repr, missing))} (it has {available})"
            )
        return selected


def _text_datetimes(connection: Connection, spec: StreamConfig) -> frozenset[str]:
    """The columns whose values may be date-times held as text: ``updated_at``, and in SQLite
    (which returns date-times as the text it stores) a table's columns declared ``DATETIME`` or
    ``TIMESTAMP`` (SQLite documentation, "Datatypes In SQLite", 2.2 "Date and Time Datatype")."""
    names = {spec.updated_at} if spec.updated_at is not None else set()
    if connection.dialect.name == "sqlite" and spec.table is not None:
        columns = sa.inspect(connection).get_columns(spec.table, schema=spec.schema_name)
        names.update(column["name"] for column in columns if isinstance(column["type"], sa.DateTime))
    return frozenset(names)


def _source(spec: StreamConfig, columns: Sequence[str]) -> sa.TableClause | sa.Subquery:
    """The stream's ``FROM``: the table or view (``schema``-qualified), or the query as a subquery."""
    named: list[sa.ColumnClause[Any]] = [sa.column(name) for name in columns]
    if spec.table is not None:
        return sa.table(spec.table, *named, schema=spec.schema_name)
    assert spec.query is not None  # the config holds exactly one of table and query
    return sa.text(spec.query).columns(*named).subquery(SUBQUERY)
