"""The shared fault model: the compact grammar, its refusals, and the seeded draws."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from syncfw.emulation import FaultInjector, FaultPlan, Injection


def test_compact_form_sets_every_kind() -> None:
    plan = FaultPlan.parse(
        " 429 = 0.1, 5xx=0.2, 503=5%, 529=0.01, timeout=0.02, reset=0.03, lost=0.04, retry_after=90, "
        "timeout_seconds=2.5, lost_as=timeout, only=writes, seed=7"
    )

    assert plan == FaultPlan(
        rate_limited=0.1,
        retry_after=90,
        server_errors={500: 0.05, 502: 0.05, 503: 0.1, 504: 0.05},
        overload=0.01,
        timeout=0.02,
        timeout_seconds=2.5,
        reset=0.03,
        lost_response=0.04,
        lost_as="timeout",
        only="writes",
        seed=7,
    )


def test_long_names_and_round_trip() -> None:
    text = "rate_limited=0.1,server_error=0.4,overload=0.1,lost_response=0.2,retry_after=0,seed=3"
    plan = FaultPlan.parse(text)

    assert str(plan) == "429=0.1,500=0.1,502=0.1,503=0.1,504=0.1,529=0.1,lost=0.2,retry_after=0,seed=3"
    assert FaultPlan.parse(str(plan)) == plan
    assert plan.retry_after == 0


@pytest.mark.parametrize("text", ["", "  ", "none", "NONE"])
def test_empty_plan_has_no_faults(text: str) -> None:
    assert FaultPlan.parse(text).chances() == {}
    assert FaultPlan.coerce(text) is None
    assert FaultPlan.coerce(FaultPlan(seed=3)) is None
    assert str(FaultPlan()) == "none"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("430=0.1", "unknown fault setting '430' in '430=0.1' (known: 429, rate_limited"),
        ("lost=0.1,latency=2", "unknown fault setting 'latency'"),
        ("429", "fault setting '429' in '429' is not key=value"),
        ("429=", "is not key=value"),
        ("429=0.1,,seed=1", "fault setting '' in '429=0.1,,seed=1' is not key=value"),
        ("429=0.1,rate_limited=0.2", "fault setting 'rate_limited' is given twice"),
        ("429=lots", "fault setting rate_limited='lots': expected a probability such as 0.05 or 5%"),
        ("429=1.5", "fault probability rate_limited must be a number from 0 to 1, not 1.5"),
        ("reset=-0.1", "must be a number from 0 to 1"),
        ("500=nan", "must be a number from 0 to 1, not nan"),
        ("429=0.6,reset=0.6", "fault probabilities add up to more than 1"),
        ("retry_after=-1", "fault setting retry_after='-1': expected a whole number"),
        ("retry_after=1.5", "expected a whole number"),
        ("seed=x", "fault setting seed='x': expected a whole number"),
        ("timeout_seconds=0", "timeout_seconds must be a number of seconds above 0"),
        ("timeout_seconds=soon", "expected a number of seconds"),
        ("only=deletes", "only must be one of all, reads, writes, not 'deletes'"),
        ("lost_as=503", "lost_as must be one of any, reset, 502, 504, timeout, not '503'"),
    ],
)
def test_bad_settings_are_refused_by_name(text: str, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        FaultPlan.parse(text)
    assert message in str(caught.value)


def test_python_api_checks_values_too() -> None:
    with pytest.raises(ValueError, match="server error status must be one of"):
        FaultPlan(server_errors={501: 0.1})
    with pytest.raises(ValueError, match="retry_after must be a whole number"):
        FaultPlan(rate_limited=0.1, retry_after=True)
    with pytest.raises(ValueError, match="must be a compact fault string"):
        FaultPlan.coerce(0.1)  # type: ignore[arg-type]


def test_unsupported_kinds_are_named_with_the_reason() -> None:
    plan = FaultPlan.parse("429=0.1,5xx=0.1,lost=0.1")
    plan.require(["rate_limited", "server_error", "lost_response"], "Test")
    with pytest.raises(ValueError) as caught:
        plan.require(["server_error", "reset"], "Test", {"rate_limited": "no 429 here"})
    assert str(caught.value) == (
        "the Test emulator cannot inject rate_limited, lost_response faults "
        "(it supports server_error, reset); rate_limited: no 429 here"
    )


def draws(plan: FaultPlan, count: int, *, write: bool = True) -> list[Injection | None]:
    injector = FaultInjector(plan)
    return [injector.draw(write=write) for _ in range(count)]


def test_draws_honour_the_probabilities() -> None:
    plan = FaultPlan.parse("429=0.2,5xx=0.2,529=0.1,reset=0.1,lost=0.1,seed=11")
    kinds = Counter(d.kind if d else "none" for d in draws(plan, 5000))

    expected = {"rate_limited": 0.2, "server_error": 0.2, "overload": 0.1, "reset": 0.1, "lost_response": 0.1}
    for kind, chance in expected.items():
        assert abs(kinds[kind] / 5000 - chance) < 0.03, (kind, kinds)
    assert abs(kinds["none"] / 5000 - 0.3) < 0.03


def test_server_errors_spread_over_the_statuses() -> None:
    statuses = Counter(d.status for d in draws(FaultPlan.parse("5xx=1,seed=2"), 4000) if d)

    assert set(statuses) == {500, 502, 503, 504}
    assert all(850 < n < 1150 for n in statuses.values()), statuses


def test_same_seed_same_faults_and_configure_restarts_the_sequence() -> None:
    plan = FaultPlan.parse("429=0.3,reset=0.3,seed=5")
    first = draws(plan, 200)

    assert draws(plan, 200) == first
    assert draws(FaultPlan.parse("429=0.3,reset=0.3,seed=6"), 200) != first
    injector = FaultInjector(plan)
    injector.draw(write=True)
    injector.configure(plan)
    assert [injector.draw(write=True) for _ in range(200)] == first


def test_injections_carry_what_the_emulator_must_do() -> None:
    assert draws(FaultPlan.parse("429=1"), 1) == [Injection("rate_limited", 429, retry_after=None)]
    assert draws(FaultPlan.parse("429=1,retry_after=0"), 1) == [Injection("rate_limited", 429, retry_after=0)]
    assert draws(FaultPlan.parse("529=1"), 1) == [Injection("overload", 529, retry_after=1)]
    assert draws(FaultPlan.parse("reset=1"), 1) == [Injection("reset")]
    assert draws(FaultPlan.parse("timeout=1,timeout_seconds=3"), 1) == [
        Injection("timeout", hold_seconds=3.0)
    ]
    assert draws(FaultPlan.parse("lost=1,lost_as=504"), 1) == [
        Injection("lost_response", 504, after_commit=True)
    ]
    assert draws(FaultPlan.parse("lost=1,lost_as=timeout,timeout_seconds=2"), 1) == [
        Injection("lost_response", None, after_commit=True, hold_seconds=2.0)
    ]
    lost = Counter(d.status for d in draws(FaultPlan.parse("lost=1,seed=1"), 300) if d)
    assert set(lost) == {None, 502, 504}


def test_lost_responses_spare_reads_and_only_selects_requests() -> None:
    assert draws(FaultPlan.parse("lost=1"), 50, write=False) == [None] * 50
    assert draws(FaultPlan.parse("reset=1,only=writes"), 50, write=False) == [None] * 50
    assert draws(FaultPlan.parse("reset=1,only=reads"), 50, write=True) == [None] * 50
    assert draws(FaultPlan.parse("reset=1,only=reads"), 1, write=False) == [Injection("reset")]


def test_counts_by_kind_and_reset() -> None:
    injector = FaultInjector(FaultPlan.parse("429=0.5,reset=0.5,seed=1"))
    kinds = Counter(d.kind for d in (injector.draw(write=False) for _ in range(100)) if d)

    assert injector.counts() == dict(kinds)
    assert sum(kinds.values()) == 100
    injector.reset_counts()
    assert injector.counts() == {}
    assert FaultInjector().draw(write=True) is None


def test_late_commits_parse_round_trip_and_draw_for_writes_only() -> None:
    plan = FaultPlan.parse("late_commit=0.5,late_commit_after=3,late_as=timeout,timeout_seconds=2,seed=4")
    assert (plan.late_commit, plan.late_commit_after, plan.late_as) == (0.5, 3.0, "timeout")
    assert str(plan) == "late_commit=0.5,timeout_seconds=2,late_commit_after=3,late_as=timeout,seed=4"
    assert FaultPlan.parse(str(plan)) == plan
    assert str(FaultPlan.parse("late_commit=1")) == "late_commit=1"  # 2 s, 504 or timeout by default
    assert draws(FaultPlan.parse("late_commit=1,late_as=504"), 1) == [
        Injection("late_commit", 504, commit_after=2.0)
    ]
    assert draws(FaultPlan.parse("late_commit=1,late_as=timeout,timeout_seconds=2"), 1) == [
        Injection("late_commit", None, hold_seconds=2.0, commit_after=2.0)
    ]
    answered = Counter(d.status for d in draws(FaultPlan.parse("late_commit=1,seed=1"), 200) if d)
    assert set(answered) == {None, 504}
    assert draws(FaultPlan.parse("late_commit=1"), 20, write=False) == [None] * 20


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("late_commit=1,late_commit_after=0", "late_commit_after must be a number of seconds above 0"),
        ("late_commit=1,late_commit_after=later", "fault setting late_commit_after='later'"),
        ("late_commit=1,late_as=reset", "late_as must be one of any, 504, timeout, not 'reset'"),
    ],
)
def test_bad_late_commit_settings_are_refused_by_name(text: str, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        FaultPlan.parse(text)
    assert message in str(caught.value)


def test_overloads_carry_retry_after_one_second_unless_set() -> None:
    assert draws(FaultPlan.parse("529=1"), 1) == [Injection("overload", 529, retry_after=1)]
    plan = FaultPlan.parse("529=1,overload_retry_after=90")
    assert draws(plan, 1) == [Injection("overload", 529, retry_after=90)]
    assert str(plan) == "529=1,overload_retry_after=90"
    assert FaultPlan.parse("529=1,overload_retry_after=none").overload_retry_after is None
    assert FaultPlan.parse(str(FaultPlan.parse("529=1,overload_retry_after=none"))) == FaultPlan(
        overload=1, overload_retry_after=None
    )
    with pytest.raises(ValueError, match="overload_retry_after='-2': expected a whole number"):
        FaultPlan.parse("529=1,overload_retry_after=-2")


def test_a_retry_after_over_an_hour_is_refused_by_the_cli(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "syncfw.cli",
            "sandbox",
            "serve",
            "--state-dir",
            str(tmp_path / "s"),
            "--notion-faults",
            "429=0.1,retry_after=99999999",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2 and "from 0 to 3600" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "s").exists()
