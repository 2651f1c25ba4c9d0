"""Every property of a target has exactly one owner: one mapping, or people in Notion (``owners:``).

A recipe that lets two mappings write one property, or a mapping write a property owned by
``notion`` or by another source, is refused with the place of both claims.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from syncfw.errors import Problem
from syncfw.mapping.spec import BoundMapping, PropertySpec
from syncfw.recipe.checks.matches import spec_problem
from syncfw.recipe.document import YamlDocument
from syncfw.recipe.model import NOTION_OWNER


@dataclasses.dataclass(frozen=True)
class Claims:
    """What a target says about ownership, read leniently so that an invalid target is checked too."""

    sync_key: str | None
    owners: dict[str, str]
    mark_property: str | None
    update: bool = False
    """``mode: update``: the target has no sync key."""

    @classmethod
    def of(cls, raw_target: dict[Any, Any]) -> Claims:
        """The claims of a target's data (any shape)."""
        owners = raw_target.get("owners")
        sync_key, mark = raw_target.get("sync_key"), raw_target.get("mark_property")
        return cls(
            sync_key if isinstance(sync_key, str) else None,
            {k: v for k, v in owners.items() if isinstance(k, str) and isinstance(v, str)}
            if isinstance(owners, dict)
            else {},
            mark if isinstance(mark, str) else None,
            raw_target.get("mode") == "update",
        )


def _owner(owner: str) -> str:
    return "people in Notion" if owner == NOTION_OWNER else f"source {owner!r}"


def ownership_problems(
    document: YamlDocument,
    name: str,
    target: Claims,
    bound: list[BoundMapping],
    sources: set[str],
    complete: bool,
) -> list[Problem]:
    """One writer per property, one title, owners that exist and write what they own, a sync key
    that is written, and a ``mark_property`` nobody else claims. "Nobody writes X" is only said
    when every mapping of the target was read cleanly (``complete``)."""
    at = ("targets", name)
    problems = []
    writers: dict[str, PropertySpec] = {}
    by_source: dict[str, set[str]] = {}
    title: PropertySpec | None = None
    for mapping in bound:
        for prop_name, spec in mapping.properties.items():
            by_source.setdefault(mapping.source, set()).add(prop_name)
            if spec.type == "title" and title is not None and title.name != prop_name:
                problems.append(
                    spec_problem(
                        spec,
                        f"target {name!r} already has its title property {title.name!r} "
                        f"({title.where}); a Notion data source has exactly one",
                    )
                )
            title = spec if spec.type == "title" and title is None else title
            first = writers.setdefault(prop_name, spec)
            if first is not spec:
                problems.append(
                    spec_problem(
                        spec,
                        f"property {prop_name!r} of target {name!r} is also written by {first.where}; "
                        "every property has exactly one owner",
                    )
                )
            owner = target.owners.get(prop_name)
            if owner is not None and owner != mapping.source and owner in sources | {NOTION_OWNER}:
                where = document.mark((*at, "owners", prop_name))
                problems.append(
                    spec_problem(
                        spec,
                        f"property {prop_name!r} is owned by {_owner(owner)} ({document.file}:{where.line} "
                        f"targets.{name}.owners.{prop_name}), so this mapping of source "
                        f"{mapping.source!r} may not write it; remove one of the two claims",
                    )
                )
    for prop_name, owner in target.owners.items():
        owner_at = (*at, "owners", prop_name)
        if owner != NOTION_OWNER and owner not in sources:
            problems.append(
                document.problem(
                    owner_at,
                    f"owner must be {NOTION_OWNER!r} or a source of this recipe ({', '.join(sources)})",
                )
            )
        elif owner != NOTION_OWNER and complete and prop_name not in by_source.get(owner, set()):
            problems.append(
                document.problem(owner_at, f"no mapping of source {owner!r} writes {prop_name!r}")
            )
    if complete and not target.update and target.sync_key is not None and target.sync_key not in writers:
        problems.append(
            document.problem(
                (*at, "sync_key"),
                f"sync key {target.sync_key!r} is not written by any mapping of this target "
                f"(they write: {', '.join(writers)})",
            )
        )
    for mapping in bound:
        if None not in (mapping.sync_key, target.sync_key) and mapping.sync_key != target.sync_key:
            problems.append(
                document.problem(
                    (*at, "sync_key"),
                    f"the target's sync key {target.sync_key!r} differs from {mapping.sync_key!r}, "
                    f"the sync key of {mapping.file}",
                )
            )
    mark = target.mark_property
    if mark is not None and (mark in writers or target.owners.get(mark) == NOTION_OWNER):
        claim = writers[mark].where if mark in writers else f"targets.{name}.owners"
        problems.append(
            document.problem(
                (*at, "mark_property"),
                f"mark_property {mark!r} is written by syncfw on deletes, but {claim} also claims it",
            )
        )
    return problems
