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

The 10-second window and the search limit hold for the whole account, so they are paced in a
budget that every process of the account shares (:class:`AccountWindow`); the daily limit is
counted by HubSpot, which reports what is left on each answer.

A refused request gets 429 with a JSON body naming the policy:
``{"status": "error", "errorType": "RATE_LIMIT", "policyName": "TEN_SECONDLY_ROLLING", ...}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from syncfw.account_budget import RateBudget, account_budget, window_rate

TEN_SECONDLY = "TEN_SECONDLY_ROLLING"
SECONDLY = "SECONDLY"
DAILY = "DAILY"


class AccountWindow:
    """At most ``limit`` requests in any ``interval`` seconds for one HubSpot account, shared by
    every process on every machine that reads the account (a budget of
    :func:`syncfw.account_budget.account_budget`, named by the host and a digest of the token).

    The window is kept as a token bucket of ``burst`` requests refilled at
    ``(limit - burst) / interval`` per second, which never sends more than ``limit`` in any
    ``interval`` seconds (:func:`~syncfw.account_budget.window_rate`).

    Args:
        lane: which of the account's limits (``"hubspot"`` for the 10-second window,
            ``"hubspot-search"`` for the search limit).
        host, token: the account, as the connector's config gives it.
        limit: requests allowed per window (≥ 2).
        interval: the window's length in seconds (> 0).
        burst: requests that may go back to back (default a tenth of ``limit``, at least 1).

    Raises:
        ValueError: ``limit`` and ``burst`` leave no room for a refill.
        syncfw.errors.ConfigError: ``SYNCFW_BUDGET_URL`` is malformed (exit 2).
    """

    def __init__(
        self, lane: str, host: str, token: str, limit: int, interval: float, burst: int | None = None
    ) -> None:
        self._account = (lane, host, token)
        self._burst = burst
        self.limit = limit
        self.interval = interval
        self._budget = self._open()

    def _open(self) -> RateBudget:
        burst = self._burst or max(1, self.limit // 10)
        rate = window_rate(self.limit, self.interval, burst)
        return account_budget(*self._account, rate=rate, burst=burst)

    def acquire(self) -> None:
        """Block until one more request fits in the account's window, then count it."""
        self._budget.acquire()

    def pause(self, seconds: float) -> None:
        """Send nothing for ``seconds``, in every process of the account (HubSpot said the window
        is full)."""
        self._budget.pause(seconds)

    def adopt(self, limit: int, interval: float) -> None:
        """Narrow the window to what HubSpot reports (``-Max``, ``-Interval-Milliseconds``)."""
        narrower = (max(2, min(self.limit, limit)), max(self.interval, interval))
        if narrower != (self.limit, self.interval):
            self.limit, self.interval = narrower
            self._budget = self._open()


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
