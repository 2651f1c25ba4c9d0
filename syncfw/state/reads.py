"""The engine's reads of the state store (:class:`syncfw.state.protocol.SyncState`), in SQL."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

from syncfw.state.dialect import marks
from syncfw.state.page_ids import pack, unpack
from syncfw.state.protocol import JournalEntry, NotionRead, PageEntry, QuarantinedRecord
from syncfw.state.sql import MAPPING, PAGES_OF, SqlReader, chunks, load_values
from syncfw.state.written import LastWritten, decode

_PAGE = f"SELECT sync_key, page_id, created_by_syncfw, archived, number FROM pages WHERE {PAGES_OF}"


def _page(target: str, row: Sequence[Any]) -> PageEntry:
    number = None if row[4] is None else int(row[4])
    return PageEntry(target, row[0], unpack(row[1]), bool(row[2]), bool(row[3]), number)


class SyncReads(SqlReader):
    """Reads of pages, last written values (:mod:`syncfw.state.written`), relation keys, matches, members, cursors, the journal and
    quarantine. Lookups by key run in chunks of :data:`syncfw.state.sql.CHUNK` keys."""

    def pages(self, target: str) -> dict[str, PageEntry]:
        """The identity map of ``target``: sync key → page entry."""
        return {r[0]: _page(target, r) for r in self._query(_PAGE, (target,))}

    def property_names(self) -> dict[int, str]:
        """Number → name of every property the store has kept a value of (``property_ids``)."""
        return {int(r[0]): str(r[1]) for r in self._query("SELECT id, property FROM property_ids")}

    def last_written(self, target: str) -> dict[str, LastWritten]:
        """What syncfw last wrote in ``target``: sync key → {property: value or :class:`~syncfw.state.written.Digest`}
        (:mod:`syncfw.state.written`)."""
        names = self.property_names()
        rows = self._query(
            f"SELECT sync_key, written FROM pages WHERE {PAGES_OF} AND written IS NOT NULL", (target,)
        )
        return {r[0]: decode(r[1], names) for r in rows}

    def pages_for(self, target: str, keys: Iterable[str]) -> dict[str, PageEntry]:
        """The identity map entries of ``keys`` in ``target`` (keys with no entry are absent)."""
        out: dict[str, PageEntry] = {}
        for chunk in chunks(keys):
            rows = self._query(f"{_PAGE} AND sync_key IN ({marks(len(chunk))})", (target, *chunk))
            out.update((r[0], _page(target, r)) for r in rows)
        return out

    def pages_by_id(self, target: str, page_ids: Iterable[str]) -> dict[str, PageEntry]:
        """The identity map entries of the Notion pages ``page_ids`` in ``target``: page id → entry
        (pages syncfw does not know are absent). This is how a page whose sync key a person
        emptied or edited is still known for the key syncfw gave it."""
        out: dict[str, PageEntry] = {}
        for chunk in chunks(page_ids):
            rows = self._query(
                f"{_PAGE} AND page_id IN ({marks(len(chunk))})", (target, *(pack(p) for p in chunk))
            )
            out.update((entry.page_id, entry) for entry in (_page(target, r) for r in rows))
        return out

    def last_written_for(self, target: str, keys: Iterable[str]) -> dict[str, LastWritten]:
        """What syncfw last wrote on the pages of ``keys``: sync key → {property: value or
        :class:`~syncfw.state.written.Digest`} (keys it never wrote are absent)."""
        names: dict[int, str] | None = None
        out: dict[str, LastWritten] = {}
        for chunk in chunks(keys):
            rows = self._query(
                f"SELECT sync_key, written FROM pages WHERE {PAGES_OF} AND written IS NOT NULL "
                f"AND sync_key IN ({marks(len(chunk))})",
                (target, *chunk),
            )
            if rows and names is None:
                names = self.property_names()
            out.update((r[0], decode(r[1], names or {})) for r in rows)
        return out

    def journaled_values(self, target: str, sync_key: str) -> Iterator[dict[str, Any]]:
        """The values of the writes to the page of ``sync_key`` that the journal still holds
        (each entry's ``after``), newest first: where :func:`syncfw.state.written.resolve` finds
        the value a digest stands for. The journal is read when the first is asked for."""
        rows = self._query(
            "SELECT after FROM journal WHERE target = ? AND sync_key = ? AND action <> 'cursor' ORDER BY seq DESC",
            (target, sync_key),
        )
        yield from (load_values(r[0]) for r in rows)

    def relation_keys_for(self, target: str, keys: Iterable[str]) -> dict[str, dict[str, tuple[str, ...]]]:
        """The stored relation keys of the pages of ``keys``: sync key → {property: keys}."""
        out: dict[str, dict[str, tuple[str, ...]]] = {}
        for chunk in chunks(keys):
            for key, prop, related in self._query(
                "SELECT sync_key, property, keys FROM relation_keys WHERE target = ? "
                f"AND sync_key IN ({marks(len(chunk))})",
                (target, *chunk),
            ):
                out.setdefault(key, {})[prop] = tuple(json.loads(related))
        return out

    def page_count(self, target: str, *, archived: bool | None = None) -> int:
        """How many sync keys of ``target`` the identity map holds (all, or only (not) archived)."""
        sql = f"SELECT COUNT(*) FROM pages WHERE {PAGES_OF}"
        params: tuple[Any, ...] = (target,)
        if archived is not None:
            sql += " AND archived = ?"
            params += (int(archived),)
        return int(self._query(sql, params)[0][0])

    def _batches(self, sql: str, params: tuple[Any, ...], batch: int) -> Iterator[list[Sequence[Any]]]:
        """The rows of ``sql`` (its last marker compares its first column with the last one
        yielded) in batches of ``batch``, by that column."""
        after = ""
        while True:
            rows = self._query(f"{sql} ORDER BY 1 LIMIT {int(batch)}", (*params, after))
            if not rows:
                return
            yield rows
            after = rows[-1][0]

    def iter_pages(self, target: str, batch: int = 5000) -> Iterator[list[PageEntry]]:
        """The identity map of ``target`` in batches of ``batch`` entries, by sync key, so that a
        caller never holds all of it. Entries written meanwhile may or may not be included."""
        for rows in self._batches(f"{_PAGE} AND sync_key > ?", (target,), batch):
            yield [_page(target, r) for r in rows]

    def iter_relation_keys(self, target: str, batch: int = 5000) -> Iterator[list[str]]:
        """The sync keys of ``target`` that have stored relation keys, in batches, by sync key."""
        sql = "SELECT DISTINCT sync_key FROM relation_keys WHERE target = ? AND sync_key > ?"
        for rows in self._batches(sql, (target,), batch):
            yield [r[0] for r in rows]

    def iter_record_keys(self, target: str, mapping: str | None, batch: int = 5000) -> Iterator[list[str]]:
        """The keys of the source records ``target`` keeps state for, in batches, by key.

        With ``mapping`` None: the sync keys of the target's pages not archived (the primary
        stream's records). Otherwise the record keys of that secondary or aggregating mapping:
        matched, counted as members, or kept because they matched no page. Reconciliation checks
        them against the source's key scan.
        """
        if mapping is None:
            sql = f"SELECT sync_key FROM pages WHERE {PAGES_OF} AND archived = 0 AND sync_key > ?"
            params: tuple[Any, ...] = (target,)
        else:
            sql = (
                f"SELECT record_key FROM (SELECT record_key FROM matches WHERE {MAPPING} "
                "UNION SELECT record_key FROM members WHERE target = ? AND mapping = ? "
                "UNION SELECT record_key FROM unmatched WHERE target = ? AND mapping = ?) AS kept "
                "WHERE record_key > ?"
            )
            params = (target, mapping) * 3
        for rows in self._batches(sql, params, batch):
            yield [r[0] for r in rows]

    def matches_for(self, target: str, mapping: str, keys: Iterable[str]) -> dict[str, str]:
        """Which pages the secondary records ``keys`` matched: record key → page sync key."""
        out: dict[str, str] = {}
        for chunk in chunks(keys):
            rows = self._query(
                f"SELECT record_key, page_key FROM matches WHERE {MAPPING} "
                f"AND record_key IN ({marks(len(chunk))})",
                (target, mapping, *chunk),
            )
            out.update((r[0], r[1]) for r in rows)
        return out

    def members_for(
        self, target: str, mapping: str, keys: Iterable[str]
    ) -> dict[str, tuple[str, dict[str, Any]]]:
        """The aggregating mapping's records ``keys``: record key → (page sync key, member values)."""
        out: dict[str, tuple[str, dict[str, Any]]] = {}
        for chunk in chunks(keys):
            rows = self._query(
                "SELECT record_key, page_key, data FROM members WHERE target = ? AND mapping = ? "
                f"AND record_key IN ({marks(len(chunk))})",
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
        for chunk in chunks(page_keys):
            rows = self._query(
                "SELECT record_key, page_key, data FROM members WHERE target = ? AND mapping = ? "
                f"AND page_key IN ({marks(len(chunk))})",
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
        rows = self._query(f"SELECT record_key, page_key FROM matches WHERE {MAPPING}", (target, mapping))
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
        """The cursor of one stream of ``target`` (None: read it from the start)."""
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

    def notion_read(self, target: str) -> NotionRead | None:
        """The Notion read watermark of ``target`` (None: never read, read it in full)."""
        rows = self._query(
            "SELECT read_at, reads_since_full, slice_from FROM notion_reads WHERE target = ?", (target,)
        )
        return (
            NotionRead(datetime.fromisoformat(rows[0][0]), int(rows[0][1]), int(rows[0][2])) if rows else None
        )

    def numbered_slice(self, target: str, start: int, count: int) -> list[tuple[str, int]]:
        """The ``count`` pages of ``target`` (not archived) with the lowest numbers from ``start``
        on, as (sync key, number) by number. No index: one pass over the target's pages (the
        store keeps them clustered by target), done once per run."""
        rows = self._query(
            f"SELECT sync_key, number FROM pages WHERE {PAGES_OF} AND archived = 0 AND number >= ? "
            f"ORDER BY number LIMIT {int(count)}",
            (target, int(start)),
        )
        return [(str(r[0]), int(r[1])) for r in rows]

    def unnumbered(self, target: str) -> int:
        """How many pages of ``target`` (not archived) have no number yet."""
        sql = f"SELECT COUNT(*) FROM pages WHERE {PAGES_OF} AND archived = 0 AND number IS NULL"
        return int(self._query(sql, (target,))[0][0])

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
            "SELECT seq, run_id, target, action, sync_key, page_id, before, after, status, created_at "
            f"FROM journal {where} ORDER BY seq",
            tuple(params),
        )
        return [
            JournalEntry(r[0], r[1], r[2], r[3], r[4], r[5], load_values(r[6]), load_values(r[7]), r[8], r[9])
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
