"""The rate budget in PostgreSQL (``SYNCFW_BUDGET_URL=postgresql://…``, psycopg 3).

One row per token digest in ``syncfw_rate_budget`` (created on first use). Each exchange is one
transaction: ``SELECT … FOR UPDATE`` locks the row, the server's ``clock_timestamp()`` is read
after the lock is held, the bucket is changed in Python and written back, and the commit releases
the row. A process that dies holding it loses its connection, and the server rolls its
transaction back, so nobody waits on a dead holder.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

import psycopg
from psycopg import conninfo

from syncfw.notion.budget import _Bucket, dump_bucket, load_bucket
from syncfw.notion.budget_shared import CONNECT_TIMEOUT, ServerRateBudget, malformed

T = TypeVar("T")

TABLE_DDL = (
    "CREATE TABLE IF NOT EXISTS syncfw_rate_budget ("
    " key text PRIMARY KEY,"  # a digest of the integration token, never the token
    " state jsonb NOT NULL)"
)
_DDL_LOCK = 0x73796E63  # "sync": concurrent CREATE TABLE IF NOT EXISTS can still collide
_SELECT = "SELECT state::text FROM syncfw_rate_budget WHERE key = %s FOR UPDATE"


class PostgresRateBudget(ServerRateBudget):
    """A :class:`~syncfw.notion.budget_shared.ServerRateBudget` in a PostgreSQL row (see the module
    docstring); one connection per budget, used by one thread at a time.

    Raises:
        ConfigError: ``url`` is not a valid libpq connection URI (exit 2).
    """

    driver_errors = (psycopg.Error,)

    def __init__(
        self,
        rate: float,
        burst: int = 3,
        *,
        key: str,
        url: str,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(rate, burst, key=key, url=url, clock=clock, sleep=sleep)
        try:
            conninfo.conninfo_to_dict(url)
        except psycopg.ProgrammingError as exc:
            raise malformed(url, str(exc).strip()) from None
        self._connection: psycopg.Connection[Any] | None = None

    def _connect(self) -> psycopg.Connection[Any]:
        connection = psycopg.connect(
            self._url, autocommit=True, connect_timeout=CONNECT_TIMEOUT, application_name="syncfw budget"
        )
        with connection.transaction():
            connection.execute("SELECT pg_advisory_xact_lock(%s)", (_DDL_LOCK,))
            connection.execute(TABLE_DDL)
        return connection

    def _transact(self, change: Callable[[_Bucket, float], T]) -> T:
        connection = self._connection
        if connection is None or connection.closed:
            connection = self._connection = self._connect()
        with connection.transaction():
            row = connection.execute(_SELECT, (self.key,)).fetchone()
            if row is None:
                connection.execute(
                    "INSERT INTO syncfw_rate_budget (key, state) VALUES (%s, '{}') ON CONFLICT (key) DO NOTHING",
                    (self.key,),
                )
                row = connection.execute(_SELECT, (self.key,)).fetchone()
            clock = connection.execute("SELECT extract(epoch FROM clock_timestamp())::float8").fetchone()
            assert row is not None and clock is not None  # the row exists, locked, in this transaction
            now = self._now(clock[0])
            state = load_bucket(row[0], self.burst, now)
            result = change(state, now)
            connection.execute(
                "UPDATE syncfw_rate_budget SET state = %s::jsonb WHERE key = %s",
                (dump_bucket(state), self.key),
            )
        return result
