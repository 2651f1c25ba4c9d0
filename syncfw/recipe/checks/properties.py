"""A mapping file's own checks: value origins, aggregates, constants, and the mapping's role."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from syncfw.errors import Problem
from syncfw.mapping.encoding import PropertyValueError, canonical
from syncfw.mapping.expressions import FIELD_PATH, Template, TemplateError, compile_expression
from syncfw.mapping.spec import MatchSpec, PropertySpec
from syncfw.recipe.document import KeyPath, YamlDocument

AGGREGATE_TYPES: dict[str, tuple[str, ...]] = {
    "count": ("number",),
    "sum": ("number",),
    "min": ("number", "date"),
    "max": ("number", "date"),
}
"""The property types each aggregate function can fill (``latest``: any type but relation)."""


def origin_problems(
    document: YamlDocument, at: KeyPath, field: str | None, template: str | None
) -> list[Problem]:
    """A field path that is not dotted names, or a template that does not compile."""
    problems = []
    if field is not None:
        problems += field_path_problems(document, (*at, "field"), field)
    if template is not None:
        try:
            Template(template)
        except TemplateError as exc:
            problems.append(document.problem((*at, "template"), str(exc)))
    return problems


def field_path_problems(document: YamlDocument, path: KeyPath, field: str) -> list[Problem]:
    """A field path must be names separated by dots."""
    if FIELD_PATH.match(field):
        return []
    return [document.problem(path, "a field path is names separated by dots, e.g. Owner.Name")]


def _aggregate_problems(document: YamlDocument, at: KeyPath, prop: PropertySpec) -> list[Problem]:
    aggregate = prop.aggregate
    assert aggregate is not None
    at = (*at, "aggregate")
    problems = []
    for key in ("field", "by"):
        field = getattr(aggregate, key)
        if field is not None:
            problems += field_path_problems(document, (*at, key), field)
    if aggregate.where is not None:
        try:
            compile_expression(aggregate.where)
        except TemplateError as exc:
            problems.append(document.problem((*at, "where"), str(exc)))
    fits = AGGREGATE_TYPES.get(aggregate.function)
    if fits is not None and prop.type not in fits:
        message = f"{aggregate.function} gives a {' or '.join(fits)}, so the property cannot be a {prop.type}"
        problems.append(document.problem((*at, "function"), message))
    elif prop.type == "relation":
        message = "an aggregate cannot fill a relation (relations link the pages of record keys)"
        problems.append(document.problem((*at, "function"), message))
    return problems


def property_problems(document: YamlDocument, properties: Mapping[str, PropertySpec]) -> list[Problem]:
    """Each property's origin, aggregate, ``via`` and constants (checked where they are final)."""
    problems = []
    for name, prop in properties.items():
        at = ("properties", name)
        problems += origin_problems(document, at, prop.field, prop.template)
        if prop.aggregate is not None:
            problems += _aggregate_problems(document, at, prop)
        if prop.via is not None and prop.type != "relation":
            problems.append(
                document.problem(
                    (*at, "via"),
                    "via is only for relation properties (it names the mapping whose records' "
                    "matches link the related pages)",
                )
            )
        if prop.type != "relation":
            # a constant is checked where it is final: ``value`` only when nothing changes it
            final = ["default", "map_default"] + ([] if prop.transforms or prop.map else ["value"])
            for key in final:
                if key in prop.model_fields_set:
                    problems += _constant_problems(document, (*at, key), prop.type, getattr(prop, key))
            for key, mapped in (prop.map or {}).items():
                problems += _constant_problems(document, (*at, "map", key), prop.type, mapped)
    return problems


def _constant_problems(document: YamlDocument, path: KeyPath, prop_type: str, value: Any) -> list[Problem]:
    try:
        canonical(prop_type, value)
    except PropertyValueError as exc:
        return [document.problem(path, f"not a valid {prop_type} value: {exc}")]
    return []


def match_problems(document: YamlDocument, match: MatchSpec, mapping_name: str) -> list[Problem]:
    """A match's origin, and that it does not follow its own mapping."""
    problems = origin_problems(document, ("match",), match.field, match.template)
    if match.via is not None and match.via == mapping_name:
        problems.append(
            document.problem(
                ("match", "via"),
                "a mapping cannot match via itself: via names another mapping of the target, "
                "listed before this one, whose records' matches this one follows",
            )
        )
    return problems


def role_problems(
    document: YamlDocument, raw: dict[Any, Any], properties: Mapping[str, PropertySpec]
) -> list[Problem]:
    """A mapping with ``match`` has no sync key; aggregates fill a whole mapping and need ``match``."""
    problems = []
    sync_key = raw.get("sync_key")
    if isinstance(sync_key, str) and sync_key not in (raw.get("properties") or {}):
        problems.append(
            document.problem(("sync_key",), f"sync_key {sync_key!r} is not one of the properties")
        )
    if "match" in raw and "sync_key" in raw:
        problems.append(
            document.problem(
                ("sync_key",),
                "a mapping with match enriches the pages it matches and never creates one, so it has "
                "no sync_key: remove sync_key, or remove match to make it the mapping that creates pages",
            )
        )
    aggregates = [name for name, prop in properties.items() if prop.aggregate is not None]
    if not aggregates:
        return problems
    for name, prop in properties.items():
        if prop.aggregate is None:
            problems.append(
                document.problem(
                    ("properties", name),
                    f"the other properties of this mapping are aggregates ({', '.join(aggregates)}); "
                    f"a mapping is all aggregates or none: move {name!r} to a mapping of its own",
                    at_key=True,
                )
            )
    if "match" not in raw:
        problems.append(
            document.problem(
                (),
                "aggregates combine the records that match a page, so this mapping needs match, "
                "e.g. match: {property: Domain, field: organization.domain, transforms: [domain]}",
                at_key=True,
                shown=("match",),
            )
        )
    return problems
