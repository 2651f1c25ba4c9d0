"""One worker's ``syncfw run RECIPE --json``, as the command line runs it, in a forked child
(forkserver with syncfw preloaded, so that fifty runs do not pay fifty interpreter starts)."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from syncfw.cli import main


def run_command(recipe: str, env: dict[str, str], cwd: str, log: str) -> None:
    """Run ``syncfw run recipe`` in ``cwd`` with exactly ``env`` (its own ``TMPDIR`` included);
    its output goes to the file ``log``. Exits with the command's exit code."""
    os.environ.clear()
    os.environ.update(env)
    tempfile.tempdir = None  # the forkserver's temporary directory is not this worker's
    os.chdir(cwd)
    with Path(log).open("w") as output:
        os.dup2(output.fileno(), 1)
        os.dup2(output.fileno(), 2)
    sys.argv = ["syncfw", "run", recipe, "--json"]
    main()
    sys.exit(0)
