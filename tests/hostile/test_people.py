"""What people do in Notion (issue 12, cases 1-4): the sync-key property renamed or deleted, a
sync-key value edited, the target data source moved to trash, two recipes writing one data source.

Every case goes through the real notion-client against the Notion emulator, and every one ends
with nothing duplicated, with or without the state store."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from syncfw.engine.run import notion_client_for
from syncfw.plugins import Registry
from syncfw.recipe import Recipe, load_recipe
from syncfw.sandbox.runner import Sandbox
from syncfw.state import StateStore
from tests.conftest import RECIPE
from tests.engine.test_sync_end_to_end import (
    bump,
    by_key,
    delete_account,
    init,
    pages,
    seed,
    sync,
    text,
    write_seed,
)
from tests.hostile.support import assert_refused, syncfw

KEY = "Salesforce ID"


@pytest.fixture
def recipe(sandbox: Sandbox, registry: Registry) -> Recipe:
    return load_recipe(RECIPE, registry=registry)


def cli(tmp_path: Path, *args: str | Path) -> Any:
    return syncfw(*args, "--env-file", tmp_path / "sandbox.env", cwd=tmp_path)


def keys(box: Sandbox, data_source_id: str) -> Counter[str]:
    """How many pages carry each sync key (an empty key counts under "")."""
    return Counter(
        text(p["properties"][KEY]) if KEY in p["properties"] else "" for p in pages(box, data_source_id)
    )


def page_writes(box: Sandbox) -> list[dict[str, Any]]:
    assert box.notion is not None
    return [r for r in box.notion.requests() if r["endpoint"] in ("POST /v1/pages", "PATCH /v1/pages/{id}")]


def lose_state(recipe: Recipe) -> None:
    shutil.rmtree(recipe.state_path.parent)


def first_sync(box: Sandbox, recipe: Recipe, registry: Registry, seed_dir: Path) -> str:
    ids = init(recipe)
    report = sync(recipe, registry)
    assert report.exit_code == 0, report.error
    assert keys(box, ids["accounts"]) == Counter(a["Id"] for a in seed(seed_dir, "Account"))
    return ids["accounts"]


# -- case 1: the sync-key property renamed or deleted ------------------------------------------


def keyed(box: Sandbox, data_source_id: str, key: str) -> dict[str, dict[str, Any]]:
    """The pages of a data source by their sync key, read from the property named ``key`` now."""
    found = [p for p in pages(box, data_source_id) if key in p["properties"]]
    assert len({text(p["properties"][key]) for p in found}) == len(found), "a duplicated key"
    return {text(p["properties"][key]): p for p in found}


def change_industry(seed_dir: Path, index: int, industry: str) -> str:
    accounts = seed(seed_dir, "Account")
    accounts[index]["Industry"] = industry
    bump(accounts[index])
    write_seed(seed_dir, "Account", accounts)
    return str(accounts[index]["Id"])


def test_a_renamed_sync_key_is_followed_by_its_property_id(
    sandbox: Sandbox, recipe: Recipe, registry: Registry, seed_dir: Path, tmp_path: Path
) -> None:
    ds = first_sync(sandbox, recipe, registry, seed_dir)
    assert sandbox.notion is not None
    schema = sandbox.notion.human_update_schema(ds, {KEY: {"name": "SF Id"}})["properties"]
    property_id = schema["SF Id"]["id"]
    changed = change_industry(seed_dir, 2, "Biotechnology")

    run = cli(tmp_path, "run", RECIPE)
    assert run.exit_code == 0, run.output
    assert "property 'Salesforce ID' was renamed to 'SF Id'" in run.output
    expected = {a["Id"] for a in seed(seed_dir, "Account")}
    live = keyed(sandbox, ds, "SF Id")
    assert set(live) == expected and len(pages(sandbox, ds)) == len(expected)
    assert live[changed]["properties"]["Industry"]["select"]["name"] == "Biotechnology"
    schema = sandbox.notion.human_update_schema(ds, {})["properties"]
    assert schema["SF Id"]["id"] == property_id and KEY not in schema  # followed, not renamed back

    lose_state(recipe)
    changed = change_industry(seed_dir, 4, "Biotechnology")
    again = cli(tmp_path, "run", RECIPE)
    assert again.exit_code == 0, again.output
    assert "property 'Salesforce ID' was renamed to 'SF Id'" in again.output
    live = keyed(sandbox, ds, "SF Id")
    assert set(live) == expected and len(pages(sandbox, ds)) == len(expected)
    assert live[changed]["properties"]["Industry"]["select"]["name"] == "Biotechnology"
    assert sync(recipe, registry, full_refresh=True).targets["accounts"].plan.operations == ()


def test_a_renamed_owned_property_is_followed_by_its_property_id(
    sandbox: Sandbox, recipe: Recipe, registry: Registry, seed_dir: Path, tmp_path: Path
) -> None:
    ds = first_sync(sandbox, recipe, registry, seed_dir)
    assert sandbox.notion is not None
    sandbox.notion.human_update_schema(ds, {"Industry": {"name": "Sector"}})
    unchanged = sync(recipe, registry, full_refresh=True)
    assert unchanged.exit_code == 0, unchanged.error
    assert unchanged.targets["accounts"].plan.operations == ()
    warnings = unchanged.targets["accounts"].plan.warnings
    assert [w for w in warnings if "renamed" in w] == [
        next(w for w in warnings if "property 'Industry' was renamed to 'Sector'" in w)
    ]
    changed = change_industry(seed_dir, 5, "Biotechnology")

    report = sync(recipe, registry)
    assert report.exit_code == 0, report.error
    plan = report.targets["accounts"].plan
    assert [(op.sync_key, sorted(op.after)) for op in plan.operations] == [(changed, ["Industry"])]
    assert [w for w in plan.warnings if "renamed" in w] == []  # reported once, still followed
    page = by_key(pages(sandbox, ds))[changed]
    assert page["properties"]["Sector"]["select"]["name"] == "Biotechnology"
    property_id = sandbox.notion.human_update_schema(ds, {})["properties"]["Sector"]["id"]

    assert cli(tmp_path, "notion", "init", RECIPE, "--no-health").exit_code == 0
    schema = sandbox.notion.human_update_schema(ds, {})["properties"]
    assert schema["Industry"]["id"] == property_id and "Sector" not in schema  # renamed back
    assert by_key(pages(sandbox, ds))[changed]["properties"]["Industry"]["select"]["name"] == "Biotechnology"
    assert sync(recipe, registry, full_refresh=True).targets["accounts"].plan.warnings == ()


def test_a_deleted_sync_key_is_refilled_from_the_state_store(
    sandbox: Sandbox, recipe: Recipe, registry: Registry, seed_dir: Path, tmp_path: Path
) -> None:
    ds = first_sync(sandbox, recipe, registry, seed_dir)
    assert sandbox.notion is not None
    sandbox.notion.human_update_schema(ds, {KEY: None})
    sandbox.notion.reset_stats()

    stopped = cli(tmp_path, "run", RECIPE)
    assert_refused(stopped, 4, says="sync-key property 'Salesforce ID' was deleted")
    assert page_writes(sandbox) == []

    assert cli(tmp_path, "notion", "init", RECIPE, "--no-health").exit_code == 0
    assert set(keys(sandbox, ds)) == {""}
    refill = sync(recipe, registry)  # an ordinary incremental run, no --allow-mass-change
    assert refill.exit_code == 0, refill.error
    expected = Counter(a["Id"] for a in seed(seed_dir, "Account"))
    assert keys(sandbox, ds) == expected
    assert refill.targets["accounts"].as_dict()["created"] == 0
    assert sync(recipe, registry).targets["accounts"].plan.operations == ()


def test_an_emptied_sync_key_is_refilled_by_the_next_incremental_run_whatever_on_drift_says(
    sandbox: Sandbox, registry: Registry, seed_dir: Path, tmp_path: Path
) -> None:
    path = tmp_path / "recipe.yaml"
    path.write_text(
        RECIPE.read_text()
        .replace("on_drift: revert", "on_drift: flag")
        .replace("../mappings/", f"{RECIPE.parent.parent}/mappings/")
    )
    recipe = load_recipe(path, registry=registry)
    ds = first_sync(sandbox, recipe, registry, seed_dir)
    assert sandbox.notion is not None
    victim = seed(seed_dir, "Account")[3]["Id"]
    sandbox.notion.human_edit(by_key(pages(sandbox, ds))[victim]["id"], {KEY: {"rich_text": []}})

    report = sync(recipe, registry)
    assert report.exit_code == 0, report.error
    plan = report.targets["accounts"].plan
    assert [(op.action, op.sync_key, op.after) for op in plan.operations] == [
        ("update", victim, {KEY: victim})
    ]
    assert [(d.sync_key, d.live, d.action) for d in plan.drift] == [(victim, None, "reverted")]
    assert keys(sandbox, ds) == Counter(a["Id"] for a in seed(seed_dir, "Account"))


def test_emptied_sync_keys_without_a_state_store_never_fill_the_target_with_new_pages(
    sandbox: Sandbox, recipe: Recipe, registry: Registry, seed_dir: Path, tmp_path: Path
) -> None:
    ds = first_sync(sandbox, recipe, registry, seed_dir)
    assert sandbox.notion is not None
    for page in pages(sandbox, ds):
        sandbox.notion.human_edit(page["id"], {KEY: {"rich_text": []}})
    lose_state(recipe)
    sandbox.notion.reset_stats()

    stopped = cli(tmp_path, "run", RECIPE)
    assert_refused(stopped, 4, says="--allow-mass-change")
    assert "12 pages whose Salesforce ID is empty or matches no source record" in stopped.output
    assert page_writes(sandbox) == []
    assert len(pages(sandbox, ds)) == 12


# -- case 2: a sync-key value edited -----------------------------------------------------------


@pytest.mark.parametrize("on_drift", ["revert", "flag"])
def test_an_edited_sync_key_is_drift_on_the_next_incremental_run(
    sandbox: Sandbox, registry: Registry, seed_dir: Path, tmp_path: Path, on_drift: str
) -> None:
    path = tmp_path / "recipe.yaml"
    path.write_text(
        RECIPE.read_text()
        .replace("on_drift: revert", f"on_drift: {on_drift}")
        .replace("../mappings/", f"{RECIPE.parent.parent}/mappings/")
    )
    recipe = load_recipe(path, registry=registry)
    ds = first_sync(sandbox, recipe, registry, seed_dir)
    assert sandbox.notion is not None
    victim = seed(seed_dir, "Account")[6]["Id"]
    page = by_key(pages(sandbox, ds))[victim]
    sandbox.notion.human_edit(page["id"], {KEY: {"rich_text": [{"text": {"content": victim + "-typo"}}]}})

    report = sync(recipe, registry)
    assert report.exit_code == 0, report.error
    plan = report.targets["accounts"].plan
    assert [(d.sync_key, d.property, d.live) for d in plan.drift] == [(victim, KEY, victim + "-typo")]
    assert plan.count("create") == 0
    live = keys(sandbox, ds)
    if on_drift == "revert":
        assert live[victim] == 1 and live[victim + "-typo"] == 0
    else:
        assert live[victim] == 0 and live[victim + "-typo"] == 1
    assert sum(live.values()) == 12
    assert sync(recipe, registry, full_refresh=True).targets["accounts"].plan.count("create") == 0


def test_an_edited_sync_key_with_the_state_store_lost_creates_no_duplicate(
    sandbox: Sandbox, recipe: Recipe, registry: Registry, seed_dir: Path, tmp_path: Path
) -> None:
    ds = first_sync(sandbox, recipe, registry, seed_dir)
    assert sandbox.notion is not None
    victim = seed(seed_dir, "Account")[6]["Id"]
    page = by_key(pages(sandbox, ds))[victim]
    sandbox.notion.human_edit(page["id"], {KEY: {"rich_text": [{"text": {"content": victim + "-typo"}}]}})
    lose_state(recipe)

    stopped = cli(tmp_path, "run", RECIPE)
    assert_refused(stopped, 4, says="--allow-mass-change")
    assert f"'{victim}-typo'" in stopped.output
    assert keys(sandbox, ds)[victim] == 0 and sum(keys(sandbox, ds).values()) == 12

    sandbox.notion.human_edit(page["id"], {KEY: {"rich_text": [{"text": {"content": victim}}]}})
    fixed = sync(load_recipe(RECIPE, registry=registry), registry)
    assert fixed.exit_code == 0, fixed.error
    assert keys(sandbox, ds) == Counter(a["Id"] for a in seed(seed_dir, "Account"))


# -- case 3: the target data source moved to trash ---------------------------------------------


@pytest.mark.parametrize("what", ["database", "data source"])
def test_a_trashed_target_is_named_with_the_way_to_restore_it(
    sandbox: Sandbox, recipe: Recipe, registry: Registry, seed_dir: Path, tmp_path: Path, what: str
) -> None:
    ds = first_sync(sandbox, recipe, registry, seed_dir)
    store = StateStore(recipe.state_path)
    database_id = store.target_ids("accounts")
    store.close()
    assert database_id is not None and database_id[0] is not None
    client = notion_client_for(recipe, 100)
    if what == "database":
        client._api.databases.update(database_id=database_id[0], in_trash=True)
    else:
        client._api.data_sources.update(data_source_id=ds, in_trash=True)
    assert sandbox.notion is not None
    sandbox.notion.reset_stats()

    # the data source and its database are read on --full-refresh, before a run's first write
    # (tests/engine/test_reads.py), or a day after their last good check; a run with nothing to
    # write trusts the copy kept from the last run
    stopped = cli(tmp_path, "run", RECIPE, "--full-refresh")
    assert_refused(stopped, 4, says="is in Notion's trash")
    assert ds in stopped.output and "Restore" in stopped.output
    assert_refused(cli(tmp_path, "notion", "init", RECIPE, "--no-health"), 4, says="is in Notion's trash")
    assert not any(r["endpoint"] == "POST /v1/databases" for r in sandbox.notion.requests())
    assert page_writes(sandbox) == []

    if what == "database":
        client._api.databases.update(database_id=database_id[0], in_trash=False)
    else:
        client._api.data_sources.update(data_source_id=ds, in_trash=False)
    client.close()
    restored = sync(recipe, registry)
    assert restored.exit_code == 0, restored.error
    assert restored.targets["accounts"].plan.operations == ()
    assert keys(sandbox, ds) == Counter(a["Id"] for a in seed(seed_dir, "Account"))


# -- case 4: two recipes writing one data source -----------------------------------------------


def test_a_second_primary_writer_of_a_data_source_is_refused_naming_both_recipes(
    sandbox: Sandbox, recipe: Recipe, registry: Registry, seed_dir: Path, tmp_path: Path
) -> None:
    ds = first_sync(sandbox, recipe, registry, seed_dir)
    other = tmp_path / "other.yaml"
    other.write_text(
        RECIPE.read_text()
        .replace("recipe: salesforce-accounts", "recipe: accounts-copy")
        .replace("../mappings/", f"{RECIPE.parent.parent}/mappings/")
    )
    assert sandbox.notion is not None
    sandbox.notion.reset_stats()

    stopped = cli(tmp_path, "run", other)
    assert_refused(stopped, 4, says="recipe 'salesforce-accounts'")
    assert "recipe 'accounts-copy'" in stopped.output and "description" in stopped.output
    assert page_writes(sandbox) == []
    assert_refused(
        cli(tmp_path, "notion", "init", other, "--no-health"), 4, says="recipe 'salesforce-accounts'"
    )
    assert keys(sandbox, ds) == Counter(a["Id"] for a in seed(seed_dir, "Account"))

    # the first recipe keeps running; handing the data source over is editing its description
    assert sync(recipe, registry).exit_code == 0
    client = notion_client_for(recipe, 100)
    store = StateStore(recipe.state_path)
    for target in ("accounts", "contacts"):
        ids = store.target_ids(target)
        assert ids is not None
        client._api.request(path=f"data_sources/{ids[1]}", method="PATCH", body={"description": []})
    store.close()
    client.close()
    handed = cli(tmp_path, "run", other)
    assert handed.exit_code == 0, handed.output
    assert keys(sandbox, ds) == Counter(a["Id"] for a in seed(seed_dir, "Account"))
    # the claim is read before a run's first write, on --full-refresh, or a day after the last
    # good check (a run with nothing to write trusts the data source kept from its last run)
    assert_refused(cli(tmp_path, "run", RECIPE, "--full-refresh"), 4, says="recipe 'accounts-copy'")


def test_on_delete_mark_follows_a_renamed_mark_property_and_stops_when_it_is_deleted(
    sandbox: Sandbox, registry: Registry, seed_dir: Path, tmp_path: Path
) -> None:
    """`notion init` adds the mark property as a checkbox; a person renames it and a record is
    deleted in Salesforce: its page is marked under the new name, not archived, never skipped. A
    mark property deleted in Notion stops the run (exit 4) rather than dropping the deletes."""
    shutil.copytree(RECIPE.parent, tmp_path / "recipes")
    shutil.copytree(RECIPE.parent.parent / "mappings", tmp_path / "mappings")
    path = tmp_path / "recipes" / RECIPE.name
    text_now = path.read_text()
    assert "on_delete: archive" in text_now
    path.write_text(text_now.replace("on_delete: archive", "on_delete: mark\n    mark_property: Deleted", 1))
    recipe = load_recipe(path, registry=registry)
    ds = init(recipe)["accounts"]
    assert sandbox.notion is not None
    assert sandbox.notion.human_update_schema(ds, {})["properties"]["Deleted"]["type"] == "checkbox"
    assert sync(recipe, registry).exit_code == 0
    sandbox.notion.human_update_schema(ds, {"Deleted": {"name": "Gone from Salesforce"}})
    gone = delete_account(seed_dir)

    report = sync(recipe, registry)
    assert report.exit_code == 0, report.error
    page = by_key(pages(sandbox, ds))[gone["Id"]]
    assert page["properties"]["Gone from Salesforce"]["checkbox"] is True and not page["in_trash"]
    sandbox.notion.human_update_schema(ds, {"Gone from Salesforce": None})
    stopped = sync(recipe, registry, full_refresh=True)
    assert stopped.exit_code == 4
    assert "mark_property 'Deleted' (on_delete: mark) is missing in Notion" in (stopped.error or "")


def test_a_status_mark_property_needs_its_option_which_the_api_cannot_add(
    sandbox: Sandbox, registry: Registry, seed_dir: Path, tmp_path: Path
) -> None:
    """People make the mark property a status: without a "Deleted at source" option every mark
    would be refused, so the run stops (exit 4) saying what to add; once a person adds it, a
    record deleted in Salesforce sets its page's status to it."""
    shutil.copytree(RECIPE.parent, tmp_path / "recipes")
    shutil.copytree(RECIPE.parent.parent / "mappings", tmp_path / "mappings")
    path = tmp_path / "recipes" / RECIPE.name
    path.write_text(
        path.read_text().replace("on_delete: archive", "on_delete: mark\n    mark_property: Deleted", 1)
    )
    recipe = load_recipe(path, registry=registry)
    ds = init(recipe)["accounts"]
    assert sandbox.notion is not None
    sandbox.notion.human_update_schema(ds, {"Deleted": {"status": {}}})
    stopped = sync(recipe, registry)
    assert stopped.exit_code == 4
    assert "is a status property without a 'Deleted at source' option" in (stopped.error or "")

    options = [{"name": name} for name in ("Active", "Deleted at source")]
    sandbox.notion.human_update_schema(ds, {"Deleted": {"status": {"options": options}}})
    assert sync(recipe, registry).exit_code == 0
    gone = delete_account(seed_dir)
    assert sync(recipe, registry).exit_code == 0
    page = by_key(pages(sandbox, ds))[gone["Id"]]
    assert page["properties"]["Deleted"]["status"]["name"] == "Deleted at source" and not page["in_trash"]
