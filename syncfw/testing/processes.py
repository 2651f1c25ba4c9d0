"""Several processes reading one source account at once: how a connector's tests check that a
limit shared across processes (:mod:`syncfw.account_budget`) holds for the account, not per client."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Mapping
from pathlib import Path

_READER = """\
import os, pathlib, sys, time

here = pathlib.Path(sys.argv[1])
here.touch()
while len(list(here.parent.glob("*.ready"))) < {processes}:  # start reading together
    time.sleep(0.01)
{connector}
print(sum(1 for item in connector.read({stream!r}, None, ()) if hasattr(item, "key")))
"""


def read_together(
    connector: str, stream: str, env: Mapping[str, str], directory: Path, *, processes: int = 2
) -> list[int]:
    """Start ``processes`` Python processes that each build a connector and read ``stream`` in
    full from no cursor, all starting at the same moment; answers how many records each read.

    Args:
        connector: Python source that assigns ``connector`` (it may read ``os.environ``).
        stream: the stream to read.
        env: the processes' whole environment (the emulator's variables, the budget's location).
        directory: an empty directory for the processes to meet in before reading.
        processes: how many read at once.

    Raises:
        AssertionError: a process failed (its stderr is the message) or took over 60 s.
    """
    script = _READER.format(processes=processes, connector=textwrap.dedent(connector), stream=stream)
    readers = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(directory / f"{n}.ready")],
            env=dict(env),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(processes)
    ]
    outputs = [reader.communicate(timeout=60) for reader in readers]
    assert all(reader.returncode == 0 for reader in readers), [err for _, err in outputs]
    return [int(out.strip()) for out, _ in outputs]
