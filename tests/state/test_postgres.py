"""State and run lock on PostgreSQL (issue 14): a run from one working directory and a rerun from
another share everything (nothing is written twice), and the advisory run lock lets one run in
at a time across processes, names the holder, and is released when the holder is killed."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest

from syncfw.health.history import run_history
from syncfw.plugins import Registry
from syncfw.recipe import Recipe, load_recipe
from syncfw.sandbox.runner import Sandbox
from syncfw.state.postgres import LOCK_SETTING, schema_name
from tests.conftest import RECIPE
from tests.engine.test_sync_end_to_end import by_key, init, pages, seed, sync

SYNCFW = [sys.executable, "-m", "syncfw.cli"]


@pytest.fixture
def recipe(
    sandbox: Sandbox, registry: Registry, postgres_database: str, monkeypatch: pytest.MonkeyPatch
) -> Recipe:
    monkeypatch.setenv("SYNCFW_STATE_URL", postgres_database)
    return load_recipe(RECIPE, registry=registry)


def _everything_once(sandbox: Sandbox, ids: dict[str, str], seed_dir: Path) -> None:
    for target, sobject in (("accounts", "Account"), ("contacts", "Contact")):
        live = pages(sandbox, ids[target])
        expected = {r["Id"] for r in seed(seed_dir, sobject) if not r.get("IsDeleted")}
        assert sorted(by_key(live)) == sorted(expected) and len(live) == len(expected)


def test_a_rerun_from_another_working_directory_writes_nothing(
    sandbox: Sandbox,
    recipe: Recipe,
    registry: Registry,
    seed_dir: Path,
    tmp_path: Path,
    postgres_database: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    ids = init(recipe)
    first = sync(recipe, registry)
    assert first.exit_code == 0, first.error
    assert sum(t["created"] for t in first.as_dict()["targets"].values()) > 0
    assert not Path(".syncfw").exists()  # nothing on this machine's disk
    with psycopg.connect(postgres_database) as db:  # the rate budget is shared where the state is
        assert db.execute("SELECT count(*) FROM public.syncfw_rate_budget").fetchone() == (1,)
    other = tmp_path / "another-pod"
    other.mkdir()
    monkeypatch.chdir(other)  # a second machine: no shared files, only the URL
    again = sync(recipe, registry)
    assert again.exit_code == 0, again.error
    for target in again.as_dict()["targets"].values():
        assert (target["created"], target["updated"], target["archived"]) == (0, 0, 0), target
    _everything_once(sandbox, ids, seed_dir)
    assert {entry.run_id for entry in run_history(recipe)} == {again.run_id, first.run_id}


def test_a_second_run_exits_75_naming_the_holder_until_the_holder_is_killed(
    sandbox: Sandbox, recipe: Recipe, postgres_database: str, tmp_path: Path, seed_dir: Path
) -> None:
    ids = init(recipe)
    env_file = str(tmp_path / "sandbox.env")
    run = [*SYNCFW, "run", str(RECIPE), "--env-file", env_file, "--notion-rate-limit", "20"]
    pods = [tmp_path / "pod-1", tmp_path / "pod-2", tmp_path / "pod-3"]
    for pod in pods:
        pod.mkdir()
    first = subprocess.Popen(run, cwd=pods[0], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        holder = _wait_for_holder(postgres_database, recipe.name, first)
        first.send_signal(signal.SIGSTOP)  # mid-run, holding the lock
        assert holder["pid"] == first.pid
        second = subprocess.run(run, cwd=pods[1], capture_output=True, text=True, timeout=120)
        assert second.returncode == 75, second.stdout[-2000:] + second.stderr[-2000:]
        assert f"pid {first.pid} on {socket.gethostname()} since {holder['since']}" in second.stderr
        assert "Traceback" not in second.stderr
        first.send_signal(signal.SIGKILL)  # the server ends its session, and the lock with it
    finally:
        if first.poll() is None:
            first.kill()
        first.wait(timeout=30)
    third = subprocess.run([*run, "--json"], cwd=pods[2], capture_output=True, text=True, timeout=120)
    assert third.returncode == 0, third.stderr[-2000:]
    _everything_once(sandbox, ids, seed_dir)
    again = subprocess.run([*run, "--json"], cwd=pods[1], capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr[-2000:]
    for target in json.loads(again.stdout)["targets"].values():
        assert (target["created"], target["updated"], target["archived"]) == (0, 0, 0), target


def _wait_for_holder(url: str, recipe: str, process: subprocess.Popen[str]) -> dict[str, object]:
    """The holder row the run writes once it holds the lock."""
    deadline = time.monotonic() + 30
    with psycopg.connect(url, autocommit=True) as db:
        while True:
            assert time.monotonic() < deadline and process.poll() is None, process.communicate()
            try:
                row = db.execute(
                    f'SELECT value FROM "{schema_name(recipe)}".settings WHERE name = %s', (LOCK_SETTING,)
                ).fetchone()
            except psycopg.errors.UndefinedTable:
                row = None
            if row is not None:
                return dict(json.loads(row[0]))
            time.sleep(0.02)
