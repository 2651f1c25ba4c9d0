"""Relation properties: from the related records' keys to the related pages' ids.

A record gives a relation property as keys of another target (its sync keys, or with ``via``
record keys of one of that target's secondary mappings). One :class:`RelationResolver` turns
them into page ids, both while a target is planned and in the second pass of a run
(:func:`link_pending_relations`), which links the pages created later in the same run.

A run plans a target after the targets it relates to are written and committed, so their pages
and matches are in the state store. A plan (a dry run) commits nothing: :class:`PlannedPages`
holds what the earlier targets' plans would have committed, so that a plan resolves relations as
the run will (without it, pages the state store does not know yet would look unlinked).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from syncfw.engine.apply import Applier
from syncfw.engine.backfill import WriteCap
from syncfw.engine.model import Operation, Operations, StateDelta, TargetPlan
from syncfw.engine.report import RunReport
from syncfw.engine.spill import CreateSpill
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


def new_page(target: str, key: str) -> str:
    """How a plan shows a related page the run creates (its id is known once it is created)."""
    return f"(new page: {target} {key})"


@dataclass
class PlannedPages:
    """In a plan (a dry run): the identity entries and matches that the earlier targets' plans
    would have committed by the time the run reaches a later target.

    Attributes:
        pages: target → sync key → its page: the page id, :func:`new_page` for a page the run
            creates, None for a page it archives.
        matches: (target, secondary mapping) → record key → page sync key (None: no longer matched).
    """

    pages: dict[str, dict[str, str | None]] = field(default_factory=dict)
    matches: dict[tuple[str, str], dict[str, str | None]] = field(default_factory=dict)
    creates: dict[str, CreateSpill] = field(default_factory=dict)
    """target → its plan's creates, looked up on disk: an entry in ``pages`` for each would make
    the plan of a first import hold every sync key (about 200 bytes a record)."""

    def add(self, plan: TargetPlan, delta: StateDelta) -> None:
        """Learn what committing ``plan`` (its operations, once carried out) and ``delta`` does."""
        pages = self.pages.setdefault(plan.target, {})
        pages.update((key, page_id) for key, (page_id, _) in delta.agreed.items())
        if plan.operations.creates is not None:
            self.creates[plan.target] = plan.operations.creates
        for op in plan.operations.items:
            if op.action == "create":
                pages[op.sync_key] = new_page(plan.target, op.sync_key)
            elif op.action == "archive":
                pages[op.sync_key] = None
            elif op.page_id is not None:
                pages[op.sync_key] = op.page_id
        for mapping, matched in delta.matches.items():
            self.matches.setdefault((plan.target, mapping), {}).update(matched)


class _PlannedLookups(RelatedPages):
    """The state store's identity lookups, with what :class:`PlannedPages` adds in front."""

    def __init__(self, store: StateBackend, planned: PlannedPages) -> None:
        super().__init__(store)
        self.planned = planned
        self.planned_matches: dict[tuple[str, str], StoredMatches] = {}

    def pages(self, target: str, keys: Iterable[str]) -> dict[str, PageEntry]:
        keys = list(keys)
        planned = self.planned.pages.get(target, {})
        creates = self.planned.creates.get(target)
        ahead: dict[str, str | None] = {
            k: new_page(target, k) for k in keys if creates is not None and k in creates
        }
        ahead.update((key, planned[key]) for key in keys if key in planned and key not in ahead)
        out = super().pages(target, [k for k in keys if k not in ahead])
        for key, page_id in ahead.items():
            out[key] = PageEntry(target, key, page_id or "", True, page_id is None)
        return out

    def matches(self, target: str, mapping: str) -> StoredMatches:
        changes = self.planned.matches.get((target, mapping))
        if changes is None:
            return super().matches(target, mapping)
        cached = self.planned_matches.get((target, mapping))
        if cached is None:
            cached = self.planned_matches[(target, mapping)] = StoredMatches(
                self.store, target, mapping, dict(changes)
            )
        return cached


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
    looked up in batches (a new resolver sees the pages created before it was made).

    Args:
        planned: in a plan, what the earlier targets' plans would have committed.
    """

    def __init__(self, store: StateBackend, target: Target, planned: PlannedPages | None = None) -> None:
        self.target = target
        self.related = RelatedPages(store) if planned is None else _PlannedLookups(store, planned)

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
