"""Times as Notion writes and reads them.

* Pages and data sources: ``created_time`` / ``last_edited_time`` truncated to the minute,
  ``"2026-07-04T09:08:00.000Z"`` (every 2025-09-03 recording; API-FACTS §4.1). Filters on these
  timestamps (``equals``, ``before``, ``after``, ``on_or_before``, ``on_or_after``, with a date
  or a date-time to the millisecond) compare the truncated value a page shows: ``after`` the
  minute a page shows never returns that page, ``on_or_after`` it returns every page of that
  minute again. That is what the sources rely on: Notion's guide "Query large data sources" and
  its cookbook example window reads ``on_or_after`` the last page's ``created_time`` and drop
  the pages of the boundary minute that *"repeat across windows"*; activepieces/activepieces#4671
  found that reads resumed ``after`` the last minute seen skip pages of that minute. Sorts see
  the exact instant (creation order for ``created_time``), so a window sorted by
  ``created_time`` is in a stable order.
* Database containers: milliseconds and ``+00:00``, ``"2026-07-04T09:08:57.778+00:00"`` (recorded).
* Date property values: ISO 8601 dates (``2026-07-04``) or date-times; date-times come back with
  milliseconds and an offset (``2026-07-04T10:00:00.000+00:00``), or without offset when a
  ``time_zone`` is given (DOC page-property-values).

Internally times are integers: milliseconds since the Unix epoch, UTC.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone

_ISO = re.compile(
    r"^(?P<date>\d{4}-\d{2}-\d{2})"
    r"(?:T(?P<time>\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)(?P<offset>Z|[+-]\d{2}:?\d{2})?)?$"
)
MINUTE_MS = 60_000


def minute_iso(ms: int) -> str:
    """``YYYY-MM-DDTHH:MM:00.000Z`` for a page or data source timestamp."""
    return datetime.fromtimestamp(truncate_minute(ms) / 1000, UTC).strftime("%Y-%m-%dT%H:%M:00.000Z")


def millis_iso(ms: int) -> str:
    """``YYYY-MM-DDTHH:MM:SS.fff+00:00`` for a database container timestamp."""
    moment = datetime.fromtimestamp(ms / 1000, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}+00:00"


def truncate_minute(ms: int) -> int:
    """The start of the minute ``ms`` falls in."""
    return ms - ms % MINUTE_MS


@dataclass(frozen=True)
class IsoValue:
    """A parsed ISO 8601 date or date-time.

    Attributes:
        day: the calendar date as written.
        moment: the UTC instant (midnight UTC for a date without time; a date-time without offset
            is read as UTC, as Notion does for filters).
        has_time: whether a time was given.
        local: the date-time as written, without offset (``None`` for a date).
    """

    day: date
    moment: datetime
    has_time: bool
    local: datetime | None


def parse_iso(text: object) -> IsoValue | None:
    """Parse an ISO 8601 date or date-time, or return ``None`` if ``text`` is not one."""
    if not isinstance(text, str):
        return None
    match = _ISO.match(text)
    if not match:
        return None
    try:
        day = date.fromisoformat(match["date"])
        if match["time"] is None:
            moment = datetime(day.year, day.month, day.day, tzinfo=UTC)
            return IsoValue(day, moment, has_time=False, local=None)
        clock = match["time"]
        if "." in clock:
            whole, fraction = clock.split(".")
            clock = f"{whole}.{(fraction + '000000')[:6]}"
        local = datetime.fromisoformat(f"{match['date']}T{clock}")
        offset = match["offset"]
        zone = UTC if offset in (None, "Z") else _offset_zone(offset)
    except ValueError:
        return None
    return IsoValue(day, local.replace(tzinfo=zone).astimezone(UTC), has_time=True, local=local)


def _offset_zone(offset: str) -> timezone:
    sign = -1 if offset[0] == "-" else 1
    digits = offset[1:].replace(":", "")
    delta = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    if delta >= timedelta(hours=24):
        raise ValueError(offset)
    return timezone(sign * delta)


def response_date(text: str, *, time_zone: str | None) -> str:
    """The form a date property's ``start``/``end`` takes in responses.

    Dates stay as written; date-times get milliseconds and an offset (``+00:00`` when none was
    given), or no offset when the value carries a separate ``time_zone``.
    """
    value = parse_iso(text)
    if value is None or not value.has_time or value.local is None:
        return text
    written = value.local.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.local.microsecond // 1000:03d}"
    if time_zone is not None:
        return written
    match = _ISO.match(text)
    offset = match["offset"] if match else None
    if offset in (None, "Z"):
        return written + "+00:00"
    assert offset is not None
    digits = offset[1:].replace(":", "")
    return f"{written}{offset[0]}{digits[:2]}:{digits[2:]}"
