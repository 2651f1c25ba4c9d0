"""Salesforce datetime values: parsing what the APIs return and writing SOQL literals.

The REST API returns datetimes as ``2026-05-01T07:25:37.000+0000``; the Bulk API writes
``2026-05-01T07:25:37.000Z``. SOQL datetime literals are unquoted and carry a zone:
``2026-05-01T07:25:37Z`` (SOQL and SOSL Reference, "Date Formats and Date Literals",
https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/sforce_api_calls_soql_select_dateformats.htm).
"""

from __future__ import annotations

from datetime import UTC, datetime


def parse_datetime(value: str) -> datetime:
    """Parse a Salesforce datetime string into a timezone-aware :class:`datetime`.

    Accepts ``+0000``, ``+00:00`` and ``Z`` zones, with or without fractional seconds.

    Raises:
        ValueError: the string is not a datetime, or has no zone (Salesforce always sends one;
            a naive value would silently be read as local time).
    """
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ValueError(f"datetime {value!r} has no time zone")
    return parsed


def format_datetime(value: datetime) -> str:
    """Write a datetime the way the REST API returns it: ``2026-05-01T07:25:37.000+0000`` (UTC)."""
    utc = value.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}+0000"


def soql_datetime_literal(value: datetime) -> str:
    """A SOQL datetime literal for ``value`` in UTC, whole seconds rounded down.

    Rounding down keeps ``>=`` filters inclusive of everything in the same second; callers drop
    the few records before the exact instant themselves.

    Raises:
        ValueError: ``value`` is naive.
    """
    if value.tzinfo is None:
        raise ValueError("a SOQL datetime literal needs a timezone-aware datetime")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
