"""The Sync Health and Sync Runs databases in the sandbox, and `syncfw status` on the same state."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

from syncfw.clock import Clock, iso, parse_time, utcnow
from syncfw.engine.run import RunOptions, execute, notion_client_for
from syncfw.health import HealthDashboard, recipe_status
from syncfw.health.dashboard import PROPERTIES_SETTING, RUNS_PROPERTIES, row_changed
from syncfw.mapping import encode
from syncfw.plugins import Registry
from syncfw.recipe import Recipe, load_recipe
from syncfw.sandbox.dump import dump_workspace
from syncfw.sandbox.runner import Sandbox
from syncfw.state import StateStore
from tests.conftest import RECIPE
from tests.engine.test_sync_end_to_end import pages
from tests.health.support import FAST, init_all, plain, recipe_copy

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
    first = run(recipe, registry, HealthDashboard(recipe))
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

    # two hours later the source is older than its stale_after of 1h: the row and the status flip
    later = utcnow() + timedelta(hours=2)
    assert recipe_status(recipe).exit_code == 0
    assert recipe_status(recipe, now=later).exit_code == 1
    client, store = notion_client_for(recipe, FAST), StateStore(recipe.state_path)
    try:
        assert HealthDashboard(recipe).publish(client, store) == 0  # nothing new to say yet
        assert HealthDashboard(recipe, clock=lambda: later).publish(client, store) == 1
    finally:
        client.close()
        store.close()
    (row,) = rows(ids, "Sync Health")
    assert (row["Status"], row["Freshness (min)"]) == ("stale", 120)
    assert parse_time(row["Checked"]) == later.replace(microsecond=0)


def test_a_run_that_changes_nothing_writes_nothing_to_the_dashboard_and_counts_every_request(
    sandbox: Sandbox, registry: Registry
) -> None:
    """The first run writes its Sync Health row and its Sync Runs row, and its report counts
    them; a second run with nothing new sends Notion no write at all, and its report counts
    exactly the requests Notion received."""
    recipe = load_recipe(RECIPE, registry=registry)
    ids = init_all(recipe)
    assert sandbox.notion is not None
    sandbox.notion.reset_stats()
    first = run(recipe, registry, HealthDashboard(recipe))
    assert first.notion_requests["reads"] + first.notion_requests["writes"] == len(sandbox.notion.requests())
    sandbox.notion.reset_stats()
    second = run(recipe, registry, HealthDashboard(recipe))
    seen = sandbox.notion.requests()
    assert [
        r["endpoint"] for r in seen if not r["endpoint"].startswith(("GET", "POST /v1/data_sources"))
    ] == []
    assert second.notion_requests["reads"] + second.notion_requests["writes"] == len(seen)
    (row,) = rows(ids, "Sync Health")  # still the first run's: the second had nothing new to say
    assert (row["Last run"], row["Status"]) == (first.run_id, "ok")
    assert [r["Run"] for r in rows(ids, "Sync Runs")] == [first.run_id]


def test_sync_runs_keeps_the_retention_with_one_write_per_run(
    sandbox: Sandbox, registry: Registry, tmp_path: Path
) -> None:
    """With ``retention: {sync_runs: 2}``, four runs that each revert a person's edit leave the
    newest two rows and nothing in the trash: each run writes its Sync Runs row with one request."""
    recipe = load_recipe(recipe_copy(tmp_path, extra="retention: {sync_runs: 2}\n"), registry=registry)
    ids = init_all(recipe)
    assert sandbox.notion is not None
    run(recipe, registry, HealthDashboard(recipe))
    account = next(p for p in pages(sandbox, ids["accounts"]) if not p.get("in_trash"))
    reports = []
    for industry in ("Shipping", "Retail", "Banking", "Energy"):
        sandbox.notion.human_edit(account["id"], {"Industry": {"select": {"name": industry}}})
        sandbox.notion.reset_stats()
        report = run(recipe, registry, HealthDashboard(recipe))
        assert len(report.targets["accounts"].plan.drift) == 1
        runs_rows = {p["id"] for p in pages(sandbox, ids["health: Sync Runs"])}
        writes = [
            r
            for r in sandbox.notion.requests()
            if r["params"].get("page_id") in runs_rows
            or (r["body"] or {}).get("parent", {}).get("data_source_id") == ids["health: Sync Runs"]
        ]
        assert len(writes) == 1, writes
        reports.append(report)
    assert sorted(r["Run"] for r in rows(ids, "Sync Runs")) == sorted(r.run_id for r in reports[-2:])
    assert [p for p in pages(sandbox, ids["health: Sync Runs"]) if p.get("in_trash")] == []


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


def test_a_row_is_rewritten_when_its_last_success_grows_older_than_stale_after() -> None:
    """An ``ok`` row must not show a last success older than ``stale_after`` (it would read as
    stale): a run that changed nothing rewrites it then, and not before."""
    now = utcnow()
    written = {
        "Status": "ok",
        "Last success": iso(now - timedelta(minutes=50)),
        "Stale after (min)": 60,
        "Created": 3,
        "Last run": "r1",
    }
    fresh = {**written, "Last success": iso(now), "Created": 0, "Last run": "r2"}
    assert not row_changed(fresh, written, now)
    assert row_changed(fresh, written, now + timedelta(minutes=11))
    assert row_changed({**fresh, "Status": "failing"}, written, now)
    assert row_changed({**fresh, "Created": 2}, written, now)


def test_sync_runs_rows_an_older_syncfw_left_are_pruned_to_the_retention(
    sandbox: Sandbox, registry: Registry, tmp_path: Path
) -> None:
    """Rows not on record in the state store (written by an older syncfw, which kept 200) are
    read once, and the oldest beyond ``retention.sync_runs`` go to the trash."""
    recipe = load_recipe(recipe_copy(tmp_path, extra="retention: {sync_runs: 2}\n"), registry=registry)
    ids = init_all(recipe)
    client = notion_client_for(recipe, FAST)
    try:
        for hour in range(1, 5):
            old = {
                "Run": f"old-{hour}",
                "Recipe": recipe.name,
                "Started": iso(utcnow() - timedelta(hours=hour)),
            }
            client.create_page(
                ids["health: Sync Runs"], {k: encode(RUNS_PROPERTIES[k], v)[0] for k, v in old.items()}
            )
    finally:
        client.close()
    report = run(recipe, registry, HealthDashboard(recipe))
    assert sorted(r["Run"] for r in rows(ids, "Sync Runs")) == sorted(["old-1", report.run_id])


def shifted(by: timedelta) -> Clock:
    """The real clock, ``by`` ahead."""
    return lambda: utcnow() + by


def test_missing_dashboard_databases_are_looked_for_once_a_day_and_used_once_created(
    sandbox: Sandbox, registry: Registry
) -> None:
    """Without Sync Health and Sync Runs databases, a run warns and searches for them; the next
    runs warn without searching again (a day's grace, by the dashboard's clock), so a recipe that
    skipped them still costs one request per target when nothing changed; once `notion init`
    creates them, the next run writes its Sync Health row."""
    recipe = load_recipe(RECIPE, registry=registry)
    init_all(recipe, dashboard=False)
    assert sandbox.notion is not None
    searches: list[int] = []
    for later in (timedelta(0), timedelta(0), timedelta(hours=23), timedelta(hours=25)):
        sandbox.notion.reset_stats()
        dashboard = HealthDashboard(recipe, clock=shifted(later))
        report = execute(recipe, registry, RunOptions(rate_limit=FAST, observers=[dashboard]))
        assert report.exit_code == 0, report.error
        assert any("no Sync Health and Sync Runs databases" in w for w in report.warnings)
        searches.append(sandbox.notion.stats()["by_endpoint"].get("POST /v1/search", 0))
    assert searches[0] > 0 and searches[1:3] == [0, 0] and searches[3] == searches[0]

    ids = init_all(recipe)  # `syncfw notion init` again: it creates them
    report = run(recipe, registry, HealthDashboard(recipe))
    assert [r["Last run"] for r in rows(ids, "Sync Health")] == [report.run_id]


def test_sync_health_shows_a_backfill_and_an_older_dashboard_gets_the_property_once(
    sandbox: Sandbox, registry: Registry
) -> None:
    """A run capped by --max-writes shows the backfill's progress in its Sync Health row, and the
    run that finishes it says so. A dashboard made before the Backfill property existed is given
    it before the next write (once), instead of having every row write refused."""
    recipe = load_recipe(RECIPE, registry=registry)
    ids = init_all(recipe)
    assert sandbox.notion is not None
    sandbox.notion.human_update_schema(ids["health: Sync Health"], {"Backfill": None})
    store = StateStore(recipe.state_path)
    try:
        with store.transaction() as tx:
            tx.set_setting(PROPERTIES_SETTING, "an older syncfw")
    finally:
        store.close()
    capped = execute(
        recipe, registry, RunOptions(rate_limit=FAST, max_writes=5, observers=[HealthDashboard(recipe)])
    )
    assert capped.exit_code == 0 and not capped.warnings, (capped.error, capped.warnings)
    (row,) = rows(ids, "Sync Health")
    assert row["Backfill"].startswith("backfill in progress: 5 of ") and "remaining" in row["Backfill"]
    sandbox.notion.reset_stats()
    finished = run(recipe, registry, HealthDashboard(recipe))
    health = ids["health: Sync Health"].replace("-", "")
    extended = [
        r
        for r in sandbox.notion.requests()
        if r["endpoint"] == "PATCH /v1/data_sources/{id}"
        and str(r["params"].get("data_source_id", "")).replace("-", "") == health
    ]
    assert extended == []  # given the property once, by the capped run
    (row,) = rows(ids, "Sync Health")
    assert row["Backfill"].startswith("backfill finished: ") and row["Last run"] == finished.run_id
