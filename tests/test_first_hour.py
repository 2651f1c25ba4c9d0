"""Issue 17, the first hour of a new user: the sandbox's env file, a stopped sandbox, validation
without secrets and against the source, people-owned properties in the sandbox, env files, JSON
logs, cron, the demo's directory. Everything goes through the command line (a subprocess) against
a served sandbox, as a newcomer runs it."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import RECIPE, REPO
from tests.test_cli import stop

SYNCFW = [sys.executable, "-m", "syncfw.cli"]
SANDBOX_VARIABLES = ("NOTION_", "SALESFORCE_", "HUBSPOT_", "ZENDESK_", "ZENPY_", "SYNCFW_ENV_FILE")
FILES_MAPPING = """\
mapping: rows
connector: files
stream: {stream}
sync_key: Key
properties:
  Key: {{type: rich_text, field: key}}
  Name: {{type: title, field: {name}}}
"""
FILES_RECIPE = """\
recipe: rows
owner: ops-lead@example.com
description: >
  Copies a small file into Notion. Runs by hand for this test. If it fails, nothing breaks.
tier: production
notion: {{token: "${{env:NOTION_TOKEN}}", rate_limit: 1000/s}}
sources:
  file: {{connector: files, config: {config}}}
targets:
  rows:
    database: {{title: Rows, parent_page: "${{env:NOTION_PARENT_PAGE_ID}}"}}
    sync_key: Key
    mappings: [rows.yaml]
"""


def clean_env(**extra: str) -> dict[str, str]:
    """The test's environment without any sandbox variable (a fresh shell), plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(SANDBOX_VARIABLES)}
    return {**env, **extra}


def syncfw(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*SYNCFW, *args],
        capture_output=True,
        text=True,
        env=clean_env() if env is None else env,
        cwd=cwd,
        timeout=timeout,
    )


def serve(workdir: Path, *options: str) -> subprocess.Popen[str]:
    """``syncfw sandbox serve`` in ``workdir`` with its default (relative) state dir and env file."""
    workdir.mkdir(parents=True, exist_ok=True)
    env_file = workdir / ".syncfw" / "sandbox.env"
    proc = subprocess.Popen(
        [*SYNCFW, "sandbox", "serve", *options],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=workdir,
        env=clean_env(),
    )
    deadline = time.monotonic() + 60
    while not env_file.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.1)
    return proc


def read_env(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)


def copy_recipes(to: Path) -> Path:
    """A copy of the shipped recipes and mappings (tests edit the mappings); the recipe path."""
    shutil.copytree(REPO / "recipes", to / "recipes")
    shutil.copytree(REPO / "mappings", to / "mappings")
    return to / "recipes" / RECIPE.name


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One sandbox for the tests that need a running one; yields its env file."""
    workdir = tmp_path_factory.mktemp("served")
    proc = serve(workdir, "--notion-rate-limit", "1000")
    yield workdir / ".syncfw" / "sandbox.env"
    stop(proc)


def test_the_sandbox_env_file_works_from_another_directory_and_names_a_missing_ca_file(
    tmp_path: Path,
) -> None:
    """Finding 5 (and 11: Notion over HTTPS with the sources' CA). About 5 s."""
    proc = serve(tmp_path / "work")
    try:
        env_file = tmp_path / "work" / ".syncfw" / "sandbox.env"
        values = read_env(env_file)
        assert Path(values["SSL_CERT_FILE"]).is_absolute(), values["SSL_CERT_FILE"]
        assert values["NOTION_BASE_URL"].startswith("https://127.0.0.1:")
        elsewhere = tmp_path / "elsewhere"
        elsewhere.mkdir()
        result = syncfw("sandbox", "dump", "--env-file", str(env_file), cwd=elsewhere)
        assert result.returncode == 0, result.stderr
        assert "data_sources" in json.loads(result.stdout)
    finally:
        stop(proc)
    broken = tmp_path / "broken.env"
    missing = tmp_path / "gone" / "ca.pem"
    broken.write_text(env_file.read_text().replace(values["SSL_CERT_FILE"], str(missing)))
    result = syncfw("sandbox", "dump", "--env-file", str(broken), cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert str(missing) in result.stderr
    assert "Traceback" not in result.stderr


def test_a_stopped_sandbox_fails_at_once_asking_whether_it_runs(tmp_path: Path) -> None:
    """Finding 6: connection refused on 127.0.0.1 is not retried for a minute. About 8 s (the
    sandbox start included); each command must end within 30 s, not after 65 s of retries."""
    proc = serve(tmp_path)
    stop(proc)
    env_file = tmp_path / ".syncfw" / "sandbox.env"
    recipe = copy_recipes(tmp_path)
    for command in (
        ["plan", str(recipe), "--env-file", str(env_file), "--log-format", "text"],
        ["sandbox", "dump", "--env-file", str(env_file)],
        ["notion", "init", str(recipe), "--env-file", str(env_file)],
    ):
        started = time.monotonic()
        result = syncfw(*command, cwd=tmp_path, timeout=30)
        assert result.returncode != 0, command
        assert "syncfw sandbox serve" in " ".join(result.stderr.split()), (command, result.stderr)
        assert "Traceback" not in result.stderr
        assert time.monotonic() - started < 30


def closed_port() -> int:
    """A port of 127.0.0.1 on which nothing listens (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize(
    ("source", "variable", "value"),
    [
        ("Salesforce", "SALESFORCE_INSTANCE_URL", "https://127.0.0.1:{port}"),
        ("HubSpot", "HUBSPOT_HOST", "https://127.0.0.1:{port}"),
        ("Zendesk", "ZENPY_FORCE_NETLOC", "127.0.0.1:{port}"),
    ],
)
def test_each_source_on_a_closed_local_port_fails_at_once(
    tmp_path: Path, served: Path, source: str, variable: str, value: str
) -> None:
    """Finding 6 for every built-in source: one source's emulator is unreachable (its variable,
    set in the environment, wins over the env file), the plan stops at once naming it. About 4 s."""
    recipe = copy_recipes(tmp_path).with_name("customer-360.yaml")
    env = clean_env(**{variable: value.format(port=closed_port())})
    started = time.monotonic()
    result = syncfw(
        "plan", str(recipe), "--env-file", str(served), "--log-format", "text", env=env, timeout=30
    )
    errors = " ".join(result.stderr.split())
    assert result.returncode == 1, result.stderr
    assert f"error: {source}" in errors and "is `syncfw sandbox serve` running" in errors, errors
    assert time.monotonic() - started < 30


def test_validate_needs_no_secrets_unless_check_env(tmp_path: Path) -> None:
    """Finding 7: `validate` lints recipes in CI without credentials. About 3 s."""
    result = syncfw("validate", str(REPO / "recipes"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "customer-360" in result.stdout and "salesforce-accounts" in result.stdout
    strict = syncfw("validate", "--check-env", str(RECIPE), cwd=tmp_path)
    assert strict.returncode == 2
    assert "NOTION_TOKEN is not set" in strict.stderr
    # a real mistake is still found without the environment
    broken = copy_recipes(tmp_path)
    broken.write_text(broken.read_text().replace("tier: production", "tier: produktion"))
    result = syncfw("validate", str(broken), cwd=tmp_path)
    assert result.returncode == 2
    assert f"{broken}:" in result.stderr and "tier" in result.stderr


def test_a_wrong_field_or_sobject_is_reported_at_its_mapping_line_by_validate_online_and_plan(
    tmp_path: Path, served: Path
) -> None:
    """Finding 7: names checked against Salesforce describe, reported at file:line:col with exit
    2 by `validate --online` and by `plan` (which read nothing). About 6 s."""
    recipe = copy_recipes(tmp_path)
    account = tmp_path / "mappings" / "salesforce" / "account.yaml"
    account.write_text(account.read_text().replace("field: Industry}", "field: Industri}"))
    contact = tmp_path / "mappings" / "salesforce" / "contact.yaml"
    contact.write_text(contact.read_text().replace("stream: Contact", "stream: Contakt"))
    line = next(n for n, text in enumerate(account.read_text().splitlines(), 1) if "Industri" in text)
    stream_line = next(n for n, text in enumerate(contact.read_text().splitlines(), 1) if "Contakt" in text)
    for command in (["validate", "--online"], ["plan", "--log-format", "text"]):
        result = syncfw(*command, str(recipe), "--env-file", str(served), cwd=tmp_path)
        errors = " ".join(result.stderr.split())
        assert result.returncode == 2, (command, result.stderr)
        assert f"account.yaml:{line}:" in errors and "did you mean 'Industry'?" in errors, errors
        assert f"contact.yaml:{stream_line}:" in errors and "'Contact'" in errors, errors
    assert "Notion requests: 0 reads, 0 writes" in " ".join(result.stdout.split())


def test_hubspot_and_zendesk_names_are_checked_online(tmp_path: Path, served: Path) -> None:
    """Finding 7 for HubSpot (the properties API) and Zendesk (documented fields, List
    Organization Fields): a wrong name at its mapping line, exit 2. About 3 s."""
    recipe = copy_recipes(tmp_path).with_name("customer-360.yaml")
    wrong = {
        tmp_path / "mappings" / "hubspot" / "company.yaml": (
            "properties.lifecyclestage",
            "properties.lifecyclestge",
        ),
        tmp_path / "mappings" / "zendesk" / "organization.yaml": ("sla_level", "sla_levl"),
        tmp_path / "mappings" / "zendesk" / "ticket.yaml": ("field: priority", "field: priorty"),
    }
    lines = []
    for mapping, (good, bad) in wrong.items():
        mapping.write_text(mapping.read_text().replace(good, bad))
        line = next(n for n, text in enumerate(mapping.read_text().splitlines(), 1) if bad in text)
        lines.append(f"{mapping.name}:{line}:")
    result = syncfw("validate", "--online", str(recipe), "--env-file", str(served), cwd=tmp_path)
    errors = " ".join(result.stderr.split())
    assert result.returncode == 2, result.stderr
    for place, hint in zip(lines, ("'lifecyclestage'", "'sla_level'", "'priority'"), strict=True):
        assert place in errors and f"did you mean {hint}?" in errors, (place, errors)


def test_files_stream_and_column_names_are_checked_online(tmp_path: Path) -> None:
    """Finding 7 for the files connector: the file's header is its describe. About 3 s."""
    (tmp_path / "rows.csv").write_text("key,name\nk1,One\n")
    (tmp_path / "rows.yaml").write_text(FILES_MAPPING.format(stream="rows", name="nmae"))
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(
        FILES_RECIPE.format(config=json.dumps({"path": str(tmp_path / "rows.csv"), "key": "key"}))
    )
    env = clean_env(NOTION_TOKEN="ntn_test_token", NOTION_PARENT_PAGE_ID="5ef05a19c01f41cabbb33e067018240a")
    assert syncfw("validate", str(recipe), env=env).returncode == 0
    result = syncfw("validate", "--online", str(recipe), env=env)
    assert result.returncode == 2
    assert "rows.yaml:7:" in result.stderr and "did you mean 'name'?" in result.stderr, result.stderr


def test_sandbox_edit_adds_a_people_owned_property(tmp_path: Path, served: Path) -> None:
    """Finding 8: `sandbox edit … Notes …` works on a recipe's people-owned property. About 6 s
    (commands run in the sandbox's directory, as a newcomer would)."""
    recipe = copy_recipes(tmp_path)
    here = served.parent.parent
    assert syncfw("notion", "init", str(recipe), "--env-file", str(served), cwd=here).returncode == 0
    run = syncfw("run", str(recipe), "--env-file", str(served), "--notion-rate-limit", "500", cwd=here)
    assert run.returncode == 0, run.stderr
    note = "Renewal call on Friday"
    edit = syncfw("sandbox", "edit", "Edge Communications", "Notes", note, cwd=here)
    assert edit.returncode == 0, edit.stderr
    typo = syncfw("sandbox", "edit", "Edge Communications", "Industri", "Retail", cwd=here)
    assert typo.returncode == 2 and "did you mean 'Industry'?" in typo.stderr
    dump = json.loads(syncfw("sandbox", "dump", cwd=here).stdout)
    notes = [
        "".join(t["plain_text"] for t in page["properties"]["Notes"]["rich_text"])
        for source in dump["data_sources"]
        for page in source["pages"]
        if "Notes" in page["properties"]
    ]
    assert note in notes


def test_env_files_are_found_without_flags_and_never_override_the_environment(
    tmp_path: Path, served: Path
) -> None:
    """Finding 11: SYNCFW_ENV_FILE and a .env next to the recipe, variables already set win.
    About 4 s."""
    values = read_env(served)
    recipe = copy_recipes(tmp_path)
    check = ["validate", "--check-env", str(recipe)]
    assert syncfw(*check, env=clean_env(SYNCFW_ENV_FILE=str(served))).returncode == 0
    # a variable already set wins over the env file (the file's value would be refused)
    bad = tmp_path / "bad.env"
    bad.write_text(served.read_text().replace(values["NOTION_PARENT_PAGE_ID"], "not-an-id"))
    kept = clean_env(NOTION_PARENT_PAGE_ID=values["NOTION_PARENT_PAGE_ID"])
    result = syncfw(*check, "--env-file", str(bad), env=kept)
    assert result.returncode == 0, result.stderr
    assert syncfw(*check, "--env-file", str(bad)).returncode == 2
    # a .env next to the recipe is read, after the environment
    shutil.copy(served, recipe.parent / ".env")
    assert syncfw(*check).returncode == 0


def test_log_format_json_carries_connector_warnings_as_json_lines(tmp_path: Path, served: Path) -> None:
    """Finding 11: a connector's logging.warning comes out as a JSON line, not plain text.
    A files source read in mirror mode, then in incremental mode, warns. About 6 s."""
    data = tmp_path / "rows.csv"
    data.write_text("key,name,modified\nk1,One,2026-01-01T00:00:00Z\n")
    (tmp_path / "rows.yaml").write_text(FILES_MAPPING.format(stream="rows", name="name"))
    recipe = tmp_path / "recipe.yaml"
    for config in (
        {"path": str(data), "key": "key", "mode": "mirror"},
        {"path": str(data), "key": "key", "updated_at": "modified"},
    ):
        recipe.write_text(FILES_RECIPE.format(config=json.dumps(config)))
        here = served.parent.parent
        if config.get("mode") == "mirror":
            assert syncfw("notion", "init", str(recipe), "--env-file", str(served), cwd=here).returncode == 0
        result = syncfw("run", str(recipe), "--env-file", str(served), "--log-format", "json", cwd=here)
        assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    assert lines and all(line.startswith("{") for line in lines), result.stderr
    logged = [json.loads(line) for line in lines]
    warnings = [e for e in logged if e["event"] == "log"]
    assert warnings and "mirror mode" in warnings[0]["message"], logged
    assert warnings[0]["level"] == "warning" and warnings[0]["logger"].startswith("syncfw_files")


@pytest.mark.parametrize("schedule", ["99 99 99 99 99", "*/0 * * * *"])
def test_the_cron_check_refuses_impossible_schedules(tmp_path: Path, schedule: str) -> None:
    """Finding 11: cronsim's check of `schedule:`. About 2 s each."""
    recipe = copy_recipes(tmp_path)
    recipe.write_text(recipe.read_text().replace('schedule: "*/15 * * * *"', f'schedule: "{schedule}"'))
    result = syncfw("validate", str(recipe))
    assert result.returncode == 2
    assert f"{recipe}:" in result.stderr and "schedule" in result.stderr


def test_a_demo_that_stops_early_leaves_no_directory_behind(tmp_path: Path) -> None:
    """Finding 11: the demo removes its /tmp/syncfw-demo-* directory. With only the files
    connector installed the demo recipe is refused right after the directory is made. About 5 s
    (a whole demo, measured at --rate-limit 1000, takes 30 s and removes it too)."""
    env = clean_env(TMPDIR=str(tmp_path), SYNCFW_LOAD_PLUGINS="syncfw-files")
    result = syncfw("demo", env=env)
    assert result.returncode == 2, result.stderr
    assert not list(tmp_path.glob("syncfw-demo-*"))
