"""The acceptance-kit harnesses of the SQL connector: a real database the kit edits with SQL.

::

    from syncfw.testing import connector_tests
    from syncfw_sql.testing import SqliteHarness

    TestSqliteKit = connector_tests(SqliteHarness)

Each harness creates a ``contacts`` table (``id``, ``name``, ``email``, ``amount`` numeric,
``active`` boolean, ``updated_at`` and ``deleted_at`` as ``timestamp with time zone``) and a view
``contact_view`` of it, and reads three streams: the table, the view and a query
(``contact_query``). Deletes are soft (``deleted_at`` set and ``updated_at`` moved, as an
application marks a row deleted); hard deletes are ``DELETE`` statements, found by the key scan.
Two rows per batch, so reads yield checkpoints between batches.

:class:`SqliteHarness` and :class:`DuckDBHarness` make a database file in the kit's work
directory; :class:`PostgresHarness` uses the database whose URL is in its class attribute
``url`` (a test fixture sets it: the kit cannot start a server by itself).
"""

from __future__ import annotations

import datetime as dt
from abc import abstractmethod
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar

import sqlalchemy as sa

from syncfw.testing import ConnectorHarness
from syncfw_sql.connector import SqlConnector

_START = dt.datetime(2026, 5, 1, 9, 0, tzinfo=dt.UTC)
_LOOKBACK_MINUTES = 5
_METADATA = sa.MetaData()
CONTACTS = sa.Table(
    "contacts",
    _METADATA,
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("name", sa.Text),
    sa.Column("email", sa.Text),
    sa.Column("amount", sa.Numeric(12, 2)),
    sa.Column("active", sa.Boolean),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("deleted_at", sa.DateTime(timezone=True)),
)
QUERY = "SELECT id, name, email, amount, active, updated_at, deleted_at FROM contacts"


class SqlHarness(ConnectorHarness):
    """Drives :class:`SqlConnector` over a database the harness writes to with SQLAlchemy.

    Attributes:
        has_rate_limits: False: a database answers a busy server by waiting or refusing a
            connection, never with a rate-limit response to wait out; the kit skips that check.
        has_credentials: False for database files (no credentials): ``config(valid_credentials=
            False)`` names a file that does not exist.
    """

    connector_class = SqlConnector
    streams = ("contacts", "contact_view", "contact_query")
    has_rate_limits: ClassVar[bool] = False
    has_credentials: ClassVar[bool] = False

    def __init__(self) -> None:
        self._engine: sa.Engine | None = None
        self._url = ""
        self._live: list[str] = []
        self._serial = 0

    @abstractmethod
    def database_url(self, workdir: Path) -> str:
        """The URL of an empty database for one kit check (files go in ``workdir``)."""

    def refused_url(self) -> str:
        """A URL ``check()`` refuses: by default a database file that does not exist."""
        url = sa.make_url(self._url)
        return url.set(database=str(Path(url.database or "db").with_name("missing.db"))).render_as_string(
            hide_password=False
        )

    def start(self, workdir: Path) -> None:
        """Create ``contacts`` with three rows and the view ``contact_view``."""
        self._url = self.database_url(workdir)
        self._engine = sa.create_engine(self._url)
        self._live, self._serial = [], 0
        with self._engine.begin() as connection:
            CONTACTS.create(connection)
            connection.execute(sa.text("CREATE VIEW contact_view AS SELECT * FROM contacts"))
        for name in ("Ada Lovelace", "Grace Hopper", "Edsger Dijkstra"):
            self._insert(name, self._next_stamp())

    def stop(self) -> None:
        """Close the harness's connections."""
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    def config(self, *, valid_credentials: bool = True) -> dict[str, Any]:
        """The three streams, two rows per batch, a 5-minute look-back."""
        stream = {"key": "id", "updated_at": "updated_at", "soft_delete": "deleted_at"}
        return {
            "url": self._url if valid_credentials else self.refused_url(),
            "streams": {
                "contacts": {"table": "contacts", **stream},
                "contact_view": {"table": "contact_view", **stream},
                "contact_query": {"query": QUERY, **stream},
            },
            "batch_size": 2,
            "lookback": f"{_LOOKBACK_MINUTES}m",
        }

    def fields(self, stream: str) -> list[str]:
        """``name``, ``email``, ``amount`` and ``active``."""
        return ["name", "email", "amount", "active"]

    def add_record(self, stream: str) -> str:
        """Insert a contact with the newest ``updated_at``; return its id."""
        return self._insert(f"Contact {self._serial + 1}", self._next_stamp())

    def change_record(self, stream: str) -> str:
        """Rename the first live contact and move its ``updated_at`` forward; return its id."""
        key = self._live[0]
        self._update(key, name=CONTACTS.c.name + " (changed)", updated_at=self._next_stamp())
        return key

    def delete_record(self, stream: str) -> str:
        """Soft-delete the last live contact (``deleted_at`` set, ``updated_at`` moved); return its id."""
        key = self._live.pop()
        moment = self._next_stamp()
        self._update(key, deleted_at=moment, updated_at=moment)
        return key

    def add_late_record(self, stream: str) -> str:
        """Insert a contact stamped two minutes before the newest row (a transaction that began
        before a newer one and committed after it); return its id."""
        self._serial += 1
        return self._insert(f"Contact {self._serial} (late)", self._stamp(self._serial - 3))

    def hard_delete_record(self, stream: str) -> str:
        """``DELETE`` the first live contact: no read sees it go; return its id."""
        key = self._live.pop(0)
        with self._database().begin() as connection:
            connection.execute(CONTACTS.delete().where(CONTACTS.c.id == key))
        return key

    def rate_limit_next(self, requests: int) -> None:
        """Does nothing: a database has no rate-limit response (see :attr:`has_rate_limits`)."""

    def _database(self) -> sa.Engine:
        if self._engine is None:
            raise RuntimeError(f"{type(self).__name__}.start() was not called")
        return self._engine

    def _insert(self, name: str, moment: dt.datetime) -> str:
        key = f"C-{len(self._live) + self._serial:04d}-{self._serial}"
        email = name.lower().replace(" ", ".").replace("(", "").replace(")", "") + "@example.com"
        row = {"id": key, "name": name, "email": email, "amount": Decimal("12.50"), "active": True}
        with self._database().begin() as connection:
            connection.execute(CONTACTS.insert(), [{**row, "updated_at": moment, "deleted_at": None}])
        self._live.append(key)
        return key

    def _update(self, key: str, **values: Any) -> None:
        with self._database().begin() as connection:
            connection.execute(CONTACTS.update().where(CONTACTS.c.id == key).values(**values))

    def _stamp(self, serial: int) -> dt.datetime:
        return _START + dt.timedelta(minutes=serial)

    def _next_stamp(self) -> dt.datetime:
        self._serial += 1
        return self._stamp(self._serial)


class SqliteHarness(SqlHarness):
    """The kit on a SQLite file (date-times stored as text without a zone, read as UTC)."""

    def database_url(self, workdir: Path) -> str:
        """``sqlite:///<workdir>/kit.db``."""
        return f"sqlite:///{workdir / 'kit.db'}"


class DuckDBHarness(SqlHarness):
    """The kit on a DuckDB file (``pip install 'syncfw-sql[duckdb]'``)."""

    def database_url(self, workdir: Path) -> str:
        """``duckdb:///<workdir>/kit.duckdb``."""
        return f"duckdb:///{workdir / 'kit.duckdb'}"


class PostgresHarness(SqlHarness):
    """The kit on a PostgreSQL database (``pip install 'syncfw-sql[postgres]'``): set :attr:`url`
    to an empty database's URL, password included, before each check. A wrong password is the
    refused credential.

    Attributes:
        url: ``postgresql://user:password@host:port/database`` (``+psycopg`` is added).
    """

    has_credentials: ClassVar[bool] = True
    url: ClassVar[str | None] = None

    def database_url(self, workdir: Path) -> str:
        """:attr:`url` with the psycopg driver.

        Raises:
            RuntimeError: :attr:`url` is not set.
        """
        if self.url is None:
            raise RuntimeError("set PostgresHarness.url to an empty database's URL before the kit runs")
        return (
            sa.make_url(self.url).set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
        )

    def refused_url(self) -> str:
        """The database's URL with a wrong password."""
        url = sa.make_url(self._url)
        return url.set(password=f"{url.password}-wrong").render_as_string(hide_password=False)
