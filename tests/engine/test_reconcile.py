"""Reconciliation: records deleted at the source without a tombstone (a hard delete, a purged
Recycle Bin) are found by a key scan and handled as deletes. Real simple-salesforce and
notion-client against the emulators; a record removed from a seed file is gone from every
Salesforce endpoint, ``queryAll`` included, exactly like a hard delete."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

from syncfw_salesforce.emulator import SalesforceEmulator

from syncfw.plugins import Registry
from syncfw.recipe import Recipe, load_recipe
from syncfw.sandbox.runner import Sandbox
from syncfw.state import StateStore
from tests.conftest import RECIPE
from tests.engine.multi_source import TICKET_ROWS, write_csv, write_recipe
from tests.engine.test_sync_end_to_end import bump, by_key, init, pages, seed, sync, write_seed


def _recipe(tmp_path: Path, registry: Registry, extra: str = "") -> Recipe:
    text = RECIPE.read_text().replace("../mappings/", f"{RECIPE.parent.parent / 'mappings'}/")
    if extra:
        text = text.replace("    on_drift: revert ", f"    {extra}\n    on_drift: revert ", 1)
    path = tmp_path / "recipe.yaml"
    path.write_text(text)
    return load_recipe(path, registry=registry)


def _hard_delete(seed_dir: Path, sobject: str, count: int) -> list[str]:
    records = seed(seed_dir, sobject)
    live = [r for r in records if not r.get("IsDeleted")]
    gone = {r["Id"] for r in live[:count]}
    write_seed(seed_dir, sobject, [r for r in records if r["Id"] not in gone])
    return sorted(gone)


def test_a_hard_deleted_record_is_archived_by_the_next_reconciliation(
    sandbox: Sandbox, registry: Registry, tmp_path: Path, seed_dir: Path
) -> None:
    recipe = _recipe(tmp_path, registry)
    ids = init(recipe)
    assert sync(recipe, registry).exit_code == 0
    gone = _hard_delete(seed_dir, "Contact", 1)

    ordinary = sync(recipe, registry)
    assert ordinary.targets["contacts"].as_dict()["archived"] == 0  # no tombstone: a read cannot see it
    assert set(gone) <= set(by_key(pages(sandbox, ids["contacts"])))

    report = sync(recipe, registry, reconcile=True)
    assert report.exit_code == 0, report.error
    contacts = report.targets["contacts"].as_dict()
    assert contacts["archived"] == 1
    [found] = contacts["reconciled"]
    assert (found["stream"], found["gone"], found["gone_keys"], found["error"]) == ("Contact", 1, gone, None)
    assert found["keys_scanned"] == len([c for c in seed(seed_dir, "Contact") if not c.get("IsDeleted")])
    assert report.targets["accounts"].as_dict()["archived"] == 0
    assert not set(gone) & set(by_key(pages(sandbox, ids["contacts"])))

    again = sync(recipe, registry, reconcile=True)
    assert again.notion_requests["writes"] == 0
    assert again.targets["contacts"].as_dict()["reconciled"][0]["gone"] == 0


def test_one_run_in_reconcile_every_scans_the_keys(
    sandbox: Sandbox, registry: Registry, tmp_path: Path, seed_dir: Path
) -> None:
    recipe = _recipe(tmp_path, registry, "reconcile_every: 3")
    assert recipe.targets["accounts"].reconcile_every == 3
    assert recipe.targets["contacts"].reconcile_every == 24  # the default
    init(recipe)
    scanned = []
    for _ in range(7):
        report = sync(recipe, registry)
        assert report.exit_code == 0, report.error
        scanned.append(bool(report.targets["accounts"].reconciled))
    # the first run has nothing to compare (no state yet) and counts as reconciled; then one in three
    assert scanned == [False, False, False, True, False, False, True]


def test_an_empty_key_scan_archives_nothing(
    sandbox: Sandbox, registry: Registry, tmp_path: Path, seed_dir: Path
) -> None:
    recipe = _recipe(tmp_path, registry)
    ids = init(recipe)
    assert sync(recipe, registry).exit_code == 0
    before = len(pages(sandbox, ids["contacts"]))
    write_seed(seed_dir, "Contact", [])

    report = sync(recipe, registry, reconcile=True, allow_mass_change=True)
    contacts = report.targets["contacts"].as_dict()
    assert contacts["archived"] == 0
    assert contacts["reconciled"][0]["gone"] == 0
    assert any("empty scan" in w for w in contacts["warnings"])
    assert len(pages(sandbox, ids["contacts"])) == before


def test_reconciliation_stops_at_the_mass_change_guard(
    sandbox: Sandbox, registry: Registry, tmp_path: Path, seed_dir: Path
) -> None:
    recipe = _recipe(tmp_path, registry)
    ids = init(recipe)
    assert sync(recipe, registry).exit_code == 0
    live = len(pages(sandbox, ids["accounts"]))
    gone = _hard_delete(seed_dir, "Account", live // 2)

    stopped = sync(recipe, registry, reconcile=True)
    assert stopped.exit_code == 4
    assert "archive or update" in (stopped.error or "")
    assert len(pages(sandbox, ids["accounts"])) == live

    approved = sync(recipe, registry, reconcile=True, allow_mass_change=True)
    assert approved.targets["accounts"].as_dict()["archived"] == len(gone)
    assert not set(gone) & set(by_key(pages(sandbox, ids["accounts"])))
    store = StateStore(recipe.state_path)
    try:
        entries = store.pages_for("accounts", gone)
    finally:
        store.close()
    assert all(entry.archived for entry in entries.values())


def test_cli_plan_and_run_take_reconcile(sandbox: Sandbox, tmp_path: Path, seed_dir: Path) -> None:
    env = tmp_path / "sandbox.env"
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(RECIPE.read_text().replace("../mappings/", f"{RECIPE.parent.parent / 'mappings'}/"))

    def syncfw(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "syncfw.cli", *args, "--env-file", str(env)]
        return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)

    assert syncfw("notion", "init", str(recipe)).returncode == 0
    assert syncfw("run", str(recipe), "--notion-rate-limit", "500").returncode == 0
    gone = _hard_delete(seed_dir, "Contact", 1)

    planned = syncfw("plan", str(recipe), "--reconcile", "--json", "--notion-rate-limit", "500")
    assert planned.returncode == 0, planned.stderr
    operations = json.loads(planned.stdout)["targets"]["contacts"]["operations"]
    assert [op["sync_key"] for op in operations if op["action"] == "archive"] == gone

    ran = syncfw("run", str(recipe), "--reconcile", "--log-format", "text", "--notion-rate-limit", "500")
    assert ran.returncode == 0, ran.stderr
    assert "1 gone from the source (handled as deletes)" in " ".join(ran.stdout.split())


def test_records_gone_from_an_incremental_source_leave_their_aggregate(
    sandbox: Sandbox, registry: Registry, tmp_path: Path, seed_dir: Path
) -> None:
    """A ticket file read incrementally (by its ``updated`` column) reports no deletes; the key
    scan finds the removed tickets and the aggregate on the account page drops them."""
    path = write_recipe(tmp_path)
    path.write_text(path.read_text().replace("key: id}", "key: id, updated_at: updated}"))
    recipe = load_recipe(path, registry=registry)
    ids = init(recipe)
    assert sync(recipe, registry).exit_code == 0
    edge_id = {a["Name"]: a["Id"] for a in seed(seed_dir, "Account")}["Edge Communications"]

    def open_tickets() -> Any:
        return by_key(pages(sandbox, ids["accounts"]))[edge_id]["properties"]["Open Tickets"]["number"]

    assert open_tickets() == 2
    write_csv(tmp_path / "tickets.csv", [r for r in TICKET_ROWS if r["id"] != "t1"])
    assert sync(recipe, registry).exit_code == 0
    assert open_tickets() == 2  # an incremental read cannot see a removed row

    report = sync(recipe, registry, reconcile=True)
    assert report.exit_code == 0, report.error
    found = {r["mapping"]: r for r in report.targets["accounts"].as_dict()["reconciled"]}
    assert (found["ticket-stats"]["gone_keys"], found["ticket-stats"]["error"]) == (["t1"], None)
    assert open_tickets() == 1
    assert sync(recipe, registry, reconcile=True).notion_requests["writes"] == 0


def test_a_record_purged_from_the_recycle_bin_while_the_sync_was_paused_is_archived(
    sandbox: Sandbox, registry: Registry, tmp_path: Path, seed_dir: Path
) -> None:
    """Deleted in Salesforce, then 16 days without a sync: the Recycle Bin has purged the row, so
    ``queryAll`` no longer shows the delete. The scheduled reconciliation archives the page."""
    recipe = _recipe(tmp_path, registry, "reconcile_every: 2")
    ids = init(recipe)
    assert sync(recipe, registry).exit_code == 0
    accounts = seed(seed_dir, "Account")
    gone = next(a for a in accounts if not a.get("IsDeleted"))
    gone["IsDeleted"] = True
    bump(gone)
    write_seed(seed_dir, "Account", accounts)
    emulator = sandbox.emulator("salesforce")
    assert isinstance(emulator, SalesforceEmulator) and emulator.org is not None
    assert emulator.org.record_counts()["Account"] == len(accounts)  # the org sees the delete
    emulator.org.advance_clock(timedelta(days=16))  # the sync is paused past the 15-day retention

    ordinary = sync(recipe, registry)  # not due: one run in two reconciles
    assert ordinary.targets["accounts"].as_dict()["archived"] == 0  # queryAll no longer shows the delete
    assert gone["Id"] in by_key(pages(sandbox, ids["accounts"]))

    report = sync(recipe, registry)
    assert report.exit_code == 0, report.error
    accounts_report = report.targets["accounts"].as_dict()
    assert accounts_report["reconciled"][0]["gone_keys"] == [gone["Id"]]
    assert accounts_report["archived"] == 1
    assert gone["Id"] not in by_key(pages(sandbox, ids["accounts"]))
