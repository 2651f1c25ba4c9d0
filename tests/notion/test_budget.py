"""The rate budget, on a simulated clock: pace, burst and pauses for Retry-After."""

from __future__ import annotations

import pytest

from syncfw.notion.budget import RateBudget


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
