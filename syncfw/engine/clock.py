"""Timestamps the engine writes to the state store and reports (UTC, ISO 8601, ``Z``)."""

from __future__ import annotations

from datetime import UTC, datetime


def now() -> str:
    """The current UTC time with milliseconds, e.g. ``2026-11-21T21:05:01.250Z`` (journal entries)."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def now_seconds() -> str:
    """The current UTC time to the second, e.g. ``2026-11-21T21:05:01Z`` (runs, reads, cursors)."""
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
