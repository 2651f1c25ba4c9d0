"""``docs/connectors.md`` is the connector author's reference: these tests fail when it falls behind.

Every hook in ``syncfw/hookspecs.py`` must be documented with its exact signature and have a
``test_hook_<name>`` test; every public name of ``syncfw``, ``syncfw.emulation`` and ``syncfw.testing``, every kit
check and every error a connector raises must be documented.
"""

from __future__ import annotations

import inspect
import json
import re
import subprocess
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from click.testing import CliRunner, Result

import syncfw
import syncfw.emulation
import syncfw.testing
from syncfw import errors, hookspecs
from syncfw.cli import cli
from syncfw.testing.kit import ConnectorKit

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs" / "connectors.md"
TEST_FILES = sorted([*(REPO / "tests").rglob("*.py"), *(REPO / "connectors").glob("*/tests/**/*.py")])


def docs() -> str:
    return DOCS.read_text(encoding="utf-8")


def hooks() -> dict[str, Callable[..., Any]]:
    """The hook specifications, by name (pluggy marks them with ``syncfw_spec``)."""
    return {
        name: value
        for name, value in vars(hookspecs).items()
        if inspect.isfunction(value) and hasattr(value, "syncfw_spec")
    }


def signature(hook: Callable[..., Any]) -> str:
    """``name(param: Annotation, ...) -> Return`` as written in the source."""
    spec = inspect.signature(hook)
    params = ", ".join(f"{p.name}: {p.annotation}" for p in spec.parameters.values())
    return f"{hook.__name__}({params}) -> {spec.return_annotation}"


def test_the_hooks_are_found() -> None:
    assert {"register_connectors", "register_emulators", "register_transforms"} <= set(hooks())


@pytest.mark.parametrize("name", sorted(hooks()))
def test_every_hook_is_documented_with_its_signature(name: str) -> None:
    text = docs()
    assert f"### `{name}`" in text, f"docs/connectors.md has no section for the hook {name}"
    assert signature(hooks()[name]) in text, f"docs/connectors.md does not show {signature(hooks()[name])}"


@pytest.mark.parametrize("name", sorted(hooks()))
def test_every_hook_has_a_test_hook(name: str) -> None:
    pattern = re.compile(rf"^\s*def test_hook_{name}\(", re.MULTILINE)
    found = [path for path in TEST_FILES if pattern.search(path.read_text(encoding="utf-8"))]
    assert found, f"no test named test_hook_{name} under tests/ or connectors/*/tests/"


def public_names() -> list[tuple[ModuleType, str]]:
    return [(module, name) for module in (syncfw, syncfw.testing) for name in module.__all__]


@pytest.mark.parametrize(
    ("module", "name"), public_names(), ids=[f"{m.__name__}.{n}" for m, n in public_names()]
)
def test_public_names_exist_and_are_documented(module: ModuleType, name: str) -> None:
    assert hasattr(module, name), f"{module.__name__}.__all__ names {name}, which does not exist"
    assert f"`{name}`" in docs(), f"docs/connectors.md does not document {module.__name__}.{name}"


@pytest.mark.parametrize("check", sorted(name for name in vars(ConnectorKit) if name.startswith("test_")))
def test_every_kit_check_is_documented(check: str) -> None:
    assert f"`{check}`" in docs()


@pytest.mark.parametrize(
    "error",
    [errors.ConfigError, errors.SourceError, *errors.SourceError.__subclasses__()],
    ids=lambda error: error.__name__,
)
def test_every_error_a_connector_raises_is_documented(error: type[Exception]) -> None:
    assert f"`{error.__name__}`" in docs()


def test_the_python_examples_are_valid_python() -> None:
    blocks = re.findall(r"```python\n(.*?)```", docs(), flags=re.DOTALL)
    assert blocks
    for block in blocks:
        compile(block, str(DOCS), "exec")


# The newcomer's documentation path (issue 17): the README, the Makefile and the docs say what the
# commands really do, and the conventions users expect (schema, connector spec) exist.

README = REPO / "README.md"
MAKEFILE = REPO / "Makefile"


def syncfw(*args: str) -> Result:
    """Run the command line in this process (every installed plugin loaded), as a user would."""
    return CliRunner().invoke(cli, list(args), env={"SYNCFW_LOAD_PLUGINS": None})


def test_the_readme_says_what_make_demo_runs() -> None:
    from syncfw.cli.walkthrough import DEMO_RECIPE

    line = next(line for line in README.read_text().splitlines() if line.startswith("make demo"))
    assert f"recipes/{DEMO_RECIPE}" in line and "three times" in line, line


def test_the_readme_says_how_long_make_test_takes() -> None:
    assert re.search(r"`make test` takes about \d+ minutes", README.read_text())


def make_dry_run(*args: str) -> str:
    done = subprocess.run(["make", "-n", *args], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_make_typecheck_installs_nothing_once_set_up() -> None:
    # the set-up stamp taken as up to date: typecheck must not reach for the package index
    assert "pip install" not in make_dry_run("-o", ".venv/.syncfw-installed", "typecheck")
    # the stubs it needs come with the set-up, from each connector's `typing` extra
    setup = make_dry_run("-W", "pyproject.toml", "setup")
    assert '-e "connectors/files/[typing]"' in setup, setup


def test_the_notion_setup_page_is_linked_and_shows_the_real_not_shared_error() -> None:
    page = (REPO / "docs" / "notion-setup.md").read_text()
    assert "docs/notion-setup.md" in README.read_text()
    for capability in (
        "Read content",
        "Update content",
        "Insert content",
        "Read user information without email addresses",
    ):
        assert capability in page
    assert "••• → Connections" in page
    # the emulator's 404 body and syncfw's message, as a user sees them
    assert "Make sure the relevant pages and databases are\nshared with your integration." in page
    client = (REPO / "syncfw" / "notion" / "client.py").read_text()
    assert "not found, or not shared with this integration. Open the page" in client
    assert (
        "not found, or not shared with this integration. Open the page or database in Notion, choose ••• → Connections"
        in page
    )


def test_the_editor_line_points_at_the_schema_syncfw_schema_writes(tmp_path: Path) -> None:
    pytest.importorskip("jsonschema")
    from jsonschema import Draft202012Validator
    from ruamel.yaml import YAML

    modeline = re.search(r"# yaml-language-server: \$schema=\.\./(\S+)", README.read_text())
    assert modeline, "README shows no yaml-language-server line"
    written = syncfw("schema", "--out", str(tmp_path / ".syncfw" / "schema"))
    assert written.exit_code == 0, written.output
    schema = json.loads((tmp_path / modeline.group(1)).read_text())
    mapping_schema = json.loads((tmp_path / ".syncfw" / "schema" / "mapping.schema.json").read_text())
    assert schema["$id"].startswith("urn:syncfw:schema:recipe:")
    assert mapping_schema["$id"].startswith("urn:syncfw:schema:mapping:")
    Draft202012Validator.check_schema(schema)
    yaml = YAML(typ="safe")
    for recipe in sorted((REPO / "recipes").glob("*.yaml")):
        assert list(Draft202012Validator(schema).iter_errors(yaml.load(recipe))) == [], recipe
    for mapping in sorted((REPO / "mappings").glob("*/*.yaml")):
        assert list(Draft202012Validator(mapping_schema).iter_errors(yaml.load(mapping))) == [], mapping
    # a connector's config block is checked too: a misspelled Salesforce option is caught
    recipe = yaml.load(REPO / "recipes" / "customer-360.yaml")
    recipe["sources"]["salesforce"]["config"]["batch_sise"] = 2000
    (error,) = Draft202012Validator(schema).iter_errors(recipe)
    assert "batch_sise" in error.message


def test_a_connectors_options_and_streams_are_shown() -> None:
    shown = syncfw("connector", "spec", "files")
    assert shown.exit_code == 0, shown.output
    assert "path: string, required" in shown.stdout
    assert "relative path resolves against the recipe's directory" in " ".join(shown.stdout.split())
    assert "rows:" in shown.stdout
    listed = syncfw("plugins", "--json")
    specs = {c: s for p in json.loads(listed.stdout)["plugins"] for c, s in p["specs"].items()}
    assert {"files", "salesforce", "zendesk", "hubspot"} <= set(specs)
    tokens = {o["name"]: o for o in specs["zendesk"]["options"]}
    assert tokens["api_token"]["secret"] is True and tokens["subdomain"]["required"] is True
    assert set(specs["zendesk"]["streams"]) == {"tickets", "users", "organizations"}
    unknown = syncfw("connector", "spec", "acme")
    assert isinstance(unknown.exception, errors.ConfigError)
    assert "no connector named 'acme' is installed" in str(unknown.exception)
