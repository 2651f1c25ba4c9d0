"""The config block: exactly one way to authenticate, a bare subdomain, secrets kept secret."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError
from syncfw_zendesk import ZendeskConfig
from syncfw_zendesk.cursors import ExportPosition
from syncfw_zendesk.ratelimits import RateLimits, parse_retry_after


def errors(**config: Any) -> str:
    with pytest.raises(ValidationError) as caught:
        ZendeskConfig(**config)
    return str(caught.value)


def test_api_token_and_oauth_modes() -> None:
    token = ZendeskConfig(subdomain="acme", email="admin@acme.com", api_token="t0k3n")
    oauth = ZendeskConfig(subdomain="acme", oauth_token="oauth-abc")

    assert (token.auth_mode, oauth.auth_mode) == ("api_token", "oauth")
    assert (token.start_time, token.page_size, token.max_rate_limit_wait) == (0, 1000, 120.0)
    assert "t0k3n" not in repr(token) and "oauth-abc" not in repr(oauth)


def test_exactly_one_way_to_authenticate() -> None:
    assert "no credentials given" in errors(subdomain="acme")
    assert "more than one way" in errors(subdomain="acme", email="a@acme.com", api_token="t", oauth_token="o")
    assert "also needs: api_token" in errors(subdomain="acme", email="a@acme.com")
    assert "also needs: email" in errors(subdomain="acme", api_token="t")


def test_subdomain_and_email_are_checked() -> None:
    assert "use 'acme'" in errors(subdomain="https://acme.zendesk.com", oauth_token="o")
    assert "use 'acme'" in errors(subdomain="acme.zendesk.com", oauth_token="o")
    assert "without '/token'" in errors(subdomain="acme", email="a@acme.com/token", api_token="t")
    assert "extra" in errors(subdomain="acme", oauth_token="o", password="hunter2").lower()


def test_limits_are_bounded() -> None:
    assert "less than or equal to 1000" in errors(subdomain="acme", oauth_token="o", page_size=5000)
    assert "greater than or equal to 0" in errors(subdomain="acme", oauth_token="o", max_rate_limit_wait=-1)


def test_cursor_forms_round_trip() -> None:
    after = ExportPosition.decode("MTcwNzI3MTc0MS4wfHw0MDQ1fA==", default_start=0)
    start = ExportPosition.decode("start_time:1778057622;skip=46406146527249,9", default_start=0)

    assert after.after_cursor == "MTcwNzI3MTc0MS4wfHw0MDQ1fA==" and after.encode() == after.after_cursor
    assert (start.start_time, start.skip) == (1778057622, frozenset({"9", "46406146527249"}))
    assert start.encode() == "start_time:1778057622;skip=9,46406146527249"
    assert ExportPosition.decode(None, default_start=42).encode() == "start_time:42"


def test_rate_limit_headers_are_read() -> None:
    limits = RateLimits.from_headers(
        {
            "X-Rate-Limit": "400",
            "X-Rate-Limit-Remaining": "0",
            "ratelimit-reset": "48",
            "zendesk-ratelimit-incremental-exports": "total=10; remaining=9; resets=60",
        }
    )

    assert limits.plan is not None and (limits.plan.total, limits.plan.remaining, limits.plan.resets) == (
        400,
        0,
        48,
    )
    assert [(b.total, b.remaining) for b in limits.exports] == [(10, 9)]
    assert limits.exhausted() == limits.plan
    assert parse_retry_after("30") == 30.0 and parse_retry_after(None) is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0
