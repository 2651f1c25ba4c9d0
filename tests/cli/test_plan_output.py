"""What `syncfw plan` and `syncfw run` print (issue 17, findings 2–4): the plan on stdout wherever
stdout goes, a plan that shows what the run will do, unmatched records in text output and status.

Each command runs in its own process (stdout is a pipe, as under `| cat`, `less` or CI) against
the sandbox of the ``sandbox`` fixture.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from syncfw.engine.run import notion_client_for
from syncfw.plugins import Registry
from syncfw.recipe import load_recipe
from syncfw.sandbox.runner import Sandbox
from tests.conftest import RECIPE, REPO
from tests.engine.test_sync_end_to_end import FAST, init, sync

CUSTOMER_360 = REPO / "recipes" / "customer-360.yaml"


def syncfw(*args: str | Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``syncfw ARGS`` in a fresh process, stdout and stderr captured (pipes, not a terminal)."""
    command = [sys.executable, "-m", "syncfw.cli", *map(str, args), "--notion-rate-limit", str(FAST)]
    if args[0] not in ("plan", "run"):
        command = command[:-2]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, env=env)


def operations(report: dict[str, Any]) -> dict[str, list[tuple[str, str, str | None, Any, Any]]]:
    """Each target's operations; a create's page id is left out (a plan cannot know it)."""
    return {
        name: sorted(
            (
                op["action"],
                op["sync_key"],
                op["page_id"] if op["action"] != "create" else None,
                json.dumps(op["before"], sort_keys=True),
                json.dumps(op["after"], sort_keys=True),
            )
            for op in target["operations"]
        )
        for name, target in report["targets"].items()
    }


def test_plan_prints_its_operations_on_stdout_off_a_terminal_and_logs_on_stderr(
    sandbox: Sandbox, registry: Registry, tmp_path: Path
) -> None:
    init(load_recipe(RECIPE, registry=registry))
    piped = syncfw("plan", RECIPE, "--out", tmp_path / "plan.json")
    assert piped.returncode == 0, piped.stderr
    planned = json.loads((tmp_path / "plan.json").read_text())["targets"]  # what --json prints
    expected = sorted(op["sync_key"] for target in planned.values() for op in target["operations"])
    assert expected and all(target["created"] > 0 for target in planned.values())
    assert sorted(re.findall(r"^  \+ create Salesforce ID (\S+)$", piped.stdout, re.M)) == expected
    assert "unchanged" in piped.stdout and "unchan…" not in piped.stdout  # the summary table is whole
    logs = [json.loads(line) for line in piped.stderr.splitlines()]  # stderr: JSON lines only
    assert {"event": "plan_written", "path": str(tmp_path / "plan.json")}.items() <= logs[-1].items()
    told = syncfw("plan", RECIPE, "--log-format", "text", "--out", tmp_path / "again.json")
    assert f"plan written to {tmp_path / 'again.json'}" in told.stderr


def test_a_plan_after_another_recipe_lists_exactly_the_operations_the_run_performs(
    sandbox: Sandbox, registry: Registry
) -> None:
    """customer-360 takes over the databases salesforce-accounts wrote (its own state knows no
    page): its plan must keep the contacts' Account relations the run keeps, and link the tickets
    to the accounts as the run does."""
    accounts = load_recipe(RECIPE, registry=registry)
    data_sources = init(accounts)
    assert sync(accounts, registry).exit_code == 0
    client = notion_client_for(accounts, FAST)
    for data_source_id in data_sources.values():  # hand the databases over (docs/operations.md)
        client.update_description(data_source_id, [])
    client.close()
    init(load_recipe(CUSTOMER_360, registry=registry))

    planned = syncfw("plan", CUSTOMER_360, "--json")
    ran = syncfw("run", CUSTOMER_360, "--json", "--allow-mass-change")
    assert planned.returncode == 0 and ran.returncode == 0, planned.stderr + ran.stderr
    plan, run = json.loads(planned.stdout), json.loads(ran.stdout)
    assert run["targets"]["contacts"]["updated"] > 0 and run["targets"]["tickets"]["created"] > 0
    assert operations(plan) == operations(run)


def test_unmatched_records_are_shown_by_run_plan_and_status_with_their_source_and_key(
    sandbox: Sandbox, registry: Registry
) -> None:
    init(load_recipe(CUSTOMER_360, registry=registry))
    ran = syncfw("run", CUSTOMER_360, "--log-format", "text")
    planned = syncfw("plan", CUSTOMER_360)
    status = syncfw("status", CUSTOMER_360)
    assert ran.returncode == 0 and planned.returncode == 0, ran.stderr + planned.stderr
    # uos.com is the domain of three accounts; ticket 127 belongs to no organization
    several = "hubspot/companies key 18240501005: matches 3 pages (Domain = 'uos.com')"
    no_org = "zendesk/tickets key 127: has no organization_id to match a page through zendesk-organization"
    for output in (ran.stdout, planned.stdout):
        assert f"unmatched accounts: {several}" in output
        assert f"unmatched accounts: {no_org}" in output
    assert f"unmatched accounts ← {several}" in status.stdout
    assert f"unmatched accounts ← {no_org}" in status.stdout
    assert "key None" not in ran.stdout + status.stdout
