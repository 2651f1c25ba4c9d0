"""Zendesk's rate limits, as its response headers report them.

Two limits apply to an incremental export (Zendesk API reference, "Rate limits",
https://developer.zendesk.com/api-reference/introduction/rate-limits/, and "Incremental Exports",
https://developer.zendesk.com/api-reference/ticketing/ticket-management/incremental_exports/):

* the account's requests per minute, set by the plan (Team 200, Growth and Professional 400,
  Enterprise 700, High Volume API add-on 2,500): ``x-rate-limit: 400``,
  ``x-rate-limit-remaining: 398``, and ``ratelimit-reset`` (seconds until the window resets);
* the incremental export limit, 10 requests per minute:
  ``zendesk-ratelimit-incremental-exports: total=10; remaining=9; resets=60``. Answers of the
  cursor-based exports have been recorded with a bucket of their own,
  ``zendesk-ratelimit-incremental-exports-cursor: total=20; remaining=17; resets=48``.

A 429 answer carries ``Retry-After`` (seconds).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

EXPORT_HEADERS = ("zendesk-ratelimit-incremental-exports", "zendesk-ratelimit-incremental-exports-cursor")
PLAN_HEADER = "x-rate-limit"


@dataclass(frozen=True)
class Bucket:
    """One rate limit window as last reported.

    Attributes:
        header: the header that reported it (``x-rate-limit`` for the plan's limit).
        total: requests allowed per window (per minute).
        remaining: requests left in the current window.
        resets: seconds until the window resets, when the header says.
    """

    header: str
    total: int
    remaining: int
    resets: int | None

    @property
    def is_export_limit(self) -> bool:
        """True for the incremental export limit, False for the plan's limit."""
        return self.header in EXPORT_HEADERS

    @property
    def spent(self) -> bool:
        """True when no request is left in the window."""
        return self.remaining <= 0

    def describe(self) -> str:
        """The limit in words, e.g. ``the incremental export limit (10 requests per minute, ...)``."""
        if self.is_export_limit:
            return f"the incremental export limit ({self.total} requests per minute, header {self.header})"
        return f"the account's API rate limit ({self.total} requests per minute, set by the Zendesk plan)"


@dataclass(frozen=True)
class RateLimits:
    """The limits one answer reported.

    Attributes:
        plan: the account's per-minute limit, or None when the answer had no such header.
        exports: the incremental export buckets the answer reported (usually one).
    """

    plan: Bucket | None
    exports: tuple[Bucket, ...]

    @classmethod
    def from_headers(cls, headers: Mapping[str, str]) -> RateLimits:
        """Read the rate limit headers of a response (names in any case); ignores malformed values."""
        lower = {name.lower(): value for name, value in headers.items()}
        plan = None
        total = _int(lower.get(PLAN_HEADER) or lower.get("ratelimit-limit"))
        remaining = _int(lower.get("x-rate-limit-remaining") or lower.get("ratelimit-remaining"))
        if total is not None and remaining is not None:
            plan = Bucket(PLAN_HEADER, total, remaining, _int(lower.get("ratelimit-reset")))
        exports = tuple(
            bucket for name in EXPORT_HEADERS if (bucket := _parse_bucket(name, lower.get(name))) is not None
        )
        return cls(plan, exports)

    @property
    def buckets(self) -> tuple[Bucket, ...]:
        """Every bucket reported, export buckets first."""
        return self.exports + ((self.plan,) if self.plan is not None else ())

    def exhausted(self) -> Bucket | None:
        """The bucket with no request left (an export bucket before the plan's), if any."""
        return next((bucket for bucket in self.buckets if bucket.spent), None)


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delay seconds or an HTTP date; None if absent."""
    if value is None or not value.strip():
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - (now or datetime.now(UTC))).total_seconds(), 0.0)


def _parse_bucket(header: str, value: str | None) -> Bucket | None:
    """``total=10; remaining=9; resets=60`` → a bucket."""
    if value is None:
        return None
    parts = dict(part.strip().partition("=")[::2] for part in value.split(";"))
    total, remaining = _int(parts.get("total")), _int(parts.get("remaining"))
    if total is None or remaining is None:
        return None
    return Bucket(header, total, remaining, _int(parts.get("resets")))


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None
