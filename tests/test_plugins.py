"""Plugin loading: entry points, SYNCFW_LOAD_PLUGINS, strict hook names, broken plugins."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from syncfw.cli import cli
from syncfw.errors import PluginWarning
from syncfw.plugins import load_plugins

GOOD = """
from collections.abc import Iterator
from pydantic import BaseModel
from syncfw import Checkpoint, Connector, StreamSpec, hookimpl

class Config(BaseModel):
    path: str

class ThingsConnector(Connector):
    name = "things"
    config_model = Config
    maturity = "alpha"

    def check(self) -> None:
        pass

    def stream(self, name):
        return StreamSpec(name, "id", None)

    def read(self, stream, cursor, fields) -> Iterator[Checkpoint]:
        yield Checkpoint(stream, "0")

@hookimpl
def register_connectors(register):
    register(ThingsConnector)

@hookimpl
def register_transforms(register):
    register("shout", lambda value: None if value is None else str(value).upper() + "!")
"""

MISSPELLED = """
from syncfw import hookimpl

@hookimpl
def register_conectors(register):
    raise AssertionError("never called")
"""

BROKEN = "import does_not_exist_anywhere\n"


def install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, source: str) -> None:
    """Put a module and a distribution declaring it as a `syncfw` entry point on sys.path."""
    root = tmp_path / "site"
    root.mkdir(exist_ok=True)
    (root / f"{name}.py").write_text(textwrap.dedent(source))
    info = root / f"{name}-1.2.3.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.2.3\n")
    (info / "entry_points.txt").write_text(f"[syncfw]\n{name} = {name}\n")
    monkeypatch.syspath_prepend(str(root))


def test_a_third_party_connector_and_transform_are_registered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    install(tmp_path, monkeypatch, "syncfw_things", GOOD)
    registry = load_plugins()
    assert registry.connector("things").maturity == "alpha"
    assert registry.transforms["shout"]("hi") == "HI!"
    info = next(p for p in registry.plugins if p.name == "syncfw_things")
    assert (info.version, info.connectors, info.transforms) == ("1.2.3", ["things"], ["shout"])


def test_syncfw_plugins_lists_name_version_and_what_each_provides(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    install(tmp_path, monkeypatch, "syncfw_things", GOOD)
    result = CliRunner().invoke(cli, ["plugins", "--json"])
    assert result.exit_code == 0, result.output
    rows = {p["name"]: p for p in json.loads(result.output)["plugins"]}
    assert rows["syncfw_things"]["version"] == "1.2.3"
    assert rows["syncfw_things"]["connectors"] == ["things"]
    assert rows["salesforce"]["connectors"] == ["salesforce"]
    assert rows["salesforce"]["emulators"] == ["salesforce"]


def test_a_misspelled_hook_disables_that_plugin_with_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    install(tmp_path, monkeypatch, "syncfw_typo", MISSPELLED)
    with pytest.warns(PluginWarning, match="register_conectors"):
        registry = load_plugins()
    assert "syncfw_typo" not in {p.name for p in registry.plugins}
    assert "salesforce" in registry.connectors


def test_a_plugin_that_fails_to_import_is_a_warning_not_a_crash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    install(tmp_path, monkeypatch, "syncfw_broken", BROKEN)
    with pytest.warns(PluginWarning, match="syncfw_broken.*does_not_exist_anywhere"):
        registry = load_plugins()
    assert "salesforce" in registry.connectors


def test_syncfw_load_plugins_restricts_which_plugins_load(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    install(tmp_path, monkeypatch, "syncfw_things", GOOD)
    monkeypatch.setenv("SYNCFW_LOAD_PLUGINS", "syncfw_things")
    assert set(load_plugins().connectors) == {"things"}
    monkeypatch.setenv("SYNCFW_LOAD_PLUGINS", "")
    registry = load_plugins()
    assert registry.connectors == {}
    assert "lower" in registry.transforms  # built-in transforms are not an entry point


def test_an_unknown_connector_names_what_is_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    from syncfw.errors import ConfigError

    monkeypatch.setenv("SYNCFW_LOAD_PLUGINS", "salesforce")
    with pytest.raises(
        ConfigError, match=r"no connector named 'zendesk'.*installed: salesforce.*syncfw-zendesk"
    ):
        load_plugins().connector("zendesk")
