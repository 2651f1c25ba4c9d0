"""The high lane on real threads and processes: health writes overtake a queue of bulk writes
without the budget's rate being exceeded."""

from __future__ import annotations

import multiprocessing
import threading
import time
from multiprocessing.sharedctypes import Synchronized

import pytest
from pydantic import SecretStr

from syncfw.notion.budget import RateBudget
from syncfw.notion.client import NotionClient
from tests.notion.conftest import Backend

RATE = 10.0  # requests per second: one token every 0.1 s
BULK_THREADS = 6
HIGH_REQUESTS = 5
# a high request waits for at most the next token (0.1 s); a bulk one joining six waiting bulk
# requests waits about 0.6 s on average. The margin absorbs a loaded 2-core machine.
HIGH_WAIT_LIMIT = 0.35


def saturate(budget: RateBudget, stop: threading.Event, times: list[float]) -> list[threading.Thread]:
    def spend() -> None:
        while not stop.is_set():
            budget.acquire()
            times.append(time.monotonic())

    threads = [threading.Thread(target=spend, daemon=True) for _ in range(BULK_THREADS)]
    for thread in threads:
        thread.start()
    return threads


def high_waits(budget: RateBudget) -> list[float]:
    waits = []
    for _ in range(HIGH_REQUESTS):
        time.sleep(0.13)  # arrive at varied points between two tokens
        started = time.monotonic()
        budget.acquire(priority="high")
        waits.append(time.monotonic() - started)
    return waits


def test_a_high_request_overtakes_bulk_threads_saturating_the_budget() -> None:
    budget = RateBudget(RATE, burst=1)
    stop, times = threading.Event(), []
    started = time.monotonic()
    threads = saturate(budget, stop, times)
    time.sleep(0.3)  # every bulk thread is waiting for a token
    waits = high_waits(budget)
    stop.set()
    for thread in threads:
        thread.join(5)
    elapsed = time.monotonic() - started
    assert max(waits) < HIGH_WAIT_LIMIT, waits
    # high and bulk together stay within the rate: the burst, then one token per 0.1 s
    assert len(times) + HIGH_REQUESTS <= 1 + RATE * elapsed + 1, (len(times), elapsed)
    assert len(times) >= RATE * elapsed / 2  # the bulk threads were not starved either


def _bulk_process(
    backend: Backend, seconds: float, ready: Synchronized[int], done: Synchronized[int]
) -> None:
    budget = backend.budget(RATE, burst=1, key="lanes")
    stop, times = threading.Event(), []
    threads = saturate(budget, stop, times)
    ready.value = 1
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join(5)
    done.value = len(times)


def test_a_high_request_of_one_process_overtakes_the_bulk_of_another(budget_backend: Backend) -> None:
    ctx = multiprocessing.get_context("fork")
    ready, done = ctx.Value("i", 0), ctx.Value("i", 0)
    started = time.monotonic()
    bulk = ctx.Process(target=_bulk_process, args=(budget_backend, 1.6, ready, done))
    bulk.start()
    while not ready.value and time.monotonic() - started < 10:
        time.sleep(0.01)
    time.sleep(0.3)
    budget = budget_backend.budget(RATE, burst=1, key="lanes")
    waits = high_waits(budget)
    bulk.join(10)
    elapsed = time.monotonic() - started
    assert bulk.exitcode == 0
    assert max(waits) < HIGH_WAIT_LIMIT, waits
    assert done.value + HIGH_REQUESTS <= 1 + RATE * elapsed + 1, (done.value, elapsed)


def test_an_unknown_priority_is_refused() -> None:
    budget = RateBudget(RATE)
    with pytest.raises(ValueError, match="'high' or 'bulk'"):
        budget.acquire(priority="urgent")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="'high' or 'bulk'"):
        NotionClient(SecretStr("secret_x"), budget, priority="urgent")  # type: ignore[arg-type]
