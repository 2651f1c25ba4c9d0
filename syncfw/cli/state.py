"""``syncfw state show``, ``reset`` and ``migrate``: what a recipe's state store holds, clearing
its cursors so that the next run reads from the start (:mod:`syncfw.health.state_view`), and
moving it from its SQLite file to PostgreSQL (:mod:`syncfw.state.migrate`)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click
from rich.markup import escape
from rich.table import Table

from syncfw.cli.console import out
from syncfw.cli.options import env_file_option, load_env, offline_recipes
from syncfw.errors import ConfigError
from syncfw.plugins import Registry
from syncfw.recipe.state import STATE_URL_VARIABLE, PostgresState, parse_state_url

_recipe = click.argument("recipe", type=click.Path(path_type=Path, exists=True, dir_okay=False))


@click.group()
def state() -> None:
    """Show a recipe's state (cursors, pages, open intents, quarantine, runs), reset its cursors,
    or move it to PostgreSQL."""


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


@state.command()
@_recipe
@env_file_option
@click.option(
    "--to",
    "url",
    required=True,
    metavar="postgresql://…",
    help="The PostgreSQL database to move the state to (libpq's URI).",
)
def migrate(recipe: Path, env_file: Path | None, url: str) -> None:
    """Move the recipe's state from its SQLite file to PostgreSQL, losing nothing (cursors, pages,
    written values, open intents, quarantine, run history), in one transaction. Refused (exit 2)
    when the database holds a state of the recipe already, and (exit 75) while a run holds the
    recipe's lock; recorded in the run history there. The SQLite file is left as it was."""
    from syncfw.health.history import record_command, run_context
    from syncfw.state.migrate import migrate_state

    load_env(env_file)
    loaded = offline_recipes(recipe)[0]
    try:
        destination = parse_state_url(url, Path.cwd())
    except ValueError as exc:
        raise ConfigError(f"--to: {exc}") from None
    if not isinstance(destination, PostgresState):
        raise ConfigError(f"--to {url}: the state can move to PostgreSQL only (postgresql://…)")
    argv = [arg.replace(url, destination.shown) for arg in sys.argv[1:]]  # no password in history
    context = run_context(loaded, Registry(), argv)
    source = str(loaded.state_location(os.environ))
    migrated = migrate_state(
        loaded,
        destination,
        lambda tx, copied: record_command(
            tx,
            loaded.name,
            "migrate",
            {"from": source, "to": destination.shown, "copied": copied, "context": context},
        ),
    )
    out.print(
        f"moved the state of {loaded.name} from {escape(migrated.source)} to "
        f"{escape(migrated.destination)} (recorded as {migrated.run_id}):"
    )
    table = Table(title="rows copied", title_justify="left")
    table.add_column("table")
    table.add_column("rows", justify="right")
    for name, count in migrated.copied.items():
        table.add_row(name, str(count))
    out.print(table)
    where = (
        f'replace `state: {{path: …}}` in {escape(str(recipe))} by `state: {{url: "${{env:NAME}}"}}`'
        if loaded.state is not None and loaded.state.path is not None
        else f"set {STATE_URL_VARIABLE}={escape(destination.shown)} (or the recipe's "
        '`state: {url: "${env:NAME}"}`)'
    )
    out.print(
        f"next: {where} wherever the recipe runs, then `syncfw plan {escape(str(recipe))}` should plan "
        f"no writes. {escape(migrated.source)} is left as it was: run the recipe from it no more."
    )
