"""The rate budget: how fast syncfw may call the Notion API with one integration token.

Notion allows "an average of three requests per second" per integration, with "some bursts
beyond the average rate" (https://developers.notion.com/reference/request-limits). The budget is a
token bucket shared by every thread that uses the token: ``rate`` tokens per second refill a
bucket of ``burst`` tokens, and each request takes one. A 429 answer pauses the whole budget for
its ``Retry-After`` (not only the request that got it), because every other in-flight request of
the token would be refused too.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class RateBudget:
    """A blocking token bucket.

    Args:
        rate: requests per second (> 0).
        burst: bucket capacity in requests (≥ 1); the number of requests that may go back to back
            after an idle period.
        clock, sleep: injectable for simulation; default ``time.monotonic`` and ``time.sleep``.
    """

    def __init__(
        self,
        rate: float,
        burst: int = 3,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive (requests per second)")
        self.rate = rate
        self.burst = max(1, burst)
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._tokens = float(self.burst)
        self._updated = clock()
        self._paused_until = 0.0
        self.waited = 0.0

    def _refill(self, now: float) -> None:
        self._tokens = min(self.burst, self._tokens + (now - self._updated) * self.rate)
        self._updated = now

    def acquire(self) -> None:
        """Block until one request may be sent, then take its token."""
        while True:
            with self._lock:
                now = self._clock()
                if now < self._paused_until:
                    wait = self._paused_until - now
                else:
                    self._refill(now)
                    if self._tokens >= 1 - 1e-9:  # tolerate float rounding of the refill
                        self._tokens = max(0.0, self._tokens - 1)
                        return
                    wait = (1 - self._tokens) / self.rate
            self.waited += wait
            self._sleep(wait)

    def pause(self, seconds: float) -> None:
        """Stop every request of this budget for ``seconds`` (from a 429's ``Retry-After``).

        The bucket is emptied too, so requests resume at the average rate rather than in a burst.
        """
        with self._lock:
            now = self._clock()
            self._paused_until = max(self._paused_until, now + max(0.0, seconds))
            self._tokens = 0.0
            self._updated = max(now, self._paused_until)
