"""Relation properties: from the related records' keys to the related pages' ids.

A record gives a relation property as keys of another target (its sync keys, or with ``via``
record keys of one of that target's secondary mappings). One :class:`RelationResolver` turns
them into page ids, both while a target is planned and in the second pass of a run
(:func:`link_pending_relations`), which links the pages created later in the same run.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from syncfw.engine.apply import Applier
from syncfw.engine.backfill import WriteCap
from syncfw.engine.model import Operation, Operations
from syncfw.engine.report import RunReport
from syncfw.errors import RecordProblem
from syncfw.mapping import normalize
from syncfw.notion.client import NotionClient
from syncfw.recipe import Recipe, Target
from syncfw.state import PageEntry, StateBackend
from syncfw.state.lookups import RelatedPages, StoredMatches
from syncfw.state.written import resolve

RELATION_LIMIT = 100
"""Pages one relation property value may list in a request (developers.notion.com/reference/request-limits)."""


def resolve_keys(
    related_pages: Callable[[str, Iterable[str]], Mapping[str, PageEntry]],
    matches: Callable[[str, str], StoredMatches],
    target: str,
    via: str | None,
    keys: Iterable[str],
) -> tuple[list[str], list[str]]:
    """Page ids of the related records ``keys`` in ``target``, and the keys with no page yet.

    Keys are the related target's sync keys, or, with ``via``, record keys of that target's
    secondary mapping ``via`` (resolved through the pages its records matched).

    Args:
        related_pages: (target, sync keys) → their identity map entries.
        matches: (target, mapping) → how that secondary mapping's records matched pages.
    """
    keys = list(keys)
    matched = matches(target, via) if via else None
    page_keys = {key: (matched.get(key) if matched is not None else key) for key in keys}
    pages = related_pages(target, [k for k in page_keys.values() if k is not None])
    ids: list[str] = []
    missing: list[str] = []
    for key in keys:
        page_key = page_keys[key]
        entry = pages.get(page_key) if page_key is not None else None
        if entry is None or entry.archived:
            missing.append(key)
        else:
            ids.append(entry.page_id)
    return ids, missing


@dataclass
class Resolved:
    """The relation values of one page.

    Attributes:
        values: property → canonical value (sorted page ids).
        pending: ``{"sync_key", "property", "target", "keys"}`` of keys with no page yet.
        too_many: (property, related pages) of the values over Notion's limit of 100.
    """

    values: dict[str, Any] = field(default_factory=dict)
    pending: list[dict[str, Any]] = field(default_factory=list)
    too_many: list[tuple[str, int]] = field(default_factory=list)


class RelationResolver:
    """Resolves the relation properties of one target's pages, with the related targets' state
    looked up in batches (a new resolver sees the pages created before it was made)."""

    def __init__(self, store: StateBackend, target: Target) -> None:
        self.target = target
        self.related = RelatedPages(store)

    def resolve(self, key: str, relation_keys: Mapping[str, Iterable[str]]) -> Resolved:
        """The relation values of the page ``key`` given its related keys (property → keys)."""
        out = Resolved()
        for name, related_keys in relation_keys.items():
            spec = self.target.properties.get(name)
            if spec is None or spec.target is None:
                continue
            ids, missing = resolve_keys(
                self.related.pages,
                self.related.matches,
                spec.target,
                getattr(spec, "via", None),
                related_keys,
            )
            if missing:
                out.pending.append(
                    {"sync_key": key, "property": name, "target": spec.target, "keys": missing}
                )
            if len(ids) > RELATION_LIMIT:
                out.too_many.append((name, len(ids)))
            out.values[name] = normalize("relation", tuple(sorted(set(ids))))
        return out


def link_pending_relations(
    recipe: Recipe, report: RunReport, store: StateBackend, client: NotionClient, cap: WriteCap
) -> None:
    """Second pass of a run: link the relations to pages created later in the run (e.g. within one
    target). Each target's report gets the relations still pending and the writes refused. Its
    writes count against the run's ``cap``; those over it are found again by the next run's plan
    (a relation that resolves differently from what syncfw last wrote)."""
    for target in recipe.targets_in_order():
        target_report = report.targets.get(target.name)
        if target_report is None or not target_report.plan.pending_relations:
            continue
        plan = target_report.plan
        pending_keys = {item["sync_key"] for item in plan.pending_relations}
        identity = store.pages_for(target.name, pending_keys)
        written = store.last_written_for(target.name, pending_keys)
        stored = store.relation_keys_for(target.name, pending_keys)
        resolver = RelationResolver(store, target)
        befores: dict[str, dict[str, Any]] = {}
        afters: dict[str, dict[str, Any]] = {}
        still: list[dict[str, Any]] = []
        for item in plan.pending_relations:
            key, prop = item["sync_key"], item["property"]
            resolved = resolver.resolve(key, {prop: stored.get(key, {}).get(prop, ())})
            value = resolved.values[prop]
            still += [{**item, "keys": p["keys"]} for p in resolved.pending]
            entry = identity.get(key)
            if entry is None or entry.archived or written.get(key, {}).get(prop) == value:
                continue
            befores.setdefault(key, {})[prop] = written.get(key, {}).get(prop)
            afters.setdefault(key, {})[prop] = value
        operations = Operations(  # a before kept only as a digest is taken from the journal, or left out
            Operation(
                "update",
                key,
                identity[key].page_id,
                after,
                resolve(befores[key], store.journaled_values(target.name, key)),
            )
            for key, after in afters.items()
        )
        problems: tuple[RecordProblem, ...] = ()
        if operations:
            second = dataclasses.replace(plan, operations=operations)
            own = target.max_writes
            limit = cap.allowance(None if own is None else max(0, own - sum(target_report.done.values())))
            result = Applier(client, store, second, report.run_id, limit=limit).apply()
            cap.count(result.sent, result.capped)
            target_report.done["update"] += result.done["update"]
            problems = result.problems
        target_report.plan = dataclasses.replace(
            plan, pending_relations=tuple(still), problems=plan.problems + problems
        )
