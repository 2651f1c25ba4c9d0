"""Turning what a database driver returns into the plain values mappings expect.

Record data holds only ``None``, ``bool``, ``int``, ``float``, ``str``, ``list`` and ``dict``:

* NULL becomes ``None``;
* ``timestamp with time zone`` becomes ISO 8601 text with its offset
  (``2026-05-01T09:30:00+00:00``); a date-time without a zone (``timestamp``, SQLite text) is read
  in the config's ``timezone`` and written with that zone's offset, because Notion dates need one;
* ``date`` becomes ``YYYY-MM-DD``, ``time`` ``HH:MM:SS``, an interval an ISO 8601 duration in
  seconds (``PT5400S``);
* ``numeric``/``decimal`` becomes an ``int`` when whole, else a ``float`` (a Notion number is an
  IEEE double); NaN becomes ``None``;
* booleans stay booleans (SQLite's 0/1 stay numbers: a checkbox property takes both);
* ``uuid`` and other types with a text form become that text; JSON and arrays keep their shape;
* binary values (``bytea``, ``BLOB``) are refused: no Notion property holds them.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

# integral numbers from this size on are not exact as doubles, so they stay as they are
_EXACT_INTEGERS = 2**53


class ValueProblem(ValueError):
    """A value cannot become a plain value; ``str()`` says why."""


def plain(value: Any, zone: ZoneInfo) -> Any:
    """``value`` as a plain, JSON-like value (see the module docstring).

    Raises:
        ValueProblem: a binary value.
    """
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return None if math.isnan(value) else value
    if isinstance(value, Decimal):
        if value.is_nan():
            return None
        if value == value.to_integral_value() and abs(value) < _EXACT_INTEGERS:
            return int(value)
        return float(value)
    if isinstance(value, dt.datetime):
        return aware(value, zone).isoformat()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return f"PT{value.total_seconds():g}S"
    if isinstance(value, bytes | bytearray | memoryview):
        raise ValueProblem("holds binary data, which no Notion property takes (leave it out of the mapping)")
    if isinstance(value, Mapping):
        return {str(k): plain(v, zone) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item, zone) for item in value]
    return str(value)


def aware(moment: dt.datetime, zone: ZoneInfo) -> dt.datetime:
    """``moment`` with a time zone: its own, or ``zone`` when it has none."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=zone)


def key_text(value: Any) -> str | None:
    """A key column's value as ``Record.key`` text, or None when NULL or blank.

    Whole numbers are written without a fraction (``7``, ``Decimal('7')`` → ``"7"``); text is
    kept as it is; a UUID is its text.

    Raises:
        ValueProblem: a binary, date-time or boolean value (not a key a mapping can match).
    """
    if value is None:
        return None
    if isinstance(value, bool | bytes | bytearray | memoryview | dt.date | dt.time):
        raise ValueProblem(f"a key cannot be a {type(value).__name__}")
    if isinstance(value, Decimal | float) and value == int(value):
        value = int(value)
    text = str(value)
    return text if text.strip() else None


def stamp(value: Any, zone: ZoneInfo) -> tuple[dt.datetime, bool]:
    """An ``updated_at`` value as (time-zone aware date-time, whether it was stored without a zone).

    Accepts date-times and ISO 8601 text (SQLite keeps date-times as text: ``YYYY-MM-DD
    HH:MM:SS[.ffffff]``, what ``CURRENT_TIMESTAMP`` and SQLAlchemy's ``DateTime`` write).

    Raises:
        ValueProblem: NULL, or not a date-time.
    """
    if value is None:
        raise ValueProblem("it is NULL (every row needs an updated_at to be read incrementally)")
    moment: dt.datetime
    if isinstance(value, dt.datetime):
        moment = value
    elif isinstance(value, str):
        try:
            moment = dt.datetime.fromisoformat(value.strip())
        except ValueError:
            raise ValueProblem(f"{value[:40]!r} is not an ISO 8601 date-time") from None
    else:
        raise ValueProblem(
            f"{type(value).__name__} {str(value)[:40]!r} is not a date-time: updated_at must be a "
            "timestamp column (or ISO 8601 text in SQLite)"
        )
    return aware(moment, zone), moment.tzinfo is None


def is_deleted(value: Any) -> bool:
    """True for a soft-delete column value that marks the row deleted: neither NULL nor false
    (a ``deleted_at`` stamp, ``is_deleted = true``, SQLite's 1)."""
    return value is not None and value is not False and value != 0
