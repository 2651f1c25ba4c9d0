"""The processes the crash test kills: one ordinary `syncfw run` (or `syncfw rollback`) of a recipe,
in a forked child (forkserver with syncfw preloaded, so a hundred kills do not pay a hundred
interpreter starts)."""

from __future__ import annotations

import os
from pathlib import Path

from syncfw.engine.rollback import rollback
from syncfw.engine.run import RunOptions, execute
from syncfw.plugins import load_plugins
from syncfw.recipe import load_recipe


def _environment(env: dict[str, str]) -> None:
    """Exactly the test's environment: the forkserver was started by whichever test came first in
    this pytest worker, and its variables (a PostgreSQL ``SYNCFW_STATE_URL`` of a dropped test
    database) must not leak into a test of the other backend."""
    os.environ.clear()
    os.environ.update(env)


def run_recipe(recipe: str, env: dict[str, str], cwd: str, rate_limit: float) -> int:
    _environment(env)
    os.chdir(cwd)
    registry = load_plugins()
    report = execute(
        load_recipe(Path(recipe), registry=registry), registry, RunOptions(rate_limit=rate_limit)
    )
    return report.exit_code


def rollback_run(recipe: str, env: dict[str, str], cwd: str, run_id: str, rate_limit: float) -> int:
    """One ordinary `syncfw rollback RUN_ID` of a recipe (exit 3 when something was refused)."""
    _environment(env)
    os.chdir(cwd)
    report = rollback(load_recipe(Path(recipe), registry=load_plugins()), run_id, rate_limit=rate_limit)
    return 3 if report.refused else 0
