"""Turning zenpy and requests exceptions into syncfw errors.

Zendesk answers errors with a JSON body ``{"error": "RecordNotFound", "description": "Not found"}``
(or ``{"error": "Couldn't authenticate you"}`` for a 401), and sometimes with plain text or an
HTML page. zenpy 2.0.57 raises ``RecordNotFoundException`` / ``APIException`` for JSON bodies and
``requests.HTTPError`` for the others, both keeping the ``requests.Response``. Messages built here
never contain a credential: zenpy sends them in headers, and Zendesk's bodies do not repeat them.
"""

from __future__ import annotations

import json
from typing import Any

import requests
from zenpy.lib.exception import ZenpyException  # type: ignore[import-untyped]

from syncfw import SourceAuthError, SourceError, SourceLimitExceeded, SourceUnavailable, connector
from syncfw_zendesk.ratelimits import RateLimits, parse_retry_after


class RateLimited(Exception):
    """A 429 answer, raised by the connector's session before zenpy's own unbounded 429 loop sees it.

    Attributes:
        retry_after: seconds Zendesk asked to wait (``Retry-After``), None when absent.
        limits: the rate limit headers of the answer.
        body: the start of the answer's body (JSON or plain text).
    """

    def __init__(self, response: requests.Response) -> None:
        super().__init__(f"HTTP 429 from {response.url}")
        self.retry_after = parse_retry_after(response.headers.get("Retry-After"))
        self.limits = RateLimits.from_headers(response.headers)
        self.body = response.text[:300]

    def wait(self) -> float | None:
        """Seconds to wait before retrying: ``Retry-After``, else the spent bucket's ``resets``."""
        if self.retry_after is not None:
            return self.retry_after
        bucket = self.limits.exhausted()
        return float(bucket.resets) if bucket is not None and bucket.resets is not None else None

    def limit(self) -> str:
        """Which limit was hit, in words (from the headers, else from the body's wording)."""
        bucket = self.limits.exhausted()
        if bucket is not None:
            return bucket.describe()
        if "incremental export" in self.body.lower():
            return "the incremental export limit (10 requests per minute)"
        return "the account's API rate limit (requests per minute, set by the Zendesk plan)"


def status_of(exc: BaseException) -> int | None:
    """The HTTP status of a failed call, when there was an answer."""
    response = getattr(exc, "response", None)
    return response.status_code if isinstance(response, requests.Response) else None


def is_transient(exc: BaseException) -> bool:
    """True for failures worth retrying: connection errors, timeouts and 5xx answers
    (:func:`syncfw.connector.is_transient`; zenpy and requests keep the answer's status in
    ``response``). TLS verification failures are connection errors to requests but never heal by retrying.
    """
    return connector.is_transient(
        exc,
        connection_errors=(requests.ConnectionError, requests.Timeout),
        tls_errors=(requests.exceptions.SSLError,),
    )


def reason(exc: BaseException) -> str:
    """Zendesk's own words for an error answer: ``error`` and ``description`` of the JSON body."""
    response = getattr(exc, "response", None)
    if not isinstance(response, requests.Response):
        return type(exc).__name__
    try:
        body: Any = response.json()
    except ValueError:
        text = " ".join(response.text.split())[:200]
        return text or response.reason or "no body"
    if not isinstance(body, dict):
        return json.dumps(body)[:200]
    error, description = body.get("error"), body.get("description")
    if isinstance(error, dict):  # {"error": {"title": ..., "message": ...}}
        description = description or error.get("message")
        error = error.get("title")
    return ": ".join(str(part) for part in (error, description) if part) or json.dumps(body)[:200]


def translate(exc: Exception, *, what: str, subdomain: str, attempts: int = 1) -> SourceError:
    """The syncfw error for a failed Zendesk call.

    Args:
        exc: what zenpy or requests raised.
        what: the call in words, e.g. ``"export of tickets"``.
        subdomain: the account's subdomain, to name it in messages.
        attempts: how many times the call was tried (for transient failures).

    Returns:
        :class:`SourceAuthError` for 401 and 403; :class:`SourceUnavailable` for transient
        failures; :class:`SourceError` otherwise (404: the subdomain or endpoint does not exist).
    """
    host = f"https://{subdomain}.zendesk.com"
    if isinstance(exc, requests.exceptions.SSLError):
        return SourceError(
            f"Zendesk {what}: the server's TLS certificate was not trusted ({exc}); for a local "
            "emulator point REQUESTS_CA_BUNDLE at its CA file"
        )
    local = connector.refused_on_loopback(exc)
    if local is not None:
        return SourceUnavailable(f"Zendesk {what}: {local}")
    status = status_of(exc)
    if is_transient(exc):
        brief = f"HTTP {status}: {reason(exc)}" if status else type(exc).__name__
        return SourceUnavailable(
            f"Zendesk did not answer the {what} after {attempts} attempt(s) ({brief}): check {host} "
            "and https://status.zendesk.com, then run again"
        )
    if status == 401:
        return SourceAuthError(
            f"Zendesk refused the credentials for {host} (HTTP 401: {reason(exc)}) during the {what}: "
            "check the email and API token (the token must be active, with token access enabled in "
            "Admin Center > Apps and integrations > Zendesk API), or the OAuth token"
        )
    if status == 403:
        return SourceAuthError(
            f"Zendesk refused the {what} (HTTP 403: {reason(exc)}): the incremental export API is "
            "allowed for admins only, so use an admin's API token or OAuth token"
        )
    if status == 404:
        return SourceError(
            f"Zendesk answered 404 to the {what} ({reason(exc)}): check the subdomain {subdomain!r} "
            f"(the part before .zendesk.com in {host})"
        )
    if status is not None:
        return SourceError(f"Zendesk rejected the {what} with HTTP {status} ({reason(exc)})")
    if isinstance(exc, requests.RequestException):
        return SourceError(f"Zendesk {what} failed: {type(exc).__name__}")
    if isinstance(exc, ZenpyException):
        # zenpy may append its local variables after the sentence: keep the sentence only
        return SourceError(f"Zendesk {what}: {str(exc).split(' {')[0]}")
    return SourceError(f"Zendesk {what} failed: {exc}")


def limit_exceeded(limited: RateLimited, *, what: str, max_wait: float, attempts: int) -> SourceLimitExceeded:
    """The error for a 429 the connector will not wait out, naming the limit that was hit."""
    wait = limited.wait()
    if wait is None:
        why = "without saying how long to wait (no Retry-After)"
    elif wait > max_wait:
        why = f"asking to wait {wait:g} s (Retry-After), more than max_rate_limit_wait={max_wait:g} s"
    else:
        why = f"{attempts} times in a row"
    return SourceLimitExceeded(
        f"Zendesk rate-limited the {what} (HTTP 429) {why}: {limited.limit()} is spent. Run again "
        "later or less often, raise max_rate_limit_wait, or ask a Zendesk admin about other "
        "integrations using the same limit"
    )
