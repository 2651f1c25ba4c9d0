"""The rate budget: how fast syncfw may call the Notion API with one integration token.

Notion allows "an average of three requests per second" per integration, with "some bursts
beyond the average rate" (https://developers.notion.com/reference/request-limits). The budget is a
token bucket shared by every thread that uses the token: ``rate`` tokens per second refill a
bucket of ``burst`` tokens, and each request takes one. A 429 answer pauses the whole budget for
its ``Retry-After`` (not only the request that got it), because every other in-flight request of
the token would be refused too.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from filelock import FileLock


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


class SharedRateBudget(RateBudget):
    """A :class:`RateBudget` shared by every process of the machine that uses the same token.

    The bucket lives in a small JSON file (``DIR/budget-<sha256 of the token>.json``, never the
    token itself) guarded by a kernel file lock, so two cron jobs of one integration together stay
    within Notion's rate. Threads of one process share the instance as usual.

    Args:
        key: what identifies the budget (a digest of the token).
        directory: where the bucket file lives (default ``SYNCFW_BUDGET_DIR`` or the system's
            temporary directory).
    """

    def __init__(self, rate: float, burst: int = 3, *, key: str, directory: Path | None = None) -> None:
        super().__init__(rate, burst)
        base = directory or Path(
            os.environ.get("SYNCFW_BUDGET_DIR") or Path(tempfile.gettempdir()) / "syncfw"
        )
        base.mkdir(parents=True, exist_ok=True)
        self.path = base / f"budget-{key}.json"
        self._file_lock = FileLock(str(self.path) + ".lock")

    def _exchange(self, change: Callable[[dict[str, float]], float]) -> float:
        with self._lock, self._file_lock:
            try:
                state = json.loads(self.path.read_text())
            except (OSError, ValueError):
                state = {"tokens": float(self.burst), "updated": time.time(), "paused_until": 0.0}
            result = change(state)
            self.path.write_text(json.dumps(state))
            return result

    def acquire(self) -> None:
        while True:

            def take(state: dict[str, float]) -> float:
                now = time.time()
                if now < state["paused_until"]:
                    return state["paused_until"] - now
                state["tokens"] = min(
                    self.burst, state["tokens"] + max(0.0, now - state["updated"]) * self.rate
                )
                state["updated"] = now
                if state["tokens"] >= 1 - 1e-9:
                    state["tokens"] = max(0.0, state["tokens"] - 1)
                    return 0.0
                return (1 - state["tokens"]) / self.rate

            wait = self._exchange(take)
            if wait <= 0:
                return
            self.waited += wait
            self._sleep(wait)

    def pause(self, seconds: float) -> None:
        def stop(state: dict[str, float]) -> float:
            now = time.time()
            state["paused_until"] = max(state["paused_until"], now + max(0.0, seconds))
            state["tokens"] = 0.0
            state["updated"] = max(now, state["paused_until"])
            return 0.0

        self._exchange(stop)


_BUDGETS: dict[str, RateBudget] = {}
_BUDGETS_LOCK = threading.Lock()


def budget_for(token: str, rate: float, burst: int = 3) -> RateBudget:
    """The budget of an integration token: one per token in this process, shared on disk with
    every other process of the machine (DESIGN.md rule 6). ``rate`` is requests per second."""
    key = hashlib.sha256(token.encode()).hexdigest()[:16]
    with _BUDGETS_LOCK:
        budget = _BUDGETS.get(key)
        if budget is None or budget.rate != rate:
            budget = _BUDGETS[key] = SharedRateBudget(rate, burst, key=key)
        return budget
