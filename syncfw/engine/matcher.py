"""Secondary and aggregating mappings: which page each of their records matches.

A per-record secondary mapping's records *match* a page by a property value (such as a
normalised domain), or through another secondary mapping (``via``); the match is remembered in
the state store so that it survives a rename of the matched property. An aggregating mapping's
records are members of the page they match, and the page gets the aggregate of its members
(count, sum, min, max, latest).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from syncfw.connector import Record
from syncfw.engine.desired import DesiredValues
from syncfw.engine.pages import PagesInPlay
from syncfw.engine.reads import Reading
from syncfw.engine.scope import Scope, batched
from syncfw.errors import RecordProblem
from syncfw.mapping import normalize
from syncfw.recipe import BoundMapping
from syncfw.state.lookups import StoredMatches, StoredMembers
from syncfw.state.written import digest_key, index_key


class _PageOf:
    """``get(record key)`` → the page an aggregating mapping's record is on (for :meth:`Matcher.find_page`)."""

    def __init__(self, members: StoredMembers) -> None:
        self.members = members

    def get(self, key: str) -> str | None:
        return self.members.page_of(key)


class Matcher:
    """Matches the records of secondary and aggregating mappings to pages in play."""

    def __init__(self, scope: Scope, pages: PagesInPlay, desired: DesiredValues) -> None:
        self.scope = scope
        self.pages = pages
        self.desired = desired
        self.match_maps: dict[str, StoredMatches] = {}

    def index(self, prop: str) -> dict[Any, list[str]]:
        """Value of ``prop`` → the keys of the pages in play holding it (desired, else live, which
        is what syncfw last wrote for a page not read: a value, or a digest found by
        :func:`~syncfw.state.written.digest_key` of the value)."""
        index: dict[Any, list[str]] = {}
        desired = self.desired.desired
        for keys in self.pages.batches():
            for key in keys:
                if key in self.desired.archives:
                    continue  # its record was deleted at the source: no record matches it any more
                if prop == self.scope.key_prop:
                    value: Any = key
                elif prop in desired.get(key, {}):
                    value = desired[key][prop]
                elif self.pages.in_notion(key):
                    value = self.pages.values(key).get(prop)
                else:
                    continue
                if value in (None, "", ()):
                    continue
                index.setdefault(index_key(value), []).append(key)
        return index

    def find_page(
        self,
        mapping: BoundMapping,
        read: Reading,
        record: Record,
        known: StoredMatches | _PageOf,
        index: dict[Any, list[str]],
    ) -> str | None:
        compiled = self.scope.compiled[mapping.name]
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
                matched = self.match_maps[via] = StoredMatches(self.scope.store, self.scope.target.name, via)
            page_key = matched.get(str(value)) if value not in (None, "") else None
            if page_key is not None and self.pages.reachable(page_key):
                return page_key
            self._unmatched(
                read,
                record,
                f"matches no page through {via} (key {value!r})"
                if value not in (None, "")
                else f"has no {mapping.match.field or 'match value'} to match a page through {via}",
            )
            return None
        found = [*index.get(value, []), *index.get(digest_key(value), [])] if value not in (None, "") else []
        if len(found) == 1:
            return found[0]
        previous = known.get(record.key)
        if previous is not None and self.pages.reachable(previous):
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

    def _unmatched(self, read: Reading, record: Record, reason: str) -> None:
        self.scope.notes.unmatched.append(
            {"source": read.source, "stream": read.stream, "key": record.key, "reason": reason}
        )

    def still_unmatched(self, read: Reading, record: Record, matched: bool) -> None:
        """Keep a record that matched no page so that later runs retry it (a page may appear, or
        stop being ambiguous, without the record changing); forget it once it matched or is gone."""
        kept = self.scope.learnt.unmatched
        if not matched:
            kept.setdefault(read.mapping, {})[record.key] = dict(record.data)
        elif record.key in read.read.unmatched_keys:
            kept.setdefault(read.mapping, {})[record.key] = None

    def secondary(self, mapping: BoundMapping, read: Reading) -> None:
        """Take in a per-record secondary mapping: each record's values go to the page it matches."""
        assert mapping.match is not None
        scope = self.scope
        changes = scope.learnt.matches.setdefault(mapping.name, {})
        known = StoredMatches(scope.store, scope.target.name, mapping.name, changes)
        index = self.index(mapping.match.property) if mapping.match.property else {}
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
                values = self.desired.evaluate(read, record)
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
            scope.state.load(w[0] for w in wants)
            for page_key, values, position, record in wants:
                self.desired.offer(page_key, values, read, position, record)
        self.match_maps[mapping.name] = known

    def aggregating(self, mapping: BoundMapping, read: Reading) -> None:
        """Take in an aggregating mapping: each page matched gets the aggregate of its members
        (after a full read every page does, so that a page that lost all its records gets its zero)."""
        assert mapping.match is not None
        scope = self.scope
        compiled = scope.compiled[mapping.name]
        changes = scope.learnt.members.setdefault(mapping.name, {})
        members = StoredMembers(scope.store, scope.target.name, mapping.name, changes)
        index = self.index(mapping.match.property) if mapping.match.property else {}
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
                    scope.reject(read, record, None, str(exc))
                    continue
                if record.key in read.quarantined:
                    scope.learnt.released.add((mapping.name, record.key))
                changes[record.key] = member
                affected.add(page_key)
                origins.setdefault(page_key, []).append((mapping.name, position))
                records[position] = record
        batches: Iterable[list[str]] = self.pages.batches() if read.full else batched(sorted(affected))
        for keys in batches:
            scope.state.load(keys)
            by_page = members.by_page(keys)
            for page_key in keys:
                if not self.pages.reachable(page_key):
                    continue
                values, errors = compiled.aggregate(by_page.get(page_key, []))
                for err in errors:
                    scope.notes.problems.append(
                        RecordProblem(read.source, read.stream, f"page {page_key}", err.property, err.reason)
                    )
                normalized = {n: normalize(scope.types[n], v) for n, v in values.items()}
                if self.desired.settled(page_key, normalized):
                    continue
                self.desired.want(page_key, normalized, None)
                behind = origins.get(page_key, [])
                self.desired.sources[page_key] = (*self.desired.sources.get(page_key, ()), *behind)
                for _, position in behind:
                    read.keep(position, records[position])
