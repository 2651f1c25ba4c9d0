"""``syncfw schema``: the JSON Schemas of recipe and mapping files, for editors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from syncfw.cli.console import out
from syncfw.cli.options import registry

FILES = {"recipe": "recipe.schema.json", "mapping": "mapping.schema.json"}
"""The file each schema is written to by ``--out DIR``."""


@click.command()
@click.argument("kind", type=click.Choice(sorted(FILES)), default="recipe")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path, file_okay=False),
    help=f"Write both schemas into this directory ({FILES['recipe']}, {FILES['mapping']}) instead of printing one.",
)
def schema(kind: str, out_dir: Path | None) -> None:
    """Print the JSON Schema of recipe (default) or mapping files, with every installed connector's
    `config` block, for editors. With the schema written by `syncfw schema --out .syncfw/schema`,
    this first line of a recipe makes VS Code (the YAML extension) or any yaml-language-server
    editor validate and complete it:

    \b
        # yaml-language-server: $schema=../.syncfw/schema/recipe.schema.json
    """
    from syncfw.recipe.editor_schema import mapping_schema, recipe_schema

    installed = registry().connectors  # every connector, without their emulators

    def build(name: str) -> dict[str, Any]:
        return recipe_schema({c: installed[c] for c in installed}) if name == "recipe" else mapping_schema()

    if out_dir is None:
        click.echo(json.dumps(build(kind), indent=2))
        return
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, file in FILES.items():
        (out_dir / file).write_text(json.dumps(build(name), indent=2) + "\n", encoding="utf-8")
        out.print(f"wrote {out_dir / file}", markup=False)
