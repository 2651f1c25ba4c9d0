"""The schema a run takes from the copy kept from the last run, counted in the requests the Notion
emulator receives: a run with nothing new sends one query per target, an empty target and a target
whose claim the run wrote included, and a schema a person changed is still seen before a write."""

from __future__ import annotations

from pathlib import Path

import pytest

from syncfw.engine.run import notion_client_for
from syncfw.plugins import Registry
from syncfw.recipe import Recipe, load_recipe
from syncfw.sandbox.runner import Sandbox
from tests.engine.test_notion_limits import by_key, setup
from tests.engine.test_reads import QUERY, THINGS, rerun
from tests.engine.test_sync_end_to_end import FAST, init, sync

WRITES = ("PATCH", "POST /v1/pages")


COLUMNS = "key,name,notes,summary,items\n"


def with_empty_target(tmp_path: Path, registry: Registry) -> Recipe:
    """150 items, and no thing: the target ``things`` reads a CSV file of a header row only."""
    setup(tmp_path, registry, 150, THINGS)
    (tmp_path / "things.csv").write_text(COLUMNS)
    path = tmp_path / "limits.yaml"
    path.write_text(path.read_text().replace("things.jsonl", "things.csv"))
    return load_recipe(path, registry=registry)


def add_thing(tmp_path: Path) -> None:
    """The things file gains its first record (until now the target ``things`` is empty)."""
    (tmp_path / "things.csv").write_text(COLUMNS + "t1,Thing,,Short,\n")


def test_a_run_with_nothing_new_and_an_empty_target_makes_one_request_per_target(
    sandbox: Sandbox, registry: Registry, tmp_path: Path
) -> None:
    """The target ``things`` has no page: its query returns none, which leaves nothing to read
    with the kept schema, so the run does not read the data sources again either."""
    recipe = with_empty_target(tmp_path, registry)
    init(recipe)
    assert sync(recipe, registry).exit_code == 0

    assert rerun(sandbox, recipe, registry)[1] == {QUERY: 2}


def test_a_property_people_renamed_in_an_empty_target_is_followed_when_its_first_record_comes(
    sandbox: Sandbox, registry: Registry, tmp_path: Path
) -> None:
    """People rename ``Summary`` of the empty target; its first record comes later: the run plans
    it again with the schema read before its first write, writes the renamed property and says so."""
    recipe = with_empty_target(tmp_path, registry)
    ids = init(recipe)
    assert sync(recipe, registry).exit_code == 0
    assert sync(recipe, registry).exit_code == 0  # the empty target's schema is the kept copy
    assert sandbox.notion is not None
    sandbox.notion.human_update_schema(ids["things"], {"Summary": {"name": "Abstract"}})
    add_thing(tmp_path)

    report = sync(recipe, registry)

    assert report.exit_code == 0, report.error
    assert any("Abstract" in w for w in report.targets["things"].plan.warnings)
    page = by_key(sandbox, ids["things"])["t1"]
    assert page["properties"]["Abstract"]["rich_text"][0]["plain_text"] == "Short"


@pytest.mark.parametrize("apply", [True, False], ids=["run", "plan"])
def test_a_property_people_deleted_in_an_empty_target_stops_the_run_when_its_first_record_comes(
    sandbox: Sandbox, registry: Registry, tmp_path: Path, apply: bool
) -> None:
    """People delete ``Summary`` of the empty target; its first record comes later: the run (or
    ``syncfw plan``) reads the data sources before its first operation and stops (exit 4), writing
    nothing."""
    recipe = with_empty_target(tmp_path, registry)
    ids = init(recipe)
    assert sync(recipe, registry).exit_code == 0
    assert sync(recipe, registry).exit_code == 0
    assert sandbox.notion is not None
    sandbox.notion.human_update_schema(ids["things"], {"Summary": None})
    add_thing(tmp_path)
    sandbox.notion.reset_stats()

    report = sync(recipe, registry, apply=apply)

    assert report.exit_code == 4
    assert "Summary" in (report.error or "")
    assert not [e for e in sandbox.notion.stats()["by_endpoint"] if e.startswith(WRITES)]


def test_the_run_after_the_one_that_claimed_the_data_sources_makes_one_request_per_target(
    sandbox: Sandbox, registry: Registry, tmp_path: Path
) -> None:
    """Databases nobody claimed yet (their claim line deleted, as when handing them over): the
    first run imports the records and writes its claims; the next run with nothing new sends one
    query per target, the claims being in the copies it kept."""
    recipe = setup(tmp_path, registry, 150, THINGS)
    ids = init(recipe)
    client = notion_client_for(recipe, FAST)
    for data_source_id in ids.values():
        client.update_description(data_source_id, [])
    client.close()
    first = sync(recipe, registry)
    assert first.exit_code == 0, first.error
    assert first.targets["items"].done["create"] == 150

    assert rerun(sandbox, recipe, registry)[1] == {QUERY: 2}


def test_the_run_after_the_sync_key_was_refilled_makes_one_request_per_target(
    sandbox: Sandbox, registry: Registry, tmp_path: Path
) -> None:
    """People delete the sync-key property and add it again: a run refills every page's key and
    updates the claim; the next run with nothing new finds that claim in the copy it kept, so it
    neither reads every page nor writes the claim again."""
    recipe = setup(tmp_path, registry, 150, THINGS)
    ids = init(recipe)
    assert sync(recipe, registry).exit_code == 0
    assert sandbox.notion is not None
    sandbox.notion.human_update_schema(ids["items"], {"Key": None})
    sandbox.notion.human_update_schema(ids["items"], {"Key": {"rich_text": {}}})
    refilled = sync(recipe, registry)
    assert refilled.exit_code == 0, refilled.error
    assert refilled.targets["items"].done["update"] == 150

    assert rerun(sandbox, recipe, registry)[1] == {QUERY: 2}
