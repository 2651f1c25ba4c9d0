"""What every hostile-input test checks (issue 12): the documented exit code, one clear line that
says where the problem is, no traceback, no secret, and nothing else changed."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Outcome:
    """A finished ``syncfw`` command."""

    exit_code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def syncfw(
    *args: str | Path,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = 120,
) -> Outcome:
    """Run ``python -m syncfw.cli ARGS`` in a fresh process (the environment of the test plus
    ``env``); a command still running after ``timeout`` seconds fails the test (a hang)."""
    full_env = {**os.environ, **(env or {})}
    done = subprocess.run(
        [sys.executable, "-m", "syncfw.cli", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=full_env,
        timeout=timeout,
        check=False,
    )
    return Outcome(done.returncode, done.stdout, done.stderr)


def assert_refused(
    outcome: Outcome, exit_code: int, *, says: str, secrets: Iterable[str] = (), where: str | None = None
) -> None:
    """The command ended with ``exit_code``, no traceback, a message containing ``says`` (and
    ``where``, e.g. ``recipe.yaml:12``, when the problem has a location), and none of ``secrets``
    anywhere in its output."""
    assert outcome.exit_code == exit_code, (outcome.exit_code, outcome.output[-2000:])
    assert "Traceback" not in outcome.output, outcome.output[-4000:]
    assert says in outcome.output, outcome.output[-2000:]
    if where is not None:
        assert any(where in line and says in line for line in outcome.output.splitlines()) or (
            where in outcome.output
        ), outcome.output[-2000:]
    for secret in secrets:
        assert secret not in outcome.output, f"a secret was printed: {outcome.output[-2000:]}"
