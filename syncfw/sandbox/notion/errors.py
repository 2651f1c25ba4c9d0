"""Notion API errors as the emulator answers them.

Every error response has the body recorded from the real service (notion-sdk-py cassettes
``test_api_response_error*.yaml``, API-FACTS §2.2)::

    {"object": "error", "status": 400, "code": "validation_error",
     "message": "...", "request_id": "<uuid>"}

Codes and statuses follow the table in API-FACTS §2.3; message texts are the real ones where a
recording or a report of the real service gave them (API-FACTS §2.4), otherwise they are written
in the same style and say so in the function that makes them.

:class:`NotionAPIError` is raised by every operation of the emulator (HTTP handlers and the
Python ``human_*`` methods alike); the HTTP layer turns it into the response.
"""

from __future__ import annotations

import json
from typing import Any

UNDEFINED: Any = object()
"""Marker for a missing body key, printed as ``undefined`` in validation messages."""


class NotionAPIError(Exception):
    """An error the Notion API answers with a JSON error body.

    Attributes:
        status: the HTTP status, e.g. 400.
        code: the Notion error code, e.g. ``"validation_error"``.
        message: the human-readable message, as the real service words it.
        headers: extra response headers (``Retry-After`` for 429).
        additional_data: the optional ``additional_data`` object of the body.
    """

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        headers: dict[str, str] | None = None,
        additional_data: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}
        self.additional_data = additional_data

    def body(self, request_id: str) -> dict[str, Any]:
        """The JSON error body, in the recorded key order."""
        body: dict[str, Any] = {
            "object": "error",
            "status": self.status,
            "code": self.code,
            "message": self.message,
        }
        if self.additional_data is not None:
            body["additional_data"] = self.additional_data
        body["request_id"] = request_id
        return body


def shown(value: Any) -> str:
    """A value as Notion's validator prints it after ``instead was``: JSON, or ``undefined``."""
    if value is UNDEFINED:
        return "undefined"
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def invalid_request_url() -> NotionAPIError:
    """400 for an unknown path or a wrong method on a known path (OBSERVED)."""
    return NotionAPIError(400, "invalid_request_url", "Invalid request URL.")


def missing_version() -> NotionAPIError:
    """400 when the ``Notion-Version`` header is absent (DOC status-codes)."""
    return NotionAPIError(
        400,
        "missing_version",
        "Notion-Version header failed validation: Notion-Version header should be defined, "
        "instead was undefined.",
    )


def unauthorized(*, malformed_header: bool) -> NotionAPIError:
    """401: a wrong token, or a missing/ill-formed ``Authorization`` header (both OBSERVED)."""
    if malformed_header:
        return NotionAPIError(
            401, "unauthorized", 'Authorization header must use the format "Bearer <token>".'
        )
    return NotionAPIError(401, "unauthorized", "API token is invalid.")


def invalid_json() -> NotionAPIError:
    """400 for a body that is not JSON (OBSERVED 2026-10-08)."""
    return NotionAPIError(400, "invalid_json", "Error parsing JSON body.")


def rate_limited(retry_after: int | None) -> NotionAPIError:
    """429 with an integer ``Retry-After`` header in seconds (DOC request-limits); ``None``
    leaves the header out (an injected fault: clients must cope without it)."""
    return NotionAPIError(
        429,
        "rate_limited",
        "You have been rate limited. Please try again in a few minutes.",
        headers={"Retry-After": str(retry_after)} if retry_after is not None else None,
    )


PAYLOAD_LIMIT_BYTES = 500_000
"""Largest request body accepted: *"payloads have a maximum size of 1000 block elements and 500KB
overall"* (DOC request-limits, API-FACTS §3), 500KB read as 500,000 bytes, the stricter reading."""


def payload_too_large(size: int) -> NotionAPIError:
    """400 ``validation_error`` for a request body over :data:`PAYLOAD_LIMIT_BYTES` bytes on the
    wire. The status and code are the documented ones (DOC request-limits: *"A request that
    exceeds any of these limits will return "validation_error" error code (HTTP response status
    400)"*); no recording of the message exists, so it quotes the documented limit."""
    return validation(
        f"Request body is too large ({size:,} bytes): payloads have a maximum size of "
        "1000 block elements and 500KB overall."
    )


def validation(message: str) -> NotionAPIError:
    """400 ``validation_error`` with a message given verbatim."""
    return NotionAPIError(400, "validation_error", message)


def invalid_request(message: str) -> NotionAPIError:
    """400 ``invalid_request`` (unsupported request)."""
    return NotionAPIError(400, "invalid_request", message)


def body_invalid(
    path: str, expectation: str, value: Any = UNDEFINED, *, part: str = "body"
) -> NotionAPIError:
    """400 in the schema validator's style (API-FACTS §2.4).

    ``body_invalid("body.page_size", "a number or `undefined`", "ten")`` gives
    ``body failed validation: body.page_size should be a number or `undefined`, instead was `"ten"`.``
    """
    return validation(
        f"{part} failed validation: {path} should be {expectation}, instead was `{shown(value)}`."
    )


def too_long(path: str, limit: int, actual: int) -> NotionAPIError:
    """400 for a string or array over Notion's request limits (API-FACTS §3)."""
    return validation(f"body failed validation: {path} should be ≤ `{limit}`, instead was `{actual}`.")


def invalid_path_uuid(param: str, value: str) -> NotionAPIError:
    """400 for a path id that is not a UUID (API-FACTS §2.4)."""
    return body_invalid(f"path.{param}", "a valid uuid", value, part="path")


def not_found(kind: str, object_id: str) -> NotionAPIError:
    """404 for an object that does not exist or is not shared (DOC status-codes).

    ``kind`` is ``page``, ``database``, ``data_source``, ``block`` or ``user``.
    """
    return NotionAPIError(
        404,
        "object_not_found",
        f"Could not find {kind} with ID: {object_id}. "
        "Make sure the relevant pages and databases are shared with your integration.",
    )


def archived_block() -> NotionAPIError:
    """400 for a write to a page, database or data source in the trash (API-FACTS §5.4)."""
    return validation("Can't edit block that is archived. You must unarchive the block before editing.")


def fault(status: int, retry_after: int | None = None) -> NotionAPIError:
    """A server-side failure injected by the emulator's fault knobs, with Notion's codes and
    messages (API-FACTS §2.3; the 529 message is written in the style of the 503 one). A 429 or
    529 carries ``Retry-After: retry_after`` (whole seconds) unless it is ``None`` (DOC
    request-limits: connections must respect ``Retry-After`` on 429 and 529 answers)."""
    if status == 429:
        return rate_limited(retry_after)
    codes = {
        409: ("conflict_error", "Conflict occurred while saving. Please try again."),
        500: ("internal_server_error", "Unexpected error occurred."),
        502: ("bad_gateway", "Bad Gateway"),
        503: ("service_unavailable", "Notion is unavailable, please try again later."),
        504: ("gateway_timeout", "Gateway Timeout"),
        529: ("service_overload", "Notion is overloaded, please try again later."),
    }
    code, message = codes.get(status, ("internal_server_error", "Unexpected error occurred."))
    headers = {"Retry-After": str(retry_after)} if status == 529 and retry_after is not None else None
    return NotionAPIError(status, code, message, headers=headers)
