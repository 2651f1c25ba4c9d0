"""One Notion row, many owners: ownership, drift, multi-source merge, relations and deletes,
with the real clients against the emulators."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from syncfw.engine.run import RunReport
from syncfw.plugins import Registry
from syncfw.recipe import Recipe, load_recipe
from syncfw.sandbox.runner import Sandbox
from tests.conftest import RECIPE as ACCOUNTS_RECIPE
from tests.engine.multi_source import TICKET_ROWS, write_csv, write_recipe
from tests.engine.test_sync_end_to_end import bump, by_key, init, pages, seed, sync, text, write_seed


def value(page: dict[str, Any], name: str) -> Any:
    prop = page["properties"][name]
    kind = prop["type"]
    raw = prop[kind]
    if kind in ("title", "rich_text"):
        return "".join(t["plain_text"] for t in raw) or None
    if kind in ("select", "status"):
        return raw["name"] if raw else None
    if kind == "date":
        return raw["start"] if raw else None
    return raw


def writes(box: Sandbox) -> list[dict[str, Any]]:
    assert box.notion is not None
    return [r for r in box.notion.requests() if r["endpoint"] in ("POST /v1/pages", "PATCH /v1/pages/{id}")]


@pytest.fixture
def merged(sandbox: Sandbox, registry: Registry, tmp_path: Path) -> Recipe:
    recipe = load_recipe(write_recipe(tmp_path), registry=registry)
    ids = init(recipe)
    assert sandbox.notion is not None
    sandbox.notion.human_update_schema(ids["accounts"], {"Notes": {"rich_text": {}}})
    return recipe


def live(sandbox: Sandbox, recipe: Recipe) -> dict[str, dict[str, Any]]:
    from syncfw.state import StateStore

    store = StateStore(recipe.state_path)
    ids = store.target_ids("accounts")
    store.close()
    assert ids is not None
    return by_key(pages(sandbox, ids[1]))


def edge(sandbox: Sandbox, recipe: Recipe, seed_dir: Path) -> dict[str, Any]:
    accounts = {a["Name"]: a["Id"] for a in seed(seed_dir, "Account")}
    return live(sandbox, recipe)[accounts["Edge Communications"]]


def test_three_sources_merge_into_one_page_each(
    sandbox: Sandbox, merged: Recipe, registry: Registry, seed_dir: Path
) -> None:
    report = sync(merged, registry)
    assert report.exit_code == 0, report.error
    accounts = seed(seed_dir, "Account")
    pages_now = live(sandbox, merged)
    assert set(pages_now) == {a["Id"] for a in accounts}  # secondary sources never create pages
    names = {a["Id"]: a["Name"] for a in accounts}
    by_name = {names[k]: p for k, p in pages_now.items()}
    edge_page = by_name["Edge Communications"]
    assert (value(edge_page, "Tier"), value(edge_page, "Renewal")) == ("Gold", "2027-01-31")
    assert (value(edge_page, "Open Tickets"), value(edge_page, "Last Ticket")) == (2, "2026-11-10")
    assert value(by_name["Burlington Textiles Corp of America"], "Tier") == "Silver"
    assert value(by_name["GenePoint"], "Open Tickets") == 1
    assert value(by_name["sForce"], "Open Tickets") == 0
    assert value(by_name["United Oil & Gas Corp."], "Tier") is None  # ambiguous: three pages share uos.com
    # one request per page: the secondary values travel with the create
    assert report.notion_requests["writes"] == len(accounts)


def test_unmatched_and_ambiguous_records_are_reported_and_skipped(
    sandbox: Sandbox, merged: Recipe, registry: Registry
) -> None:
    report = sync(merged, registry)
    unmatched = {
        (u["stream"], u["key"]): u["reason"] for u in report.targets["accounts"].as_dict()["unmatched"]
    }
    assert "matches 3 pages" in unmatched[("rows", "uos.com")]
    assert "matches no page" in unmatched[("rows", "unknown-company.com")]
    assert "matches no page" in unmatched[("rows", "t5")]
    assert report.exit_code == 0  # a record without a page is expected, not a failure


def test_human_owned_properties_are_never_written_and_a_clean_rerun_writes_nothing(
    sandbox: Sandbox, merged: Recipe, registry: Registry, seed_dir: Path
) -> None:
    assert sync(merged, registry).exit_code == 0
    assert sandbox.notion is not None
    page = edge(sandbox, merged, seed_dir)
    sandbox.notion.human_edit(page["id"], {"Notes": {"rich_text": [{"text": {"content": "call Rose"}}]}})
    sandbox.notion.reset_stats()
    again = sync(merged, registry)
    assert again.exit_code == 0
    assert again.notion_requests["writes"] == 0 and writes(sandbox) == []
    assert value(edge(sandbox, merged, seed_dir), "Notes") == "call Rose"

    accounts = seed(seed_dir, "Account")
    accounts[0]["Industry"] = "Biotechnology"
    bump(accounts[0])
    write_seed(seed_dir, "Account", accounts)
    sandbox.notion.reset_stats()
    assert sync(merged, registry).exit_code == 0
    sent = writes(sandbox)
    assert [set(r["body"]["properties"]) for r in sent] == [{"Industry"}]
    assert all("Notes" not in json.dumps(r["body"]) for r in sent)


@pytest.mark.parametrize("policy", ["revert", "flag"])
def test_a_human_edit_to_a_source_owned_property_is_handled_by_the_drift_policy(
    sandbox: Sandbox, registry: Registry, tmp_path: Path, seed_dir: Path, policy: str
) -> None:
    recipe = load_recipe(write_recipe(tmp_path, on_drift=policy), registry=registry)
    init(recipe)
    assert sync(recipe, registry).exit_code == 0
    assert sandbox.notion is not None
    page = edge(sandbox, recipe, seed_dir)
    sandbox.notion.human_edit(
        page["id"],
        {"Industry": {"select": {"name": "Retail"}}, "Tier": {"select": {"name": "Bronze"}}},
        user_name="Ada Lovelace",
    )
    report = sync(recipe, registry)
    findings = report.targets["accounts"].as_dict()["drift_findings"]
    assert {(f["property"], f["live"], f["editor"]) for f in findings} == {
        ("Industry", "Retail", "Ada Lovelace"),
        ("Tier", "Bronze", "Ada Lovelace"),
    }
    after = edge(sandbox, recipe, seed_dir)
    if policy == "revert":
        assert {f["action"] for f in findings} == {"reverted"}
        assert (value(after, "Industry"), value(after, "Tier")) == ("Electronics", "Gold")
        assert sync(recipe, registry).targets["accounts"].as_dict()["drift"] == 0
    else:
        assert {f["action"] for f in findings} == {"flagged"}
        assert (value(after, "Industry"), value(after, "Tier")) == ("Retail", "Bronze")
        again = sync(recipe, registry)
        assert again.targets["accounts"].as_dict()["drift"] == 2  # still flagged
        assert again.notion_requests["writes"] == 0


def test_an_aggregate_follows_changes_and_deletes_of_its_records(
    sandbox: Sandbox, merged: Recipe, registry: Registry, seed_dir: Path, tmp_path: Path
) -> None:
    assert sync(merged, registry).exit_code == 0
    rows = [dict(r) for r in TICKET_ROWS]
    rows[2]["status"] = "open"  # t3 reopened
    rows.append({"id": "t6", "domain": "edgecomm.com", "status": "open", "updated": "2026-11-20"})
    write_csv(tmp_path / "tickets.csv", rows)
    report = sync(merged, registry)
    assert report.exit_code == 0
    page = edge(sandbox, merged, seed_dir)
    assert (value(page, "Open Tickets"), value(page, "Last Ticket")) == (4, "2026-11-20")
    assert report.notion_requests["writes"] == 1
    write_csv(tmp_path / "tickets.csv", [r for r in rows if r["id"] not in ("t1", "t6")])
    assert sync(merged, registry).exit_code == 0
    page = edge(sandbox, merged, seed_dir)
    assert (value(page, "Open Tickets"), value(page, "Last Ticket")) == (2, "2026-11-10")


def test_a_match_survives_a_rename_of_the_matched_property(
    sandbox: Sandbox, merged: Recipe, registry: Registry, seed_dir: Path, tmp_path: Path
) -> None:
    assert sync(merged, registry).exit_code == 0
    accounts = seed(seed_dir, "Account")
    edge_record = next(a for a in accounts if a["Name"] == "Edge Communications")
    edge_record["Website"] = "https://edge-communications.example"
    bump(edge_record)
    write_seed(seed_dir, "Account", accounts)
    rows = [dict(r) for r in TICKET_ROWS]
    rows.append({"id": "t7", "domain": "edgecomm.com", "status": "open", "updated": "2026-11-21"})
    write_csv(tmp_path / "tickets.csv", rows)
    assert sync(merged, registry).exit_code == 0
    page = edge(sandbox, merged, seed_dir)
    assert value(page, "Domain") == "edge-communications.example"
    assert value(page, "Tier") == "Gold"  # the sheet row keeps its page through the identity map


def test_relations_resolve_on_a_later_run_when_the_page_arrives_late(
    sandbox: Sandbox, registry: Registry, seed_dir: Path
) -> None:
    recipe = load_recipe(ACCOUNTS_RECIPE, registry=registry)
    ids = init(recipe)
    late_account = "001Sx0000009ZZZIAA"
    contacts = seed(seed_dir, "Contact")
    newcomer = dict(
        contacts[0], Id="003Sx000000LATEIAA", FirstName="Late", LastName="Comer", AccountId=late_account
    )
    bump(newcomer)
    write_seed(seed_dir, "Contact", [*contacts, newcomer])

    first = sync(recipe, registry)
    assert first.exit_code == 0
    pending = first.targets["contacts"].as_dict()["pending_relation_keys"]
    assert [(p["sync_key"], p["keys"]) for p in pending] == [(newcomer["Id"], [late_account])]
    assert by_key(pages(sandbox, ids["contacts"]))[newcomer["Id"]]["properties"]["Account"]["relation"] == []

    accounts = seed(seed_dir, "Account")
    arrival = dict(accounts[0], Id=late_account, Name="Late Arrival Ltd", Website="https://late.example")
    bump(arrival)
    write_seed(seed_dir, "Account", [*accounts, arrival])
    second = sync(recipe, registry)
    assert second.exit_code == 0
    account_page = by_key(pages(sandbox, ids["accounts"]))[late_account]
    relation = by_key(pages(sandbox, ids["contacts"]))[newcomer["Id"]]["properties"]["Account"]["relation"]
    assert [r["id"] for r in relation] == [account_page["id"]]
    assert second.targets["contacts"].as_dict()["pending_relations"] == 0
    assert sync(recipe, registry).notion_requests["writes"] == 0


def test_a_deletion_wave_over_the_guard_stops_before_writing(
    sandbox: Sandbox, merged: Recipe, registry: Registry, seed_dir: Path
) -> None:
    assert sync(merged, registry).exit_code == 0
    accounts = seed(seed_dir, "Account")
    for record in accounts[:4]:  # 4 of 12 pages: over 20%
        record["IsDeleted"] = True
        bump(record)
    write_seed(seed_dir, "Account", accounts)
    assert sandbox.notion is not None
    sandbox.notion.reset_stats()
    stopped: RunReport = sync(merged, registry)
    assert stopped.exit_code == 4
    assert "--allow-mass-change" in (stopped.error or "")
    assert writes(sandbox) == []
    assert len(live(sandbox, merged)) == len(accounts)

    approved = sync(merged, registry, allow_mass_change=True)
    assert approved.exit_code == 0
    assert approved.targets["accounts"].as_dict()["archived"] == 4
    assert set(live(sandbox, merged)) == {a["Id"] for a in accounts[4:]}


def test_only_pages_syncfw_created_are_archived(
    sandbox: Sandbox, merged: Recipe, registry: Registry, seed_dir: Path
) -> None:
    assert sync(merged, registry).exit_code == 0
    assert sandbox.notion is not None
    from syncfw.state import StateStore

    store = StateStore(merged.state_path)
    ids = store.target_ids("accounts")
    store.close()
    assert ids is not None
    handmade = sandbox.notion.human_create_page(
        ids[1],
        {
            "Name": {"title": [{"text": {"content": "Hand made"}}]},
            "Salesforce ID": {"rich_text": [{"text": {"content": "001Sx0000008HANDIA"}}]},
        },
    )
    accounts = seed(seed_dir, "Account")
    ghost = dict(accounts[0], Id="001Sx0000008HANDIA", Name="Hand made", IsDeleted=True)
    bump(ghost)
    write_seed(seed_dir, "Account", [*accounts, ghost])
    report = sync(merged, registry)
    assert report.targets["accounts"].as_dict()["archived"] == 0
    assert "001Sx0000008HANDIA" in live(sandbox, merged)
    assert text(live(sandbox, merged)["001Sx0000008HANDIA"]["properties"]["Name"]) == "Hand made"
    assert handmade["id"] == live(sandbox, merged)["001Sx0000008HANDIA"]["id"]
