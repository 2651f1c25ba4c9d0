"""``syncfw plugins``, ``syncfw connector spec`` and ``syncfw new-connector``: what is installed,
what a connector takes, and a start for a new one."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
from rich.padding import Padding
from rich.table import Table

from syncfw.cli.console import out
from syncfw.cli.options import registry
from syncfw.recipe.editor_schema import connector_spec


@click.command()
@click.option("--json", "as_json", is_flag=True)
def plugins(as_json: bool) -> None:
    """Installed plugins: connectors, emulators and transforms, with versions."""
    installed = registry(every=True)
    rows: list[dict[str, Any]] = [
        {
            "name": p.name,
            "distribution": p.distribution,
            "version": p.version,
            "connectors": p.connectors,
            "emulators": p.emulators,
            "transforms": p.transforms,
            "maturity": {c: installed.connectors[c].maturity for c in p.connectors},
            "specs": {c: connector_spec(installed.connectors[c]) for c in p.connectors},
        }
        for p in installed.plugins
    ]
    if as_json:
        click.echo(json.dumps({"plugins": rows, "problems": installed.problems}, indent=2))
        return
    table = Table(title="syncfw plugins", title_justify="left")
    for col in ("plugin", "distribution", "version", "provides"):
        table.add_column(col)
    for row in rows:
        provides = [f"connector {c} ({row['maturity'][c]})" for c in row["connectors"]]
        provides += [f"emulator {e}" for e in row["emulators"]]
        if row["transforms"]:
            provides.append(f"transforms: {', '.join(row['transforms'])}")
        table.add_row(row["name"], row["distribution"], row["version"], "\n".join(provides))
    out.print(table)
    out.print("A connector's options and streams: syncfw connector spec NAME", markup=False)


@click.group()
def connector() -> None:
    """What an installed connector takes: its config options and streams."""


@connector.command()
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="The spec as JSON, with the config's JSON Schema.")
def spec(name: str, as_json: bool) -> None:
    """The `config` options a recipe source of connector NAME takes (type, default, whether it is a
    secret to give as ${env:NAME}) and the streams its mappings can read."""
    described = connector_spec(registry().connector(name))
    if as_json:
        click.echo(json.dumps(described, indent=2))
        return
    out.print(f"connector {name} ({described['maturity']}): config options", markup=False)
    for option in described["options"]:
        given = "required" if option["required"] else f"default {json.dumps(option.get('default'))}"
        secret = ", a secret: give it as ${env:NAME} or ${file:PATH}" if option["secret"] else ""
        out.print(f"  {option['name']}: {option['type']}, {given}{secret}", markup=False)
        if option["description"]:
            out.print(Padding(option["description"], (0, 0, 0, 6)), markup=False)
    out.print("streams (a mapping's `stream:`)", markup=False)
    for stream, reads in described["streams"].items():
        out.print(Padding(f"{'any other' if stream == '*' else stream}: {reads}", (0, 0, 0, 2)), markup=False)


@click.command("new-connector")
@click.argument("name")
@click.option(
    "--dest",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("."),
    show_default=True,
    help="Directory to create syncfw-NAME/ in.",
)
def new_connector(name: str, dest: Path) -> None:
    """Scaffold a connector distribution (entry point, config, stream, emulator, kit tests)."""
    from syncfw.scaffold import scaffold_connector

    path = scaffold_connector(name, dest)
    out.print(f"created {path}")
    out.print(
        f"next: cd {path}; python3 -m venv .venv; "
        """.venv/bin/pip install -e "$SYNCFW" -e '.[test]'; .venv/bin/pytest"""
        "   (SYNCFW: your syncfw checkout, as syncfw is not on PyPI yet; see docs/connectors.md)",
        markup=False,
        soft_wrap=True,
    )
