"""The connector acceptance kit against the SQL connector on SQLite, DuckDB and PostgreSQL (a real
server: the throwaway one of tests/servers.py, a new schema per check, which is much quicker to
make than a new database)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import psycopg
import pytest
import sqlalchemy as sa
from psycopg import sql
from syncfw_sql.testing import DuckDBHarness, PostgresHarness, SqliteHarness

from syncfw.testing import connector_tests
from tests.conftest import postgres_url  # noqa: F401  (the throwaway server)

TestSqliteKit = connector_tests(SqliteHarness)
TestDuckDBKit = connector_tests(DuckDBHarness)

_PostgresKit = connector_tests(PostgresHarness)


class TestPostgresKit(_PostgresKit):  # type: ignore[misc,valid-type]
    """Every kit check in a new PostgreSQL schema of its own (the URL's ``search_path``)."""

    @pytest.fixture(autouse=True)
    def _schema(self, postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:  # noqa: F811
        name = sql.Identifier(f"kit_{secrets.token_hex(6)}")
        with psycopg.connect(postgres_url, autocommit=True) as admin:
            admin.execute(sql.SQL("CREATE SCHEMA {}").format(name))
        url = sa.make_url(postgres_url).update_query_dict({"options": f"-csearch_path={name.as_string()}"})
        monkeypatch.setattr(PostgresHarness, "url", url.render_as_string(hide_password=False))
        yield
        with psycopg.connect(postgres_url, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(name))
