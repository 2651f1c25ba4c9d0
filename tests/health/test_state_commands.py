"""``syncfw state show`` and ``syncfw state reset`` as an operator meets them, in the sandbox."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from syncfw.plugins import Registry
from syncfw.recipe import load_recipe
from syncfw.sandbox.runner import Sandbox
from syncfw.state import RunLock
from tests.engine.test_sync_end_to_end import seed, write_seed
from tests.health.support import init_all, recipe_copy

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
