"""A property a person renames in Notion: followed by its property id, reported once, shown by
``validate --explain`` and taken into the mapping files by ``syncfw notion rename``; real
notion-client and simple-salesforce against the emulators, the commands in their own processes."""

from __future__ import annotations

import shutil
from pathlib import Path

from syncfw.plugins import Registry
from syncfw.recipe import load_recipe
from syncfw.sandbox.runner import Sandbox
from tests.conftest import RECIPE, REPO
from tests.engine.test_sync_end_to_end import init, pages, sync
from tests.hostile.support import syncfw

WRITES = ("POST /v1/pages", "PATCH /v1/pages")


def cli(tmp_path: Path, *args: str | Path) -> tuple[int, str]:
    done = syncfw(*args, "--env-file", tmp_path / "sandbox.env", cwd=tmp_path, env={"COLUMNS": "400"})
    assert "Traceback" not in done.output, done.output
    return done.exit_code, done.output


def test_a_renamed_property_is_followed_reported_once_and_taken_into_the_recipe(
    sandbox: Sandbox, registry: Registry, tmp_path: Path
) -> None:
    shutil.copytree(REPO / "mappings", tmp_path / "mappings")
    (tmp_path / "recipes").mkdir()
    recipe_path = tmp_path / "recipes" / RECIPE.name
    shutil.copy(RECIPE, recipe_path)
    recipe = load_recipe(recipe_path, registry=registry)
    ds = init(recipe)["accounts"]
    assert sync(recipe, registry).exit_code == 0
    assert cli(tmp_path, "sandbox", "rename", "Accounts", "Industry", "Sector")[0] == 0  # as a person
    assert sandbox.notion is not None
    sandbox.notion.reset_stats()

    first = sync(recipe, registry)
    assert first.exit_code == 0, first.error
    assert first.targets["accounts"].plan.operations == ()
    assert not [r for r in sandbox.notion.requests() if r["endpoint"].startswith(WRITES)]
    warnings = [w for w in first.targets["accounts"].plan.warnings if "renamed" in w]
    assert len(warnings) == 1 and "'Industry' was renamed to 'Sector'" in warnings[0]
    second = sync(recipe, registry)
    assert second.exit_code == 0 and second.targets["accounts"].plan.warnings == ()  # reported once

    code, explained = cli(tmp_path, "validate", recipe_path, "--explain")
    assert code == 0 and "named 'Sector' in Notion since a person renamed it" in explained
    mapping = tmp_path / "mappings" / "salesforce" / "account.yaml"
    code, done = cli(tmp_path, "notion", "rename", recipe_path, "--write")
    assert code == 0, done
    assert "\n  Sector:        {type: select, field: Industry}\n" in mapping.read_text()

    in_line = load_recipe(recipe_path, registry=registry)
    sandbox.notion.reset_stats()
    third = sync(in_line, registry, full_refresh=True)
    assert third.exit_code == 0, third.error
    assert third.targets["accounts"].plan.operations == () and third.targets["accounts"].plan.warnings == ()
    assert not [r for r in sandbox.notion.requests() if r["endpoint"].startswith(WRITES)]
    assert any(p["properties"]["Sector"]["select"] for p in pages(sandbox, ds))
