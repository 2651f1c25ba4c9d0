"""Recipe governance: a real description, an expiry for experiments, safe connectors, personal
data kept out where a target forbids it, experiments kept off production data sources, and at run
time no expired experiment (:func:`check_runnable`, :func:`renew`).

Each load-time check returns :class:`~syncfw.errors.Problem` objects at ``file:line:col
key.path``, which :mod:`syncfw.recipe.loader` reports with every other mistake of the recipe.
Checks that need the plugin registry (connector maturity, personal data) are skipped when a
recipe is loaded without one.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterator, Mapping
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from syncfw.clock import today
from syncfw.errors import ConfigError, GuardStop, Problem
from syncfw.mapping.expressions import Template, TemplateError, compile_expression
from syncfw.mapping.spec import BoundMapping, PropertySpec
from syncfw.plugins import Registry
from syncfw.recipe.document import YamlDocument, read_yaml
from syncfw.recipe.model import Recipe, Target
from syncfw.recipe.references import resolve_references
from syncfw.regular_files import DOCUMENT, read_regular

EXPIRY_WINDOW = timedelta(days=30)
"""How far ahead an experimental recipe may expire."""
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
    problems += tier_problems(document, raw)
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


def tier_problems(document: YamlDocument, raw: dict[Any, Any]) -> list[Problem]:
    """An experimental recipe needs ``expires``, at most :data:`EXPIRY_WINDOW` ahead."""
    problems = []
    expires = raw.get("expires")
    if isinstance(expires, str):
        try:
            expires = date.fromisoformat(expires.strip())
        except ValueError:
            expires = None
    if raw.get("tier") == "experimental" and raw.get("expires") is None:
        problems.append(
            document.problem(
                ("tier",),
                f"an experimental recipe needs expires: a date at most {EXPIRY_WINDOW.days} days ahead",
            )
        )
    if isinstance(expires, date) and not isinstance(expires, datetime):
        latest = today() + EXPIRY_WINDOW
        if expires > latest:
            problems.append(
                document.problem(
                    ("expires",),
                    f"expires {expires.isoformat()} is more than {EXPIRY_WINDOW.days} days ahead "
                    f"(latest allowed today: {latest.isoformat()}); renew it when it is due instead",
                )
            )
    return problems


def check_runnable(recipe: Recipe, today: date) -> None:
    """Refuse to run an experimental recipe after its ``expires`` date (the date itself still runs).

    Pure: reads nothing but its arguments, so the CLI and the engine can both call it before
    anything is read.

    Raises:
        GuardStop: the recipe expired (exit 4); the message says how to renew it.
    """
    if recipe.tier == "experimental" and recipe.expires is not None and today > recipe.expires:
        raise GuardStop(
            f"recipe {recipe.name} is experimental and expired on {recipe.expires.isoformat()}; nothing was "
            f"read or written. If the experiment goes on, renew it: `syncfw renew {recipe.path}` (at most "
            f"{EXPIRY_WINDOW.days} days); if it is done, promote it to tier: production or delete it."
        )


def renew(path: Path, today: date, days: int = EXPIRY_WINDOW.days) -> tuple[date | None, date]:
    """Move the ``expires`` date of the experimental recipe file at ``path`` to ``today + days``.

    The file is edited in place with ruamel.yaml's round trip, so comments, quoting and layout are
    kept. Returns the old and the new date.

    Raises:
        ConfigError: ``days`` is outside 1..30, or the file is not an experimental recipe.
    """
    if not 1 <= days <= EXPIRY_WINDOW.days:
        raise ConfigError(f"--days must be between 1 and {EXPIRY_WINDOW.days}, not {days}")
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096  # never re-wrap long lines
    try:
        data = yaml.load(read_regular(path, DOCUMENT).decode("utf-8"))
    except (OSError, UnicodeDecodeError) as exc:  # swapped for a FIFO or a device since it loaded
        raise ConfigError(f"{path}: cannot read the recipe again to renew it: {exc}") from None
    if not isinstance(data, dict) or data.get("tier") != "experimental":
        raise ConfigError(
            f"{path}: only an experimental recipe expires; this one is tier {data.get('tier')!r}"
            if isinstance(data, dict)
            else f"{path}: not a recipe"
        )
    before = data.get("expires")
    after = today + timedelta(days=days)
    data["expires"] = after
    with path.open("w", encoding="utf-8") as out:
        yaml.dump(data, out)
    if isinstance(before, str):
        try:
            before = date.fromisoformat(before.strip())
        except ValueError:
            before = None
    return (before if isinstance(before, date) else None), after
