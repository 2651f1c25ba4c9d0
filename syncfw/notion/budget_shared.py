"""A rate budget shared by every machine: the bucket of :mod:`syncfw.notion.budget` kept in a
PostgreSQL or Redis server named by ``SYNCFW_BUDGET_URL``.

The semantics are the ones of :class:`~syncfw.notion.budget.RateBudget` (token bucket, a 429
pauses every user of the token, AIMD, the high and bulk lanes): the same Python code changes the
bucket, only :meth:`~syncfw.notion.budget.RateBudget._exchange` (load, change, save, atomically
for every user) runs against a server instead of a locked file. The bucket is stored as the same
JSON as the file budget's, under a digest of the token (never the token).

Time is the server's clock (PostgreSQL ``clock_timestamp()``, Redis ``TIME``), so machines whose
clocks disagree by some milliseconds still refill one bucket at one rate; waits are slept locally.

``SYNCFW_BUDGET_URL``:

* ``postgresql://USER:PASSWORD@HOST:PORT/DB`` (or ``postgres://``): psycopg 3, ``pip install
  'syncfw[postgres]'``; :mod:`syncfw.notion.budget_postgres`.
* ``redis://[:PASSWORD@]HOST:PORT/DB`` (``rediss://`` for TLS, ``unix://PATH``): redis-py,
  ``pip install 'syncfw[redis]'``; :mod:`syncfw.notion.budget_redis`.

A malformed URL, an unknown scheme or a missing driver is a :class:`~syncfw.errors.ConfigError`
(exit 2); a server that cannot be reached or used is :class:`BudgetUnavailable` (exit 1) from the
first request. Neither message ever shows the URL's password.
"""

from __future__ import annotations

import abc
import time
from collections.abc import Callable
from typing import TypeVar
from urllib.parse import quote, unquote, urlsplit

from syncfw.errors import BudgetUnavailable, ConfigError
from syncfw.notion.budget import RateBudget, _Bucket

T = TypeVar("T")

CONNECT_TIMEOUT = 5
"""Seconds to wait for a budget server to accept a connection (and, for Redis, to answer)."""

BACKEND_SCHEMES = {
    "postgresql": "postgres",
    "postgres": "postgres",
    "redis": "redis",
    "rediss": "redis",
    "unix": "redis",
}
"""URL scheme → budget backend (the PostgreSQL or Redis budget, and the driver extra it needs)."""


def shown_url(url: str) -> str:
    """``url`` as it may be printed: its password (if any) replaced by ``***``."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return "(a URL that cannot be parsed)"
    if not password:
        return url
    user = f"{parts.username or ''}:***@"
    host = parts.netloc.rpartition("@")[2]
    return parts._replace(netloc=user + host).geturl()


def hide_password(text: str, url: str) -> str:
    """``text`` (a driver's message) with the password of ``url`` replaced by ``***``."""
    try:
        password = urlsplit(url).password
    except ValueError:
        return text
    if password:
        for form in {password, unquote(password), quote(password, safe="")}:
            text = text.replace(form, "***")
    return text


def malformed(url: str, problem: str) -> ConfigError:
    """The one-line error (exit 2) for a ``SYNCFW_BUDGET_URL`` that cannot be used as it is."""
    return ConfigError(f"SYNCFW_BUDGET_URL {shown_url(url)}: {hide_password(problem, url)}")


class ServerRateBudget(RateBudget, abc.ABC):
    """A :class:`~syncfw.notion.budget.RateBudget` whose bucket lives in a server, shared by every
    process on every machine that uses the same token and URL.

    Args:
        rate, burst: as for :class:`~syncfw.notion.budget.RateBudget`.
        key: what identifies the budget (a digest of the token).
        url: the server (see the module docstring).
        clock: None (the default) for the server's clock; a clock for simulation.
        sleep: default ``time.sleep``.

    Raises:
        ConfigError: ``url`` is malformed (from the subclasses).
        BudgetUnavailable: (from :meth:`acquire`, :meth:`pause` and the rate properties) the
            server cannot be reached or refuses the budget's statements.
    """

    driver_errors: tuple[type[Exception], ...] = ()
    """The driver's errors that mean the server cannot be reached or used."""

    def __init__(
        self,
        rate: float,
        burst: int = 3,
        *,
        key: str,
        url: str,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(rate, burst, clock=clock or time.time, sleep=sleep)
        self.key = key
        self.shown = shown_url(url)
        self._url = url
        self._server_clock = clock is None

    def _now(self, server_seconds: float) -> float:
        """The budget's time: the server's (seconds since the epoch) unless a clock was given."""
        return server_seconds if self._server_clock else self._clock()

    @abc.abstractmethod
    def _transact(self, change: Callable[[_Bucket, float], T]) -> T:
        """Load the bucket, apply ``change`` at the server's time and save it, atomically for
        every user of the key. ``change`` may run more than once (it is a pure function of the
        bucket and the time)."""

    def _exchange(self, change: Callable[[_Bucket, float], T]) -> T:
        with self._lock:
            try:
                return self._transact(change)
            except self.driver_errors as exc:
                reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0].rstrip(".")
                raise BudgetUnavailable(self.shown, hide_password(reason, self._url)) from None
