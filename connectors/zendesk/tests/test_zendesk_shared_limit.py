"""Zendesk's limits hold for the account: two processes reading one account together stay within
its incremental export limit (the emulator counts the account's export requests in each window
and refuses the one over the limit with a 429)."""

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
from syncfw_zendesk import ZendeskConfig, ZendeskConnector

connector = ZendeskConnector(ZendeskConfig(
    subdomain=os.environ["ZENDESK_SUBDOMAIN"], email=os.environ["ZENDESK_EMAIL"],
    api_token=os.environ["ZENDESK_API_TOKEN"], page_size=1,
))
"""


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

    counts = read_together(CONNECTOR, "tickets", {**env, **sandbox.env}, tmp_path)

    assert counts == [30, 30]
    assert sandbox.account.stats.export_requests == 60  # 30 pages each: at once, 429s
    assert sandbox.account.stats.rate_limited == 0
