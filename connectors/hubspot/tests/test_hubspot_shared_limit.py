"""HubSpot's limits hold for the account: two processes reading one account together stay within
them (the emulator counts the searches of the account in every one-second window)."""

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
from syncfw_hubspot import HubSpotConfig, HubSpotConnector

here = pathlib.Path(sys.argv[1])
here.touch()
while len(list(here.parent.glob("*.ready"))) < 2:  # start reading together
    time.sleep(0.01)
connector = HubSpotConnector(HubSpotConfig(
    access_token=os.environ["HUBSPOT_ACCESS_TOKEN"], host=os.environ["HUBSPOT_HOST"],
    page_size=2, deletes=False, search_requests_per_second=6,
))
print(sum(1 for item in connector.read("contacts", None, ()) if hasattr(item, "key")))
"""


def read_together(sandbox: Sandbox, tmp_path: Path, env: dict[str, str]) -> list[str]:
    """Two processes each read every contact, one search per contact; their outputs."""
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


@pytest.mark.parametrize("backend", ["file", "postgresql"])
def test_two_processes_stay_within_the_accounts_search_limit_together(
    backend: str, sandbox: Sandbox, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    env = dict(os.environ, SYNCFW_BUDGET_DIR=str(tmp_path / "budget"))
    env.pop("SYNCFW_BUDGET_URL", None)
    if backend == "postgresql":
        env["SYNCFW_BUDGET_URL"] = request.getfixturevalue("postgres_url")
    sandbox.portal.search_per_second = 10  # for the account (HubSpot: 5); each process paces 6

    counts = read_together(sandbox, tmp_path, env)

    assert counts == ["12", "12"]
    assert sandbox.portal.stats.searches >= 30  # 16 each: at 12 a second together, 429s
    assert sandbox.portal.stats.rate_limited == 0
