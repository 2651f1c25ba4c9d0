"""Batched lookups of a target's state while it is planned, in bounded memory.

Planning meets keys a batch at a time; these read the state of a whole batch in a few queries
(the store's ``*_for`` methods) and keep at most :data:`CACHE_KEYS` keys (or
``limit``) before starting afresh, so memory does not grow with the size of a target.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from typing import Any, Generic, TypeVar

from syncfw.state import PageEntry, StateBackend
from syncfw.state.written import LastWritten, resolve, unkept

CACHE_KEYS = 16_000
"""Keys whose state a lookup keeps before it empties its cache."""
V = TypeVar("V")


class StateCache:
    """The store's identity, last written values (values or digests, :mod:`syncfw.state.written`)
    and relation keys of the keys in play.

    :meth:`load` reads a batch of keys in a few queries; a lookup of a key not loaded reads it
    alone. The cache is emptied when it grows past ``limit`` keys, so memory stays bounded.
    """

    def __init__(self, store: StateBackend, target: str, limit: int = CACHE_KEYS) -> None:
        self.store = store
        self.target = target
        self.limit = limit
        self._loaded: set[str] = set()
        self._entries: dict[str, PageEntry] = {}
        self._written: dict[str, LastWritten] = {}
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
        self._written.update(self.store.last_written_for(self.target, wanted))
        self._relations.update(self.store.relation_keys_for(self.target, wanted))
        self._loaded.update(wanted)

    def entry(self, key: str) -> PageEntry | None:
        if key not in self._loaded:
            self.load([key])
        return self._entries.get(key)

    def last_written(self, key: str) -> LastWritten | None:
        """What syncfw last wrote on the page of ``key`` (None: never written)."""
        if key not in self._loaded:
            self.load([key])
        return self._written.get(key)

    def resolve(
        self, key: str, values: Mapping[str, Any], known: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """``values`` of the page of ``key`` with each digest replaced by its value, from
        ``known`` (values the caller knows, e.g. the sync key's) or the journal; a property whose
        value neither holds is left out."""
        if not unkept(values):
            return dict(values)
        return resolve(values, itertools.chain([known or {}], self.store.journaled_values(self.target, key)))

    def relations(self, key: str) -> dict[str, tuple[str, ...]]:
        if key not in self._loaded:
            self.load([key])
        return self._relations.get(key, {})


class StoredRecords(Generic[V]):
    """Per-record state of one mapping (record key → value), looked up in the store per key (a
    batch at a time with :meth:`load`), with this plan's ``changes`` over it (a change to None:
    removed). Memory: the changes and a few batches."""

    def __init__(self, store: StateBackend, target: str, mapping: str, changes: dict[str, V | None]) -> None:
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
        if len(self._cache) + len(wanted) > CACHE_KEYS:
            self._cache.clear()
        found = self._fetch(wanted)
        self._cache.update((k, found.get(k)) for k in wanted)

    def get(self, key: str) -> V | None:
        if key in self.changes:
            return self.changes[key]
        if key not in self._cache:
            self.load([key])
        return self._cache.get(key)


class StoredMatches(StoredRecords[str]):
    """How a secondary mapping's records matched pages: record key → page sync key."""

    def __init__(
        self, store: StateBackend, target: str, mapping: str, changes: dict[str, str | None] | None = None
    ) -> None:
        super().__init__(store, target, mapping, {} if changes is None else changes)

    def _fetch(self, keys: list[str]) -> Mapping[str, str]:
        return self.store.matches_for(self.target, self.mapping, keys)


class StoredMembers(StoredRecords[tuple[str, dict[str, Any]]]):
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


class RelatedPages:
    """Identity lookups in related targets (for relation properties), cached up to a bound."""

    def __init__(self, store: StateBackend, limit: int = 50_000) -> None:
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
