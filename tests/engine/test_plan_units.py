"""plan_target as a stage: records from an in-memory connector, a real state store, Notion pages
as values; no service. Each test reads what a user would see of the plan: the writes, the
findings, what the state store is to learn, and how far the cursors may go."""

from __future__ import annotations

from pathlib import Path

import pytest

from syncfw.connector import Checkpoint, Record
from syncfw.engine.commit import commit_target
from syncfw.engine.model import ApplyResult
from syncfw.plugins import Registry
from syncfw.recipe import Recipe
from syncfw.state import StateStore
from tests.engine.stages import account, load, notion_page, plan, renewal


@pytest.fixture
def recipe(tmp_path: Path, registry: Registry) -> Recipe:
    return load(tmp_path, registry)


@pytest.fixture
def store(tmp_path: Path) -> StateStore:
    return StateStore(tmp_path / "state.sqlite")


def synced(store: StateStore, pages: dict[str, tuple[str, dict[str, object]]]) -> list[dict[str, object]]:
    """Record in state that syncfw made and wrote ``pages`` (key → (page id, values)); the pages
    as Notion returns them."""
    with store.transaction() as tx:
        for key, (page_id, values) in pages.items():
            tx.set_page("accounts", key, page_id, created_by_syncfw=True)
            tx.set_written("accounts", key, dict(values))
    return [notion_page(page_id, values) for page_id, values in pages.values()]


def values(key: str, name: str, employees: int = 10, tier: str | None = None) -> dict[str, object]:
    out: dict[str, object] = {"Key": key, "Name": name, "Employees": employees, "Domain": f"{key}.example"}
    if tier is not None:
        out["Tier"] = tier
    return out


def test_a_first_plan_creates_a_page_per_record_with_every_value(
    recipe: Recipe, registry: Registry, store: StateStore
) -> None:
    planned = plan(
        recipe,
        registry,
        store,
        {"accounts": [account("a1", "Acme"), account("b2", "Beta"), Checkpoint("rows", "c2")]},
    )

    ops = [(op.action, op.sync_key, dict(op.after)) for op in planned.plan.operations]
    assert ops == [
        ("create", "a1", values("a1", "Acme")),
        ("create", "b2", values("b2", "Beta")),
    ]
    assert planned.plan.problems == () and planned.plan.pages == 0
    assert planned.ledger.streams["accounts"].checkpoints == ((2, "c2"),)
    assert {p: r.key for p, r in planned.ledger.streams["accounts"].records.items()} == {0: "a1", 1: "b2"}


def test_only_the_changed_page_is_written_and_the_unchanged_ones_are_counted(
    recipe: Recipe, registry: Registry, store: StateStore
) -> None:
    live = synced(store, {"a1": ("p-a1", values("a1", "Acme")), "b2": ("p-b2", values("b2", "Beta"))})

    planned = plan(
        recipe, registry, store, {"accounts": [account("a1", "Acme"), account("b2", "Beta Inc")]}, live
    )

    assert [
        (op.action, op.sync_key, op.page_id, dict(op.after), dict(op.before))
        for op in planned.plan.operations
    ] == [("update", "b2", "p-b2", {"Name": "Beta Inc"}, {"Name": "Beta"})]
    assert planned.plan.unchanged == 1 and planned.plan.pages == 2
    assert list(planned.ledger.streams["accounts"].records.values()) == [account("b2", "Beta Inc")]


def test_a_person_s_edit_is_drift_and_is_reverted(
    recipe: Recipe, registry: Registry, store: StateStore
) -> None:
    synced(store, {"a1": ("p-a1", values("a1", "Acme"))})
    edited = notion_page("p-a1", values("a1", "Acme", employees=99))

    planned = plan(recipe, registry, store, {"accounts": [account("a1", "Acme")]}, [edited])

    assert [(d.sync_key, d.property, d.synced, d.live, d.action, d.editor) for d in planned.plan.drift] == [
        ("a1", "Employees", 10, 99, "reverted", "Ada")
    ]
    assert [(op.sync_key, dict(op.after)) for op in planned.plan.operations] == [("a1", {"Employees": 10})]


def test_a_record_that_cannot_be_evaluated_is_quarantined_and_the_rest_is_planned(
    recipe: Recipe, registry: Registry, store: StateStore
) -> None:
    planned = plan(
        recipe,
        registry,
        store,
        {"accounts": [account("a1", "Acme", employees="many"), account("b2", "Beta")]},
    )

    assert [op.sync_key for op in planned.plan.operations] == ["b2"]
    assert [(p.key, p.property) for p in planned.plan.problems] == [("a1", "Employees")]
    assert [(q.mapping, q.record.key) for q in planned.delta.quarantine] == [("accounts", "a1")]


def test_a_record_deleted_at_the_source_archives_its_page(
    recipe: Recipe, registry: Registry, store: StateStore
) -> None:
    live = synced(store, {"a1": ("p-a1", values("a1", "Acme")), "b2": ("p-b2", values("b2", "Beta"))})
    gone = Record("rows", "b2", {}, deleted=True)

    planned = plan(recipe, registry, store, {"accounts": [account("a1", "Acme"), gone]}, live)

    assert [(op.action, op.sync_key, op.page_id) for op in planned.plan.operations] == [
        ("archive", "b2", "p-b2")
    ]


def test_a_secondary_record_enriches_the_page_it_matches_and_the_match_is_learnt(
    recipe: Recipe, registry: Registry, store: StateStore
) -> None:
    live = synced(store, {"a1": ("p-a1", values("a1", "Acme"))})
    streams: dict[str, list[Record | Checkpoint]] = {
        "accounts": [account("a1", "Acme")],
        "renewals": [renewal("a1.example", "Gold"), renewal("nowhere.example", "Bronze")],
    }

    planned = plan(recipe, registry, store, streams, live)

    assert [(op.sync_key, dict(op.after)) for op in planned.plan.operations] == [("a1", {"Tier": "Gold"})]
    assert planned.delta.matches == {"renewals": {"a1.example": "a1"}}
    assert [u["key"] for u in planned.plan.unmatched] == ["nowhere.example"]
    assert planned.delta.unmatched == {
        "renewals": {"nowhere.example": {"domain": "nowhere.example", "tier": "Bronze"}}
    }


def test_the_cursor_stays_before_a_record_whose_write_did_not_happen(
    recipe: Recipe, registry: Registry, store: StateStore
) -> None:
    stream: list[Record | Checkpoint] = [
        account("a1", "Acme"),
        Checkpoint("rows", "c1"),
        account("b2", "Beta"),
        Checkpoint("rows", "c2"),
    ]
    planned = plan(recipe, registry, store, {"accounts": stream})
    held = ApplyResult(held={"accounts": frozenset({1})})  # b2's create is still pending

    with store.transaction() as tx:
        commit_target(
            tx, store, target="accounts", run_id="r1", delta=planned.delta, result=held, ledger=planned.ledger
        )

    assert store.cursor("accounts", "accounts", "rows") == "c1"
