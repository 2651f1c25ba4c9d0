"""Turning simple-salesforce and requests exceptions into syncfw errors.

Salesforce answers errors with a JSON array ``[{"message": ..., "errorCode": ...}]``
(REST API Developer Guide, "Status Codes and Error Responses",
https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/errorcodes.htm);
simple-salesforce raises one exception class per HTTP status and keeps the parsed body in
``content``. Messages built here never contain a credential: simple-salesforce exceptions carry
the request URL (SOQL, no session id) and the response body only.
"""

from __future__ import annotations

from typing import Any

import requests
from simple_salesforce.exceptions import (
    SalesforceAuthenticationFailed,
    SalesforceError,
    SalesforceExpiredSession,
    SalesforceGeneralError,
    SalesforceMalformedRequest,
    SalesforceRefusedRequest,
    SalesforceResourceNotFound,
)

from syncfw import SourceAuthError, SourceError, SourceLimitExceeded, SourceUnavailable, connector
from syncfw_salesforce.usage import ApiUsage


def is_transient(exc: BaseException) -> bool:
    """True for failures worth retrying: connection errors, timeouts and 5xx answers
    (:func:`syncfw.connector.is_transient`; simple-salesforce raises ``SalesforceGeneralError``
    for a 5xx). TLS verification failures are connection errors to requests but never heal by
    retrying."""
    return connector.is_transient(
        exc,
        connection_errors=(requests.ConnectionError, requests.Timeout),
        tls_errors=(requests.exceptions.SSLError,),
    )


def first_error(content: Any) -> tuple[str, str]:
    """``(errorCode, message)`` of the first error object of a Salesforce error body.

    Returns empty strings for bodies of another shape (an HTML error page, plain text).
    """
    if isinstance(content, list) and content and isinstance(content[0], dict):
        return str(content[0].get("errorCode", "")), str(content[0].get("message", ""))
    return "", ""


def soql_reason(message: str) -> str:
    """The reason line of a SOQL error message.

    Salesforce prefixes query errors with the query text, a caret line and
    ``ERROR at Row:1:Column:12``; the reason (``No such column 'Foo' on entity 'Account'...``)
    is the text after that line.
    """
    lines = [line for line in message.strip().splitlines() if line.strip()]
    for index, line in enumerate(lines):
        if line.startswith("ERROR at Row:"):
            return " ".join(lines[index + 1 :]) or message.strip()
    return message.strip()


def translate(exc: Exception, *, what: str, usage: ApiUsage | None, attempts: int = 1) -> SourceError:
    """The syncfw error for a failed Salesforce call.

    Args:
        exc: what simple-salesforce or requests raised.
        what: the call in words, e.g. ``"query of Account"``.
        usage: the last ``Sforce-Limit-Info`` usage seen, if any.
        attempts: how many times the call was tried (for transient failures).

    Returns:
        :class:`SourceLimitExceeded` for ``REQUEST_LIMIT_EXCEEDED``; :class:`SourceAuthError`
        for failed logins, expired sessions (401 ``INVALID_SESSION_ID``) and other refusals;
        :class:`SourceUnavailable` for transient failures; :class:`SourceError` otherwise.
    """
    if isinstance(exc, SalesforceAuthenticationFailed):
        return SourceAuthError(
            f"Salesforce login failed ({exc.code}: {exc.auth_message}): check the username and "
            "credentials, and the domain ('login' for production, 'test' for sandboxes, or the "
            "My Domain prefix)"
        )
    if isinstance(exc, requests.exceptions.SSLError):
        return SourceError(
            f"Salesforce {what}: the server's TLS certificate was not trusted ({exc}); for a local "
            "emulator point REQUESTS_CA_BUNDLE at its CA file"
        )
    local = connector.refused_on_loopback(exc)
    if local is not None:
        return SourceUnavailable(f"Salesforce {what}: {local}")
    if is_transient(exc):
        return SourceUnavailable(
            f"Salesforce did not answer the {what} after {attempts} attempt(s) ({_brief(exc)}): the "
            "org may be in maintenance or unreachable; check https://status.salesforce.com and the "
            "instance URL, then run again"
        )
    if not isinstance(exc, SalesforceError):
        return SourceError(f"Salesforce {what} failed: {exc}")
    code, message = first_error(exc.content)
    if isinstance(exc, SalesforceExpiredSession):
        return SourceAuthError(
            f"Salesforce session expired or invalid ({code or 'HTTP 401'}) during the {what}: get a "
            "new session id (or check the credentials if syncfw logs in for you)"
        )
    if isinstance(exc, SalesforceRefusedRequest) and code == "REQUEST_LIMIT_EXCEEDED":
        return _limit_exceeded(what, message, usage)
    if isinstance(exc, SalesforceRefusedRequest):
        return SourceAuthError(
            f"Salesforce refused the {what} ({code}: {message}): check that the user has the "
            "'API Enabled' permission and can read this object"
        )
    if isinstance(exc, SalesforceMalformedRequest):
        return SourceError(
            f"Salesforce rejected the {what} ({code}): {soql_reason(message)} Check the field names "
            "the mappings read against the sObject's fields."
        )
    if isinstance(exc, SalesforceResourceNotFound):
        return SourceError(f"Salesforce {what}: not found ({code}: {message})")
    return SourceError(f"Salesforce {what} failed with HTTP {exc.status} ({code}: {message})")


def _limit_exceeded(what: str, message: str, usage: ApiUsage | None) -> SourceLimitExceeded:
    if "DailyBulkV2QueryJobs" in message:
        return SourceLimitExceeded(
            f"Salesforce refused the {what}: the org's Bulk API 2.0 query jobs for the last 24 hours "
            f"are spent (REQUEST_LIMIT_EXCEEDED: {message}); run again later, or raise the source's "
            "bulk_threshold (or set it to null) to read over REST"
        )
    if "Concurrent" in message:
        return SourceLimitExceeded(
            f"Salesforce refused the {what}: too many long-running requests are running in the org "
            f"at once (REQUEST_LIMIT_EXCEEDED: {message}); run again in a few minutes"
        )
    seen = f"; last reported usage {usage.used}/{usage.limit} requests" if usage else ""
    return SourceLimitExceeded(
        f"Salesforce refused the {what}: the org's daily API request allowance is spent "
        f"(REQUEST_LIMIT_EXCEEDED: {message}{seen}). Salesforce counts requests over a rolling "
        "24 hours, so requests become available again as earlier ones age out: run again later or "
        "less often, or ask a Salesforce admin to review API usage (Setup > System Overview) or "
        "raise the allowance."
    )


def _brief(exc: BaseException) -> str:
    if isinstance(exc, SalesforceGeneralError):
        code, message = first_error(exc.content)
        return f"HTTP {exc.status} {code}".strip() + (f": {message}" if message else "")
    return type(exc).__name__
