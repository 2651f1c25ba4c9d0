"""``syncfw status``, ``runs``, ``audit`` and ``renew``: how the recipes are doing, and their
governance. They read the state store and the recipe files; only ``status --publish`` talks to
Notion and the alert channels."""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from syncfw.cli.console import err, out
from syncfw.cli.options import (
    env_file_option,
    load_env,
    load_recipe,
    offline_recipes,
    recipes_argument,
    registry,
)
from syncfw.cli.render_health import render_audit, render_runs, render_status
from syncfw.clock import today
from syncfw.plugins import Registry

if TYPE_CHECKING:
    from syncfw.recipe import Recipe

MAX_RUNS_SHOWN = 100_000


@click.command()
@recipes_argument
@env_file_option
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of tables.")
@click.option(
    "--publish",
    is_flag=True,
    help="Also write the Sync Health rows in Notion and send the alerts whose state changed "
    "(so a recipe whose scheduler stopped turns stale there too); needs the recipes' credentials.",
)
def status(path: Path, env_file: Path | None, as_json: bool, publish: bool) -> None:
    """Freshness of every source against stale_after, last runs, open quarantine and drift.

    PATH is a recipe file or a directory of recipes (default: recipes/). Exits 0 when every recipe
    is healthy, 1 when something is stale, failing, never synced or expired, or a last run failed
    or was stopped by a guard.
    """
    from syncfw.health import recipe_status
    from syncfw.health.inventory import recipe_paths
    from syncfw.health.publish import publish_statuses

    load_env(env_file)
    if publish:
        plugins = registry()
        recipes = [load_recipe(p, plugins) for p in recipe_paths(path)]
    else:
        recipes = offline_recipes(path)
    statuses = [recipe_status(recipe) for recipe in recipes]
    problems = publish_statuses(zip(recipes, statuses, strict=True)) if publish else []
    code = max((s.exit_code for s in statuses), default=0)
    if as_json:
        # one recipe: its status object; a directory: every recipe's, under "recipes"
        shown = (
            {"exit_code": code, **statuses[0].as_dict()}
            if not path.is_dir()
            else {"exit_code": code, "recipes": [s.as_dict() for s in statuses]}
        )
        click.echo(json.dumps(shown, indent=2))
    else:
        render_status(statuses)
    for problem in problems:
        err.print(f"[yellow]warning:[/] publishing {problem}", markup=True, highlight=False)
    sys.exit(code)


@click.command()
@recipes_argument
@env_file_option
@click.option(
    "--limit",
    type=click.IntRange(1, MAX_RUNS_SHOWN),
    default=20,
    show_default=True,
    help="Runs shown per recipe.",
)
@click.option(
    "--operations",
    "operations_of",
    metavar="RUN_ID",
    help="List every operation of one run (kept in run history), one per line; with --json, one "
    "JSON object per line.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of a table.")
def runs(path: Path, env_file: Path | None, limit: int, operations_of: str | None, as_json: bool) -> None:
    """Run history: who or what started each run, versions, counts, Notion requests, duration,
    exit code and error; renewals too. PATH is a recipe or a directory of recipes (default: recipes/)."""
    from syncfw.health import run_history
    from syncfw.health.history import newest_first

    load_env(env_file)
    if operations_of is not None:
        _print_operations(offline_recipes(path), operations_of, as_json)
        return
    entries = newest_first([e for recipe in offline_recipes(path) for e in run_history(recipe, limit)])
    if as_json:
        click.echo(json.dumps({"runs": [e.as_dict() for e in entries]}, indent=2))
    else:
        render_runs(entries)


def _print_operations(recipes: list[Recipe], run_id: str, as_json: bool) -> None:
    """Stream the operations of ``run_id`` from run history (exit 2 when no recipe kept any)."""
    from syncfw.health.history import run_operations

    shown = 0
    for recipe in recipes:
        for op in run_operations(recipe, run_id):
            shown += 1
            if as_json:
                click.echo(json.dumps(dataclasses.asdict(op)))
            else:
                changes = ", ".join(f"{k}: {op.before.get(k)!r} → {v!r}" for k, v in op.after.items())
                out.print(
                    f"{op.seq} {op.action} {op.target} {op.sync_key} ({op.page_id}) {changes}", markup=False
                )
    if not shown:
        err.print(
            f"run {run_id} has no operations in run history (unknown, pruned by retention.history_runs, "
            "or it wrote nothing); `syncfw runs` lists the runs kept",
            markup=False,
        )
        sys.exit(2)


@click.command()
@recipes_argument
@env_file_option
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of tables.")
def audit(path: Path, env_file: Path | None, as_json: bool) -> None:
    """Every recipe with owner, tier, expiry, last success and lineage: which source field feeds
    which Notion property of which data source, what people own, what holds personal data.
    PATH is a directory of recipes (default: recipes/) or one recipe."""
    from syncfw.health import audit_recipe

    load_env(env_file)
    plugins = registry()
    audits = [audit_recipe(recipe, plugins) for recipe in offline_recipes(path)]
    if as_json:
        click.echo(json.dumps({"recipes": [a.as_dict() for a in audits]}, indent=2))
    else:
        render_audit(audits)


@click.command()
@click.argument("recipe", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option(
    "--days",
    type=click.IntRange(1, 30),
    default=30,
    show_default=True,
    help="Days from today until it expires.",
)
@env_file_option
def renew(recipe: Path, days: int, env_file: Path | None) -> None:
    """Move the expires date of an experimental recipe (edits the file, keeping its comments), and
    record the renewal in its run history."""
    from syncfw.health.history import record_renewal, run_context
    from syncfw.recipe.governance import renew as move_expiry

    load_env(env_file)
    loaded = offline_recipes(recipe)[0]
    before, after = move_expiry(recipe, today(), days)
    run_id = record_renewal(loaded, before, after, run_context(loaded, Registry(), sys.argv[1:]))
    was = before.isoformat() if before else "unset"
    out.print(f"renewed {loaded.name}: expires {was} → {after.isoformat()} (recorded as {run_id})")
