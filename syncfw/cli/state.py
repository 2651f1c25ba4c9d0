"""``syncfw state show`` and ``syncfw state reset``: what a recipe's state store holds, and
clearing its cursors so that the next run reads from the start (:mod:`syncfw.health.state_view`)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from rich.markup import escape
from rich.table import Table

from syncfw.cli.console import out
from syncfw.cli.options import env_file_option, load_env, offline_recipes
from syncfw.plugins import Registry

_recipe = click.argument("recipe", type=click.Path(path_type=Path, exists=True, dir_okay=False))


@click.group()
def state() -> None:
    """Show a recipe's state (cursors, pages, open intents, quarantine, runs), or reset its cursors."""


@state.command()
@_recipe
@env_file_option
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of tables.")
def show(recipe: Path, env_file: Path | None, as_json: bool) -> None:
    """Cursors per target, source and stream; pages, open intents and quarantine per target; the
    last runs. Reads only the state store (no credentials needed)."""
    from syncfw.health.state_view import state_view

    load_env(env_file)
    view = state_view(offline_recipes(recipe)[0])
    if as_json:
        click.echo(json.dumps(view.as_dict(), indent=2))
        return
    if not view.exists:
        out.print(f"{view.recipe}: no state at {view.state_path} (it never ran here)")
        return
    out.print(f"[bold]{view.recipe}[/] · state {escape(view.state_path)}")
    targets = Table(title="targets", title_justify="left")
    for col in ("target", "pages", "archived", "open intents", "quarantined"):
        targets.add_column(col, justify="left" if col == "target" else "right")
    for t in view.targets:
        targets.add_row(t.target, str(t.pages), str(t.archived), str(t.open_intents), str(t.quarantined))
    out.print(targets)
    cursors = Table(title="cursors", title_justify="left")
    for col in ("target", "source", "stream", "cursor", "updated"):
        cursors.add_column(col)
    for c in view.cursors:
        cursors.add_row(c.target, c.source, c.stream, escape(c.cursor), c.updated_at)
    out.print(cursors if view.cursors else "cursors: none (the next run reads every stream from the start)")
    runs = Table(title="last runs", title_justify="left")
    for col in ("run", "command", "started", "status", "exit"):
        runs.add_column(col)
    for r in view.runs:
        runs.add_row(
            r.run_id, r.command, r.started_at, r.status, "" if r.exit_code is None else str(r.exit_code)
        )
    out.print(runs)


@state.command()
@_recipe
@env_file_option
@click.option("--target", help="Only the cursors of this target.")
@click.option("--stream", help="Only the cursors of this stream (STREAM or SOURCE/STREAM).")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
def reset(recipe: Path, env_file: Path | None, target: str | None, stream: str | None, yes: bool) -> None:
    """Clear cursors so that the next run reads those streams from the start; pages, written
    values and history stay. Refused (exit 75) while a run holds the recipe's lock; recorded in
    the run history (`syncfw runs`)."""
    from syncfw.health.history import run_context
    from syncfw.health.state_view import cursors_to_reset, reset_cursors

    load_env(env_file)
    loaded = offline_recipes(recipe)[0]
    cursors = cursors_to_reset(loaded, target, stream)
    if not cursors:
        out.print(f"{loaded.name}: no cursor to clear (the next run reads these streams from the start)")
        return
    out.print(f"{loaded.name}: {len(cursors)} cursors to clear:")
    for c in cursors:
        out.print(f"  {escape(c.name)} (at {escape(c.cursor)})")
    if not yes:
        click.confirm("Clear them? The next run reads these streams from the start", abort=True)
    run_id = reset_cursors(loaded, cursors, run_context(loaded, Registry(), sys.argv[1:]))
    out.print(f"cleared {len(cursors)} cursors of {loaded.name} (recorded as {run_id})")
