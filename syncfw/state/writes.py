"""The engine's writes to the state store (:class:`syncfw.state.protocol.SyncTransaction`), in SQL."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from syncfw.errors import StateError
from syncfw.state.dialect import Dialect
from syncfw.state.page_ids import pack
from syncfw.state.protocol import NotionRead, QuarantinedRecord
from syncfw.state.sql import MAPPING, PAGES_OF, SqlReader, SqlWriter, dump
from syncfw.state.written import decode, encode


class SyncWrites(SqlWriter, SqlReader):
    """Writes (and the reads they need) of pages, last written values, relation keys, matches, members, cursors, target ids, the
    Notion read watermark, the journal and quarantine, inside one open transaction."""

    dialect: Dialect

    def set_page(
        self, target: str, sync_key: str, page_id: str, *, created_by_syncfw: bool, number: int | None = None
    ) -> None:
        """Map ``sync_key`` to ``page_id`` (not archived). Adopting the page already mapped keeps
        whether syncfw created it, and its number unless ``number`` is given; another page takes
        ``created_by_syncfw`` and ``number``."""
        self._execute(
            "INSERT INTO target_numbers (target) VALUES (?) ON CONFLICT (target) DO NOTHING", (target,)
        )
        target_id = int(self._query("SELECT id FROM target_numbers WHERE target = ?", (target,))[0][0])
        self._execute(
            self.dialect.upsert(
                "pages",
                ("target_id", "sync_key", "page_id", "created_by_syncfw", "archived", "number"),
                ("target_id", "sync_key"),
                {
                    "page_id": "excluded.page_id",
                    "archived": "0",
                    "created_by_syncfw": "CASE WHEN pages.page_id = excluded.page_id "
                    "THEN pages.created_by_syncfw ELSE excluded.created_by_syncfw END",
                    "number": "CASE WHEN pages.page_id = excluded.page_id "
                    "THEN COALESCE(excluded.number, pages.number) ELSE excluded.number END",
                },
            ),
            (target_id, sync_key, pack(page_id), int(created_by_syncfw), 0, number),
        )

    def set_number(self, target: str, sync_key: str, page_id: str, number: int) -> None:
        """Record the number (``unique_id``) of page ``page_id``, the page of ``sync_key`` (when it
        is not, or there is no entry: nothing)."""
        self._execute(
            f"UPDATE pages SET number = ? WHERE {PAGES_OF} AND sync_key = ? AND page_id = ?",
            (int(number), target, sync_key, pack(page_id)),
        )

    def set_archived(self, target: str, sync_key: str, archived: bool) -> None:
        self._execute(
            f"UPDATE pages SET archived = ? WHERE {PAGES_OF} AND sync_key = ?",
            (int(archived), target, sync_key),
        )

    def forget_page(self, target: str, sync_key: str) -> None:
        """Remove the identity map entry and the written values of ``sync_key``."""
        self._execute(f"DELETE FROM pages WHERE {PAGES_OF} AND sync_key = ?", (target, sync_key))

    def set_written(self, target: str, sync_key: str, values: dict[str, Any]) -> None:
        """Record the canonical values just written on the page of ``sync_key`` (which the identity
        map holds: :meth:`set_page` first), over those it had: each kept or digested
        (:mod:`syncfw.state.written`)."""
        ids = self._property_ids(values)
        rows = self._query(f"SELECT written FROM pages WHERE {PAGES_OF} AND sync_key = ?", (target, sync_key))
        if not rows:
            raise StateError(
                f"target {target}: no page is known for {sync_key!r}; its written values cannot be kept"
            )
        kept = decode(rows[0][0], {n: name for name, n in ids.items()}) if rows[0][0] else {}
        self._execute(
            f"UPDATE pages SET written = ? WHERE {PAGES_OF} AND sync_key = ?",
            (encode({**kept, **values}, ids), target, sync_key),
        )

    def _property_ids(self, names: Iterable[str]) -> dict[str, int]:
        """Name → number of every property in ``property_ids``, ``names`` added if new."""
        ids = {str(r[1]): int(r[0]) for r in self._query("SELECT id, property FROM property_ids")}
        for name in names:
            if name not in ids:
                ids[name] = int(
                    self._returning("INSERT INTO property_ids (property) VALUES (?) RETURNING id", (name,))
                )
        return ids

    def set_match(self, target: str, mapping: str, record_key: str, page_key: str | None) -> None:
        """Remember (or, with None, forget) which page a secondary record matched."""
        if page_key is None:
            self._execute(
                f"DELETE FROM matches WHERE {MAPPING} AND record_key = ?", (target, mapping, record_key)
            )
            return
        self._execute(
            "INSERT INTO mappings (target, mapping) VALUES (?, ?) ON CONFLICT (target, mapping) DO NOTHING",
            (target, mapping),
        )
        self._execute(
            "INSERT INTO matches (mapping_id, record_key, page_key) VALUES "
            "((SELECT id FROM mappings WHERE target = ? AND mapping = ?), ?, ?) "
            "ON CONFLICT (mapping_id, record_key) DO UPDATE SET page_key = excluded.page_key",
            (target, mapping, record_key, page_key),
        )

    def set_member(
        self, target: str, mapping: str, record_key: str, member: tuple[str, dict[str, Any]] | None
    ) -> None:
        """Store (or, with None, remove) one record of an aggregating mapping: (page key, values)."""
        if member is None:
            self._execute(
                "DELETE FROM members WHERE target = ? AND mapping = ? AND record_key = ?",
                (target, mapping, record_key),
            )
            return
        self._execute(
            self.dialect.upsert(
                "members",
                ("target", "mapping", "record_key", "page_key", "data"),
                ("target", "mapping", "record_key"),
            ),
            (target, mapping, record_key, member[0], dump(member[1])),
        )

    def set_relation_keys(self, target: str, sync_key: str, keys: dict[str, tuple[str, ...]]) -> None:
        self._executemany(
            self.dialect.upsert(
                "relation_keys",
                ("target", "sync_key", "property", "keys"),
                ("target", "sync_key", "property"),
            ),
            [(target, sync_key, prop, json.dumps(list(value))) for prop, value in keys.items()],
        )

    def set_cursor(self, target: str, source: str, stream: str, cursor: str, now: str) -> None:
        self._execute(
            self.dialect.upsert(
                "cursors",
                ("target", "source", "stream", "cursor", "updated_at"),
                ("target", "source", "stream"),
            ),
            (target, source, stream, cursor, now),
        )

    def delete_cursor(self, target: str, source: str, stream: str) -> None:
        self._execute(
            "DELETE FROM cursors WHERE target = ? AND source = ? AND stream = ?", (target, source, stream)
        )

    def set_target_ids(self, target: str, database_id: str | None, data_source_id: str) -> None:
        self._execute(
            self.dialect.upsert("targets", ("target", "database_id", "data_source_id"), ("target",)),
            (target, database_id, data_source_id),
        )

    def set_notion_read(self, target: str, read: NotionRead) -> None:
        """Move the Notion read watermark of ``target``."""
        self._execute(
            self.dialect.upsert(
                "notion_reads", ("target", "read_at", "reads_since_full", "slice_from"), ("target",)
            ),
            (target, read.at.isoformat(), read.since_full, read.slice_from),
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
        return int(
            self._returning(
                "INSERT INTO journal (run_id, target, action, sync_key, page_id, before, after, status, "
                "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'open', ?) RETURNING seq",
                (run_id, target, action, sync_key, page_id, dump(before), dump(after), now),
            )
        )

    def settle(self, seq: int, status: str, now: str, page_id: str | None = None) -> None:
        """Record the outcome of an intent: ``applied``, ``absent`` or ``rolled_back``."""
        self._execute(
            "UPDATE journal SET status = ?, settled_at = ?, page_id = COALESCE(?, page_id) WHERE seq = ?",
            (status, now, page_id, seq),
        )

    def quarantine(self, record: QuarantinedRecord) -> None:
        """Keep (or refresh, counting the attempt) a record that could not be synced."""
        columns = (
            "target",
            "mapping",
            "record_key",
            "source",
            "stream",
            "property",
            "reason",
            "data",
            "deleted",
            "first_seen",
            "last_seen",
            "attempts",
        )
        refreshed = ("property", "reason", "data", "deleted", "last_seen")
        self._execute(
            self.dialect.upsert(
                "quarantine",
                columns,
                ("target", "mapping", "record_key"),
                {
                    **{column: f"excluded.{column}" for column in refreshed},
                    "attempts": "quarantine.attempts + 1",
                },
            ),
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
                1,
            ),
        )

    def set_unmatched(self, target: str, mapping: str, record_key: str, data: dict[str, Any] | None) -> None:
        """Keep a secondary record that matched no page, to retry it; None: it matched (or is gone)."""
        if data is None:
            self._execute(
                "DELETE FROM unmatched WHERE target = ? AND mapping = ? AND record_key = ?",
                (target, mapping, record_key),
            )
            return
        self._execute(
            self.dialect.upsert(
                "unmatched", ("target", "mapping", "record_key", "data"), ("target", "mapping", "record_key")
            ),
            (target, mapping, record_key, json.dumps(data, default=str)),
        )

    def release(self, target: str, mapping: str, record_key: str) -> None:
        """Take a record out of quarantine (it synced)."""
        self._execute(
            "DELETE FROM quarantine WHERE target = ? AND mapping = ? AND record_key = ?",
            (target, mapping, record_key),
        )
