"""``max_writes:`` (recipe and target): a positive number of page writes, refused elsewhere at
file:line:col with its key path."""

from __future__ import annotations

from pathlib import Path

from syncfw.recipe import load_recipe

from .support import (
    ACCOUNT_MAPPING,
    CONTACT_MAPPING,
    ENV,
    fake_registry,
    problems_of,
    recipe_text,
    where,
    write_files,
)

HEAD = """
recipe: test
owner: ada@example.com
description: Test recipe. Runs by hand in tests. If it fails, a test fails.
tier: production
notion: {token: "${env:NOTION_TOKEN}"}
max_writes: %s
"""

TARGETS = """
accounts:
  data_source: a0000000-0000-4000-8000-0000000000a1
  sync_key: Salesforce ID
  mappings: [account.yaml]
  max_writes: %s
contacts:
  data_source: c0000000-0000-4000-8000-0000000000c1
  sync_key: Salesforce ID
  mappings: [contact.yaml]
"""


def _write(root: Path, run_cap: str, target_cap: str) -> Path:
    files = {
        "recipe.yaml": recipe_text(TARGETS % target_cap, head=HEAD % run_cap),
        "account.yaml": ACCOUNT_MAPPING,
        "contact.yaml": CONTACT_MAPPING,
    }
    write_files(root, files)
    return root / "recipe.yaml"


def test_max_writes_of_the_recipe_and_of_a_target_are_loaded(tmp_path: Path) -> None:
    recipe = load_recipe(_write(tmp_path, "10000", "500"), registry=fake_registry(), environ=ENV)
    assert recipe.max_writes == 10_000
    assert recipe.targets["accounts"].max_writes == 500
    assert recipe.targets["contacts"].max_writes is None


def test_a_max_writes_that_is_not_a_positive_count_is_refused_where_it_is(tmp_path: Path) -> None:
    path = _write(tmp_path, "0", "many")
    problems = problems_of(lambda: load_recipe(path, registry=fake_registry(), environ=ENV))
    assert where(problems) == [
        ("recipe.yaml", 6, 13, "max_writes"),
        ("recipe.yaml", 16, 17, "targets.accounts.max_writes"),
    ]
