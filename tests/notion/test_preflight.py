"""The schema preflight of a run against the Notion emulator: what it reads."""

from __future__ import annotations

from collections import Counter

import pytest

from syncfw.clock import Clock, utcnow
from syncfw.engine.run import notion_client_for
from syncfw.errors import GuardStop
from syncfw.notion.schema import DATABASE_RECHECK, ResolvedTarget, preflight
from syncfw.plugins import Registry
from syncfw.recipe import Recipe, load_recipe
from syncfw.sandbox.runner import Sandbox
from syncfw.state import StateStore
from tests.conftest import RECIPE
from tests.engine.test_sync_end_to_end import FAST, init, pages, sync, text


def test_preflight_reads_each_database_named_by_title_once(sandbox: Sandbox, registry: Registry) -> None:
    recipe = load_recipe(RECIPE, registry=registry)
    init(recipe)
    assert all(t.database is not None for t in recipe.targets.values())
    assert sandbox.notion is not None
    sandbox.notion.reset_stats()
    client, store = notion_client_for(recipe, FAST), StateStore(recipe.state_path)
    try:
        resolved = preflight(client, store, recipe)
    finally:
        client.close()
        store.close()
    reads = Counter(
        r["params"]["database_id"].replace("-", "")
        for r in sandbox.notion.requests()
        if r["endpoint"] == "GET /v1/databases/{id}"
    )
    databases = {str(r.database_id).replace("-", "") for r in resolved.values()}
    assert len(databases) == len(recipe.targets)
    assert reads == dict.fromkeys(databases, 1)


def test_a_renamed_sync_key_is_looked_up_by_its_property_id(sandbox: Sandbox, registry: Registry) -> None:
    """The lookup that settles a create whose answer was lost finds the page after a rename:
    the filter names the property by id, and the page comes back under the recipe's name."""
    recipe = load_recipe(RECIPE, registry=registry)
    ds = init(recipe)["accounts"]
    assert sync(recipe, registry).exit_code == 0
    assert sandbox.notion is not None
    key = recipe.targets["accounts"].sync_key
    page = pages(sandbox, ds)[0]
    value = text(page["properties"][key])
    property_id = sandbox.notion.human_update_schema(ds, {key: {"name": "Key now"}})["properties"]["Key now"][
        "id"
    ]
    sandbox.notion.reset_stats()
    client, store = notion_client_for(recipe, FAST), StateStore(recipe.state_path)
    try:
        preflight(client, store, recipe)
        found = client.find_pages(ds, key, "rich_text", value)
    finally:
        client.close()
        store.close()
    assert [(p["id"], text(p["properties"][key])) for p in found] == [(page["id"], value)]
    queries = [r for r in sandbox.notion.requests() if r["endpoint"] == "POST /v1/data_sources/{id}/query"]
    assert [q["body"]["filter"]["property"] for q in queries] == [property_id]


def _preflight(recipe: Recipe, clock: Clock = utcnow) -> dict[str, ResolvedTarget]:
    client, store = notion_client_for(recipe, FAST), StateStore(recipe.state_path)
    try:
        return preflight(client, store, recipe, clock=clock)
    finally:
        client.close()
        store.close()


def test_a_run_after_the_first_checks_each_target_with_one_request(
    sandbox: Sandbox, registry: Registry
) -> None:
    """The schema, the claim and the data source's trash state come with one
    GET /v1/data_sources/{id}; the database container is not read again on the next runs."""
    recipe = load_recipe(RECIPE, registry=registry)
    init(recipe)
    assert sync(recipe, registry).exit_code == 0
    assert sandbox.notion is not None
    sandbox.notion.reset_stats()
    resolved = _preflight(recipe)
    endpoints = Counter(r["endpoint"] for r in sandbox.notion.requests())
    assert endpoints == {"GET /v1/data_sources/{id}": len(recipe.targets)}
    assert set(resolved) == set(recipe.targets)


def test_a_schema_change_is_seen_by_the_one_request(sandbox: Sandbox, registry: Registry) -> None:
    recipe = load_recipe(RECIPE, registry=registry)
    ids = init(recipe)
    assert sync(recipe, registry).exit_code == 0
    assert sandbox.notion is not None
    sandbox.notion.human_update_schema(ids["accounts"], {"Industry": {"name": "Sector", "rich_text": {}}})
    sandbox.notion.reset_stats()
    with pytest.raises(GuardStop, match="'Industry' is rich_text in Notion, the mapping writes select"):
        _preflight(recipe)
    assert {r["endpoint"] for r in sandbox.notion.requests()} == {"GET /v1/data_sources/{id}"}


def test_the_database_is_read_again_a_day_later_and_a_second_data_source_stops_the_run(
    sandbox: Sandbox, registry: Registry
) -> None:
    recipe = load_recipe(RECIPE, registry=registry)
    init(recipe)
    assert sync(recipe, registry).exit_code == 0
    store = StateStore(recipe.state_path)
    database_id = (store.target_ids("accounts") or (None, ""))[0]
    store.close()
    client = notion_client_for(recipe, FAST)
    client._api.data_sources.create(
        parent={"type": "database_id", "database_id": database_id},
        title=[{"text": {"content": "Second"}}],
        properties={"Name": {"title": {}}},
    )
    client.close()
    _preflight(recipe)  # within DATABASE_RECHECK of the last good check: the database is not read
    later = utcnow() + DATABASE_RECHECK
    with pytest.raises(GuardStop, match="now holds 2 data sources"):
        _preflight(recipe, clock=lambda: later)
