"""The pages in play: what the Notion read returned, what the state store knows, and the pages
this plan brings into Notion (creates and restores)."""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from more_itertools import unique_justseen

from syncfw.engine.scope import BATCH, Scope, batched
from syncfw.engine.spill import CreateSpill, SpillDict
from syncfw.mapping import decode, normalize
from syncfw.notion.client import page_number
from syncfw.state import PageEntry

MISSING_LOOKUPS = 50
"""Pages syncfw made that a full read did not return, looked up one by one (at most this many)."""


@dataclass(slots=True)
class LivePage:
    """A page the Notion read returned, decoded: its id, owned values and last editor."""

    id: str
    values: dict[str, Any]
    editor: dict[str, Any]


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


def match_values(page: Mapping[str, Any], matched_on: Mapping[str, str]) -> dict[str, Any]:
    """The values of properties people keep that records are matched by (an update target),
    property name → value compared as its match's type; None when absent or not comparable."""
    props = page.get("properties", {})
    values: dict[str, Any] = {}
    for name, match_type in matched_on.items():
        raw = props.get(name)
        try:
            values[name] = None if raw is None else normalize(match_type, decode(str(raw.get("type")), raw))
        except ValueError:
            values[name] = None
    return values


class PagesInPlay:
    """The target's pages as this plan sees them.

    What it holds in memory grows with the changes, not with the target: the pages the Notion
    read returned that are not as syncfw left them (``live``), the keys the read returned
    (``seen``), and the keys this plan restores; the pages it creates are kept on disk
    (``creates``). A page syncfw knows whose owned values are what syncfw last wrote counts as "as
    syncfw left it", exactly like a page an incremental read did not return. Past
    :data:`~syncfw.engine.spill.SPILL_KEYS` pages, ``live``, ``seen`` and ``strays`` move to disk
    (:class:`~syncfw.engine.spill.SpillDict`): an adoption puts every page the read returns in
    ``live``.
    """

    def __init__(self, scope: Scope) -> None:
        self.scope = scope
        self.live: SpillDict[str, LivePage] = SpillDict()
        self.seen: SpillDict[str, bool] = SpillDict()
        """Every key the read returned → whether the state store knows another page (or none) for it."""
        self.copies: dict[str, int] = {}
        self.creates = CreateSpill()
        self.restores: set[str] = set()
        self.count = 0
        """Pages of the target in Notion (the mass-change guard's base)."""
        self.strays: SpillDict[str, str] = SpillDict()
        """While the state store knows no page: sync key → page id of the pages the read returned
        whose key no primary record has had yet (a key a person edited, or a page people made)."""

    def index(
        self, pages: Iterable[dict[str, Any]], retrieve: Callable[[str], dict[str, Any] | None]
    ) -> None:
        """Take in the pages the Notion read returns, a batch at a time.

        After a full read, or a read of the consistency read's slice, pages syncfw knows that the
        read did not return are looked up by id (``retrieve``, None when gone) so that a page the
        read missed is never created again.
        """
        scope = self.scope
        key_prop = scope.key_prop
        for chunk in batched(pages):
            keyed: list[tuple[str | None, dict[str, Any]]] = []
            for page in chunk:
                raw = page.get("properties", {}).get(key_prop)
                if scope.update_only:  # people's pages: known by page id
                    key = page["id"]
                else:
                    key = decode(scope.types[key_prop], raw) if raw is not None else None
                keyed.append((str(key) if key not in (None, "") else None, page))
            scope.state.load(k for k, _ in keyed if k is not None)
            for key, page in self._identify(keyed):
                self._add_live(key, page)
        if scope.complete or scope.covered:
            missing = (
                e
                for entries in self._read_back()
                for e in entries
                if not e.archived and (e.sync_key not in self.seen or self.foreign(e.sync_key))
            )
            for gone in itertools.islice(missing, MISSING_LOOKUPS):
                found = retrieve(gone.page_id)
                if found is not None and not found.get("in_trash"):
                    self._add_live(gone.sync_key, found)
        for key, n in sorted(self.copies.items()):
            scope.notes.warnings.append(
                f"{n} pages in Notion carry {key_prop} = {key!r}; syncfw keeps writing the one it "
                "knows and leaves the others alone"
            )
        if scope.complete:
            self.count = len(self.seen)
            if not scope.has_pages:
                for key, live in self.live.items():
                    if self.foreign(key):
                        self.strays[key] = live.id
        else:
            unknown = 0
            for key in self.seen:  # an incremental read: the changes
                known = scope.state.entry(key)
                unknown += known is None or known.archived
            self.count = scope.store.page_count(scope.target.name, archived=False) + unknown

    def _read_back(self) -> Iterator[list[PageEntry]]:
        """The state's entries of the pages this read covers whatever their edit time: every page
        (a complete read), or the consistency read's slice."""
        scope = self.scope
        if scope.complete:
            yield from scope.store.iter_pages(scope.target.name)
            return
        for chunk in batched(sorted(scope.covered)):
            found = scope.store.pages_for(scope.target.name, chunk)
            yield [found[key] for key in chunk if key in found]

    def _identify(
        self, keyed: list[tuple[str | None, dict[str, Any]]]
    ) -> Iterator[tuple[str, dict[str, Any]]]:
        """The key each page of a batch stands for: the one the state store knows its page id by
        when a person emptied or edited its sync key (the edit is then drift on that key, and the
        key it carries now is never adopted), else the key it carries. Pages with no key that
        the store does not know are left out (counted as unidentified when the store knows no page).
        """
        scope = self.scope
        unsure = [
            page["id"]
            for key, page in keyed
            if key is None or (entry := scope.state.entry(key)) is None or entry.page_id != page["id"]
        ]
        known = scope.store.pages_by_id(scope.target.name, unsure) if unsure and scope.has_pages else {}
        for key, page in keyed:
            entry = known.get(page["id"])
            if entry is not None:
                yield entry.sync_key, page
            elif key is not None:
                yield key, page
            elif not scope.has_pages and any(
                v not in (None, "", (), False)
                for name, v in live_values(page, scope.types).items()
                if name != scope.key_prop
            ):
                scope.notes.note_unidentified(f"page {page['id']} (no {scope.key_prop})")

    def _add_live(self, key: str, page: dict[str, Any]) -> None:
        entry = self.scope.state.entry(key)
        known = entry is not None and entry.page_id == page["id"]
        if key in self.seen:
            self.copies[key] = self.copies.get(key, 1) + 1
            if not known or not self.foreign(key):
                return
        self.seen[key] = not known
        number = page_number(page)
        if number is not None and (entry is None or entry.number != number):
            self.scope.learnt.numbers[key] = (page["id"], number)
        values = live_values(page, self.scope.types)
        values.update(match_values(page, self.scope.matched_on))  # never as syncfw left it: kept
        if known:
            assert entry is not None
            last = self.scope.state.last_written(key)
            if not entry.archived and last is not None and all(last.get(n) == v for n, v in values.items()):
                self.live.pop(key, None)  # as syncfw left it
                return
        self.live[key] = LivePage(page["id"], values, page.get("last_edited_by") or {})

    def foreign(self, key: str) -> bool:
        """Whether the read returned a page for ``key`` that the state store does not know by it."""
        return self.seen.get(key, False)

    def note_strays(self, full: bool) -> None:
        """After the primary read: the pages whose key no record had are unidentified (full read)."""
        if full:
            for key, page_id in self.strays.items():
                self.scope.notes.note_unidentified(f"{key!r} (page {page_id})")
        self.strays.close()

    def in_notion(self, key: str) -> bool:
        """Whether Notion holds a page for ``key`` (read this run, or known and not read)."""
        if key in self.live:
            return True
        if self.scope.complete or key in self.scope.covered:
            return key in self.seen
        entry = self.scope.state.entry(key)
        return entry is not None and not entry.archived

    def reachable(self, key: str) -> bool:
        """A page a secondary record may match: in Notion, or created (or restored) by this plan."""
        return key in self.creates or key in self.restores or self.in_notion(key)

    def page_id(self, key: str) -> str:
        page = self.live.get(key)
        if page is not None:
            return page.id
        entry = self.scope.state.entry(key)
        assert entry is not None
        return entry.page_id

    def values(self, key: str) -> dict[str, Any]:
        """The live values (N) of the page ``key``: as read, or as syncfw last wrote them."""
        page = self.live.get(key)
        if page is not None:
            return page.values
        if not self.in_notion(key):
            return {}
        last = self.scope.state.last_written(key) or {}  # not edited since the last read: as syncfw wrote it
        return {name: last.get(name) for name in self.scope.types}

    def batches(self) -> Iterator[list[str]]:
        """Every page key in play, in batches: the pages in Notion, and those this plan creates or
        restores. The state of each batch is loaded."""
        scope = self.scope
        for entries in scope.store.iter_pages(scope.target.name, BATCH):
            scope.state.load(e.sync_key for e in entries)
            keys = [e.sync_key for e in entries if not e.archived and self.in_notion(e.sync_key)]
            if keys:
                yield keys
        creates = itertools.chain.from_iterable(self.creates.key_pages())  # no page: no entry either
        extra = self._unknown(unique_justseen(heapq.merge(self.live, sorted(self.restores))))
        for chunk in batched(heapq.merge(extra, creates)):
            scope.state.load(chunk)
            yield chunk

    def _unknown(self, keys: Iterable[str]) -> Iterator[str]:
        """Those of ``keys`` (sorted) the state store knows no page in Notion for."""
        scope = self.scope
        for chunk in batched(keys):
            scope.state.load(chunk)
            for key in chunk:
                entry = scope.state.entry(key)
                if entry is None or entry.archived:
                    yield key
