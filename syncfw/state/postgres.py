"""The PostgreSQL state store and run lock, for state shared by several machines.

Each recipe's state is a schema of its own (``syncfw_<recipe>``) holding the same tables as a
SQLite file, made by the same ordered migrations (:mod:`syncfw.state.schema`) and read and written
by the same statements (:mod:`syncfw.state.reads`, :mod:`~syncfw.state.writes`,
:mod:`~syncfw.state.history`) in the :data:`~syncfw.state.dialect.POSTGRES` dialect. A schema per
recipe, rather than a recipe column in shared tables, keeps every statement as it is (no query can
forget the recipe and see another's rows), versions each recipe's tables on its own, and lets an
operator grant, copy or drop one recipe's state as one object. The schema version is the one row
of the schema's ``schema_version`` table (SQLite keeps it in ``PRAGMA user_version``); migrations
run under a transaction-level advisory lock, so two processes opening a new schema at once apply
each migration once.

The run lock is a session-level advisory lock (``pg_try_advisory_lock``,
https://www.postgresql.org/docs/current/explicit-locking.html#ADVISORY-LOCKS) on a key derived from
the schema name, held by a connection of its own for the whole run: the server releases it when
that session ends, however the process ends. Who holds it is the ``run_lock`` row of the
``settings`` table, written under the lock. Connection poolers in transaction mode (PgBouncer's
``pool_mode = transaction``) cannot hold a session lock: point ``SYNCFW_STATE_URL`` at the server
or a session-mode pool.

:func:`new_state` makes a recipe's schema and lets ``syncfw state migrate`` fill it, all in one
transaction (:mod:`syncfw.state.migrate`).

psycopg is the optional extra ``syncfw[postgres]``; only this module imports it.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from types import TracebackType
from typing import Any, ClassVar

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from syncfw.clock import utcnow
from syncfw.errors import ConfigError, LockHeld, StateError
from syncfw.recipe.state import PostgresState
from syncfw.secrets import hide
from syncfw.state.connection import ConnectedStore
from syncfw.state.dialect import POSTGRES, Dialect
from syncfw.state.schema import MIGRATIONS
from syncfw.state.transaction import Transaction

CONNECT_TIMEOUT = 10
"""Seconds to wait for the server when the URL sets no ``connect_timeout`` (libpq's default is to
wait forever, https://www.postgresql.org/docs/current/libpq-connect.html#LIBPQ-CONNECT-CONNECT-TIMEOUT)."""
IDENTIFIER_BYTES = 63
"""The longest name PostgreSQL keeps (NAMEDATALEN - 1,
https://www.postgresql.org/docs/current/sql-syntax-lexical.html#SQL-SYNTAX-IDENTIFIERS)."""
LOCK_SETTING = "run_lock"
"""The ``settings`` row naming the holder of the run lock (JSON: host, pid, command, since)."""
LOCK_SESSION = {
    # the server drops a lock session whose machine vanished (no FIN) after about a minute
    # instead of the kernel's two hours (https://www.postgresql.org/docs/current/runtime-config-connection.html)
    "tcp_keepalives_idle": "30",
    "tcp_keepalives_interval": "10",
    "tcp_keepalives_count": "3",
    # an idle lock session must outlive a long run (https://www.postgresql.org/docs/current/runtime-config-client.html)
    "idle_session_timeout": "0",
    "idle_in_transaction_session_timeout": "0",
}


def schema_name(recipe: str) -> str:
    """The schema of ``recipe``'s state: ``syncfw_<recipe>``, shortened with a hash of the name
    past :data:`IDENTIFIER_BYTES` (PostgreSQL would silently truncate it)."""
    name = f"syncfw_{recipe}"
    if len(name.encode()) <= IDENTIFIER_BYTES:
        return name
    digest = hashlib.sha256(recipe.encode()).hexdigest()[:12]
    return f"{name.encode()[: IDENTIFIER_BYTES - 13].decode(errors='ignore')}_{digest}"


def _lock_key(purpose: str, schema: str) -> int:
    """A signed 64-bit advisory lock key for ``purpose`` on ``schema``."""
    return int.from_bytes(
        hashlib.sha256(f"syncfw {purpose} {schema}".encode()).digest()[:8], "big", signed=True
    )


def _connect(location: PostgresState, what: str) -> psycopg.Connection[Any]:
    """An autocommit connection (application name ``syncfw``).

    Raises:
        StateError: the server cannot be reached or refuses (one line, no password).
    """
    try:
        given = conninfo_to_dict(location.url)
        defaults = {"connect_timeout": str(CONNECT_TIMEOUT), "application_name": "syncfw"}
        return psycopg.connect(
            make_conninfo(location.url, **{k: v for k, v in defaults.items() if k not in given}),
            autocommit=True,
        )
    except psycopg.Error as exc:
        raise StateError(f"cannot open {what} {location}: {_one_line(exc, location)}") from None


def _one_line(exc: BaseException, location: PostgresState) -> str:
    """The first line of a driver error, with the URL's password hidden."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    with suppress(psycopg.Error):
        password = conninfo_to_dict(location.url).get("password")
        if password:
            text = hide(text, [str(password)])
    return text


class PostgresStore(ConnectedStore):
    """A recipe's state in its schema of a PostgreSQL database (see the module docstring). Safe
    to share between threads of one process.

    Raises:
        StateError: the server cannot be reached, the schema cannot be made or migrated, read or
            written.
    """

    dialect: ClassVar[Dialect] = POSTGRES
    driver_error: ClassVar[type[Exception]] = psycopg.Error
    _db: psycopg.Connection[Any]

    def __init__(self, location: PostgresState, recipe: str) -> None:
        self.location = location
        self.schema = schema_name(recipe)
        self._lock = threading.RLock()
        self._db = _connect(location, "the state store")
        try:
            self._db.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(self.schema)))
            self._migrate()
        except psycopg.Error as exc:
            self._db.close()
            raise StateError(f"cannot open the state store {self}: {_one_line(exc, location)}") from None
        except BaseException:
            self._db.close()
            raise

    def __str__(self) -> str:
        return f"{self.location} (schema {self.schema})"

    def _one_line(self, exc: Exception) -> str:
        return _one_line(exc, self.location)

    @property
    def schema_version(self) -> int:
        """How many of :data:`syncfw.state.schema.MIGRATIONS` the schema has had."""
        return int(self._query("SELECT version FROM schema_version")[0][0])

    def _migrate(self) -> None:
        """Make the schema and apply the migrations it lacks, each in its own transaction with its
        version, under an advisory lock that serialises processes opening the same schema."""
        while True:
            with self._db.transaction():
                self._db.execute("SELECT pg_advisory_xact_lock(%s)", (_lock_key("migrate", self.schema),))
                if not _schema_exists(self._db, self.schema):
                    _create_schema(self._db, self.schema)
                version = int(self._db.execute("SELECT version FROM schema_version").fetchone()[0])  # type: ignore[index]
                if version > len(MIGRATIONS):
                    raise StateError(
                        f"the state store {self} was written by a newer syncfw (schema {version}); "
                        "upgrade syncfw to use it"
                    )
                if version == len(MIGRATIONS):
                    return
                self._apply(MIGRATIONS[version])
                self._db.execute("UPDATE schema_version SET version = %s", (version + 1,))

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """Group writes; everything inside commits together or not at all.

        Raises:
            StateError: the transaction failed (the caller must stop: nothing more may be written).
        """
        with self._lock:
            try:
                with self._db.transaction():
                    yield Transaction(self._db, self.dialect)
            except psycopg.Error as exc:
                raise StateError(
                    f"the state store {self} could not be written: {_one_line(exc, self.location)}; nothing "
                    "is lost: the next run settles the writes this run made to Notion and goes on from "
                    "there. Check the server and run again."
                ) from None

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
        """Record the end of a run in its own transaction.

        Raises:
            StateError: the end could not be recorded; the next run records the run as failed.
        """
        with self.transaction() as tx:
            tx.finish_run(
                run_id,
                finished_at=finished_at,
                status=status,
                exit_code=exit_code,
                summary=summary,
                error=error,
            )


def postgres_state_exists(location: PostgresState, recipe: str) -> bool:
    """Whether ``recipe`` has a state schema in the database (nothing is created).

    Raises:
        StateError: the server cannot be reached or refuses.
    """
    with _connect(location, "the state store") as db:
        try:
            return _schema_exists(db, schema_name(recipe))
        except psycopg.Error as exc:
            raise StateError(f"cannot read the state store {location}: {_one_line(exc, location)}") from None


def _schema_exists(db: psycopg.Connection[Any], schema: str) -> bool:
    return db.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,)).fetchone() is not None


def _create_schema(db: psycopg.Connection[Any], schema: str) -> None:
    """Make ``schema`` at version 0 (the connection's search path names it already)."""
    db.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    db.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
    db.execute("INSERT INTO schema_version (version) VALUES (0)")


class NewState:
    """A recipe's state schema being made, inside the one open transaction of
    :func:`new_state`: at the newest schema version, its tables empty until filled."""

    def __init__(self, db: psycopg.Connection[Any], location: PostgresState, schema: str) -> None:
        self._db = db
        self.location = location
        self.schema = schema

    def __str__(self) -> str:
        return f"{self.location} (schema {self.schema})"

    def copy(self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
        """Add ``rows`` (values of ``columns``) to ``table`` with PostgreSQL's ``COPY``, identity
        columns included (``COPY FROM`` writes the values given, as ``OVERRIDING SYSTEM VALUE``
        does, https://www.postgresql.org/docs/current/sql-copy.html); answers how many rows."""
        statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
            sql.Identifier(table), sql.SQL(", ").join(sql.Identifier(c) for c in columns)
        )
        count = 0
        with self._db.cursor().copy(statement) as copy:
            for row in rows:
                copy.write_row(row)
                count += 1
        return count

    def transaction(self) -> Transaction:
        """The state's writes, in the same transaction."""
        return Transaction(self._db, POSTGRES)

    def _continue_identities(self) -> None:
        """Make every identity column number on from the largest value copied into it (the
        journal's ``seq``: a copied journal goes on numbering after its last entry)."""
        identities = self._db.execute(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = %s AND is_identity = 'YES'",
            (self.schema,),
        ).fetchall()
        for table, column in identities:
            self._db.execute(
                sql.SQL("SELECT setval(pg_get_serial_sequence(%s, %s), max({})) FROM {}").format(
                    sql.Identifier(column), sql.Identifier(table)
                ),
                (sql.Identifier(self.schema, table).as_string(self._db), column),
            )


@contextmanager
def new_state(location: PostgresState, recipe: str) -> Iterator[NewState]:
    """Make ``recipe``'s state schema at the newest schema version and let the caller fill it, all
    in one transaction: committed when the block ends, nothing left when it raises. Opening the
    store meanwhile waits for the end (the migration lock of :class:`PostgresStore`).

    Raises:
        ConfigError: the database holds a state of ``recipe`` already (nothing was written).
        StateError: the server cannot be reached or refuses (nothing was written).
    """
    schema = schema_name(recipe)
    db = _connect(location, "the state store")
    try:
        db.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(schema)))
        with db.transaction():
            db.execute("SELECT pg_advisory_xact_lock(%s)", (_lock_key("migrate", schema),))
            if _schema_exists(db, schema):
                raise ConfigError(
                    f"{location} holds a state of recipe {recipe} already (schema {schema}); nothing was "
                    "written. Point the recipe at it as it is, or drop that schema first if it is not wanted."
                )
            _create_schema(db, schema)
            for migration in MIGRATIONS:
                migration.apply(db, POSTGRES)
            db.execute("UPDATE schema_version SET version = %s", (len(MIGRATIONS),))
            state = NewState(db, location, schema)
            yield state
            state._continue_identities()
    except psycopg.Error as exc:
        raise StateError(
            f"cannot write the state store {location} (schema {schema}): {_one_line(exc, location)}; "
            "nothing was written"
        ) from None
    finally:
        db.close()


class AdvisoryRunLock:
    """One run of a recipe at a time across machines: a session advisory lock on the recipe's
    schema, on a connection of its own (see the module docstring). Open the store first (it makes
    the schema).

    Raises:
        LockHeld: (on ``__enter__``) another session holds it; the message names its host, pid,
            command and start time.
        StateError: the server cannot be reached.
    """

    def __init__(self, location: PostgresState, recipe: str, command: str) -> None:
        self.location = location
        self.recipe = recipe
        self.command = command
        self.schema = schema_name(recipe)
        self._key = _lock_key("run", self.schema)
        self._db: psycopg.Connection[Any] | None = None

    def __enter__(self) -> AdvisoryRunLock:
        db = _connect(self.location, "the run lock of")
        try:
            db.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(self.schema)))
            for name, value in LOCK_SESSION.items():
                # only where the server has the setting (idle_session_timeout is PostgreSQL 14+)
                db.execute(
                    "SELECT set_config(name, %s, false) FROM pg_settings WHERE name = %s", (value, name)
                )
            if not db.execute("SELECT pg_try_advisory_lock(%s)", (self._key,)).fetchone()[0]:  # type: ignore[index]
                raise LockHeld(
                    f"another run of recipe {self.recipe} holds its lock ({self._holder(db)}); this run did "
                    "nothing. Wait for it to finish, or check that process."
                )
            holder = {
                "pid": os.getpid(),
                "host": socket.gethostname(),
                "command": self.command,
                "since": utcnow().isoformat(timespec="seconds"),
            }
            db.execute(
                "INSERT INTO settings (name, value) VALUES (%s, %s) "
                "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                (LOCK_SETTING, json.dumps(holder)),
            )
        except psycopg.Error as exc:
            db.close()
            raise StateError(
                f"cannot take the run lock in {self.location}: {_one_line(exc, self.location)}"
            ) from None
        except BaseException:
            db.close()
            raise
        self._db = db
        return self

    def _holder(self, db: psycopg.Connection[Any]) -> str:
        try:
            row = db.execute("SELECT value FROM settings WHERE name = %s", (LOCK_SETTING,)).fetchone()
            info = json.loads(row[0]) if row else None
            if info:
                return f"{info['command']} by pid {info['pid']} on {info['host']} since {info['since']}"
        except (psycopg.Error, ValueError, KeyError, TypeError):
            pass
        return "holder unknown"

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._db is None:
            return
        with suppress(psycopg.Error):
            self._db.execute("DELETE FROM settings WHERE name = %s", (LOCK_SETTING,))
            self._db.execute("SELECT pg_advisory_unlock(%s)", (self._key,))
        self._db.close()
        self._db = None
