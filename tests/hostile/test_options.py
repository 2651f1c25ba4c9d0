"""Hostile options, settings and plan files (issue 12, cases 8–10): numbers that are negative, 0,
NaN, infinite or absurd, Notion ids that are not ids, and reviewed plan files that are not plans.
Each is refused with exit 2 and one clear line before anything is read or written.

The recipe-shaped cases (rates, durations and ids in a recipe) are in
``tests/corpus/recipes/options-*``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from syncfw.plugins import Registry
from syncfw.recipe import Recipe, load_recipe
from syncfw.sandbox.runner import Sandbox
from tests.conftest import RECIPE
from tests.engine.test_sync_end_to_end import bump, init, seed, sync, write_seed
from tests.hostile.support import assert_refused, syncfw

# numbers click's float and FloatRange let through, and absurd ones
BAD_RATES = ("-1", "0", "nan", "inf", "1e-9", "1e12")


@pytest.mark.parametrize("rate", BAD_RATES)
@pytest.mark.parametrize("command", ["plan", "run"])
def test_a_bad_notion_rate_limit_is_refused_before_anything_is_read(
    command: str, rate: str, tmp_path: Path
) -> None:
    outcome = syncfw(command, RECIPE, f"--notion-rate-limit={rate}", cwd=tmp_path)
    assert_refused(outcome, 2, says="Invalid value for '--notion-rate-limit'")
    assert "requests per second" in outcome.stderr
    assert not (tmp_path / ".syncfw").exists()  # nothing read or written


@pytest.mark.parametrize(
    "args",
    [
        ("sandbox", "serve", "--notion-rate-limit", "nan"),
        ("sandbox", "serve", "--notion-rate-limit", "0"),
        ("sandbox", "serve", "--notion-latency", "nan"),
        ("sandbox", "serve", "--notion-latency", "-1"),
        ("sandbox", "serve", "--notion-latency", "1e9"),
        ("sandbox", "serve", "--notion-query-cap", "20000"),
        ("sandbox", "serve", "--bulk", "-5"),
        ("demo", "--rate-limit", "-1"),
        ("runs", "--limit", "100000000000000000000"),
    ],
    ids=lambda args: " ".join(args),
)
def test_every_numeric_option_refuses_absurd_values(args: tuple[str, ...], tmp_path: Path) -> None:
    option = next(arg for arg in args if arg.startswith("--"))
    outcome = syncfw(*args, cwd=tmp_path)
    assert_refused(outcome, 2, says=f"Invalid value for '{option}'")
    assert not list(tmp_path.iterdir())  # no sandbox, demo or state was started


def _write_deep(path: Path, depth: int) -> None:
    path.write_text(
        '{"recipe": "salesforce-accounts", "command": "plan", "targets": ' + "[" * depth + "]" * depth + "}"
    )


def _tampered(plan: dict[str, object], **changes: object) -> str:
    return json.dumps({**plan, **changes})


def test_a_reviewed_plan_file_that_is_not_a_plan_is_refused_and_changes_nothing(
    sandbox: Sandbox, registry: Registry, seed_dir: Path, tmp_path: Path
) -> None:
    recipe = load_recipe(RECIPE, registry=registry)
    init(recipe)
    assert sync(recipe, registry).exit_code == 0
    accounts = seed(seed_dir, "Account")
    accounts[0]["Industry"] = "Biotechnology"
    bump(accounts[0])
    write_seed(seed_dir, "Account", accounts)
    env_file = tmp_path / "sandbox.env"
    plan_file = tmp_path / "plan.json"
    made = syncfw("plan", RECIPE, "--env-file", env_file, "--out", plan_file, cwd=tmp_path)
    assert made.exit_code == 0, made.output[-2000:]
    plan = json.loads(plan_file.read_text())
    operation = plan["targets"]["accounts"]["operations"][0]

    bad = tmp_path / "bad"
    bad.mkdir()
    _write_deep(bad / "deep.json", 200_000)  # a RecursionError traceback before
    (bad / "truncated.json").write_text(plan_file.read_text()[:100])
    (bad / "binary.json").write_bytes(b"\xff\xfe\x00garbage")
    (bad / "list.json").write_text("[]")
    (bad / "before-not-a-mapping.json").write_text(
        _tampered(plan, targets={"accounts": {"operations": [{**operation, "before": "x"}]}})
    )
    (bad / "operations-not-a-list.json").write_text(
        _tampered(plan, targets={"accounts": {"operations": {"a": 1}}})
    )
    (bad / "unknown-action.json").write_text(
        _tampered(plan, targets={"accounts": {"operations": [{**operation, "action": "delete"}]}})
    )
    (bad / "other-recipe.json").write_text(_tampered(plan, recipe="customer-360"))
    (bad / "a-run-report.json").write_text(_tampered(plan, command="run"))
    os.mkfifo(bad / "fifo.json")  # reading it would wait for a writer for ever

    assert sandbox.notion is not None
    before = sandbox.notion.dump()
    sandbox.notion.reset_stats()
    for path in sorted(bad.iterdir()):
        outcome = syncfw("run", RECIPE, "--env-file", env_file, "--plan", path, cwd=tmp_path, timeout=60)
        assert_refused(outcome, 2, says="make a new plan with `syncfw plan", where=str(path))
        assert len(outcome.stderr.strip().splitlines()) == 1, outcome.stderr
    assert sandbox.notion.stats()["requests"] == 0
    assert sandbox.notion.dump() == before

    applied = syncfw("run", RECIPE, "--env-file", env_file, "--plan", plan_file, cwd=tmp_path)
    assert applied.exit_code == 0, applied.output[-2000:]
    assert sync(recipe, registry).notion_requests["writes"] == 0  # converged


def _recipe_with_data_source(tmp_path: Path, data_source: str) -> Path:
    text = RECIPE.read_text().replace(
        'database: {title: Accounts, parent_page: "${env:NOTION_PARENT_PAGE_ID}"}',
        f'data_source: "{data_source}"',
    )
    text = text.replace("../mappings/", f"{RECIPE.parent.parent / 'mappings'}/")
    path = tmp_path / "recipe.yaml"
    path.write_text(text)
    return path


ID_ENV = {
    "NOTION_TOKEN": "ntn_options_token_0123456789",
    "NOTION_PARENT_PAGE_ID": "5ef05a19c01f41cabbb33e067018240a",
    "SALESFORCE_INSTANCE_URL": "https://127.0.0.1:9",
    "SALESFORCE_SESSION_ID": "00Doptions0dummy0session",
}


@pytest.mark.parametrize(
    "data_source",
    ["1f2e3d4c-5b6a-4798-8776-655443322110", "1F2E3D4C5B6A47988776655443322110", "${env:DS_ID}"],
)
def test_a_notion_id_with_or_without_dashes_is_accepted(
    data_source: str, registry: Registry, tmp_path: Path
) -> None:
    path = _recipe_with_data_source(tmp_path, data_source)
    environ = {**ID_ENV, "DS_ID": "0123456789abcdef0123456789abcdef"}
    loaded: Recipe = load_recipe(path, registry=registry, environ=environ)
    assert loaded.targets["accounts"].data_source == data_source.replace("${env:DS_ID}", environ["DS_ID"])


@pytest.mark.parametrize(
    "data_source",
    [
        "not-a-uuid",
        "1f2e3d4c-5b6a-4798-8776-65544332211",  # one digit short
        "1f2e3d4c-5b6a47988776-655443322110",  # dashes in the wrong places
        "https://www.notion.so/1f2e3d4c5b6a47988776655443322110?v=1",
        " 1f2e3d4c5b6a47988776655443322110",
    ],
)
def test_a_data_source_that_is_not_a_notion_id_is_refused_at_validate(
    data_source: str, tmp_path: Path
) -> None:
    path = _recipe_with_data_source(tmp_path, data_source)
    outcome = syncfw("validate", path, env={**ID_ENV, "SYNCFW_LOAD_PLUGINS": "salesforce"}, cwd=tmp_path)
    assert_refused(outcome, 2, says="targets.accounts.data_source: not a Notion id", where=f"{path}:21:")


def test_an_id_from_the_environment_names_the_variable_never_its_value(tmp_path: Path) -> None:
    path = _recipe_with_data_source(tmp_path, "${env:ACCOUNTS_DATA_SOURCE_ID}")
    env = {**ID_ENV, "ACCOUNTS_DATA_SOURCE_ID": "staging-accounts-db", "SYNCFW_LOAD_PLUGINS": "salesforce"}
    outcome = syncfw("run", path, env=env, cwd=tmp_path)
    assert_refused(
        outcome,
        2,
        says="not a Notion id",
        where=f"{path}:21:",
        secrets=["staging-accounts-db", ID_ENV["NOTION_TOKEN"]],
    )
    assert "the value comes from ${env:ACCOUNTS_DATA_SOURCE_ID}" in outcome.stderr
    assert not (tmp_path / ".syncfw").exists()


@pytest.mark.parametrize("grace", ["soon", "nan", "-1", "1e9"])
def test_a_malformed_inflight_grace_is_refused_before_anything_is_read(grace: str, tmp_path: Path) -> None:
    env = {
        "NOTION_TOKEN": "secret_dummy_token_for_the_test",
        "NOTION_PARENT_PAGE_ID": "12345678-1234-1234-1234-123456789abc",
        "SALESFORCE_INSTANCE_URL": "https://127.0.0.1:1",
        "SALESFORCE_SESSION_ID": "00Dx0000000dummy",
        "SYNCFW_INFLIGHT_GRACE": grace,
    }
    outcome = syncfw("run", RECIPE, cwd=tmp_path, env=env, timeout=60)
    assert_refused(outcome, 2, says="SYNCFW_INFLIGHT_GRACE")
    assert not (tmp_path / ".syncfw").exists()


@pytest.mark.parametrize("value", [".inf", ".nan", "1e9"])
def test_a_connector_timeout_must_be_a_finite_number_of_seconds(value: str, tmp_path: Path) -> None:
    text = RECIPE.read_text().replace("../mappings/", f"{RECIPE.parent.parent / 'mappings'}/")
    text = text.replace(
        "      session_id: ${env:SALESFORCE_SESSION_ID}\n",
        f"      session_id: ${{env:SALESFORCE_SESSION_ID}}\n      timeout_seconds: {value}\n",
    )
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(text)
    env = {
        "NOTION_TOKEN": "secret_dummy_token_for_the_test",
        "NOTION_PARENT_PAGE_ID": "12345678-1234-1234-1234-123456789abc",
        "SALESFORCE_INSTANCE_URL": "https://127.0.0.1:1",
        "SALESFORCE_SESSION_ID": "00Dx0000000dummy",
    }
    outcome = syncfw("validate", recipe, cwd=tmp_path, env=env, timeout=60)
    assert_refused(outcome, 2, says="timeout_seconds", where="recipe.yaml:")
