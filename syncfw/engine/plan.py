"""Planning one target: read its mappings' records and Notion, and decide every write.

A target has one primary mapping, whose records create pages (keyed by the sync key), and any
number of secondary mappings that enrich those pages: per-record mappings whose records *match* a
page (by a property value such as a normalised domain, remembered in the state store so a match
survives renames), and aggregating mappings (count, sum, min, max, latest over the records that
match a page). Every page gets one combined desired value per owned property (S), compared with
what syncfw last wrote (L) and what Notion holds (N) by :func:`~syncfw.engine.diff.diff_page`;
a page with changes becomes one :class:`Operation`, so several sources cost one request.

:func:`plan_target` composes the parts: the pages in play (:mod:`syncfw.engine.pages`), the
desired values (:mod:`syncfw.engine.desired`), the matcher of secondary and aggregating mappings
(:mod:`syncfw.engine.matcher`), the relation resolver (:mod:`syncfw.engine.relations`) and the
diff below. Nothing is written while planning; :mod:`syncfw.engine.apply` carries a plan out.
"""

from __future__ import annotations

import dataclasses
import heapq
import itertools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

from more_itertools import unique_justseen

from syncfw.engine.desired import DesiredValues
from syncfw.engine.diff import Drift, PageDiff, diff_page
from syncfw.engine.matcher import Matcher
from syncfw.engine.model import (
    MARK_VALUES,
    Action,
    DriftFinding,
    Operation,
    Operations,
    StateDelta,
    TargetPlan,
)
from syncfw.engine.pages import PagesInPlay
from syncfw.engine.reads import Reading, ReadLedger, StreamLedger, StreamRead, ordered_mappings
from syncfw.engine.relations import PlannedPages, RelationResolver, Resolved
from syncfw.engine.scope import BATCH, MISSING, Scope, batched
from syncfw.engine.spill import CreateSpill, SpilledRecords
from syncfw.mapping import CompiledMapping, normalize
from syncfw.recipe import Target
from syncfw.state import StateBackend

__all__ = [
    "Action",
    "DriftFinding",
    "Operation",
    "PlannedTarget",
    "StreamRead",
    "TargetPlan",
    "plan_target",
]


@dataclass(frozen=True)
class PlannedTarget:
    """What planning one target produced: the plan, what the state store is to learn, and what
    was read (the cursors and the records behind the writes)."""

    plan: TargetPlan
    delta: StateDelta
    ledger: ReadLedger


class _Diff:
    """The last part: each page in play's three-way diff, and the archives of deleted records."""

    def __init__(
        self,
        scope: Scope,
        pages: PagesInPlay,
        desired: DesiredValues,
        user_name: Callable[[str], str | None],
        planned: PlannedPages | None,
    ) -> None:
        self.scope = scope
        self.pages = pages
        self.desired = desired
        self.user_name = user_name
        self.relations = RelationResolver(scope.store, scope.target, planned)
        self.archiving: set[str] = set()
        self.operations: list[Operation] = []

    def _resolve(self, key: str) -> Resolved:
        """The relations of the page ``key``, from the stored related keys and this run's."""
        scope = self.scope
        keys = {**scope.state.relations(key), **scope.learnt.relation_keys.get(key, {})}
        resolved = self.relations.resolve(key, keys)
        for name, count in resolved.too_many:
            scope.notes.warnings.append(
                f"{scope.key_prop} {key} property {name!r}: {count} related pages, Notion takes 100; "
                "the first 100 are linked"
            )
        return resolved

    def relations_of(self, key: str) -> dict[str, Any]:
        """The relation values of the page ``key``; keys with no page yet are noted as pending."""
        resolved = self._resolve(key)
        self.scope.notes.pending_relations += resolved.pending
        return resolved.values

    def in_play(self, key: str) -> bool:
        """Whether the page ``key`` is diffed anyway: desired values are pending for it, or the
        read returned it not as syncfw left it."""
        return key in self.desired.desired.memory or key in self.pages.live

    def relation_candidates(self) -> set[str]:
        """Pages not otherwise in play whose relations resolve differently from what syncfw last
        wrote (a related page was created, restored or archived since); the others' unresolved
        keys are noted as pending."""
        scope = self.scope
        found: set[str] = set()
        for keys in scope.store.iter_relation_keys(scope.target.name, BATCH):
            keys = [k for k in keys if not self.in_play(k)]
            scope.state.load(keys)
            for key in keys:
                entry = scope.state.entry(key)
                if entry is None or entry.archived or not self.pages.in_notion(key):
                    continue
                resolved = self._resolve(key)
                last = scope.state.last_written(key) or {}
                if any(last.get(name, MISSING) != value for name, value in resolved.values.items()):
                    found.add(key)
                else:
                    scope.notes.pending_relations += resolved.pending
        return found

    def deletes(self) -> None:
        scope, pages = self.scope, self.pages
        target = scope.target
        scope.state.load(self.desired.archives)
        for key, origin in self.desired.archives.items():
            entry = scope.state.entry(key)
            if (
                not pages.in_notion(key)
                or entry is None
                or not entry.created_by_syncfw
                or target.on_delete == "ignore"
            ):
                continue
            if target.on_delete == "archive":
                self.operations.append(Operation("archive", key, pages.page_id(key), records=(origin,)))
                self.archiving.add(key)
                continue
            mark = target.mark_property
            if mark is None or scope.mark_type not in MARK_VALUES:
                continue
            value = normalize(scope.mark_type, MARK_VALUES[scope.mark_type][0])
            if pages.values(key).get(mark) != value:
                self.operations.append(
                    Operation(
                        "update", key, pages.page_id(key), {mark: value}, {mark: None}, records=(origin,)
                    )
                )

    def diff(self) -> None:
        """Diff every page in play, in sync-key order: those with desired values or read not as
        syncfw left them, those whose relations changed, and the creates (on disk), whose
        relations are resolved into their desired values."""
        changed = sorted(self.relation_candidates())
        in_play = heapq.merge(self.desired.desired.memory, self.pages.live, changed)
        creates = self.pages.creates
        keys = heapq.merge(
            ((key, False) for key in in_play),
            ((key, True) for key in itertools.chain.from_iterable(creates.key_pages())),
        )
        for batch in batched(unique_justseen(keys, key=itemgetter(0))):
            self.scope.state.load(key for key, _ in batch)
            for key, create in batch:
                if not create:
                    self._diff_one(key)
                elif relations := self.relations_of(key):
                    creates.merge(key, relations, ())

    def _diff_one(self, key: str) -> None:
        scope, pages = self.scope, self.pages
        wanted = key in self.desired.desired
        desired = self.desired.desired.pop(key, {})
        origin = self.desired.sources.pop(key, ())
        if key in self.desired.archives and (not wanted or key in self.archiving):
            return  # a page moved to trash takes no other write (Notion refuses edits in trash)
        entry = scope.state.entry(key)
        if not pages.in_notion(key) and key not in pages.restores:
            return  # not in Notion (never created, trashed or deleted by a person)
        if not wanted and (entry is None or entry.archived):
            return
        last = scope.state.last_written(key)
        relations = self.relations_of(key)
        full = {**(last or {}), **desired, **relations}
        full = {name: value for name, value in full.items() if name in scope.types}
        page = pages.live.get(key)
        live = pages.values(key)
        result = diff_page(full, live, last, scope.target.on_drift)
        if page is not None and live.get(scope.key_prop) in (None, "") and scope.key_prop in full:
            self._refill_key(result, full[scope.key_prop])
        result.resolve(lambda digests: scope.state.resolve(key, digests, {scope.key_prop: key}))
        scope.notes.warnings += [
            f"{scope.key_prop} {key} property {name!r}: edited in Notion, not reverted: the value syncfw "
            "wrote is no longer in the journal (retention.journal_days); the source's next change writes it"
            for name in result.unknown
        ]
        if result.drift and page is not None:
            editor = _editor_name(page.editor, self.user_name)
            scope.notes.drift += [_finding(key, page.id, d, editor) for d in result.drift]
        agreed = {
            name: value
            for name, value in result.agreed.items()
            if last is None or last.get(name, MISSING) != value
        }
        if agreed and pages.in_notion(key):
            scope.learnt.agreed[key] = (pages.page_id(key), agreed)
        if key in pages.restores:
            assert entry is not None
            self.operations.append(
                Operation(
                    "update",
                    key,
                    entry.page_id,
                    result.writes or scope.state.resolve(key, full, {scope.key_prop: key}),
                    result.before,
                    True,
                    origin,
                )
            )
        elif result.changed:
            matched = {name: live[name] for name in scope.matched_on if live.get(name) not in (None, "")}
            self.operations.append(
                Operation(
                    "update",
                    key,
                    pages.page_id(key),
                    result.writes,
                    result.before,
                    records=origin,
                    matched=matched,
                )
            )

    def _refill_key(self, result: PageDiff, key: Any) -> None:
        """Write back the sync key of a page a person emptied it on (or whose sync-key property was
        deleted and added again), whatever ``on_drift`` says: the key is the page's identity."""
        prop = self.scope.key_prop
        result.writes[prop] = key
        result.before[prop] = None
        result.drift = [
            dataclasses.replace(d, action="reverted") if d.property == prop else d for d in result.drift
        ]


def plan_target(
    *,
    target: Target,
    compiled: Mapping[str, CompiledMapping],
    reads: Mapping[str, StreamRead],
    data_source_id: str,
    live_pages: Iterable[dict[str, Any]],
    store: StateBackend,
    user_name: Callable[[str], str | None],
    retrieve_page: Callable[[str], dict[str, Any] | None] | None = None,
    mark_type: str | None = None,
    complete: bool = True,
    covered: frozenset[str] = frozenset(),
    keep_records: bool = True,
    phase: Callable[[str], None] | None = None,
    planned: PlannedPages | None = None,
) -> PlannedTarget:
    """Three-way diff of every page of ``target`` in play, in bounded memory.

    What planning holds grows with the changes, not with the target: the pages the Notion read
    returned that are not as syncfw left them, the desired values of pages that may need a write,
    and the state of one batch of keys at a time. The pages it creates, with the records behind
    them, are kept on disk (:class:`~syncfw.engine.spill.CreateSpill`): a first import's plan
    does not grow with the number of records.

    Args:
        compiled: mapping name → compiled mapping, for every mapping of the target.
        reads: mapping name → the stream read this run (consumed here, once, in batches).
        live_pages: the pages of the data source the Notion read returns (N), consumed in batches:
            every page (``complete``), or those edited since the previous read and the pages of
            the consistency read's slice.
        covered: sync keys of the pages the state store knows in the consistency read's slice
            (:class:`~syncfw.engine.reads.ReadSlice`): those the read does not return are gone.
        store: the state store (identity, last written values L, relation keys, matches).
        user_name: Notion user id → display name (for drift reports).
        retrieve_page: page id → the page, or None when Notion no longer has it; after a complete
            read (or of a slice), pages syncfw made that the read did not return are looked up with
            it.
        mark_type: the Notion type of the target's ``mark_property`` (``on_delete: mark``).
        keep_records: False for a plan that will not be applied: no write can be rejected, so the
            ledger keeps no record.
        phase: called with a short description as each step begins (progress display).
        planned: in a plan that will not be applied, what the earlier targets' plans would have
            committed (relations resolve as the run will resolve them).

    Raises:
        SyncfwError: a source read failed (the plan is abandoned; nothing was written).
        StateError: the state store cannot be read.
    """
    scope = Scope(target, compiled, store, mark_type, complete, covered)
    pages = PagesInPlay(scope)
    desired = DesiredValues(scope, pages)
    matcher = Matcher(scope, pages, desired)
    pages.index(live_pages, retrieve_page or (lambda _page_id: None))
    readings: dict[str, Reading] = {}
    for mapping in ordered_mappings(target):
        read = reads.get(mapping.name)
        if read is None:
            continue
        reading = readings[mapping.name] = Reading(read, keep_records)
        if phase is not None:
            phase(f"reading {mapping.source} {mapping.stream}")
        if mapping.match is None:
            desired.primary(mapping, reading)
        elif compiled[mapping.name].is_aggregate:
            matcher.aggregating(mapping, reading)
        else:
            matcher.secondary(mapping, reading)
    if phase is not None:
        phase("planning")
    diff = _Diff(scope, pages, desired, user_name, planned)
    diff.deletes()
    head = len(diff.operations)
    diff.diff()
    operations = Operations(diff.operations, pages.creates, head)
    needed: dict[str, set[int]] = {}  # a rejected write quarantines exactly the records behind it
    for op in operations:
        for name, position in op.records:
            if (record := desired.kept_record(name, position)) is not None:
                readings[name].records[position] = record
            if position in readings[name].records:  # those behind a create are on disk with it
                needed.setdefault(name, set()).add(position)
    ledger = ReadLedger(
        {name: _ledger(r, needed.get(name, set()), pages.creates) for name, r in readings.items()}
    )
    notes = scope.notes
    updates = sum(1 for op in operations if op.action == "update" and not op.restore)
    archives = sum(1 for op in operations if op.action == "archive")
    plan = TargetPlan(
        target=target.name,
        data_source_id=data_source_id,
        sync_key_property=scope.key_prop,
        types=dict(scope.types),
        operations=operations,
        unchanged=max(0, pages.count - updates - archives),
        pages=pages.count,
        drift=tuple(notes.drift),
        problems=tuple(notes.problems),
        unmatched=tuple(notes.unmatched),
        warnings=tuple(notes.warnings),
        pending_relations=tuple(notes.pending_relations),
        unidentified_count=notes.unidentified_count,
        unidentified=tuple(notes.unidentified),
    )
    return PlannedTarget(plan, scope.learnt.delta(), ledger)


def _ledger(reading: Reading, needed: set[int], creates: CreateSpill) -> StreamLedger:
    """What ``reading`` read, keeping the records at ``needed`` positions; the records behind the
    creates are looked up where the creates are kept."""
    kept = reading.ledger(needed)
    return dataclasses.replace(kept, records=SpilledRecords(kept.records, creates, kept.mapping))


def _editor_name(editor: Mapping[str, Any], users: Callable[[str], str | None]) -> str | None:
    if editor.get("type") == "bot":
        return None
    if editor.get("name"):
        return str(editor["name"])
    user_id = editor.get("id")
    return users(user_id) if user_id else None


def _finding(key: str, page_id: str, d: Drift, editor: str | None) -> DriftFinding:
    return DriftFinding(key, page_id, d.property, d.synced, d.live, d.desired, d.action, editor)
