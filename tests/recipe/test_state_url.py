"""Where a recipe's state lives (issue 14): ``state: {url: …}`` in the recipe and
``SYNCFW_STATE_URL``; a malformed URL is a located recipe error or a one-line error, never
showing the password."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from syncfw.recipe import load_recipe
from syncfw.recipe.state import PostgresState, SqliteState

from .support import ACCOUNT_MAPPING, CONTACT_MAPPING, ENV, problems_of, recipe_text, write_files

REPO = Path(__file__).resolve().parents[2]
PASSWORD = "pg-secret-password"
HEAD = """
recipe: test
owner: ada@example.com
description: Mirrors test accounts. Runs by hand in tests. If it fails, a test fails.
tier: production
notion: {token: "${env:NOTION_TOKEN}"}
"""


def _write(tmp_path: Path, state: str) -> Path:
    write_files(
        tmp_path,
        {
            "recipe.yaml": recipe_text(head=HEAD + state),
            "account.yaml": ACCOUNT_MAPPING,
            "contact.yaml": CONTACT_MAPPING,
        },
    )
    return tmp_path / "recipe.yaml"


def test_the_recipe_url_wins_and_the_variable_replaces_only_the_default(tmp_path: Path) -> None:
    url = f"postgresql://syncfw:{PASSWORD}@db.internal:5432/state"
    env = {**ENV, "STATE_URL": url, "SYNCFW_STATE_URL": "sqlite:///elsewhere"}
    in_recipe = load_recipe(_write(tmp_path, 'state: {url: "${env:STATE_URL}"}\n'), environ=env)
    assert in_recipe.state_location(env) == PostgresState(
        url, "postgresql://syncfw:***@db.internal:5432/state"
    )
    assert PASSWORD not in repr(in_recipe.state_location(env))
    default = load_recipe(_write(tmp_path, ""), environ=env)
    assert default.state_location(env) == SqliteState(Path("elsewhere/test.sqlite"))
    assert default.state_location(ENV) == SqliteState(Path(".syncfw/test.sqlite"))
    with_path = load_recipe(_write(tmp_path, "state: {path: s/test.sqlite}\n"), environ=env)
    assert with_path.state_location({**env, "SYNCFW_STATE_URL": url}) == SqliteState(
        tmp_path / "s/test.sqlite"
    )


def test_a_malformed_recipe_url_is_a_located_error_without_its_password(tmp_path: Path) -> None:
    env = {**ENV, "STATE_URL": f"postgresql://syncfw:{PASSWORD}@db.internal:54x2/state"}
    path = _write(tmp_path, 'state: {url: "${env:STATE_URL}"}\n')
    problems = problems_of(lambda: load_recipe(path, environ=env))
    assert [(p.path, p.line) for p in problems] == [("state.url", 6)], problems
    assert "port is not a number" in problems[0].message
    assert PASSWORD not in str(problems[0])
    both = _write(tmp_path, 'state: {path: s.sqlite, url: "${env:STATE_URL}"}\n')
    env["STATE_URL"] = "postgresql://db.internal/state"
    problems = problems_of(lambda: load_recipe(both, environ=env))
    assert [(p.path, p.line) for p in problems] == [("state", 6)] and "either path" in problems[0].message


def test_a_malformed_variable_is_one_line_and_exit_2_without_its_password(tmp_path: Path) -> None:
    path = _write(tmp_path, "")
    env = {
        "PATH": "/usr/bin:/bin",
        **ENV,
        "SYNCFW_STATE_URL": f"mysql://syncfw:{PASSWORD}@db.internal/state",
    }
    done = subprocess.run(
        [sys.executable, "-m", "syncfw.cli", "plan", str(path)],
        cwd=tmp_path,
        env={**env, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stderr
    assert "SYNCFW_STATE_URL" in done.stderr and "mysql://syncfw:***@db.internal/state" in done.stderr
    assert PASSWORD not in done.stdout + done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr
