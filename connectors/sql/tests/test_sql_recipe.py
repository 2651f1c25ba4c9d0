"""The shipped recipe ``recipes/sql-customers.yaml`` end to end: a PostgreSQL table (a real
server, seeded with the sandbox's sample data) into the Notion emulator through notion-client."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from syncfw_sql.sandbox import SqlSandboxDatabase, seed_database, seed_tables

from syncfw.plugins import Registry
from syncfw.recipe import load_recipe
from syncfw.sandbox.runner import Sandbox
from tests.conftest import REPO, postgres_database, postgres_url, registry, sandbox, seed_dir  # noqa: F401
from tests.engine.test_sync_end_to_end import init, pages, sync, text

RECIPE = REPO / "recipes" / "sql-customers.yaml"
assert SqlSandboxDatabase.seed_data is not None
SEED = SqlSandboxDatabase.seed_data


@pytest.fixture
def database(
    sandbox: Sandbox,  # noqa: F811
    postgres_database: str,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[sa.Engine]:
    """The throwaway database seeded with the sample ``customers``, as the recipe's
    ``SQL_DATABASE_URL`` (set after the sandbox's own, which points at its SQLite file)."""
    url = sa.make_url(postgres_database).set(drivername="postgresql+psycopg")
    seed_database(url, SEED)
    monkeypatch.setenv("SQL_DATABASE_URL", url.render_as_string(hide_password=False))
    engine = sa.create_engine(url)
    yield engine
    engine.dispose()


def by_key(items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {text(p["properties"]["Customer ID"]): p["properties"] for p in items}


def test_a_postgresql_table_syncs_reruns_without_writes_and_archives_a_deleted_row(
    sandbox: Sandbox,  # noqa: F811
    registry: Registry,  # noqa: F811
    database: sa.Engine,
) -> None:
    table, rows = seed_tables(SEED)["customers"]
    recipe = load_recipe(RECIPE, registry=registry)
    ids = init(recipe)

    first = sync(recipe, registry)
    assert first.exit_code == 0, first.error
    live = by_key(pages(sandbox, ids["customers"]))
    assert set(live) == {str(row["id"]) for row in rows if row["deleted_at"] is None}
    for row in rows:
        if row["deleted_at"] is not None:
            continue
        page = live[str(row["id"])]
        assert text(page["Name"]) == row["name"]
        assert page["MRR"]["number"] == float(row["mrr"])
        assert page["Active"]["checkbox"] is row["active"]
        assert page["Signed Up"]["date"]["start"] == row["signed_up"].isoformat()
        changed = dt.datetime.fromisoformat(page["Last Change"]["date"]["start"])
        assert changed == row["updated_at"]

    again = sync(recipe, registry)
    assert again.exit_code == 0, again.error
    assert again.notion_requests["writes"] == 0

    gone, renamed = rows[0]["id"], rows[1]["id"]
    with database.begin() as connection:
        connection.execute(table.delete().where(table.c.id == gone))
        connection.execute(
            table.update()
            .where(table.c.id == renamed)
            .values(name="Renamed Ltd", updated_at=dt.datetime.now(dt.UTC))
        )
    third = sync(recipe, registry)
    assert third.exit_code == 0, third.error
    counts = third.targets["customers"].as_dict()
    assert (counts["archived"], counts["updated"]) == (1, 1)
    live = by_key(pages(sandbox, ids["customers"]))
    assert str(gone) not in live
    assert text(live[str(renamed)]["Name"]) == "Renamed Ltd"

    assert sync(recipe, registry).notion_requests["writes"] == 0


def test_the_sandbox_serves_the_sample_customers_from_a_sqlite_file(sandbox: Sandbox) -> None:  # noqa: F811
    emulator = sandbox.emulator("sql")
    assert isinstance(emulator, SqlSandboxDatabase) and emulator.url is not None
    assert emulator.url.startswith("sqlite:///") and sandbox.env["SQL_DATABASE_URL"] == emulator.url
    engine = sa.create_engine(emulator.url)
    try:
        with engine.connect() as connection:
            count = connection.execute(sa.text("SELECT count(*) FROM customers")).scalar_one()
    finally:
        engine.dispose()
    assert count == len(seed_tables(SEED)["customers"][1])
