"""The pages a plan creates, kept on disk rather than in memory.

A first import plans one create per record; holding each create's desired values and the record
behind it in memory made a plan of 1,000,000 records 1.4 GiB, and the run that carried it out
twice that. :class:`CreateSpill` keeps them in a private temporary SQLite database (SQLite
deletes it when the connection closes: sqlite.org/inmemorydb.html, "Temporary Databases"), and
the planner, the applier, the report and run history read them back a batch at a time, so what a
run holds does not grow with the number of pages it creates.
"""

from __future__ import annotations

import pickle
import sqlite3
import threading
import weakref
from collections.abc import Iterator, MutableMapping
from typing import Any, Literal

from syncfw.connector import Record

PAGE = 2_000
"""Rows read back at once."""
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
