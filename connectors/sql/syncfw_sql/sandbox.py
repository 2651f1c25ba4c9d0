"""The sandbox's SQL source: a real SQLite (or DuckDB) database file seeded from JSON.

There is no service to emulate: the sandbox's "emulator" is a database file in the sandbox's
state directory, created on the first start from ``DIR/sql/<table>.json`` (by default the sample
data this package ships, ``syncfw_sql/seed/``) and kept across restarts, so changes made to it
(by a test, or by hand with ``sqlite3``) stay. Each seed file describes one table::

    {"columns": {"id": "integer", "name": "text", "mrr": "numeric", "active": "boolean",
                 "signed_up": "date", "updated_at": "timestamptz", "deleted_at": "timestamptz"},
     "key": "id",
     "rows": [{"id": 1, "name": "Acme", "mrr": 99.5, "active": true, "signed_up": "2025-01-31",
               "updated_at": "2026-05-01T09:00:00+00:00", "deleted_at": null}]}

Column types are :data:`COLUMN_TYPES`. :func:`seed_database` loads such files into any database
SQLAlchemy reaches (the tests seed a PostgreSQL database with it).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from syncfw import ConfigError
from syncfw.connector import EmulatorContext, SourceEmulator

COLUMN_TYPES: Mapping[str, sa.types.TypeEngine[Any]] = {
    "integer": sa.BigInteger(),
    "text": sa.Text(),
    "numeric": sa.Numeric(14, 2),
    "float": sa.Float(),
    "boolean": sa.Boolean(),
    "date": sa.Date(),
    "timestamp": sa.DateTime(timezone=False),
    "timestamptz": sa.DateTime(timezone=True),
}
"""The column types a seed file may name, as SQLAlchemy types (``timestamptz`` is ``timestamp
with time zone`` where the database has one; SQLite keeps date-times as text)."""
DATABASES = {"sqlite": "sandbox.db", "duckdb": "sandbox.duckdb"}
"""The sandbox option ``sql_database`` → the file created in the sandbox's state directory."""


def _value(kind: str, value: Any) -> Any:
    if value is None:
        return None
    if kind == "numeric":
        return Decimal(str(value))
    if kind == "date":
        return dt.date.fromisoformat(value)
    if kind in ("timestamp", "timestamptz"):
        moment = dt.datetime.fromisoformat(value)
        return moment.astimezone(dt.UTC) if moment.tzinfo is not None else moment
    return value


def seed_tables(data_dir: Path) -> dict[str, tuple[sa.Table, list[dict[str, Any]]]]:
    """The tables and rows the seed files of ``data_dir`` describe, by table name (the file stem).

    Raises:
        ConfigError: a file is not a seed file as the module docstring shows (the message names it).
    """
    metadata = sa.MetaData()
    tables: dict[str, tuple[sa.Table, list[dict[str, Any]]]] = {}
    for path in sorted(data_dir.glob("*.json")):
        try:
            spec = json.loads(path.read_text(encoding="utf-8"))
            columns: dict[str, str] = spec["columns"]
            unknown = sorted(set(columns.values()) - set(COLUMN_TYPES))
            if unknown:
                raise ValueError(f"unknown column type(s) {unknown}; known: {sorted(COLUMN_TYPES)}")
            table = sa.Table(
                path.stem,
                metadata,
                *(
                    sa.Column(name, COLUMN_TYPES[kind], primary_key=name == spec["key"], autoincrement=False)
                    for name, kind in columns.items()
                ),
            )
            rows = [{name: _value(columns[name], row.get(name)) for name in columns} for row in spec["rows"]]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ConfigError(f"sql seed file {path}: {exc}") from None
        tables[path.stem] = (table, rows)
    return tables


def generated_rows(table: sa.Table, rows: list[dict[str, Any]], count: int) -> list[dict[str, Any]]:
    """``count`` more rows for ``table``: copies of ``rows`` in turn under new keys (an integer key
    continues after the largest; a text key gets ``-<n>`` appended)."""
    if not rows:
        return []
    [key] = table.primary_key.columns
    numbered = isinstance(key.type, sa.Integer)
    start = max(int(row[key.name]) for row in rows) + 1 if numbered else 0
    extra = []
    for number in range(count):
        row = dict(rows[number % len(rows)])
        row[key.name] = start + number if numbered else f"{row[key.name]}-{number + 1}"
        extra.append(row)
    return extra


def seed_database(url: str | sa.URL, data_dir: Path, *, bulk: int = 0) -> list[str]:
    """Create the tables of ``data_dir``'s seed files in the database at ``url`` and insert their
    rows, and ``bulk`` generated rows per table (:func:`generated_rows`); return the table names.
    Tables that exist already are left as they are, rows and all.

    Raises:
        ConfigError: a seed file is malformed.
        sqlalchemy.exc.SQLAlchemyError: the database refused a statement.
    """
    tables = seed_tables(data_dir)
    engine = sa.create_engine(url)
    try:
        with engine.begin() as connection:
            existing = set(sa.inspect(connection).get_table_names())
            for name, (table, rows) in tables.items():
                if name in existing:
                    continue
                table.create(connection)
                every = rows + generated_rows(table, rows, bulk)
                if every:
                    connection.execute(table.insert(), every)
    finally:
        engine.dispose()
    return list(tables)


class SqlSandboxDatabase(SourceEmulator):
    """The sandbox's SQL database (see the module docstring).

    Sandbox options: ``sql_database``: ``sqlite`` (the default) or ``duckdb`` (needs
    ``pip install 'syncfw-sql[duckdb]'``); ``bulk=N`` (``syncfw sandbox serve --bulk N``): N
    generated rows more per table when the database is created.

    Attributes:
        url: the database's SQLAlchemy URL once started (also ``SQL_DATABASE_URL`` in the env file).
    """

    name = "sql"
    seed_data = Path(__file__).parent / "seed"

    def __init__(self) -> None:
        self.url: str | None = None

    def start(self, context: EmulatorContext) -> dict[str, str]:
        """Create and seed the database file on the first start; reuse it after.

        Returns:
            ``{"SQL_DATABASE_URL": "sqlite:////<state dir>/sandbox.db"}``, what a recipe's
            ``url: ${env:SQL_DATABASE_URL}`` needs.

        Raises:
            syncfw.errors.ConfigError: the ``sql_database`` option is not ``sqlite`` or ``duckdb``,
                ``bulk`` is not a whole number, or a seed file is malformed.
        """
        dialect = context.options.get("sql_database") or "sqlite"
        if dialect not in DATABASES:
            raise ConfigError(f"sandbox option sql_database={dialect!r}: expected one of {sorted(DATABASES)}")
        bulk = context.options.get("bulk") or "0"
        if not bulk.isdigit():
            raise ConfigError(f"sandbox option bulk={bulk!r}: expected a whole number of rows")
        path = (context.state_dir / DATABASES[dialect]).resolve()
        url = f"{dialect}:///{path}"
        if not path.exists() and context.data_dir is not None:
            seed_database(url, context.data_dir, bulk=int(bulk))
        self.url = url
        return {"SQL_DATABASE_URL": url}

    def stop(self) -> None:
        """Nothing runs: the file stays for the next start."""
