"""How the state store's SQL differs between databases, in one place.

Every statement of the store is written once, in the SQL that SQLite (3.35 or later) and
PostgreSQL share, with ``?`` for each bound value. What differs is spelt here:

- the placeholder (``?`` for sqlite3, ``%s`` for psycopg: PEP 249 ``paramstyle``);
- the identity column of the journal (``INTEGER PRIMARY KEY AUTOINCREMENT`` in SQLite,
  https://www.sqlite.org/autoinc.html; ``GENERATED ALWAYS AS IDENTITY`` in PostgreSQL);
- how a table with a primary key and no other index is stored once, in its key's order:
  SQLite's ``WITHOUT ROWID`` (https://www.sqlite.org/withoutrowid.html; a rowid table keeps its
  key a second time in an index); nothing in PostgreSQL, whose tables are heaps beside their
  indexes;
- the type of a column of bytes (``BLOB``, ``BYTEA``);
- the upsert, built by :meth:`Dialect.upsert` (``INSERT … ON CONFLICT … DO UPDATE``, the same words
  in SQLite, https://www.sqlite.org/lang_upsert.html, and PostgreSQL,
  https://www.postgresql.org/docs/current/sql-insert.html#SQL-ON-CONFLICT);
- the catalog queries naming a store's tables and a table's columns (``sqlite_schema`` and
  ``pragma_table_info``, https://www.sqlite.org/schematab.html; ``information_schema``), which
  ``syncfw state migrate`` copies by.

Transactions, schema versions and error codes belong to the backend's connection module
(:mod:`syncfw.state.sqlite`, :mod:`syncfw.state.postgres`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Dialect:
    """The spelling of one database.

    Attributes:
        name: the database (``sqlite`` or ``postgresql``).
        placeholder: the bound-value marker of its driver (``?`` or ``%s``).
        identity: the column definition of an integer primary key the database numbers itself.
        clustered: what ends a CREATE TABLE to store the table in its primary key's order only.
        binary: the type of a column of bytes (``BLOB``, ``BYTEA``).
        tables: the query answering the names of the store's tables, one a row (the schema
            version's bookkeeping excluded).
        columns: the query answering the column names of the table ``?``, in order.
    """

    name: str
    placeholder: str
    identity: str
    clustered: str
    binary: str
    tables: str
    columns: str

    def sql(self, text: str) -> str:
        """``text`` (written with ``?`` markers and no literal ``?`` or ``%``) in this dialect."""
        if self.placeholder == "?":
            return text
        return text.replace("%", "%%").replace("?", self.placeholder)

    def upsert(
        self, table: str, columns: Sequence[str], key: Sequence[str], update: Mapping[str, str] | None = None
    ) -> str:
        """An INSERT of one row (a ``?`` per column) that updates the row with the same ``key``
        instead. ``update`` maps each column to change to an expression (``excluded.<column>`` is
        the new row's value, ``<table>.<column>`` the stored one); by default every column not in
        ``key`` takes the new row's value."""
        if update is None:
            update = {column: f"excluded.{column}" for column in columns if column not in key}
        return (
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks(len(columns))}) "
            f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET "
            + ", ".join(f"{column} = {expression}" for column, expression in update.items())
        )


def identifier(name: str) -> str:
    """``name`` quoted as an SQL identifier (the same double quotes in SQLite and PostgreSQL)."""
    return '"' + name.replace('"', '""') + '"'


def marks(count: int) -> str:
    """``count`` comma-separated ``?`` markers, for ``VALUES (…)`` or ``IN (…)``."""
    return ", ".join("?" * count)


SQLITE = Dialect(
    "sqlite",
    "?",
    "INTEGER PRIMARY KEY AUTOINCREMENT",
    "WITHOUT ROWID",
    "BLOB",
    # SQLite's own tables (sqlite_sequence) start with "sqlite_" (https://www.sqlite.org/fileformat2.html)
    "SELECT name FROM sqlite_schema WHERE type = 'table' AND substr(name, 1, 7) <> 'sqlite_' ORDER BY name",
    "SELECT name FROM pragma_table_info(?) ORDER BY cid",
)
POSTGRES = Dialect(
    "postgresql",
    "%s",
    # https://www.postgresql.org/docs/current/sql-createtable.html ("GENERATED ... AS IDENTITY")
    "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
    "",
    "BYTEA",
    "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() "
    "AND table_type = 'BASE TABLE' AND table_name <> 'schema_version' ORDER BY table_name",
    "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() "
    "AND table_name = ? ORDER BY ordinal_position",
)
