"""``syncfw validate``: load and check recipes and mappings offline."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click
from pydantic import BaseModel
from rich.table import Table

from syncfw.cli.console import err, out
from syncfw.cli.options import env_file_option, load_env, load_recipe, registry
from syncfw.clock import today
from syncfw.errors import ConfigError, GuardStop
from syncfw.recipe import explain as explain_recipe
from syncfw.recipe import load_mapping
from syncfw.recipe.explain import ExplainRow
from syncfw.regular_files import DOCUMENT, read_regular

if TYPE_CHECKING:
    from syncfw.connector import Connector
    from syncfw.plugins import Registry
    from syncfw.recipe import Recipe


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path, exists=True))
@env_file_option
@click.option(
    "--explain", is_flag=True, help="Show each target property with its owner and where its value comes from."
)
@click.option(
    "--check-env",
    is_flag=True,
    help="Also require every ${env:NAME} the recipes use to be set, and check the values they give.",
)
@click.option(
    "--online",
    is_flag=True,
    help="Also ask each source whether the streams and fields the mappings read exist (its "
    "describe or discover; needs the credentials, implies --check-env; nothing is read or written).",
)
def validate(
    paths: tuple[Path, ...], env_file: Path | None, explain: bool, check_env: bool, online: bool
) -> None:
    """Load and check recipes and mappings offline (nothing is read or written).

    No secret is needed: a value from an unset variable is checked once it is set (at plan or
    run), unless --check-env or --online is given."""
    from syncfw.notion.names import renames_of
    from syncfw.recipe.governance import check_runnable

    load_env(env_file)
    plugins = registry()
    problems: list[str] = []
    for path in paths:
        files = sorted(path.rglob("*.yaml")) + sorted(path.rglob("*.yml")) if path.is_dir() else [path]
        for file in files:
            try:
                head = read_regular(file, DOCUMENT).decode("utf-8", errors="replace")
            except OSError as exc:
                problems.append(f"{file}:1:1 cannot read the file: {exc.strerror or exc}")
                continue
            try:
                if any(line.startswith("mapping:") for line in head.splitlines()):
                    load_mapping(file)
                    out.print(f"ok  mapping {file}")
                else:
                    recipe = load_recipe(file, plugins, check_env=check_env or online)
                    if online:
                        _check_online(recipe, plugins)
                    out.print(f"ok  recipe {file}: {recipe.name}, targets {', '.join(recipe.targets)}")
                    try:
                        check_runnable(recipe, today())
                    except GuardStop as exc:
                        err.print(f"[yellow]warning:[/] {exc}", markup=True, highlight=False)
                    if explain:
                        _print_explain(explain_recipe(recipe, renames_of(recipe)))
            except ConfigError as exc:
                problems.append(str(exc))
    if problems:
        for problem in problems:
            err.print(problem, markup=False, soft_wrap=True)
        sys.exit(2)


def _check_online(recipe: Recipe, plugins: Registry) -> None:
    """Stream and field names against the sources (:func:`~syncfw.engine.source_names.check_source_names`)."""
    from syncfw.engine.source_names import check_source_names

    connectors: dict[str, Connector] = {}
    try:
        for name, source in recipe.sources.items():
            assert isinstance(source.config, BaseModel), "recipes are loaded with the plugin registry"
            connectors[name] = plugins.connector(source.connector)(source.config)
            connectors[name].check()
        check_source_names(recipe, connectors)
    finally:
        for connector in connectors.values():
            connector.close()


def _print_explain(rows: list[ExplainRow]) -> None:
    table = Table(title_justify="left", show_lines=False)
    for col in ("target", "property", "type", "owner", "value from", "defined at"):
        table.add_column(col, overflow="fold")
    for row in rows:
        table.add_row(row.target, row.property, row.type, row.owner, row.origin, row.where)
    out.print(table)
