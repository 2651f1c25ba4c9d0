"""syncfw.account_budget: one budget per source account and limit, named without the secret."""

from __future__ import annotations

from pathlib import Path

import pytest

from syncfw.account_budget import account_budget, window_rate

SECRET = "pat-na1-account-budget-secret"


@pytest.fixture
def budget_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SYNCFW_BUDGET_DIR", str(tmp_path))
    monkeypatch.delenv("SYNCFW_BUDGET_URL", raising=False)
    monkeypatch.delenv("SYNCFW_STATE_URL", raising=False)
    return tmp_path


def test_each_account_and_limit_has_its_own_budget_named_without_the_secret(budget_dir: Path) -> None:
    spent = account_budget("hubspot", "https://one.example", SECRET, rate=0.001, burst=1)
    spent.acquire()  # its only token: the next request of this account would wait 1000 s

    others = [
        account_budget("hubspot", "https://two.example", SECRET, rate=0.001, burst=1),
        account_budget("hubspot", "https://one.example", SECRET + "2", rate=0.001, burst=1),
        account_budget("hubspot-search", "https://one.example", SECRET, rate=0.001, burst=1),
    ]
    for budget in others:
        budget.acquire()

    assert [budget.waited for budget in others] == [0.0, 0.0, 0.0]
    names = sorted(path.name for path in budget_dir.iterdir() if path.suffix == ".json")
    assert len(names) == 4 and not any(SECRET in name or "example" in name for name in names)
    assert account_budget("hubspot", "https://one.example", SECRET, rate=0.001, burst=1) is spent


def test_a_window_becomes_a_bucket_that_never_fills_it() -> None:
    rate = window_rate(100, 10.0, 10)

    assert rate == 9.0 and 10 + rate * 10.0 == 100  # burst + refill in any 10 s
    with pytest.raises(ValueError, match="cannot hold a burst of 10"):
        window_rate(10, 60.0, 10)


def test_a_service_name_that_cannot_name_a_file_is_refused(budget_dir: Path) -> None:
    with pytest.raises(ValueError, match="letters, digits and '-'"):
        account_budget("../hubspot", "https://one.example", SECRET, rate=1.0)
