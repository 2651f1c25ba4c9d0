"""The process the crash test kills: one ordinary `syncfw run` of a recipe, in a forked child
(forkserver with syncfw preloaded, so a hundred kills do not pay a hundred interpreter starts)."""

from __future__ import annotations

import os
from pathlib import Path

from syncfw.engine.run import RunOptions, execute
from syncfw.plugins import load_plugins
from syncfw.recipe import load_recipe


def run_recipe(recipe: str, env: dict[str, str], cwd: str, rate_limit: float) -> int:
    os.environ.update(env)
    os.chdir(cwd)
    registry = load_plugins()
    report = execute(
        load_recipe(Path(recipe), registry=registry), registry, RunOptions(rate_limit=rate_limit)
    )
    return report.exit_code
