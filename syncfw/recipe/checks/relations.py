"""Relations and ``via``: a relation names a target of the recipe, and a ``via`` (on a match or a
relation) names a mapping of the right target that matches each of its records to a page."""

from __future__ import annotations

from typing import Any

from syncfw.errors import Problem
from syncfw.recipe.checks.binding import Entry, Layout
from syncfw.recipe.document import YamlDocument


def relation_target_problems(document: YamlDocument, targets: dict[Any, Any]) -> list[Problem]:
    """Each relation of the mapping file ``document`` points at a target of the recipe."""
    properties = document.data.get("properties") if isinstance(document.data, dict) else None
    if not isinstance(properties, dict):
        return []
    problems = []
    for name, prop in properties.items():
        if not isinstance(prop, dict) or prop.get("type") != "relation":
            continue
        target = prop.get("target")
        if isinstance(target, str) and target not in targets:
            problems.append(
                document.problem(
                    ("properties", name, "target"),
                    f"relation target {target!r} is not a target of the recipe "
                    f"(targets: {', '.join(map(str, targets))})",
                )
            )
    return problems


def via_problems(document: YamlDocument, layouts: dict[str, Layout]) -> list[Problem]:
    """Check every ``match.via`` and relation ``via`` against the mappings of its target."""
    problems = []
    for name, layout in layouts.items():
        for index, entry in enumerate(layout.entries):
            mapping = entry.mapping
            via = mapping.match.via if mapping.match is not None else None
            if via is not None and via != mapping.name:
                hint = "match on the sync key instead: match: {property: <sync key>, field: ...}"
                problem = _via_problem(via, name, layouts, hint)
                if problem is not None:
                    message = f"match via {via!r}: {problem}"
                    problems.append(entry.document.problem(("match", "via"), message))
                else:
                    problems += _order_problems(document, name, layout.entries[index + 1 :], entry, via)
            for spec in mapping.properties.values():
                if spec.type != "relation" or spec.via is None or spec.target not in layouts:
                    continue
                assert spec.target is not None
                hint = f"drop via to link by the sync keys of {spec.target!r}"
                problem = _via_problem(spec.via, spec.target, layouts, hint)
                if problem is not None:
                    message = f"relation via {spec.via!r}: {problem}"
                    problems.append(entry.document.problem(("properties", spec.name, "via"), message))
    return problems


def _via_problem(via: str, target: str, layouts: dict[str, Layout], hint: str) -> str | None:
    """Why mapping ``via`` of ``target`` cannot be followed, or None when it can (or is unknown)."""
    layout = layouts[target]
    found = next((entry for entry in layout.entries if entry.mapping.name == via), None)
    followed = [
        entry.mapping.name
        for entry in layout.entries
        if not entry.mapping.is_primary and not entry.mapping.is_aggregate
    ]
    wanted = f"a mapping that matches each of its records to a page of {target!r}" + (
        f": {', '.join(followed)}" if followed else f" (target {target!r} has none)"
    )
    if found is None:
        if not layout.complete:  # it may be the name of a mapping that could not be read
            return None
        elsewhere = [
            other
            for other, them in layouts.items()
            if other != target and any(entry.mapping.name == via for entry in them.entries)
        ]
        where = f" ({via!r} is a mapping of target {elsewhere[0]!r})" if elsewhere else ""
        return f"target {target!r} has no mapping named {via!r}{where}; via names (by its mapping: name) {wanted}"
    if found.mapping.is_primary:
        if found.has_match:  # its match is invalid and reported in its file
            return None
        return f"{via!r} creates the pages of target {target!r}, so its record keys are the sync key; {hint}"
    if found.mapping.is_aggregate:
        return f"{via!r} aggregates its records into pages and keeps no match per record; via names {wanted}"
    return None


def _order_problems(
    document: YamlDocument, name: str, later_entries: list[Entry], entry: Entry, via: str
) -> list[Problem]:
    """A mapping matching via another one must come after it: mappings run in list order."""
    for later in later_entries:
        if later.mapping.name == via:
            return [
                document.problem(
                    entry.at,
                    f"{entry.ref} matches via {via!r} ({later.ref}), which is listed after it; the "
                    f"mappings of a target are processed in list order, so move {later.ref} before "
                    f"{entry.ref} in targets.{name}.mappings",
                )
            ]
    return []
