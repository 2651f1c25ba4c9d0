"""SQLite implementation of the state store, with ordered, versioned migrations."""

from __future__ import annotations

import json
import shutil
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from more_itertools import chunked

from syncfw.errors import StateError

# Each entry moves the schema one version forward; never edit a released entry, append a new one.
MIGRATIONS: list[str] = [
    """
    CREATE TABLE pages (
        target TEXT NOT NULL,
        sync_key TEXT NOT NULL,
        page_id TEXT NOT NULL,
        created_by_syncfw INTEGER NOT NULL,
        archived INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (target, sync_key)
    );
    CREATE INDEX pages_by_id ON pages (page_id);
    CREATE TABLE written (
        target TEXT NOT NULL,
        sync_key TEXT NOT NULL,
        property TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (target, sync_key, property)
    );
    CREATE TABLE cursors (
        target TEXT NOT NULL,
        source TEXT NOT NULL,
        stream TEXT NOT NULL,
        cursor TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (target, source, stream)
    );
    CREATE TABLE targets (
        target TEXT PRIMARY KEY,
        database_id TEXT,
        data_source_id TEXT NOT NULL
    );
    CREATE TABLE runs (
        run_id TEXT PRIMARY KEY,
        recipe TEXT NOT NULL,
        command TEXT NOT NULL,
        started_at TEXT NOT NULL,
        finished_at TEXT,
        status TEXT NOT NULL,
        exit_code INTEGER,
        summary TEXT,
        error TEXT
    );
    """,
    """
    CREATE TABLE matches (
        target TEXT NOT NULL,
        mapping TEXT NOT NULL,
        record_key TEXT NOT NULL,
        page_key TEXT NOT NULL,
        PRIMARY KEY (target, mapping, record_key)
    );
    CREATE TABLE members (
        target TEXT NOT NULL,
        mapping TEXT NOT NULL,
        record_key TEXT NOT NULL,
        page_key TEXT NOT NULL,
        data TEXT NOT NULL,
        PRIMARY KEY (target, mapping, record_key)
    );
    CREATE INDEX members_by_page ON members (target, mapping, page_key);
    CREATE TABLE relation_keys (
        target TEXT NOT NULL,
        sync_key TEXT NOT NULL,
        property TEXT NOT NULL,
        keys TEXT NOT NULL,
        PRIMARY KEY (target, sync_key, property)
    );
    """,
    """
    CREATE TABLE journal (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        run_id TEXT NOT NULL,
        target TEXT NOT NULL,
        action TEXT NOT NULL,
        sync_key TEXT NOT NULL,
        page_id TEXT,
        before TEXT NOT NULL,
        after TEXT NOT NULL,
        status TEXT NOT NULL,
        created_at TEXT NOT NULL,
        settled_at TEXT
    );
    CREATE INDEX journal_by_run ON journal (run_id);
    CREATE INDEX journal_open ON journal (status);
    CREATE TABLE quarantine (
        target TEXT NOT NULL,
        mapping TEXT NOT NULL,
        record_key TEXT NOT NULL,
        source TEXT NOT NULL,
        stream TEXT NOT NULL,
        property TEXT,
        reason TEXT NOT NULL,
        data TEXT NOT NULL,
        deleted INTEGER NOT NULL,
        first_seen TEXT NOT NULL,
        last_seen TEXT NOT NULL,
        attempts INTEGER NOT NULL,
        PRIMARY KEY (target, mapping, record_key)
    );
    """,
    """
    CREATE TABLE source_reads (
        target TEXT NOT NULL,
        source TEXT NOT NULL,
        stream TEXT NOT NULL,
        last_attempt TEXT NOT NULL,
        last_success TEXT,
        last_error TEXT,
        PRIMARY KEY (target, source, stream)
    );
    CREATE TABLE alerts (
        event TEXT NOT NULL,
        subject TEXT NOT NULL,
        state TEXT NOT NULL,
        since TEXT NOT NULL,
        PRIMARY KEY (event, subject)
    );
    CREATE TABLE settings (
        name TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    """,
    """
    CREATE TABLE unmatched (
        target TEXT NOT NULL,
        mapping TEXT NOT NULL,
        record_key TEXT NOT NULL,
        data TEXT NOT NULL,
        PRIMARY KEY (target, mapping, record_key)
    );
    """,
]


@dataclass(frozen=True)
class PageEntry:
    """The identity map entry of one sync key in one target."""

    target: str
    sync_key: str
    page_id: str
    created_by_syncfw: bool
    archived: bool


@dataclass(frozen=True)
class JournalEntry:
    """One write of a run: its intent (``open``), then its outcome (``applied``, ``absent`` when it
    did not happen, ``rolled_back``). ``before``/``after`` are canonical property values; for a
    ``cursor`` entry they are ``{"cursor": ...}`` and ``sync_key`` is ``source/stream``."""

    seq: int
    run_id: str
    target: str
    action: str
    sync_key: str
    page_id: str | None
    before: dict[str, Any]
    after: dict[str, Any]
    status: str
    created_at: str = ""


@dataclass(frozen=True)
class QuarantinedRecord:
    """A record that could not be synced, kept to be retried on later runs."""

    target: str
    mapping: str
    record_key: str
    source: str
    stream: str
    property: str | None
    reason: str
    data: dict[str, Any]
    deleted: bool
    first_seen: str
    last_seen: str
    attempts: int


@dataclass(frozen=True)
class RunRecord:
    """One run in the history (times are ISO 8601 UTC strings)."""

    run_id: str
    recipe: str
    command: str
    started_at: str
    finished_at: str | None
    status: str
    exit_code: int | None
    summary: dict[str, Any] | None
    error: str | None


def _dump(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _load_values(text: str) -> dict[str, Any]:
    return {k: tuple(v) if isinstance(v, list) else v for k, v in json.loads(text).items()}


def _load(text: str) -> Any:
    value = json.loads(text)
    return tuple(value) if isinstance(value, list) else value


class StateStore:
    """A recipe's state in one SQLite file. Safe to share between threads of one process.

    Raises:
        StateError: the file cannot be opened, migrated, read or written.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.RLock()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA busy_timeout=10000")
            self._migrate()
        except (sqlite3.Error, OSError) as exc:
            raise StateError(f"cannot open the state store {path}: {exc}") from exc

    @property
    def schema_version(self) -> int:
        return int(self._db.execute("PRAGMA user_version").fetchone()[0])

    def _migrate(self) -> None:
        version = self.schema_version
        if version > len(MIGRATIONS):
            raise StateError(
                f"the state store {self.path} was written by a newer syncfw (schema {version}); "
                "upgrade syncfw to use it"
            )
        for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
            self._db.executescript(f"BEGIN; {script}; PRAGMA user_version = {number}; COMMIT;")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """Group writes; everything inside commits together or not at all.

        Raises:
            StateError: the commit failed (the caller must stop: nothing more may be written).
        """
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise StateError(self._not_written(exc)) from exc
            try:
                yield Transaction(self._db)
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                self._rollback()
                raise StateError(self._not_written(exc)) from exc
            except BaseException:
                self._rollback()
                raise

    def _rollback(self) -> None:
        # SQLite rolls a transaction back by itself after SQLITE_FULL, SQLITE_IOERR, SQLITE_BUSY or
        # SQLITE_NOMEM (https://www.sqlite.org/lang_transaction.html, "Response To Errors Within A
        # Transaction"): a second ROLLBACK would fail and hide the error that ended it.
        if not self._db.in_transaction:
            return
        with suppress(sqlite3.Error):
            self._db.execute("ROLLBACK")

    def _not_written(self, exc: sqlite3.Error) -> str:
        """The one-line message of a failed write: what happened, that nothing is lost (intents are
        committed before each Notion write, cursors only after), and what to do."""
        cause, todo = self._write_failure(exc)
        return (
            f"the state store {self.path} could not be written: {cause}; nothing is lost: the next "
            f"run settles the writes this run made to Notion and goes on from there. {todo}"
        )

    def _write_failure(self, exc: sqlite3.Error) -> tuple[str, str]:
        """Why a write failed, and what to do. SQLite reports ENOSPC as SQLITE_FULL but a write
        refused for another reason (EFBIG past the file size limit, EIO, EDQUOT) as SQLITE_IOERR
        (https://www.sqlite.org/rescode.html), so an I/O error is checked against the free space
        and the process's file size limit (``ulimit -f``)."""
        code = getattr(exc, "sqlite_errorcode", 0) & 0xFF
        free = _free_space(self.path.parent)
        room = "Free some space" + (
            "" if free is None else f" ({free // 1024} KiB free in {self.path.parent})"
        )
        if code == sqlite3.SQLITE_FULL:
            return "disk full", f"{room} and run again."
        if code != sqlite3.SQLITE_IOERR:
            return str(exc), "Check the file and run again."
        limit = _file_size_limit()
        if limit is not None and self._largest_file() + _LARGEST_WRITE >= limit:
            return (
                f"disk full: a file of the state store reached the file size limit of this process "
                f"({limit // 1024} KiB, `ulimit -f`)",
                "Raise the limit (or move `state.path` elsewhere) and run again.",
            )
        if free is not None and free < _LARGEST_WRITE:
            return "disk full", f"{room} and run again."
        return f"{exc} (a write to the disk failed)", "Check the disk (`dmesg`) and run again."

    def _largest_file(self) -> int:
        sizes = [0]
        for suffix in ("", "-wal", "-journal"):
            with suppress(OSError):
                sizes.append(self.path.with_name(self.path.name + suffix).stat().st_size)
        return max(sizes)

    def _query(self, sql: str, params: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        with self._lock:
            try:
                cur = self._db.execute(sql, params)
                return list(cur.fetchall())
            except sqlite3.Error as exc:
                raise StateError(f"cannot read the state store {self.path}: {exc}") from exc

    def pages(self, target: str) -> dict[str, PageEntry]:
        """The identity map of ``target``: sync key → page entry."""
        rows = self._query(
            "SELECT sync_key, page_id, created_by_syncfw, archived FROM pages WHERE target = ?", (target,)
        )
        return {r[0]: PageEntry(target, r[0], r[1], bool(r[2]), bool(r[3])) for r in rows}

    def written(self, target: str) -> dict[str, dict[str, Any]]:
        """The last values syncfw wrote in ``target``: sync key → {property: canonical value}."""
        out: dict[str, dict[str, Any]] = {}
        for key, prop, value in self._query(
            "SELECT sync_key, property, value FROM written WHERE target = ?", (target,)
        ):
            out.setdefault(key, {})[prop] = _load(value)
        return out

    def pages_for(self, target: str, keys: Iterable[str]) -> dict[str, PageEntry]:
        """The identity map entries of ``keys`` in ``target`` (keys with no entry are absent)."""
        out: dict[str, PageEntry] = {}
        for chunk in _chunks(keys):
            rows = self._query(
                "SELECT sync_key, page_id, created_by_syncfw, archived FROM pages WHERE target = ? "
                f"AND sync_key IN ({_marks(chunk)})",
                (target, *chunk),
            )
            out.update((r[0], PageEntry(target, r[0], r[1], bool(r[2]), bool(r[3]))) for r in rows)
        return out

    def pages_by_id(self, target: str, page_ids: Iterable[str]) -> dict[str, PageEntry]:
        """The identity map entries of the Notion pages ``page_ids`` in ``target``: page id → entry
        (pages syncfw does not know are absent). This is how a page whose sync key a person
        emptied or edited is still known for the key syncfw gave it."""
        out: dict[str, PageEntry] = {}
        for chunk in _chunks(page_ids):
            rows = self._query(
                "SELECT sync_key, page_id, created_by_syncfw, archived FROM pages WHERE target = ? "
                f"AND page_id IN ({_marks(chunk)})",
                (target, *chunk),
            )
            out.update((r[1], PageEntry(target, r[0], r[1], bool(r[2]), bool(r[3]))) for r in rows)
        return out

    def written_for(self, target: str, keys: Iterable[str]) -> dict[str, dict[str, Any]]:
        """The last values syncfw wrote on the pages of ``keys`` (keys it never wrote are absent)."""
        out: dict[str, dict[str, Any]] = {}
        for chunk in _chunks(keys):
            for key, prop, value in self._query(
                "SELECT sync_key, property, value FROM written WHERE target = ? "
                f"AND sync_key IN ({_marks(chunk)})",
                (target, *chunk),
            ):
                out.setdefault(key, {})[prop] = _load(value)
        return out

    def relation_keys_for(self, target: str, keys: Iterable[str]) -> dict[str, dict[str, tuple[str, ...]]]:
        """The stored relation keys of the pages of ``keys``: sync key → {property: keys}."""
        out: dict[str, dict[str, tuple[str, ...]]] = {}
        for chunk in _chunks(keys):
            for key, prop, related in self._query(
                "SELECT sync_key, property, keys FROM relation_keys WHERE target = ? "
                f"AND sync_key IN ({_marks(chunk)})",
                (target, *chunk),
            ):
                out.setdefault(key, {})[prop] = tuple(json.loads(related))
        return out

    def page_count(self, target: str, *, archived: bool | None = None) -> int:
        """How many sync keys of ``target`` the identity map holds (all, or only (not) archived)."""
        sql = "SELECT COUNT(*) FROM pages WHERE target = ?"
        params: tuple[Any, ...] = (target,)
        if archived is not None:
            sql += " AND archived = ?"
            params += (int(archived),)
        return int(self._query(sql, params)[0][0])

    def iter_pages(self, target: str, batch: int = 5000) -> Iterator[list[PageEntry]]:
        """The identity map of ``target`` in batches of ``batch`` entries, by sync key, so that a
        caller never holds all of it. Entries written meanwhile may or may not be included."""
        after = ""
        while True:
            rows = self._query(
                "SELECT sync_key, page_id, created_by_syncfw, archived FROM pages WHERE target = ? "
                "AND sync_key > ? ORDER BY sync_key LIMIT ?",
                (target, after, batch),
            )
            if not rows:
                return
            yield [PageEntry(target, r[0], r[1], bool(r[2]), bool(r[3])) for r in rows]
            after = rows[-1][0]

    def iter_relation_keys(self, target: str, batch: int = 5000) -> Iterator[list[str]]:
        """The sync keys of ``target`` that have stored relation keys, in batches, by sync key."""
        after = ""
        while True:
            rows = self._query(
                "SELECT DISTINCT sync_key FROM relation_keys WHERE target = ? AND sync_key > ? "
                "ORDER BY sync_key LIMIT ?",
                (target, after, batch),
            )
            if not rows:
                return
            yield [r[0] for r in rows]
            after = rows[-1][0]

    def iter_record_keys(self, target: str, mapping: str | None, batch: int = 5000) -> Iterator[list[str]]:
        """The keys of the source records ``target`` keeps state for, in batches, by key.

        With ``mapping`` None: the sync keys of the target's pages not archived (the primary
        stream's records). Otherwise the record keys of that secondary or aggregating mapping:
        matched, counted as members, or kept because they matched no page. Reconciliation checks
        them against the source's key scan.
        """
        if mapping is None:
            sql = "SELECT sync_key FROM pages WHERE target = ? AND archived = 0 AND sync_key > ?"
            params: tuple[Any, ...] = (target,)
        else:
            sql = (
                "SELECT record_key FROM (SELECT record_key FROM matches WHERE target = ? AND mapping = ? "
                "UNION SELECT record_key FROM members WHERE target = ? AND mapping = ? "
                "UNION SELECT record_key FROM unmatched WHERE target = ? AND mapping = ?) "
                "WHERE record_key > ?"
            )
            params = (target, mapping) * 3
        after = ""
        while True:
            rows = self._query(f"{sql} ORDER BY 1 LIMIT {int(batch)}", (*params, after))
            if not rows:
                return
            yield [r[0] for r in rows]
            after = rows[-1][0]

    def matches_for(self, target: str, mapping: str, keys: Iterable[str]) -> dict[str, str]:
        """Which pages the secondary records ``keys`` matched: record key → page sync key."""
        out: dict[str, str] = {}
        for chunk in _chunks(keys):
            rows = self._query(
                "SELECT record_key, page_key FROM matches WHERE target = ? AND mapping = ? "
                f"AND record_key IN ({_marks(chunk)})",
                (target, mapping, *chunk),
            )
            out.update((r[0], r[1]) for r in rows)
        return out

    def members_for(
        self, target: str, mapping: str, keys: Iterable[str]
    ) -> dict[str, tuple[str, dict[str, Any]]]:
        """The aggregating mapping's records ``keys``: record key → (page sync key, member values)."""
        out: dict[str, tuple[str, dict[str, Any]]] = {}
        for chunk in _chunks(keys):
            rows = self._query(
                "SELECT record_key, page_key, data FROM members WHERE target = ? AND mapping = ? "
                f"AND record_key IN ({_marks(chunk)})",
                (target, mapping, *chunk),
            )
            out.update((r[0], (r[1], json.loads(r[2]))) for r in rows)
        return out

    def members_of_pages(
        self, target: str, mapping: str, page_keys: Iterable[str]
    ) -> list[tuple[str, str, dict[str, Any]]]:
        """The aggregating mapping's records on the pages ``page_keys``: (record key, page sync
        key, member values)."""
        out: list[tuple[str, str, dict[str, Any]]] = []
        for chunk in _chunks(page_keys):
            rows = self._query(
                "SELECT record_key, page_key, data FROM members WHERE target = ? AND mapping = ? "
                f"AND page_key IN ({_marks(chunk)})",
                (target, mapping, *chunk),
            )
            out += [(r[0], r[1], json.loads(r[2])) for r in rows]
        return out

    def unmatched(self, target: str) -> list[tuple[str, str, dict[str, Any]]]:
        """Secondary records that matched no page (or several) when last read, retried every run
        until they match: (mapping, record key, record data)."""
        rows = self._query(
            "SELECT mapping, record_key, data FROM unmatched WHERE target = ? ORDER BY mapping, record_key",
            (target,),
        )
        return [(r[0], r[1], json.loads(r[2])) for r in rows]

    def matches(self, target: str, mapping: str) -> dict[str, str]:
        """How a secondary mapping's records matched pages: record key → page sync key."""
        rows = self._query(
            "SELECT record_key, page_key FROM matches WHERE target = ? AND mapping = ?", (target, mapping)
        )
        return {r[0]: r[1] for r in rows}

    def members(self, target: str, mapping: str) -> dict[str, tuple[str, dict[str, Any]]]:
        """An aggregating mapping's records: record key → (page sync key, stored member values)."""
        rows = self._query(
            "SELECT record_key, page_key, data FROM members WHERE target = ? AND mapping = ?",
            (target, mapping),
        )
        return {r[0]: (r[1], json.loads(r[2])) for r in rows}

    def relation_keys(self, target: str) -> dict[str, dict[str, tuple[str, ...]]]:
        """Source keys each relation property points at: sync key → {property: keys}."""
        out: dict[str, dict[str, tuple[str, ...]]] = {}
        for key, prop, keys in self._query(
            "SELECT sync_key, property, keys FROM relation_keys WHERE target = ?", (target,)
        ):
            out.setdefault(key, {})[prop] = tuple(json.loads(keys))
        return out

    def cursor(self, target: str, source: str, stream: str) -> str | None:
        rows = self._query(
            "SELECT cursor FROM cursors WHERE target = ? AND source = ? AND stream = ?",
            (target, source, stream),
        )
        return str(rows[0][0]) if rows else None

    def cursors(self) -> list[tuple[str, str, str, str, str]]:
        """Every cursor as (target, source, stream, cursor, updated_at)."""
        rows = self._query("SELECT target, source, stream, cursor, updated_at FROM cursors ORDER BY 1, 2, 3")
        return [(r[0], r[1], r[2], r[3], r[4]) for r in rows]

    def target_ids(self, target: str) -> tuple[str | None, str] | None:
        """The (database id, data source id) resolved for ``target`` by an earlier run."""
        rows = self._query("SELECT database_id, data_source_id FROM targets WHERE target = ?", (target,))
        return (rows[0][0], rows[0][1]) if rows else None

    def journal(self, *, run_id: str | None = None, status: str | None = None) -> list[JournalEntry]:
        """Journal entries, oldest first, of one run and/or with one status."""
        clauses, params = [], []
        if run_id is not None:
            clauses.append("run_id = ?")
            params.append(run_id)
        if status is not None:
            clauses.append("status = ?")
            params.append(status)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = self._query(
            f"SELECT seq, run_id, target, action, sync_key, page_id, before, after, status, created_at FROM journal {where} "
            "ORDER BY seq",
            tuple(params),
        )
        return [
            JournalEntry(
                r[0], r[1], r[2], r[3], r[4], r[5], _load_values(r[6]), _load_values(r[7]), r[8], r[9]
            )
            for r in rows
        ]

    def quarantined(self, target: str | None = None) -> list[QuarantinedRecord]:
        """Open quarantine, oldest first (of one target, or all)."""
        sql = (
            "SELECT target, mapping, record_key, source, stream, property, reason, data, deleted, first_seen, "
            "last_seen, attempts FROM quarantine"
        )
        rows = self._query(
            sql + (" WHERE target = ?" if target else "") + " ORDER BY first_seen",
            (target,) if target else (),
        )
        return [
            QuarantinedRecord(
                r[0], r[1], r[2], r[3], r[4], r[5], r[6], json.loads(r[7]), bool(r[8]), r[9], r[10], r[11]
            )
            for r in rows
        ]

    def source_reads(self) -> list[tuple[str, str, str, str, str | None, str | None]]:
        """Every stream read as (target, source, stream, last_attempt, last_success, last_error);
        a success is a read that reached the end of its stream."""
        rows = self._query(
            "SELECT target, source, stream, last_attempt, last_success, last_error FROM source_reads ORDER BY 2, 3, 1"
        )
        return [(r[0], r[1], r[2], r[3], r[4], r[5]) for r in rows]

    def alert_states(self) -> dict[tuple[str, str], tuple[str, str]]:
        """(event, subject) → (state, since) of every alert syncfw has sent or cleared."""
        rows = self._query("SELECT event, subject, state, since FROM alerts")
        return {(r[0], r[1]): (r[2], r[3]) for r in rows}

    def setting(self, name: str) -> str | None:
        """A value syncfw keeps between runs (e.g. when Notion was last read in full)."""
        rows = self._query("SELECT value FROM settings WHERE name = ?", (name,))
        return str(rows[0][0]) if rows else None

    def runs(self, limit: int = 20) -> list[RunRecord]:
        """The most recent runs, newest first."""
        rows = self._query(
            "SELECT run_id, recipe, command, started_at, finished_at, status, exit_code, summary, error "
            "FROM runs ORDER BY started_at DESC LIMIT ?",
            (limit,),
        )
        return [
            RunRecord(r[0], r[1], r[2], r[3], r[4], r[5], r[6], json.loads(r[7]) if r[7] else None, r[8])
            for r in rows
        ]


class Transaction:
    """Writes inside :meth:`StateStore.transaction`."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def set_page(self, target: str, sync_key: str, page_id: str, *, created_by_syncfw: bool) -> None:
        self._db.execute(
            "INSERT INTO pages (target, sync_key, page_id, created_by_syncfw, archived) VALUES (?, ?, ?, ?, 0) "
            "ON CONFLICT (target, sync_key) DO UPDATE SET page_id = excluded.page_id, archived = 0, "
            "created_by_syncfw = CASE WHEN pages.page_id = excluded.page_id "
            "THEN pages.created_by_syncfw ELSE excluded.created_by_syncfw END",
            (target, sync_key, page_id, int(created_by_syncfw)),
        )

    def set_archived(self, target: str, sync_key: str, archived: bool) -> None:
        self._db.execute(
            "UPDATE pages SET archived = ? WHERE target = ? AND sync_key = ?",
            (int(archived), target, sync_key),
        )

    def forget_page(self, target: str, sync_key: str) -> None:
        self._db.execute("DELETE FROM pages WHERE target = ? AND sync_key = ?", (target, sync_key))
        self._db.execute("DELETE FROM written WHERE target = ? AND sync_key = ?", (target, sync_key))

    def set_written(self, target: str, sync_key: str, values: dict[str, Any]) -> None:
        self._db.executemany(
            "INSERT INTO written (target, sync_key, property, value) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (target, sync_key, property) DO UPDATE SET value = excluded.value",
            [(target, sync_key, prop, _dump(value)) for prop, value in values.items()],
        )

    def set_match(self, target: str, mapping: str, record_key: str, page_key: str | None) -> None:
        """Remember (or, with None, forget) which page a secondary record matched."""
        if page_key is None:
            self._db.execute(
                "DELETE FROM matches WHERE target = ? AND mapping = ? AND record_key = ?",
                (target, mapping, record_key),
            )
            return
        self._db.execute(
            "INSERT INTO matches (target, mapping, record_key, page_key) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (target, mapping, record_key) DO UPDATE SET page_key = excluded.page_key",
            (target, mapping, record_key, page_key),
        )

    def set_member(
        self, target: str, mapping: str, record_key: str, member: tuple[str, dict[str, Any]] | None
    ) -> None:
        """Store (or, with None, remove) one record of an aggregating mapping."""
        if member is None:
            self._db.execute(
                "DELETE FROM members WHERE target = ? AND mapping = ? AND record_key = ?",
                (target, mapping, record_key),
            )
            return
        self._db.execute(
            "INSERT INTO members (target, mapping, record_key, page_key, data) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (target, mapping, record_key) DO UPDATE SET page_key = excluded.page_key, "
            "data = excluded.data",
            (target, mapping, record_key, member[0], _dump(member[1])),
        )

    def set_relation_keys(self, target: str, sync_key: str, keys: dict[str, tuple[str, ...]]) -> None:
        self._db.executemany(
            "INSERT INTO relation_keys (target, sync_key, property, keys) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (target, sync_key, property) DO UPDATE SET keys = excluded.keys",
            [(target, sync_key, prop, json.dumps(list(value))) for prop, value in keys.items()],
        )

    def set_cursor(self, target: str, source: str, stream: str, cursor: str, now: str) -> None:
        self._db.execute(
            "INSERT INTO cursors (target, source, stream, cursor, updated_at) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (target, source, stream) DO UPDATE SET cursor = excluded.cursor, "
            "updated_at = excluded.updated_at",
            (target, source, stream, cursor, now),
        )

    def delete_cursor(self, target: str, source: str, stream: str) -> None:
        self._db.execute(
            "DELETE FROM cursors WHERE target = ? AND source = ? AND stream = ?", (target, source, stream)
        )

    def set_target_ids(self, target: str, database_id: str | None, data_source_id: str) -> None:
        self._db.execute(
            "INSERT INTO targets (target, database_id, data_source_id) VALUES (?, ?, ?) "
            "ON CONFLICT (target) DO UPDATE SET database_id = excluded.database_id, "
            "data_source_id = excluded.data_source_id",
            (target, database_id, data_source_id),
        )

    def open_intent(
        self,
        run_id: str,
        target: str,
        action: str,
        sync_key: str,
        page_id: str | None,
        before: dict[str, Any],
        after: dict[str, Any],
        now: str,
    ) -> int:
        """Record a write about to be sent; returns its journal sequence number."""
        cur = self._db.execute(
            "INSERT INTO journal (run_id, target, action, sync_key, page_id, before, after, status, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, 'open', ?)",
            (run_id, target, action, sync_key, page_id, _dump(before), _dump(after), now),
        )
        return int(cur.lastrowid or 0)

    def settle(self, seq: int, status: str, now: str, page_id: str | None = None) -> None:
        """Record the outcome of an intent: ``applied``, ``absent`` or ``rolled_back``."""
        self._db.execute(
            "UPDATE journal SET status = ?, settled_at = ?, page_id = COALESCE(?, page_id) WHERE seq = ?",
            (status, now, page_id, seq),
        )

    def quarantine(self, record: QuarantinedRecord) -> None:
        """Keep (or refresh) a record that could not be synced."""
        self._db.execute(
            "INSERT INTO quarantine (target, mapping, record_key, source, stream, property, reason, data, deleted, "
            "first_seen, last_seen, attempts) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1) "
            "ON CONFLICT (target, mapping, record_key) DO UPDATE SET property = excluded.property, "
            "reason = excluded.reason, data = excluded.data, deleted = excluded.deleted, "
            "last_seen = excluded.last_seen, attempts = quarantine.attempts + 1",
            (
                record.target,
                record.mapping,
                record.record_key,
                record.source,
                record.stream,
                record.property,
                record.reason,
                json.dumps(record.data, default=str),
                int(record.deleted),
                record.first_seen,
                record.last_seen,
            ),
        )

    def set_unmatched(self, target: str, mapping: str, record_key: str, data: dict[str, Any] | None) -> None:
        """Keep a secondary record that matched no page, to retry it; None: it matched (or is gone)."""
        if data is None:
            self._db.execute(
                "DELETE FROM unmatched WHERE target = ? AND mapping = ? AND record_key = ?",
                (target, mapping, record_key),
            )
            return
        self._db.execute(
            "INSERT INTO unmatched (target, mapping, record_key, data) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (target, mapping, record_key) DO UPDATE SET data = excluded.data",
            (target, mapping, record_key, json.dumps(data, default=str)),
        )

    def release(self, target: str, mapping: str, record_key: str) -> None:
        """Take a record out of quarantine (it synced)."""
        self._db.execute(
            "DELETE FROM quarantine WHERE target = ? AND mapping = ? AND record_key = ?",
            (target, mapping, record_key),
        )

    def read_attempted(self, target: str, source: str, stream: str, when: str) -> None:
        self._db.execute(
            "INSERT INTO source_reads (target, source, stream, last_attempt) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (target, source, stream) DO UPDATE SET last_attempt = excluded.last_attempt",
            (target, source, stream, when),
        )

    def read_finished(self, target: str, source: str, stream: str, when: str, error: str | None) -> None:
        """Record the end of a read: a success (``error`` None) or the one-line reason it failed."""
        if error is None:
            self._db.execute(
                "UPDATE source_reads SET last_success = ?, last_error = NULL WHERE target = ? AND source = ? "
                "AND stream = ?",
                (when, target, source, stream),
            )
        else:
            self._db.execute(
                "UPDATE source_reads SET last_error = ? WHERE target = ? AND source = ? AND stream = ?",
                (error, target, source, stream),
            )

    def set_alert_state(self, event: str, subject: str, state: str, since: str) -> None:
        self._db.execute(
            "INSERT INTO alerts (event, subject, state, since) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (event, subject) DO UPDATE SET state = excluded.state, since = excluded.since",
            (event, subject, state, since),
        )

    def set_setting(self, name: str, value: str) -> None:
        self._db.execute(
            "INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            (name, value),
        )

    def start_run(self, run_id: str, recipe: str, command: str, started_at: str) -> None:
        self._db.execute(
            "INSERT INTO runs (run_id, recipe, command, started_at, status) VALUES (?, ?, ?, ?, 'running')",
            (run_id, recipe, command, started_at),
        )

    def finish_run(
        self,
        run_id: str,
        *,
        finished_at: str,
        status: str,
        exit_code: int,
        summary: dict[str, Any],
        error: str | None,
    ) -> None:
        self._db.execute(
            "UPDATE runs SET finished_at = ?, status = ?, exit_code = ?, summary = ?, error = ? WHERE run_id = ?",
            (finished_at, status, exit_code, json.dumps(summary), error, run_id),
        )


_CHUNK = 500
"""Keys per ``IN (...)`` query: well under SQLite's limit of bound parameters."""


# A WAL frame: a page of at most 64 KiB and its 24-byte header (https://www.sqlite.org/fileformat.html).
_LARGEST_WRITE = 65536 + 24


def _free_space(directory: Path) -> int | None:
    """Bytes free for this user on the file system of ``directory``, or None if unknown."""
    try:
        return shutil.disk_usage(directory).free
    except OSError:
        return None


def _file_size_limit() -> int | None:
    """The soft RLIMIT_FSIZE of this process in bytes, or None when unlimited (or not POSIX)."""
    try:
        import resource
    except ImportError:
        return None
    soft = resource.getrlimit(resource.RLIMIT_FSIZE)[0]
    return None if soft == resource.RLIM_INFINITY else soft


def _chunks(keys: Iterable[str]) -> Iterator[list[str]]:
    return chunked(keys, _CHUNK)


def _marks(chunk: list[str]) -> str:
    return ", ".join("?" * len(chunk))
