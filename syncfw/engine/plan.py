"""Planning one target: read its mappings' records and Notion, and decide every write.

A target has one primary mapping, whose records create pages (keyed by the sync key), and any
number of secondary mappings that enrich those pages: per-record mappings whose records *match* a
page (by a property value such as a normalised domain, remembered in the state store so a match
survives renames), and aggregating mappings (count, sum, min, max, latest over the records that
match a page). Every page gets one combined desired value per owned property (S), compared with
what syncfw last wrote (L) and what Notion holds (N) by :func:`~syncfw.engine.diff.diff_page`;
a page with changes becomes one :class:`Operation`, so several sources cost one request.

Nothing is written while planning; :mod:`syncfw.engine.apply` carries a plan out.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar

from more_itertools import chunked

from syncfw.connector import Checkpoint, Connector, Record
from syncfw.engine.diff import Drift, PageDiff, diff_page
from syncfw.errors import RecordProblem
from syncfw.mapping import CompiledMapping, decode, encode, normalize
from syncfw.recipe import BoundMapping, Target
from syncfw.state import PageEntry, StateStore

Action = Literal["create", "update", "archive"]
T = TypeVar("T")
MARK_VALUES = {
    "checkbox": (True, False),
    "select": ("Deleted at source", None),
    "status": ("Deleted at source", None),
}


@dataclass(slots=True)
class Operation:
    """One write to Notion.

    Attributes:
        action: ``create`` a page, ``update`` changed properties, or ``archive`` (move to trash).
        sync_key: the primary key of the page's record.
        page_id: the page (None for a create until it is sent).
        after: property → canonical value to write (every owned property for a create).
        before: property → canonical live value before the write.
        restore: the page is in Notion's trash and is restored by this update.
        records: (mapping name, position in that mapping's read) of every record behind it, so
            a failed write holds back the cursors of exactly those streams.
    """

    action: Action
    sync_key: str
    page_id: str | None
    after: dict[str, Any] = field(default_factory=dict)
    before: dict[str, Any] = field(default_factory=dict)
    restore: bool = False
    records: list[tuple[str, int]] = field(default_factory=list)


@dataclass
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


@dataclass
class StreamRead:
    """One stream read for one mapping: consumed once, in order, while the target is planned.

    Iterating yields ``(position, record)`` pairs: the stream's records, then the quarantined
    records to retry (``retries``) that the stream did not deliver again. Checkpoints are noted as
    they are met (``checkpoints``: position of the next record, cursor). Only the records the plan
    needs afterwards are kept (``records``: position → record, for the writes and archives behind
    operations, so that a write Notion rejects quarantines exactly its records); the others are
    dropped as the plan goes, so memory does not grow with the size of the stream.
    """

    mapping: str
    source: str
    stream: str
    full: bool
    records: dict[int, Record] = field(default_factory=dict)
    checkpoints: list[tuple[int, str]] = field(default_factory=list)
    count: int = 0
    items: Iterator[Record | Checkpoint] | None = field(default=None, repr=False)
    retries: list[Record] = field(default_factory=list, repr=False)
    unmatched_keys: set[str] = field(default_factory=set, repr=False)
    """Keys of ``retries`` that are secondary records kept because they matched no page."""
    keep_records: bool = True
    """False for a plan that will not be applied: no write can be rejected, so no record is kept."""

    @property
    def quarantined(self) -> set[str]:
        """Keys of the quarantined records of this mapping (retried this run)."""
        return {r.key for r in self.retries}

    def __iter__(self) -> Iterator[tuple[int, Record]]:
        retry = {r.key: r for r in self.retries}
        items, self.items = self.items, None
        for item in items or ():
            if isinstance(item, Checkpoint):
                self.checkpoints.append((self.count, item.cursor))
                continue
            retry.pop(item.key, None)
            self.count += 1
            yield self.count - 1, item
        for record in retry.values():
            self.count += 1
            yield self.count - 1, record

    def keep(self, position: int, record: Record) -> None:
        if self.keep_records:
            self.records[position] = record

    def cursor_before(self, first_failed: int | None) -> str | None:
        """The newest checkpoint not past the first record that failed (all when None)."""
        best = None
        for position, cursor in self.checkpoints:
            if first_failed is None or position <= first_failed:
                best = cursor
        return best


def read_stream(
    connector: Connector, mapping: BoundMapping, cursor: str | None, fields: list[str]
) -> StreamRead:
    """The records of ``mapping``'s stream after ``cursor``, read lazily as the plan iterates."""

    def items() -> Iterator[Record | Checkpoint]:
        yield from connector.read(mapping.stream, cursor, fields)

    return StreamRead(mapping.name, mapping.source, mapping.stream, cursor is None, items=items())


@dataclass
class TargetPlan:
    """Everything syncfw will do to one target, and what it found on the way."""

    target: str
    data_source_id: str
    sync_key_property: str
    operations: list[Operation] = field(default_factory=list)
    unchanged: int = 0
    drift: list[DriftFinding] = field(default_factory=list)
    problems: list[RecordProblem] = field(default_factory=list)
    unmatched: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    pending_relations: list[dict[str, Any]] = field(default_factory=list)
    reads: dict[str, StreamRead] = field(default_factory=dict)
    failed: dict[str, set[int]] = field(default_factory=dict)
    agreed: dict[str, dict[str, Any]] = field(default_factory=dict)
    page_ids: dict[str, str] = field(default_factory=dict)
    relation_keys: dict[str, dict[str, tuple[str, ...]]] = field(default_factory=dict)
    matches: dict[str, dict[str, str | None]] = field(default_factory=dict)
    members: dict[str, dict[str, tuple[str, dict[str, Any]] | None]] = field(default_factory=dict)
    unmatched_records: dict[str, dict[str, dict[str, Any] | None]] = field(default_factory=dict)
    """Secondary records that matched no page, kept to be retried (None: matched now, or gone)."""
    types: dict[str, str] = field(default_factory=dict)
    pages: int = 0
    quarantine: list[tuple[str, Record, RecordProblem]] = field(default_factory=list)
    evaluated: set[tuple[str, str]] = field(default_factory=set)
    unidentified_count: int = 0
    """Pages the state store cannot identify, found while it knows no page of the target: pages
    with values but an empty sync key, or a key no source record has. Creating pages beside them
    could duplicate them (the mass-change guard stops such a run)."""
    unidentified: list[str] = field(default_factory=list)
    """A few of them, described for a message (``'k007-typo' (page …)``, ``page … (no key)``)."""

    def count(self, action: Action) -> int:
        return sum(1 for op in self.operations if op.action == action)

    def key_refills(self) -> int:
        """Updates that only write back a sync key a page lost (it was emptied or its property
        deleted); they overwrite nothing a person wrote."""
        key = self.sync_key_property
        return sum(
            1
            for op in self.operations
            if op.action == "update" and set(op.after) == {key} and op.before.get(key) in (None, "")
        )

    def fail(self, mapping: str, position: int) -> None:
        """Hold the mapping's cursor before this record: its write did not happen this run."""
        self.failed.setdefault(mapping, set()).add(position)


BATCH = 2_000
"""Records (and pages) handled at once: the state of a batch is read from the store in a few
queries, and dropped once the batch is planned."""
MISSING_LOOKUPS = 50
"""Pages syncfw made that a full read did not return, looked up one by one (at most this many)."""
_MISSING = object()


def batched(items: Iterable[T], size: int = BATCH) -> Iterator[list[T]]:
    """``items`` in lists of ``size`` (the last may be shorter)."""
    return chunked(items, size)


@dataclass(slots=True)
class LivePage:
    """A page the Notion read returned, decoded: its id, owned values and last editor."""

    id: str
    values: dict[str, Any]
    editor: dict[str, Any]


class _StateCache:
    """The store's identity, last written values and relation keys of the keys in play.

    :meth:`load` reads a batch of keys in a few queries; a lookup of a key not loaded reads it
    alone. The cache is emptied when it grows past ``limit`` keys, so memory stays bounded.
    """

    def __init__(self, store: StateStore, target: str, limit: int = 8 * BATCH) -> None:
        self.store = store
        self.target = target
        self.limit = limit
        self._loaded: set[str] = set()
        self._entries: dict[str, PageEntry] = {}
        self._written: dict[str, dict[str, Any]] = {}
        self._relations: dict[str, dict[str, tuple[str, ...]]] = {}

    def load(self, keys: Iterable[str]) -> None:
        wanted = [k for k in dict.fromkeys(keys) if k not in self._loaded]
        if not wanted:
            return
        if len(self._loaded) + len(wanted) > self.limit:
            self._loaded.clear()
            self._entries.clear()
            self._written.clear()
            self._relations.clear()
        self._entries.update(self.store.pages_for(self.target, wanted))
        self._written.update(self.store.written_for(self.target, wanted))
        self._relations.update(self.store.relation_keys_for(self.target, wanted))
        self._loaded.update(wanted)

    def entry(self, key: str) -> PageEntry | None:
        if key not in self._loaded:
            self.load([key])
        return self._entries.get(key)

    def written(self, key: str) -> dict[str, Any] | None:
        if key not in self._loaded:
            self.load([key])
        return self._written.get(key)

    def relations(self, key: str) -> dict[str, tuple[str, ...]]:
        if key not in self._loaded:
            self.load([key])
        return self._relations.get(key, {})


V = TypeVar("V")


class _StoredRecords(Generic[V]):
    """Per-record state of one mapping (record key → value), looked up in the store per key (a
    batch at a time with :meth:`load`), with this plan's ``changes`` over it (a change to None:
    removed). Memory: the changes and a few batches."""

    def __init__(self, store: StateStore, target: str, mapping: str, changes: dict[str, V | None]) -> None:
        self.store = store
        self.target = target
        self.mapping = mapping
        self.changes = changes
        self._cache: dict[str, V | None] = {}

    def _fetch(self, keys: list[str]) -> Mapping[str, V]:
        raise NotImplementedError

    def load(self, keys: Iterable[str]) -> None:
        wanted = [k for k in keys if k not in self._cache and k not in self.changes]
        if not wanted:
            return
        if len(self._cache) + len(wanted) > 8 * BATCH:
            self._cache.clear()
        found = self._fetch(wanted)
        self._cache.update((k, found.get(k)) for k in wanted)

    def get(self, key: str) -> V | None:
        if key in self.changes:
            return self.changes[key]
        if key not in self._cache:
            self.load([key])
        return self._cache.get(key)


class StoredMatches(_StoredRecords[str]):
    """How a secondary mapping's records matched pages: record key → page sync key."""

    def __init__(
        self, store: StateStore, target: str, mapping: str, changes: dict[str, str | None] | None = None
    ) -> None:
        super().__init__(store, target, mapping, {} if changes is None else changes)

    def _fetch(self, keys: list[str]) -> Mapping[str, str]:
        return self.store.matches_for(self.target, self.mapping, keys)


class StoredMembers(_StoredRecords[tuple[str, dict[str, Any]]]):
    """An aggregating mapping's records: record key → (page sync key, member values)."""

    def _fetch(self, keys: list[str]) -> Mapping[str, tuple[str, dict[str, Any]]]:
        return self.store.members_for(self.target, self.mapping, keys)

    def page_of(self, key: str) -> str | None:
        member = self.get(key)
        return member[0] if member is not None else None

    def by_page(self, page_keys: list[str]) -> dict[str, list[dict[str, Any]]]:
        """The member values of every page of ``page_keys``, changes included."""
        wanted = set(page_keys)
        out: dict[str, list[dict[str, Any]]] = {}
        for record_key, page_key, data in self.store.members_of_pages(self.target, self.mapping, page_keys):
            if record_key not in self.changes:
                out.setdefault(page_key, []).append(data)
        for member in self.changes.values():
            if member is not None and member[0] in wanted:
                out.setdefault(member[0], []).append(member[1])
        return out


class _PageOf:
    """``get(record key)`` → the page an aggregating mapping's record is on (for :meth:`find_page`)."""

    def __init__(self, members: StoredMembers) -> None:
        self.members = members

    def get(self, key: str) -> str | None:
        return self.members.page_of(key)


class _Related:
    """Identity lookups in related targets (for relation properties), cached up to a bound."""

    def __init__(self, store: StateStore, limit: int = 50_000) -> None:
        self.store = store
        self.limit = limit
        self._pages: dict[tuple[str, str], PageEntry | None] = {}
        self._matches: dict[tuple[str, str], StoredMatches] = {}

    def pages(self, target: str, keys: Iterable[str]) -> dict[str, PageEntry]:
        keys = list(keys)
        wanted = [k for k in keys if (target, k) not in self._pages]
        if wanted:
            if len(self._pages) + len(wanted) > self.limit:
                self._pages.clear()
            got = self.store.pages_for(target, wanted)
            self._pages.update(((target, k), got.get(k)) for k in wanted)
        out: dict[str, PageEntry] = {}
        for key in keys:
            if (target, key) in self._pages:
                cached = self._pages[(target, key)]
            else:
                cached = self.store.pages_for(target, [key]).get(key)
            if cached is not None:
                out[key] = cached
        return out

    def matches(self, target: str, mapping: str) -> StoredMatches:
        cached = self._matches.get((target, mapping))
        if cached is None:
            cached = self._matches[(target, mapping)] = StoredMatches(self.store, target, mapping)
        return cached


class _Planner:
    """Builds one :class:`TargetPlan` (see :func:`plan_target`).

    What it holds while planning grows with the changes, not with the target: the pages the
    Notion read returned that are not as syncfw left them, the desired values of pages that may
    need a write, and the state of one batch of keys at a time. A page whose desired values equal
    what syncfw last wrote, and that Notion still holds as syncfw left it, is settled on the spot.
    """

    def __init__(
        self,
        target: Target,
        compiled: Mapping[str, CompiledMapping],
        data_source_id: str,
        store: StateStore,
        user_name: Callable[[str], str | None],
        mark_type: str | None,
        complete: bool = True,
    ) -> None:
        self.target = target
        self.compiled = compiled
        self.store = store
        self.user_name = user_name
        self.mark_type = mark_type
        self.complete = complete
        self.types: dict[str, str] = {name: spec.type for name, spec in target.properties.items()}
        if target.on_delete == "mark" and target.mark_property and mark_type:
            self.types[target.mark_property] = mark_type
        self.key_prop = target.sync_key
        self.plan = TargetPlan(target.name, data_source_id, self.key_prop, types=dict(self.types))
        self.state = _StateCache(store, target.name)
        self.related = _Related(store)
        self.live: dict[str, LivePage] = {}
        self.seen: set[str] = set()
        self.foreign: set[str] = set()
        self.copies: dict[str, int] = {}
        self.desired: dict[str, dict[str, Any]] = {}
        self.sources: dict[str, list[tuple[str, int]]] = {}
        self.creates: set[str] = set()
        self.archives: dict[str, tuple[str, int]] = {}
        self.restores: set[str] = set()
        self.archiving: set[str] = set()
        self.match_maps: dict[str, StoredMatches] = {}
        self.has_pages = store.page_count(target.name) > 0
        self.quarantined: dict[str, set[str]] = {}
        self.strays: dict[str, str] = {}
        """While the state store knows no page: sync key → page id of the pages the read returned
        whose key no primary record has had yet (a key a person edited, or a page people made)."""

    # -- Notion side ---------------------------------------------------------------------

    def index(
        self, pages: Iterable[dict[str, Any]], retrieve: Callable[[str], dict[str, Any] | None]
    ) -> None:
        """Take in the pages the Notion read returns, a batch at a time.

        A page syncfw knows whose owned values are what syncfw last wrote is only noted as seen:
        it counts as "as syncfw left it", exactly like a page an incremental read did not return.
        After a full read, pages syncfw made that the read did not return are looked up by id
        (``retrieve``, None when gone) so that a page the read missed is never created again.
        """
        key_type = self.types[self.key_prop]
        for chunk in batched(pages):
            keyed: list[tuple[str | None, dict[str, Any]]] = []
            for page in chunk:
                raw = page.get("properties", {}).get(self.key_prop)
                key = decode(key_type, raw) if raw is not None else None
                keyed.append((str(key) if key not in (None, "") else None, page))
            self.state.load(k for k, _ in keyed if k is not None)
            for key, page in self._identify(keyed):
                self._add_live(key, page)
        if self.complete:
            missing = (
                e
                for entries in self.store.iter_pages(self.target.name)
                for e in entries
                if not e.archived and (e.sync_key not in self.seen or e.sync_key in self.foreign)
            )
            for gone in itertools.islice(missing, MISSING_LOOKUPS):
                found = retrieve(gone.page_id)
                if found is not None and not found.get("in_trash"):
                    self._add_live(gone.sync_key, found)
        for key, n in sorted(self.copies.items()):
            self.plan.warnings.append(
                f"{n} pages in Notion carry {self.key_prop} = {key!r}; syncfw keeps writing the one it "
                "knows and leaves the others alone"
            )
        if self.complete:
            self.plan.pages = len(self.seen)
            if not self.has_pages:
                self.strays = {key: self.live[key].id for key in self.foreign if key in self.live}
        else:
            unknown = 0
            for key in self.seen:
                known = self.state.entry(key)
                unknown += known is None or known.archived
            self.plan.pages = self.store.page_count(self.target.name, archived=False) + unknown

    def _identify(
        self, keyed: list[tuple[str | None, dict[str, Any]]]
    ) -> Iterator[tuple[str, dict[str, Any]]]:
        """The key each page of a batch stands for: the one the state store knows its page id by
        when a person emptied or edited its sync key (the edit is then drift on that key, and the
        key it carries now is never adopted), else the key it carries. Pages with no key that
        the store does not know are left out (counted as unidentified when the store knows no page).
        """
        unsure = [
            page["id"]
            for key, page in keyed
            if key is None or (entry := self.state.entry(key)) is None or entry.page_id != page["id"]
        ]
        known = self.store.pages_by_id(self.target.name, unsure) if unsure and self.has_pages else {}
        for key, page in keyed:
            entry = known.get(page["id"])
            if entry is not None:
                yield entry.sync_key, page
            elif key is not None:
                yield key, page
            elif not self.has_pages and any(
                v not in (None, "", (), False)
                for name, v in live_values(page, self.types).items()
                if name != self.key_prop
            ):
                self.note_unidentified(f"page {page['id']} (no {self.key_prop})")

    def note_unidentified(self, what: str) -> None:
        """Note a page the state store cannot identify (see :attr:`TargetPlan.unidentified`)."""
        self.plan.unidentified_count += 1
        if len(self.plan.unidentified) < 3:
            self.plan.unidentified.append(what)

    def _add_live(self, key: str, page: dict[str, Any]) -> None:
        entry = self.state.entry(key)
        known = entry is not None and entry.page_id == page["id"]
        if key in self.seen:
            self.copies[key] = self.copies.get(key, 1) + 1
            if not known or key not in self.foreign:
                return
        self.seen.add(key)
        values = live_values(page, self.types)
        if not known:
            self.foreign.add(key)
        else:
            self.foreign.discard(key)
            assert entry is not None
            last = self.state.written(key)
            if not entry.archived and last is not None and all(last.get(n) == v for n, v in values.items()):
                self.live.pop(key, None)  # as syncfw left it
                return
        self.live[key] = LivePage(page["id"], values, page.get("last_edited_by") or {})

    def in_notion(self, key: str) -> bool:
        """Whether Notion holds a page for ``key`` (read this run, or known and not read)."""
        if key in self.live:
            return True
        if self.complete:
            return key in self.seen
        entry = self.state.entry(key)
        return entry is not None and not entry.archived

    def page_id(self, key: str) -> str:
        page = self.live.get(key)
        if page is not None:
            return page.id
        entry = self.state.entry(key)
        assert entry is not None
        return entry.page_id

    def live_values(self, key: str) -> dict[str, Any]:
        page = self.live.get(key)
        if page is not None:
            return page.values
        if not self.in_notion(key):
            return {}
        last = self.state.written(key) or {}  # not edited since the last read: as syncfw wrote it
        return {name: last.get(name) for name in self.types}

    def page_keys(self) -> Iterator[list[str]]:
        """Every page key in play, in batches: the pages in Notion, and those this plan creates or
        restores. The state of each batch is loaded."""
        for entries in self.store.iter_pages(self.target.name, BATCH):
            self.state.load(e.sync_key for e in entries)
            keys = [e.sync_key for e in entries if not e.archived and self.in_notion(e.sync_key)]
            if keys:
                yield keys
        extra = []
        for key in sorted(set(self.live) | self.creates | self.restores):
            entry = self.state.entry(key)
            if entry is None or entry.archived:
                extra.append(key)
        for chunk in batched(extra):
            self.state.load(chunk)
            yield chunk

    # -- source side ---------------------------------------------------------------------

    def want(self, key: str, values: dict[str, Any], origin: tuple[str, int] | None) -> None:
        """Note desired values of the page ``key`` (``values`` is the caller's to give away)."""
        current = self.desired.get(key)
        if current is None:
            self.desired[key] = values
        else:
            current.update(values)
        if origin is not None:
            self.sources.setdefault(key, []).append(origin)

    def settled(self, key: str, values: Mapping[str, Any]) -> bool:
        """True when ``values`` for the page of ``key`` need no write and nothing else is pending
        for it: the page is in Notion as syncfw left it, and syncfw last wrote exactly these."""
        if key in self.desired or key in self.live or key in self.creates or key in self.restores:
            return False
        if not self.in_notion(key):
            return False
        last = self.state.written(key)
        if last is None or any(last.get(n, _MISSING) != v for n, v in values.items()):
            return False
        new_relations = self.plan.relation_keys.get(key)
        if new_relations is not None:
            if any(self.state.relations(key).get(p) != v for p, v in new_relations.items()):
                return False
            del self.plan.relation_keys[key]
        return True

    def offer(
        self, key: str, values: dict[str, Any], read: StreamRead, position: int, record: Record
    ) -> None:
        """What one record wants of the page ``key``: kept unless it is already so."""
        if self.settled(key, values):
            return
        self.want(key, values, (read.mapping, position))
        read.keep(position, record)

    def evaluate(
        self, mapping: BoundMapping, read: StreamRead, position: int, record: Record
    ) -> dict[str, Any] | None:
        values, errors = self.compiled[mapping.name].evaluate(record.data)
        if errors:
            for err in errors:
                self.reject(mapping, read, record, err.property, err.reason)
            return None
        if record.key in self.quarantined.get(mapping.name, ()):
            self.plan.evaluated.add((mapping.name, record.key))
        out: dict[str, Any] = {}
        for name, value in values.items():
            prop_type = self.types[name]
            if prop_type == "relation":
                self.plan.relation_keys.setdefault(record.key, {})[name] = tuple(str(k) for k in value or ())
                continue
            for warning in encode(prop_type, value)[1]:
                self.plan.warnings.append(
                    f"{read.source}/{read.stream} key {record.key} property {name!r}: {warning}"
                )
            out[name] = normalize(prop_type, value)
        return out

    def reject(
        self, mapping: BoundMapping, read: StreamRead, record: Record, prop: str | None, reason: str
    ) -> None:
        """Report a record that cannot be synced and quarantine it; the run goes on without it."""
        problem = RecordProblem(read.source, read.stream, record.key, prop, reason)
        self.plan.problems.append(problem)
        self.plan.quarantine.append((mapping.name, record, problem))

    def primary(self, mapping: BoundMapping, read: StreamRead) -> None:
        live_records = 0
        mark = self.target.mark_property if self.target.on_delete == "mark" and self.mark_type else None
        for batch in batched(read):
            self.state.load(record.key for _, record in batch)
            for position, record in batch:
                key = record.key
                self.strays.pop(key, None)
                if record.deleted:
                    self.archives[key] = (mapping.name, position)
                    read.keep(position, record)
                    continue
                live_records += 1
                values = self.evaluate(mapping, read, position, record)
                if values is None:
                    continue
                if mark and self.mark_type:
                    values[mark] = MARK_VALUES[self.mark_type][1]
                if self.in_notion(key):
                    self.offer(key, values, read, position, record)
                    continue
                entry = self.state.entry(key)
                if entry is not None and entry.archived and entry.created_by_syncfw:
                    self.restores.add(key)
                elif entry is not None and not entry.archived:
                    # syncfw made a page for this key and Notion no longer shows it: someone deleted
                    # it. Creating it again could duplicate it, so a person decides.
                    self.plan.warnings.append(
                        f"{self.key_prop} {key}: its page {entry.page_id} is no longer in Notion (deleted or "
                        "in trash); restore it from Notion's trash, or run with --full-refresh after "
                        "emptying it there to create a new one"
                    )
                    continue
                else:
                    self.creates.add(key)
                self.want(key, values, (mapping.name, position))
                read.keep(position, record)
        if read.full:
            for key, page_id in sorted(self.strays.items()):
                self.note_unidentified(f"{key!r} (page {page_id})")
        self.strays = {}
        if read.full and live_records == 0 and self.has_pages and self.archives:
            self.plan.warnings.append(
                f"{read.source}/{read.stream} returned no records on a full read: nothing is archived "
                "after an empty read"
            )
            self.archives.clear()

    def match_index(self, prop: str) -> dict[Any, list[str]]:
        index: dict[Any, list[str]] = {}
        for keys in self.page_keys():
            for key in keys:
                if key in self.archives:
                    continue  # its record was deleted at the source: no record matches it any more
                if prop == self.key_prop:
                    value: Any = key
                elif prop in self.desired.get(key, {}):
                    value = self.desired[key][prop]
                elif self.in_notion(key):
                    value = self.live_values(key).get(prop)
                else:
                    continue
                if value in (None, "", ()):
                    continue
                index.setdefault(value, []).append(key)
        return index

    def reachable(self, key: str) -> bool:
        """A page a secondary record may match: in Notion, or created (or restored) by this plan."""
        return key in self.creates or key in self.restores or self.in_notion(key)

    def find_page(
        self,
        mapping: BoundMapping,
        read: StreamRead,
        record: Record,
        known: StoredMatches | _PageOf,
        index: dict[Any, list[str]],
    ) -> str | None:
        compiled = self.compiled[mapping.name]
        assert mapping.match is not None
        try:
            value = compiled.match_value(record.data)
        except ValueError as exc:
            self._unmatched(read, record, f"match value failed: {exc}")
            return None
        via = getattr(mapping.match, "via", None)
        if via:
            matched = self.match_maps.get(via)
            if matched is None:
                matched = self.match_maps[via] = StoredMatches(self.store, self.target.name, via)
            page_key = matched.get(str(value)) if value not in (None, "") else None
            if page_key is not None and self.reachable(page_key):
                return page_key
            self._unmatched(read, record, f"matches no page through {via} (key {value!r})")
            return None
        found = index.get(value, []) if value not in (None, "") else []
        if len(found) == 1:
            return found[0]
        previous = known.get(record.key)
        if previous is not None and self.reachable(previous):
            return previous  # the match survives a rename of the matched property
        if not found:
            self._unmatched(read, record, f"matches no page ({mapping.match.property} = {value!r})")
        else:
            self._unmatched(
                read,
                record,
                f"matches {len(found)} pages ({mapping.match.property} = {value!r}): "
                + ", ".join(sorted(found)[:5]),
            )
        return None

    def _unmatched(self, read: StreamRead, record: Record, reason: str) -> None:
        self.plan.unmatched.append(
            {"source": read.source, "stream": read.stream, "key": record.key, "reason": reason}
        )

    def still_unmatched(self, read: StreamRead, record: Record, matched: bool) -> None:
        """Keep a record that matched no page so that later runs retry it (a page may appear, or
        stop being ambiguous, without the record changing); forget it once it matched or is gone."""
        if not matched:
            self.plan.unmatched_records.setdefault(read.mapping, {})[record.key] = dict(record.data)
        elif record.key in read.unmatched_keys:
            self.plan.unmatched_records.setdefault(read.mapping, {})[record.key] = None

    def secondary(self, mapping: BoundMapping, read: StreamRead) -> None:
        assert mapping.match is not None
        changes = self.plan.matches.setdefault(mapping.name, {})
        known = StoredMatches(self.store, self.target.name, mapping.name, changes)
        index = self.match_index(mapping.match.property) if mapping.match.property else {}
        for batch in batched(read):
            known.load(record.key for _, record in batch)
            wants: list[tuple[str, dict[str, Any], int, Record]] = []
            for position, record in batch:
                if record.deleted:
                    self.still_unmatched(read, record, True)
                    page_key = known.get(record.key)
                    if page_key is not None:
                        wants.append((page_key, dict.fromkeys(mapping.properties), position, record))
                        changes[record.key] = None
                    continue
                values = self.evaluate(mapping, read, position, record)
                if values is None:
                    self.still_unmatched(read, record, True)  # quarantined instead
                    continue
                page_key = self.find_page(mapping, read, record, known, index)
                self.still_unmatched(read, record, page_key is not None)
                if page_key is None:
                    continue
                wants.append((page_key, values, position, record))
                if known.get(record.key) != page_key:
                    changes[record.key] = page_key
            self.state.load(w[0] for w in wants)
            for page_key, values, position, record in wants:
                self.offer(page_key, values, read, position, record)
        self.match_maps[mapping.name] = known

    def aggregating(self, mapping: BoundMapping, read: StreamRead) -> None:
        assert mapping.match is not None
        compiled = self.compiled[mapping.name]
        changes = self.plan.members.setdefault(mapping.name, {})
        members = StoredMembers(self.store, self.target.name, mapping.name, changes)
        index = self.match_index(mapping.match.property) if mapping.match.property else {}
        known = _PageOf(members)
        affected: set[str] = set()
        origins: dict[str, list[tuple[str, int]]] = {}
        records: dict[int, Record] = {}
        for batch in batched(read):
            members.load(record.key for _, record in batch)
            for position, record in batch:
                before = members.get(record.key)
                if before is not None:
                    affected.add(before[0])
                if record.deleted:
                    self.still_unmatched(read, record, True)
                    if before is not None:
                        changes[record.key] = None
                    continue
                page_key = self.find_page(mapping, read, record, known, index)
                self.still_unmatched(read, record, page_key is not None)
                if page_key is None:
                    if before is not None:
                        changes[record.key] = None
                    continue
                try:
                    member = (page_key, compiled.member(record.data))
                except ValueError as exc:
                    self.reject(mapping, read, record, None, str(exc))
                    continue
                if record.key in self.quarantined.get(mapping.name, ()):
                    self.plan.evaluated.add((mapping.name, record.key))
                changes[record.key] = member
                affected.add(page_key)
                origins.setdefault(page_key, []).append((mapping.name, position))
                records[position] = record
        if read.full:  # every page's aggregate, so that a page that lost all its records gets its zero
            batches: Iterable[list[str]] = self.page_keys()
        else:
            batches = batched(sorted(affected))
        for keys in batches:
            self.state.load(keys)
            by_page = members.by_page(keys)
            for page_key in keys:
                if not self.reachable(page_key):
                    continue
                values, errors = compiled.aggregate(by_page.get(page_key, []))
                for err in errors:
                    self.plan.problems.append(
                        RecordProblem(read.source, read.stream, f"page {page_key}", err.property, err.reason)
                    )
                normalized = {n: normalize(self.types[n], v) for n, v in values.items()}
                if self.settled(page_key, normalized):
                    continue
                self.want(page_key, normalized, None)
                for origin in origins.get(page_key, []):
                    self.sources.setdefault(page_key, []).append(origin)
                    read.keep(origin[1], records[origin[1]])

    # -- relations -----------------------------------------------------------------------

    def resolve_relations(self, key: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """The relation values of the page ``key``, and the related keys that have no page yet."""
        keys = {**self.state.relations(key), **self.plan.relation_keys.get(key, {})}
        out: dict[str, Any] = {}
        pending: list[dict[str, Any]] = []
        for name, related_keys in keys.items():
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
                pending.append({"sync_key": key, "property": name, "target": spec.target, "keys": missing})
            if len(ids) > 100:
                self.plan.warnings.append(
                    f"{self.key_prop} {key} property {name!r}: {len(ids)} related pages, Notion takes 100; "
                    "the first 100 are linked"
                )
            out[name] = normalize("relation", tuple(sorted(set(ids))))
        return out, pending

    def relation_candidates(self, candidates: set[str]) -> set[str]:
        """Pages not otherwise in play whose relations resolve differently from what syncfw last
        wrote (a related page was created, restored or archived since); the others' unresolved
        keys are noted as pending."""
        found: set[str] = set()
        for keys in self.store.iter_relation_keys(self.target.name, BATCH):
            keys = [k for k in keys if k not in candidates]
            self.state.load(keys)
            for key in keys:
                entry = self.state.entry(key)
                if entry is None or entry.archived or not self.in_notion(key):
                    continue
                values, pending = self.resolve_relations(key)
                last = self.state.written(key) or {}
                if any(last.get(name, _MISSING) != value for name, value in values.items()):
                    found.add(key)
                else:
                    self.plan.pending_relations += pending
        return found

    # -- the diff ------------------------------------------------------------------------

    def diff(self) -> None:
        candidates = set(self.desired) | set(self.live)
        candidates |= self.relation_candidates(candidates)
        for keys in batched(sorted(candidates)):
            self.state.load(keys)
            for key in keys:
                self._diff_one(key)
        updates = sum(1 for op in self.plan.operations if op.action == "update" and not op.restore)
        self.plan.unchanged = max(0, self.plan.pages - updates - self.plan.count("archive"))

    def _diff_one(self, key: str) -> None:
        wanted = key in self.desired
        desired = self.desired.pop(key, {})
        origin = self.sources.pop(key, [])
        if key in self.archives and (not wanted or key in self.archiving):
            return  # a page moved to trash takes no other write (Notion refuses edits in trash)
        entry = self.state.entry(key)
        if key in self.creates:
            relations, pending = self.resolve_relations(key)
            self.plan.pending_relations += pending
            after = {**desired, **relations} if relations else desired
            self.plan.operations.append(Operation("create", key, None, after=after, records=origin))
            return
        if not self.in_notion(key) and key not in self.restores:
            return  # not in Notion (never created, trashed or deleted by a person)
        if not wanted and (entry is None or entry.archived):
            return
        last = self.state.written(key)
        relations, pending = self.resolve_relations(key)
        self.plan.pending_relations += pending
        full = {**(last or {}), **desired, **relations}
        full = {name: value for name, value in full.items() if name in self.types}
        page = self.live.get(key)
        live = self.live_values(key)
        result = diff_page(full, live, last, self.target.on_drift)
        if page is not None and live.get(self.key_prop) in (None, "") and self.key_prop in full:
            self._refill_key(result, full[self.key_prop])
        if result.drift and page is not None:
            editor = _editor_name(page.editor, self.user_name)
            self.plan.drift += [_finding(key, page.id, d, editor) for d in result.drift]
        agreed = {
            name: value
            for name, value in result.agreed.items()
            if last is None or last.get(name, _MISSING) != value
        }
        if agreed and self.in_notion(key):
            self.plan.agreed[key] = agreed
            self.plan.page_ids[key] = self.page_id(key)
        if key in self.restores:
            assert entry is not None
            self.plan.operations.append(
                Operation("update", key, entry.page_id, result.writes or full, result.before, True, origin)
            )
        elif result.changed:
            self.plan.operations.append(
                Operation("update", key, self.page_id(key), result.writes, result.before, records=origin)
            )

    def _refill_key(self, result: PageDiff, key: Any) -> None:
        """Write back the sync key of a page a person emptied it on (or whose sync-key property was
        deleted and added again), whatever ``on_drift`` says: the key is the page's identity."""
        prop = self.key_prop
        result.writes[prop] = key
        result.before[prop] = None
        result.drift = [
            dataclasses.replace(d, action="reverted") if d.property == prop else d for d in result.drift
        ]

    def deletes(self) -> None:
        self.state.load(self.archives)
        for key, origin in self.archives.items():
            entry = self.state.entry(key)
            if (
                not self.in_notion(key)
                or entry is None
                or not entry.created_by_syncfw
                or self.target.on_delete == "ignore"
            ):
                continue
            if self.target.on_delete == "archive":
                self.plan.operations.append(Operation("archive", key, self.page_id(key), records=[origin]))
                self.archiving.add(key)
                continue
            mark = self.target.mark_property
            if mark is None or self.mark_type not in MARK_VALUES:
                continue
            value = normalize(self.mark_type, MARK_VALUES[self.mark_type][0])
            if self.live_values(key).get(mark) != value:
                self.plan.operations.append(
                    Operation("update", key, self.page_id(key), {mark: value}, {mark: None}, records=[origin])
                )

    def prune(self) -> None:
        """Drop the records no operation refers to (a rejected write quarantines its records)."""
        needed: dict[str, set[int]] = {}
        for op in self.plan.operations:
            for mapping, position in op.records:
                needed.setdefault(mapping, set()).add(position)
        for name, read in self.plan.reads.items():
            keep = needed.get(name, set())
            read.records = {p: r for p, r in read.records.items() if p in keep}


def plan_target(
    *,
    target: Target,
    compiled: Mapping[str, CompiledMapping],
    reads: Mapping[str, StreamRead],
    data_source_id: str,
    live_pages: Iterable[dict[str, Any]],
    store: StateStore,
    user_name: Callable[[str], str | None],
    retrieve_page: Callable[[str], dict[str, Any] | None] | None = None,
    mark_type: str | None = None,
    complete: bool = True,
    phase: Callable[[str], None] | None = None,
) -> TargetPlan:
    """Three-way diff of every page of ``target`` in play, in bounded memory.

    Args:
        compiled: mapping name → compiled mapping, for every mapping of the target.
        reads: mapping name → the stream read this run (consumed here, once, in batches).
        live_pages: the pages of the data source the Notion read returns (N), consumed in batches:
            every page (``complete``), or those edited since the previous read.
        store: the state store (identity, last written values L, relation keys, matches).
        user_name: Notion user id → display name (for drift reports).
        retrieve_page: page id → the page, or None when Notion no longer has it; after a complete
            read, pages syncfw made that the read did not return are looked up with it.
        mark_type: the Notion type of the target's ``mark_property`` (``on_delete: mark``).
        phase: called with a short description as each step begins (progress display).

    Raises:
        SyncfwError: a source read failed (the plan is abandoned; nothing was written).
        StateError: the state store cannot be read.
    """
    planner = _Planner(target, compiled, data_source_id, store, user_name, mark_type, complete)
    planner.quarantined = {name: read.quarantined for name, read in reads.items()}
    planner.plan.reads = dict(reads)
    planner.index(live_pages, retrieve_page or (lambda _page_id: None))
    for mapping in ordered_mappings(target):
        read = reads.get(mapping.name)
        if read is None:
            continue
        if phase is not None:
            phase(f"reading {mapping.source} {mapping.stream}")
        if mapping.match is None:
            planner.primary(mapping, read)
        elif planner.compiled[mapping.name].is_aggregate:
            planner.aggregating(mapping, read)
        else:
            planner.secondary(mapping, read)
    if phase is not None:
        phase("planning")
    planner.deletes()
    planner.diff()
    planner.prune()
    return planner.plan


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


def live_values(page: Mapping[str, Any], types: Mapping[str, str]) -> dict[str, Any]:
    """The canonical values (N) of a page from Notion, property name → value (None when absent).

    A relation is compared as the set of its pages, in the order syncfw writes it (sorted ids):
    Notion keeps the order a person gave, and the page property item endpoint need not list the
    pages in the order written.
    """
    props = page.get("properties", {})
    values = {name: decode(t, props[name]) if name in props else None for name, t in types.items()}
    for name, t in types.items():
        if t == "relation" and values[name]:
            values[name] = tuple(sorted(values[name] or ()))
    return values


def ordered_mappings(target: Target) -> Iterable[BoundMapping]:
    """The primary mapping first (its pages are what secondary records match), then the others."""
    return [target.primary_mapping, *target.secondary_mappings]


def _editor_name(editor: Mapping[str, Any], users: Callable[[str], str | None]) -> str | None:
    if editor.get("type") == "bot":
        return None
    if editor.get("name"):
        return str(editor["name"])
    user_id = editor.get("id")
    return users(user_id) if user_id else None


def _finding(key: str, page_id: str, d: Drift, editor: str | None) -> DriftFinding:
    return DriftFinding(key, page_id, d.property, d.synced, d.live, d.desired, d.action, editor)
