"""HubSpot's rate limits, paced on the client side.

HubSpot counts requests in rolling windows (HubSpot, "API usage guidelines and limits",
https://developers.hubspot.com/docs/guides/apps/api-usage/usage-details):

* the 10-second window of a private app (``TEN_SECONDLY_ROLLING``): 100 or 190 requests, whose
  size and what is left are sent on most answers as ``X-HubSpot-RateLimit-Max``,
  ``X-HubSpot-RateLimit-Remaining`` and ``X-HubSpot-RateLimit-Interval-Milliseconds``;
* the CRM search endpoints: 5 requests per second per account, with no rate-limit headers on
  search answers;
* the daily limit (``DAILY``), reset at midnight in the account's time zone, reported by
  ``X-HubSpot-RateLimit-Daily`` and ``-Daily-Remaining``.

A refused request gets 429 with a JSON body naming the policy:
``{"status": "error", "errorType": "RATE_LIMIT", "policyName": "TEN_SECONDLY_ROLLING", ...}``.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass

TEN_SECONDLY = "TEN_SECONDLY_ROLLING"
SECONDLY = "SECONDLY"
DAILY = "DAILY"


class RollingWindow:
    """At most ``limit`` requests in any ``interval`` seconds, shared by threads.

    Args:
        limit: requests allowed per window (≥ 1).
        interval: the window's length in seconds (> 0).
        clock, sleep: injectable for tests; default ``time.monotonic`` and ``time.sleep``.
    """

    def __init__(
        self,
        limit: int,
        interval: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if limit < 1 or interval <= 0:
            raise ValueError("a rolling window needs limit >= 1 and interval > 0")
        self.limit = limit
        self.interval = interval
        self._clock = clock
        self._sleep = sleep
        self._sent: deque[float] = deque()
        self._paused_until = 0.0
        self._lock = threading.Lock()
        self.waited = 0.0

    def acquire(self) -> None:
        """Block until one more request fits in the window, then count it."""
        while True:
            with self._lock:
                now = self._clock()
                while self._sent and self._sent[0] <= now - self.interval:
                    self._sent.popleft()
                if now < self._paused_until:
                    wait = self._paused_until - now
                elif len(self._sent) < self.limit:
                    self._sent.append(now)
                    return
                else:
                    wait = self._sent[0] + self.interval - now
            self.waited += wait
            self._sleep(wait)

    def pause(self, seconds: float) -> None:
        """Send nothing for ``seconds`` (HubSpot said the window is full)."""
        with self._lock:
            self._paused_until = max(self._paused_until, self._clock() + max(seconds, 0.0))

    def adopt(self, limit: int, interval: float) -> None:
        """Narrow the window to what HubSpot reports (``-Max``, ``-Interval-Milliseconds``)."""
        with self._lock:
            self.limit = max(1, min(self.limit, limit))
            self.interval = max(self.interval, interval)


@dataclass(frozen=True)
class RateLimitHeaders:
    """The ``X-HubSpot-RateLimit-*`` headers of one answer; None where absent.

    Attributes:
        max: requests allowed per window.
        remaining: requests left in the current window.
        interval_seconds: the window's length, in seconds.
        daily: requests allowed per day.
        daily_remaining: requests left today.
    """

    max: int | None = None
    remaining: int | None = None
    interval_seconds: float | None = None
    daily: int | None = None
    daily_remaining: int | None = None

    @classmethod
    def parse(cls, headers: Mapping[str, str] | None) -> RateLimitHeaders:
        """Read the headers (names in any case); unparsable values count as absent."""
        if not headers:
            return cls()
        lowered = {str(name).lower(): value for name, value in headers.items()}

        def number(suffix: str) -> int | None:
            value = lowered.get("x-hubspot-ratelimit-" + suffix)
            try:
                return int(str(value).strip()) if value is not None else None
            except ValueError:
                return None

        interval_ms = number("interval-milliseconds")
        return cls(
            max=number("max"),
            remaining=number("remaining"),
            interval_seconds=interval_ms / 1000 if interval_ms else None,
            daily=number("daily"),
            daily_remaining=number("daily-remaining"),
        )
