"""The one clock of syncfw: aware UTC datetimes, and the ISO 8601 UTC strings the state store,
the run reports and the JSON logs keep (``2026-11-21T21:05:01Z``).

Every "what time is it" in syncfw is :func:`utcnow` (or :func:`today`, :func:`now_iso` made from
it); code that must be testable at another moment takes a :data:`Clock` argument instead.
Intervals are measured with :func:`time.monotonic`, which is not a clock of the day.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Literal

Clock = Callable[[], datetime]
"""Returns the current time as an aware UTC datetime; tests pass a frozen one."""

Precision = Literal["seconds", "milliseconds"]


def utcnow() -> datetime:
    """The real clock: now, as an aware UTC datetime."""
    return datetime.now(UTC)


def today() -> date:
    """Today's date in UTC (the day an experimental recipe's ``expires`` is compared with)."""
    return utcnow().date()


def now_iso(precision: Precision = "seconds") -> str:
    """Now as ``2026-11-21T21:05:01Z`` (or ``…01.123Z`` with ``"milliseconds"``, as the journal
    records writes)."""
    return _iso(utcnow(), precision)


def parse_time(text: str | None) -> datetime | None:
    """``2026-11-21T21:05:01Z`` (as runs and reads are recorded) → an aware datetime; None stays None."""
    if not text:
        return None
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def iso(moment: datetime | None, precision: Precision = "seconds") -> str | None:
    """An aware datetime → ``2026-11-21T21:05:01Z`` (or ``…01.123Z``); None stays None."""
    if moment is None:
        return None
    return _iso(moment, precision)


def _iso(moment: datetime, precision: Precision) -> str:
    return moment.astimezone(UTC).isoformat(timespec=precision).replace("+00:00", "Z")


def short(delta: timedelta | None) -> str:
    """A duration for people: ``45s``, ``12m``, ``2h05m``, ``3d04h``; ``-`` for None."""
    if delta is None:
        return "-"
    seconds = max(0, int(delta.total_seconds()))
    if seconds < 60:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h{minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d{hours:02d}h"
