"""The SQLite store's own behaviour: its file, and what a full disk or the file size limit mean
for the user."""

from __future__ import annotations

import resource
import signal
from pathlib import Path

import pytest

from syncfw.errors import StateError
from syncfw.state import StateStore


def test_an_unwritable_location_is_a_state_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(StateError, match="cannot open the state store"):
        StateStore(blocker / "state.sqlite")


def test_a_commit_refused_by_a_full_disk_is_one_clear_error_and_commits_nothing(tmp_path: Path) -> None:
    """A COMMIT the disk refuses: SQLite has already rolled the transaction back by itself, so the
    store must not try again (that raised "cannot rollback - no transaction is active" and hid
    the cause). The disk is "full" through this process's file size limit (``ulimit -f``, SIGXFSZ
    ignored), lifted again before the store is used once more."""
    path = tmp_path / "s.sqlite"
    store = StateStore(path)
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    full = max(f.stat().st_size for f in tmp_path.iterdir()) + 8192
    previous = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (full, hard))
    try:
        with pytest.raises(StateError) as refused, store.transaction() as tx:
            tx.set_page("accounts", "001A", "page-1", created_by_syncfw=True)
            tx.open_intent(
                "r1",
                "accounts",
                "update",
                "001A",
                "page-1",
                {},
                {"Notes": "n" * 1_000_000},
                "2026-01-01T00:00:00Z",
            )
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, previous)
    message = str(refused.value)
    assert message.startswith(f"the state store {path} could not be written: disk full")
    assert "nothing is lost" in message and "\n" not in message
    assert store.pages("accounts") == {}
    with store.transaction() as tx:
        tx.set_page("accounts", "001B", "page-2", created_by_syncfw=True)
    assert set(store.pages("accounts")) == {"001B"}


def test_a_write_sqlite_finds_no_room_for_is_disk_full_and_commits_nothing(tmp_path: Path) -> None:
    """SQLITE_FULL, what SQLite answers when a write finds no room (ENOSPC, or the database's
    ``max_page_count``, used here to fill it: https://www.sqlite.org/pragma.html#pragma_max_page_count)."""
    path = tmp_path / "s.sqlite"
    store = StateStore(path)
    store._db.execute("PRAGMA max_page_count = " + str(store._db.execute("PRAGMA page_count").fetchone()[0]))
    with pytest.raises(StateError) as refused, store.transaction() as tx:
        tx.set_page("accounts", "001A", "page-1", created_by_syncfw=True)
        tx.open_intent(
            "r1", "accounts", "update", "001A", "page-1", {}, {"Notes": "n" * 100_000}, "2026-01-01T00:00:00Z"
        )
    message = str(refused.value)
    assert message.startswith(f"the state store {path} could not be written: disk full; nothing is lost")
    assert f"KiB free in {tmp_path}" in message and "\n" not in message
    assert store.pages("accounts") == {}


def test_the_end_of_a_run_is_recorded_after_a_write_the_file_size_limit_refused(tmp_path: Path) -> None:
    """The run's writes filled the write-ahead log up to the file size limit (``ulimit -f``,
    SIGXFSZ ignored): the refused write gives the log's space back, so the run's end (and what
    follows it) is still recorded instead of leaving the run ``running``."""
    path = tmp_path / "s.sqlite"
    store = StateStore(path)
    with store.transaction() as tx:
        tx.start_run("r1", "crm", "run", "2026-01-01T00:00:00Z")
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    full = max(f.stat().st_size for f in tmp_path.iterdir()) + 200_000
    previous = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (full, hard))
    try:
        with pytest.raises(StateError, match="disk full"):
            for i in range(1000):
                with store.transaction() as tx:
                    tx.open_intent(
                        "r1",
                        "accounts",
                        "update",
                        f"k{i}",
                        None,
                        {},
                        {"Notes": "n" * 20_000},
                        "2026-01-01T00:00:00Z",
                    )
        store.end_run(
            "r1",
            finished_at="2026-01-01T00:01:00Z",
            status="failed",
            exit_code=1,
            summary={},
            error="disk full",
        )
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, previous)
    (run,) = store.runs()
    assert (run.status, run.exit_code, run.error) == ("failed", 1, "disk full")
