"""HubSpot datetime values as instants in epoch milliseconds.

HubSpot returns datetime properties and ``createdAt``/``updatedAt``/``archivedAt`` as ISO 8601 in
UTC (``2026-05-01T07:25:37.861Z``, and ``2026-05-01T07:25:37Z`` when the milliseconds are zero),
and accepts either that or epoch milliseconds (``"1777620337861"``) in search filters (CRM
search guide, "Filter search results",
https://developers.hubspot.com/docs/api-reference/search/guide). Milliseconds are HubSpot's
precision, so instants are compared as whole milliseconds.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def parse_instant(value: object) -> int:
    """Epoch milliseconds of a HubSpot datetime: an ISO 8601 string or epoch milliseconds.

    Raises:
        ValueError: the value is neither, or is an ISO string without a time zone (HubSpot
            always sends one; a naive value would silently be read as local time).
    """
    if isinstance(value, bool):
        raise ValueError(f"not a HubSpot datetime: {value!r}")
    if isinstance(value, int):
        return value
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"not a HubSpot datetime: {value!r}")
    text = value.strip()
    if text.isdigit():
        return int(text)
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        raise ValueError(f"HubSpot datetime {value!r} has no time zone")
    return _epoch_ms(parsed)


def format_instant(epoch_ms: int) -> str:
    """ISO 8601 in UTC with milliseconds, the way HubSpot writes them: ``2026-05-01T07:25:37.861Z``."""
    moment = _EPOCH + timedelta(milliseconds=epoch_ms)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{epoch_ms % 1000:03d}Z"


def _epoch_ms(moment: datetime) -> int:
    delta = moment.astimezone(UTC) - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000
