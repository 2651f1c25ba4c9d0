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
    things = first.targets["things"]
    assert things.pending == [] and things.done["create"] == len(KEYS)
    assert sorted(by_key(sandbox, ids["things"])) == KEYS  # by_key: no key has two pages
    assert writes(sync(recipe, registry)) == 0


def test_a_create_committed_just_after_the_grace_is_pending_then_adopted_by_the_next_run(
    sandbox: Sandbox, registry: Registry, tmp_path: Path
) -> None:
    recipe = setup(tmp_path, registry, 1, [{"key": k, "name": k} for k in KEYS])
    ids = init(recipe)
    assert sandbox.notion is not None
    sandbox.notion.inject_fault("POST /v1/pages", status=504, commit_after=grace() + 0.5)

    first = sync(recipe, registry)
    assert first.exit_code == 0, first.error  # pending is neither lost nor a failure
    pending = first.targets["things"].pending
    assert len(pending) == 1 and first.targets["things"].done["create"] == len(KEYS) - 1
    assert first.as_dict()["targets"]["things"]["pending_creates"] == pending
    time.sleep(1.0)  # the late commit lands before the next run, as a scheduled run would find it

    second = sync(recipe, registry)
    assert second.exit_code == 0, second.error
    assert any(f"create {pending[0]} was applied" in line for line in second.recovered)
    assert second.targets["things"].done["create"] == 0
    assert sorted(by_key(sandbox, ids["things"])) == KEYS
    assert writes(sync(recipe, registry)) == 0
