"""``docs/connectors.md`` is the connector author's reference: these tests fail when it falls behind.

Every hook in ``syncfw/hookspecs.py`` must be documented with its exact signature and have a
``test_hook_<name>`` test; every public name of ``syncfw``, ``syncfw.emulation`` and ``syncfw.testing``, every kit
check and every error a connector raises must be documented.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import syncfw
import syncfw.emulation
import syncfw.testing
from syncfw import errors, hookspecs
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
