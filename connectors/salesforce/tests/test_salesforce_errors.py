"""Salesforce failures become syncfw errors with messages that say what to do, and no secret."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from syncfw import SourceAuthError, SourceError, SourceLimitExceeded, SourceUnavailable

if TYPE_CHECKING:
    from conftest import Sandbox


def test_spent_daily_allowance_is_source_limit_exceeded(sandbox: Sandbox) -> None:
    connector = sandbox.connector()
    connector.check()
    sandbox.org.remaining_requests = 0

    with pytest.raises(SourceLimitExceeded) as caught:
        list(connector.read("Account", None, ["Name"]))

    message = str(caught.value)
    assert "daily API request allowance is spent" in message
    assert "REQUEST_LIMIT_EXCEEDED: TotalRequests Limit exceeded." in message
    assert "last reported usage 15000/15000" in message  # from the refusal's own Sforce-Limit-Info
    assert "run again later" in message
    assert sandbox.env["SALESFORCE_SESSION_ID"] not in message


def test_expired_session_is_source_auth_error(sandbox: Sandbox) -> None:
    connector = sandbox.connector()
    connector.check()
    sandbox.org.expire_session()

    with pytest.raises(SourceAuthError) as caught:
        list(connector.read("Account", None, ["Name"]))

    message = str(caught.value)
    assert "session expired or invalid (INVALID_SESSION_ID)" in message
    assert "get a new session id" in message
    assert sandbox.env["SALESFORCE_SESSION_ID"] not in message


def test_wrong_session_id_is_refused_at_check(sandbox: Sandbox) -> None:
    sandbox.env["SALESFORCE_SESSION_ID"] = "00Dnot-a-session"

    with pytest.raises(SourceAuthError, match="session expired or invalid"):
        sandbox.connector().check()


def test_unknown_field_is_named(sandbox: Sandbox) -> None:
    with pytest.raises(SourceError) as caught:
        sandbox.read("Account", None, ("Name", "Revenue__c"))

    message = str(caught.value)
    assert "INVALID_FIELD" in message
    assert "No such column 'Revenue__c' on entity 'Account'" in message
    assert "ERROR at Row" not in message  # the reason, without Salesforce's caret layout


def test_unknown_relationship_is_named(sandbox: Sandbox) -> None:
    with pytest.raises(SourceError, match="Didn't understand relationship 'Manager'"):
        sandbox.read("Account", None, ("Manager.Name",))


def test_unknown_sobject_is_named(sandbox: Sandbox) -> None:
    with pytest.raises(SourceError, match="no sObject named 'Invoice__c'"):
        sandbox.connector().stream("Invoice__c")


def test_transient_failure_is_retried(sandbox: Sandbox) -> None:
    sandbox.org.fail_next(2, status=503)

    records, _ = sandbox.read("Account")

    assert len(records) == 12


def test_persistent_5xx_is_source_unavailable(sandbox: Sandbox) -> None:
    sandbox.org.fail_next(10, status=503)

    with pytest.raises(SourceUnavailable) as caught:
        sandbox.read("Account")

    assert "after 4 attempt(s)" in str(caught.value)
    assert "HTTP 503 SERVER_UNAVAILABLE" in str(caught.value)


def test_a_stopped_local_emulator_fails_at_once_asking_for_the_sandbox(sandbox: Sandbox) -> None:
    """Connection refused on 127.0.0.1 is not retried (nothing listens there)."""
    sandbox.emulator.stop()

    with pytest.raises(
        SourceUnavailable, match=r"limits request: nothing listens at 127\.0\.0\.1:\d+"
    ) as caught:
        sandbox.connector().check()
    assert "is `syncfw sandbox serve` running" in str(caught.value)


def test_untrusted_certificate_says_how_to_trust_it(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("REQUESTS_CA_BUNDLE")

    with pytest.raises(SourceError, match="REQUESTS_CA_BUNDLE"):
        sandbox.connector().check()


def test_check_reports_api_usage(sandbox: Sandbox) -> None:
    sandbox.org.remaining_requests = 100
    connector = sandbox.connector()

    connector.check()

    assert connector.api_usage is not None
    assert (connector.api_usage.used, connector.api_usage.limit) == (14901, 15000)
    assert connector.api_usage.remaining == 99
