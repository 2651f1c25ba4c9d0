"""Which rate budget an integration token gets: the file budget of this machine
(:class:`~syncfw.notion.budget.SharedRateBudget`), or with ``SYNCFW_BUDGET_URL`` a PostgreSQL or
Redis budget shared by every machine (:mod:`syncfw.notion.budget_shared`,
:mod:`syncfw.notion.budget_postgres`, :mod:`syncfw.notion.budget_redis`)."""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Callable
from urllib.parse import urlsplit

from syncfw.notion.budget import RateBudget, SharedRateBudget
from syncfw.notion.budget_shared import BACKEND_SCHEMES, ServerRateBudget, malformed
from syncfw.recipe.state import POSTGRES_SCHEMES, STATE_URL_VARIABLE

_BUDGETS: dict[tuple[str, str], RateBudget] = {}
_BUDGETS_LOCK = threading.Lock()


def budget_for(token: str, rate: float, burst: int = 3) -> RateBudget:
    """The budget of an integration token (DESIGN.md rule 6): :func:`shared_budget` under a
    digest of the token (never the token). ``rate`` is requests per second.

    Raises:
        ConfigError: ``SYNCFW_BUDGET_URL`` is malformed or its driver is not installed (exit 2).
    """
    return shared_budget(hashlib.sha256(token.encode()).hexdigest()[:16], rate, burst)


def shared_budget(key: str, rate: float, burst: int = 3) -> RateBudget:
    """The budget named ``key`` (letters, digits and ``-``; never a secret): one per key in this
    process, shared with every other process of the key on this machine through a file
    (:class:`SharedRateBudget`), or, when ``SYNCFW_BUDGET_URL`` is set, with every process on every
    machine through that PostgreSQL or Redis server (:mod:`syncfw.notion.budget_shared`); without
    it, the PostgreSQL server of ``SYNCFW_STATE_URL`` when the state is there (every machine that
    shares the state shares the budget). ``rate`` is requests per second, ``burst`` requests; a
    call with another rate replaces this process's instance (the bucket itself is kept). The
    server is first contacted by the first request.

    Raises:
        ConfigError: ``SYNCFW_BUDGET_URL`` is malformed or its driver is not installed (exit 2).
    """
    url = os.environ.get("SYNCFW_BUDGET_URL", "") or _state_server()
    with _BUDGETS_LOCK:
        budget = _BUDGETS.get((url, key))
        if budget is None or budget.rate != rate or budget.burst != max(1, burst):
            if url:
                budget = server_budget(url, rate, burst, key=key)
            else:
                budget = SharedRateBudget(rate, burst, key=key)
            _BUDGETS[url, key] = budget
        return budget


def _state_server() -> str:
    """``SYNCFW_STATE_URL`` when it names a PostgreSQL server, else ``""``."""
    state = os.environ.get(STATE_URL_VARIABLE, "")
    return state if state.partition("://")[0] in POSTGRES_SCHEMES else ""


def server_budget(
    url: str,
    rate: float,
    burst: int = 3,
    *,
    key: str,
    clock: Callable[[], float] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> ServerRateBudget:
    """The budget of ``key`` in the server that ``url`` names (no connection is made yet);
    ``clock`` and ``sleep`` as for :class:`ServerRateBudget`.

    Raises:
        ConfigError: ``url`` is malformed, its scheme is not one of PostgreSQL or Redis, or the
            driver for it is not installed (exit 2).
    """
    try:
        parts = urlsplit(url)
        scheme, _ = parts.scheme.lower(), parts.port  # a port that is not a number is refused here
    except ValueError as exc:
        raise malformed(url, str(exc)) from None
    kind = BACKEND_SCHEMES.get(scheme)
    if kind is None:
        raise malformed(url, "give a postgresql:// or a redis:// URL")
    try:  # imported here: their drivers are optional extras, needed only with a budget server
        if kind == "postgres":
            from syncfw.notion.budget_postgres import PostgresRateBudget as backend
        else:
            from syncfw.notion.budget_redis import RedisRateBudget as backend  # type: ignore[assignment]
    except ImportError as exc:
        raise malformed(url, f"its driver cannot be imported ({exc}): pip install 'syncfw[{kind}]'") from None
    return backend(rate, burst, key=key, url=url, clock=clock, sleep=sleep)
