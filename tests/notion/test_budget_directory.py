"""The shared rate-budget directory against other local users (issue 12, case 13): nothing is
written through a planted symbolic link, and a directory another user owns or can write is
refused (``SYNCFW_BUDGET_DIR``) or left for a private one (the default in ``/tmp``)."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from pathlib import Path

import pytest

from syncfw.errors import UnsafeBudgetDirectory
from syncfw.notion.budget import SharedRateBudget
from syncfw.notion.budgets import budget_for
from syncfw.plugins import Registry
from syncfw.recipe import load_recipe
from syncfw.sandbox.runner import Sandbox
from tests.conftest import RECIPE
from tests.engine.test_sync_end_to_end import init, pages
from tests.hostile.support import assert_refused, syncfw

OTHER_USER = 4242  # tests run as root: a directory chowned to this uid belongs to "another user"
VICTIM = "root-only secret, mode 0600\n"


@pytest.fixture
def shared_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A world-writable, sticky temporary directory standing in for /tmp, and a private cache."""
    fake_tmp = tmp_path / "tmp"
    fake_tmp.mkdir()
    fake_tmp.chmod(0o1777)
    monkeypatch.setattr(tempfile, "tempdir", str(fake_tmp))
    monkeypatch.delenv("SYNCFW_BUDGET_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return fake_tmp


def _victim(tmp_path: Path) -> Path:
    victim = tmp_path / "victim"
    victim.write_text(VICTIM)
    victim.chmod(0o600)
    return victim


def _key(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()[:16]


@pytest.mark.parametrize(("owner", "mode"), [(OTHER_USER, 0o777), (os.getuid(), 0o777), (OTHER_USER, 0o755)])
def test_a_planted_default_directory_is_left_for_a_private_one_and_nothing_is_written_through_its_links(
    tmp_path: Path, shared_tmp: Path, caplog: pytest.LogCaptureFixture, owner: int, mode: int
) -> None:
    token = f"ntn_planted_{owner}_{mode:o}"
    victim = _victim(tmp_path)
    planted = shared_tmp / "syncfw"
    planted.mkdir()
    (planted / f"budget-{_key(token)}.json").symlink_to(victim)  # waiting for syncfw to write through it
    planted.chmod(mode)
    os.chown(planted, owner, -1)
    with caplog.at_level(logging.WARNING):
        budget = budget_for(token, 3.0)
        budget.acquire()
        budget.pause(0.0)
    assert victim.read_text() == VICTIM
    assert isinstance(budget, SharedRateBudget)
    assert budget.path.parent == tmp_path / "cache" / "syncfw" / "budget"
    assert budget.path.exists() and (budget.path.parent.stat().st_mode & 0o777) == 0o700
    (warning,) = [r.getMessage() for r in caplog.records]
    assert f"{planted} is not safe to write in" in warning and str(budget.path.parent) in warning
    assert ("belongs to uid 4242" if owner == OTHER_USER else "other users can write in it") in warning


def test_a_default_directory_replaced_by_a_link_is_not_followed(
    tmp_path: Path, shared_tmp: Path, caplog: pytest.LogCaptureFixture
) -> None:
    token = "ntn_linked_directory"
    target = tmp_path / "elsewhere"
    target.mkdir(mode=0o700)
    (shared_tmp / "syncfw").symlink_to(target)
    with caplog.at_level(logging.WARNING):
        budget = budget_for(token, 3.0)
        budget.acquire()
    assert list(target.iterdir()) == []
    assert "is a symbolic link" in caplog.text


def test_the_default_directory_is_created_private(shared_tmp: Path) -> None:
    budget = budget_for("ntn_fresh_default", 3.0)
    budget.acquire()
    assert isinstance(budget, SharedRateBudget)
    assert budget.path.parent == shared_tmp / "syncfw"
    assert (budget.path.parent.stat().st_mode & 0o777) == 0o700
    assert (budget.path.stat().st_mode & 0o777) == 0o600


def test_a_link_in_the_budget_directory_is_refused_not_followed(tmp_path: Path) -> None:
    directory = tmp_path / "budgets"
    directory.mkdir(mode=0o700)
    victim = _victim(tmp_path)
    budget = SharedRateBudget(3.0, key="linked", directory=directory)
    (directory / "budget-linked.json").symlink_to(victim)
    with pytest.raises(UnsafeBudgetDirectory, match=r"its file budget-linked\.json is a symbolic link"):
        budget.acquire()
    assert victim.read_text() == VICTIM


@pytest.mark.parametrize(
    ("owner", "mode", "says"), [(OTHER_USER, 0o700, "belongs to uid 4242"), (None, 0o777, "mode 777")]
)
def test_a_budget_directory_set_by_the_user_that_is_not_private_fails_the_run_before_any_request(
    sandbox: Sandbox, registry: Registry, tmp_path: Path, owner: int | None, mode: int, says: str
) -> None:
    recipe = load_recipe(RECIPE, registry=registry)
    ids = init(recipe)
    directory = tmp_path / "budgets"
    directory.mkdir()
    directory.chmod(mode)
    if owner is not None:
        os.chown(directory, owner, -1)
    env = {"SYNCFW_BUDGET_DIR": str(directory)}
    run = ("run", RECIPE, "--env-file", tmp_path / "sandbox.env", "--notion-rate-limit", "500", "--json")
    done = syncfw(*run, cwd=tmp_path, env=env)
    assert_refused(done, 1, says=f"the rate-budget directory {directory} is not safe to write in: ")
    report = json.loads(done.stdout)
    assert report["status"] == "failed" and says in report["error"], report["error"]
    assert list(directory.iterdir()) == []
    assert pages(sandbox, ids["accounts"]) == []
    # made private, the same directory serves the next run, which does the whole job
    os.chown(directory, os.getuid(), -1)
    directory.chmod(0o700)
    again = syncfw(*run, cwd=tmp_path, env=env)
    assert again.exit_code == 0, again.output[-2000:]
    assert (
        len(pages(sandbox, ids["accounts"])) == json.loads(again.stdout)["targets"]["accounts"]["created"] > 0
    )
