"""Each source's ``config`` validated by its connector's ``config_model`` (needs the registry)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from syncfw.errors import Problem
from syncfw.plugins import Registry
from syncfw.recipe.document import KeyPath, YamlDocument
from syncfw.recipe.references import secret_patterns
from syncfw.recipe.validation import validation_problems
from syncfw.recipe_paths import RECIPE_DIR


def connector_configs(
    document: YamlDocument, raw: dict[Any, Any], registry: Registry, recipe_dir: Path
) -> tuple[dict[str, BaseModel], list[KeyPath], list[Problem]]:
    """Validated configs by source name, the key paths of their secret fields, and the problems:
    an uninstalled connector, a config its ``config_model`` refuses. Configs are validated with
    ``recipe_dir`` in the context (:data:`~syncfw.recipe_paths.RecipePath` fields resolve against it)."""
    sources = raw.get("sources")
    configs: dict[str, BaseModel] = {}
    patterns: list[KeyPath] = []
    problems: list[Problem] = []
    if not isinstance(sources, dict):
        return configs, patterns, problems
    for name, source in sources.items():
        if not isinstance(source, dict) or not isinstance(source.get("connector"), str):
            continue
        at = ("sources", name)
        connector = registry.connectors.get(source["connector"])
        if connector is None:
            installed = ", ".join(sorted(registry.connectors)) or "none"
            problems.append(
                document.problem(
                    (*at, "connector"),
                    f"no connector named {source['connector']!r} is installed (installed: {installed}); "
                    f"install its distribution, e.g. `pip install syncfw-{source['connector']}`",
                )
            )
            continue
        patterns += [(*at, "config", *p) for p in secret_patterns(connector.config_model)]
        try:
            configs[name] = connector.config_model.model_validate(
                source.get("config", {}), context={RECIPE_DIR: recipe_dir}
            )
        except ValidationError as exc:
            problems += validation_problems(document, exc, connector.config_model, (*at, "config"))
    return configs, patterns, problems
