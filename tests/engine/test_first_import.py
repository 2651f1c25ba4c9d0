"""A first import streams its creates: they are kept on disk (:mod:`syncfw.engine.spill`) and
read back a page at a time (three here, so the sample data spans many pages) by the planner, the
applier, the report and run history; a plan file lists a sample of them and a digest of all."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from syncfw.engine import apply, guards, report, spill
from syncfw.engine.reviewed import read_reviewed_plan, write_plan_file
from syncfw.engine.run import Progress, RunOptions, execute
from syncfw.plugins import Registry
from syncfw.recipe import Recipe, load_recipe
from syncfw.sandbox.runner import Sandbox
from syncfw.state import StateStore
from tests.conftest import RECIPE
from tests.engine.test_ownership import value
from tests.engine.test_sync_end_to_end import FAST, bump, init, pages, seed, sync, write_seed

TARGETS = (("accounts", "Account"), ("contacts", "Contact"))


@pytest.fixture
def recipe(sandbox: Sandbox, registry: Registry, monkeypatch: pytest.MonkeyPatch) -> Recipe:
    monkeypatch.setattr(spill, "PAGE", 3)
    return load_recipe(RECIPE, registry=registry)


def keys_in_notion(box: Sandbox, data_source_id: str) -> list[str]:
    return sorted(value(p, "Salesforce ID") for p in pages(box, data_source_id))


def test_a_first_import_read_back_in_pages_creates_each_record_once(
    sandbox: Sandbox, recipe: Recipe, registry: Registry, seed_dir: Path
) -> None:
    ids = init(recipe)
    first = sync(recipe, registry)
    assert first.exit_code == 0, first.error
    for target, sobject in TARGETS:
        records = sorted(r["Id"] for r in seed(seed_dir, sobject))
        assert len(records) > 3 * spill.PAGE
        assert keys_in_notion(sandbox, ids[target]) == records
        plan = first.targets[target].plan
        made = {value(p, "Salesforce ID"): p["id"] for p in pages(sandbox, ids[target])}
        assert {op.sync_key: op.page_id for op in plan.operations} == made  # the plan as carried out
        assert first.targets[target].done["create"] == plan.count("create") == len(records)
    store = StateStore(recipe.state_path)
    try:
        kept = store.operations(first.run_id, limit=1000)  # run history: every create, its page
        assert {op.sync_key: op.page_id for op in kept} == {
            op.sync_key: op.page_id for t in first.targets.values() for op in t.plan.operations
        }
        assert len(kept) == sum(len(t.plan.operations) for t in first.targets.values())
    finally:
        store.close()
    again = sync(recipe, registry)
    assert again.exit_code == 0 and again.notion_requests["writes"] == 0


class CrashAfter(Progress):
    """Fails the run (as a crash would) once ``writes`` writes are done."""

    def __init__(self, writes: int) -> None:
        self.left = writes

    def advance(self, target: str) -> None:
        self.left -= 1
        if self.left == 0:
            raise RuntimeError("the process died here")


def test_a_first_import_that_dies_between_pages_of_creates_duplicates_nothing(
    sandbox: Sandbox, recipe: Recipe, registry: Registry, seed_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(apply, "IN_FLIGHT", 2)  # the writes started when it dies: a few, not all
    ids = init(recipe)
    with pytest.raises(RuntimeError, match="died here"):
        execute(recipe, registry, RunOptions(rate_limit=FAST), CrashAfter(2 * spill.PAGE + 1))
    made = keys_in_notion(sandbox, ids["accounts"])
    accounts = sorted(r["Id"] for r in seed(seed_dir, "Account"))
    assert 2 * spill.PAGE < len(made) < len(accounts)
    finish = sync(recipe, registry)
    assert finish.exit_code == 0, finish.error
    for target, sobject in TARGETS:
        assert keys_in_notion(sandbox, ids[target]) == sorted(r["Id"] for r in seed(seed_dir, sobject))
    assert finish.targets["accounts"].done["create"] == len(accounts) - len(made)


def test_a_plan_file_of_a_large_first_import_lists_a_sample_and_run_plan_checks_every_create(
    sandbox: Sandbox,
    recipe: Recipe,
    registry: Registry,
    seed_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    listed = 3
    monkeypatch.setattr(report, "LISTED_CREATES", listed)
    monkeypatch.setattr(guards, "LISTED_CREATES", listed)
    ids = init(recipe)
    accounts = seed(seed_dir, "Account")

    def plan_file() -> dict[str, object]:
        planned = execute(recipe, registry, RunOptions(apply=False, rate_limit=FAST))
        path = tmp_path / "plan.json"
        write_plan_file(path, planned, recipe)
        return read_reviewed_plan(path, recipe)

    reviewed = plan_file()
    written = json.loads((tmp_path / "plan.json").read_text())["targets"]["accounts"]
    assert written["created"] == len(accounts) and written["creates_listed"] == listed
    assert [op["action"] for op in written["operations"]] == ["create"] * listed
    assert len(written["creates_digest"]) == 64

    accounts[-1]["Name"] = "Renamed after the review"
    bump(accounts[-1])
    write_seed(seed_dir, "Account", accounts)
    stale = sync(recipe, registry, reviewed_plan=reviewed)
    assert stale.exit_code == 4 and "pages to create now" in (stale.error or "")
    assert pages(sandbox, ids["accounts"]) == []

    applied = sync(recipe, registry, reviewed_plan=plan_file())
    assert applied.targets["accounts"].done["create"] == len(accounts)
    assert keys_in_notion(sandbox, ids["accounts"]) == sorted(r["Id"] for r in accounts)
    # contacts link to the accounts this run creates: the plan named those "(new page: accounts
    # KEY)", the run knows their ids; the creates (compared by digest here) are those reviewed
    assert applied.exit_code == 0, applied.error
    contacts = [c for c in seed(seed_dir, "Contact") if not c.get("IsDeleted")]
    assert applied.targets["contacts"].done["create"] == len(contacts)
    linked = [p for p in pages(sandbox, ids["contacts"]) if p["properties"]["Account"]["relation"]]
    assert len(linked) == sum(1 for c in contacts if c.get("AccountId"))
