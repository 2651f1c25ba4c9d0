"""AIMD on a simulated clock: repeated 429s slow the budget down, quiet time brings the rate back."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from syncfw.emulation import ServedApp
from syncfw.errors import NotionError
from syncfw.notion.budget import RateBudget, SharedRateBudget
from syncfw.notion.client import NotionClient
from syncfw.sandbox.notion import NotionEmulator
from tests.notion.conftest import Backend
from tests.notion.test_budget import Clock

TOKEN = "secret_aimd_test_token"


def pace(budget: RateBudget, clock: Clock, requests: int) -> float:
    """Seconds ``requests`` back-to-back requests take once the bucket is empty."""
    for _ in range(budget.burst):
        budget.acquire()
    started = clock.now
    for _ in range(requests):
        budget.acquire()
    return clock.now - started


def test_a_single_429_only_pauses() -> None:
    clock = Clock()
    budget = RateBudget(3.0, burst=3, clock=clock, sleep=clock.sleep)
    assert budget.pause(2) is False
    assert budget.current_rate == 3.0
    assert pace(budget, clock, 30) == pytest.approx(10.0)
    assert budget.rate_lowered == 0


def test_two_429_episodes_within_the_window_lower_the_rate() -> None:
    clock = Clock()
    budget = RateBudget(3.0, burst=3, clock=clock, sleep=clock.sleep)
    budget.pause(1)
    clock.now = 5.0
    assert budget.pause(1) is True
    assert budget.current_rate == pytest.approx(2.1)  # ×0.7
    assert budget.rate_lowered == 1
    assert pace(budget, clock, 14) == pytest.approx(14 / 2.1)


def test_429s_of_requests_already_in_flight_count_once() -> None:
    clock = Clock()
    budget = RateBudget(3.0, burst=3, clock=clock, sleep=clock.sleep)
    for _ in range(3):  # three requests sent together, refused together
        budget.pause(0)
        clock.now += 0.2
    assert budget.current_rate == 3.0
    clock.now = 2.0  # a later request refused again: a second episode
    assert budget.pause(0) is True


def test_a_429_soon_after_a_long_retry_after_is_a_repeat() -> None:
    clock = Clock()
    budget = RateBudget(3.0, burst=3, clock=clock, sleep=clock.sleep)
    budget.pause(90)
    budget.acquire()  # waits out the 90 s
    clock.now += 5
    assert budget.pause(90) is True


def test_429s_far_apart_do_not_lower_the_rate() -> None:
    clock = Clock()
    budget = RateBudget(3.0, burst=3, clock=clock, sleep=clock.sleep)
    for _ in range(5):
        assert budget.pause(1) is False
        clock.now += 40
    assert budget.current_rate == 3.0


def test_the_rate_never_drops_below_a_tenth_of_the_configured_one() -> None:
    clock = Clock()
    budget = RateBudget(3.0, burst=3, clock=clock, sleep=clock.sleep)
    for _ in range(20):
        budget.pause(1)
        clock.now += 2
    assert budget.current_rate == pytest.approx(0.3)
    assert budget.rate_lowered == 7  # 2.1, 1.47, 1.03, 0.72, 0.50, 0.35, then the floor


def test_the_rate_comes_back_step_by_step_after_quiet_time() -> None:
    clock = Clock()
    budget = RateBudget(3.0, burst=3, clock=clock, sleep=clock.sleep)
    for at in (0.0, 5.0, 10.0):
        clock.now = at
        budget.pause(1)
    assert budget.current_rate == pytest.approx(1.47)
    clock.now = 19.9
    assert budget.current_rate == pytest.approx(1.47)  # not yet 10 s without a 429
    clock.now = 20.0
    assert budget.current_rate == pytest.approx(1.77)  # + a tenth of 3/s
    clock.now = 25.0
    budget.pause(0)  # 14 s after the previous episode ended: a repeat, lowered again
    assert budget.current_rate == pytest.approx(1.77 * 0.7)
    clock.now = 34.9
    assert budget.current_rate == pytest.approx(1.77 * 0.7)
    clock.now = 200.0  # long idle: back to the configured rate, never above it
    assert budget.current_rate == 3.0
    assert pace(budget, clock, 30) == pytest.approx(10.0)


def test_processes_of_one_token_share_the_lowered_rate(budget_backend: Backend) -> None:
    clock = Clock()
    first, second = (budget_backend.budget(3.0, key="aimd", clock=clock, sleep=clock.sleep) for _ in range(2))
    clock.now = 1000.0
    assert first.pause(1) is False
    clock.now = 1004.0
    assert second.pause(1) is True  # the other process's 429 was the first of the two
    assert first.current_rate == second.current_rate == pytest.approx(2.1)
    assert first.rate_lowered == 1
    assert pace(first, clock, 14) == pytest.approx(14 / 2.1)
    clock.now = 2000.0
    assert second.current_rate == 3.0


def test_a_budget_file_of_an_older_syncfw_is_read(tmp_path: Path) -> None:
    clock = Clock()
    clock.now = 1000.0
    (tmp_path / "budget-old.json").write_text(
        json.dumps({"tokens": 0.0, "updated": 1005.0, "paused_until": 1005.0})
    )
    budget = SharedRateBudget(2.0, key="old", directory=tmp_path, clock=clock, sleep=clock.sleep)
    budget.acquire()
    assert clock.now == pytest.approx(1005.5)  # its pause and empty bucket hold
    assert budget.current_rate == 2.0


@pytest.fixture
def served_emulator() -> Iterator[tuple[NotionEmulator, str]]:
    emulator = NotionEmulator(None, token=TOKEN)
    server = ServedApp(emulator.app)
    yield emulator, server.url
    server.stop()
    emulator.close()


def test_a_client_refused_again_and_again_slows_down_and_counts_it(
    served_emulator: tuple[NotionEmulator, str],
) -> None:
    emulator, url = served_emulator
    emulator.configure(faults="429=1,retry_after=2")
    clock = Clock()
    budget = RateBudget(3.0, clock=clock, sleep=clock.sleep)
    client = NotionClient(SecretStr(TOKEN), budget, base_url=url)
    try:
        with pytest.raises(NotionError):
            client.retrieve_user("some-user")
    finally:
        client.close()
    assert client.stats.rate_limited == 8
    assert client.stats.rate_lowered == 7  # every 429 after the first, down to the floor
    assert client.stats.as_dict()["rate_limited"] == 8
    assert budget.current_rate == pytest.approx(0.3)
    assert clock.now > 7 * 2  # the pauses of Retry-After 2 s, then ever slower refills
