"""Zendesk failures become syncfw errors that say what to do, with no secret, and no run hangs."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest
import requests
from syncfw_zendesk.client import ZendeskClient

from syncfw import SourceAuthError, SourceError, SourceLimitExceeded, SourceUnavailable

if TYPE_CHECKING:
    from conftest import Sandbox


def test_wrong_api_token_is_source_auth_error_without_the_token(sandbox: Sandbox) -> None:
    connector = sandbox.connector(api_token="not-the-token-123")

    with pytest.raises(SourceAuthError) as at_check:
        connector.check()
    with pytest.raises(SourceAuthError) as at_read:
        list(connector.read("tickets", None, []))

    for caught in (at_check, at_read):
        message = str(caught.value)
        assert "HTTP 401: Couldn't authenticate you" in message
        assert "https://syncfw-sandbox.zendesk.com" in message
        assert "not-the-token-123" not in message and sandbox.env["ZENDESK_API_TOKEN"] not in message


def test_wrong_oauth_token_is_source_auth_error(sandbox: Sandbox) -> None:
    with pytest.raises(SourceAuthError, match="Couldn't authenticate you") as caught:
        sandbox.connector(oauth_token="expired-oauth-token").check()

    assert "expired-oauth-token" not in str(caught.value)


def test_check_refuses_credentials_of_a_non_admin(sandbox: Sandbox) -> None:
    sandbox.account.email = "rose@edge.com"  # an end user of the seed data
    connector = sandbox.connector(email="rose@edge.com")

    with pytest.raises(SourceAuthError, match=r"rose@edge.com is 'end-user', not an admin"):
        connector.check()


def test_check_passes_for_the_sandbox_admin(sandbox: Sandbox) -> None:
    sandbox.connector().check()


def test_forbidden_says_admins_only(sandbox: Sandbox) -> None:
    sandbox.account.fail_next(1, status=403)

    with pytest.raises(SourceAuthError, match="allowed for admins only"):
        sandbox.read("tickets")


def test_not_found_points_at_the_subdomain(sandbox: Sandbox) -> None:
    sandbox.account.fail_next(1, status=404)

    with pytest.raises(SourceError, match=r"RecordNotFound: Not found.*check the subdomain 'syncfw-sandbox'"):
        sandbox.read("tickets")


def test_transient_failures_are_retried(sandbox: Sandbox) -> None:
    sandbox.account.fail_next(2, status=503)

    records, _ = sandbox.read("tickets")

    assert len(records) == 30
    assert sandbox.account.stats.requests == 3


def test_persistent_5xx_is_source_unavailable(sandbox: Sandbox) -> None:
    sandbox.account.fail_next(10, status=503)

    with pytest.raises(SourceUnavailable) as caught:
        sandbox.read("tickets")

    assert "after 4 attempt(s) (HTTP 503: Service Unavailable)" in str(caught.value)
    assert sandbox.account.stats.requests == 4


def test_a_stopped_local_emulator_fails_at_once_asking_for_the_sandbox(sandbox: Sandbox) -> None:
    """Connection refused on 127.0.0.1 is not retried (nothing listens there)."""
    sandbox.emulator.stop()

    with pytest.raises(
        SourceUnavailable, match=r"credentials: nothing listens at 127\.0\.0\.1:\d+"
    ) as caught:
        sandbox.connector().check()
    assert "is `syncfw sandbox serve` running" in str(caught.value)


def test_untrusted_certificate_says_how_to_trust_it(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("REQUESTS_CA_BUNDLE")

    with pytest.raises(SourceError, match="REQUESTS_CA_BUNDLE"):
        sandbox.connector().check()


@pytest.mark.timeout(20)
def test_a_429_is_waited_out_for_its_retry_after(sandbox: Sandbox) -> None:
    sandbox.account.rate_limit_next(1, retry_after=1)
    started = time.monotonic()

    records, _ = sandbox.read("tickets")

    assert len(records) == 30
    assert time.monotonic() - started >= 1
    assert sandbox.account.stats.rate_limited == 1


@pytest.mark.timeout(10)
def test_a_retry_after_above_the_bound_fails_at_once_naming_the_export_limit(
    start_sandbox: Callable[..., Sandbox],
) -> None:
    sandbox = start_sandbox()
    sandbox.account.rate_limit_next(1, retry_after=300)
    started = time.monotonic()

    with pytest.raises(SourceLimitExceeded) as caught:
        sandbox.read("tickets")

    assert time.monotonic() - started < 5  # neither zenpy's own 429 loop nor ours waited
    message = str(caught.value)
    assert "asking to wait 300 s (Retry-After), more than max_rate_limit_wait=120 s" in message
    assert "the incremental export limit (20 requests per minute" in message
    assert "zendesk-ratelimit-incremental-exports-cursor" in message


@pytest.mark.timeout(10)
def test_the_plans_per_minute_limit_is_named(sandbox: Sandbox) -> None:
    sandbox.account.rate_limit_next(1, retry_after=300, limit="plan")

    with pytest.raises(SourceLimitExceeded) as caught:
        sandbox.read("tickets")

    assert "the account's API rate limit (400 requests per minute, set by the Zendesk plan)" in str(
        caught.value
    )
    assert sandbox.account.stats.requests == 1


@pytest.mark.timeout(10)
def test_repeated_429s_are_retried_a_bounded_number_of_times(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ZendeskClient, "rate_limit_attempts", 3)
    sandbox.account.rate_limit_next(50, retry_after=0)

    with pytest.raises(SourceLimitExceeded, match="3 times in a row"):
        sandbox.read("tickets")

    assert sandbox.account.stats.rate_limited == 3


@pytest.mark.timeout(20)
def test_a_window_spent_by_another_client_is_waited_for_instead_of_being_refused(sandbox: Sandbox) -> None:
    sandbox.account.window_seconds = 2
    sandbox.account.set_export_limits(cursor_based=20)
    export = f"https://{sandbox.env['ZENPY_FORCE_NETLOC']}/api/v2/incremental/tickets/cursor.json"
    other = {"Authorization": f"Bearer {sandbox.env['ZENDESK_OAUTH_TOKEN']}"}
    for _ in range(19):  # another integration leaves one request in the window
        assert requests.get(export, params={"start_time": 0}, headers=other, timeout=10).status_code == 200
    started = time.monotonic()

    records, checkpoints = sandbox.read("tickets", page_size=10)  # its first page spends the window

    assert len(records) == 30 and len(checkpoints) == 3
    assert sandbox.account.stats.rate_limited == 0
    assert time.monotonic() - started >= 1  # the second page waited for the window to reset
