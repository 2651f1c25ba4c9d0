"""Fault test: a fifth of Notion's and Salesforce's answers fail in every way the emulators know
(429 with Retry-After 0, 5xx, 529, connection resets, timeouts, writes committed whose answer is
lost, creates answered 504 or timed out and committed just before the in-flight grace ends). Runs
repeated until one succeeds with no create pending reach the same final state as a fault-free
run, with no duplicate page."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from syncfw_salesforce.connector import SalesforceConnector
from tenacity import wait_none

from syncfw.plugins import Registry
from syncfw.recipe import load_recipe
from syncfw.sandbox.runner import Sandbox
from syncfw.testing import copy_seed_data
from tests.conftest import RECIPE, start_sandbox
from tests.engine.test_ownership import value
from tests.engine.test_sync_end_to_end import bump, init, pages, seed, sync, write_seed

# late commits land 1.5 s after their failed answer: just inside the in-flight grace of the tests
# (SYNCFW_INFLIGHT_GRACE=2, tests/conftest.py), as Notion's 60 s are inside the default 65 s
NOTION_FAULTS = (
    "429=0.04,5xx=0.04,529=0.03,reset=0.03,lost=0.03,timeout=0.03,late_commit=0.03,late_commit_after=1.5,"
    "retry_after=0,timeout_seconds=1,seed=11"
)
SOURCE_FAULTS = "5xx=0.1,reset=0.05,timeout=0.05,timeout_seconds=1,seed=12"
BULK = 60  # generated accounts (plus about as many contacts) on top of the sample data


def final_state(box: Sandbox, ids: dict[str, str]) -> dict[str, Any]:
    state: dict[str, Any] = {}
    for target in ("accounts", "contacts"):
        live = pages(box, ids[target])
        keys = [value(p, "Salesforce ID") for p in live]
        assert len(keys) == len(set(keys)), f"{target}: a sync key has two pages"
        state[target] = {
            key: {n: value(p, n) for n in ("Name", "Industry", "Email") if n in p["properties"]}
            for key, p in zip(keys, live, strict=True)
        }
    return state


def converge(
    work: Path, registry: Registry, monkeypatch: pytest.MonkeyPatch, faults: tuple[str, str] | None
) -> tuple[dict[str, Any], list[int]]:
    """Two rounds of runs (the source changes in between), each repeated until a run succeeds."""
    from syncfw_salesforce.emulator.bulk import generate  # the emulator's own record generator

    seed_dir = copy_seed_data(registry.emulators.values(), work / "seed")
    # enough records for a few hundred Notion requests, so that a fifth of them failing is dozens
    generated = generate(BULK, [u["Id"] for u in seed(seed_dir, "User")], seed=5)
    for sobject in ("Account", "Contact"):
        write_seed(seed_dir, sobject, seed(seed_dir, sobject) + generated[sobject])
    box = start_sandbox(
        work, registry, seed_dir, monkeypatch, options={"faults": faults[1]} if faults else {}
    )
    try:
        assert box.notion is not None
        recipe = load_recipe(RECIPE, registry=registry)
        ids = init(recipe)
        if faults:
            box.notion.configure(faults=faults[0])
        outcomes: list[int] = []
        for round_ in range(2):
            if round_ == 1:
                accounts = seed(seed_dir, "Account")
                for record in accounts[:3]:
                    record["Industry"] = "Shipping"
                    bump(record)
                accounts[3]["IsDeleted"] = True
                bump(accounts[3])
                write_seed(seed_dir, "Account", accounts)
            for _ in range(12):
                report = sync(recipe, registry, allow_mass_change=True)
                outcomes.append(report.exit_code)
                if outcomes[-1] == 0 and not any(t.pending for t in report.targets.values()):
                    break
            assert outcomes[-1] == 0, outcomes
        if faults:
            injected = sum(box.notion.stats().get("faults", {}).values())
            assert injected > 30, "the faults did not happen"
            box.notion.configure(faults=None)
        state = final_state(box, ids)
        assert sync(recipe, registry).notion_requests["writes"] == 0
        return state, outcomes
    finally:
        box.stop()


@pytest.mark.timeout(900)
def test_runs_under_a_fifth_of_failures_converge_to_the_fault_free_state(
    tmp_path: Path, registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the source's retries are under test, not their 1, 2, 4 s waits (as in the connector's tests)
    monkeypatch.setattr(SalesforceConnector, "retry_wait", wait_none())
    (tmp_path / "clean").mkdir()
    (tmp_path / "faulty").mkdir()
    clean, _ = converge(tmp_path / "clean", registry, monkeypatch, None)
    faulty, outcomes = converge(tmp_path / "faulty", registry, monkeypatch, (NOTION_FAULTS, SOURCE_FAULTS))
    assert faulty == clean
    print("exit codes of the runs under faults:", outcomes)
