"""Run history keeps every operation of a run in its own table, and retention prunes history and
the settled journal (issue 15); each test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

from syncfw.state import OperationRecord, StateBackend


def _op(seq: int, target: str = "accounts", action: str = "create") -> OperationRecord:
    return OperationRecord(
        seq, target, action, f"k{seq:05}", f"page-{seq}", {}, {"Name": f"N{seq}", "Tags": ["a"]}
    )


def _runs(store: StateBackend, *days: int) -> None:
    with store.transaction() as tx:
        for day in days:
            tx.start_run(f"r{day}", "crm", "run", f"2026-01-{day:02}T00:00:00Z")


def _journal(store: StateBackend, run_id: str, ops: list[OperationRecord], at: str) -> None:
    """Journal ``ops`` as run ``run_id`` wrote them (intent, then applied)."""
    with store.transaction() as tx:
        for op in ops:
            seq = tx.open_intent(
                run_id, op.target, op.action, op.sync_key, op.page_id, op.before, op.after, at
            )
            tx.settle(seq, "applied", at)


def test_operations_are_kept_in_batches_and_read_back_in_order_past_one_page(store: StateBackend) -> None:
    _runs(store, 1, 2)
    with store.transaction() as tx:
        assert tx.add_operations("r1", (_op(n) for n in range(1, 1501))) == 1500
    with store.transaction() as tx:
        tx.add_operations("r1", [_op(1501, "contacts", "update")])
        tx.add_operations("r2", [_op(1)])

    kept = list(store.all_operations("r1", batch=400))
    assert [op.seq for op in kept] == list(range(1, 1502))
    assert kept[0] == OperationRecord(1, "accounts", "create", "k00001", "page-1", {}, {})  # no journal
    assert (kept[-1].target, kept[-1].action) == ("contacts", "update")
    assert store.operations("r1", after_seq=1499, limit=10) == kept[1499:]
    assert store.operation_counts(["r1", "r2", "r3"]) == {"r1": 1501, "r2": 1}


def test_operations_take_their_values_from_the_journal_while_it_keeps_them(store: StateBackend) -> None:
    _runs(store, 1, 2)
    ops = [_op(n) for n in range(1, 4)]
    with store.transaction() as tx:
        tx.add_operations("r1", ops)
        tx.add_operations("r2", [_op(1, action="update")])
    _journal(store, "r1", ops, "2026-01-01T00:00:01.000Z")
    second_part = OperationRecord(
        3, "accounts", "update", "k00003", "page-3", {"Tags": ["b"]}, {"Tags": ["c"]}
    )
    _journal(store, "r1", [second_part], "2026-01-01T00:00:02.000Z")  # a page written in two parts
    _journal(
        store,
        "r2",
        [OperationRecord(1, "accounts", "update", "k00001", "page-1", {"Name": "N1"}, {"Name": "M"})],
        "2026-01-02T00:00:00.000Z",
    )

    kept = list(store.all_operations("r1"))
    assert kept[:2] == ops[:2]  # values read back from the journal, not kept twice
    assert (kept[2].before, kept[2].after) == ({"Tags": ["b"]}, {"Name": "N3", "Tags": ["c"]})
    assert store.operations("r2")[0].after == {"Name": "M"}  # only its own run's entries

    with store.transaction() as tx:
        tx.prune(keep_runs=200, journal_before="2026-01-01T12:00:00.000Z")
    assert [(op.seq, op.sync_key, op.after) for op in store.all_operations("r1")] == [
        (1, "k00001", {}), (2, "k00002", {}), (3, "k00003", {}),
    ]  # fmt: skip
    assert store.operations("r2")[0].after == {"Name": "M"}


def test_retention_keeps_the_newest_runs_with_their_operations(store: StateBackend) -> None:
    _runs(store, 1, 2, 3, 4)
    with store.transaction() as tx:
        for run in ("r1", "r2", "r3", "r4"):
            tx.add_operations(run, [_op(1), _op(2)])
        tx.prune(keep_runs=2, journal_before="2000-01-01T00:00:00.000Z")

    assert [r.run_id for r in store.runs()] == ["r4", "r3"]
    assert store.operation_counts(["r1", "r2", "r3", "r4"]) == {"r3": 2, "r4": 2}


def test_retention_prunes_old_settled_intents_never_open_ones_and_its_cutoff_never_moves_back(
    store: StateBackend,
) -> None:
    with store.transaction() as tx:
        old = tx.open_intent("r1", "accounts", "update", "k1", "p1", {}, {"A": 1}, "2026-01-01T00:00:00.000Z")
        tx.settle(old, "applied", "2026-01-01T00:00:01.000Z")
        still_open = tx.open_intent(
            "r1", "accounts", "create", "k2", None, {}, {}, "2026-01-01T00:00:02.000Z"
        )
        recent = tx.open_intent(
            "r2", "accounts", "update", "k1", "p1", {}, {"A": 2}, "2026-02-01T00:00:00.000Z"
        )
        tx.settle(recent, "applied", "2026-02-01T00:00:00.500Z")
    assert store.journal_kept_since() is None

    with store.transaction() as tx:
        tx.prune(keep_runs=200, journal_before="2026-01-15T00:00:00.000Z")
    assert [e.seq for e in store.journal()] == [still_open, recent]
    assert store.journal_kept_since() == "2026-01-15T00:00:00.000Z"

    with store.transaction() as tx:  # retention.journal_days raised: what is gone stays gone
        tx.prune(keep_runs=200, journal_before="2026-01-01T00:00:00.000Z")
    assert store.journal_kept_since() == "2026-01-15T00:00:00.000Z"


def test_the_oldest_run_since_an_instant_is_found(store: StateBackend) -> None:
    _runs(store, 1, 2, 3)
    with store.transaction() as tx:
        tx.start_run("renew-1", "crm", "renew", "2026-01-02T12:00:00Z")
    found = store.oldest_run(command="run", since="2026-01-02T00:00:01Z")
    assert found is not None and found.run_id == "r3"
    assert (store.oldest_run(command="run", since=None) or found).run_id == "r1"
    assert store.oldest_run(command="run", since="2027-01-01T00:00:00Z") is None
