"""The command line as a user meets it: real processes, exit codes, messages, the sandbox."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from tests.conftest import RECIPE

SYNCFW = [sys.executable, "-m", "syncfw.cli"]

BAD_RECIPE = """\
recipe: broken
owner: not-an-email
description: Syncs nothing. Triggered by nobody. Breaks nothing.
tier: production
notion:
  token: ntn_literal_secret_123456
  rate_limit: fast
sources:
  salesforce:
    connector: salesforce
    config: {instance_url: "${env:SALESFORCE_INSTANCE_URL}", session_id: "${env:SALESFORCE_SESSION_ID}"}
targets:
  accounts:
    database: {title: Accounts, parent_page: abc}
    sync_key: Salesforce ID
    on_delete: shred
    mappings: [MAPPINGS/account.yaml]
"""


def syncfw(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*SYNCFW, *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=120)


def sandbox_env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "SALESFORCE_INSTANCE_URL": "https://127.0.0.1:1", "SALESFORCE_SESSION_ID": "x"}


def test_validate_accepts_the_shipped_recipe(tmp_path: Path) -> None:
    env = {
        **sandbox_env(tmp_path),
        "NOTION_TOKEN": "t",
        "NOTION_PARENT_PAGE_ID": "5ef05a19c01f41cabbb33e067018240a",
    }
    result = syncfw("validate", str(RECIPE), env=env)
    assert result.returncode == 0, result.stderr
    assert "salesforce-accounts" in result.stdout


def test_a_recipe_with_mistakes_lists_every_error_with_its_position_and_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(BAD_RECIPE.replace("MAPPINGS", str(RECIPE.parent.parent / "mappings" / "salesforce")))
    for command in (["validate", str(bad)], ["run", str(bad)], ["plan", str(bad)]):
        result = syncfw(*command, env=sandbox_env(tmp_path), cwd=tmp_path)
        assert result.returncode == 2, (command, result.stderr)
        lines = [line for line in result.stderr.splitlines() if line.startswith(str(bad))]
        where = {line.split(" ")[0].removeprefix(f"{bad}:") for line in lines}
        assert {"2:8", "6:10", "7:15", "16:16"} <= where, result.stderr
        assert "Traceback" not in result.stderr
        assert "ntn_literal_secret_123456" not in result.stderr + result.stdout
        assert not (tmp_path / ".syncfw").exists()  # nothing read or written


def read_env(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)


def serve(tmp_path: Path) -> subprocess.Popen[str]:
    env_file = tmp_path / "sandbox.env"
    env_file.unlink(missing_ok=True)
    proc = subprocess.Popen(
        [*SYNCFW, "sandbox", "serve", "--state-dir", str(tmp_path / "state"), "--env-file", str(env_file)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
    )
    deadline = time.monotonic() + 60
    while not env_file.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.1)
    return proc


def stop(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=30)


def dump(tmp_path: Path) -> dict[str, Any]:
    result = syncfw("sandbox", "dump", "--env-file", str(tmp_path / "sandbox.env"))
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout))


def test_sandbox_serve_run_dump_restart_keeps_notion_content_and_edit_makes_drift(tmp_path: Path) -> None:
    """One served sandbox (started twice: the restart is under test) for the whole story: serve,
    run, dump, restart, the content is kept; then `sandbox edit` makes a human edit that the next
    run reports as drift."""
    env_file = str(tmp_path / "sandbox.env")
    proc = serve(tmp_path)
    try:
        env = read_env(tmp_path / "sandbox.env")
        assert {"NOTION_TOKEN", "NOTION_BASE_URL", "NOTION_PARENT_PAGE_ID", "SALESFORCE_INSTANCE_URL"} <= set(
            env
        )
        assert env["SALESFORCE_INSTANCE_URL"].startswith("https://127.0.0.1:")
        assert syncfw("notion", "init", str(RECIPE), "--env-file", env_file, cwd=tmp_path).returncode == 0
        planned = syncfw(
            "plan", str(RECIPE), "--env-file", env_file, "--json", "--notion-rate-limit", "200", cwd=tmp_path
        )
        assert planned.returncode == 0, planned.stderr
        plan = json.loads(planned.stdout)
        assert plan["notion_requests"]["writes"] == 0
        assert plan["targets"]["accounts"]["created"] > 0
        ran = syncfw(
            "run", str(RECIPE), "--env-file", env_file, "--json", "--notion-rate-limit", "200", cwd=tmp_path
        )
        assert ran.returncode == 0, ran.stderr
        report = json.loads(ran.stdout)
        assert set(report) == set(plan)  # plan --json and run --json share one shape
        assert report["targets"]["accounts"]["created"] == plan["targets"]["accounts"]["created"]
        key = report["targets"]["accounts"]["operations"][0]["sync_key"]
        before = dump(tmp_path)
    finally:
        stop(proc)
    by_title = {
        "".join(t["plain_text"] for t in d["data_source"]["title"]): d for d in before["data_sources"]
    }
    assert set(by_title) == {"Accounts", "Contacts", "Sync Health", "Sync Runs"}
    page = by_title["Accounts"]["pages"][0]
    assert page["object"] == "page" and "Salesforce ID" in page["properties"]

    proc = serve(tmp_path)
    try:
        after = dump(tmp_path)
        rerun = syncfw(
            "run", str(RECIPE), "--env-file", env_file, "--json", "--notion-rate-limit", "200", cwd=tmp_path
        )
        assert rerun.returncode == 0, rerun.stderr
        assert json.loads(rerun.stdout)["notion_requests"]["writes"] == 0

        edit = syncfw(
            "sandbox", "edit", key, "Industry", "Shipping", "--as", "Ada Lovelace", "--env-file", env_file
        )
        assert edit.returncode == 0, edit.stderr
        bad = syncfw("sandbox", "edit", key, "Annual Revenue", "lots", "--env-file", env_file)
        assert (
            bad.returncode == 2 and "'lots' is not a number" in bad.stderr and "Traceback" not in bad.stderr
        )
        second = syncfw(
            "run", str(RECIPE), "--env-file", env_file, "--json", "--notion-rate-limit", "200", cwd=tmp_path
        )
        findings = json.loads(second.stdout)["targets"]["accounts"]["drift_findings"]
        assert [(f["sync_key"], f["property"], f["live"], f["editor"], f["action"]) for f in findings] == [
            (key, "Industry", "Shipping", "Ada Lovelace", "reverted")
        ]
    finally:
        stop(proc)
    count = sum(len(d["pages"]) for d in before["data_sources"])
    assert sum(len(d["pages"]) for d in after["data_sources"]) == count > 0


def test_sandbox_serve_refuses_a_malformed_or_invalid_source_option(tmp_path: Path) -> None:
    state = str(tmp_path / "state")
    malformed = syncfw("sandbox", "serve", "--state-dir", state, "--source-option", "recycle_bin_days")
    assert malformed.returncode == 2 and "write NAME=VALUE" in malformed.stderr
    invalid = syncfw("sandbox", "serve", "--state-dir", state, "--source-option", "zendesk_rate_limit=none")
    assert invalid.returncode == 2, invalid.stderr
    assert "zendesk_rate_limit='none'" in invalid.stderr and "Traceback" not in invalid.stderr
