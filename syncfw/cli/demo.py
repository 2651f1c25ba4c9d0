"""``syncfw demo``: the main job end to end in the sandbox, for a newcomer (the steps are in
:mod:`syncfw.cli.walkthrough`, imported when the command runs: the sandbox's web stack is not
loaded for any other command)."""

from __future__ import annotations

import contextlib
import sys
import tempfile
import time
from pathlib import Path

import click

from syncfw.cli.console import out
from syncfw.cli.options import RATE, registry


@click.command()
@click.option("--rate-limit", type=RATE, default=3.0, show_default=True, help="Notion requests per second.")
@click.option(
    "--keep", type=click.Path(path_type=Path, file_okay=False), help="Keep the sandbox in this directory."
)
def demo(rate_limit: float, keep: Path | None) -> None:
    """Run the main job end to end in the sandbox: Salesforce accounts and contacts into Notion.

    The sandbox lives in a temporary directory removed at the end, or in ``--keep DIR``."""
    from syncfw.cli.walkthrough import run_demo

    started = time.monotonic()
    with contextlib.ExitStack() as stack:
        workdir = keep or Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="syncfw-demo-")))
        code = run_demo(workdir, registry(), rate_limit=rate_limit)
    out.print(f"demo finished in {time.monotonic() - started:.0f} s")
    sys.exit(code)
