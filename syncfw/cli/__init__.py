"""The ``syncfw`` command line: parse options, call the engine, render the outcome.

One module per group of commands (:mod:`~syncfw.cli.run`: plan and run; :mod:`~syncfw.cli.health`:
status, runs, audit, renew; :mod:`~syncfw.cli.notion`, :mod:`~syncfw.cli.sandbox`,
:mod:`~syncfw.cli.rollback`, :mod:`~syncfw.cli.state`, :mod:`~syncfw.cli.plugins`, :mod:`~syncfw.cli.validate`,
:mod:`~syncfw.cli.demo`); rendering in :mod:`~syncfw.cli.render` and
:mod:`~syncfw.cli.render_health`. The logic they call lives below: engine, health, notion.

Exit codes (DESIGN.md): 0 success; 1 run failed (state consistent); 2 usage or configuration
error; 3 completed with records that could not be synced; 4 stopped by a guard (mass change,
schema drift, an expired experimental recipe); 75 another run of the recipe holds its lock.
``syncfw status`` exits 1 when a recipe is unhealthy (stale, failing, never synced, expired, or
its last run failed or was stopped), so that a monitoring check can call it.
"""

from __future__ import annotations

import sys

import click

from syncfw import __version__
from syncfw.cli import demo, health, notion, plugins, rollback, run, sandbox, state, validate
from syncfw.cli.render import err
from syncfw.errors import ConfigError, SyncfwError

__all__ = ["cli", "main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="syncfw")
def cli() -> None:
    """syncfw: keep Notion data sources fed from the systems that own the data."""


for command in (
    validate.validate,
    run.plan,
    run.run,
    health.status,
    health.runs,
    health.audit,
    health.renew,
    state.state,
    rollback.rollback,
    notion.notion,
    plugins.plugins,
    plugins.new_connector,
    sandbox.sandbox,
    demo.demo,
):
    cli.add_command(command)


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
