"""``syncfw rollback``: undo a run from its journal."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.markup import escape

from syncfw.cli.console import out
from syncfw.cli.options import env_file_option, load_env, load_recipe, registry

if TYPE_CHECKING:
    from syncfw.engine.rollback import RollbackStep


@click.command()
@click.argument("run_id")
@click.option(
    "--recipe",
    "recipe_path",
    required=True,
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    help="The recipe the run belongs to.",
)
@env_file_option
@click.option(
    "--dry-run",
    is_flag=True,
    help="Show what would be restored, and what would be refused; change nothing (exit 0).",
)
@click.option("--json", "as_json", is_flag=True)
def rollback(run_id: str, recipe_path: Path, env_file: Path | None, dry_run: bool, as_json: bool) -> None:
    """Undo a run: restore changed properties, unarchive, archive created pages, rewind cursors.

    Exits 0 when every change is undone, 3 when some are refused (a person edited the value
    since the run); a dry run changes nothing and exits 0. A run older than the journal's
    retention (``retention.journal_days``) is refused (exit 2); the output states how far back a
    rollback reaches."""
    from syncfw.engine.rollback import rollback as undo

    load_env(env_file)
    loaded = load_recipe(recipe_path, registry())
    report = undo(loaded, run_id, dry_run=dry_run)
    if as_json:
        click.echo(json.dumps(report.as_dict(), indent=2))
    else:
        verb = "will undo" if dry_run else "undid"
        out.print(f"rollback of run {run_id}: {verb} {len(report.steps)} journal entries", soft_wrap=True)
        out.print(f"  {report.reach.sentence()}", markup=False, soft_wrap=True)
        for step in report.steps:
            out.print(f"  {_step(step, dry_run)}", markup=False, soft_wrap=True)
            refused = "will refuse" if dry_run else "refused"
            for prop, why in step.refused.items():
                out.print(
                    f"  [yellow]{refused}[/] {escape(step.target)} {escape(step.sync_key)} {escape(repr(prop))}: "
                    f"{escape(why)}",
                    soft_wrap=True,
                )
    sys.exit(3 if report.refused and not dry_run else 0)


_WILL = {  # what RollbackStep.note says a step did → what a dry run says it will do
    "archived": "will move the page it created to trash",
    "restored from trash": "will restore the page from trash",
    "not archived: people edited the page after the run": "will not archive: people edited the page after the run",
}


def _step(step: RollbackStep, dry_run: bool) -> str:
    """One journal entry undone, or, in a dry run, what undoing it will do (in the future tense)."""
    head = f"{step.action} {step.target} {step.sync_key}:"
    if not dry_run:
        detail = ", ".join(f"{k} → {v!r}" for k, v in step.restored.items())
        return f"{head} {step.note or detail}"
    if step.restored:
        return f"{head} will restore " + ", ".join(f"{k} → {v!r}" for k, v in step.restored.items())
    if step.action == "cursor":
        return f"{head} will rewind the cursor of {step.sync_key}"
    return f"{head} {_WILL.get(step.note, step.note or 'nothing to restore')}"
