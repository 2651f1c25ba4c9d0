"""The rate budget in Redis (``SYNCFW_BUDGET_URL=redis://…``, redis-py).

The bucket is one string key, ``syncfw:budget:<digest of the token>``, holding the same JSON as
the file budget. Each exchange is an optimistic transaction: ``WATCH`` the key, ``GET`` it and
``TIME``, change the bucket in Python, then ``MULTI``/``SET``/``EXEC``; when another process wrote
the key in between, ``EXEC`` fails and redis-py runs the change again on the new bucket
(https://redis.io/docs/latest/develop/interact/transactions/, "Optimistic locking using
check-and-set").

Why not a Lua script (atomic on the server, one round trip): the bucket, the 429 episodes, AIMD
and the lanes would then exist twice, in Python for the file and PostgreSQL budgets and in Lua for
Redis, and the two copies would drift apart. With WATCH/MULTI one Python implementation serves
every backend. The price is retries under contention; a budget's users spend most of their time
sleeping until the next token (about a third of a second at Notion's 3 requests/s), so
collisions are rare and cheap (a few round trips on a local network). Nothing is held between
commands, so a process that dies mid-exchange leaves no lock behind.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

import redis
from redis.client import Pipeline

from syncfw.notion.budget import _Bucket, dump_bucket, load_bucket
from syncfw.notion.budget_shared import CONNECT_TIMEOUT, ServerRateBudget, malformed

T = TypeVar("T")

KEY_PREFIX = "syncfw:budget:"
"""The prefix of the budgets' keys in the Redis database of the URL."""


class RedisRateBudget(ServerRateBudget):
    """A :class:`~syncfw.notion.budget_shared.ServerRateBudget` in a Redis key (see the module
    docstring).

    Raises:
        ConfigError: ``url`` is not a URL redis-py accepts (exit 2).
    """

    driver_errors = (redis.RedisError,)

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
        super().__init__(rate, burst, key=key, url=url, clock=clock, sleep=sleep)
        try:
            self._client = redis.Redis.from_url(
                url, socket_connect_timeout=CONNECT_TIMEOUT, socket_timeout=CONNECT_TIMEOUT
            )
        except ValueError as exc:
            raise malformed(url, str(exc).strip()) from None
        self._name = KEY_PREFIX + key

    def _transact(self, change: Callable[[_Bucket, float], T]) -> T:
        results: list[T] = []

        def attempt(pipe: Pipeline) -> None:  # run again by redis-py when EXEC finds the key changed
            saved = pipe.get(self._name)
            seconds, micros = pipe.time()
            now = self._now(seconds + micros / 1e6)
            state = load_bucket(saved or "", self.burst, now)
            results[:] = [change(state, now)]
            pipe.multi()
            pipe.set(self._name, dump_bucket(state))

        self._client.transaction(attempt, self._name)
        return results[0]
