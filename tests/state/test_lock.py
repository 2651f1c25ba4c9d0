"""The run lock holds when its file is deleted under a running run (issue 12, case 12)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from syncfw.plugins import Registry
from syncfw.recipe import Recipe, load_recipe
from syncfw.sandbox.runner import Sandbox
from tests.conftest import RECIPE
from tests.engine.test_sync_end_to_end import by_key, init, pages, seed

SYNCFW = [sys.executable, "-m", "syncfw.cli"]


@pytest.fixture
def recipe(sandbox: Sandbox, registry: Registry) -> Recipe:
    return load_recipe(RECIPE, registry=registry)


def test_deleting_the_lock_file_of_a_running_run_does_not_let_a_second_run_in(
    sandbox: Sandbox, recipe: Recipe, tmp_path: Path, seed_dir: Path
) -> None:
    ids = init(recipe)
    env_file = str(tmp_path / "sandbox.env")
    run = [*SYNCFW, "run", str(RECIPE), "--env-file", env_file, "--notion-rate-limit", "20"]
    first = subprocess.Popen(run, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lock = recipe.state_path.with_name(recipe.state_path.name + ".lock")
    info = lock.with_name(lock.name + ".json")
    try:
        deadline = time.monotonic() + 30
        while not info.exists():
            assert time.monotonic() < deadline and first.poll() is None, first.communicate()
            time.sleep(0.02)
        first.send_signal(signal.SIGSTOP)  # mid-run, holding the lock
        lock.unlink()  # what `rm .syncfw/*.lock` or a temporary-file cleaner does
        second = subprocess.run(run, cwd=tmp_path, capture_output=True, text=True, timeout=120)
        assert second.returncode == 75, second.stdout[-2000:] + second.stderr[-2000:]
        assert f"pid {first.pid}" in second.stderr
        assert "Traceback" not in second.stderr
    finally:
        first.send_signal(signal.SIGCONT)
    _, err = first.communicate(timeout=120)
    assert first.returncode == 0, err[-2000:]
    # every record exactly once, and the next run has nothing left to do
    for target, sobject in (("accounts", "Account"), ("contacts", "Contact")):
        live = pages(sandbox, ids[target])
        expected = {r["Id"] for r in seed(seed_dir, sobject) if not r.get("IsDeleted")}
        assert sorted(by_key(live)) == sorted(expected) and len(live) == len(expected)
    again = subprocess.run([*run, "--json"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr[-2000:]
    for target in json.loads(again.stdout)["targets"].values():
        assert (target["created"], target["updated"], target["archived"]) == (0, 0, 0), target
