"""The ``syncfw`` command line: parse options, call the engine, render the outcome.

One module per group of commands (:mod:`~syncfw.cli.run`: plan and run; :mod:`~syncfw.cli.health`:
status, runs, audit, renew; :mod:`~syncfw.cli.notion`, :mod:`~syncfw.cli.sandbox`,
:mod:`~syncfw.cli.rollback`, :mod:`~syncfw.cli.state`, :mod:`~syncfw.cli.plugins`, :mod:`~syncfw.cli.schema`, :mod:`~syncfw.cli.validate`,
:mod:`~syncfw.cli.demo`), each imported only when its command runs or is listed (:class:`LazyGroup`);
rendering in :mod:`~syncfw.cli.render` and :mod:`~syncfw.cli.render_health`, through the consoles of
:mod:`~syncfw.cli.console`. The logic they call lives below: engine, health, notion.

Exit codes (DESIGN.md): 0 success; 1 run failed (state consistent); 2 usage or configuration
error; 3 completed with records that could not be synced; 4 stopped by a guard (mass change,
schema drift, an expired experimental recipe); 75 another run of the recipe holds its lock.
``syncfw status`` exits 1 when a recipe is unhealthy (stale, failing, never synced, expired, or
its last run failed or was stopped), so that a monitoring check can call it.
"""

from __future__ import annotations

import importlib
import sys

import click

from syncfw import __version__
from syncfw.cli.console import err
from syncfw.errors import ConfigError, SyncfwError

__all__ = ["cli", "main"]

COMMANDS = {
    "validate": "syncfw.cli.validate:validate",
    "plan": "syncfw.cli.run:plan",
    "run": "syncfw.cli.run:run",
    "status": "syncfw.cli.health:status",
    "runs": "syncfw.cli.health:runs",
    "audit": "syncfw.cli.health:audit",
    "renew": "syncfw.cli.health:renew",
    "state": "syncfw.cli.state:state",
    "rollback": "syncfw.cli.rollback:rollback",
    "notion": "syncfw.cli.notion:notion",
    "plugins": "syncfw.cli.plugins:plugins",
    "connector": "syncfw.cli.plugins:connector",
    "new-connector": "syncfw.cli.plugins:new_connector",
    "schema": "syncfw.cli.schema:schema",
    "sandbox": "syncfw.cli.sandbox:sandbox",
    "demo": "syncfw.cli.demo:demo",
}
"""Command name → ``module:attribute`` of its click command."""


class LazyGroup(click.Group):
    """A group that imports a command's module only when that command is invoked or listed
    (``--help``), so that ``syncfw --version`` and each command load only what they use: the engine,
    the plugins, apprise or the sandbox's web stack cost a second at start-up. This is the lazy
    subcommand pattern of click's documentation ("Lazily Loading Subcommands",
    https://click.palletsprojects.com/en/stable/complex/#lazily-loading-subcommands)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        module, name = COMMANDS[cmd_name].split(":")
        command = getattr(importlib.import_module(module), name)
        assert isinstance(command, click.Command), COMMANDS[cmd_name]
        return command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="syncfw")
def cli() -> None:
    """syncfw: keep Notion data sources fed from the systems that own the data."""


def main() -> None:
    """Entry point: run the CLI; expected failures print a message (no traceback) and exit."""
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        err.print("aborted")
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except ConfigError as exc:
        for line in str(exc).splitlines():
            err.print(line, markup=False, highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code)
    except SyncfwError as exc:
        err.print(f"error: {exc}", markup=False, soft_wrap=True)
        sys.exit(exc.exit_code)
    except SystemExit:
        raise
