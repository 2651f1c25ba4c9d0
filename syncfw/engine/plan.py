"""Planning one target: read the source and Notion, and decide every write.

The plan of a target is a list of :class:`Operation` (create, update, archive) with the property
values before and after, the drift findings, and the records that could not be mapped. Nothing is
written while planning; :mod:`syncfw.engine.apply` carries a plan out.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from syncfw.connector import Checkpoint, Connector, Record
from syncfw.engine.diff import Drift, diff_page
from syncfw.errors import RecordProblem
from syncfw.mapping import CompiledMapping, decode, encode, normalize
from syncfw.recipe import BoundMapping, Target
from syncfw.state import PageEntry, StateStore

Action = Literal["create", "update", "archive"]


@dataclass
class Operation:
    """One write to Notion.

    Attributes:
        action: ``create`` a page, ``update`` changed properties, or ``archive`` (move to trash).
        sync_key: the source primary key the page is for.
        page_id: the page (None for a create).
        after: property → canonical value to write (every owned property for a create).
        before: property → canonical live value before the write (None for a create).
        unresolved: relation property → source keys that have no page yet.
        record: position of the record in its stream read, for checkpointing (None when the
            operation comes from a page whose record was not read this run).
    """

    action: Action
    sync_key: str
    page_id: str | None
    after: dict[str, Any] = field(default_factory=dict)
    before: dict[str, Any] = field(default_factory=dict)
    record: int | None = None


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
            "synced": _jsonable(self.synced),
            "live": _jsonable(self.live),
            "desired": _jsonable(self.desired),
            "action": self.action,
            "editor": self.editor,
        }


def _jsonable(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


@dataclass
class StreamRead:
    """The records of one stream read and where its checkpoints fell."""

    source: str
    stream: str
    records: list[Record] = field(default_factory=list)
    checkpoints: list[tuple[int, str]] = field(default_factory=list)

    def cursor_before(self, first_failed: int | None) -> str | None:
        """The newest checkpoint not past the first record that failed (all when None)."""
        best = None
        for position, cursor in self.checkpoints:
            if first_failed is None or position <= first_failed:
                best = cursor
        return best


@dataclass
class TargetPlan:
    """Everything syncfw will do to one target."""

    target: str
    data_source_id: str
    sync_key_property: str
    operations: list[Operation] = field(default_factory=list)
    unchanged: int = 0
    drift: list[DriftFinding] = field(default_factory=list)
    problems: list[RecordProblem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    pending_relations: int = 0
    read: StreamRead | None = None
    agreed: dict[str, dict[str, Any]] = field(default_factory=dict)
    page_ids: dict[str, str] = field(default_factory=dict)
    failed_records: set[int] = field(default_factory=set)

    def count(self, action: Action) -> int:
        return sum(1 for op in self.operations if op.action == action)


def read_stream(
    connector: Connector, source: str, stream: str, cursor: str | None, fields: list[str]
) -> StreamRead:
    """Pull every record after ``cursor`` and note where checkpoints fall."""
    out = StreamRead(source, stream)
    for item in connector.read(stream, cursor, fields):
        if isinstance(item, Checkpoint):
            out.checkpoints.append((len(out.records), item.cursor))
        else:
            out.records.append(item)
    return out


def _editor_name(page: Mapping[str, Any], users: Callable[[str], str | None]) -> str | None:
    editor = page.get("last_edited_by") or {}
    if editor.get("type") == "bot":
        return None
    if editor.get("name"):
        return str(editor["name"])
    user_id = editor.get("id")
    return users(user_id) if user_id else None


def plan_target(
    *,
    target: Target,
    mapping: BoundMapping,
    compiled: CompiledMapping,
    data_source_id: str,
    live_pages: list[dict[str, Any]],
    read: StreamRead,
    store: StateStore,
    related_pages: Callable[[str], dict[str, PageEntry]],
    user_name: Callable[[str], str | None],
) -> TargetPlan:
    """Three-way diff of every page the target's primary mapping owns.

    Args:
        live_pages: every page of the data source, as returned by a query (N).
        read: the source records read this run (S for those records).
        related_pages: target name → its identity map, for relation properties.
        user_name: Notion user id → display name (for drift reports).
    """
    types = {name: spec.type for name, spec in mapping.properties.items()}
    key_prop = target.sync_key
    plan = TargetPlan(target.name, data_source_id, key_prop)
    identity = store.pages(target.name)
    written = store.written(target.name)

    live_by_key: dict[str, dict[str, Any]] = {}
    duplicates: dict[str, int] = {}
    for live_page in live_pages:
        raw = live_page.get("properties", {}).get(key_prop)
        if raw is None:
            continue
        key = decode(types[key_prop], raw)
        if key in (None, ""):
            continue
        key = str(key)
        if key in live_by_key:
            duplicates[key] = duplicates.get(key, 1) + 1
            known = identity.get(key)
            if known is not None and known.page_id == live_page["id"]:
                live_by_key[key] = live_page
            continue
        live_by_key[key] = live_page
    for key, n in sorted(duplicates.items()):
        plan.warnings.append(
            f"{n} pages in Notion carry {key_prop} = {key!r}; syncfw keeps writing one and leaves the others alone"
        )

    def live_values(page: dict[str, Any] | None) -> dict[str, Any]:
        if page is None:
            return {}
        props = page.get("properties", {})
        return {name: decode(t, props[name]) if name in props else None for name, t in types.items()}

    def resolve(desired: dict[str, Any]) -> dict[str, Any]:
        for name, spec in mapping.properties.items():
            if spec.type != "relation":
                continue
            keys = desired.get(name) or ()
            pages = related_pages(spec.target or "")
            ids = []
            for k in keys:
                entry = pages.get(str(k))
                if entry is None or entry.archived:
                    plan.pending_relations += 1
                    plan.warnings.append(
                        f"{name} of {key_prop} {desired.get(key_prop)!r}: no page yet for key {k!r} in "
                        f"target {spec.target}; it will be linked once that page exists"
                    )
                else:
                    ids.append(entry.page_id)
            desired[name] = normalize("relation", tuple(sorted(set(ids))))
        return desired

    seen: set[str] = set()
    for position, record in enumerate(read.records):
        key = record.key
        seen.add(key)
        page = live_by_key.get(key)
        if record.deleted:
            entry = identity.get(key)
            if page is None or entry is None or not entry.created_by_syncfw or target.on_delete == "ignore":
                continue
            plan.operations.append(Operation("archive", key, page["id"], record=position))
            continue
        desired, errors = compiled.evaluate(record.data)
        if errors:
            for err in errors:
                plan.problems.append(RecordProblem(read.source, read.stream, key, err.property, err.reason))
            plan.failed_records.add(position)
            continue
        for name, value in desired.items():
            if types[name] != "relation":
                plan.warnings += [
                    f"{key_prop} {key} property {name!r}: {w}" for w in encode(types[name], value)[1]
                ]
        desired = resolve(
            {n: v if types[n] == "relation" else normalize(types[n], v) for n, v in desired.items()}
        )
        if page is None:
            plan.operations.append(Operation("create", key, None, after=desired, record=position))
            continue
        plan_update(
            plan, key, page, desired, live_values(page), written.get(key), target, user_name, position
        )

    # pages whose record did not change at the source: S is what syncfw last wrote
    for key, last in written.items():
        if key in seen:
            continue
        unread = live_by_key.get(key)
        entry = identity.get(key)
        if unread is None or entry is None or entry.archived:
            continue
        plan_update(plan, key, unread, dict(last), live_values(unread), last, target, user_name, None)
    return plan


def plan_update(
    plan: TargetPlan,
    key: str,
    page: dict[str, Any],
    desired: dict[str, Any],
    live: dict[str, Any],
    last: dict[str, Any] | None,
    target: Target,
    user_name: Callable[[str], str | None],
    position: int | None,
) -> None:
    """Add the update (if any) and drift findings of one existing page to ``plan``."""
    result = diff_page(desired, live, last, target.on_drift)
    plan.page_ids[key] = page["id"]
    if result.drift:
        editor = _editor_name(page, user_name)
        plan.drift += [_finding(key, page["id"], d, editor) for d in result.drift]
    if result.agreed:
        plan.agreed[key] = result.agreed
    if result.changed:
        plan.operations.append(Operation("update", key, page["id"], result.writes, result.before, position))
    else:
        plan.unchanged += 1


def _finding(key: str, page_id: str, d: Drift, editor: str | None) -> DriftFinding:
    return DriftFinding(key, page_id, d.property, d.synced, d.live, d.desired, d.action, editor)
