"""The values passed between the stages of a run: the plan, what it taught the state store, and
what applying it did.

:func:`~syncfw.engine.plan.plan_target` returns a :class:`TargetPlan` (the writes to make and the
findings), a :class:`StateDelta` (what planning learnt for the state store) and a
:class:`~syncfw.engine.reads.ReadLedger` (what was read). :meth:`~syncfw.engine.apply.Applier.apply`
returns an :class:`ApplyResult`; :func:`~syncfw.engine.commit.commit_target` records the three in
one state transaction. None of them changes once made, except that the ledger forgets each record
once the write behind it is settled (:meth:`~syncfw.engine.reads.ReadLedger.release`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import heapq
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

from syncfw.connector import Record
from syncfw.engine.spill import CreateSpill
from syncfw.errors import RecordProblem
from syncfw.notion.schema import MARK_OPTION

Action = Literal["create", "update", "archive"]
MARK_VALUES = {
    "checkbox": (True, False),
    "select": (MARK_OPTION, None),
    "status": (MARK_OPTION, None),
}


LISTED_CREATES = 10_000
"""Creates a whole report lists (``--json``, plan files): a first import's others are given by
their count and a digest (:meth:`Operations.creates_digest`), so that neither the report nor the
plan file grows with the number of pages a run creates."""


NO_VALUES: Mapping[str, Any] = MappingProxyType({})
"""The values of an operation that has none (a create's ``before``, an archive's ``after``): one
shared empty mapping rather than an empty dict per operation of a large first import."""


def _no_values() -> Mapping[str, Any]:
    return NO_VALUES


@dataclass(frozen=True, slots=True)
class Operation:
    """One write to Notion.

    Attributes:
        action: ``create`` a page, ``update`` changed properties, or ``archive`` (move to trash).
        sync_key: the primary key of the page's record.
        page_id: the page (None for a create that was not made).
        after: property → canonical value to write (every owned property for a create).
        before: property → canonical live value before the write.
        restore: the page is in Notion's trash and is restored by this update.
        records: (mapping name, position in that mapping's read) of every record behind it, so
            a failed write holds back the cursors of exactly those streams.
        matched: the page's values of the properties an update target's records are matched by
            (people's properties, e.g. ``{"Domain": "edgecomm.com"}``): how a person knows the
            page, whose ``sync_key`` is its page id. Empty for other targets.
    """

    action: Action
    sync_key: str
    page_id: str | None
    after: Mapping[str, Any] = field(default_factory=_no_values)
    before: Mapping[str, Any] = field(default_factory=_no_values)
    restore: bool = False
    records: tuple[tuple[str, int], ...] = ()
    matched: Mapping[str, Any] = field(default_factory=_no_values)


class Operations:
    """The writes of a plan, in plan order: those held in memory (``items``) and the creates kept
    on disk (``creates``, a :class:`~syncfw.engine.spill.CreateSpill`), read back a batch at a
    time. Iterating merges the two: ``items[:head]`` first (archives and marks of deleted records),
    then the rest of ``items`` and the creates, by sync key. Compares equal to a tuple of the same
    operations.
    """

    __slots__ = ("creates", "head", "items")

    def __init__(
        self, items: Iterable[Operation] = (), creates: CreateSpill | None = None, head: int = 0
    ) -> None:
        self.items = tuple(items)
        self.creates = creates
        self.head = head

    def _spilled(self, order: Literal["key", "first"] = "key") -> Iterator[Operation]:
        if self.creates is not None:
            for key, after, origins, page_id in self.creates.rows(order):
                yield Operation("create", key, page_id, after, records=origins)

    def __iter__(self) -> Iterator[Operation]:
        yield from self.items[: self.head]
        yield from heapq.merge(self.items[self.head :], self._spilled(), key=lambda op: op.sync_key)

    def __len__(self) -> int:
        return len(self.items) + (0 if self.creates is None else len(self.creates))

    def __bool__(self) -> bool:
        return len(self) > 0

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Operations | tuple):
            return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Operations({len(self.items)} in memory, {len(self) - len(self.items)} creates on disk)"

    def count(self, action: Action) -> int:
        spilled = len(self.creates) if action == "create" and self.creates is not None else 0
        return spilled + sum(1 for op in self.items if op.action == action)

    def of(self, action: Action) -> Iterator[Operation]:
        """The operations of one action, in plan order (only a create reads the disk)."""
        if action == "create":
            return (op for op in self if op.action == "create")
        return (op for op in self.items if op.action == action)

    def by_first_record(self) -> Iterator[Operation]:
        """Every operation, in the order of its first record's position in its read (-1: none)."""
        items = sorted(self.items, key=_first_record)
        return heapq.merge(items, self._spilled("first"), key=_first_record)

    def replace(self, change: Callable[[Operation], Operation]) -> Operations:
        """These operations with ``change`` applied to those held in memory."""
        return Operations(map(change, self.items), self.creates, self.head)

    def creates_digest(self, shown: Callable[[Mapping[str, Any]], dict[str, Any]] | None = None) -> str:
        """SHA-256 of every create's sync key and values (as ``shown`` gives them), in plan order:
        a plan file that lists only some of its creates records it, so that ``syncfw run --plan``
        can tell the creates it applies are those reviewed."""
        digest = hashlib.sha256()
        for op in self.of("create"):
            after = op.after if shown is None else shown(op.after)
            digest.update(json.dumps([op.sync_key, after], sort_keys=True, default=str).encode())
            digest.update(b"\n")
        return digest.hexdigest()


def _first_record(op: Operation) -> int:
    return min((position for _, position in op.records), default=-1)


@dataclass(frozen=True)
class DriftFinding:
    """A human (or another tool) edited a property syncfw owns."""

    sync_key: str
    page_id: str
    property: str
    synced: Any
    live: Any
    desired: Any
    action: str
    editor: str | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "sync_key": self.sync_key,
            "page_id": self.page_id,
            "property": self.property,
            "synced": jsonable(self.synced),
            "live": jsonable(self.live),
            "desired": jsonable(self.desired),
            "action": self.action,
            "editor": self.editor,
        }


def jsonable(value: Any) -> Any:
    """Canonical values as JSON (tuples become lists)."""
    return list(value) if isinstance(value, tuple) else value


@dataclass(frozen=True)
class Quarantine:
    """A record set aside with the problem that stopped it (retried by the next runs)."""

    mapping: str
    record: Record
    problem: RecordProblem


@dataclass(frozen=True)
class TargetPlan:
    """Everything syncfw will do to one target, and what it found on the way.

    Attributes:
        operations: the writes, at most one per page (creates read back from disk, see
            :class:`Operations`).
        unchanged: pages in Notion that need no write.
        pages: pages of the target in Notion (the mass-change guard's base).
        pending_relations: ``{"sync_key", "property", "target", "keys"}`` of related keys that
            have no page yet (linked by the second pass once created).
        unidentified_count: pages the state store cannot identify, found while it knows no page of
            the target: pages with values but an empty sync key, or a key no source record has.
            Creating pages beside them could duplicate them (the mass-change guard stops such a run).
        unidentified: a few of them, described for a message (``'k007-typo' (page …)``).
    """

    target: str
    data_source_id: str
    sync_key_property: str
    types: Mapping[str, str]
    operations: Operations = field(default_factory=Operations)
    unchanged: int = 0
    pages: int = 0
    drift: tuple[DriftFinding, ...] = ()
    problems: tuple[RecordProblem, ...] = ()
    unmatched: tuple[dict[str, Any], ...] = ()
    warnings: tuple[str, ...] = ()
    pending_relations: tuple[dict[str, Any], ...] = ()
    unidentified_count: int = 0
    unidentified: tuple[str, ...] = ()

    def count(self, action: Action) -> int:
        return self.operations.count(action)

    def key_refills(self) -> int:
        """Updates that only write back a sync key a page lost (it was emptied or its property
        deleted); they overwrite nothing a person wrote."""
        key = self.sync_key_property
        return sum(
            1
            for op in self.operations.of("update")
            if set(op.after) == {key} and op.before.get(key) in (None, "")
        )

    def carried_out(self, result: ApplyResult) -> TargetPlan:
        """This plan as applied: created pages carry their ids, rejected writes are problems."""
        operations = self.operations.replace(
            lambda op: (
                dataclasses.replace(op, page_id=result.created[op.sync_key])
                if op.action == "create" and op.sync_key in result.created
                else op
            )
        )
        return dataclasses.replace(self, operations=operations, problems=self.problems + result.problems)


@dataclass(frozen=True)
class StateDelta:
    """What planning learnt for the state store, committed once the target's writes are made.

    Attributes:
        agreed: sync key → (page id, values Notion already holds as desired: no write needed),
            read back in key order (an adoption's may be on disk:
            :class:`~syncfw.engine.spill.SpillDict`).
        numbers: sync key → (page id, number) of pages read whose number the state store lacks
            (an adoption's may be on disk too).
        relation_keys: sync key → relation property → related keys, as the records give them.
        matches: secondary mapping → record key → page sync key (None: no longer matched).
        members: aggregating mapping → record key → (page sync key, member values), or None.
        unmatched: mapping → record key → record data kept to be retried (None: forget it).
        released: (mapping, record key) of quarantined records that evaluated cleanly this run.
        quarantine: records that cannot be synced, set aside with their problem.
    """

    agreed: Mapping[str, tuple[str, Mapping[str, Any]]] = field(default_factory=dict)
    numbers: Mapping[str, tuple[str, int]] = field(default_factory=dict)
    relation_keys: Mapping[str, Mapping[str, tuple[str, ...]]] = field(default_factory=dict)
    matches: Mapping[str, Mapping[str, str | None]] = field(default_factory=dict)
    members: Mapping[str, Mapping[str, tuple[str, dict[str, Any]] | None]] = field(default_factory=dict)
    unmatched: Mapping[str, Mapping[str, dict[str, Any] | None]] = field(default_factory=dict)
    released: frozenset[tuple[str, str]] = frozenset()
    quarantine: tuple[Quarantine, ...] = ()


@dataclass(frozen=True)
class Rejection:
    """A write Notion refused as invalid (or that cannot be sent): its records, if any, are
    quarantined (``mapping`` and ``record`` are None for a write with no record behind it)."""

    problem: RecordProblem
    mapping: str | None = None
    record: Record | None = None


@dataclass(frozen=True)
class ApplyResult:
    """What applying a plan did.

    Attributes:
        done: writes made, by action (``create``, ``update``, ``archive``).
        created: sync key → page id of every page created (or adopted after a lost answer), but
            the creates of a plan kept on disk: the plan carries their ids (:class:`Operations`).
        rejections: writes refused, in the order they were refused.
        held: mapping → positions of records whose write did not happen this run (stopped, or a
            create still pending): the mapping's cursor stays before the first of them.
        pending: sync keys whose create Notion did not answer and no lookup has found yet.
        skipped: writes not started because the run was asked to stop.
        capped: writes not sent because the run reached its write cap (``--max-writes``,
            ``max_writes``); their records are in ``held``, so the next run plans them again.
    """

    done: Mapping[str, int] = field(default_factory=lambda: {"create": 0, "update": 0, "archive": 0})
    created: Mapping[str, str] = field(default_factory=dict)
    rejections: tuple[Rejection, ...] = ()
    held: Mapping[str, frozenset[int]] = field(default_factory=dict)
    pending: tuple[str, ...] = ()
    skipped: int = 0
    capped: int = 0

    @property
    def sent(self) -> int:
        """Writes this run sent (or started): neither capped nor skipped."""
        return sum(self.done.values()) + len(self.rejections) + len(self.pending)

    @property
    def problems(self) -> tuple[RecordProblem, ...]:
        return tuple(r.problem for r in self.rejections)
