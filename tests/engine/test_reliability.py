"""Nothing lost, nothing duplicated: ambiguous writes, locks, signals, quarantine, schema drift,
reviewed plans and rollback, with the real clients against the emulators."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from syncfw.engine.rollback import rollback
from syncfw.engine.run import RunOptions, execute
from syncfw.plugins import Registry
from syncfw.recipe import Recipe, load_recipe
from syncfw.sandbox.runner import Sandbox
from syncfw.state import StateStore
from tests.conftest import RECIPE, start_sandbox
from tests.engine.test_ownership import value
from tests.engine.test_sync_end_to_end import bump, by_key, init, pages, seed, sync, write_seed

SYNCFW = [sys.executable, "-m", "syncfw.cli"]


@pytest.fixture
def recipe(sandbox: Sandbox, registry: Registry) -> Recipe:
    return load_recipe(RECIPE, registry=registry)


def accounts_ds(recipe: Recipe) -> str:
    store = StateStore(recipe.state_path)
    ids = store.target_ids("accounts")
    store.close()
    assert ids is not None
    return ids[1]


def test_a_create_whose_response_was_lost_is_adopted_not_sent_twice(
    sandbox: Sandbox, recipe: Recipe, registry: Registry, seed_dir: Path
) -> None:
    ids = init(recipe)
    assert sandbox.notion is not None
    sandbox.notion.inject_fault("POST /v1/pages", status=504, after_commit=True, times=3)
    report = sync(recipe, registry)
    assert report.exit_code == 0, report.error
    live = [p["properties"]["Salesforce ID"] for p in pages(sandbox, ids["accounts"])]
    keys = ["".join(t["plain_text"] for t in k["rich_text"]) for k in live]
    assert sorted(keys) == sorted(a["Id"] for a in seed(seed_dir, "Account"))
    assert sync(recipe, registry).notion_requests["writes"] == 0
    store = StateStore(recipe.state_path)
    assert store.journal(status="open") == []
    store.close()


def test_open_intents_left_by_a_crash_are_settled_by_the_next_run(
    sandbox: Sandbox, recipe: Recipe, registry: Registry, seed_dir: Path
) -> None:
    ids = init(recipe)
    assert sync(recipe, registry).exit_code == 0
    accounts = seed(seed_dir, "Account")
    sent, lost = accounts[0]["Id"], "001Sx0000009LOSTIA"
    # what a process killed between sending a create and recording its outcome leaves behind:
    # an open intent, and no identity entry; the first create reached Notion, the second did not
    store = StateStore(recipe.state_path)
    with store.transaction() as tx:
        tx.forget_page("accounts", sent)
        tx.open_intent(
            "crashed-run",
            "accounts",
            "create",
            sent,
            None,
            {},
            {"Name": accounts[0]["Name"]},
            "2026-01-01T00:00:00Z",
        )
        tx.open_intent(
            "crashed-run", "accounts", "create", lost, None, {}, {"Name": "Lost"}, "2026-01-01T00:00:00Z"
        )
    store.close()
    arrival = dict(accounts[1], Id=lost, Name="Lost Inc")
    bump(arrival)
    write_seed(seed_dir, "Account", [*accounts, arrival])

    report = sync(recipe, registry)
    assert report.exit_code == 0, report.error
    assert sorted(line.rsplit(" ", 1)[-1] for line in report.recovered) == ["absent", "applied"]
    keys = [value(p, "Salesforce ID") for p in pages(sandbox, ids["accounts"])]
    assert len(keys) == len(set(keys)) == len(accounts) + 1
    store = StateStore(recipe.state_path)
    assert store.journal(status="open") == []
    assert store.pages("accounts")[sent].created_by_syncfw
    store.close()
    assert sync(recipe, registry).notion_requests["writes"] == 0


def run_cli(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*SYNCFW, *args], cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )


def test_a_second_concurrent_run_exits_75_and_says_who_holds_the_lock(
    sandbox: Sandbox, recipe: Recipe, tmp_path: Path
) -> None:
    init(recipe)
    env_file = str(tmp_path / "sandbox.env")
    slow = run_cli("run", str(RECIPE), "--env-file", env_file, "--notion-rate-limit", "4", cwd=tmp_path)
    try:
        deadline = time.monotonic() + 30
        lock_info = recipe.state_path.with_name(recipe.state_path.name + ".lock.json")
        while not lock_info.exists():
            assert time.monotonic() < deadline and slow.poll() is None
            time.sleep(0.05)
        second = subprocess.run(
            [*SYNCFW, "run", str(RECIPE), "--env-file", env_file],
            cwd=tmp_path,
            capture_output=True,
            text=True,
        )
        assert second.returncode == 75, second.stderr
        assert f"pid {slow.pid}" in second.stderr and "since" in second.stderr
    finally:
        slow.terminate()
        slow.communicate(timeout=60)


def test_sigterm_stops_cleanly_and_the_next_run_finishes_the_job(
    sandbox: Sandbox, recipe: Recipe, registry: Registry, tmp_path: Path, seed_dir: Path
) -> None:
    ids = init(recipe)
    env_file = str(tmp_path / "sandbox.env")
    proc = run_cli("run", str(RECIPE), "--env-file", env_file, "--notion-rate-limit", "5", cwd=tmp_path)
    deadline = time.monotonic() + 60
    while not pages(sandbox, ids["accounts"]):  # stopped mid-way: once the first pages are written
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.1)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert "stopped by SIGTERM" in out + err and "planned writes done" in out + err
    done = len(pages(sandbox, ids["accounts"])) + len(pages(sandbox, ids["contacts"]))
    assert 0 < done < len(seed(seed_dir, "Account")) + len(seed(seed_dir, "Contact"))
    finish = sync(recipe, registry)
    assert finish.exit_code == 0
    for target, sobject in (("accounts", "Account"), ("contacts", "Contact")):
        keys = [value(p, "Salesforce ID") for p in pages(sandbox, ids[target])]
        assert sorted(keys) == sorted(r["Id"] for r in seed(seed_dir, sobject))


def test_a_record_that_cannot_be_mapped_is_quarantined_and_released_once_fixed(
    sandbox: Sandbox, recipe: Recipe, registry: Registry, seed_dir: Path, tmp_path: Path
) -> None:
    ids = init(recipe)
    contacts = seed(seed_dir, "Contact")
    contacts[0]["Email"] = "x" * 250 + "@example.com"  # over Notion's 200 characters
    bump(contacts[0])
    write_seed(seed_dir, "Contact", contacts)
    report = sync(recipe, registry)
    assert report.exit_code == 3
    problems = report.targets["contacts"].as_dict()["problems"]
    assert [(p["key"], p["property"]) for p in problems] == [(contacts[0]["Id"], "Email")]
    assert len(pages(sandbox, ids["contacts"])) == len(contacts) - 1  # the others went on
    status = subprocess.run(
        [*SYNCFW, "status", str(RECIPE), "--env-file", str(tmp_path / "sandbox.env"), "--json"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    quarantine = json.loads(status.stdout)["quarantine"]
    assert [(q["key"], q["property"]) for q in quarantine] == [(contacts[0]["Id"], "Email")]

    again = sync(recipe, registry)  # retried from quarantine (the cursor moved on), still bad
    assert again.exit_code == 3
    contacts[0]["Email"] = "rose@edge.example"
    bump(contacts[0])
    write_seed(seed_dir, "Contact", contacts)
    fixed = sync(recipe, registry)
    assert fixed.exit_code == 0
    assert len(pages(sandbox, ids["contacts"])) == len(contacts)
    store = StateStore(recipe.state_path)
    assert store.quarantined() == []
    store.close()


def test_a_renamed_and_retyped_property_stops_the_run_before_writing(
    sandbox: Sandbox, recipe: Recipe, registry: Registry
) -> None:
    ids = init(recipe)
    assert sync(recipe, registry).exit_code == 0
    assert sandbox.notion is not None
    sandbox.notion.human_update_schema(ids["accounts"], {"Industry": {"name": "Sector", "rich_text": {}}})
    sandbox.notion.reset_stats()
    report = sync(recipe, registry, full_refresh=True)
    assert report.exit_code == 4
    assert "'Industry' is rich_text in Notion, the mapping writes select" in (report.error or "")
    assert not [r for r in sandbox.notion.requests() if r["endpoint"].startswith(("POST /v1/pages", "PATCH"))]


def test_a_deleted_property_stops_the_run_before_writing_and_init_repairs_it(
    sandbox: Sandbox, recipe: Recipe, registry: Registry, tmp_path: Path
) -> None:
    ids = init(recipe)
    assert sync(recipe, registry).exit_code == 0
    assert sandbox.notion is not None
    sandbox.notion.human_update_schema(ids["accounts"], {"Industry": None})
    sandbox.notion.reset_stats()
    report = sync(recipe, registry, full_refresh=True)
    assert report.exit_code == 4
    assert "'Industry' (select) is missing in Notion" in (report.error or "")
    assert "mappings/salesforce/account.yaml:9" in (report.error or "")
    assert not [r for r in sandbox.notion.requests() if r["endpoint"].startswith(("POST /v1/pages", "PATCH"))]
    init(recipe)  # adds an empty Industry back; filling it for every page is a mass change
    refill = sync(recipe, registry, full_refresh=True)
    assert refill.exit_code == 4 and "--allow-mass-change" in (refill.error or "")
    assert sync(recipe, registry, full_refresh=True, allow_mass_change=True).exit_code == 0


def test_a_second_data_source_in_a_target_database_stops_the_run(
    sandbox: Sandbox, recipe: Recipe, registry: Registry
) -> None:
    init(recipe)
    assert sync(recipe, registry).exit_code == 0
    store = StateStore(recipe.state_path)
    ids = store.target_ids("accounts")
    store.close()
    assert ids is not None and ids[0] is not None
    from syncfw.engine.run import notion_client_for

    client = notion_client_for(recipe, 100)
    client._api.data_sources.create(
        parent={"type": "database_id", "database_id": ids[0]},
        title=[{"text": {"content": "Second"}}],
        properties={"Name": {"title": {}}},
    )
    client.close()
    report = sync(recipe, registry, full_refresh=True)  # the database is read again (or a day later)
    assert report.exit_code == 4 and "now holds 2 data sources" in (report.error or "")


def test_a_reviewed_plan_applies_only_while_it_is_current(
    sandbox: Sandbox, recipe: Recipe, registry: Registry, seed_dir: Path, tmp_path: Path
) -> None:
    ids = init(recipe)
    assert sync(recipe, registry).exit_code == 0
    accounts = seed(seed_dir, "Account")
    accounts[0]["Industry"] = "Biotechnology"
    bump(accounts[0])
    write_seed(seed_dir, "Account", accounts)
    env_file = str(tmp_path / "sandbox.env")
    plan_file = tmp_path / "plan.json"
    made = subprocess.run(
        [*SYNCFW, "plan", str(RECIPE), "--env-file", env_file, "--out", str(plan_file), "--json"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert made.returncode == 0, made.stderr
    assert sandbox.notion is not None
    page = by_key(pages(sandbox, ids["accounts"]))[accounts[0]["Id"]]
    sandbox.notion.human_edit(page["id"], {"Industry": {"select": {"name": "Mining"}}})
    stale = subprocess.run(
        [*SYNCFW, "run", str(RECIPE), "--env-file", env_file, "--plan", str(plan_file)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert stale.returncode == 4, stale.stderr
    assert "stale" in stale.stderr and "'Industry'" in stale.stderr and "Mining" in stale.stderr
    assert value(by_key(pages(sandbox, ids["accounts"]))[accounts[0]["Id"]], "Industry") == "Mining"

    sandbox.notion.human_edit(
        page["id"], {"Industry": {"select": {"name": accounts[1]["Industry"] or "Energy"}}}
    )
    fresh = subprocess.run(
        [*SYNCFW, "plan", str(RECIPE), "--env-file", env_file, "--out", str(plan_file)],
        cwd=tmp_path,
        capture_output=True,
    )
    assert fresh.returncode == 0
    applied = subprocess.run(
        [*SYNCFW, "run", str(RECIPE), "--env-file", env_file, "--plan", str(plan_file), "--json"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert applied.returncode == 0, applied.stderr
    assert value(by_key(pages(sandbox, ids["accounts"]))[accounts[0]["Id"]], "Industry") == "Biotechnology"


def snapshot(box: Sandbox, data_source: str) -> dict[str, dict[str, Any]]:
    return {
        value(p, "Salesforce ID"): {name: value(p, name) for name in p["properties"]}
        for p in pages(box, data_source)
    }


def test_rollback_restores_a_run_exactly_and_refuses_what_people_changed_since(
    sandbox: Sandbox, recipe: Recipe, registry: Registry, seed_dir: Path
) -> None:
    ids = init(recipe)
    assert sync(recipe, registry).exit_code == 0
    before = snapshot(sandbox, ids["accounts"])
    accounts = seed(seed_dir, "Account")
    for record, industry in zip(accounts[:3], ["Biotechnology", "Shipping", "Media"], strict=True):
        record["Industry"] = industry
        record["AnnualRevenue"] = 123.0
        bump(record)
    accounts[3]["IsDeleted"] = True
    bump(accounts[3])
    new = dict(accounts[4], Id="001Sx0000009NEWIAA", Name="Brand New Co")
    bump(new)
    write_seed(seed_dir, "Account", [*accounts, new])
    bad = execute(recipe, registry, RunOptions(rate_limit=500, allow_mass_change=True))
    assert bad.exit_code == 0
    assert snapshot(sandbox, ids["accounts"]) != before
    assert sandbox.notion is not None
    touched = by_key(pages(sandbox, ids["accounts"]))[accounts[2]["Id"]]
    sandbox.notion.human_edit(touched["id"], {"Annual Revenue": {"number": 999}})

    preview = rollback(recipe, bad.run_id, dry_run=True)
    assert snapshot(sandbox, ids["accounts"])[accounts[0]["Id"]]["Industry"] == "Biotechnology"
    assert preview.refused == 1

    report = rollback(recipe, bad.run_id)
    assert [(s.sync_key, list(s.refused)) for s in report.steps if s.refused] == [
        (accounts[2]["Id"], ["Annual Revenue"])
    ]
    after = snapshot(sandbox, ids["accounts"])
    expected = dict(before)
    expected[accounts[2]["Id"]] = {
        **before[accounts[2]["Id"]],
        "Industry": before[accounts[2]["Id"]]["Industry"],
        "Annual Revenue": 999,
    }
    assert after == expected  # property by property; the new page is archived, the archived one is back
    # the cursor was rewound: the next run applies the source's changes again
    again = sync(recipe, registry, allow_mass_change=True)
    assert again.exit_code == 0
    assert snapshot(sandbox, ids["accounts"])[accounts[0]["Id"]]["Industry"] == "Biotechnology"


def test_every_command_keeps_secrets_out_of_output_and_files(
    tmp_path: Path, registry: Registry, seed_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    box = start_sandbox(tmp_path, registry, seed_dir, monkeypatch)
    try:
        env = dict(os.environ)
        secrets = {env["NOTION_TOKEN"], env["SALESFORCE_SESSION_ID"]}
        env_file = str(tmp_path / "sandbox.env")
        commands = [
            ["validate", str(RECIPE), "--explain"],
            ["notion", "init", str(RECIPE)],
            ["plan", str(RECIPE), "--out", str(tmp_path / "plan.json")],
            ["run", str(RECIPE), "--notion-rate-limit", "200"],
            ["run", str(RECIPE), "--json"],
            ["status", str(RECIPE), "--json"],
            ["plugins"],
        ]
        printed = []
        for command in commands:
            result = subprocess.run(
                [*SYNCFW, *command, *(["--env-file", env_file] if command[0] not in ("plugins",) else [])],
                cwd=tmp_path,
                capture_output=True,
                text=True,
                env=env,
            )
            assert result.returncode == 0, (command, result.stderr)
            printed.append(result.stdout + result.stderr)
        run_id = json.loads(printed[4])["run_id"]
        for command in (["rollback", run_id, "--recipe", str(RECIPE), "--dry-run"], ["sandbox", "dump"]):
            result = subprocess.run(
                [*SYNCFW, *command, "--env-file", env_file],
                cwd=tmp_path,
                capture_output=True,
                text=True,
                env=env,
            )
            printed.append(result.stdout + result.stderr)
        env_bad = {**env, "NOTION_TOKEN": env["NOTION_TOKEN"][:-4] + "0000"}
        secrets.add(env_bad["NOTION_TOKEN"])
        failed = subprocess.run(
            [*SYNCFW, "run", str(RECIPE)], cwd=tmp_path, capture_output=True, text=True, env=env_bad
        )
        assert failed.returncode == 1
        printed.append(failed.stdout + failed.stderr)
        written = [p for p in (tmp_path / ".syncfw").rglob("*") if p.is_file()] + [tmp_path / "plan.json"]
        assert written
        for secret in secrets:
            for text_ in printed:
                assert secret not in text_
            for path in written:
                assert secret.encode() not in path.read_bytes(), path
    finally:
        box.stop()
