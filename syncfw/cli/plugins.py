"""``syncfw plugins`` and ``syncfw new-connector``: what is installed, and a start for a new one."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
from rich.table import Table

from syncfw.cli.console import out
from syncfw.cli.options import registry


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
    out.print(f"next: pip install -e {path} && pytest {path}/tests   (see docs/connectors.md)")
