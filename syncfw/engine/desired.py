"""The desired values (S) of the pages in play: what the records want of each page.

The primary mapping's records decide which pages exist (created, restored or archived); every
mapping's records contribute values. A page whose desired values equal what syncfw last wrote,
and that Notion still holds as syncfw left it, is settled on the spot and not kept.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, MutableMapping
from typing import Any, Literal

from syncfw.connector import Record
from syncfw.engine.model import MARK_VALUES
from syncfw.engine.pages import PagesInPlay
from syncfw.engine.reads import Reading
from syncfw.engine.scope import MISSING, Scope, batched
from syncfw.engine.spill import CreateSpill, SpillDict
from syncfw.mapping import encode, normalize
from syncfw.recipe import BoundMapping


class ByKey(MutableMapping[str, Any]):
    """Sync key → one part of the pages' desired values (``values`` or ``origins``): for the
    pages this plan creates, on disk (``creates``); for the others, in ``memory`` (on disk too
    past :data:`~syncfw.engine.spill.SPILL_KEYS` pages, as in an adoption). Deleting is for the
    pages not created only."""

    def __init__(self, creates: CreateSpill, part: Literal["values", "origins"]) -> None:
        self.memory: SpillDict[str, Any] = SpillDict()
        self.creates = creates
        self.part = part

    def __getitem__(self, key: str) -> Any:
        if key in self.memory:
            return self.memory[key]
        found = self.creates.get(key, self.part)
        if found is None:
            raise KeyError(key)
        return found

    def __contains__(self, key: object) -> bool:
        return key in self.memory or key in self.creates

    def __setitem__(self, key: str, value: Any) -> None:
        if key in self.creates:
            self.creates.put(key, **{self.part: value})
        else:
            self.memory[key] = value

    def __delitem__(self, key: str) -> None:
        del self.memory[key]

    def pop(self, key: str, *default: Any) -> Any:
        found = self.memory.pop(key, MISSING)  # one lookup, not three, when on disk
        return super().pop(key, *default) if found is MISSING else found

    def __iter__(self) -> Iterator[str]:
        yield from self.memory
        for keys in self.creates.key_pages():
            yield from keys

    def __len__(self) -> int:
        return len(self.memory) + len(self.creates)


class DesiredValues:
    """Desired values by page key, and the records behind them; those of the pages this plan
    creates are kept on disk with the creates (``pages.creates``), with the primary records
    behind them.

    Attributes:
        desired: sync key → property → canonical desired value.
        sources: sync key → (mapping, position) of every record behind its desired values.
        archives: sync key → (mapping, position) of the primary record deleted at the source.
        kept: mapping → position → record, for the records behind the desired values of pages in
            Notion (the plan keeps those behind its writes: :meth:`kept_record`).
    """

    def __init__(self, scope: Scope, pages: PagesInPlay) -> None:
        self.scope = scope
        self.pages = pages
        self.desired = ByKey(pages.creates, "values")
        self.sources = ByKey(pages.creates, "origins")
        self.archives: dict[str, tuple[str, int]] = {}
        self.kept: dict[str, SpillDict[int, Record]] = {}

    def want(self, key: str, values: dict[str, Any], origin: tuple[str, int] | None) -> None:
        """Note desired values of the page ``key`` (``values`` is the caller's to give away)."""
        if key in self.pages.creates:
            self.pages.creates.merge(key, values, () if origin is None else (origin,))
            return
        current = self.desired.memory.get(key)
        self.desired.memory[key] = values if current is None else {**current, **values}
        if origin is not None:  # a tuple, not a list: it becomes the operation's ``records`` as it is
            self.sources.memory[key] = (*self.sources.memory.get(key, ()), origin)

    def settled(self, key: str, values: Mapping[str, Any]) -> bool:
        """True when ``values`` for the page of ``key`` need no write and nothing else is pending
        for it: the page is in Notion as syncfw left it, and syncfw last wrote exactly these."""
        pages = self.pages
        if key in self.desired or key in pages.live or key in pages.creates or key in pages.restores:
            return False
        if not pages.in_notion(key):
            return False
        state = self.scope.state
        last = state.last_written(key)
        if last is None or any(last.get(n, MISSING) != v for n, v in values.items()):
            return False
        relation_keys = self.scope.learnt.relation_keys
        new_relations = relation_keys.get(key)
        if new_relations is not None:
            if any(state.relations(key).get(p) != v for p, v in new_relations.items()):
                return False
            del relation_keys[key]
        return True

    def offer(self, key: str, values: dict[str, Any], read: Reading, position: int, record: Record) -> None:
        """What one record wants of the page ``key``: kept unless it is already so."""
        if self.settled(key, values):
            return
        self.want(key, values, (read.mapping, position))
        if read.keep_records:
            self.kept.setdefault(read.mapping, SpillDict())[position] = record

    def kept_record(self, mapping: str, position: int) -> Record | None:
        """The record :meth:`offer` kept at ``position`` of ``mapping``, if any."""
        kept = self.kept.get(mapping)
        return None if kept is None else kept.get(position)

    def evaluate(self, read: Reading, record: Record) -> dict[str, Any] | None:
        """The canonical values ``record`` gives its mapping's properties (relation keys are noted
        apart), or None when it cannot be synced (it is quarantined)."""
        scope = self.scope
        values, errors = scope.compiled[read.mapping].evaluate(record.data)
        if errors:
            for err in errors:
                scope.reject(read, record, err.property, err.reason)
            return None
        if record.key in read.quarantined:
            scope.learnt.released.add((read.mapping, record.key))
        out: dict[str, Any] = {}
        related: dict[str, tuple[str, ...]] = {}
        for name, value in values.items():
            prop_type = scope.types[name]
            if prop_type == "relation":
                related[name] = tuple(str(k) for k in value or ())
                continue
            for warning in encode(prop_type, value)[1]:
                scope.notes.warnings.append(
                    f"{read.source}/{read.stream} key {record.key} property {name!r}: {warning}"
                )
            out[name] = normalize(prop_type, value)
        if related:  # set again, not changed in place: on disk past SPILL_KEYS records
            relation_keys = scope.learnt.relation_keys
            relation_keys[record.key] = {**relation_keys.get(record.key, {}), **related}
        return out

    def primary(self, mapping: BoundMapping, read: Reading) -> None:
        """Take in the primary mapping's records: the pages to create, restore, archive or write."""
        scope, pages = self.scope, self.pages
        live_records = 0
        mark = scope.target.mark_property if scope.target.on_delete == "mark" and scope.mark_type else None
        for batch in batched(read):
            scope.state.load(record.key for _, record in batch)
            for position, record in batch:
                key = record.key
                pages.strays.pop(key, None)
                if record.deleted:
                    self.archives[key] = (mapping.name, position)
                    read.keep(position, record)
                    continue
                live_records += 1
                values = self.evaluate(read, record)
                if values is None:
                    continue
                if mark and scope.mark_type:
                    values[mark] = MARK_VALUES[scope.mark_type][1]
                if pages.in_notion(key):
                    self.offer(key, values, read, position, record)
                    continue
                entry = scope.state.entry(key)
                if entry is not None and entry.archived and entry.created_by_syncfw:
                    pages.restores.add(key)
                elif entry is not None and not entry.archived:
                    # syncfw made a page for this key and Notion no longer shows it: someone deleted
                    # it. Creating it again could duplicate it, so a person decides.
                    scope.notes.warnings.append(
                        f"{scope.key_prop} {key}: its page {entry.page_id} is no longer in Notion (deleted or "
                        "in trash); restore it from Notion's trash, or run with --full-refresh after "
                        "emptying it there to create a new one"
                    )
                    continue
                else:
                    pages.creates.merge(key, values, ((mapping.name, position),))
                    if read.keep_records:
                        pages.creates.keep(mapping.name, position, record)
                    continue
                self.want(key, values, (mapping.name, position))
                read.keep(position, record)
        pages.note_strays(read.full)
        if read.full and live_records == 0 and scope.has_pages and self.archives:
            scope.notes.warnings.append(
                f"{read.source}/{read.stream} returned no records on a full read: nothing is archived "
                "after an empty read"
            )
            self.archives.clear()
