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
    "validate": (
        "syncfw.cli.validate:validate",
        "Load and check recipes and mappings offline (nothing is read or written).",
    ),
    "plan": (
        "syncfw.cli.run:plan",
        "Read the sources and Notion and show the property-level diff; write nothing.",
    ),
    "run": (
        "syncfw.cli.run:run",
        "Plan and apply: write the changes to Notion, the Sync Health rows and the alerts.",
    ),
    "status": (
        "syncfw.cli.health:status",
        "Freshness of every source against stale_after, last runs, open quarantine and drift.",
    ),
    "runs": (
        "syncfw.cli.health:runs",
        (
            "Run history: who or what started each run, versions, counts, Notion requests, duration, exit "
            "code and error; renewals too."
        ),
    ),
    "audit": (
        "syncfw.cli.health:audit",
        (
            "Every recipe with owner, tier, expiry, last success and lineage: which source field feeds which "
            "Notion property of which data source, what people own, what holds personal data."
        ),
    ),
    "renew": (
        "syncfw.cli.health:renew",
        (
            "Move the expires date of an experimental recipe (edits the file, keeping its comments), and "
            "record the renewal in its run history."
        ),
    ),
    "state": (
        "syncfw.cli.state:state",
        (
            "Show a recipe's state (cursors, pages, open intents, quarantine, runs), reset its cursors, or "
            "move it to PostgreSQL."
        ),
    ),
    "rollback": (
        "syncfw.cli.rollback:rollback",
        "Undo a run: restore changed properties, unarchive, archive created pages, rewind cursors.",
    ),
    "notion": ("syncfw.cli.notion:notion", "Set up the Notion side of a recipe."),
    "plugins": (
        "syncfw.cli.plugins:plugins",
        "Installed plugins: connectors, emulators and transforms, with versions.",
    ),
    "connector": (
        "syncfw.cli.plugins:connector",
        "What an installed connector takes: its config options and streams.",
    ),
    "new-connector": (
        "syncfw.cli.plugins:new_connector",
        "Scaffold a connector distribution (entry point, config, stream, emulator, kit tests).",
    ),
    "schema": (
        "syncfw.cli.schema:schema",
        (
            "Print the JSON Schema of recipe (default) or mapping files, with every installed connector's "
            "`config` block, for editors."
        ),
    ),
    "sandbox": (
        "syncfw.cli.sandbox:sandbox",
        "Local emulators of Notion and of every installed connector's source.",
    ),
    "demo": (
        "syncfw.cli.demo:demo",
        "Run the main job end to end in the sandbox: Salesforce accounts and contacts into Notion.",
    ),
}
"""Command name → (``module:attribute`` of its click command, its short help: the first sentence
of its help, which ``syncfw --help`` lists without importing the command; a test keeps them equal)."""


class LazyGroup(click.Group):
    """A group that imports a command's module only when that command is invoked (``syncfw
    --help`` lists the short help kept in :data:`COMMANDS`), so that ``syncfw --version``,
    ``--help`` and each command load only what they use: the engine, the plugins, apprise or the
    sandbox's web stack cost a second at start-up. This is the lazy subcommand pattern of click's
    documentation ("Lazily Loading Subcommands",
    https://click.palletsprojects.com/en/stable/complex/#lazily-loading-subcommands)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        module, name = COMMANDS[cmd_name][0].split(":")
        command = getattr(importlib.import_module(module), name)
        assert isinstance(command, click.Command), COMMANDS[cmd_name]
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The "Commands" section of ``syncfw --help`` from :data:`COMMANDS`' short help, shortened to
        the terminal as click shortens each command's own help, without importing any command."""
        commands = [(name, click.Command(name, help=COMMANDS[name][1])) for name in self.list_commands(ctx)]
        limit = formatter.width - 6 - max(len(name) for name, _ in commands)
        with formatter.section("Commands"):
            formatter.write_dl([(name, command.get_short_help_str(limit)) for name, command in commands])


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
