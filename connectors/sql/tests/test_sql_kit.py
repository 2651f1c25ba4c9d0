"""The connector acceptance kit against the SQL connector on SQLite, DuckDB and PostgreSQL (a real
server: the throwaway one of tests/servers.py, a new database per check)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from syncfw_sql.testing import DuckDBHarness, PostgresHarness, SqliteHarness

from syncfw.testing import connector_tests
from tests.conftest import postgres_database, postgres_url  # noqa: F401  (the throwaway server)

TestSqliteKit = connector_tests(SqliteHarness)
TestDuckDBKit = connector_tests(DuckDBHarness)

_PostgresKit = connector_tests(PostgresHarness)


class TestPostgresKit(_PostgresKit):  # type: ignore[misc,valid-type]
    """Every kit check on a new PostgreSQL database of its own."""

    @pytest.fixture(autouse=True)
    def _database(self, postgres_database: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:  # noqa: F811
        monkeypatch.setattr(PostgresHarness, "url", postgres_database)
        yield
