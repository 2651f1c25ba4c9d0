"""Every hook in ``syncfw/hookspecs.py``, exercised through a real plugin distribution.

The plugin below is installed as a distribution with a ``syncfw`` entry point (a ``.dist-info``
on ``sys.path``), so it is found, loaded and validated exactly like a ``pip install``-ed one.
``tests/test_docs.py`` requires one ``test_hook_<name>`` per hook.
"""

from __future__ import annotations

import json
import sys
import textwrap
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from syncfw.cli import cli
from syncfw.connector import Checkpoint, Record
from syncfw.mapping import compile_mapping
from syncfw.plugins import load_plugins
from syncfw.recipe import load_recipe
from syncfw.sandbox.runner import Sandbox
from tests.test_plugins import install

PLUGIN = """
import json
from collections.abc import Iterator

from pydantic import BaseModel, SecretStr
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

from syncfw import Checkpoint, Connector, Record, SourceEmulator, StreamSpec, hookimpl
from syncfw.emulation import ServedApp

class ThingsConfig(BaseModel):
    token: SecretStr
    page_size: int = 100

class ThingsConnector(Connector):
    name = "things"
    config_model = ThingsConfig

    def check(self) -> None:
        pass

    def stream(self, name):
        return StreamSpec(name, "id", "updated_at")

    def read(self, stream, cursor, fields) -> Iterator[Record | Checkpoint]:
        yield Record(stream, "t1", {"id": "t1", "name": "first thing", "updated_at": "2026-05-01T07:00:00Z"})
        yield Checkpoint(stream, "2026-05-01T07:00:00Z")

class ThingsEmulator(SourceEmulator):
    name = "things"

    def start(self, context):
        seed = context.data_dir / "items.json" if context.data_dir else None
        items = json.loads(seed.read_text()) if seed and seed.exists() else []
        app = Starlette(routes=[Route("/items", lambda request: JSONResponse({"items": items}))])
        self._served = ServedApp(app)
        return {"THINGS_BASE_URL": self._served.url}

    def stop(self):
        self._served.stop()

@hookimpl
def register_connectors(register):
    register(ThingsConnector)

@hookimpl
def register_emulators(register):
    register(ThingsEmulator)

@hookimpl
def register_transforms(register):
    register("shout", lambda value: None if value is None else str(value).upper() + "!")
"""

RECIPE = """
recipe: things-to-notion
owner: ada@example.com
description: Things into Notion, for the hook tests. Runs by hand in tests. If it fails, a test fails.
tier: production
notion: {token: "${env:NOTION_TOKEN}"}
sources:
  things: {connector: things, config: {token: "${env:THINGS_TOKEN}", CONFIG}}
targets:
  things:
    data_source: e0000000-0000-4000-8000-0000000000e1
    sync_key: Thing ID
    mappings: [things.yaml]
"""

MAPPING = """
mapping: things
connector: things
stream: items
sync_key: Thing ID
properties:
  Name: {type: title, field: name, transforms: [shout]}
  Thing ID: {type: rich_text, field: id}
"""

ENV = {"NOTION_TOKEN": "ntn_hooktests_0123456789", "THINGS_TOKEN": "things-secret-0123456789"}


@pytest.fixture
def things(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The plugin installed as the distribution ``syncfw_hook_things``, the only plugin allowed to load."""
    install(tmp_path, monkeypatch, "syncfw_hook_things", PLUGIN)
    monkeypatch.setenv("SYNCFW_LOAD_PLUGINS", "syncfw_hook_things")
    for key, value in ENV.items():
        monkeypatch.setenv(key, value)
    yield
    sys.modules.pop("syncfw_hook_things", None)  # the next test installs its own copy


def write_recipe(directory: Path, config: str = "page_size: 50") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "things.yaml").write_text(textwrap.dedent(MAPPING).lstrip())
    recipe = directory / "recipe.yaml"
    recipe.write_text(textwrap.dedent(RECIPE).lstrip().replace("CONFIG", config))
    return recipe


def test_hook_register_connectors(things: None, tmp_path: Path) -> None:
    recipe = write_recipe(tmp_path / "ok")
    result = CliRunner().invoke(cli, ["validate", str(recipe)])
    assert result.exit_code == 0, result.output
    assert "ok  recipe" in result.output

    # the plugin's config model checks the recipe's config block, with the position of the mistake
    typo = write_recipe(tmp_path / "typo", config="page_size: many")
    result = CliRunner().invoke(cli, ["validate", str(typo)])
    assert result.exit_code == 2
    assert f"{typo}:7:" in result.output
    assert "sources.things.config.page_size" in result.output

    connector_class = load_plugins().connector("things")
    connector = connector_class(connector_class.config_model(token="t"))
    items = list(connector.read("items", None, ["name"]))
    assert [type(item) for item in items] == [Record, Checkpoint]


def test_hook_register_emulators(things: None, tmp_path: Path) -> None:
    seed = tmp_path / "data" / "things"
    seed.mkdir(parents=True)
    (seed / "items.json").write_text(json.dumps([{"id": "t7", "name": "seeded thing"}]))
    box = Sandbox(tmp_path / "state", load_plugins(), data_dir=tmp_path / "data")
    env = box.start()
    try:
        box.write_env(tmp_path / "sandbox.env")
        assert f"THINGS_BASE_URL={env['THINGS_BASE_URL']}" in (tmp_path / "sandbox.env").read_text()
        with urllib.request.urlopen(f"{env['THINGS_BASE_URL']}/items", timeout=10) as response:
            assert json.load(response) == {"items": [{"id": "t7", "name": "seeded thing"}]}
    finally:
        box.stop()


def test_hook_register_transforms(things: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    recipe_path = write_recipe(tmp_path / "recipe")
    registry = load_plugins()
    recipe = load_recipe(recipe_path, registry=registry)
    mapping = compile_mapping(recipe.targets["things"].mappings[0], registry.transforms)
    values, errors = mapping.evaluate({"id": "t1", "name": "first thing"})
    assert (values["Name"], errors) == ("FIRST THING!", [])

    # without the plugin the mapping's transform is unknown, reported where it is used
    monkeypatch.setenv("SYNCFW_LOAD_PLUGINS", "")
    result = CliRunner().invoke(cli, ["validate", str(recipe_path)])
    assert result.exit_code == 2
    assert "things.yaml:6:49 properties.Name.transforms[0]: unknown transform 'shout'" in result.output
