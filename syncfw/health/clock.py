"""Time for health checks: an injectable clock and the ISO 8601 UTC strings the state store keeps."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

Clock = Callable[[], datetime]
"""Returns the current time as an aware UTC datetime; tests pass a frozen one."""


def utcnow() -> datetime:
    """The real clock."""
    return datetime.now(UTC)


def parse_time(text: str | None) -> datetime | None:
    """``2026-11-21T21:05:01Z`` (as runs and reads are recorded) → an aware datetime; None stays None."""
    if not text:
        return None
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def iso(moment: datetime | None) -> str | None:
    """An aware datetime → ``2026-11-21T21:05:01Z``."""
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


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
