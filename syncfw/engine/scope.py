"""What the parts of the planner share while one target is planned.

:class:`Scope` is the target being planned, its property types and its state lookups;
:class:`Notes` gathers findings and :class:`Learnt` what the state store is to learn. Both are
turned into values (:class:`~syncfw.engine.model.TargetPlan`,
:class:`~syncfw.engine.model.StateDelta`) when planning ends.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from more_itertools import chunked

from syncfw.connector import Record
from syncfw.engine.model import DriftFinding, Quarantine, StateDelta
from syncfw.engine.reads import Reading
from syncfw.engine.spill import SpillDict
from syncfw.errors import RecordProblem
from syncfw.mapping import CompiledMapping
from syncfw.recipe import Target
from syncfw.state import StateBackend
from syncfw.state.lookups import StateCache

T = TypeVar("T")
BATCH = 2_000
"""Records (and pages) handled at once: the state of a batch is read from the store in a few
queries, and dropped once the batch is planned."""
MISSING = object()
"""Stands for a property absent from a mapping of values (unlike None, a value)."""


def batched(items: Iterable[T], size: int = BATCH) -> Iterator[list[T]]:
    """``items`` in lists of ``size`` (the last may be shorter)."""
    return chunked(items, size)


@dataclass
class Notes:
    """Findings gathered while planning (they become the plan's findings)."""

    problems: list[RecordProblem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    unmatched: list[dict[str, Any]] = field(default_factory=list)
    drift: list[DriftFinding] = field(default_factory=list)
    pending_relations: list[dict[str, Any]] = field(default_factory=list)
    unidentified_count: int = 0
    unidentified: list[str] = field(default_factory=list)

    def note_unidentified(self, what: str) -> None:
        """Note a page the state store cannot identify (see ``TargetPlan.unidentified``)."""
        self.unidentified_count += 1
        if len(self.unidentified) < 3:
            self.unidentified.append(what)


@dataclass
class Learnt:
    """What the state store learns from planning (becomes the :class:`StateDelta`). ``agreed``
    holds every page of an adoption and ``relation_keys`` every record of a first import or an
    adoption: past :data:`~syncfw.engine.spill.SPILL_KEYS` pages, on disk (a value read back is a
    copy: set it again to change it)."""

    agreed: SpillDict[str, tuple[str, dict[str, Any]]] = field(default_factory=SpillDict)
    numbers: SpillDict[str, tuple[str, int]] = field(default_factory=SpillDict)
    relation_keys: SpillDict[str, dict[str, tuple[str, ...]]] = field(default_factory=SpillDict)
    matches: dict[str, dict[str, str | None]] = field(default_factory=dict)
    members: dict[str, dict[str, tuple[str, dict[str, Any]] | None]] = field(default_factory=dict)
    unmatched: dict[str, dict[str, dict[str, Any] | None]] = field(default_factory=dict)
    released: set[tuple[str, str]] = field(default_factory=set)
    quarantine: list[Quarantine] = field(default_factory=list)

    def delta(self) -> StateDelta:
        return StateDelta(
            agreed=self.agreed,
            numbers=self.numbers,
            relation_keys=self.relation_keys,
            matches=self.matches,
            members=self.members,
            unmatched=self.unmatched,
            released=frozenset(self.released),
            quarantine=tuple(self.quarantine),
        )


class Scope:
    """One target being planned: its recipe, types, state lookups, findings and learnings."""

    def __init__(
        self,
        target: Target,
        compiled: Mapping[str, CompiledMapping],
        store: StateBackend,
        mark_type: str | None,
        complete: bool,
        covered: frozenset[str] = frozenset(),
    ) -> None:
        self.target = target
        self.compiled = compiled
        self.store = store
        self.mark_type = mark_type
        self.complete = complete
        self.covered = covered
        """Keys of known pages the consistency read's slice covers: not returned means gone."""
        self.types: dict[str, str] = {name: spec.type for name, spec in target.properties.items()}
        if target.on_delete == "mark" and target.mark_property and mark_type:
            self.types[target.mark_property] = mark_type
        self.key_prop = target.sync_key or ""
        self.update_only = target.mode == "update"
        """An update target: its pages are people's, keyed by page id, found by match and never
        created or archived."""
        self.matched_on: dict[str, str] = {
            m.match.property: m.match.type
            for m in target.mappings
            if self.update_only
            and m.match is not None
            and m.match.property
            and m.match.property not in self.types
        }
        """The properties people keep that an update target's records are matched by, with the
        type their values are compared as."""
        self.state = StateCache(store, target.name)
        self.has_pages = store.page_count(target.name) > 0
        self.notes = Notes()
        self.learnt = Learnt()

    def reject(self, read: Reading, record: Record, prop: str | None, reason: str) -> None:
        """Report a record that cannot be synced and quarantine it; the run goes on without it."""
        problem = RecordProblem(read.source, read.stream, record.key, prop, reason)
        self.notes.problems.append(problem)
        self.learnt.quarantine.append(Quarantine(read.mapping, record, problem))
