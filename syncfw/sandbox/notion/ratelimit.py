"""The emulator's rate limit: a token bucket, as Notion's "average of three requests per second,
some bursts beyond the average allowed" (DOC request-limits; API-FACTS §2.1).

The bucket holds up to ``burst`` tokens and refills at ``rate`` tokens per second; each ``/v1/``
request takes one. When it is empty the request is refused with 429 ``rate_limited`` and a
``Retry-After`` of whole seconds until a token is back (``math.ceil`` of the wait), unless a fixed
``retry_after`` is configured (to exercise ``Retry-After: 0`` or values over a minute).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable


class TokenBucket:
    """A thread-safe token bucket.

    Args:
        rate: tokens added per second; ``None`` means no limit.
        burst: bucket capacity (at least 1).
        monotonic: the clock, seconds (injectable for tests).
    """

    def __init__(
        self, rate: float | None, burst: int, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self._lock = threading.Lock()
        self._monotonic = monotonic
        self._rate = rate
        self._burst = burst
        self._tokens = float(burst)
        self._stamp = monotonic()

    def configure(self, rate: float | None, burst: int) -> None:
        """Change the rate and capacity; the bucket starts full again."""
        with self._lock:
            self._rate = rate
            self._burst = burst
            self._tokens = float(burst)
            self._stamp = self._monotonic()

    def take(self) -> float | None:
        """Take a token: ``None`` if one was available, else the seconds until one will be."""
        with self._lock:
            if self._rate is None:
                return None
            now = self._monotonic()
            self._tokens = min(float(self._burst), self._tokens + (now - self._stamp) * self._rate)
            self._stamp = now
            if self._tokens >= 1:
                self._tokens -= 1
                return None
            return (1 - self._tokens) / self._rate


def retry_after_seconds(wait: float) -> int:
    """The integer ``Retry-After`` for a wait in seconds."""
    return max(0, math.ceil(wait))
