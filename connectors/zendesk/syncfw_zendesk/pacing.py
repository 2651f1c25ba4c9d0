"""Zendesk's account-wide limits, paced in budgets that every process reading the account shares.

Zendesk counts an account's requests per minute whatever the number of clients (Zendesk API
reference, "Rate limits", https://developer.zendesk.com/api-reference/introduction/rate-limits/):
the plan's limit (Team 200, Growth and Professional 400, Enterprise 700, High Volume API add-on
2,500) counts every request, and the incremental export limit (10 a minute; the cursor-based
exports have been recorded with a bucket of their own of 20) counts the exports as well. Two cron
jobs or two machines that each paced themselves would together send twice the limit and spend
their requests on 429s. So each limit is a token bucket of :func:`syncfw.account_budget.account_budget`
(a file under ``SYNCFW_BUDGET_DIR``, or the PostgreSQL or Redis server of ``SYNCFW_BUDGET_URL``),
named by the account's API host alone (``{subdomain}.zendesk.com``, or the host zenpy is pointed
at): Zendesk counts the account's requests whatever token sends them.

A bucket of ``burst`` requests refilled at ``(limit - burst) / window`` per second never sends more
than ``limit`` requests in any ``window`` seconds (:func:`~syncfw.account_budget.window_rate`), so
it stays within Zendesk's one-minute windows wherever they start. ``burst`` is a tenth of the limit
(at least 1): the first requests of a run go at once (40 for a 400 plan, 2 cursor-based export
pages), and a long export keeps 90% of the limit. A larger burst would cut the wait of short runs
but lower what long ones sustain (half the limit at ``burst = limit / 2``).

What the configuration need not say, the answers tell (:meth:`AccountLimit.observe`):

* the limit itself: ``x-rate-limit`` and the export header's ``total=`` are adopted as reported
  (until the first answer: the Team plan's 200, 10 time-based and 20 cursor-based exports);
* the window's length: Zendesk documents a minute and its headers say only when the current
  window resets (``resets=``, ``ratelimit-reset``), so the connector paces with 60 seconds and
  measures the length from two consecutive windows' reset times (and never below the longest
  ``resets`` reported); a measurement can only shorten the window, never beyond what the reset
  times prove, so against Zendesk it stays at 60 seconds;
* a spent window (``remaining=0``) pauses the limit for every process until it resets, as does a
  429 for its ``Retry-After`` (:meth:`AccountLimits.pause`), so that no other process sends a
  request Zendesk would refuse. A pause longer than ``max_rate_limit_wait`` is not shared: the
  request that meets it fails with :class:`~syncfw.errors.SourceLimitExceeded` instead.
"""

from __future__ import annotations

import logging
import math
import threading
from typing import TYPE_CHECKING

from syncfw.account_budget import RateBudget, account_budget, window_rate
from syncfw_zendesk.ratelimits import EXPORT_HEADERS, PLAN_HEADER, Bucket, RateLimits

if TYPE_CHECKING:
    from syncfw_zendesk.errors import RateLimited

log = logging.getLogger(__name__)

WINDOW_SECONDS = 60.0
"""Zendesk's window, in seconds: every limit is a number of requests per minute ("Rate limits")."""
PLAN_LIMIT = 200
"""The plan's requests per minute until an answer reports it: the Team plan's, the lowest."""
EXPORT_LIMITS = {EXPORT_HEADERS[0]: 10, EXPORT_HEADERS[1]: 20}
"""Incremental export requests per minute until an answer reports them: 10 documented for the
time-based exports, 20 recorded for the cursor-based ones."""
_INSTANCES: dict[tuple[str, str], AccountLimit] = {}
_INSTANCES_LOCK = threading.Lock()
_LANES = {
    PLAN_HEADER: "zendesk",
    EXPORT_HEADERS[0]: "zendesk-export",
    EXPORT_HEADERS[1]: "zendesk-export-cursor",
}


class AccountLimit:
    """One per-window limit of a Zendesk account, paced in a budget every process shares.

    Args:
        lane: the budget's name for this limit (``"zendesk"``, ``"zendesk-export"``, ...).
        subdomain: the account's API host (every token of it shares the budget: Zendesk counts per account).
        limit: requests per window until an answer reports the limit (≥ 2).

    Attributes:
        limit: requests per window, as last reported.
        window: the window's length in seconds: 60, or less once measured (see the module docstring).

    Raises:
        syncfw.errors.ConfigError: ``SYNCFW_BUDGET_URL`` is malformed (exit 2).
    """

    def __init__(self, lane: str, subdomain: str, limit: int) -> None:
        self._account = (lane, subdomain)
        self.limit = limit
        self.window = WINDOW_SECONDS
        # when the current window is known to reset after, and the remaining and total last reported
        self._last: tuple[float, int, int] | None = None
        self._longest_reset = 0.0
        self._budget = self._open()

    @classmethod
    def of(cls, lane: str, subdomain: str, limit: int) -> AccountLimit:
        """The process's instance for this limit of the account (created with ``limit`` on first
        use), so that every client of the account in the process starts from what the answers
        have already told."""
        with _INSTANCES_LOCK:
            key = (lane, subdomain)
            instance = _INSTANCES.get(key)
            if instance is None:
                instance = _INSTANCES[key] = cls(lane, subdomain, limit)
            return instance

    def _open(self) -> RateBudget:
        burst = max(1, self.limit // 10)
        rate = window_rate(self.limit, self.window, burst)
        lane, subdomain = self._account
        return account_budget(lane, subdomain, "", rate=rate, burst=burst)  # no credential: per account

    def acquire(self) -> None:
        """Block until one more request fits in the limit, then count it."""
        self._budget.acquire()

    def pause(self, seconds: float) -> None:
        """Send nothing for ``seconds``, in every process of the account."""
        self._budget.pause(seconds)

    def observe(self, bucket: Bucket, sent: float | None = None, received: float | None = None) -> None:
        """Follow what an answer reported: adopt its ``total``; given when the request was
        ``sent`` and its answer ``received`` (``time.monotonic()``), measure the window.

        ``resets`` is rounded up to whole seconds, so an answer proves that its window resets
        after ``sent + resets - 1`` and by ``received + resets``. Within a window every answer of
        this process reports less ``remaining`` than the one before (its own request counted),
        so an answer of the same ``total`` reporting as much or more comes from a later window:
        the window is then at most the latest reset this answer allows minus the earliest the
        previous window's answers allowed, and at least the longest ``resets`` ever reported. It
        is adopted when a fifth shorter than the one in use. A 429 answer's ``resets`` may be its
        ``Retry-After``: give no times.
        """
        limit, window = max(2, bucket.total), self.window
        if sent is not None and received is not None and bucket.resets is not None:
            self._longest_reset = max(self._longest_reset, bucket.resets)
            resets_after = sent + bucket.resets - 1
            if self._last is not None:
                last_after, last_remaining, last_total = self._last
                if bucket.total == last_total and bucket.remaining >= last_remaining:
                    bound = max(received + bucket.resets - last_after, self._longest_reset)
                    if bound < 0.8 * window:
                        window = math.ceil(bound * 10) / 10
                else:
                    resets_after = max(resets_after, last_after)
            self._last = (resets_after, bucket.remaining, bucket.total)
        if (limit, window) != (self.limit, self.window):
            self.limit, self.window = limit, window
            self._budget = self._open()


class AccountLimits:
    """The limits of one Zendesk account that a request counts against: the plan's for every
    request, and for an incremental export its own bucket (see the module docstring).

    Args:
        subdomain: the account's API host (``acme.zendesk.com``).
        max_wait: the longest pause shared with the account's other processes, in seconds
            (``max_rate_limit_wait``).
    """

    def __init__(self, subdomain: str, max_wait: float) -> None:
        self.max_wait = max_wait
        defaults = {PLAN_HEADER: PLAN_LIMIT, **EXPORT_LIMITS}
        self._limits = {
            header: AccountLimit.of(lane, subdomain, defaults[header]) for header, lane in _LANES.items()
        }

    def acquire(self, path: str) -> None:
        """Block until a request to ``path`` (``/api/v2/incremental/tickets/cursor.json``) fits in
        every limit it counts against (the export's first, the plan's last, so that the request
        follows the plan's token at once)."""
        export = export_header(path)
        if export is not None:
            self._limits[export].acquire()
        self._limits[PLAN_HEADER].acquire()

    def observe(self, limits: RateLimits, sent: float | None = None, received: float | None = None) -> None:
        """Adopt what an answer reported (``sent`` and ``received`` as for
        :meth:`AccountLimit.observe`; none for a 429); a window it reports spent pauses its limit
        for every process until the window resets."""
        for bucket in limits.buckets:
            limit = self._limits.get(bucket.header)
            if limit is None:
                continue
            limit.observe(bucket, sent, received)
            if (
                received is not None
                and bucket.spent
                and bucket.resets is not None
                and bucket.resets <= self.max_wait
            ):
                log.info(
                    "Zendesk: %s has no request left; pausing for %d s until it resets",
                    bucket.describe(),
                    bucket.resets,
                )
                limit.pause(bucket.resets)

    def pause(self, limited: RateLimited, seconds: float) -> None:
        """Pause the limit a 429 names (the plan's when it names none) for ``seconds``, in every
        process of the account."""
        bucket = limited.limits.exhausted()
        header = bucket.header if bucket is not None and bucket.header in self._limits else PLAN_HEADER
        if seconds > 0:
            self._limits[header].pause(seconds)


def export_header(path: str) -> str | None:
    """The header of the incremental export bucket a request to ``path`` counts against (the
    cursor-based one for ``.../cursor.json``), or None for other endpoints."""
    if "/incremental/" not in path:
        return None
    return EXPORT_HEADERS[1] if path.removesuffix(".json").endswith("/cursor") else EXPORT_HEADERS[0]
