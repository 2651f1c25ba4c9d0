"""Alerts through apprise to a real webhook receiver on 127.0.0.1: one per change of state."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pytest

from syncfw.clock import utcnow
from syncfw.engine.run import RunOptions, RunReport, execute
from syncfw.health import Alerts
from syncfw.plugins import Registry
from syncfw.recipe import Recipe, load_recipe
from tests.conftest import start_sandbox
from tests.health.support import FAST, init_all, recipe_copy, webhook_receiver

ALERTS = """
alerts:
  - "${env:ALERT_ALL}"
  - {url: "${env:ALERT_STALE}", events: [source_stale]}
"""


def run(recipe: Recipe, registry: Registry, alerts: Alerts) -> RunReport:
    return execute(recipe, registry, RunOptions(rate_limit=FAST, observers=[alerts]))


def test_three_failed_runs_alert_once_and_the_next_good_run_recovers_once(
    tmp_path: Path, registry: Registry, seed_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    box = start_sandbox(tmp_path, registry, seed_dir, monkeypatch)
    try:
        with webhook_receiver() as hook:
            monkeypatch.setenv("ALERT_ALL", hook.url("all"))
            monkeypatch.setenv("ALERT_STALE", hook.url("stale"))
            path = recipe_copy(tmp_path, extra=ALERTS)
            good = load_recipe(path, registry=registry)
            init_all(good)
            token = os.environ["NOTION_TOKEN"]
            monkeypatch.setenv("NOTION_TOKEN", token[:-4] + "0000")  # revoked: every run fails
            bad = load_recipe(path, registry=registry)
            for _ in range(3):
                report = run(bad, registry, Alerts(bad))
                assert report.exit_code == 1 and not report.warnings, report.warnings
            (failure,) = hook.at("/all")
            assert failure["type"] == "failure"
            assert failure["title"] == "syncfw salesforce-accounts: run failed"
            body = failure["message"]
            assert "Recipe: salesforce-accounts" in body and "Owner: revops-lead@example.com" in body
            assert "invalid or has been revoked" in body and "First thing to try:" in body
            assert f"syncfw rollback {report.run_id}" not in body  # it names the first failed run
            assert token[:-4] not in body
            assert hook.at("/stale") == []  # that URL takes source_stale only

            recovered = run(good, registry, Alerts(good))
            assert recovered.exit_code == 0, recovered.error
            assert [p["type"] for p in hook.at("/all")] == ["failure", "success"]
            recovery = hook.at("/all")[1]
            assert recovery["title"] == "syncfw salesforce-accounts: recovered"
            assert recovered.run_id in recovery["message"]
            assert run(good, registry, Alerts(good)).exit_code == 0
            assert len(hook.posts) == 2  # nothing changed: nothing sent

            # two hours later by the clock, the source is older than its stale_after of 1h (a minute
            # more, because this run's own read is stamped a few seconds after this line)
            later = utcnow() + timedelta(hours=2, minutes=1)
            assert run(good, registry, Alerts(good, clock=lambda: later)).exit_code == 0
            (stale,) = hook.at("/stale")
            assert stale["type"] == "warning" and "source salesforce was last read 2h" in stale["message"]
            assert hook.at("/all")[-1] == stale
            assert run(good, registry, Alerts(good)).exit_code == 0
            assert [p["type"] for p in hook.at("/stale")] == ["warning", "success"]
            assert "fresh again" in hook.at("/stale")[1]["message"]
            assert len(hook.posts) == 6
    finally:
        box.stop()


def test_an_alert_that_cannot_be_delivered_is_a_warning_and_is_sent_on_the_next_run(
    tmp_path: Path, registry: Registry, seed_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    box = start_sandbox(tmp_path, registry, seed_dir, monkeypatch)
    try:
        with webhook_receiver() as hook:
            port = hook.port
        monkeypatch.setenv("ALERT_ALL", f"json://127.0.0.1:{port}/all")  # nobody listens there now
        monkeypatch.setenv("ALERT_STALE", f"json://127.0.0.1:{port}/stale")
        path = recipe_copy(tmp_path, extra=ALERTS)
        monkeypatch.setenv("NOTION_TOKEN", "ntn_revoked_0000")
        bad = load_recipe(path, registry=registry)
        report = run(bad, registry, Alerts(bad))
        assert report.exit_code == 1
        (warning,) = report.warnings
        assert "could not be delivered" in warning and "ntn_revoked_0000" not in warning
        assert str(port) not in warning  # URLs can hold tokens: never shown
        with webhook_receiver() as hook:
            monkeypatch.setenv("ALERT_ALL", hook.url("all"))
            bad = load_recipe(path, registry=registry)
            assert run(bad, registry, Alerts(bad)).exit_code == 1
            assert [p["type"] for p in hook.at("/all")] == ["failure"]
    finally:
        box.stop()
