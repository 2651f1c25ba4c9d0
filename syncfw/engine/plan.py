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

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from syncfw.connector import Checkpoint, Connector, Record
from syncfw.engine.diff import Drift, diff_page
from syncfw.errors import RecordProblem
from syncfw.mapping import CompiledMapping, decode, encode, normalize
from syncfw.recipe import BoundMapping, Target
from syncfw.state import PageEntry, StateStore

Action = Literal["create", "update", "archive"]
UNREAD = "syncfw:unread"
"""Marks a page in the live index that the incremental read did not return (values from state)."""
MARK_VALUES = {
    "checkbox": (True, False),
    "select": ("Deleted at source", None),
    "status": ("Deleted at source", None),
}


@dataclass
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
    """The records of one stream read for one mapping, and where its checkpoints fell."""

    mapping: str
    source: str
    stream: str
    full: bool
    records: list[Record] = field(default_factory=list)
    checkpoints: list[tuple[int, str]] = field(default_factory=list)

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
    """Pull every record of ``mapping``'s stream after ``cursor`` and note where checkpoints fall."""
    out = StreamRead(mapping.name, mapping.source, mapping.stream, cursor is None)
    for item in connector.read(mapping.stream, cursor, fields):
        if isinstance(item, Checkpoint):
            out.checkpoints.append((len(out.records), item.cursor))
        else:
            out.records.append(item)
    return out


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
    types: dict[str, str] = field(default_factory=dict)
    pages: int = 0
    quarantine: list[tuple[str, Record, RecordProblem]] = field(default_factory=list)
    evaluated: set[tuple[str, str]] = field(default_factory=set)

    def count(self, action: Action) -> int:
        return sum(1 for op in self.operations if op.action == action)

    def fail(self, mapping: str, position: int) -> None:
        """Hold the mapping's cursor before this record: its write did not happen this run."""
        self.failed.setdefault(mapping, set()).add(position)


class _Planner:
    """Builds one :class:`TargetPlan` (see :func:`plan_target`)."""

    def __init__(
        self,
        target: Target,
        compiled: Mapping[str, CompiledMapping],
        data_source_id: str,
        live_pages: list[dict[str, Any]],
        store: StateStore,
        related_pages: Callable[[str], dict[str, PageEntry]],
        user_name: Callable[[str], str | None],
        mark_type: str | None,
        complete: bool = True,
    ) -> None:
        self.target = target
        self.compiled = compiled
        self.store = store
        self.related_pages = related_pages
        self.user_name = user_name
        self.mark_type = mark_type
        self.types: dict[str, str] = {name: spec.type for name, spec in target.properties.items()}
        if target.on_delete == "mark" and target.mark_property and mark_type:
            self.types[target.mark_property] = mark_type
        self.key_prop = target.sync_key
        self.plan = TargetPlan(target.name, data_source_id, self.key_prop, types=dict(self.types))
        self.identity = store.pages(target.name)
        self.written = store.written(target.name)
        self.stored_relations = store.relation_keys(target.name)
        self.live = self._index(live_pages)
        if not complete:
            # an incremental read returned only the pages edited since the last read: every other
            # page syncfw knows is as syncfw left it
            for key, entry in self.identity.items():
                if key not in self.live and not entry.archived:
                    self.live[key] = {"id": entry.page_id, UNREAD: self.written.get(key, {})}
        self.desired: dict[str, dict[str, Any]] = {}
        self.sources: dict[str, list[tuple[str, int]]] = {}
        self.creates: set[str] = set()
        self.archives: dict[str, tuple[str, int]] = {}
        self.restores: set[str] = set()
        self.match_maps: dict[str, dict[str, str]] = {}

    # -- Notion side ---------------------------------------------------------------------

    def _index(self, live_pages: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
        by_key: dict[str, dict[str, Any]] = {}
        copies: dict[str, int] = {}
        key_type = self.types[self.key_prop]
        for page in live_pages:
            raw = page.get("properties", {}).get(self.key_prop)
            key = decode(key_type, raw) if raw is not None else None
            if key in (None, ""):
                continue
            key = str(key)
            if key in by_key:
                copies[key] = copies.get(key, 1) + 1
                known = self.identity.get(key)
                if known is not None and known.page_id == page["id"]:
                    by_key[key] = page
                continue
            by_key[key] = page
        for key, n in sorted(copies.items()):
            self.plan.warnings.append(
                f"{n} pages in Notion carry {self.key_prop} = {key!r}; syncfw keeps writing the one it "
                "knows and leaves the others alone"
            )
        return by_key

    def live_values(self, key: str) -> dict[str, Any]:
        page = self.live.get(key)
        if page is None:
            return {}
        if UNREAD in page:  # not edited since the last read: Notion still holds what syncfw wrote
            last = page[UNREAD]
            return {name: last.get(name) for name in self.types}
        props = page.get("properties", {})
        return {name: decode(t, props[name]) if name in props else None for name, t in self.types.items()}

    # -- source side ---------------------------------------------------------------------

    def want(self, key: str, values: Mapping[str, Any], origin: tuple[str, int] | None) -> None:
        self.desired.setdefault(key, {}).update(values)
        if origin is not None:
            self.sources.setdefault(key, []).append(origin)

    def evaluate(
        self, mapping: BoundMapping, read: StreamRead, position: int, record: Record
    ) -> dict[str, Any] | None:
        values, errors = self.compiled[mapping.name].evaluate(record.data)
        if errors:
            for err in errors:
                self.reject(mapping, read, record, err.property, err.reason)
            return None
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
        for position, record in enumerate(read.records):
            key = record.key
            if record.deleted:
                self.archives[key] = (mapping.name, position)
                continue
            live_records += 1
            values = self.evaluate(mapping, read, position, record)
            if values is None:
                continue
            if self.target.on_delete == "mark" and self.target.mark_property and self.mark_type:
                values[self.target.mark_property] = MARK_VALUES[self.mark_type][1]
            self.want(key, values, (mapping.name, position))
            if key not in self.live:
                entry = self.identity.get(key)
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
                else:
                    self.creates.add(key)
        if read.full and live_records == 0 and self.identity and self.archives:
            self.plan.warnings.append(
                f"{read.source}/{read.stream} returned no records on a full read: nothing is archived "
                "after an empty read"
            )
            self.archives.clear()

    def match_index(self, prop: str) -> dict[Any, list[str]]:
        index: dict[Any, list[str]] = {}
        keys = set(self.live) | self.creates | self.restores
        for key in keys:
            if prop == self.key_prop:
                value: Any = key
            elif prop in self.desired.get(key, {}):
                value = self.desired[key][prop]
            elif key in self.live:
                value = self.live_values(key).get(prop)
            else:
                continue
            if value in (None, "", ()):
                continue
            index.setdefault(value, []).append(key)
        return index

    def find_page(
        self,
        mapping: BoundMapping,
        read: StreamRead,
        record: Record,
        known: dict[str, str],
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
                matched = self.match_maps[via] = self.store.matches(self.target.name, via)
            page_key = matched.get(str(value)) if value not in (None, "") else None
            if page_key is not None and (page_key in self.live or page_key in self.creates):
                return page_key
            self._unmatched(read, record, f"matches no page through {via} (key {value!r})")
            return None
        found = index.get(value, []) if value not in (None, "") else []
        if len(found) == 1:
            return found[0]
        previous = known.get(record.key)
        if previous is not None and (previous in self.live or previous in self.creates):
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

    def secondary(self, mapping: BoundMapping, read: StreamRead) -> None:
        assert mapping.match is not None
        known = self.store.matches(self.target.name, mapping.name)
        index = self.match_index(mapping.match.property) if mapping.match.property else {}
        changes = self.plan.matches.setdefault(mapping.name, {})
        for position, record in enumerate(read.records):
            if record.deleted:
                page_key = known.get(record.key)
                if page_key is not None:
                    self.want(page_key, dict.fromkeys(mapping.properties), (mapping.name, position))
                    changes[record.key] = None
                continue
            values = self.evaluate(mapping, read, position, record)
            if values is None:
                continue
            page_key = self.find_page(mapping, read, record, known, index)
            if page_key is None:
                continue
            self.want(page_key, values, (mapping.name, position))
            if known.get(record.key) != page_key:
                changes[record.key] = page_key
        current = dict(known)
        for record_key, page_key in changes.items():
            if page_key is None:
                current.pop(record_key, None)
            else:
                current[record_key] = page_key
        self.match_maps[mapping.name] = current

    def aggregating(self, mapping: BoundMapping, read: StreamRead) -> None:
        assert mapping.match is not None
        compiled = self.compiled[mapping.name]
        members = self.store.members(self.target.name, mapping.name)
        changes = self.plan.members.setdefault(mapping.name, {})
        index = self.match_index(mapping.match.property) if mapping.match.property else {}
        known = {k: v[0] for k, v in members.items()}
        affected: set[str] = set(self.live) | self.creates if read.full else set()
        origins: dict[str, list[tuple[str, int]]] = {}
        for position, record in enumerate(read.records):
            before = members.get(record.key)
            if before is not None:
                affected.add(before[0])
            if record.deleted:
                if before is not None:
                    members.pop(record.key)
                    changes[record.key] = None
                continue
            page_key = self.find_page(mapping, read, record, known, index)
            if page_key is None:
                if before is not None:
                    members.pop(record.key)
                    changes[record.key] = None
                continue
            try:
                member = (page_key, compiled.member(record.data))
            except ValueError as exc:
                self.reject(mapping, read, record, None, str(exc))
                continue
            self.plan.evaluated.add((mapping.name, record.key))
            members[record.key] = member
            changes[record.key] = member
            affected.add(page_key)
            origins.setdefault(page_key, []).append((mapping.name, position))
        by_page: dict[str, list[dict[str, Any]]] = {}
        for page_key, data in members.values():
            by_page.setdefault(page_key, []).append(data)
        for page_key in sorted(affected):
            if page_key not in self.live and page_key not in self.creates:
                continue
            values, errors = compiled.aggregate(by_page.get(page_key, []))
            for err in errors:
                self.plan.problems.append(
                    RecordProblem(read.source, read.stream, f"page {page_key}", err.property, err.reason)
                )
            normalized = {n: normalize(self.types[n], v) for n, v in values.items()}
            self.want(page_key, normalized, None)
            self.sources.setdefault(page_key, []).extend(origins.get(page_key, []))

    # -- relations -----------------------------------------------------------------------

    def resolve_relations(self, key: str) -> dict[str, Any]:
        keys = {**self.stored_relations.get(key, {}), **self.plan.relation_keys.get(key, {})}
        out: dict[str, Any] = {}
        for name, related_keys in keys.items():
            spec = self.target.properties.get(name)
            if spec is None or spec.target is None:
                continue
            ids, missing = resolve_keys(
                self.store, self.related_pages, spec.target, getattr(spec, "via", None), related_keys
            )
            if missing:
                self.plan.pending_relations.append(
                    {"sync_key": key, "property": name, "target": spec.target, "keys": missing}
                )
            if len(ids) > 100:
                self.plan.warnings.append(
                    f"{self.key_prop} {key} property {name!r}: {len(ids)} related pages, Notion takes 100; "
                    "the first 100 are linked"
                )
            out[name] = normalize("relation", tuple(sorted(set(ids))))
        return out

    # -- the diff ------------------------------------------------------------------------

    def diff(self) -> None:
        keys = sorted(set(self.desired) | set(self.written) | set(self.stored_relations))
        for key in keys:
            desired = self.desired.get(key, {})
            origin = self.sources.get(key, [])
            if key in self.archives and key not in desired:
                continue
            entry = self.identity.get(key)
            if key in self.creates:
                after = {**desired, **self.resolve_relations(key)}
                self.plan.operations.append(Operation("create", key, None, after=after, records=origin))
                continue
            if key not in self.live and key not in self.restores:
                continue  # not in Notion (never created, trashed or deleted by a person)
            if key not in self.desired and (entry is None or entry.archived):
                continue
            last = self.written.get(key)
            full = {**(last or {}), **desired, **self.resolve_relations(key)}
            full = {name: value for name, value in full.items() if name in self.types}
            page = self.live.get(key)
            live = self.live_values(key) if page else {}
            result = diff_page(full, live, last, self.target.on_drift)
            if page is not None:
                self.plan.page_ids[key] = page["id"]
            if result.drift and page is not None:
                editor = _editor_name(page, self.user_name)
                self.plan.drift += [_finding(key, page["id"], d, editor) for d in result.drift]
            if result.agreed:
                self.plan.agreed[key] = result.agreed
            if key in self.restores:
                assert entry is not None
                self.plan.operations.append(
                    Operation(
                        "update", key, entry.page_id, result.writes or full, result.before, True, origin
                    )
                )
            elif result.changed:
                assert page is not None
                self.plan.operations.append(
                    Operation("update", key, page["id"], result.writes, result.before, records=origin)
                )
            else:
                self.plan.unchanged += 1

    def deletes(self) -> None:
        for key, origin in self.archives.items():
            entry = self.identity.get(key)
            page = self.live.get(key)
            if (
                page is None
                or entry is None
                or not entry.created_by_syncfw
                or self.target.on_delete == "ignore"
            ):
                continue
            if self.target.on_delete == "archive":
                self.plan.operations.append(Operation("archive", key, page["id"], records=[origin]))
                continue
            mark = self.target.mark_property
            if mark is None or self.mark_type not in MARK_VALUES:
                continue
            value = normalize(self.mark_type, MARK_VALUES[self.mark_type][0])
            if self.live_values(key).get(mark) != value:
                self.plan.operations.append(
                    Operation("update", key, page["id"], {mark: value}, {mark: None}, records=[origin])
                )


def plan_target(
    *,
    target: Target,
    compiled: Mapping[str, CompiledMapping],
    reads: Mapping[str, StreamRead],
    data_source_id: str,
    live_pages: list[dict[str, Any]],
    store: StateStore,
    related_pages: Callable[[str], dict[str, PageEntry]],
    user_name: Callable[[str], str | None],
    mark_type: str | None = None,
    complete: bool = True,
) -> TargetPlan:
    """Three-way diff of every page of ``target``.

    Args:
        compiled: mapping name → compiled mapping, for every mapping of the target.
        reads: mapping name → the records read this run.
        live_pages: every page of the data source, as returned by a query (N).
        related_pages: target name → its identity map, for relation properties.
        user_name: Notion user id → display name (for drift reports).
        mark_type: the Notion type of the target's ``mark_property`` (``on_delete: mark``).
    """
    planner = _Planner(
        target, compiled, data_source_id, live_pages, store, related_pages, user_name, mark_type, complete
    )
    planner.plan.reads = dict(reads)
    for mapping in ordered_mappings(target):
        read = reads.get(mapping.name)
        if read is None:
            continue
        if mapping.match is None:
            planner.primary(mapping, read)
        elif planner.compiled[mapping.name].is_aggregate:
            planner.aggregating(mapping, read)
        else:
            planner.secondary(mapping, read)
    planner.deletes()
    planner.diff()
    planner.plan.pages = len(planner.live)
    return planner.plan


def resolve_keys(
    store: StateStore,
    related_pages: Callable[[str], dict[str, PageEntry]],
    target: str,
    via: str | None,
    keys: Iterable[str],
) -> tuple[list[str], list[str]]:
    """Page ids of the related records ``keys`` in ``target``, and the keys with no page yet.

    Keys are the related target's sync keys, or, with ``via``, record keys of that target's
    secondary mapping ``via`` (resolved through the pages its records matched).
    """
    pages = related_pages(target)
    matched = store.matches(target, via) if via else None
    ids: list[str] = []
    missing: list[str] = []
    for key in keys:
        page_key = matched.get(key) if matched is not None else key
        entry = pages.get(page_key) if page_key is not None else None
        if entry is None or entry.archived:
            missing.append(key)
        else:
            ids.append(entry.page_id)
    return ids, missing


def ordered_mappings(target: Target) -> Iterable[BoundMapping]:
    """The primary mapping first (its pages are what secondary records match), then the others."""
    return [target.primary_mapping, *target.secondary_mappings]


def _editor_name(page: Mapping[str, Any], users: Callable[[str], str | None]) -> str | None:
    editor = page.get("last_edited_by") or {}
    if editor.get("type") == "bot":
        return None
    if editor.get("name"):
        return str(editor["name"])
    user_id = editor.get("id")
    return users(user_id) if user_id else None


def _finding(key: str, page_id: str, d: Drift, editor: str | None) -> DriftFinding:
    return DriftFinding(key, page_id, d.property, d.synced, d.live, d.desired, d.action, editor)
