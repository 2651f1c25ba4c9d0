"""The ``config`` block of a SQL source in a recipe: one database, any number of streams.

```yaml
sources:
  app_db:
    connector: sql
    config:
      url: ${env:APP_DATABASE_URL}   # postgresql+psycopg://user:pw@host/db, sqlite:///app.db, duckdb:///x.duckdb
      streams:
        customers:                   # the name mappings give as `stream:`
          table: customers           # a table or a view (`schema:` for another schema)
          key: id
          updated_at: updated_at     # incremental reads; without it every read is a full read
          soft_delete: deleted_at    # rows where it is set are reported deleted
        big_orders:
          query: SELECT id, customer_id, total, updated_at FROM orders WHERE total > 1000
          key: id
          updated_at: updated_at
```

The URL is a SQLAlchemy database URL (https://docs.sqlalchemy.org/en/20/core/engines.html#database-urls)
and is held as a secret (it usually carries a password): write it as ``${env:NAME}`` or
``${file:PATH}``. Messages never show it: they name the backend, database and host
(:func:`describe`).
"""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from syncfw import Duration

DEFAULT_LOOKBACK = timedelta(minutes=5)
"""How far before its cursor an incremental read looks again. A row's ``updated_at`` is usually
set by the writing transaction (``now()``/``CURRENT_TIMESTAMP``), which PostgreSQL defines as the
*start* time of the transaction (PostgreSQL documentation, "Date/Time Functions and Operators",
9.9.5 "Current Date/Time": "these functions return the start time of the current transaction"):
a transaction that commits later than a newer one makes a row visible with an older stamp. Five
minutes covers ordinary application transactions; raise it for long batch jobs."""
DEFAULT_BATCH_SIZE = 1000
"""Rows fetched from the server-side cursor at a time (SQLAlchemy ``yield_per``); a checkpoint
follows each batch, so memory holds one batch."""


class StreamConfig(BaseModel):
    """One stream: a table, a view or a query.

    Attributes:
        table: a table or view name (either this or ``query``).
        schema_name: the table's schema (``schema:`` in YAML), e.g. ``analytics``; default the
            connection's default schema.
        query: a ``SELECT`` whose rows are the stream (either this or ``table``); it is read as a
            subquery, ``SELECT ... FROM (<query>) AS syncfw_rows WHERE ... ORDER BY ...``, so it
            must not end with ``;``. Mention no secret in it: it may appear in error messages.
        key: the column holding each row's unique, non-null key (the sync key's source).
        updated_at: a date-time column saying when the row last changed; reads are then
            incremental (rows changed since the cursor, less a look-back). None: every read is a
            full read ordered by ``key`` (the engine's diff makes unchanged rows cost no write).
        soft_delete: a column that marks deleted rows: a row where it is neither NULL nor false
            is reported deleted (``Record.deleted``) and left out of the key scan. The writer
            must also move ``updated_at`` when it sets it, or incremental reads do not see it.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    table: str | None = Field(default=None, min_length=1)
    schema_name: str | None = Field(default=None, alias="schema", min_length=1)
    query: str | None = Field(default=None, min_length=1)
    key: str = Field(min_length=1)
    updated_at: str | None = Field(default=None, min_length=1)
    soft_delete: str | None = Field(default=None, min_length=1)

    @field_validator("query")
    @classmethod
    def _check_query(cls, value: str | None) -> str | None:
        if value is not None and value.strip().endswith(";"):
            raise ValueError("remove the trailing ';': the query is read as a subquery")
        return value

    @model_validator(mode="after")
    def _one_source(self) -> StreamConfig:
        if (self.table is None) == (self.query is None):
            raise ValueError("give exactly one of `table:` (a table or view) and `query:`")
        if self.schema_name is not None and self.table is None:
            raise ValueError("`schema:` applies to `table:` only (qualify names inside a query yourself)")
        for name, column in (("updated_at", self.updated_at), ("soft_delete", self.soft_delete)):
            if column is not None and column == self.key:
                raise ValueError(f"`{name}` must be another column than `key`")
        return self


class SqlConfig(BaseModel):
    """Connection settings of one database and the streams read from it.

    Attributes:
        url: the SQLAlchemy database URL, a secret (``${env:NAME}``): ``postgresql+psycopg://``
            (``pip install 'syncfw-sql[postgres]'``), ``sqlite:///path.db``,
            ``duckdb:///path.duckdb`` (``pip install 'syncfw-sql[duckdb]'``) or any installed
            dialect's.
        streams: stream name → :class:`StreamConfig`.
        lookback: how far before its cursor an incremental read looks, a duration such as ``5m``
            (default :data:`DEFAULT_LOOKBACK`); ``0s`` reads from the cursor's own instant.
        timezone: the IANA time zone of date-times stored without one (``timestamp without time
            zone``, SQLite text), default ``UTC``; records carry every date-time with its offset.
        batch_size: rows per fetch from the server-side cursor, 1-100,000 (default
            :data:`DEFAULT_BATCH_SIZE`); a checkpoint follows each batch.
        connect_timeout_seconds: how long to wait for a connection, passed to drivers that take
            ``connect_timeout`` (PostgreSQL); default 10.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: SecretStr
    streams: dict[str, StreamConfig] = Field(min_length=1)
    lookback: Duration = DEFAULT_LOOKBACK
    timezone: str = "UTC"
    batch_size: int = Field(default=DEFAULT_BATCH_SIZE, ge=1, le=100_000)
    connect_timeout_seconds: int = Field(default=10, ge=1, le=600)

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: SecretStr) -> SecretStr:
        try:
            make_url(value.get_secret_value())
        except ArgumentError:
            raise ValueError(
                "not a SQLAlchemy database URL (expected e.g. postgresql+psycopg://user:password@host/db, "
                "sqlite:///app.db or duckdb:///warehouse.duckdb)"
            ) from None
        return value

    @field_validator("lookback")
    @classmethod
    def _check_lookback(cls, value: timedelta) -> timedelta:
        if value < timedelta(0):
            raise ValueError("the look-back cannot be negative: give a duration such as 5m, or 0s")
        return value

    @field_validator("timezone")
    @classmethod
    def _check_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (expected an IANA name such as 'UTC')") from None
        return value

    @field_validator("streams")
    @classmethod
    def _check_stream_names(cls, value: dict[str, StreamConfig]) -> dict[str, StreamConfig]:
        for name in value:
            if not name.strip():
                raise ValueError("a stream name cannot be empty")
        return value

    @property
    def database_url(self) -> URL:
        """The parsed URL (with its password: never print it; see :attr:`where`)."""
        return make_url(self.url.get_secret_value())

    @property
    def where(self) -> str:
        """The database as messages name it, never the URL itself (the URL is the secret; a URL
        without a password would be shown whole by ``URL.render_as_string(hide_password=True)``):
        ``postgresql database 'app' on db.internal:5432``, ``sqlite database '/data/app.db'``."""
        return describe(self.database_url)

    @property
    def zone(self) -> ZoneInfo:
        """:attr:`timezone` as a ``ZoneInfo``."""
        return ZoneInfo(self.timezone)


def describe(url: URL) -> str:
    """``url``'s backend, database and host in words, without user name or password."""
    text = f"{url.get_backend_name()} database {url.database or ''!r}"
    if url.host:
        text += f" on {url.host}" + (f":{url.port}" if url.port else "")
    return text
