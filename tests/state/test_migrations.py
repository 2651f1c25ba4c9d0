"""Opening a store written by an earlier syncfw migrates it and loses nothing; a store written by
a newer syncfw is refused on both backends, and left as it is.

``schema5.sql`` is a store written by syncfw at schema version 5 (every table holding rows,
an open intent, the Notion read watermark still a ``notion_read:<target>`` setting, written
values in a row per property), dumped with sqlite3's ``iterdump``.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from syncfw.errors import StateError
from syncfw.state import NotionRead, StateBackend, StateStore
from syncfw.state.postgres import PostgresStore
from syncfw.state.schema import MIGRATIONS
from syncfw.state.written import Digest
from tests.state.conftest import OpenStore

SCHEMA5 = Path(__file__).with_name("schema5.sql")


def schema5_store(path: Path) -> StateStore:
    db = sqlite3.connect(path)
    db.executescript(SCHEMA5.read_text())
    assert db.execute("PRAGMA user_version").fetchone()[0] == 5
    db.close()
    return StateStore(path)


def test_a_schema_5_store_opens_at_the_newest_version_with_everything_kept(tmp_path: Path) -> None:
    store = schema5_store(tmp_path / "s.sqlite")

    assert store.schema_version == len(MIGRATIONS) == 11
    assert store.notion_read("accounts") == NotionRead(datetime(2026, 1, 1, 0, 0, 0, 123456, tzinfo=UTC), 3)
    assert store.setting("notion_read:accounts") is None  # moved, not copied
    assert store.setting("reconcile:accounts") == '{"at": "2026-01-01T00:00:00+00:00", "since": 2}'
    assert store.setting("dashboard") == "on"
    assert store.target_ids("accounts") == ("db-1", "ds-1")
    pages = store.pages("accounts")
    assert [(p.sync_key, p.page_id, p.created_by_syncfw, p.archived) for p in pages.values()] == [
        ("001A", "page-1", True, False),
        ("001B", "page-2", False, True),
    ]
    assert [p.sync_key for p in store.pages_by_id("accounts", ["page-2", "page-9"]).values()] == ["001B"]
    written = store.last_written("accounts")  # a written value of a key with no page is dropped
    assert written == {
        "001A": {
            "Name": "Edge",
            "Tags": ("a", "b"),
            "Revenue": 1.5,
            "Empty": None,
            "Description": "Maker of digital audio converters",
        }
    }
    assert isinstance(written["001A"]["Description"], Digest)  # kept as a digest: longer than one
    assert written["001A"]["Description"] != "Maker of digital audio converters!"
    assert "written" not in store.tables()
    assert store.relation_keys("accounts") == {"001A": {"Contacts": ("003A", "003B")}}
    assert store.matches("accounts", "zendesk-orgs") == {"org-1": "001A"}
    assert store.members("accounts", "tickets") == {"t-1": ("001A", {"Open": 1})}
    assert store.unmatched("accounts") == [("zendesk-orgs", "org-2", {"domain": "nowhere.example"})]
    assert store.cursor("accounts", "salesforce", "Account") == '{"ts": 1}'
    assert [(e.seq, e.action, e.sync_key, e.status) for e in store.journal()] == [
        (1, "create", "001C", "open"),
        (2, "update", "001A", "applied"),
    ]
    (quarantined,) = store.quarantined()
    assert (quarantined.record_key, quarantined.reason, quarantined.data) == (
        "001Q", "not a number", {"Id": "001Q", "Revenue": "lots"},
    )  # fmt: skip
    assert store.source_reads() == [
        ("accounts", "salesforce", "Account", "2026-01-01T00:00:00Z", "2026-01-01T00:00:04Z", None)
    ]
    assert store.alert_states() == {("run_failed", "customer-360"): ("firing", "2026-01-01T00:00:05Z")}
    (run,) = store.runs()
    assert (run.run_id, run.status, run.exit_code, run.summary) == (
        "20260101T000000Z-a1b2", "partial", 3, {"targets": {"accounts": {"created": 1}}},
    )  # fmt: skip
    with store.transaction() as tx:  # the journal goes on numbering after its last entry
        seq = tx.open_intent("r2", "accounts", "create", "001D", None, {}, {}, "2026-01-02T00:00:00Z")
    assert seq == 3


def test_opening_a_migrated_store_again_changes_nothing(tmp_path: Path) -> None:
    schema5_store(tmp_path / "s.sqlite").close()
    again = StateStore(tmp_path / "s.sqlite")
    assert again.schema_version == len(MIGRATIONS)
    assert again.notion_read("accounts") == NotionRead(datetime(2026, 1, 1, 0, 0, 0, 123456, tzinfo=UTC), 3)


def _write_schema_version(store: StateBackend, version: int) -> None:
    """Set the schema version as a newer syncfw would have left it, beside the store's connection."""
    if isinstance(store, StateStore):
        with closing(sqlite3.connect(store.path)) as db:
            db.execute(f"PRAGMA user_version = {version}")
    else:
        assert isinstance(store, PostgresStore)
        with psycopg.connect(store.location.url, autocommit=True) as db:
            db.execute(
                sql.SQL("UPDATE {}.schema_version SET version = %s").format(sql.Identifier(store.schema)),
                (version,),
            )


def test_a_store_from_a_newer_syncfw_is_refused_and_left_as_it_is(open_store: OpenStore) -> None:
    store = open_store()
    with store.transaction() as tx:
        tx.set_cursor("accounts", "salesforce", "Account", "c1", "2026-01-01T00:00:00Z")
    _write_schema_version(store, len(MIGRATIONS) + 1)
    with pytest.raises(StateError, match=rf"newer syncfw \(schema {len(MIGRATIONS) + 1}\); upgrade syncfw"):
        open_store()
    _write_schema_version(store, len(MIGRATIONS))
    assert open_store().cursor("accounts", "salesforce", "Account") == "c1"
