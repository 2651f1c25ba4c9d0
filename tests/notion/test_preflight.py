"""The schema preflight of a run against the Notion emulator: what it reads."""

from __future__ import annotations

from collections import Counter

from syncfw.engine.run import notion_client_for
from syncfw.notion.schema import preflight
from syncfw.plugins import Registry
from syncfw.recipe import load_recipe
from syncfw.sandbox.runner import Sandbox
from syncfw.state import StateStore
from tests.conftest import RECIPE
from tests.engine.test_sync_end_to_end import FAST, init


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
