"""The rate budget, on a simulated clock: pace, burst and pauses for Retry-After."""

from __future__ import annotations

import pytest

from syncfw.notion.budget import RateBudget
from tests.notion.conftest import Backend


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_requests_are_paced_at_the_rate_after_the_burst() -> None:
    clock = Clock()
    budget = RateBudget(3.0, burst=3, clock=clock, sleep=clock.sleep)
    times = []
    for _ in range(33):
        budget.acquire()
        times.append(clock.now)
    assert times[:3] == [0.0, 0.0, 0.0]
    assert times[-1] == pytest.approx(10.0)  # 30 more requests at 3/s


def test_retry_after_pauses_every_request_of_the_budget() -> None:
    clock = Clock()
    budget = RateBudget(10.0, burst=5, clock=clock, sleep=clock.sleep)
    budget.acquire()
    budget.pause(30)
    budget.acquire()
    assert clock.now == pytest.approx(30.1)  # the pause, then an empty bucket refilling at 10/s


def test_a_zero_retry_after_still_drains_the_burst() -> None:
    clock = Clock()
    budget = RateBudget(2.0, burst=4, clock=clock, sleep=clock.sleep)
    budget.pause(0)
    budget.acquire()
    assert clock.now == pytest.approx(0.5)


def test_rate_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        RateBudget(0)


def test_a_429_seen_by_one_process_pauses_every_process_of_the_token(budget_backend: Backend) -> None:
    clock = Clock()
    clock.now = 1000.0
    first, second = (
        budget_backend.budget(10.0, burst=5, key="pause", clock=clock, sleep=clock.sleep) for _ in range(2)
    )
    first.acquire()
    first.pause(30)
    second.acquire()
    assert clock.now == pytest.approx(1030.1)  # the pause, then an empty bucket refilling at 10/s


def _spend(backend: Backend, count: int) -> None:
    budget = backend.budget(20.0, burst=1, key="test")
    for _ in range(count):
        budget.acquire()


def test_two_processes_of_one_token_share_one_budget(budget_backend: Backend) -> None:
    import multiprocessing
    import time

    ctx = multiprocessing.get_context("fork")
    started = time.monotonic()
    workers = [ctx.Process(target=_spend, args=(budget_backend, 15)) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(30)
    elapsed = time.monotonic() - started
    assert all(w.exitcode == 0 for w in workers)
    # 30 requests at 20/s with a burst of 1 take about 1.45 s together; apart they would take 0.7 s
    assert elapsed >= 1.3, elapsed


def test_budget_files_never_hold_the_token(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from syncfw.notion.budgets import budget_for

    monkeypatch.setenv("SYNCFW_BUDGET_DIR", str(tmp_path))
    budget = budget_for("ntn_secret_token_for_the_test", 3.0)
    budget.acquire()
    assert budget is budget_for("ntn_secret_token_for_the_test", 3.0)  # one per token in a process
    for path in tmp_path.iterdir():
        assert b"ntn_secret_token_for_the_test" not in path.read_bytes()
        assert "ntn_secret" not in path.name
