"""``syncfw rollback``: undo a run from its journal."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from syncfw.cli.console import out
from syncfw.cli.options import env_file_option, load_env, load_recipe, registry


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
@click.option("--dry-run", is_flag=True, help="Show what would be restored; change nothing.")
@click.option("--json", "as_json", is_flag=True)
def rollback(run_id: str, recipe_path: Path, env_file: Path | None, dry_run: bool, as_json: bool) -> None:
    """Undo a run: restore changed properties, unarchive, archive created pages, rewind cursors.

    A run older than the journal's retention (``retention.journal_days``) is refused (exit 2);
    the output states how far back a rollback reaches."""
    from syncfw.engine.rollback import rollback as undo

    load_env(env_file)
    loaded = load_recipe(recipe_path, registry())
    report = undo(loaded, run_id, dry_run=dry_run)
    if as_json:
        click.echo(json.dumps(report.as_dict(), indent=2))
    else:
        verb = "would undo" if dry_run else "undid"
        out.print(f"rollback of run {run_id}: {verb} {len(report.steps)} journal entries")
        out.print(f"  {report.reach.sentence()}", markup=False)
        for step in report.steps:
            detail = ", ".join(f"{k} → {v!r}" for k, v in step.restored.items())
            out.print(f"  {step.action} {step.target} {step.sync_key}: {step.note or detail}", markup=False)
            for prop, why in step.refused.items():
                out.print(f"  [yellow]refused[/] {step.target} {step.sync_key} {prop!r}: {why}")
    sys.exit(3 if report.refused else 0)
