"""A create Notion answers 504 and commits later (Notion has no idempotency keys and may finish a
request it did not answer) is never sent again within the in-flight grace: it is adopted by the
lookup once the grace has passed, or, committed later still, reported pending and adopted by the
next run's recovery. Never two pages for one sync key."""

from __future__ import annotations

import os
import time
from pathlib import Path

from syncfw.plugins import Registry
from syncfw.sandbox.runner import Sandbox
from tests.engine.test_notion_limits import by_key, setup, writes
from tests.engine.test_sync_end_to_end import init, sync

KEYS = [f"k{n}" for n in range(6)]
ITEMS = ["i000"]  # the items target is written first: its one create gets the fault


def grace() -> float:
    return float(os.environ["SYNCFW_INFLIGHT_GRACE"])


def test_a_create_committed_just_before_the_grace_ends_is_adopted_in_the_same_run(
    sandbox: Sandbox, registry: Registry, tmp_path: Path
) -> None:
    recipe = setup(tmp_path, registry, 1, [{"key": k, "name": k} for k in KEYS])
    ids = init(recipe)
    assert sandbox.notion is not None
    sandbox.notion.inject_fault("POST /v1/pages", status=504, commit_after=grace() - 0.5)

    first = sync(recipe, registry)
    assert first.exit_code == 0, first.error
    items = first.targets["items"]
    assert items.pending == [] and items.done["create"] == 1
    assert sorted(by_key(sandbox, ids["items"])) == ITEMS  # by_key: no key has two pages
    assert sorted(by_key(sandbox, ids["things"])) == KEYS
    assert writes(sync(recipe, registry)) == 0
    time.sleep(grace())  # whatever Notion was still to commit has landed by now
    assert sorted(by_key(sandbox, ids["items"])) == ITEMS


def test_a_create_committed_just_after_the_grace_is_pending_then_adopted_by_the_next_run(
    sandbox: Sandbox, registry: Registry, tmp_path: Path
) -> None:
    recipe = setup(tmp_path, registry, 1, [{"key": k, "name": k} for k in KEYS])
    ids = init(recipe)
    assert sandbox.notion is not None
    sandbox.notion.inject_fault("POST /v1/pages", status=504, commit_after=grace() + 0.5)

    first = sync(recipe, registry)
    assert first.exit_code == 0, first.error  # pending is neither lost nor a failure
    assert first.targets["items"].pending == ITEMS and first.targets["items"].done["create"] == 0
    assert first.as_dict()["targets"]["items"]["pending_creates"] == ITEMS
    assert first.targets["things"].done["create"] == len(KEYS)
    time.sleep(1.0)  # the late commit lands before the next run, as a scheduled run would find it

    second = sync(recipe, registry)
    assert second.exit_code == 0, second.error
    assert any("create i000 was applied" in line for line in second.recovered), second.recovered
    assert second.targets["items"].done["create"] == 0
    assert sorted(by_key(sandbox, ids["items"])) == ITEMS
    assert sorted(by_key(sandbox, ids["things"])) == KEYS
    assert writes(sync(recipe, registry)) == 0
