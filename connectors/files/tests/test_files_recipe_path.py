"""A files source's ``path:`` resolves against its recipe's directory, like ``mappings:`` (issue 17)."""

from __future__ import annotations

from pathlib import Path

import pytest
from syncfw_files.connector import FilesConnector

from syncfw import Record
from syncfw.plugins import load_plugins
from syncfw.recipe import load_recipe

MAPPING = """\
mapping: prices
connector: files
stream: rows
sync_key: SKU
properties:
  SKU: {type: title, field: SKU}
"""

RECIPE = """\
recipe: prices
owner: ops-lead@example.com
description: >
  Loads prices into Notion. Runs by hand for this test. If it fails, nothing breaks.
tier: production
notion: {token: "${env:NOTION_TOKEN}"}
sources:
  prices: {connector: files, config: {path: data/prices.csv, key: SKU}}
targets:
  prices:
    data_source: "0f5a1c2e-0000-4000-8000-000000000001"
    sync_key: SKU
    mappings: [mappings/prices.yaml]
"""


def test_a_relative_path_is_read_from_the_recipes_directory_whatever_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "project"
    (project / "data").mkdir(parents=True)
    (project / "mappings").mkdir()
    (project / "data" / "prices.csv").write_text("SKU,Price\nA-1,9.99\n")
    (project / "mappings" / "prices.yaml").write_text(MAPPING)
    (project / "recipe.yaml").write_text(RECIPE)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    monkeypatch.setenv("SYNCFW_LOAD_PLUGINS", "files")

    recipe = load_recipe(
        Path("../project/recipe.yaml"), registry=load_plugins(), environ={"NOTION_TOKEN": "x"}
    )
    connector = FilesConnector(recipe.sources["prices"].config)
    connector.check()
    records = [item for item in connector.read("rows", None, ("SKU",)) if isinstance(item, Record)]

    assert [record.key for record in records] == ["A-1"]
    assert recipe.sources["prices"].config.path == project / "data" / "prices.csv"
