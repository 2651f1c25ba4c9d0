"""A reviewed plan (``syncfw plan --out``, then ``syncfw run --plan``) approves its own mass change."""

from __future__ import annotations

from pathlib import Path

import pytest

from syncfw.engine.run import RunOptions, execute
from syncfw.plugins import Registry
from syncfw.recipe import Recipe, load_recipe
from syncfw.sandbox.runner import Sandbox
from tests.conftest import RECIPE
from tests.engine.test_sync_end_to_end import FAST, bump, init, seed, sync, write_seed


@pytest.fixture
def recipe(sandbox: Sandbox, registry: Registry) -> Recipe:
    return load_recipe(RECIPE, registry=registry)


def test_a_reviewed_plan_applies_a_change_larger_than_the_guard(
    sandbox: Sandbox, recipe: Recipe, registry: Registry, seed_dir: Path
) -> None:
    init(recipe)
    assert sync(recipe, registry).exit_code == 0
    accounts = seed(seed_dir, "Account")
    for account in accounts:
        account["Industry"] = "Biotechnology"
        bump(account)
    write_seed(seed_dir, "Account", accounts)
    stopped = sync(recipe, registry)
    assert stopped.exit_code == 4 and "--allow-mass-change" in (stopped.error or "")
    planned = execute(recipe, registry, RunOptions(apply=False, rate_limit=FAST))
    assert planned.exit_code == 0 and planned.targets["accounts"].plan.count("update") > 0
    applied = sync(recipe, registry, reviewed_plan=planned.as_dict())
    assert applied.exit_code == 0, applied.error
    assert applied.targets["accounts"].done["update"] == planned.targets["accounts"].plan.count("update")
