"""``syncfw state show``, ``reset`` and ``migrate`` as an operator meets them, in the sandbox."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from syncfw.plugins import Registry
from syncfw.recipe import load_recipe
from syncfw.recipe.state import PostgresState
from syncfw.sandbox.runner import Sandbox
from syncfw.state import RunLock, StateStore
from syncfw.state.connection import ConnectedStore
from syncfw.state.postgres import PostgresStore
from tests.engine.test_sync_end_to_end import bump, by_key, init, pages, seed, sync, write_seed
from tests.health.support import init_all, recipe_copy
from tests.servers import PASSWORD

SYNCFW = [sys.executable, "-m", "syncfw.cli"]


def syncfw(*args: str, cwd: Path, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env_file = str(cwd / "sandbox.env")
    fast = ["--notion-rate-limit", "500"] if args[0] == "run" else []
    return subprocess.run(
        [*SYNCFW, *args, *fast, "--env-file", env_file],
        capture_output=True,
        text=True,
        cwd=cwd,
        input=stdin,
        timeout=120,
    )


def show(path: Path, cwd: Path) -> dict[str, Any]:
    result = syncfw("state", "show", str(path), "--json", cwd=cwd)
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout))


def test_state_show_and_reset_clear_cursors_so_the_next_run_reads_everything(
    sandbox: Sandbox, tmp_path: Path, registry: Registry, seed_dir: Path
) -> None:
    path = recipe_copy(tmp_path)
    never = show(path, tmp_path)
    assert never["exists"] is False and not (tmp_path / ".syncfw").exists()  # show creates nothing
    init_all(load_recipe(path, registry=registry))
    first = syncfw("run", str(path), "--json", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    created = json.loads(first.stdout)["targets"]["accounts"]["created"]

    state = show(path, tmp_path)
    assert state["exists"] is True
    targets = {t["target"]: t for t in state["targets"]}
    assert targets["accounts"]["pages"] == created > 0
    assert (targets["accounts"]["open_intents"], targets["accounts"]["quarantined"]) == (0, 0)
    streams = {(c["target"], c["source"], c["stream"]) for c in state["cursors"]}
    assert ("accounts", "salesforce", "Account") in streams and (
        "contacts",
        "salesforce",
        "Contact",
    ) in streams
    assert [r["command"] for r in state["runs"]] == ["run"]
    table = syncfw("state", "show", str(path), cwd=tmp_path)
    assert table.returncode == 0 and "Account" in table.stdout and "open intents" in table.stdout

    # a backfill at the source that leaves SystemModstamp alone: incremental runs cannot see it
    accounts = seed(seed_dir, "Account")
    accounts[0]["Industry"] = "Biotechnology"
    write_seed(seed_dir, "Account", accounts)
    missed = syncfw("run", str(path), "--json", cwd=tmp_path)
    assert json.loads(missed.stdout)["targets"]["accounts"]["updated"] == 0

    # refused while a run holds the lock; refused when the operator says no; unknown names are errors
    with RunLock(tmp_path / ".syncfw" / "salesforce-accounts.sqlite", "salesforce-accounts", "run"):
        locked = syncfw("state", "reset", str(path), "--yes", cwd=tmp_path)
    assert locked.returncode == 75 and "holds its lock" in locked.stderr, locked.stderr
    declined = syncfw("state", "reset", str(path), "--stream", "Account", cwd=tmp_path, stdin="n\n")
    assert declined.returncode != 0 and "accounts: salesforce/Account" in declined.stdout
    unknown = syncfw("state", "reset", str(path), "--target", "leads", "--yes", cwd=tmp_path)
    assert unknown.returncode == 2 and "has no such target" in unknown.stderr
    assert show(path, tmp_path)["cursors"] == state["cursors"]  # nothing was cleared

    reset = syncfw(
        "state", "reset", str(path), "--target", "accounts", "--stream", "Account", cwd=tmp_path, stdin="y\n"
    )
    assert reset.returncode == 0, reset.stderr
    after = show(path, tmp_path)
    left = {(c["target"], c["stream"]) for c in after["cursors"]}
    assert ("accounts", "Account") not in left and ("contacts", "Contact") in left
    assert (
        after["runs"][0]["command"] == "reset"
        and "accounts: salesforce/Account" in after["runs"][0]["detail"]
    )

    # the next run reads every account from the start: the backfilled one is updated, nothing else
    full = syncfw("run", str(path), "--json", cwd=tmp_path)
    assert full.returncode == 0, full.stderr
    report = json.loads(full.stdout)["targets"]["accounts"]
    assert (report["created"], report["updated"]) == (0, 1)
    assert report["operations"][0]["after"] == {"Industry": "Biotechnology"}
    assert ("accounts", "Account") in {(c["target"], c["stream"]) for c in show(path, tmp_path)["cursors"]}
    runs = syncfw("runs", str(path), "--json", cwd=tmp_path)
    assert [r["command"] for r in json.loads(runs.stdout)["runs"]] == ["run", "reset", "run", "run"]


def tables(store: ConnectedStore) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table of ``store``, as stored (sorted: the backends collate differently)."""
    return {
        table: sorted((tuple(row) for row in store.table_rows(table, store.columns(table))), key=repr)
        for table in store.tables()
    }


def test_state_migrate_moves_everything_to_postgresql_and_the_next_run_writes_nothing(
    sandbox: Sandbox,
    tmp_path: Path,
    registry: Registry,
    seed_dir: Path,
    postgres_database: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = recipe_copy(tmp_path)
    recipe = load_recipe(path, registry=registry)
    ids = init(recipe)
    assert sync(recipe, registry).exit_code == 0
    # a contact Notion cannot take (an email over 200 characters) is quarantined; an account
    # created on the second run is answered 504 and committed after the in-flight grace: its
    # intent stays open, the create pending for the next run to settle
    contacts = seed(seed_dir, "Contact")
    contacts[0]["Email"] = "x" * 250 + "@example.com"
    bump(contacts[0])
    write_seed(seed_dir, "Contact", contacts)
    accounts = seed(seed_dir, "Account")
    arrival = dict(accounts[1], Id="001Sx0000009LATEA", Name="Late Inc")
    bump(arrival)
    write_seed(seed_dir, "Account", [*accounts, arrival])
    assert sandbox.notion is not None
    grace = float(os.environ["SYNCFW_INFLIGHT_GRACE"])
    sandbox.notion.inject_fault("POST /v1/pages", status=504, commit_after=grace + 0.5)
    second = sync(recipe, registry)
    assert second.exit_code == 3 and second.targets["accounts"].pending == [arrival["Id"]]
    sqlite = StateStore(recipe.state_path)
    before = tables(sqlite)
    assert [(e.action, e.sync_key) for e in sqlite.journal(status="open")] == [("create", arrival["Id"])]
    assert [q.record_key for q in sqlite.quarantined()] == [contacts[0]["Id"]]
    sqlite.close()
    assert all(
        before[t] for t in ("pages", "property_ids", "cursors", "journal", "quarantine", "runs", "settings")
    )

    moved = syncfw("state", "migrate", str(path), "--to", postgres_database, cwd=tmp_path)
    assert moved.returncode == 0, moved.stderr
    assert PASSWORD not in moved.stdout + moved.stderr
    assert "SYNCFW_STATE_URL=postgresql://postgres:***@" in moved.stdout and "syncfw plan" in moved.stdout
    assert re.search(rf"\bpages\W+{len(before['pages'])}\b", moved.stdout), moved.stdout  # rows per table
    postgres = PostgresStore(PostgresState(postgres_database, "postgres"), recipe.name)
    after = tables(postgres)
    migration = [row for row in after["runs"] if row[2] == "migrate"]
    assert len(migration) == 1 and PASSWORD not in repr(migration)
    after["runs"].remove(migration[0])
    assert after == before  # every row of every table, value for value
    last = max(row[0] for row in before["journal"])
    with pytest.raises(RuntimeError), postgres.transaction() as tx:  # rolled back: a look only
        assert (
            tx.open_intent("r", "accounts", "create", "k", None, {}, {}, "2026-01-02T00:00:00Z") == last + 1
        )
        raise RuntimeError("the journal goes on numbering after its last entry")
    postgres.close()

    deadline = time.monotonic() + 30  # the late create lands in Notion, as a scheduled run would find it
    while arrival["Id"] not in by_key(pages(sandbox, ids["accounts"])):
        assert time.monotonic() < deadline
        time.sleep(0.1)
    monkeypatch.setenv("SYNCFW_STATE_URL", postgres_database)
    third = sync(recipe, registry)
    assert third.exit_code == 3, third.error  # the quarantined contact is still refused
    assert third.notion_requests["writes"] == 0
    assert any(f"create {arrival['Id']} was applied" in line for line in third.recovered), third.recovered
    postgres = PostgresStore(PostgresState(postgres_database, "postgres"), recipe.name)
    assert postgres.journal(status="open") == []
    assert [q.record_key for q in postgres.quarantined()] == [contacts[0]["Id"]]
    assert sorted(r.command for r in postgres.runs()) == ["migrate", "run", "run", "run"]
    postgres.close()
    history = syncfw("runs", str(path), cwd=tmp_path)  # the operator sees where the state went
    assert history.returncode == 0, history.stderr
    assert "state moved from" in history.stdout and PASSWORD not in history.stdout, history.stdout
    keys = [p["properties"]["Salesforce ID"] for p in pages(sandbox, ids["accounts"])]
    assert len(keys) == len(by_key(pages(sandbox, ids["accounts"]))) == len(accounts) + 1


def test_state_migrate_refuses_a_destination_holding_the_recipe_and_a_held_lock(
    tmp_path: Path, postgres_database: str
) -> None:
    path = recipe_copy(tmp_path)
    (tmp_path / "sandbox.env").write_text("")
    absent = syncfw("state", "migrate", str(path), "--to", postgres_database, cwd=tmp_path)
    assert absent.returncode == 2 and "never ran here" in absent.stderr, absent.stderr
    StateStore(tmp_path / ".syncfw" / "salesforce-accounts.sqlite").close()
    location = PostgresState(postgres_database, "postgres")
    PostgresStore(location, "salesforce-accounts").close()  # a run on PostgreSQL made its state there

    held = syncfw("state", "migrate", str(path), "--to", postgres_database, cwd=tmp_path)
    assert held.returncode == 2, held.stderr
    assert "holds a state of recipe salesforce-accounts already" in held.stderr
    assert "Traceback" not in held.stderr and PASSWORD not in held.stderr and ":***@" in held.stderr
    existing = PostgresStore(location, "salesforce-accounts")
    assert existing.runs() == [] and existing.pages("accounts") == {}  # nothing was written
    existing.close()

    with RunLock(tmp_path / ".syncfw" / "salesforce-accounts.sqlite", "salesforce-accounts", "run"):
        locked = syncfw("state", "migrate", str(path), "--to", postgres_database, cwd=tmp_path)
    assert locked.returncode == 75 and "holds its lock" in locked.stderr, locked.stderr
    sqlite_url = syncfw("state", "migrate", str(path), "--to", "sqlite:///elsewhere", cwd=tmp_path)
    assert sqlite_url.returncode == 2 and "PostgreSQL only" in sqlite_url.stderr
