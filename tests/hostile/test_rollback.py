"""Issue 12 case 14: `syncfw rollback` killed with SIGKILL after Notion moved a page to the trash
and before the journal recorded it. The next rollback (or run) must find out from Notion what
happened, and no record may be left missing from Notion."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

from syncfw.plugins import Registry
from syncfw.recipe import Recipe, load_recipe
from syncfw.sandbox.runner import Sandbox
from syncfw.state import StateStore
from tests.conftest import RECIPE
from tests.engine.test_sync_end_to_end import bump, by_key, init, pages, seed, sync, write_seed
from tests.hostile.support import syncfw


def _kill_after_a_committed_write(sandbox: Sandbox, args: list[str], cwd: Path) -> None:
    """Start ``syncfw ARGS`` with every Notion write applied and its answer lost, and SIGKILL it
    while its client waits to retry the first one: Notion has done the write, syncfw never saw it."""
    assert sandbox.notion is not None
    sandbox.notion.configure(faults="lost_response=1,lost_as=502,only=writes,seed=1")
    child = subprocess.Popen([sys.executable, "-m", "syncfw.cli", *args], cwd=cwd)
    try:
        deadline = time.monotonic() + 60
        while not sandbox.notion.stats().get("faults", {}).get("lost_response"):
            assert child.poll() is None, "the command ended before its first write"
            assert time.monotonic() < deadline, "no write reached Notion"
            time.sleep(0.01)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
        sandbox.notion.configure(faults=None)


def _killed_rollback(
    sandbox: Sandbox, registry: Registry, seed_dir: Path, tmp_path: Path
) -> tuple[Recipe, str, str, list[str]]:
    """A run that creates two pages, then its rollback killed after Notion trashed the first of
    them. Returns the recipe, the accounts' data source, the run id and every account's key."""
    recipe = load_recipe(RECIPE, registry=registry)
    ids = init(recipe)
    assert sync(recipe, registry).exit_code == 0
    accounts = seed(seed_dir, "Account")
    new = []
    for n in range(2):
        record = dict(accounts[0], Id=f"001Sx000000{n}NEWIAA", Name=f"New Co {n}")
        bump(record)
        new.append(record)
    write_seed(seed_dir, "Account", [*accounts, *new])
    created = sync(recipe, registry)
    assert created.exit_code == 0, created.error
    rollback = [
        "rollback",
        created.run_id,
        "--recipe",
        str(RECIPE),
        "--env-file",
        str(tmp_path / "sandbox.env"),
    ]
    _kill_after_a_committed_write(sandbox, rollback, tmp_path)
    keys = [a["Id"] for a in [*accounts, *new] if not a.get("IsDeleted")]
    return recipe, ids["accounts"], created.run_id, keys


def _assert_next_run_converges(
    sandbox: Sandbox, registry: Registry, recipe: Recipe, data_source: str, keys: list[str], cwd: Path
) -> None:
    """The records still exist at the source: the next run brings back the pages the rollback
    trashed, each exactly once, and leaves no intent open."""
    after = syncfw("run", RECIPE, "--env-file", cwd / "sandbox.env", "--notion-rate-limit", "500", cwd=cwd)
    assert after.exit_code == 0, after.output
    assert "no longer in Notion" not in after.output, after.output
    live = [
        p["properties"]["Salesforce ID"]["rich_text"][0]["plain_text"] for p in pages(sandbox, data_source)
    ]
    assert sorted(live) == sorted(keys)
    assert sync(recipe, registry).notion_requests["writes"] == 0
    store = StateStore(recipe.state_path)
    try:
        assert store.journal(status="open") == []
    finally:
        store.close()


def test_a_second_rollback_finishes_a_killed_one_and_a_third_changes_nothing(
    sandbox: Sandbox, registry: Registry, seed_dir: Path, tmp_path: Path
) -> None:
    recipe, data_source, run_id, keys = _killed_rollback(sandbox, registry, seed_dir, tmp_path)
    env_file = tmp_path / "sandbox.env"
    again = syncfw("rollback", run_id, "--recipe", RECIPE, "--env-file", env_file, cwd=tmp_path)
    assert again.exit_code == 0, again.output
    assert "Traceback" not in again.output
    live = by_key(pages(sandbox, data_source))
    assert not {"001Sx0000000NEWIAA", "001Sx0000001NEWIAA"} & set(live)  # both created pages are in the trash
    assert sandbox.notion is not None
    sandbox.notion.reset_stats()
    twice = syncfw("rollback", run_id, "--recipe", RECIPE, "--env-file", env_file, cwd=tmp_path)
    assert twice.exit_code == 0, twice.output  # a second rollback is a no-op, not an error
    writes = [e for e in sandbox.notion.stats()["by_endpoint"] if not e.startswith("GET")]
    assert writes == [], writes
    _assert_next_run_converges(sandbox, registry, recipe, data_source, keys, tmp_path)


def test_a_run_after_a_killed_rollback_settles_its_write_and_loses_no_record(
    sandbox: Sandbox, registry: Registry, seed_dir: Path, tmp_path: Path
) -> None:
    recipe, data_source, _, keys = _killed_rollback(sandbox, registry, seed_dir, tmp_path)
    _assert_next_run_converges(sandbox, registry, recipe, data_source, keys, tmp_path)
