"""The Sync Health and Sync Runs databases in the sandbox, and `syncfw status` on the same state."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

from syncfw.clock import iso, parse_time, utcnow
from syncfw.engine.run import RunOptions, execute, notion_client_for
from syncfw.health import HealthDashboard, recipe_status
from syncfw.plugins import Registry
from syncfw.recipe import Recipe, load_recipe
from syncfw.sandbox.dump import dump_workspace
from syncfw.sandbox.runner import Sandbox
from syncfw.state import StateStore
from tests.conftest import RECIPE
from tests.health.support import FAST, init_all, plain

SYNCFW = [sys.executable, "-m", "syncfw.cli"]


def rows(ids: dict[str, str], title: str) -> list[dict[str, Any]]:
    """The live rows of a dashboard database, as plain values."""
    (entry,) = [
        e for e in dump_workspace()["data_sources"] if e["data_source"]["id"] == ids[f"health: {title}"]
    ]
    return [
        {name: plain(value) for name, value in page["properties"].items()}
        for page in entry["pages"]
        if not page.get("in_trash")
    ]


def run(recipe: Recipe, registry: Registry, dashboard: HealthDashboard) -> Any:
    report = execute(recipe, registry, RunOptions(rate_limit=FAST, observers=[dashboard]))
    assert report.exit_code == 0 and not report.warnings, (report.error, report.warnings)
    return report


def test_sync_health_shows_one_row_per_recipe_and_source_and_flips_to_stale_with_time(
    sandbox: Sandbox, registry: Registry, tmp_path: Path
) -> None:
    recipe = load_recipe(RECIPE, registry=registry)
    ids = init_all(recipe)
    first = run(recipe, registry, HealthDashboard(recipe, keep_runs=1))
    (row,) = rows(ids, "Sync Health")
    created = sum(t.as_dict()["created"] for t in first.targets.values())
    assert created > 0
    assert row["Sync"] == "salesforce-accounts · salesforce"
    assert (row["Owner"], row["Tier"], row["Status"], row["Run status"]) == (
        "revops-lead@example.com",
        "production",
        "ok",
        "success",
    )
    started, finished = parse_time(first.started_at), parse_time(first.finished_at)
    assert started is not None and finished is not None
    for name in ("Last attempt", "Last success"):
        moment = parse_time(row[name])
        assert moment is not None and started <= moment <= finished, (name, row[name])
    assert (row["Created"], row["Updated"], row["Archived"], row["Quarantined"], row["Drift"]) == (
        created,
        0,
        0,
        0,
        0,
    )
    assert (row["Freshness (min)"], row["Stale after (min)"], row["Last run"]) == (0, 60, first.run_id)
    (run_row,) = rows(ids, "Sync Runs")
    assert (run_row["Run"], run_row["Status"], run_row["Exit code"], run_row["Created"]) == (
        first.run_id,
        "success",
        0,
        created,
    )
    assert run_row["Notion writes"] == first.notion_requests["writes"]

    second = run(recipe, registry, HealthDashboard(recipe, keep_runs=1))
    assert second.notion_requests["writes"] == 0  # dashboard writes are not the sync's
    (row,) = rows(ids, "Sync Health")  # updated in place, not added
    assert (row["Last run"], row["Created"]) == (second.run_id, 0)
    assert [r["Run"] for r in rows(ids, "Sync Runs")] == [
        second.run_id
    ]  # keep_runs=1: the older one is trashed

    # two hours later the source is older than its stale_after of 1h: the row and the status flip
    later = utcnow() + timedelta(hours=2)
    assert recipe_status(recipe).exit_code == 0
    assert recipe_status(recipe, now=later).exit_code == 1
    client, store = notion_client_for(recipe, FAST), StateStore(recipe.state_path)
    try:
        assert HealthDashboard(recipe, clock=lambda: later).publish(client, store) == 1
    finally:
        client.close()
        store.close()
    (row,) = rows(ids, "Sync Health")
    assert (row["Status"], row["Freshness (min)"]) == ("stale", 120)
    assert parse_time(row["Checked"]) == later.replace(microsecond=0)


def test_status_exits_1_when_a_source_is_stale_and_says_why(
    sandbox: Sandbox, registry: Registry, tmp_path: Path
) -> None:
    recipe = load_recipe(RECIPE, registry=registry)
    init_all(recipe)
    report = run(recipe, registry, HealthDashboard(recipe))
    fresh = subprocess.run(
        [*SYNCFW, "status", str(RECIPE), "--json"], capture_output=True, text=True, cwd=tmp_path
    )
    assert fresh.returncode == 0, fresh.stdout + fresh.stderr
    status = json.loads(fresh.stdout)
    (source,) = status["sources"]
    assert (source["state"], status["last_run"]["run_id"], status["healthy"]) == ("ok", report.run_id, True)
    assert report.started_at <= source["last_success"] <= report.finished_at
    # the last successful read was 3 hours ago (as if the scheduler had stopped since)
    store = StateStore(recipe.state_path)
    three_hours_ago = iso(utcnow() - timedelta(hours=3)) or ""
    with store.transaction() as tx:
        for target in ("accounts", "contacts"):
            stream = "Account" if target == "accounts" else "Contact"
            tx.read_finished(target, "salesforce", stream, three_hours_ago, None)
    store.close()
    stale = subprocess.run(
        [*SYNCFW, "status", str(RECIPE), "--json"], capture_output=True, text=True, cwd=tmp_path
    )
    assert stale.returncode == 1
    status = json.loads(stale.stdout)
    assert status["exit_code"] == 1
    assert status["sources"][0]["state"] == "stale" and not status["healthy"]
    assert status["problems"] == [
        "source salesforce is stale: last successful read 3h00m ago, more than stale_after 1h00m"
    ]
    table = subprocess.run([*SYNCFW, "status", str(RECIPE)], capture_output=True, text=True, cwd=tmp_path)
    assert table.returncode == 1 and "stale" in table.stdout and "problem" in table.stdout
