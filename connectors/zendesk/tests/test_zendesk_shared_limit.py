"""Zendesk's limits hold for the account: two processes reading one account together stay within
its incremental export limit (the emulator counts the account's export requests in each window
and refuses the one over the limit with a 429)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.conftest import postgres_url  # noqa: F401  (the throwaway server, for the PostgreSQL budget)

if TYPE_CHECKING:
    from conftest import Sandbox

READER = """
import os, pathlib, sys, time
from syncfw_zendesk import ZendeskConfig, ZendeskConnector

here = pathlib.Path(sys.argv[1])
here.touch()
while len(list(here.parent.glob("*.ready"))) < 2:  # start reading together
    time.sleep(0.01)
connector = ZendeskConnector(ZendeskConfig(
    subdomain=os.environ["ZENDESK_SUBDOMAIN"], email=os.environ["ZENDESK_EMAIL"],
    api_token=os.environ["ZENDESK_API_TOKEN"], page_size=1,
))
print(sum(1 for item in connector.read("tickets", None, ()) if hasattr(item, "key")))
"""


def read_together(sandbox: Sandbox, tmp_path: Path, env: dict[str, str]) -> list[str]:
    """Two processes each read every ticket, one export page per ticket; their outputs."""
    environment = {**env, **sandbox.env}
    readers = [
        subprocess.Popen(
            [sys.executable, "-c", READER, str(tmp_path / f"{n}.ready")],
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(2)
    ]
    outputs = [reader.communicate(timeout=60) for reader in readers]
    assert [reader.returncode for reader in readers] == [0, 0], [err for _, err in outputs]
    return [out.strip() for out, _ in outputs]


@pytest.mark.timeout(60)
@pytest.mark.parametrize("backend", ["file", "postgresql"])
def test_two_processes_stay_within_the_accounts_export_limit_together(
    backend: str, sandbox: Sandbox, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    env = dict(os.environ, SYNCFW_BUDGET_DIR=str(tmp_path / "budget"))
    for variable in ("SYNCFW_BUDGET_URL", "SYNCFW_STATE_URL"):
        env.pop(variable, None)
    if backend == "postgresql":
        env["SYNCFW_BUDGET_URL"] = request.getfixturevalue("postgres_url")
    # Zendesk counts per minute; 1-second windows let the test watch many go by. The connectors
    # learn the limit (24) from the headers and the window's length from its reset times.
    sandbox.account.window_seconds = 1
    sandbox.account.set_export_limits(cursor_based=24)

    counts = read_together(sandbox, tmp_path, env)

    assert counts == ["30", "30"]
    assert sandbox.account.stats.export_requests == 60  # 30 pages each: at once, 429s
    assert sandbox.account.stats.rate_limited == 0
