"""The public surface, httpx style: every error lives in ``syncfw.errors`` and is exported from
``syncfw``; ``__all__`` lists only names that exist; built-in connectors (and the scaffold's
generated one) import nothing from syncfw but the public modules; the emulation kit sits at the
bottom of the house."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
from pathlib import Path
from types import ModuleType

import pytest

import syncfw
import syncfw.emulation
import syncfw.testing
from syncfw import errors
from syncfw.plugins import Registry
from syncfw.scaffold import scaffold_connector

REPO = Path(__file__).resolve().parents[1]
PUBLIC_MODULES = {"syncfw", "syncfw.account_budget", "syncfw.connector", "syncfw.emulation", "syncfw.testing"}
CONNECTOR_FILES = sorted(REPO.glob("connectors/*/syncfw_*/**/*.py"))


def syncfw_imports(path: Path) -> list[tuple[int, str, str | None]]:
    """``(line, module, name)`` of every import of a syncfw module in ``path`` (name None for
    ``import syncfw.x``)."""
    found: list[tuple[int, str, str | None]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name, None) for a in node.names if a.name.split(".")[0] == "syncfw"]
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "syncfw":
            found += [(node.lineno, node.module, a.name) for a in node.names]
    return found


def non_public_imports(path: Path) -> list[str]:
    """The imports of ``path`` that reach past the public modules, as ``file:line module.name``."""
    wrong = []
    for line, module, name in syncfw_imports(path):
        submodule = module == "syncfw" and name is not None and name not in syncfw.__all__
        target = f"{module}.{name}" if submodule else module
        if target not in PUBLIC_MODULES or (name or "").startswith("_"):
            wrong.append(f"{path}:{line} {module}{'.' + name if name else ''}")
    return wrong


def all_syncfw_modules() -> list[ModuleType]:
    # a __main__ module runs its command when imported (`python -m syncfw.cli`)
    names = [
        m.name for m in pkgutil.walk_packages(syncfw.__path__, "syncfw.") if not m.name.endswith(".__main__")
    ]
    return [importlib.import_module(name) for name in names]


def subclasses(cls: type) -> set[type]:
    found = set(cls.__subclasses__())
    for sub in list(found):
        found |= subclasses(sub)
    return found


def test_every_public_error_of_syncfw_errors_is_exported_from_syncfw() -> None:
    public = {
        name
        for name, value in vars(errors).items()
        if inspect.isclass(value) and value.__module__ == errors.__name__ and not name.startswith("_")
    }
    assert public - set(syncfw.__all__) == set()


@pytest.mark.parametrize("module", [syncfw, syncfw.emulation, syncfw.testing], ids=lambda m: m.__name__)
def test_every_name_in_all_exists(module: ModuleType) -> None:
    assert [name for name in module.__all__ if not hasattr(module, name)] == []


def test_every_syncfw_error_and_warning_is_defined_in_syncfw_errors() -> None:
    all_syncfw_modules()  # defines every class there is
    elsewhere = {
        f"{cls.__module__}.{cls.__qualname__}"
        for cls in subclasses(syncfw.SyncfwError) | subclasses(Warning)
        if cls.__module__.startswith("syncfw") and cls.__module__ != errors.__name__
    }
    assert elsewhere == set()


def test_recovery_is_a_type() -> None:
    assert issubclass(syncfw.SourceUnavailable, syncfw.Retriable)
    assert issubclass(syncfw.SourceLimitExceeded, syncfw.Retriable)
    assert issubclass(syncfw.NotionRejected, syncfw.Skippable)
    assert issubclass(syncfw.AmbiguousWrite, syncfw.Ambiguous)
    assert not issubclass(syncfw.StateError, syncfw.Retriable | syncfw.Skippable | syncfw.Ambiguous)


def test_built_in_connectors_import_only_public_names() -> None:
    assert len({path.parts[-3] for path in CONNECTOR_FILES}) >= 4  # files, hubspot, salesforce, zendesk
    assert [wrong for path in CONNECTOR_FILES for wrong in non_public_imports(path)] == []


def test_the_check_catches_an_import_of_the_sandbox(tmp_path: Path) -> None:
    module = tmp_path / "emulator.py"
    module.write_text(
        "import syncfw\nfrom syncfw import SourceError, errors\nfrom syncfw.emulation import ServedApp\n"
        "from syncfw.sandbox.server import TLSFiles\nimport syncfw.recipe.schema\n"
    )
    assert [wrong.split(" ")[1] for wrong in non_public_imports(module)] == [
        "syncfw.errors",
        "syncfw.sandbox.server.TLSFiles",
        "syncfw.recipe.schema",
    ]


def test_a_generated_connector_imports_only_public_names(tmp_path: Path) -> None:
    root = scaffold_connector("acme_crm", tmp_path)
    files = sorted(root.rglob("*.py"))
    assert files and [wrong for path in files for wrong in non_public_imports(path)] == []


@pytest.mark.parametrize(
    ("package", "allowed"),
    [
        ("emulation", {"syncfw.errors", "syncfw.connector", "syncfw.clock", "syncfw.emulation"}),
        ("testing", {"syncfw.errors", "syncfw.connector", "syncfw.emulation", "syncfw.testing"}),
    ],
)
def test_emulation_and_testing_sit_at_the_bottom(package: str, allowed: set[str]) -> None:
    modules = {
        f"{module}:{line}"
        for path in (REPO / "syncfw" / package).rglob("*.py")
        for line, module, _ in syncfw_imports(path)
        if not any(module == a or module.startswith(a + ".") for a in allowed)
    }
    assert modules == set()


def test_each_connector_ships_its_seed_data_in_its_package(registry: Registry) -> None:
    for name in ("salesforce", "zendesk", "hubspot"):
        seed = registry.emulators[name].seed_data
        assert seed is not None and seed.is_relative_to(REPO / "connectors" / name), name
        assert sorted(seed.glob("*.json")), f"{name} ships no seed records"
    assert not (REPO / "syncfw" / "sandbox" / "data").exists()
