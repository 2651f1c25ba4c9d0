"""Recipe governance checked when a recipe loads: a real description, safe connectors, personal
data kept out where a target forbids it, and experiments kept off production data sources.

Each check returns :class:`~syncfw.errors.Problem` objects at ``file:line:col key.path``, which
:mod:`syncfw.recipe.loader` reports with every other mistake of the recipe. Checks that need the
plugin registry (connector maturity, personal data) are skipped when a recipe is loaded without
one. What is checked at run time (an expired experimental recipe) lives in
:mod:`syncfw.health.governance`.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from syncfw.errors import Problem
from syncfw.mapping.expressions import Template, TemplateError, compile_expression
from syncfw.plugins import Registry
from syncfw.recipe.document import YamlDocument, read_yaml
from syncfw.recipe.model import BoundMapping, PropertySpec, Target
from syncfw.recipe.references import resolve_references
from syncfw.regular_files import DOCUMENT, read_regular

MIN_SENTENCES = 3
_SENTENCE = re.compile(r"[^.!?]*[A-Za-z][^.!?]*(?:[.!?]+|$)")
_TRIGGER = re.compile(
    r"\b(runs?|ran|trigger\w*|cron|schedul\w*|every|hourly|daily|nightly|weekly|monthly|manual\w*|"
    r"by hand|on demand|webhook|started|starts)\b",
    re.IGNORECASE,
)
_FAILURE = re.compile(
    r"\b(fail\w*|break\w*|broken|stale|missing|wrong|outdated|out of date|lost|lose|stops?|"
    r"no longer|blocked|delayed|nothing)\b",
    re.IGNORECASE,
)


def recipe_files(directory: Path) -> list[Path]:
    """The recipe files directly in ``directory`` (``*.yaml``/``*.yml`` with a top-level
    ``recipe:`` key), sorted by name; mapping files and other YAML are left out."""
    files = sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")])
    return [path for path in files if _is_recipe(path)]


def _is_recipe(path: Path) -> bool:
    try:
        text = read_regular(path, DOCUMENT).decode("utf-8", errors="replace")
    except OSError:
        return False
    return any(line.startswith("recipe:") for line in text.splitlines())


def governance_problems(
    document: YamlDocument,
    path: Path,
    raw: dict[Any, Any],
    targets: Mapping[str, Target],
    registry: Registry | None,
    environ: Mapping[str, str],
) -> list[Problem]:
    """Every governance problem of a recipe (``raw`` is its data with references resolved)."""
    problems = description_problems(document, raw)
    problems += production_data_source_problems(document, path, raw, environ)
    if registry is not None:
        problems += maturity_problems(document, raw, registry)
        problems += personal_data_problems(document, raw, targets, registry)
    return problems


def description_problems(document: YamlDocument, raw: dict[Any, Any]) -> list[Problem]:
    """The description must say what the recipe does, what triggers it and what breaks if it fails.

    The rule a reader can check by eye: at least three sentences, one naming the trigger (a word
    such as runs, cron, every, daily, manually, webhook) and one naming the damage of a failure
    (fails, breaks, stale, missing, wrong, ...).
    """
    text = raw.get("description")
    if not isinstance(text, str) or not text.strip():
        return []  # missing or empty is a schema problem, reported already
    sentences = [s for s in _SENTENCE.findall(text) if s.strip()]
    missing = []
    if len(sentences) < MIN_SENTENCES:
        missing.append(f"it has {len(sentences)} sentence(s), it needs at least {MIN_SENTENCES}")
    if not _TRIGGER.search(text):
        missing.append('it does not say what triggers it (e.g. "Runs from cron every 15 minutes.")')
    if not _FAILURE.search(text):
        missing.append(
            'it does not say what breaks if it fails (e.g. "If it fails, account managers see stale revenue.")'
        )
    if not missing:
        return []
    return [
        document.problem(
            ("description",),
            "the description must say what the recipe does, what triggers it and what breaks if it "
            "fails, in at least three sentences, so that whoever is alerted knows what they look at: "
            + "; ".join(missing),
        )
    ]


def maturity_problems(document: YamlDocument, raw: dict[Any, Any], registry: Registry) -> list[Problem]:
    """A production recipe may not read through a connector whose maturity is ``alpha``."""
    if raw.get("tier") != "production":
        return []
    problems = []
    for name, source in _items(raw.get("sources")):
        connector = registry.connectors.get(source.get("connector", ""))
        if connector is not None and connector.maturity == "alpha":
            problems.append(
                document.problem(
                    ("sources", name, "connector"),
                    f"connector {connector.name!r} is alpha (its author says it is not ready for production "
                    "data); use it in an experimental recipe, or wait for a beta or stable release",
                )
            )
    return problems


def property_fields(spec: PropertySpec) -> list[str]:
    """The source field paths a property's value is made from (field, template, aggregate)."""
    fields = [spec.field] if spec.field is not None else []
    try:
        if spec.template is not None:
            fields += Template(spec.template).fields
        aggregate = spec.aggregate
        if aggregate is not None:
            fields += [f for f in (aggregate.field, aggregate.by) if f is not None]
            if aggregate.where is not None:
                fields += compile_expression(aggregate.where).fields
    except TemplateError:
        pass  # reported where the template is checked
    return list(dict.fromkeys(fields))


def is_personal(field: str, declared: tuple[str, ...]) -> bool:
    """True when ``field`` is (or holds, or sits under) a declared personal field or pattern."""
    return any(
        fnmatch.fnmatchcase(field, d) or field.startswith(d + ".") or d.startswith(field + ".")
        for d in declared
    )


def personal_fields(mapping: BoundMapping, registry: Registry) -> dict[str, list[str]]:
    """Property name → the personal fields (by the connector's declaration) that feed it."""
    connector = registry.connectors.get(mapping.connector)
    declared = tuple(connector.personal_data.get(mapping.stream, ())) if connector is not None else ()
    if not declared:
        return {}
    found = {}
    for name, spec in mapping.properties.items():
        fields = [f for f in property_fields(spec) if is_personal(f, declared)]
        if fields:
            found[name] = fields
    return found


def personal_data_problems(
    document: YamlDocument, raw: dict[Any, Any], targets: Mapping[str, Target], registry: Registry
) -> list[Problem]:
    """A target with ``personal_data: forbid`` may not have a property fed by personal data."""
    problems = []
    for name, raw_target in _items(raw.get("targets")):
        target = targets.get(name)
        if raw_target.get("personal_data") != "forbid" or target is None:
            continue
        forbid = document.mark(("targets", name, "personal_data"))
        for mapping in target.mappings:
            for prop, fields in personal_fields(mapping, registry).items():
                spec = mapping.properties[prop]
                problems.append(
                    Problem(
                        str(spec.file),
                        spec.line,
                        spec.column,
                        f"properties.{prop}",
                        f"property {prop!r} of target {name!r} is fed by personal data "
                        f"({mapping.connector} {mapping.stream} {', '.join(fields)}), and the target "
                        f"forbids it ({document.file}:{forbid.line} targets.{name}.personal_data); "
                        "remove the property from the mapping, or allow personal data for the target",
                    )
                )
    return problems


def production_data_source_problems(
    document: YamlDocument, path: Path, raw: dict[Any, Any], environ: Mapping[str, str]
) -> list[Problem]:
    """An experimental recipe may not write a data source that a production recipe beside it
    (a recipe file in the same directory) writes.

    Targets are compared by data source id, or by database title and parent page; a target
    named by title in one recipe and by id in the other is not recognised offline.
    """
    if raw.get("tier") != "experimental":
        return []
    mine = {identity: name for name, identity in _identities(raw)}
    if not mine:
        return []
    problems = []
    for other in recipe_files(path.parent):
        if other.resolve() == path.resolve():
            continue
        other_document, _ = read_yaml(other, str(other))
        if other_document is None or not isinstance(other_document.data, dict):
            continue
        if other_document.data.get("tier") != "production":
            continue
        data = resolve_references(other_document, other.parent, environ).data
        for other_target, identity in _identities(data):
            name = mine.get(identity)
            if name is None:
                continue
            key = "data_source" if identity[0] == "data_source" else "database"
            line = other_document.mark(("targets", other_target)).line
            problems.append(
                document.problem(
                    ("targets", name, key),
                    f"{_describe(identity)} is written by production recipe {data.get('recipe')!r} "
                    f"({other}:{line} targets.{other_target}); an experimental recipe may not write a "
                    "production data source: point this target at a copy, or promote the recipe to "
                    "tier: production",
                )
            )
    return problems


def _items(value: Any) -> Iterator[tuple[str, dict[Any, Any]]]:
    if isinstance(value, dict):
        for name, item in value.items():
            if isinstance(name, str) and isinstance(item, dict):
                yield name, item


def _plain_id(value: str) -> str:
    return value.replace("-", "").strip().lower()


def _identities(data: Any) -> Iterator[tuple[str, tuple[str, ...]]]:
    """(target name, identity) of each target: ``("data_source", id)`` or ``("database", title, page)``."""
    for name, target in _items(data.get("targets") if isinstance(data, dict) else None):
        data_source, database = target.get("data_source"), target.get("database")
        if isinstance(data_source, str):
            yield name, ("data_source", _plain_id(data_source))
        elif isinstance(database, dict) and isinstance(database.get("title"), str):
            parent = database.get("parent_page")
            yield name, ("database", database["title"], _plain_id(parent if isinstance(parent, str) else ""))


def _describe(identity: tuple[str, ...]) -> str:
    if identity[0] == "data_source":
        return f"data source {identity[1]}"
    return f"database {identity[1]!r} under page {identity[2]}"
