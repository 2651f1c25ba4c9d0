"""The command line as an operator's scheduler meets it: JSON logs, --quiet, run history, status."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from syncfw.sandbox.runner import Sandbox
from tests.conftest import RECIPE

SYNCFW = [sys.executable, "-m", "syncfw.cli"]


def syncfw(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env_file = str(cwd / "sandbox.env")
    return subprocess.run(
        [*SYNCFW, *args, "--env-file", env_file], capture_output=True, text=True, cwd=cwd, timeout=120
    )


def test_cron_gets_json_lines_quiet_prints_nothing_and_runs_are_recorded(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for marker in ("CI", "INVOCATION_ID", "GITHUB_ACTIONS", "KUBERNETES_SERVICE_HOST"):
        monkeypatch.delenv(marker, raising=False)  # as under cron, not under this suite's CI
    init = syncfw("notion", "init", str(RECIPE), cwd=tmp_path)
    assert init.returncode == 0, init.stderr
    assert "created  Sync Health" in init.stdout and "created  Sync Runs" in init.stdout

    # not on a terminal: one JSON object per line on stderr, nothing on stdout
    ran = syncfw("run", str(RECIPE), "--notion-rate-limit", "500", cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout == ""
    lines = [json.loads(line) for line in ran.stderr.splitlines()]
    events = [line["event"] for line in lines]
    assert events[0] == "run_started" and events[-1] == "run_finished"
    assert {"phase", "writing", "target_finished"} <= set(events)
    run_id = lines[0]["run_id"]
    assert all(line["run_id"] == run_id and line["recipe"] == "salesforce-accounts" for line in lines)
    finished = lines[-1]
    assert (finished["status"], finished["exit_code"], finished["level"]) == ("success", 0, "info")
    # every page created, and the dashboard's two writes: its Sync Health row and its Sync Runs row
    assert finished["created"] > 0 and finished["notion_requests"]["writes"] == finished["created"] + 2

    quiet = syncfw("run", str(RECIPE), "--notion-rate-limit", "500", "--quiet", cwd=tmp_path)
    assert (quiet.returncode, quiet.stdout, quiet.stderr) == (0, "", "")

    history = syncfw("runs", str(RECIPE), "--json", cwd=tmp_path)
    assert history.returncode == 0, history.stderr
    runs = json.loads(history.stdout)["runs"]
    assert [r["command"] for r in runs] == ["run", "run"] and runs[1]["run_id"] == run_id
    first = runs[1]
    assert first["started_by"] and "@" in first["started_by"]
    assert first["trigger"] == "cron or a script (no terminal)"
    assert first["command_line"].startswith(f"syncfw run {RECIPE}")
    assert (
        first["connectors"]["salesforce"].startswith("salesforce ")
        and "syncfw-salesforce" in first["connectors"]["salesforce"]
    )
    assert (first["exit_code"], first["counts"]["created"]) == (0, finished["created"])
    assert first["notion_requests"]["writes"] == finished["created"] + 2 and first["duration_seconds"] >= 0
    table = syncfw("runs", str(RECIPE), cwd=tmp_path)
    assert run_id in table.stdout

    published = syncfw("status", str(RECIPE), "--publish", cwd=tmp_path)
    assert published.returncode == 0, published.stdout + published.stderr
    assert "warning" not in published.stderr
