"""The cursor of an incremental read: the newest ``updated_at`` delivered and the look-back window.

A read asks for the rows whose ``updated_at`` is at or after the cursor's stamp less the look-back
(:data:`~syncfw_sql.config.DEFAULT_LOOKBACK`), ordered by ``updated_at`` then key. The cursor keeps
a digest of every row delivered with a stamp inside that window, so a row read again in the window
is delivered only when it is new (its transaction committed late) or changed since; nothing is
missed and nothing unchanged is delivered twice.

Encoded as compact JSON, the rows grouped by stamp, stamps in ISO 8601 with their offset::

    {"v":1,"updated_at":"2026-05-01T09:30:00+00:00","naive":false,
     "recent":{"2026-05-01T09:29:10+00:00":{"42":"3f2a9c01d4e7"}}}

``naive`` says the column holds date-times without a time zone (``timestamp``, SQLite text): its
values are read in the config's ``timezone`` and the next read's bound is given without one.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

VERSION = 1


@dataclass(frozen=True)
class LookbackCursor:
    """Where an incremental read stopped.

    Attributes:
        updated_at: the newest ``updated_at`` delivered (time-zone aware), or None before any.
        naive: the column's date-times carry no time zone.
        recent: key → (``updated_at``, digest of the row as delivered) for the rows delivered
            within the look-back window before :attr:`updated_at`.
    """

    updated_at: datetime | None = None
    naive: bool = False
    recent: Mapping[str, tuple[datetime, str]] = field(default_factory=dict)

    def encode(self) -> str:
        """The opaque cursor string the engine keeps."""
        grouped: dict[str, dict[str, str]] = {}
        for key, (stamp, digest) in sorted(self.recent.items(), key=lambda item: (item[1][0], item[0])):
            grouped.setdefault(stamp.isoformat(), {})[key] = digest
        newest = self.updated_at.isoformat() if self.updated_at is not None else None
        payload = {"v": VERSION, "updated_at": newest, "naive": self.naive, "recent": grouped}
        return json.dumps(payload, separators=(",", ":"))

    @classmethod
    def decode(cls, cursor: str | None) -> LookbackCursor:
        """Read a cursor :meth:`encode` wrote; None means "nothing read yet".

        Raises:
            ValueError: the string is not a cursor of this connector.
        """
        if cursor is None:
            return cls()
        try:
            data = json.loads(cursor)
            if data["v"] != VERSION:
                raise ValueError(f"version {data['v']!r}")
            newest = _aware(data["updated_at"]) if data["updated_at"] is not None else None
            recent = {
                key: (_aware(stamp), digest)
                for stamp, keys in data["recent"].items()
                for key, digest in keys.items()
                if isinstance(key, str) and isinstance(digest, str)
            }
            return cls(newest, bool(data["naive"]), recent)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"not a cursor of the sql connector: {cursor[:80]!r}") from exc

    def since(self, lookback: timedelta) -> datetime | None:
        """The oldest ``updated_at`` the next read asks for; None (every row) before any read."""
        return self.updated_at - lookback if self.updated_at is not None else None

    def delivered(self, key: str, stamp: datetime, digest: str, lookback: timedelta) -> bool:
        """True when this version of a row was delivered already: it is older than the window, or
        the window holds it with the same stamp and digest."""
        since = self.since(lookback)
        if since is None:
            return False
        return stamp < since or self.recent.get(key) == (stamp, digest)


def _aware(value: Any) -> datetime:
    if not isinstance(value, str):
        raise TypeError("a stamp must be text")
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise ValueError("a stamp without a time zone")
    return moment


class CursorBuilder:
    """Accumulates delivered rows into the next cursor, keeping those inside the look-back window."""

    def __init__(self, start: LookbackCursor, lookback: timedelta) -> None:
        self._newest = start.updated_at
        self._naive = start.naive
        self._recent = dict(start.recent)
        self._lookback = lookback

    def add(self, key: str, stamp: datetime, digest: str, *, naive: bool) -> None:
        """Note one delivered row (``digest`` from :func:`row_digest`); ``naive``: its stored
        value had no time zone."""
        self._recent[key] = (stamp, digest)
        self._naive = naive
        if self._newest is None or stamp > self._newest:
            self._newest = stamp

    def cursor(self) -> LookbackCursor:
        """The cursor after every row added so far (rows fallen out of the window dropped)."""
        if self._newest is not None:
            since = self._newest - self._lookback
            self._recent = {key: seen for key, seen in self._recent.items() if seen[0] >= since}
        return LookbackCursor(self._newest, self._naive, dict(self._recent))


def row_digest(data: Mapping[str, Any]) -> str:
    """12 hex characters of the SHA-256 of a row's plain data as JSON."""
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]
