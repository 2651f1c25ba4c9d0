"""The emulated workspace's state: in memory for speed, written through to SQLite.

Every object (users, databases, data sources, pages) lives in dictionaries, with pages also
indexed by data source in creation order, so a query touches only its data source's pages, and
the last sort order of each data source kept until one of its pages or its schema changes, so
reading a large data source page by page sorts it once (:meth:`Store.ordered_pages`). Each
change is written to ``state_dir/notion.sqlite`` (or an in-memory SQLite database when no state
directory is given) when the operation's transaction ends, and everything is read back on start,
so an emulator restarted on the same directory sees the same workspace.

One re-entrant lock guards the state: operations run one at a time, which keeps them atomic
across the HTTP server's thread and callers of the Python API (``human_edit`` from a test).
Operations validate a request completely before they change anything, so a rejected request
leaves no trace.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .model import Database, DataSource, Page, User, data_source_from_json, data_source_to_json

_SCHEMA = """
CREATE TABLE IF NOT EXISTS objects (
    id   TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    seq  INTEGER NOT NULL,
    data TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""

Stored = User | Database | DataSource | Page


class Store:
    """All objects of one emulated workspace.

    Attributes:
        users, databases, data_sources, pages: objects by dashed id.
        pages_by_source: for each data source id, its pages (trashed ones included) in creation
            order.
        meta: small persistent settings (seeded ids), strings by key.
        lock: held by :meth:`transaction` and by readers.
    """

    def __init__(self, path: Path | None) -> None:
        self.lock = threading.RLock()
        self.users: dict[str, User] = {}
        self.databases: dict[str, Database] = {}
        self.data_sources: dict[str, DataSource] = {}
        self.pages: dict[str, Page] = {}
        self.pages_by_source: dict[str, dict[str, Page]] = {}
        self.meta: dict[str, str] = {}
        self._orders: dict[str, tuple[str, list[Page], dict[str, int]]] = {}
        self._dirty: dict[str, Stored] = {}
        self._dirty_meta: set[str] = set()
        self._seq = 0
        self._db = sqlite3.connect(str(path) if path else ":memory:", check_same_thread=False)
        if path:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        self._load()

    def _load(self) -> None:
        self.meta = dict(self._db.execute("SELECT key, value FROM meta"))
        self._seq = int(self.meta.get("seq", "0"))
        for kind, data in self._db.execute("SELECT kind, data FROM objects ORDER BY seq, rowid"):
            record = json.loads(data)
            if kind == "user":
                self._index(User(**record))
            elif kind == "database":
                self._index(Database(**record))
            elif kind == "data_source":
                self._index(data_source_from_json(record))
            else:
                self._index(Page(**record))

    def _index(self, obj: Stored) -> None:
        if isinstance(obj, User):
            self.users[obj.id] = obj
        elif isinstance(obj, Database):
            self.databases[obj.id] = obj
        elif isinstance(obj, DataSource):
            self.data_sources[obj.id] = obj
            self.pages_by_source.setdefault(obj.id, {})
            self._orders.pop(obj.id, None)
        else:
            self.pages[obj.id] = obj
            if obj.parent_type == "data_source" and obj.parent_id is not None:
                self.pages_by_source.setdefault(obj.parent_id, {})[obj.id] = obj
                self._orders.pop(obj.parent_id, None)

    def ordered_pages(
        self, source_id: str, order: str, key: Callable[[Page], Any]
    ) -> tuple[list[Page], dict[str, int]]:
        """The pages of a data source (trashed ones included) sorted by ``key``, and each page's
        position in that list by id.

        ``order`` names the sort (the same name must mean the same ``key``). The last order of
        each data source is kept until one of its pages or its schema changes.
        """
        kept = self._orders.get(source_id)
        if kept is None or kept[0] != order:
            ordered = sorted(self.pages_by_source[source_id].values(), key=key)
            kept = (order, ordered, {page.id: index for index, page in enumerate(ordered)})
            self._orders[source_id] = kept
        return kept[1], kept[2]

    def next_seq(self) -> int:
        """A new creation sequence number (orders objects of equal timestamps)."""
        self._seq += 1
        self.set_meta("seq", str(self._seq))
        return self._seq

    def put(self, obj: Stored) -> None:
        """Add or update an object; it is written when the transaction ends."""
        self._index(obj)
        self._dirty[obj.id] = obj

    def set_meta(self, key: str, value: str) -> None:
        """Set a persistent setting."""
        self.meta[key] = value
        self._dirty_meta.add(key)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Hold the lock for one operation and write what it changed when it ends."""
        with self.lock:
            try:
                yield
            except BaseException:
                self._dirty.clear()
                self._dirty_meta.clear()
                raise
            self._flush()

    def _flush(self) -> None:
        if not self._dirty and not self._dirty_meta:
            return
        # a generator: a bulk import's rows are serialised one at a time, not held all at once
        rows = ((obj.id, _kind(obj), _seq(obj), json.dumps(_record(obj))) for obj in self._dirty.values())
        with self._db:
            self._db.executemany(
                "INSERT INTO objects (id, kind, seq, data) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(id) DO UPDATE SET data = excluded.data",
                rows,
            )
            self._db.executemany(
                "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                [(key, self.meta[key]) for key in self._dirty_meta],
            )
        self._dirty.clear()
        self._dirty_meta.clear()

    def close(self) -> None:
        """Write anything pending and close the SQLite connection."""
        with self.lock:
            self._flush()
            self._db.close()


def _kind(obj: Stored) -> str:
    if isinstance(obj, User):
        return "user"
    if isinstance(obj, Database):
        return "database"
    if isinstance(obj, DataSource):
        return "data_source"
    return "page"


def _seq(obj: Stored) -> int:
    return 0 if isinstance(obj, User) else obj.seq


def _record(obj: Stored) -> dict[str, Any]:
    if isinstance(obj, DataSource):
        return data_source_to_json(obj)
    return dict(vars(obj))
