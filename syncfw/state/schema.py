"""The state store's schema: ordered migrations, the same for every backend.

A store records the number of migrations applied to it (its schema version); opening it applies
the ones it lacks, in order, each in one transaction with the new version, so a store is always
at a version and never between two. Never edit a released migration: append a new one. DDL is
written in the SQL SQLite and PostgreSQL share (``{identity}`` is the dialect's numbered key,
``{clustered}`` what stores a table in its key's order only, ``{binary}`` a column of bytes,
:mod:`syncfw.state.dialect`); a step that moves data does it in Python through the store's own
statements, not with one database's functions.

Version 6 moved the Notion read watermark from the ``settings`` row ``notion_read:<target>``
(JSON ``{"at": ISO 8601, "since_full": n}``) to the typed table ``notion_reads``.

Version 7 gave each run's operations a table of their own, ``run_operations`` (one row per
operation, numbered ``seq`` from 1 within the run, ``before``/``after`` canonical JSON), so that
the run's ``summary`` keeps only counts and a sample and no run is too large to record (SQLite
refuses a string over 1,000,000,000 bytes, https://www.sqlite.org/limits.html#max_length); and
indexed the journal by ``created_at`` so that retention prunes it with one cheap DELETE. Rows
written before it keep their operations in their summary.

Version 8 made a page's state small (:mod:`syncfw.state.written`): the last written values moved
from the table ``written`` (a row per page and property, the value's JSON) into the column
``pages.written`` (bytes: each property by its number in the new table ``property_ids``, its
value or a digest of it); ``run_operations`` lost ``before``/``after``, which
the journal holds (history reads them from it by run and page, through the new index
``journal_by_page``, which also finds the value a digest stands for); ``matches`` names a
target's mapping by its number in the new table ``mappings``; ``matches`` and ``relation_keys``,
which have no index but their key, were stored again clustered (SQLite keeps them once instead
of twice).

Version 9 made the identity map small: ``pages`` is stored clustered by its key (SQLite kept the
key twice), names its target by number (the new table ``target_numbers``) and keeps a page id in
16 bytes instead of 36 characters (:mod:`syncfw.state.page_ids`), in the row and in the index
``pages_by_id``.

Version 10 gave each page its number (``pages.number``, the page's ``unique_id`` property when the
data source has one, NULL until known) and each Notion read watermark the number the next slice
of the consistency read starts at (``notion_reads.slice_from``): the pages a run reads back are
then one slice of the target, by number (:func:`syncfw.engine.reads.notion_window`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from syncfw.state.dialect import Dialect, marks
from syncfw.state.page_ids import pack
from syncfw.state.sql import CHUNK, load
from syncfw.state.transaction import Connection
from syncfw.state.written import encode

Query = Callable[[str, Sequence[Any]], list[Sequence[Any]]]
"""Run a statement with ``?`` markers inside the migration's transaction; answers its rows."""
Execute = Callable[[str, Sequence[Any]], None]
"""Run a statement with ``?`` markers inside the migration's transaction."""


@dataclass(frozen=True)
class Migration:
    """One step forward: DDL statements, then an optional step that moves data."""

    ddl: tuple[str, ...]
    data: Callable[[Query, Execute], None] | None = None

    def statements(self, dialect: Dialect) -> list[str]:
        """The DDL in ``dialect``."""
        return [
            statement.format(identity=dialect.identity, clustered=dialect.clustered, binary=dialect.binary)
            for statement in self.ddl
        ]

    def apply(self, db: Connection, dialect: Dialect) -> None:
        """Run this step on ``db`` inside the transaction the caller opened (and commits, with the
        new schema version), whatever the backend."""

        def query(sql: str, params: Sequence[Any]) -> list[Sequence[Any]]:
            return list(db.execute(dialect.sql(sql), params).fetchall())

        def execute(sql: str, params: Sequence[Any]) -> None:
            db.execute(dialect.sql(sql), params)

        for statement in self.statements(dialect):
            db.execute(statement, ())
        if self.data is not None:
            self.data(query, execute)


_WATERMARK_SETTING = "notion_read:"


def _watermarks_to_their_table(query: Query, execute: Execute) -> None:
    for name, value in query("SELECT name, value FROM settings ORDER BY name", ()):
        if not str(name).startswith(_WATERMARK_SETTING):
            continue
        data = json.loads(value)
        execute(
            "INSERT INTO notion_reads (target, read_at, reads_since_full) VALUES (?, ?, ?)",
            (str(name)[len(_WATERMARK_SETTING) :], str(data["at"]), int(data["since_full"])),
        )
        execute("DELETE FROM settings WHERE name = ?", (name,))


def _written_into_pages(query: Query, execute: Execute) -> None:
    """Each page's rows of ``written`` become its ``pages.written`` (values kept or digested),
    :data:`~syncfw.state.sql.CHUNK` pages at a time; rows of keys with no page go (nothing reads
    them: a key with no page is created afresh)."""
    ids: dict[str, int] = {}
    for (name,) in query("SELECT DISTINCT property FROM written ORDER BY property", ()):
        ids[str(name)] = int(
            query("INSERT INTO property_ids (property) VALUES (?) RETURNING id", (name,))[0][0]
        )
    after = ("", "")
    while keys := query(
        "SELECT target, sync_key FROM pages WHERE target > ? OR (target = ? AND sync_key > ?) "
        f"ORDER BY target, sync_key LIMIT {CHUNK}",
        (after[0], after[0], after[1]),
    ):
        for target in dict.fromkeys(str(k[0]) for k in keys):
            chunk = [str(k[1]) for k in keys if k[0] == target]
            values: dict[str, dict[str, object]] = {}
            for key, prop, value in query(
                f"SELECT sync_key, property, value FROM written WHERE target = ? AND sync_key IN ({marks(len(chunk))})",
                (target, *chunk),
            ):
                values.setdefault(str(key), {})[str(prop)] = load(value)
            for key, page in values.items():
                execute(
                    "UPDATE pages SET written = ? WHERE target = ? AND sync_key = ?",
                    (encode(page, ids), target, key),
                )
        after = (str(keys[-1][0]), str(keys[-1][1]))
    execute("DROP TABLE written", ())


def _pages_packed(query: Query, execute: Execute) -> None:
    """Every identity map entry copied into ``pages_v9`` with its target numbered and its page id
    packed, in key order, :data:`~syncfw.state.sql.CHUNK` rows at a time; ``pages_v9`` then takes
    the name ``pages``."""
    execute("INSERT INTO target_numbers (target) SELECT DISTINCT target FROM pages ORDER BY target", ())
    numbers = {str(t): int(n) for n, t in query("SELECT id, target FROM target_numbers", ())}
    after = ("", "")
    while rows := query(
        "SELECT target, sync_key, page_id, created_by_syncfw, archived, written FROM pages "
        f"WHERE target > ? OR (target = ? AND sync_key > ?) ORDER BY target, sync_key LIMIT {CHUNK}",
        (after[0], after[0], after[1]),
    ):
        for target, key, page_id, created, archived, written in rows:
            execute(
                "INSERT INTO pages_v9 (target_id, sync_key, page_id, created_by_syncfw, archived, written) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (numbers[str(target)], key, pack(str(page_id)), created, archived, written),
            )
        after = (str(rows[-1][0]), str(rows[-1][1]))
    execute("DROP TABLE pages", ())
    execute("ALTER TABLE pages_v9 RENAME TO pages", ())
    execute("CREATE INDEX pages_by_id ON pages (page_id)", ())


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        (
            """CREATE TABLE pages (
                target TEXT NOT NULL,
                sync_key TEXT NOT NULL,
                page_id TEXT NOT NULL,
                created_by_syncfw INTEGER NOT NULL,
                archived INTEGER NOT NULL DEFAULT 0,
                PRIMARY KEY (target, sync_key)
            )""",
            "CREATE INDEX pages_by_id ON pages (page_id)",
            """CREATE TABLE written (
                target TEXT NOT NULL,
                sync_key TEXT NOT NULL,
                property TEXT NOT NULL,
                value TEXT NOT NULL,
                PRIMARY KEY (target, sync_key, property)
            )""",
            """CREATE TABLE cursors (
                target TEXT NOT NULL,
                source TEXT NOT NULL,
                stream TEXT NOT NULL,
                cursor TEXT NOT NULL,
                updated_at TEXT NOT NULL,
                PRIMARY KEY (target, source, stream)
            )""",
            """CREATE TABLE targets (
                target TEXT PRIMARY KEY,
                database_id TEXT,
                data_source_id TEXT NOT NULL
            )""",
            """CREATE TABLE runs (
                run_id TEXT PRIMARY KEY,
                recipe TEXT NOT NULL,
                command TEXT NOT NULL,
                started_at TEXT NOT NULL,
                finished_at TEXT,
                status TEXT NOT NULL,
                exit_code INTEGER,
                summary TEXT,
                error TEXT
            )""",
        )
    ),
    Migration(
        (
            """CREATE TABLE matches (
                target TEXT NOT NULL,
                mapping TEXT NOT NULL,
                record_key TEXT NOT NULL,
                page_key TEXT NOT NULL,
                PRIMARY KEY (target, mapping, record_key)
            )""",
            """CREATE TABLE members (
                target TEXT NOT NULL,
                mapping TEXT NOT NULL,
                record_key TEXT NOT NULL,
                page_key TEXT NOT NULL,
                data TEXT NOT NULL,
                PRIMARY KEY (target, mapping, record_key)
            )""",
            "CREATE INDEX members_by_page ON members (target, mapping, page_key)",
            """CREATE TABLE relation_keys (
                target TEXT NOT NULL,
                sync_key TEXT NOT NULL,
                property TEXT NOT NULL,
                keys TEXT NOT NULL,
                PRIMARY KEY (target, sync_key, property)
            )""",
        )
    ),
    Migration(
        (
            """CREATE TABLE journal (
                seq {identity},
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
            )""",
            "CREATE INDEX journal_by_run ON journal (run_id)",
            "CREATE INDEX journal_open ON journal (status)",
            """CREATE TABLE quarantine (
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
            )""",
        )
    ),
    Migration(
        (
            """CREATE TABLE source_reads (
                target TEXT NOT NULL,
                source TEXT NOT NULL,
                stream TEXT NOT NULL,
                last_attempt TEXT NOT NULL,
                last_success TEXT,
                last_error TEXT,
                PRIMARY KEY (target, source, stream)
            )""",
            """CREATE TABLE alerts (
                event TEXT NOT NULL,
                subject TEXT NOT NULL,
                state TEXT NOT NULL,
                since TEXT NOT NULL,
                PRIMARY KEY (event, subject)
            )""",
            """CREATE TABLE settings (
                name TEXT PRIMARY KEY,
                value TEXT NOT NULL
            )""",
        )
    ),
    Migration(
        (
            """CREATE TABLE unmatched (
                target TEXT NOT NULL,
                mapping TEXT NOT NULL,
                record_key TEXT NOT NULL,
                data TEXT NOT NULL,
                PRIMARY KEY (target, mapping, record_key)
            )""",
        )
    ),
    Migration(
        (
            """CREATE TABLE notion_reads (
                target TEXT PRIMARY KEY,
                read_at TEXT NOT NULL,
                reads_since_full INTEGER NOT NULL
            )""",
        ),
        _watermarks_to_their_table,
    ),
    Migration(
        (
            """CREATE TABLE run_operations (
                run_id TEXT NOT NULL,
                seq INTEGER NOT NULL,
                target TEXT NOT NULL,
                action TEXT NOT NULL,
                sync_key TEXT NOT NULL,
                page_id TEXT,
                before TEXT NOT NULL,
                after TEXT NOT NULL,
                PRIMARY KEY (run_id, seq)
            )""",
            "CREATE INDEX journal_by_time ON journal (created_at)",
        )
    ),
    Migration(
        (
            "ALTER TABLE pages ADD COLUMN written {binary}",
            "CREATE TABLE property_ids (id {identity}, property TEXT NOT NULL UNIQUE)",
            "CREATE INDEX journal_by_page ON journal (target, sync_key)",
            "ALTER TABLE run_operations DROP COLUMN before",
            "ALTER TABLE run_operations DROP COLUMN after",
            "CREATE TABLE mappings (id {identity}, target TEXT NOT NULL, mapping TEXT NOT NULL, "
            "UNIQUE (target, mapping))",
            "INSERT INTO mappings (target, mapping) SELECT DISTINCT target, mapping FROM matches",
            "CREATE TABLE matches_v8 (mapping_id INTEGER NOT NULL, record_key TEXT NOT NULL, "
            "page_key TEXT NOT NULL, PRIMARY KEY (mapping_id, record_key)) {clustered}",
            "INSERT INTO matches_v8 SELECT m.id, t.record_key, t.page_key FROM matches t "
            "JOIN mappings m ON m.target = t.target AND m.mapping = t.mapping",
            "DROP TABLE matches",
            "ALTER TABLE matches_v8 RENAME TO matches",
            "CREATE TABLE relation_keys_v8 (target TEXT NOT NULL, sync_key TEXT NOT NULL, property TEXT NOT NULL, "
            "keys TEXT NOT NULL, PRIMARY KEY (target, sync_key, property)) {clustered}",
            "INSERT INTO relation_keys_v8 SELECT target, sync_key, property, keys FROM relation_keys",
            "DROP TABLE relation_keys",
            "ALTER TABLE relation_keys_v8 RENAME TO relation_keys",
        ),
        _written_into_pages,
    ),
    Migration(
        (
            "CREATE TABLE target_numbers (id {identity}, target TEXT NOT NULL UNIQUE)",
            "CREATE TABLE pages_v9 (target_id INTEGER NOT NULL, sync_key TEXT NOT NULL, page_id {binary} NOT NULL, "
            "created_by_syncfw INTEGER NOT NULL, archived INTEGER NOT NULL DEFAULT 0, written {binary}, "
            "PRIMARY KEY (target_id, sync_key)) {clustered}",
        ),
        _pages_packed,
    ),
    Migration(
        (
            "ALTER TABLE pages ADD COLUMN number INTEGER",
            "ALTER TABLE notion_reads ADD COLUMN slice_from INTEGER NOT NULL DEFAULT 0",
        )
    ),
    Migration(
        # the order runs started in: started_at keeps whole seconds, and a run with nothing to do
        # takes less than one (history, the latest backfill and `syncfw runs` read the newest)
        ("ALTER TABLE runs ADD COLUMN seq INTEGER",)
    ),
)
