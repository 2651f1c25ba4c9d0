"""What every state store backend does: values come back as written, transactions commit or roll
back whole, lookups answer only the keys the store knows, the journal and quarantine keep their
order and counts, last written values keep a digest of what is long, the run history records how runs ended (see tests/state/conftest.py)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from syncfw.errors import StateError
from syncfw.state import (
    HistoryTransaction,
    NotionRead,
    QuarantinedRecord,
    RunHistory,
    StateBackend,
    StoreTransaction,
    SyncState,
    SyncTransaction,
)
from syncfw.state.history import UNRECORDED_END
from syncfw.state.schema import MIGRATIONS
from syncfw.state.sql import CHUNK
from syncfw.state.written import Digest, resolve
from tests.state.conftest import OpenStore


def test_the_store_offers_both_protocols(store: StateBackend) -> None:
    assert isinstance(store, StateBackend) and isinstance(store, SyncState) and isinstance(store, RunHistory)
    with store.transaction() as tx:
        assert isinstance(tx, StoreTransaction)
        assert isinstance(tx, SyncTransaction) and isinstance(tx, HistoryTransaction)


def test_values_survive_reopening_with_their_types(open_store: OpenStore) -> None:
    store = open_store()
    with store.transaction() as tx:
        tx.set_page("accounts", "001A", "page-1", created_by_syncfw=True)
        tx.set_written(
            "accounts", "001A", {"Tags": ("a", "b"), "Revenue": 1.5, "Name": "Edge", "Empty": None}
        )
        tx.set_cursor("accounts", "salesforce", "Account", '{"ts": 1}', "2026-01-01T00:00:00Z")
    store.close()
    again = open_store()
    assert again.schema_version == len(MIGRATIONS)
    assert again.pages("accounts")["001A"].created_by_syncfw is True
    assert again.last_written("accounts") == {
        "001A": {"Tags": ("a", "b"), "Revenue": 1.5, "Name": "Edge", "Empty": None}
    }
    assert again.cursor("accounts", "salesforce", "Account") == '{"ts": 1}'


LONG = "Maker of digital audio converters sold through retail and online."


def test_last_written_values_keep_short_values_and_a_digest_of_long_ones(open_store: OpenStore) -> None:
    store = open_store()
    updated = "2026-10-21T16:03:55.000+00:00"
    with store.transaction() as tx:
        tx.set_page("accounts", "001A", "page-1", created_by_syncfw=True)
        tx.set_written(
            "accounts", "001A", {"Description": LONG, "Updated": updated, "Open": 3, "Tags": ("a",)}
        )
        tx.set_written("accounts", "001A", {"Open": 4, "Renewal": "2027-01-31"})  # over what it had
    (last,) = open_store().last_written("accounts").values()

    assert set(last) == {"Description", "Updated", "Open", "Tags", "Renewal"}
    assert (last["Open"], last["Tags"], last["Renewal"]) == (
        4,
        ("a",),
        "2027-01-31",
    )  # short: kept as they are
    for name, value in (("Description", LONG), ("Updated", updated)):
        assert isinstance(last[name], Digest)
        assert last[name] == value and value == last[name]
        assert last[name] != value + "." and last[name] != None  # noqa: E711 (== is the digest's)
    row = bytes(store._query("SELECT written FROM pages WHERE sync_key = '001A'")[0][0])  # type: ignore[attr-defined]
    assert LONG.encode() not in row and len(row) < 50


def test_a_digest_is_resolved_from_the_journal_while_it_holds_the_value(open_store: OpenStore) -> None:
    store = open_store()
    with store.transaction() as tx:
        tx.set_page("accounts", "001A", "page-1", created_by_syncfw=True)
        seq = tx.open_intent(
            "r1",
            "accounts",
            "update",
            "001A",
            "page-1",
            {},
            {"Description": LONG + " Old"},
            "2026-01-01T00:00:00.000Z",
        )
        tx.settle(seq, "applied", "2026-01-01T00:00:00.000Z")
        seq = tx.open_intent(
            "r2",
            "accounts",
            "update",
            "001A",
            "page-1",
            {},
            {"Description": LONG},
            "2026-01-02T00:00:00.000Z",
        )
        tx.settle(seq, "applied", "2026-01-02T00:00:00.000Z")
        tx.set_written("accounts", "001A", {"Description": LONG, "Open": 3})
    last = store.last_written_for("accounts", ["001A"])["001A"]

    assert resolve(last, store.journaled_values("accounts", "001A")) == {"Description": LONG, "Open": 3}
    with store.transaction() as tx:
        tx.prune(keep_runs=10, journal_before="2026-01-03T00:00:00.000Z")
    assert resolve(last, store.journaled_values("accounts", "001A")) == {"Open": 3}  # no longer known


def test_written_values_need_the_page_in_the_identity_map(store: StateBackend) -> None:
    with pytest.raises(StateError, match="no page is known for '001A'"), store.transaction() as tx:
        tx.set_written("accounts", "001A", {"Open": 3})


def test_a_failed_transaction_leaves_nothing_behind(store: StateBackend) -> None:
    with pytest.raises(RuntimeError), store.transaction() as tx:
        tx.set_page("accounts", "001A", "page-1", created_by_syncfw=True)
        raise RuntimeError("crash between the write and the commit")
    assert store.pages("accounts") == {}


def test_adopting_a_page_keeps_whether_syncfw_created_it(store: StateBackend) -> None:
    with store.transaction() as tx:
        tx.set_page("t", "k", "p1", created_by_syncfw=True)
        tx.set_page("t", "k", "p1", created_by_syncfw=False)
    assert store.pages("t")["k"].created_by_syncfw is True
    with store.transaction() as tx:
        tx.set_archived("t", "k", True)
        tx.set_page("t", "k", "p2", created_by_syncfw=False)
    entry = store.pages("t")["k"]
    assert (entry.page_id, entry.created_by_syncfw, entry.archived) == ("p2", False, False)


def test_lookups_by_key_answer_only_known_keys_past_one_chunk(store: StateBackend) -> None:
    known = [f"k{i:04}" for i in range(CHUNK + 20)]
    with store.transaction() as tx:
        for key in known:
            tx.set_page("t", key, f"page-{key}", created_by_syncfw=True)
            tx.set_written("t", key, {"Name": key})
            tx.set_relation_keys("t", key, {"Contacts": (f"c-{key}",)})
        tx.set_page("other", "k0000", "elsewhere", created_by_syncfw=True)
    asked = [*known[::2], "missing"]
    assert set(store.pages_for("t", asked)) == set(known[::2])
    assert store.pages_for("t", ["k0000"])["k0000"].page_id == "page-k0000"
    assert store.last_written_for("t", asked)[known[-2]] == {"Name": known[-2]}
    assert set(store.last_written_for("t", asked)) == set(known[::2])
    assert store.relation_keys_for("t", [known[-1], "missing"]) == {
        known[-1]: {"Contacts": (f"c-{known[-1]}",)}
    }
    by_id = store.pages_by_id("t", [f"page-{k}" for k in known] + ["elsewhere"])
    assert len(by_id) == len(known) and by_id["page-k0001"].sync_key == "k0001"
    assert store.page_count("t") == len(known) and store.page_count("t", archived=True) == 0


def test_iterations_yield_batches_in_key_order(store: StateBackend) -> None:
    with store.transaction() as tx:
        for key in ("c", "a", "e", "b", "d"):
            tx.set_page("t", key, f"p-{key}", created_by_syncfw=False)
        tx.set_archived("t", "e", True)
        tx.set_relation_keys("t", "b", {"R": ("x",), "S": ("y",)})
        tx.set_relation_keys("t", "a", {"R": ()})
        tx.set_match("t", "m", "r2", "a")
        tx.set_member("t", "m", "r1", ("b", {"Open": 1}))
        tx.set_unmatched("t", "m", "r3", {"domain": "x.example"})
        tx.set_match("t", "m", "r1", "b")
    assert [[p.sync_key for p in batch] for batch in store.iter_pages("t", batch=2)] == [
        ["a", "b"],
        ["c", "d"],
        ["e"],
    ]
    assert list(store.iter_relation_keys("t", batch=1)) == [["a"], ["b"]]
    assert list(store.iter_record_keys("t", None, batch=3)) == [["a", "b", "c"], ["d"]]
    assert list(store.iter_record_keys("t", "m", batch=2)) == [["r1", "r2"], ["r3"]]


def test_matches_members_and_unmatched_are_kept_and_forgotten(store: StateBackend) -> None:
    with store.transaction() as tx:
        tx.set_match("t", "orgs", "o1", "001A")
        tx.set_match("t", "orgs", "o2", "001B")
        tx.set_member("t", "tickets", "t1", ("001A", {"Open": 1}))
        tx.set_member("t", "tickets", "t2", ("001A", {"Open": 0}))
        tx.set_unmatched("t", "orgs", "o3", {"domain": "nowhere.example"})
    assert store.matches_for("t", "orgs", ["o1", "o9"]) == {"o1": "001A"}
    assert store.members_for("t", "tickets", ["t2"]) == {"t2": ("001A", {"Open": 0})}
    assert sorted(store.members_of_pages("t", "tickets", ["001A"])) == [
        ("t1", "001A", {"Open": 1}),
        ("t2", "001A", {"Open": 0}),
    ]
    assert store.unmatched("t") == [("orgs", "o3", {"domain": "nowhere.example"})]
    with store.transaction() as tx:
        tx.set_match("t", "orgs", "o1", None)
        tx.set_member("t", "tickets", "t1", None)
        tx.set_unmatched("t", "orgs", "o3", None)
        tx.forget_page("t", "001A")
    assert store.matches("t", "orgs") == {"o2": "001B"}
    assert store.members("t", "tickets") == {"t2": ("001A", {"Open": 0})}
    assert store.unmatched("t") == []


def test_the_journal_keeps_intents_in_order_until_settled(store: StateBackend) -> None:
    with store.transaction() as tx:
        first = tx.open_intent("run-1", "t", "create", "k1", None, {}, {"Name": "A"}, "2026-01-01T00:00:00Z")
        second = tx.open_intent(
            "run-1", "t", "update", "k2", "p2", {"Tags": ("x",)}, {"Tags": ("x", "y")}, "2026-01-01T00:00:01Z"
        )
        other = tx.open_intent("run-2", "t", "archive", "k3", "p3", {}, {}, "2026-01-01T00:00:02Z")
    assert first < second < other
    with store.transaction() as tx:
        tx.settle(first, "applied", "2026-01-01T00:00:03Z", "p1")
        tx.settle(second, "absent", "2026-01-01T00:00:04Z")
    assert [(e.seq, e.status, e.page_id) for e in store.journal(run_id="run-1")] == [
        (first, "applied", "p1"),
        (second, "absent", "p2"),
    ]
    (open_entry,) = store.journal(status="open")
    assert (open_entry.seq, open_entry.run_id, open_entry.action) == (other, "run-2", "archive")
    assert store.journal(run_id="run-1")[1].before == {"Tags": ("x",)}


def test_quarantine_counts_attempts_until_released(store: StateBackend) -> None:
    record = QuarantinedRecord(
        "t", "m", "r1", "salesforce", "Account", "Revenue", "not a number", {"Revenue": "lots"},
        False, "2026-01-01T00:00:00Z", "2026-01-01T00:00:00Z", 1,
    )  # fmt: skip
    with store.transaction() as tx:
        tx.quarantine(record)
    with store.transaction() as tx:
        tx.quarantine(
            QuarantinedRecord(
                **{**record.__dict__, "reason": "still not a number", "last_seen": "2026-01-02T00:00:00Z"}
            )
        )
    (kept,) = store.quarantined("t")
    assert (kept.attempts, kept.reason, kept.first_seen, kept.last_seen) == (
        2, "still not a number", "2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z",
    )  # fmt: skip
    assert store.quarantined("other") == []
    with store.transaction() as tx:
        tx.release("t", "m", "r1")
    assert store.quarantined() == []


def test_targets_cursors_and_the_notion_read_watermark_are_kept(store: StateBackend) -> None:
    read_at = datetime(2026, 1, 1, 12, 30, 15, 123456, tzinfo=UTC)
    assert store.notion_read("t") is None
    with store.transaction() as tx:
        tx.set_target_ids("t", "db-1", "ds-1")
        tx.set_notion_read("t", NotionRead(read_at, 0))
        tx.set_cursor("t", "salesforce", "Account", "c1", "2026-01-01T00:00:00Z")
        tx.set_cursor("t", "salesforce", "Contact", "c2", "2026-01-01T00:00:00Z")
    with store.transaction() as tx:
        tx.set_target_ids("t", None, "ds-2")
        tx.set_notion_read("t", NotionRead(read_at, 4))
        tx.delete_cursor("t", "salesforce", "Contact")
    assert store.target_ids("t") == (None, "ds-2") and store.target_ids("other") is None
    assert store.notion_read("t") == NotionRead(read_at, 4)
    assert store.cursors() == [("t", "salesforce", "Account", "c1", "2026-01-01T00:00:00Z")]
    assert store.cursor("t", "salesforce", "Contact") is None


def test_run_history_source_reads_alerts_and_settings(store: StateBackend) -> None:
    with store.transaction() as tx:
        tx.start_run("r1", "crm", "run", "2026-01-01T00:00:00Z")
        tx.start_run("r2", "crm", "run", "2026-01-02T00:00:00Z")
        tx.read_attempted("t", "salesforce", "Account", "2026-01-02T00:00:01Z")
        tx.read_finished("t", "salesforce", "Account", "2026-01-02T00:00:02Z", None)
        tx.read_attempted("t", "salesforce", "Account", "2026-01-02T00:00:03Z")
        tx.read_finished("t", "salesforce", "Account", "2026-01-02T00:00:04Z", "Salesforce is down")
        tx.set_alert_state("run_failed", "crm", "firing", "2026-01-02T00:00:05Z")
        tx.set_setting("dashboard", "on")
        tx.set_setting("dashboard", "off")
    store.end_run(
        "r2", finished_at="2026-01-02T00:01:00Z", status="partial", exit_code=3, summary={"n": 1}, error=None
    )
    runs = store.runs()
    assert [(r.run_id, r.status, r.exit_code, r.summary) for r in runs] == [
        ("r2", "partial", 3, {"n": 1}),
        ("r1", "running", None, None),
    ]
    assert store.source_reads() == [
        ("t", "salesforce", "Account", "2026-01-02T00:00:03Z", "2026-01-02T00:00:02Z", "Salesforce is down")
    ]
    assert store.alert_states() == {("run_failed", "crm"): ("firing", "2026-01-02T00:00:05Z")}
    assert store.setting("dashboard") == "off" and store.setting("missing") is None


def test_runs_started_in_the_same_second_are_newest_first_in_the_order_they_started(
    store: StateBackend,
) -> None:
    """``started_at`` keeps whole seconds and a run with nothing to do takes less than one: the
    history, the last run and pruning go by the order runs started in, not by their random ids."""
    second = "2026-01-02T00:00:00Z"
    ids = ["r-f00", "r-a00", "r-c00", "r-b00"]  # neither sorted nor reverse-sorted
    for run_id in ids:
        with store.transaction() as tx:
            tx.start_run(run_id, "crm", "run", second)
        store.end_run(run_id, finished_at=second, status="success", exit_code=0, summary={}, error=None)
    assert [r.run_id for r in store.runs()] == ids[::-1]
    assert store.last_run("run") is not None and store.last_run("run").run_id == ids[-1]  # type: ignore[union-attr]
    assert store.oldest_run(command="run", since=second).run_id == ids[0]  # type: ignore[union-attr]
    with store.transaction() as tx:
        tx.prune(keep_runs=2, journal_before=second)
    assert [r.run_id for r in store.runs()] == ids[:1:-1]


def test_a_run_left_running_is_recorded_failed_by_the_next_run(store: StateBackend) -> None:
    """A run killed, or one whose end the full disk refused, stays ``running``; the next run
    (which holds the run lock, so no other run is going on) records it as failed."""
    with store.transaction() as tx:
        tx.start_run("r1", "crm", "run", "2026-01-01T00:00:00Z")
        tx.finish_run(
            "r1", finished_at="2026-01-01T00:01:00Z", status="success", exit_code=0, summary={}, error=None
        )
        tx.start_run("r2", "crm", "run", "2026-01-02T00:00:00Z")
    with store.transaction() as tx:
        tx.end_unfinished_runs("2026-01-03T00:00:00Z")
        tx.start_run("r3", "crm", "run", "2026-01-03T00:00:00Z")
    runs = {r.run_id: r for r in store.runs()}
    assert (runs["r2"].status, runs["r2"].exit_code, runs["r2"].finished_at, runs["r2"].error) == (
        "failed", 1, "2026-01-03T00:00:00Z", UNRECORDED_END,
    )  # fmt: skip
    assert runs["r1"].status == "success" and runs["r3"].status == "running"
