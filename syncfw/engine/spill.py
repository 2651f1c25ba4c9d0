"""The pages a plan creates, and whatever else planning holds per page, kept on disk rather than
in memory.

A first import plans one create per record; holding each create's desired values and the record
behind it in memory made a plan of 1,000,000 records 1.4 GiB, and the run that carried it out
twice that. :class:`CreateSpill` keeps them in a private temporary SQLite database (SQLite
deletes it when the connection closes: sqlite.org/inmemorydb.html, "Temporary Databases"), and
the planner, the applier, the report and run history read them back a batch at a time, so what a
run holds does not grow with the number of pages it creates.

:class:`SpillDict` does the same for what planning holds per page in play: the pages a read
returned, the desired values of pages in Notion and the values an adoption agrees on. Adopting
1,000,000 pages people imported before syncfw puts every one of them in play.
"""

from __future__ import annotations

import pickle
import sqlite3
import threading
import weakref
from collections.abc import ItemsView, Iterator, MutableMapping
from typing import Any, Generic, Literal, TypeVar, cast

from syncfw.connector import Record

PAGE = 2_000
"""Rows read back at once."""
SPILL_KEYS = 10_000
"""Entries a :class:`SpillDict` keeps in memory; one more and all of them move to disk."""
K = TypeVar("K", str, int)
V = TypeVar("V")
Origins = tuple[tuple[str, int], ...]
CreateRow = tuple[str, dict[str, Any], Origins, "str | None"]
"""(sync key, desired values, (mapping, position) of the records behind it, page id once made)."""

_SCHEMA = """
PRAGMA journal_mode = OFF;
PRAGMA synchronous = OFF;
CREATE TABLE creates (
    key TEXT PRIMARY KEY,
    first INTEGER NOT NULL,
    spec BLOB NOT NULL,
    page_id TEXT
) WITHOUT ROWID;
CREATE INDEX creates_first ON creates (first, key);
CREATE TABLE records (
    mapping TEXT NOT NULL,
    position INTEGER NOT NULL,
    record BLOB NOT NULL,
    PRIMARY KEY (mapping, position)
) WITHOUT ROWID;
"""


def _first(origins: Origins) -> int:
    """The position the applier orders a write by when it is capped: its first record's."""
    return min((position for _, position in origins), default=-1)


class CreateSpill:
    """Sync key → the create of one page: its desired values, the (mapping, position) of the
    records behind it, those records, and its page id once made. Thread-safe (the applier's
    threads note page ids). The database is a private temporary file, deleted on :meth:`close`
    or when the spill is garbage-collected; its rows are values syncfw pickled itself."""

    def __init__(self) -> None:
        self._db = sqlite3.connect("", check_same_thread=False, isolation_level=None)
        self._db.executescript(_SCHEMA)
        self._lock = threading.Lock()
        self._count = 0
        self._close = weakref.finalize(self, self._db.close)

    def close(self) -> None:
        """Drop the database (its file goes with it)."""
        self._close()

    def __len__(self) -> int:
        return self._count

    def __contains__(self, key: object) -> bool:
        if not self._count:  # a re-plan's pages are in Notion: no lookup per record
            return False
        with self._lock:
            found = self._db.execute("SELECT 1 FROM creates WHERE key = ?", (key,)).fetchone()
        return found is not None

    def _spec(self, key: str) -> tuple[dict[str, Any], Origins] | None:
        if not self._count:
            return None
        row = self._db.execute("SELECT spec FROM creates WHERE key = ?", (key,)).fetchone()
        return None if row is None else pickle.loads(row[0])

    def get(self, key: str, part: Literal["values", "origins"]) -> Any:
        """The desired values (a dict) or the origins (a tuple) of the create ``key``; None when the
        plan does not create it."""
        with self._lock:
            spec = self._spec(key)
        return None if spec is None else spec[0 if part == "values" else 1]

    def put(self, key: str, values: dict[str, Any] | None = None, origins: Origins | None = None) -> None:
        """Replace the desired values and/or the origins of the create ``key`` (added if new)."""
        with self._lock:
            old = self._spec(key)
            if old is None:
                self._count += 1
                old = ({}, ())
            spec = (old[0] if values is None else values, old[1] if origins is None else origins)
            self._db.execute(
                "INSERT OR REPLACE INTO creates (key, first, spec) VALUES (?, ?, ?)",
                (key, _first(spec[1]), pickle.dumps(spec, pickle.HIGHEST_PROTOCOL)),
            )

    def merge(self, key: str, values: dict[str, Any], origins: Origins) -> None:
        """Add ``values`` to the desired values of the create ``key`` (added if new) and
        ``origins`` to the records behind it."""
        with self._lock:
            old = self._spec(key)
            if old is None:
                self._count += 1
                old = ({}, ())
            spec = ({**old[0], **values}, old[1] + origins)
            self._db.execute(
                "INSERT OR REPLACE INTO creates (key, first, spec) VALUES (?, ?, ?)",
                (key, _first(spec[1]), pickle.dumps(spec, pickle.HIGHEST_PROTOCOL)),
            )

    def keep(self, mapping: str, position: int, record: Record) -> None:
        """Keep the record read at ``position`` of ``mapping`` (a create's write may quarantine it)."""
        blob = pickle.dumps(record, pickle.HIGHEST_PROTOCOL)
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO records VALUES (?, ?, ?)", (mapping, position, blob))

    def forget(self, mapping: str, position: int) -> bool:
        """Delete the record at ``position`` of ``mapping`` (its write is settled); False if none."""
        with self._lock:
            return bool(
                self._db.execute(
                    "DELETE FROM records WHERE mapping = ? AND position = ?", (mapping, position)
                ).rowcount
            )

    def positions(self, mapping: str) -> Iterator[int]:
        """The positions of the records of ``mapping`` kept, in order, a page at a time."""
        last = -1
        while True:
            with self._lock:
                page = [
                    p
                    for (p,) in self._db.execute(
                        "SELECT position FROM records WHERE mapping = ? AND position > ? ORDER BY position LIMIT ?",
                        (mapping, last, PAGE),
                    )
                ]
            yield from page
            if len(page) < PAGE:
                return
            last = page[-1]

    def kept(self, mapping: str) -> int:
        with self._lock:
            return int(
                self._db.execute("SELECT count(*) FROM records WHERE mapping = ?", (mapping,)).fetchone()[0]
            )

    def record(self, mapping: str, position: int) -> Record | None:
        with self._lock:
            row = self._db.execute(
                "SELECT record FROM records WHERE mapping = ? AND position = ?", (mapping, position)
            ).fetchone()
        return None if row is None else pickle.loads(row[0])

    def created(self, key: str, page_id: str) -> None:
        """Note the page id of the create ``key`` once Notion made it."""
        with self._lock:
            self._db.execute("UPDATE creates SET page_id = ? WHERE key = ?", (page_id, key))

    def key_pages(self) -> Iterator[list[str]]:
        """The sync keys, sorted, a page at a time (rows may be changed between pages)."""
        last = ""
        while True:
            with self._lock:
                page = [
                    k
                    for (k,) in self._db.execute(
                        "SELECT key FROM creates WHERE key > ? ORDER BY key LIMIT ?", (last, PAGE)
                    )
                ]
            if not page:
                return
            yield page
            last = page[-1]

    def rows(self, order: Literal["key", "first"] = "key") -> Iterator[CreateRow]:
        """Every create, by sync key or by its first record's position, read a page at a time."""
        after: tuple[int, str] = (-2, "")
        where = "key > ?" if order == "key" else "(first, key) > (?, ?)"
        sort = "key" if order == "key" else "first, key"
        while True:
            bound = (after[1],) if order == "key" else after
            with self._lock:
                page = self._db.execute(
                    f"SELECT key, first, spec, page_id FROM creates WHERE {where} ORDER BY {sort} LIMIT ?",
                    (*bound, PAGE),
                ).fetchall()
            for key, _, spec, page_id in page:
                values, origins = pickle.loads(spec)
                yield key, values, origins, page_id
            if len(page) < PAGE:
                return
            after = (page[-1][1], page[-1][0])


class SpilledRecords(MutableMapping[int, Record]):
    """Position → record of one mapping's read, for the writes not settled yet: those held in
    memory, and those kept on disk with the creates they are behind. Deleting a record (its
    write is settled) deletes it where it is kept."""

    def __init__(self, records: MutableMapping[int, Record], creates: CreateSpill, mapping: str) -> None:
        self.memory = records
        self.creates = creates
        self.mapping = mapping

    def __getitem__(self, position: int) -> Record:
        found = self.memory.get(position)
        if found is None:
            found = self.creates.record(self.mapping, position)
        if found is None:
            raise KeyError(position)
        return found

    def __setitem__(self, position: int, record: Record) -> None:
        self.memory[position] = record

    def __delitem__(self, position: int) -> None:
        if self.memory.pop(position, None) is None and not self.creates.forget(self.mapping, position):
            raise KeyError(position)

    def pop(self, position: int, *default: Any) -> Any:
        """Delete the record at ``position``; answer ``default`` (no record read back from disk)."""
        try:
            del self[position]
        except KeyError:
            if default:
                return default[0]
            raise
        return default[0] if default else None

    def __iter__(self) -> Iterator[int]:
        yield from self.memory
        yield from self.creates.positions(self.mapping)

    def __len__(self) -> int:
        return len(self.memory) + self.creates.kept(self.mapping)


class SpillDict(MutableMapping[K, V], Generic[K, V]):
    """Key (str or int) → value, in memory up to :data:`SPILL_KEYS` entries, then in a private
    temporary SQLite database like :class:`CreateSpill`'s (deleted on :meth:`close` or when the
    mapping is garbage-collected). Iteration is in key order, read back a page at a time (an
    entry changed behind the last key read is seen). A value is a copy once on disk: to change
    it, set it again. Not for concurrent use."""

    def __init__(self) -> None:
        self._memory: dict[K, V] = {}
        self._db: sqlite3.Connection | None = None
        self._count = 0
        self._close: weakref.finalize[Any, Any] | None = None

    @property
    def spilled(self) -> bool:
        """Whether the entries are on disk."""
        return self._db is not None

    def close(self) -> None:
        """Drop the entries (on disk: the database and its file)."""
        self._memory = {}
        if self._close is not None:
            self._close()
        self._db, self._count, self._close = None, 0, None

    def _spill(self) -> sqlite3.Connection:
        db = sqlite3.connect("", check_same_thread=False, isolation_level=None)
        db.executescript(
            "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;"
            "CREATE TABLE entries (key PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID;"
        )
        db.execute("BEGIN")
        db.executemany(
            "INSERT INTO entries VALUES (?, ?)",
            ((k, pickle.dumps(v, pickle.HIGHEST_PROTOCOL)) for k, v in self._memory.items()),
        )
        db.execute("COMMIT")
        self._db, self._count, self._memory = db, len(self._memory), {}
        self._close = weakref.finalize(self, db.close)
        return db

    def __len__(self) -> int:
        return len(self._memory) if self._db is None else self._count

    def __contains__(self, key: object) -> bool:
        if self._db is None:
            return key in self._memory
        return self._db.execute("SELECT 1 FROM entries WHERE key = ?", (key,)).fetchone() is not None

    def __getitem__(self, key: K) -> V:
        if self._db is None:
            return self._memory[key]
        row = self._db.execute("SELECT value FROM entries WHERE key = ?", (key,)).fetchone()
        if row is None:
            raise KeyError(key)
        return cast(V, pickle.loads(row[0]))

    def __setitem__(self, key: K, value: V) -> None:
        db = self._db
        if db is None:
            self._memory[key] = value
            if len(self._memory) > SPILL_KEYS:
                self._spill()
            return
        blob = pickle.dumps(value, pickle.HIGHEST_PROTOCOL)
        if db.execute("INSERT OR IGNORE INTO entries VALUES (?, ?)", (key, blob)).rowcount:
            self._count += 1
        else:
            db.execute("UPDATE entries SET value = ? WHERE key = ?", (blob, key))

    def __delitem__(self, key: K) -> None:
        if self._db is None:
            del self._memory[key]
        elif self._db.execute("DELETE FROM entries WHERE key = ?", (key,)).rowcount:
            self._count -= 1
        else:
            raise KeyError(key)

    def pop(self, key: K, *default: Any) -> Any:
        """Remove ``key`` and answer its value (``default`` if given and ``key`` is absent)."""
        if self._db is None:
            return self._memory.pop(key, *default)
        row = self._db.execute("DELETE FROM entries WHERE key = ? RETURNING value", (key,)).fetchall()
        if row:
            self._count -= 1
            return pickle.loads(row[0][0])
        if default:
            return default[0]
        raise KeyError(key)

    def __iter__(self) -> Iterator[K]:
        return (key for key, _ in self.rows(values=False))

    def items(self) -> ItemsView[K, V]:
        """The entries in key order, each value read back with its key (not looked up apart)."""
        return cast(ItemsView[K, V], _Items(self))

    def rows(self, values: bool = True) -> Iterator[tuple[K, Any]]:
        """(key, value) in key order (the value None unless ``values``), a page at a time."""
        last: K | None = None
        while self._db is None:
            for key in sorted(k for k in self._memory if last is None or k > last):
                if self._db is not None:
                    break  # spilled meanwhile: go on from disk
                if key in self._memory:
                    last = key
                    yield key, self._memory[key] if values else None
            else:
                return
        column = "value" if values else "NULL"
        while self._db is not None:
            bound: tuple[K, ...] = () if last is None else (last,)
            where = "WHERE key > ?" if bound else ""
            page = self._db.execute(
                f"SELECT key, {column} FROM entries {where} ORDER BY key LIMIT ?", (*bound, PAGE)
            ).fetchall()
            for key, blob in page:
                yield key, pickle.loads(blob) if values else None
            if len(page) < PAGE:
                return
            last = page[-1][0]


class _Items(ItemsView[Any, Any]):
    """The entries of a :class:`SpillDict`, read back a page at a time."""

    def __init__(self, spill: SpillDict[Any, Any]) -> None:
        super().__init__(spill)
        self.spill = spill

    def __iter__(self) -> Iterator[tuple[Any, Any]]:
        return self.spill.rows()
