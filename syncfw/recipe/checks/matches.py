"""One mapping of a target creates its pages; every other one matches them (``match:``). In an
update target (``mode: update``) every mapping matches the pages people keep."""

from __future__ import annotations

from syncfw.errors import Problem
from syncfw.mapping.spec import BoundMapping, PropertySpec
from syncfw.recipe.checks.binding import Entry
from syncfw.recipe.document import YamlDocument


def spec_problem(spec: PropertySpec, message: str) -> Problem:
    """A problem at a property's key in its mapping file."""
    return Problem(str(spec.file), spec.line, spec.column, f"properties.{spec.name}", message)


def check_matches(
    document: YamlDocument,
    name: str,
    sync_key: str | None,
    entries: list[Entry],
    complete: bool,
    *,
    update: bool = False,
) -> tuple[list[BoundMapping], list[Problem]]:
    """Check that one mapping creates the target's pages and every other one matches them, or
    with ``update`` (``mode: update``) that every mapping matches them.

    Returns the bound mappings, each ``match`` with the type of the property it compares with
    (``rich_text`` for a property no mapping writes: people's), and the problems.
    """
    if update:
        return _update_matches(document, name, entries)
    problems = []
    writers: dict[str, tuple[int, PropertySpec]] = {}
    for index, entry in enumerate(entries):
        for prop_name, spec in entry.mapping.properties.items():
            writers.setdefault(prop_name, (index, spec))
    has_primary = any(e.mapping.is_primary and sync_key in e.mapping.properties for e in entries)
    if entries and complete and not any(e.mapping.is_primary for e in entries):
        problems.append(
            document.problem(
                ("targets", name, "mappings"),
                f"every mapping of target {name!r} has a match, so none creates its pages: "
                f"one mapping must have no match and write the sync key {sync_key!r}",
            )
        )
    bound: list[BoundMapping] = []
    for index, (at, mapping_document, mapping, _, has_match) in enumerate(entries):
        match = mapping.match
        if match is None:
            if has_primary and sync_key not in mapping.properties and not has_match:
                problems.append(
                    document.problem(
                        at,
                        f"{mapping.file} does not write the sync key {sync_key!r}, so its records cannot "
                        f"create pages of target {name!r}: add a match to it (match: {{property: <property "
                        "of the target>, field: <record field>}) so that they enrich the pages they match",
                    )
                )
            bound.append(mapping)
            continue
        if sync_key in mapping.properties:
            problems.append(
                spec_problem(
                    mapping.properties[sync_key],
                    f"this mapping enriches the pages its match finds, so it must not write the sync "
                    f"key {sync_key!r}: only the mapping that creates the pages of {name!r} writes it",
                )
            )
        if match.via is not None:  # checked with the other targets' mappings (relations.via_problems)
            bound.append(mapping)
            continue
        assert match.property is not None
        others = {prop: spec for prop, (i, spec) in writers.items() if i != index}
        compared = others.get(match.property)
        if compared is None and match.property != sync_key and complete:
            available = [sync_key] if sync_key is not None else []
            available += sorted(prop for prop in others if prop != sync_key)
            problems.append(
                mapping_document.problem(
                    ("match", "property"),
                    f"match property {match.property!r} is neither the sync key nor written by another "
                    f"mapping of target {name!r}; match on one of: {', '.join(available) or 'none'}",
                )
            )
        else:
            mapping = _compared_with(mapping, mapping_document, compared, problems)
        bound.append(mapping)
    return bound, problems


def _compared_with(
    mapping: BoundMapping, document: YamlDocument, compared: PropertySpec | None, problems: list[Problem]
) -> BoundMapping:
    """``mapping`` bound to the type of the property its match compares with (a relation refused)."""
    if compared is None:
        return mapping
    if compared.type == "relation":
        assert mapping.match is not None
        problems.append(
            document.problem(
                ("match", "property"),
                f"{mapping.match.property!r} is a relation; match on a property holding one value instead",
            )
        )
    return mapping.definition.bind(mapping.source, mapping.line, compared.type)


def _update_matches(
    document: YamlDocument, name: str, entries: list[Entry]
) -> tuple[list[BoundMapping], list[Problem]]:
    """Every mapping of an update target has a ``match``, on a property it does not write itself."""
    problems: list[Problem] = []
    bound: list[BoundMapping] = []
    for index, entry in enumerate(entries):
        mapping, match = entry.mapping, entry.mapping.match
        if match is None:
            if not entry.has_match:
                problems.append(
                    document.problem(
                        entry.at,
                        f"target {name!r} is an update target (mode: update): it creates no pages, so "
                        f"{mapping.file} needs a match to find the page each record fills in, e.g. match: "
                        "{property: Domain, field: Website, transforms: [domain]}",
                    )
                )
            bound.append(mapping)
            continue
        if match.property is not None and match.property in mapping.properties:
            problems.append(
                entry.document.problem(
                    ("match", "property"),
                    f"{match.property!r} is written by this mapping, so it cannot also find the pages: "
                    "match on a property people keep (or another mapping writes)",
                )
            )
        others = {
            prop: spec
            for i, e in enumerate(entries)
            if i != index
            for prop, spec in e.mapping.properties.items()
        }
        compared = others.get(match.property) if match.property is not None else None
        bound.append(_compared_with(mapping, entry.document, compared, problems))
    return bound, problems
