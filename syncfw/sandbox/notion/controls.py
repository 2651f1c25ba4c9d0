"""The emulator's knobs and counters: rate limit, latency, injected faults, request statistics.

Knobs (all changeable at runtime, from Python or ``POST /_emulator/config``):

* ``rate_limit``: average requests per second allowed on ``/v1/`` (``None``: unlimited);
* ``burst``: how many requests may come at once before the average applies;
* ``latency``: seconds every ``/v1/`` request waits before it is answered (an ``asyncio`` sleep,
  so concurrent requests wait in parallel);
* ``retry_after``: a fixed ``Retry-After`` for 429 answers (``None``: the real wait, rounded up);
* ``faults``: random faults, a :class:`~syncfw.emulation.faults.FaultPlan` in its compact form
  (``"429=0.1,500=0.05,reset=0.02,lost=0.02,retry_after=0,seed=7"``; ``None``: no faults);
* ``query_cap``: how many results one data source query returns at most, over all its pages
  (default :data:`QUERY_CAP`, Notion's 10,000; see :mod:`.databases`); tests set it small.

Queued faults (:class:`Fault`) make the next matching requests fail with a Notion 5xx/409 error
body, either before the request does anything, after it was applied and committed ("the
response was lost"), or with the request committed some seconds after the answer (a late
commit), the cases where a client cannot know whether its write happened. They are checked
before the random ``faults``.

Statistics count ``/v1/`` requests: ``requests`` (all, whatever the answer), ``by_endpoint``
(those past the rate limiter, keyed like ``"PATCH /v1/pages/{id}"``), ``rate_limited`` (the
limiter's 429s) and ``faults`` (the random faults injected, by kind: ``{"reset": 2}``).
``/_emulator/`` requests are neither limited nor counted.
"""

from __future__ import annotations

import threading
from collections import Counter, deque
from dataclasses import asdict, dataclass
from typing import Any

from syncfw.emulation.faults import DEFAULT_OVERLOAD_RETRY_AFTER, FaultInjector, FaultPlan, Injection

from . import errors
from .ratelimit import TokenBucket, retry_after_seconds

FAULT_STATUSES = (409, 500, 502, 503, 504, 529)
QUERY_CAP = 10_000
"""Results one data source query can page through (developers.notion.com, "Query a data source",
section "Pagination limit", and the guide "Query large data sources")."""
REQUEST_LOG_SIZE = 20_000
"""How many ``/v1/`` requests (with their bodies) :meth:`Controls.requests` keeps."""


@dataclass
class Knobs:
    """The current settings; see the module docstring for units."""

    rate_limit: float | None = None
    burst: int = 10
    latency: float = 0.0
    retry_after: int | None = None
    faults: str | None = None
    query_cap: int = QUERY_CAP


@dataclass
class Fault:
    """Make the next ``times`` requests to ``endpoint`` fail with ``status``.

    ``endpoint`` is a statistics key such as ``"POST /v1/pages"``; ``after_commit`` applies the
    request before failing; ``commit_after`` (seconds, above 0) applies it that long after the
    failed answer, on the emulator's clock (a late commit; see :mod:`syncfw.emulation.faults`);
    ``retry_after`` is the ``Retry-After`` of a 529 in whole seconds (``None``: no header).
    """

    endpoint: str
    status: int = 500
    after_commit: bool = False
    times: int = 1
    commit_after: float | None = None
    retry_after: int | None = DEFAULT_OVERLOAD_RETRY_AFTER


class Controls:
    """Thread-safe knobs, rate limiter, fault queue and statistics of one emulator."""

    def __init__(self, knobs: Knobs) -> None:
        check_knobs(knobs)
        self._lock = threading.Lock()
        self.knobs = knobs
        self._bucket = TokenBucket(knobs.rate_limit, knobs.burst)
        self._faults: list[Fault] = []
        self._injector = FaultInjector()
        self._requests = 0
        self._rate_limited = 0
        self._by_endpoint: Counter[str] = Counter()
        self._log: deque[dict[str, Any]] = deque(maxlen=REQUEST_LOG_SIZE)

    def configure(self, **changes: Any) -> Knobs:
        """Change some knobs (names of :class:`Knobs`); answers the new settings.

        ``faults`` may be a :class:`~syncfw.emulation.faults.FaultPlan`, its compact form or
        ``None``; setting it starts the plan's random sequence again.

        Raises:
            NotionAPIError: ``validation_error`` for an unknown knob or a value out of range.
        """
        with self._lock:
            unknown = set(changes) - set(asdict(self.knobs))
            if unknown:
                raise errors.validation(f"Unknown emulator setting(s): {', '.join(sorted(unknown))}.")
            plan = self._injector.plan
            if "faults" in changes:
                try:
                    plan = FaultPlan.coerce(changes["faults"])
                except ValueError as error:
                    raise errors.validation(f"faults: {error}.") from None
                changes["faults"] = None if plan is None else str(plan)
            knobs = Knobs(**{**asdict(self.knobs), **changes})
            check_knobs(knobs)
            self.knobs = knobs
            self._bucket.configure(knobs.rate_limit, knobs.burst)
            if "faults" in changes:
                self._injector.configure(plan)
            return knobs

    def admit(self) -> None:
        """Count a ``/v1/`` request and take a token, or raise the 429 to answer."""
        wait = self._bucket.take()
        with self._lock:
            self._requests += 1
            if wait is None:
                return
            self._rate_limited += 1
            fixed = self.knobs.retry_after
        raise errors.rate_limited(fixed if fixed is not None else retry_after_seconds(wait))

    def count(self, endpoint: str) -> None:
        """Count a request that got past the limiter."""
        with self._lock:
            self._by_endpoint[endpoint] += 1

    def log(self, endpoint: str, params: dict[str, str], body: Any) -> None:
        """Keep a request that got past the limiter (the newest ``REQUEST_LOG_SIZE``)."""
        with self._lock:
            self._log.append({"endpoint": endpoint, "params": dict(params), "body": body})

    def requests(self) -> list[dict[str, Any]]:
        """The logged requests, oldest first: ``{"endpoint", "params", "body"}`` each."""
        with self._lock:
            return list(self._log)

    def count_unrouted(self) -> None:
        """Count a ``/v1/`` request refused before the limiter (bad URL, version or token)."""
        with self._lock:
            self._requests += 1

    def stats(self) -> dict[str, Any]:
        """``{"requests": int, "by_endpoint": {endpoint: int}, "rate_limited": int,
        "faults": {kind: int}}``."""
        with self._lock:
            return {
                "requests": self._requests,
                "by_endpoint": dict(self._by_endpoint),
                "rate_limited": self._rate_limited,
                "faults": self._injector.counts(),
            }

    def reset_stats(self) -> None:
        """Set every counter back to zero."""
        with self._lock:
            self._requests = 0
            self._rate_limited = 0
            self._by_endpoint.clear()
            self._log.clear()
            self._injector.reset_counts()

    def draw_fault(self, *, write: bool) -> Injection | None:
        """The random fault for a request past the limiter, if the ``faults`` plan draws one."""
        return self._injector.draw(write=write)

    def add_fault(self, fault: Fault) -> None:
        """Queue a fault (checked in the order added)."""
        if fault.status not in FAULT_STATUSES:
            raise errors.validation(
                f"Fault status must be one of {list(FAULT_STATUSES)}, not {fault.status}."
            )
        if fault.times < 1:
            raise errors.validation("Fault times must be at least 1.")
        if fault.retry_after is not None and (
            isinstance(fault.retry_after, bool)
            or not isinstance(fault.retry_after, int)
            or fault.retry_after < 0
        ):
            raise errors.validation(
                "Fault retry_after must be a whole number of seconds, at least 0, or null."
            )
        if fault.commit_after is not None and (
            isinstance(fault.commit_after, bool)
            or not isinstance(fault.commit_after, int | float)
            or fault.commit_after <= 0
            or fault.after_commit
        ):
            raise errors.validation(
                "Fault commit_after must be a number of seconds above 0, without after_commit."
            )
        with self._lock:
            self._faults.append(fault)

    def clear_faults(self) -> None:
        """Drop every queued fault."""
        with self._lock:
            self._faults.clear()

    def faults(self) -> list[dict[str, Any]]:
        """The queued faults as JSON objects."""
        with self._lock:
            return [asdict(fault) for fault in self._faults]

    def take_fault(self, endpoint: str) -> Fault | None:
        """The fault to apply to this request, if one is queued for its endpoint."""
        with self._lock:
            for fault in self._faults:
                if fault.endpoint == endpoint:
                    fault.times -= 1
                    if fault.times == 0:
                        self._faults.remove(fault)
                    return fault
            return None


def check_knobs(knobs: Knobs) -> None:
    """Refuse settings out of range (``validation_error``)."""
    if knobs.rate_limit is not None and (
        isinstance(knobs.rate_limit, bool)
        or not isinstance(knobs.rate_limit, int | float)
        or knobs.rate_limit <= 0
    ):
        raise errors.validation("rate_limit must be a positive number of requests per second, or null.")
    if isinstance(knobs.burst, bool) or not isinstance(knobs.burst, int) or knobs.burst < 1:
        raise errors.validation("burst must be a whole number of at least 1.")
    if isinstance(knobs.latency, bool) or not isinstance(knobs.latency, int | float) or knobs.latency < 0:
        raise errors.validation("latency must be a number of seconds, at least 0.")
    if knobs.retry_after is not None and (
        isinstance(knobs.retry_after, bool) or not isinstance(knobs.retry_after, int) or knobs.retry_after < 0
    ):
        raise errors.validation("retry_after must be a whole number of seconds, at least 0, or null.")
    if isinstance(knobs.query_cap, bool) or not isinstance(knobs.query_cap, int) or knobs.query_cap < 1:
        raise errors.validation("query_cap must be a whole number of results, at least 1.")
