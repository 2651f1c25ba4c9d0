"""HubSpot's limits hold for the account: two processes reading one account together stay within
them (the emulator counts the searches of the account in every one-second window)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from syncfw.testing.processes import read_together
from tests.conftest import postgres_url  # noqa: F401  (the throwaway server, for the PostgreSQL budget)

if TYPE_CHECKING:
    from conftest import Sandbox

CONNECTOR = """
from syncfw_hubspot import HubSpotConfig, HubSpotConnector

connector = HubSpotConnector(HubSpotConfig(
    access_token=os.environ["HUBSPOT_ACCESS_TOKEN"], host=os.environ["HUBSPOT_HOST"],
    page_size=2, deletes=False, search_requests_per_second=6,
))
"""


@pytest.mark.parametrize("backend", ["file", "postgresql"])
def test_two_processes_stay_within_the_accounts_search_limit_together(
    backend: str, sandbox: Sandbox, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    env = dict(os.environ, SYNCFW_BUDGET_DIR=str(tmp_path / "budget"))
    env.pop("SYNCFW_BUDGET_URL", None)
    if backend == "postgresql":
        env["SYNCFW_BUDGET_URL"] = request.getfixturevalue("postgres_url")
    sandbox.portal.search_per_second = 10  # for the account (HubSpot: 5); each process paces 6

    counts = read_together(CONNECTOR, "contacts", {**env, **sandbox.env}, tmp_path)

    assert counts == [12, 12]
    assert sandbox.portal.stats.searches >= 30  # 16 each: at 12 a second together, 429s
    assert sandbox.portal.stats.rate_limited == 0
