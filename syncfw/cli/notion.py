"""``syncfw notion init``: the Notion side of a recipe."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from syncfw.cli.console import err, out
from syncfw.cli.options import env_file_option, load_env, load_recipe, registry


@click.group()
def notion() -> None:
    """Set up the Notion side of a recipe."""


@notion.command("init")
@click.argument("recipe", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@env_file_option
@click.option(
    "--no-health",
    is_flag=True,
    help="Do not create the Sync Health and Sync Runs databases; runs of the recipe then leave them alone.",
)
def notion_init(recipe: Path, env_file: Path | None, no_health: bool) -> None:
    """Create the target databases with the mapped property types, or add missing properties; and
    the Sync Health and Sync Runs databases under the same parent page (once per workspace page)."""
    from syncfw.engine.run import notion_client_for
    from syncfw.errors import DashboardUnavailable
    from syncfw.health.dashboard import disable_dashboard, init_dashboard
    from syncfw.notion.setup import init_targets
    from syncfw.state import open_state

    load_env(env_file)
    loaded = load_recipe(recipe, registry())
    store = open_state(loaded)
    client = notion_client_for(loaded, store=store)
    problems = []
    try:
        results = init_targets(client, store, loaded)
        if no_health:
            disable_dashboard(store)
        else:
            try:
                results += init_dashboard(client, store, loaded)
            except DashboardUnavailable as exc:
                err.print(f"[yellow]warning:[/] {exc}", markup=True, highlight=False)
        for result in results:
            name = result.target.removeprefix("health: ")
            if result.created:
                out.print(
                    f"created  {name}: data source {result.data_source_id} ({len(result.added)} properties)"
                )
            elif result.added:
                out.print(f"extended {name}: added {', '.join(result.added)}")
            else:
                out.print(f"ok       {name}: data source {result.data_source_id} already fits")
            problems += result.problems
    finally:
        client.close()
        store.close()
    for problem in problems:
        err.print(f"[red]schema:[/] {problem}")
    if problems:
        sys.exit(4)


@notion.command("rename")
@click.argument("recipe", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@env_file_option
@click.option("--write", is_flag=True, help="Edit the mapping files (default: only show the edits).")
def notion_rename(recipe: Path, env_file: Path | None, write: bool) -> None:
    """Name the properties a person renamed in Notion as Notion names them now, in the mapping
    files (the renames the recipe's last run found and followed by property id)."""
    from syncfw.notion.names import renames_of
    from syncfw.recipe.rename import apply_edits, rename_edits

    load_env(env_file)
    loaded = load_recipe(recipe, registry())
    edits, by_hand = [], []
    for name, renamed in renames_of(loaded).items():
        found = rename_edits(loaded.targets[name], renamed)
        edits += found[0]
        by_hand += found[1]
    if write:
        apply_edits(edits)
    for edit in edits:
        out.print(f"{'renamed' if write else 'would rename'} {edit}", highlight=False)
    for item in by_hand:
        out.print(f"by hand: {item}", highlight=False)
    if not edits and not by_hand:
        out.print("nothing renamed in Notion (as the recipe's last run found it)")
    elif edits and not write:
        out.print(
            "run again with --write to edit the mapping files (a mapping file serves every recipe naming it)"
        )
