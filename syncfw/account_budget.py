"""The rate budget of a source account, shared by every process on every machine.

Some sources limit a whole account, whatever the number of clients: HubSpot counts the requests
of a private app per account in a 10-second window (HubSpot, "API usage guidelines and limits",
https://developers.hubspot.com/docs/guides/apps/api-usage/usage-details), Zendesk counts an
account's requests per minute by plan and its incremental exports at 10 a minute (Zendesk, "Rate
limits", https://developer.zendesk.com/api-reference/introduction/rate-limits/). A connector that
paces itself in its own process stays within such a limit only while it is the account's only
client; two cron jobs or two machines together exceed it.

:func:`account_budget` gives a connector the token bucket of the Notion budget
(:class:`~syncfw.notion.budget.RateBudget`: ``acquire()`` before each request, ``pause(seconds)``
on a 429 for every user) kept where the Notion budgets are: a file under ``SYNCFW_BUDGET_DIR`` by
default, the PostgreSQL or Redis server of ``SYNCFW_BUDGET_URL``, or the PostgreSQL server of
``SYNCFW_STATE_URL`` (see :func:`syncfw.notion.budgets.shared_budget`). The budget is named by the
service, the account and a digest of the credential, never the credential itself.
"""

from __future__ import annotations

import hashlib

from syncfw.notion.budget import RateBudget
from syncfw.notion.budgets import shared_budget

__all__ = ["RateBudget", "account_budget", "window_rate"]


def window_rate(limit: float, seconds: float, burst: int) -> float:
    """The rate (requests per second) of a token bucket of ``burst`` requests that never sends
    more than ``limit`` requests in any ``seconds`` seconds: a bucket sends at most
    ``burst + rate * seconds`` in such a window.

    Raises:
        ValueError: ``burst`` leaves no room for a refill (``burst >= limit``), or ``seconds <= 0``.
    """
    if seconds <= 0 or not 1 <= burst < limit:
        raise ValueError(f"a window of {limit:g} requests per {seconds:g} s cannot hold a burst of {burst}")
    return (limit - burst) / seconds


def account_budget(service: str, account: str, credential: str, *, rate: float, burst: int = 1) -> RateBudget:
    """The budget of one source account, shared by every process of it (see the module docstring).

    Args:
        service: what is limited, in letters, digits and ``-`` (``"hubspot"``,
            ``"hubspot-search"``, ``"zendesk-export"``): one account may have several limits.
        account: the account as its API names it (a HubSpot host, a Zendesk subdomain).
        credential: the secret the requests are sent with; only its digest is kept.
        rate: requests per second (:func:`window_rate` turns a window's limit into one).
        burst: requests that may go back to back after an idle period (≥ 1).

    Raises:
        ValueError: ``service`` has other characters, or ``rate`` is not a configurable rate.
        ConfigError: ``SYNCFW_BUDGET_URL`` is malformed or its driver is not installed (exit 2).
    """
    if not service or not service.replace("-", "").isalnum() or not service.isascii():
        raise ValueError(f"a budget's service is letters, digits and '-', not {service!r}")
    digest = hashlib.sha256(f"{service}\n{account}\n{credential}".encode()).hexdigest()[:16]
    return shared_budget(f"{service}-{digest}", rate, burst)
