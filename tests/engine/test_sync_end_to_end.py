"""The main job end to end: real simple-salesforce and notion-client against the emulators."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from syncfw.engine.run import Progress, RunObserver, RunOptions, RunReport, execute
from syncfw.notion.setup import init_targets
from syncfw.plugins import Registry
from syncfw.recipe import Recipe, load_recipe
from syncfw.sandbox.runner import Sandbox
from syncfw.state import NotionRead, StateStore, open_state
from tests.conftest import RECIPE, start_sandbox

FAST = 500.0  # requests/second: tests do not wait for Notion's real budget


def init(recipe: Recipe) -> dict[str, str]:
    from syncfw.engine.run import notion_client_for

    client = notion_client_for(recipe, FAST)
    store = open_state(recipe)
    ids = {result.target: result.data_source_id for result in init_targets(client, store, recipe)}
    client.close()
    store.close()
    return ids


def sync(recipe: Recipe, registry: Registry, **options: Any) -> RunReport:
    options.setdefault("rate_limit", FAST)
    return execute(recipe, registry, RunOptions(**options))


def kept_records(report: RunReport, target: str) -> list[str]:
    """Keys of the records the target's read ledger holds (those behind writes not settled)."""
    return [r.key for read in report.targets[target].ledger.streams.values() for r in read.records.values()]


class KeptRecords(RunObserver, Progress):
    """Notes, as each target's writes begin, the records its plan kept."""

    def __init__(self) -> None:
        self.report: RunReport | None = None
        self.kept: dict[str, list[str]] = {}

    def run_started(self, report: RunReport, client: Any, store: Any) -> None:
        self.report = report

    def writes(self, target: str, total: int) -> None:
        assert self.report is not None
        self.kept[target] = kept_records(self.report, target)


def pages(box: Sandbox, data_source_id: str) -> list[dict[str, Any]]:
    from syncfw.sandbox.dump import dump_workspace

    for entry in dump_workspace()["data_sources"]:
        if entry["data_source"]["id"] == data_source_id:
            return list(entry["pages"])
    raise AssertionError(f"data source {data_source_id} not in the workspace")


def text(prop: dict[str, Any]) -> str:
    return "".join(t["plain_text"] for t in prop[prop["type"]])


def by_key(items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {text(p["properties"]["Salesforce ID"]): p for p in items}


def seed(seed_dir: Path, sobject: str) -> list[dict[str, Any]]:
    return list(json.loads((seed_dir / "salesforce" / f"{sobject}.json").read_text()))


def write_seed(seed_dir: Path, sobject: str, records: list[dict[str, Any]]) -> None:
    path = seed_dir / "salesforce" / f"{sobject}.json"
    path.write_text(json.dumps(records, indent=1))


_LAST_STAMP = [datetime.now(UTC)]


def bump(record: dict[str, Any]) -> None:
    """Mark a record changed now, as Salesforce would: each change gets a later SystemModstamp
    (to the second) than any change before it in the test session."""
    later = max(datetime.now(UTC) + timedelta(seconds=5), _LAST_STAMP[0] + timedelta(seconds=1))
    _LAST_STAMP[0] = later
    record["SystemModstamp"] = later.strftime("%Y-%m-%dT%H:%M:%S.000+0000")


def delete_account(seed_dir: Path) -> dict[str, Any]:
    """Delete the first live account in Salesforce (to the Recycle Bin, as a user would); the
    deleted record."""
    accounts = seed(seed_dir, "Account")
    gone = next(a for a in accounts if not a.get("IsDeleted"))
    gone["IsDeleted"] = True
    bump(gone)
    write_seed(seed_dir, "Account", accounts)
    return gone


@pytest.fixture
def recipe(sandbox: Sandbox, registry: Registry) -> Recipe:
    return load_recipe(RECIPE, registry=registry)


def test_first_sync_creates_every_account_and_contact_with_their_values(
    sandbox: Sandbox, recipe: Recipe, registry: Registry, seed_dir: Path
) -> None:
    ids = init(recipe)
    report = sync(recipe, registry)
    assert report.exit_code == 0, report.error
    accounts = seed(seed_dir, "Account")
    contacts = seed(seed_dir, "Contact")
    live_accounts = by_key(pages(sandbox, ids["accounts"]))
    live_contacts = by_key(pages(sandbox, ids["contacts"]))
    assert set(live_accounts) == {a["Id"] for a in accounts if not a.get("IsDeleted")}
    assert set(live_contacts) == {c["Id"] for c in contacts if not c.get("IsDeleted")}
    assert report.targets["accounts"].as_dict()["created"] == len(live_accounts)
    users = {u["Id"]: u["Name"] for u in seed(seed_dir, "User")}
    for account in accounts:
        page = live_accounts[account["Id"]]["properties"]
        assert text(page["Name"]) == account["Name"]
        assert (page["Industry"]["select"] or {}).get("name") == account.get("Industry")
        assert page["Annual Revenue"]["number"] == account.get("AnnualRevenue")
        assert text(page["Account Owner"]) == users[account["OwnerId"]]


def test_contact_relation_points_at_its_account_page(
    sandbox: Sandbox, recipe: Recipe, registry: Registry, seed_dir: Path
) -> None:
    ids = init(recipe)
    assert sync(recipe, registry).exit_code == 0
    accounts = by_key(pages(sandbox, ids["accounts"]))
    contacts = by_key(pages(sandbox, ids["contacts"]))
    linked = 0
    for contact in seed(seed_dir, "Contact"):
        relation = contacts[contact["Id"]]["properties"]["Account"]["relation"]
        if contact.get("AccountId"):
            assert [r["id"] for r in relation] == [accounts[contact["AccountId"]]["id"]]
            linked += 1
        else:
            assert relation == []
    assert linked > 0


def test_second_run_writes_nothing(sandbox: Sandbox, recipe: Recipe, registry: Registry) -> None:
    init(recipe)
    assert sync(recipe, registry).exit_code == 0
    sandbox.notion.reset_stats()  # type: ignore[union-attr]
    again = sync(recipe, registry)
    assert again.exit_code == 0
    assert again.notion_requests["writes"] == 0
    for target in again.targets.values():
        d = target.as_dict()
        assert (d["created"], d["updated"], d["archived"]) == (0, 0, 0)
    by_endpoint = sandbox.notion.stats()["by_endpoint"]  # type: ignore[union-attr]
    assert not any(k.startswith(("POST /v1/pages", "PATCH /v1/pages")) for k in by_endpoint)


def test_a_changed_field_updates_exactly_that_property(
    sandbox: Sandbox, recipe: Recipe, registry: Registry, seed_dir: Path
) -> None:
    ids = init(recipe)
    assert sync(recipe, registry).exit_code == 0
    accounts = seed(seed_dir, "Account")
    accounts[0]["Industry"] = "Biotechnology"
    bump(accounts[0])
    write_seed(seed_dir, "Account", accounts)

    report = sync(recipe, registry)
    assert report.exit_code == 0
    ops = report.targets["accounts"].plan.operations
    assert [(op.action, op.sync_key, sorted(op.after)) for op in ops] == [
        ("update", accounts[0]["Id"], ["Industry"])
    ]
    assert report.targets["contacts"].plan.operations == ()
    page = by_key(pages(sandbox, ids["accounts"]))[accounts[0]["Id"]]
    assert page["properties"]["Industry"]["select"]["name"] == "Biotechnology"


def test_a_deleted_record_archives_its_page(
    sandbox: Sandbox, recipe: Recipe, registry: Registry, seed_dir: Path
) -> None:
    ids = init(recipe)
    assert sync(recipe, registry).exit_code == 0
    contacts = seed(seed_dir, "Contact")
    gone = contacts[1]
    gone["IsDeleted"] = True
    bump(gone)
    write_seed(seed_dir, "Contact", contacts)

    report = sync(recipe, registry)
    assert report.targets["contacts"].as_dict()["archived"] == 1
    live = by_key(pages(sandbox, ids["contacts"]))
    assert gone["Id"] not in live  # a query leaves trashed pages out
    assert len(live) == len(contacts) - 1


def test_a_429_storm_is_waited_out_without_duplicates(
    tmp_path: Path, registry: Registry, seed_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    box = start_sandbox(tmp_path, registry, seed_dir, monkeypatch, notion_rate_limit=15.0)
    try:
        recipe = load_recipe(RECIPE, registry=registry)
        ids = init(recipe)
        report = sync(recipe, registry)
        assert report.exit_code == 0, report.error
        assert report.notion_requests["rate_limited"] > 0
        assert report.notion_requests["retries"] >= report.notion_requests["rate_limited"]
        live = pages(box, ids["accounts"])
        keys = [text(p["properties"]["Salesforce ID"]) for p in live]
        assert len(keys) == len(set(keys)) == len(seed(seed_dir, "Account"))
    finally:
        box.stop()


def test_pagination_past_2000_records(
    tmp_path: Path, registry: Registry, seed_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    box = start_sandbox(tmp_path, registry, seed_dir, monkeypatch, options={"bulk": "2100"})
    try:
        recipe_file = tmp_path / "accounts-only.yaml"
        text_ = RECIPE.read_text().split("  contacts:")[0]
        recipe_file.write_text(text_.replace("../mappings/", f"{RECIPE.parent.parent}/mappings/"))
        recipe = load_recipe(recipe_file, registry=registry)
        ids = init(recipe)
        report = sync(recipe, registry, rate_limit=2000.0)
        assert report.exit_code == 0, report.error
        created = report.targets["accounts"].as_dict()["created"]
        assert created == 2100 + len(seed(seed_dir, "Account"))
        live = pages(box, ids["accounts"])
        assert len({text(p["properties"]["Salesforce ID"]) for p in live}) == created
        assert sync(recipe, registry, rate_limit=2000.0).notion_requests["writes"] == 0
    finally:
        box.stop()


def test_cli_run_json_and_exit_codes(sandbox: Sandbox, tmp_path: Path) -> None:
    env_file = tmp_path / "sandbox.env"
    syncfw = [sys.executable, "-m", "syncfw.cli"]
    init_out = subprocess.run(
        [*syncfw, "notion", "init", str(RECIPE), "--env-file", str(env_file)], capture_output=True, text=True
    )
    assert init_out.returncode == 0, init_out.stderr
    result = subprocess.run(
        [*syncfw, "run", str(RECIPE), "--env-file", str(env_file), "--json", "--notion-rate-limit", "500"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["status"] == "success"
    assert set(report["notion_requests"]) == {"reads", "writes", "retries", "rate_limited", "rate_lowered"}
    for name in ("accounts", "contacts"):
        assert {"created", "updated", "unchanged", "archived", "failed"} <= set(report["targets"][name])
    assert report["targets"]["accounts"]["created"] > 0


def test_preflight_stops_with_exit_4_when_a_mapped_property_is_missing(
    sandbox: Sandbox, recipe: Recipe, registry: Registry
) -> None:
    report = sync(recipe, registry)  # no `notion init` yet: the databases do not exist
    assert report.exit_code == 4
    assert "syncfw notion init" in (report.error or "")
    assert report.notion_requests["writes"] == 0


def test_a_revoked_token_is_explained(
    sandbox: Sandbox, recipe: Recipe, registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    init(recipe)
    monkeypatch.setenv("NOTION_TOKEN", "ntn_revoked_token_0000")
    report = sync(load_recipe(RECIPE, registry=registry), registry)
    assert report.exit_code == 1
    assert "invalid or has been revoked" in (report.error or "")
    assert "ntn_revoked_token_0000" not in (report.error or "")


def test_a_data_source_not_shared_is_explained(sandbox: Sandbox, registry: Registry, tmp_path: Path) -> None:
    text_ = RECIPE.read_text().replace(
        '{title: Accounts, parent_page: "${env:NOTION_PARENT_PAGE_ID}"}',
        "null\n    data_source: 0f3c2a51-9d2b-4a7e-8c1d-5e6f7a8b9c0d",
    )
    path = tmp_path / "unshared.yaml"
    path.write_text(text_.replace("../mappings/", f"{RECIPE.parent.parent}/mappings/"))
    report = sync(load_recipe(path, registry=registry), registry)
    assert report.exit_code == 1
    assert "not shared with this integration" in (report.error or "")
    assert "Connections" in (report.error or "")


def test_an_incremental_read_that_returns_no_page_still_updates_and_never_duplicates(
    sandbox: Sandbox, recipe: Recipe, registry: Registry, seed_dir: Path
) -> None:
    ids = init(recipe)
    assert sync(recipe, registry).exit_code == 0
    # as if the last read was long after every page's last edit: the next read by
    # last_edited_time returns no page, and Notion must be taken to hold what syncfw wrote
    later = datetime.now(UTC) + timedelta(minutes=10)
    store = StateStore(recipe.state_path)
    with store.transaction() as tx:
        for target in ("accounts", "contacts"):
            tx.set_notion_read(target, NotionRead(later, 0))
    store.close()
    accounts = seed(seed_dir, "Account")
    accounts[0]["Industry"] = "Biotechnology"
    bump(accounts[0])
    write_seed(seed_dir, "Account", accounts)
    assert sandbox.notion is not None
    sandbox.notion.reset_stats()
    report = sync(recipe, registry)
    assert report.exit_code == 0, report.error
    ops = [(op.action, op.sync_key, sorted(op.after)) for op in report.targets["accounts"].plan.operations]
    assert ops == [("update", accounts[0]["Id"], ["Industry"])]
    assert report.targets["contacts"].plan.operations == ()
    assert (
        sandbox.notion.stats()["by_endpoint"].get("POST /v1/data_sources/{id}/query") == 2
    )  # one per target
    keys = [text(p["properties"]["Salesforce ID"]) for p in pages(sandbox, ids["accounts"])]
    assert len(keys) == len(set(keys)) == len(accounts)


def test_a_full_refresh_writes_and_keeps_only_what_changed(
    sandbox: Sandbox, recipe: Recipe, registry: Registry, seed_dir: Path
) -> None:
    """Every record and every page is read, yet only the changed and the drifted page are written,
    and the plan holds on to the records behind those two writes only (memory follows changes)."""
    ids = init(recipe)
    assert sync(recipe, registry).exit_code == 0
    accounts = seed(seed_dir, "Account")
    changed, drifted = accounts[0], accounts[1]
    changed["Industry"] = "Biotechnology"
    bump(changed)
    write_seed(seed_dir, "Account", accounts)
    assert sandbox.notion is not None
    page_of = {text(p["properties"]["Salesforce ID"]): p["id"] for p in pages(sandbox, ids["accounts"])}
    sandbox.notion.human_edit(page_of[drifted["Id"]], {"Industry": {"select": {"name": "Shipping"}}})

    watch = KeptRecords()
    report = execute(
        recipe, registry, RunOptions(rate_limit=FAST, full_refresh=True, observers=[watch]), watch
    )

    assert report.exit_code == 0, report.error
    plan = report.targets["accounts"].plan
    ops = sorted((op.action, op.sync_key, sorted(op.after)) for op in plan.operations)
    assert ops == sorted([("update", changed["Id"], ["Industry"]), ("update", drifted["Id"], ["Industry"])])
    assert [(d.sync_key, d.live, d.action) for d in plan.drift] == [(drifted["Id"], "Shipping", "reverted")]
    assert plan.pages == len(accounts)
    assert plan.unchanged == len(accounts) - 2
    assert sorted(watch.kept["accounts"]) == sorted([changed["Id"], drifted["Id"]])
    assert kept_records(report, "accounts") == []  # released once their writes were settled
    assert report.targets["contacts"].plan.operations == ()
    assert sync(recipe, registry, full_refresh=True).targets["accounts"].plan.operations == ()


def test_full_read_every_reads_the_target_back_a_slice_a_run(
    sandbox: Sandbox, registry: Registry, tmp_path: Path
) -> None:
    """``full_read_every: 2``: after the first run (which reads every page), each run reads the
    pages edited since the previous read (a last_edited_time filter) or-ed with half of the
    target's pages by number (a unique_id range), in turn."""
    text = RECIPE.read_text().replace("../mappings/", f"{RECIPE.parent.parent / 'mappings'}/")
    text = text.replace("    on_drift: revert ", "    full_read_every: 2\n    on_drift: revert ", 1)
    path = tmp_path / "recipe.yaml"
    path.write_text(text)
    recipe = load_recipe(path, registry=registry)
    assert recipe.targets["accounts"].full_read_every == 2
    assert recipe.targets["contacts"].full_read_every == 24  # the default
    ids = init(recipe)
    assert sandbox.notion is not None
    incremental: dict[str, list[bool]] = {"accounts": [], "contacts": []}
    for _ in range(4):
        sandbox.notion.reset_stats()
        assert sync(recipe, registry).exit_code == 0
        for target, found in incremental.items():
            queries = [
                r
                for r in sandbox.notion.requests()
                if r["endpoint"] == "POST /v1/data_sources/{id}/query"
                and r["params"].get("data_source_id") == ids[target]
            ]
            assert queries, f"{target}: no query"
            found.append(all("unique_id" in json.dumps((r["body"] or {}).get("filter")) for r in queries))
    assert incremental == {"accounts": [False, True, True, True], "contacts": [False, True, True, True]}
