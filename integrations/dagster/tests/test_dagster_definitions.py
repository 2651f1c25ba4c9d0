"""The Dagster definitions of the repository's recipes, loaded once for the module against one
sandbox: what they declare, a materialisation that syncs through the emulators, and the freshness
check failing once ``stale_after`` has passed (the clock is moved, not waited for)."""

import hashlib
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
import time_machine
from syncfw_dagster import SyncfwResource, build_syncfw_definitions, target_key

from syncfw.errors import ConfigError
from syncfw.plugins import load_plugins
from syncfw.sandbox.runner import Sandbox
from syncfw.testing import copy_seed_data
from tests.conftest import REPO, start_sandbox

RECIPE = "salesforce-accounts"


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    """``tests/conftest.py``'s sandbox, started once for the module (Dagster loads once)."""
    root = tmp_path_factory.mktemp("dagster")
    registry = load_plugins()
    with pytest.MonkeyPatch.context() as patch:
        seed = copy_seed_data(registry.emulators.values(), root / "seed")
        box = start_sandbox(root, registry, seed, patch)
        # the recipe's databases, as an operator creates them before the first scheduled run
        init = [
            sys.executable,
            "-m",
            "syncfw.cli",
            "notion",
            "init",
            str(REPO / "recipes" / f"{RECIPE}.yaml"),
        ]
        assert subprocess.run(init, capture_output=True, timeout=120).returncode == 0
        yield box
        box.stop()


@pytest.fixture(scope="module")
def defs(sandbox: Sandbox) -> dg.Definitions:
    # the sandbox's Notion has no rate limit: a run need not pace itself at Notion's 3 requests/s
    return build_syncfw_definitions(REPO / "recipes", resource=SyncfwResource(notion_rate_limit=100))


@pytest.fixture(scope="module")
def instance() -> dg.DagsterInstance:
    return dg.DagsterInstance.ephemeral()


@pytest.fixture(scope="module")
def materialised(defs: dg.Definitions, instance: dg.DagsterInstance) -> dg.ExecuteInProcessResult:
    job = defs.resolve_job_def("syncfw_salesforce_accounts_job")
    return job.execute_in_process(instance=instance, raise_on_error=False)


def token_pool_of(token: str) -> str:
    return "notion-token-" + hashlib.sha256(token.encode()).hexdigest()[:12]


def titled(dump: dict[str, Any], title: str) -> dict[str, Any]:
    [found] = [s for s in dump["data_sources"] if "".join(t["plain_text"] for t in s["title"]) == title]
    return found


def test_definitions_load_every_recipe_of_the_directory(defs: dg.Definitions, sandbox: Sandbox) -> None:
    graph = defs.resolve_asset_graph()
    accounts = graph.get(target_key(RECIPE, "accounts"))
    assert accounts.parent_keys == {dg.AssetKey(["salesforce", RECIPE, "Account"])}
    assert target_key(RECIPE, "accounts") in graph.get(target_key(RECIPE, "contacts")).parent_keys
    assert target_key("customer-360", "tickets") in graph.get_all_asset_keys()
    assert {s.name: s.cron_schedule for s in defs.schedules or []} == {
        "syncfw_customer_360_schedule": "*/15 * * * *",
        "syncfw_hand_kept_accounts_schedule": "0 * * * *",
        "syncfw_salesforce_accounts_schedule": "*/15 * * * *",
        "syncfw_sql_customers_schedule": "*/15 * * * *",
    }
    checks = {(key.asset_key, key.name) for key in graph.asset_check_keys}
    for name in ("quarantine", "drift", "freshness_check"):
        assert (target_key(RECIPE, "accounts"), name) in checks
    # both recipes use one integration token: one pool, named by a digest and not by the token
    pools = [graph.get(target_key(r, "accounts")).pools for r in (RECIPE, "customer-360")]
    token = sandbox.env["NOTION_TOKEN"]
    assert pools[0] == pools[1] == {token_pool_of(token)}
    assert token not in str(pools)


def test_materialising_runs_the_recipe_in_the_sandbox(
    materialised: dg.ExecuteInProcessResult, sandbox: Sandbox
) -> None:
    assert materialised.success, materialised.all_events
    accounts = titled(sandbox.notion.dump(), "Accounts")
    assert len(accounts["pages"]) > 0
    [event] = [
        m
        for m in materialised.get_asset_materialization_events()
        if m.asset_key == target_key(RECIPE, "accounts")
    ]
    metadata = event.materialization.metadata
    assert metadata["created"].value == len(accounts["pages"])
    assert metadata["status"].value == "success"
    evaluations = {
        e.check_name: e.passed
        for e in materialised.get_asset_check_evaluations()
        if e.asset_key == target_key(RECIPE, "accounts")
    }
    assert evaluations == {"quarantine": True, "drift": True, "freshness_check": True}


def test_the_freshness_check_fails_once_stale_after_has_passed(
    materialised: dg.ExecuteInProcessResult, defs: dg.Definitions, instance: dg.DagsterInstance
) -> None:
    key = dg.AssetCheckKey(target_key(RECIPE, "accounts"), "freshness_check")
    checks = list(defs.asset_checks or [])

    def evaluate() -> bool:
        result = dg.materialize(checks, instance=instance, selection=dg.AssetSelection.checks(key))
        [evaluation] = result.get_asset_check_evaluations()
        return evaluation.passed

    assert evaluate()
    # the recipe's salesforce source has stale_after: 1h
    with time_machine.travel(datetime.now(UTC) + timedelta(hours=1, minutes=1)):
        assert not evaluate()


def test_a_person_s_edit_fails_the_drift_check_of_the_next_materialisation(
    materialised: dg.ExecuteInProcessResult,
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    sandbox: Sandbox,
) -> None:
    assert sandbox.notion is not None
    [page, *_] = titled(sandbox.notion.dump(), "Accounts")["pages"]
    sandbox.notion.human_edit(page["id"], {"Industry": {"select": {"name": "Shipping"}}})

    again = defs.resolve_job_def("syncfw_salesforce_accounts_job").execute_in_process(instance=instance)

    drift = {
        e.asset_key: (e.passed, e.severity, e.metadata["findings"].value)
        for e in again.get_asset_check_evaluations()
        if e.check_name == "drift"
    }
    assert drift == {
        target_key(RECIPE, "accounts"): (False, dg.AssetCheckSeverity.WARN, 1),
        target_key(RECIPE, "contacts"): (True, dg.AssetCheckSeverity.WARN, 0),
    }


def test_a_run_that_cannot_start_fails_the_step_with_syncfw_s_message(
    materialised: dg.ExecuteInProcessResult, defs: dg.Definitions
) -> None:
    # customer-360's Accounts is the database salesforce-accounts writes (same title, same parent)
    result = defs.resolve_job_def("syncfw_customer_360_job").execute_in_process(raise_on_error=False)

    assert not result.success
    [failure] = result.get_step_failure_events()
    user_failure = failure.step_failure_data.user_failure_data
    assert user_failure is not None
    assert "is written by recipe 'salesforce-accounts'" in str(user_failure.description)
    assert "nothing was written" in str(user_failure.description)


def test_a_schedule_dagster_cannot_parse_is_refused_naming_the_recipe(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    shutil.copytree(REPO / "mappings", tmp_path / "mappings")
    (tmp_path / "recipes").mkdir()
    recipe = (REPO / "recipes" / f"{RECIPE}.yaml").read_text()
    # cronsim (syncfw) takes the last Friday of the month; Dagster's parser does not
    last_friday = recipe.replace('schedule: "*/15 * * * *"', 'schedule: "0 6 * * 5L"')
    (tmp_path / "recipes" / "monthly.yaml").write_text(last_friday)

    with pytest.raises(ConfigError, match=r"monthly\.yaml: schedule '0 6 \* \* 5L'"):
        build_syncfw_definitions(tmp_path / "recipes")
