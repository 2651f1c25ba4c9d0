"""Turning hubspot-api-client and urllib3 exceptions into syncfw errors.

HubSpot answers errors with ``{"status": "error", "message", "correlationId", "category"}``
(plus ``errors``, ``context``, ``links`` at times), and rate-limit refusals with
``{"status": "error", "message", "errorType": "RATE_LIMIT", "policyName", "correlationId"}``
(HubSpot, "Error handling", https://developers.hubspot.com/docs/api-reference/error-handling).
hubspot-api-client raises one exception class per HTTP status family in each of its sub-packages
(``UnauthorizedException`` for 401, ``ForbiddenException`` 403, ``NotFoundException`` 404,
``ServiceException`` 5xx, plain ``ApiException`` otherwise, 429 included), all with ``status``,
``body`` and ``headers``; TLS failures become ``ApiException(status=0)``, and connection errors
are urllib3's own. Messages built here never contain the access token: the exceptions carry
response headers and bodies only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import urllib3

from syncfw import SourceAuthError, SourceError, SourceLimitExceeded, SourceUnavailable, connector
from syncfw_hubspot.client import API_EXCEPTIONS
from syncfw_hubspot.ratelimit import DAILY, SECONDLY, TEN_SECONDLY, RateLimitHeaders


@dataclass(frozen=True)
class Refusal:
    """An error answer from HubSpot, parsed.

    Attributes:
        status: the HTTP status (0 for a TLS failure).
        message: HubSpot's ``message`` (or the reason phrase when the body is not JSON).
        category: ``category`` (``INVALID_AUTHENTICATION``, ``MISSING_SCOPES``, ``VALIDATION_ERROR``...)
            or, for rate limits, ``errorType`` (``RATE_LIMIT``); may be empty.
        policy: ``policyName`` of a 429 (``TEN_SECONDLY_ROLLING``, ``SECONDLY``, ``DAILY``), else None.
        correlation_id: what HubSpot support asks for.
        limits: the answer's rate-limit headers.
    """

    status: int
    message: str
    category: str = ""
    policy: str | None = None
    correlation_id: str = ""
    limits: RateLimitHeaders = field(default_factory=RateLimitHeaders)

    @classmethod
    def of(cls, exc: BaseException) -> Refusal | None:
        """Parse a hubspot-api-client ``ApiException``; None for anything else."""
        if not isinstance(exc, API_EXCEPTIONS):
            return None
        status = int(getattr(exc, "status", 0) or 0)
        body: Any = getattr(exc, "body", None)
        if isinstance(body, bytes):
            body = body.decode("utf-8", "replace")
        try:
            parsed = json.loads(body) if body else {}
        except ValueError:
            parsed = {}
        if not isinstance(parsed, dict):
            parsed = {}
        reason = str(getattr(exc, "reason", "") or "").strip()
        policy = parsed.get("policyName")
        return cls(
            status=status,
            message=str(parsed.get("message") or reason or f"HTTP {status}"),
            category=str(parsed.get("category") or parsed.get("errorType") or ""),
            policy=str(policy) if policy else (SECONDLY if status == 429 else None),
            correlation_id=str(parsed.get("correlationId") or ""),
            limits=RateLimitHeaders.parse(getattr(exc, "headers", None)),
        )

    def brief(self) -> str:
        """``HTTP 400 VALIDATION_ERROR: <message>``."""
        label = " ".join(part for part in (f"HTTP {self.status}", self.policy or self.category) if part)
        return f"{label}: {self.message}"


def is_transient(exc: BaseException) -> bool:
    """True for failures worth retrying after a backoff: 5xx answers (hubspot-api-client's
    ``ApiException.status``) and urllib3's connection errors (:func:`syncfw.connector.is_transient`).
    TLS failures never heal by retrying.
    """
    return connector.is_transient(
        exc, connection_errors=(urllib3.exceptions.HTTPError,), tls_errors=(urllib3.exceptions.SSLError,)
    )


def waitable_rate_limit(exc: BaseException) -> Refusal | None:
    """The refusal when ``exc`` is a 429 worth waiting out (any policy but ``DAILY``)."""
    refusal = Refusal.of(exc)
    if refusal is None or refusal.status != 429 or refusal.policy == DAILY:
        return None
    return refusal


def translate(
    exc: BaseException, *, what: str, attempts: int = 1, daily_limit: int | None = None
) -> SourceError:
    """The syncfw error for a failed HubSpot call.

    Args:
        exc: what hubspot-api-client or urllib3 raised.
        what: the call in words, e.g. ``"search of contacts"``.
        attempts: how many times the call was tried.
        daily_limit: the account's daily allowance last reported (``X-HubSpot-RateLimit-Daily``).

    Returns:
        :class:`~syncfw.errors.SourceLimitExceeded` for a 429 ``DAILY`` and for a rate limit
        still hit after the retries; :class:`~syncfw.errors.SourceAuthError` for 401 and 403;
        :class:`~syncfw.errors.SourceUnavailable` for 5xx and connection failures after the
        retries; :class:`~syncfw.errors.SourceError` otherwise.
    """
    if isinstance(exc, urllib3.exceptions.SSLError) or _is_tls_refusal(exc):
        return SourceError(
            f"HubSpot {what}: the server's TLS certificate was not trusted ({_reason(exc)}); for a "
            "local emulator point REQUESTS_CA_BUNDLE or SSL_CERT_FILE at its CA file"
        )
    local = connector.refused_on_loopback(exc)
    if local is not None:
        return SourceUnavailable(f"HubSpot {what}: {local}")
    if isinstance(exc, urllib3.exceptions.HTTPError):
        return SourceUnavailable(
            f"HubSpot did not answer the {what} after {attempts} attempt(s) ({type(exc).__name__}): "
            "check the network and the host, and https://status.hubspot.com, then run again"
        )
    refusal = Refusal.of(exc)
    if refusal is None:
        return SourceError(f"HubSpot {what} failed: {exc}")
    if refusal.status == 401:
        return SourceAuthError(
            f"HubSpot refused the access token ({refusal.category or 'HTTP 401'}) for the {what}: "
            "check that the private app's token is current (rotated tokens stop working) and "
            "belongs to this account"
        )
    if refusal.status == 403:
        return SourceAuthError(
            f"HubSpot refused the {what} ({refusal.brief()}): give the private app the read scope "
            "of this object type (e.g. crm.objects.contacts.read) in its settings"
        )
    if refusal.status == 429 and refusal.policy == DAILY:
        return _daily_exhausted(what, refusal, daily_limit)
    if refusal.status == 429:
        window = "10-second" if refusal.policy == TEN_SECONDLY else "per-second search"
        return SourceLimitExceeded(
            f"HubSpot kept refusing the {what} for its {window} rate limit after {attempts} "
            f"attempt(s) ({refusal.brief()}): other apps of the account are using its allowance; "
            "run again later or lower requests_per_10_seconds"
        )
    if refusal.status >= 500:
        return SourceUnavailable(
            f"HubSpot did not answer the {what} after {attempts} attempt(s) ({refusal.brief()}): "
            "check https://status.hubspot.com, then run again"
            + (f" (correlation id {refusal.correlation_id})" if refusal.correlation_id else "")
        )
    return SourceError(
        f"HubSpot rejected the {what} ({refusal.brief()})"
        + (f" (correlation id {refusal.correlation_id})" if refusal.correlation_id else "")
    )


def _daily_exhausted(what: str, refusal: Refusal, daily_limit: int | None) -> SourceLimitExceeded:
    allowance = refusal.limits.daily or daily_limit
    size = f" of {allowance:,} requests" if allowance else ""
    return SourceLimitExceeded(
        f"HubSpot refused the {what}: the account's daily API limit{size} is spent "
        f"({refusal.policy}: {refusal.message}). It is shared by every private app of the account "
        "and resets at midnight in the account's time zone: run again after that, or ask a HubSpot "
        "admin which integration uses it up (Settings > Integrations > Private apps > Logs) or to "
        "buy the API limit increase."
    )


def _is_tls_refusal(exc: BaseException) -> bool:
    refusal = Refusal.of(exc)
    return refusal is not None and refusal.status == 0 and "SSL" in str(getattr(exc, "reason", ""))


def _reason(exc: BaseException) -> str:
    text = str(getattr(exc, "reason", "") or exc).strip().splitlines()
    return text[-1] if text else type(exc).__name__
