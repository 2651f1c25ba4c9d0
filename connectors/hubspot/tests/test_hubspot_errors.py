"""HubSpot failures: waited out, retried, or turned into syncfw errors that say what to do."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import pytest
from syncfw_hubspot import HubSpotConnector
from syncfw_hubspot.emulator import DAILY, SECONDLY, TEN_SECONDLY

from syncfw import SourceAuthError, SourceError, SourceLimitExceeded, SourceUnavailable

if TYPE_CHECKING:
    from conftest import Sandbox

FIELDS = ("properties.name", "properties.domain")


def test_a_wrong_token_is_source_auth_error(sandbox: Sandbox) -> None:
    sandbox.env["HUBSPOT_ACCESS_TOKEN"] = "pat-na1-11111111-2222-3333-4444-555555555555"

    with pytest.raises(SourceAuthError) as caught:
        sandbox.connector().check()

    message = str(caught.value)
    assert "refused the access token (INVALID_AUTHENTICATION)" in message
    assert "pat-na1-" not in message
    with pytest.raises(SourceAuthError):
        sandbox.read("companies", None, FIELDS)


def test_check_accepts_the_right_token(sandbox: Sandbox) -> None:
    sandbox.connector().check()

    assert sandbox.portal.stats.requests == 1


def test_ten_secondly_429s_are_waited_out_for_the_window_hubspot_names(sandbox: Sandbox) -> None:
    sandbox.portal.window_ms = 300
    sandbox.portal.rate_limit_next(2, TEN_SECONDLY)
    started = time.monotonic()

    records, _ = sandbox.read("companies", None, FIELDS)

    assert len(records) == 8
    assert sandbox.portal.stats.rate_limited == 2
    assert 0.6 <= time.monotonic() - started < 5  # two waits of the 300 ms window


def test_per_second_search_429s_are_waited_out(sandbox: Sandbox) -> None:
    sandbox.portal.search_per_second = 3
    started = time.monotonic()

    records, _ = sandbox.read("contacts", None, (), page_size=4)  # 5 searches, sent at once

    assert len(records) == 12
    assert sandbox.portal.stats.rate_limited >= 1
    assert time.monotonic() - started >= 1  # HubSpot's SECONDLY 429 carries no wait: one second


def test_default_pacing_stays_within_the_search_limit(sandbox: Sandbox) -> None:
    sandbox.portal.search_per_second = 5
    started = time.monotonic()

    records, _ = sandbox.read("contacts", None, (), page_size=3, search_requests_per_second=4)

    searches = sandbox.portal.stats.searches
    assert len(records) == 12 and searches > 5  # more than HubSpot allows in a second
    assert sandbox.portal.stats.rate_limited == 0
    assert time.monotonic() - started >= 0.9 * (searches - 4) / 4


def test_a_429_that_lasts_is_source_limit_exceeded(sandbox: Sandbox) -> None:
    sandbox.portal.window_ms = 20
    sandbox.portal.rate_limit_next(10, TEN_SECONDLY)

    with pytest.raises(SourceLimitExceeded) as caught:
        sandbox.read("companies", None, FIELDS)

    assert "10-second rate limit after 5 attempt(s)" in str(caught.value)
    assert sandbox.portal.stats.rate_limited == 5


def test_the_daily_limit_is_a_clear_fatal_error_at_once(sandbox: Sandbox) -> None:
    connector = sandbox.connector()
    connector.check()
    sandbox.portal.daily_remaining = 0
    started = time.monotonic()

    with pytest.raises(SourceLimitExceeded) as caught:
        list(connector.read("companies", None, FIELDS))

    message = str(caught.value)
    assert "the account's daily API limit of 250,000 requests is spent" in message
    assert "DAILY: You have reached your daily limit." in message
    assert "resets at midnight in the account's time zone" in message
    assert time.monotonic() - started < 1
    assert sandbox.portal.stats.rate_limited == 1  # no retry


def test_an_injected_daily_429_on_search_is_fatal_too(sandbox: Sandbox) -> None:
    sandbox.portal.rate_limit_next(1, DAILY)

    with pytest.raises(SourceLimitExceeded, match="daily API limit"):
        sandbox.read("companies", None, FIELDS)


def test_transient_5xx_is_retried(sandbox: Sandbox) -> None:
    sandbox.portal.fail_next(2, status=502)

    records, _ = sandbox.read("companies", None, FIELDS)

    assert len(records) == 8


def test_persistent_5xx_is_source_unavailable(sandbox: Sandbox) -> None:
    sandbox.portal.fail_next(10, status=503)

    with pytest.raises(SourceUnavailable) as caught:
        sandbox.read("companies", None, FIELDS)

    assert "after 4 attempt(s)" in str(caught.value)
    assert "HTTP 503 INTERNAL_ERROR" in str(caught.value)


def test_a_stopped_local_emulator_fails_at_once_asking_for_the_sandbox(sandbox: Sandbox) -> None:
    """Connection refused on 127.0.0.1 is not retried (nothing listens there)."""
    sandbox.emulator.stop()

    with pytest.raises(SourceUnavailable, match=r"check: nothing listens at 127\.0\.0\.1:\d+") as caught:
        sandbox.connector().check()
    assert "is `syncfw sandbox serve` running" in str(caught.value)


def test_an_untrusted_certificate_says_how_to_trust_it(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("REQUESTS_CA_BUNDLE")

    with pytest.raises(SourceError, match="REQUESTS_CA_BUNDLE or SSL_CERT_FILE") as caught:
        sandbox.connector().check()

    assert not isinstance(caught.value, SourceUnavailable)


def test_ssl_cert_file_is_honoured_too(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    ca_file = __import__("os").environ["REQUESTS_CA_BUNDLE"]
    monkeypatch.delenv("REQUESTS_CA_BUNDLE")
    monkeypatch.setenv("SSL_CERT_FILE", ca_file)

    sandbox.connector().check()


def test_a_secondly_policy_name_without_headers_uses_the_default_wait(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(HubSpotConnector, "secondly_wait", 0.2)
    sandbox.portal.rate_limit_next(1, SECONDLY)
    started = time.monotonic()

    records, _ = sandbox.read("deals", None, ())

    assert len(records) == 5
    assert time.monotonic() - started >= 0.2


def test_a_missing_scope_is_source_auth_error_naming_what_to_grant(sandbox: Sandbox) -> None:
    sandbox.portal.scopes = {"crm.objects.companies.read", "crm.schemas.contacts.read"}

    with pytest.raises(SourceAuthError) as caught:
        sandbox.read("contacts", None, ("properties.email",))

    message = str(caught.value)
    assert "HTTP 403 MISSING_SCOPES" in message
    assert "give the private app the read scope of this object type" in message


def test_check_passes_for_a_token_without_the_contacts_scope(sandbox: Sandbox) -> None:
    sandbox.portal.scopes = {"crm.objects.companies.read"}

    sandbox.connector().check()


def test_without_the_schema_scope_properties_are_not_checked_but_read(sandbox: Sandbox) -> None:
    sandbox.portal.scopes = {"crm.objects.companies.read"}

    records, _ = sandbox.read("companies", None, ("properties.domain", "properties.not_a_property"))

    assert len(records) == 8
    assert "not_a_property" not in records[0].data["properties"]
    assert sandbox.connector().stream("companies").fields == ()
