"""The smaller output findings of issue 17 (finding 11) and the conventions it asks for: drift in a
plan worded as what the run will do, `rollback --dry-run` in the future tense, tables that keep
their tokens whole at 80 columns and in a pipe, `plan --detailed-exitcode`, `plan --format
markdown` with personal data redacted, and plan files that name their format and recipe.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

from syncfw.plugins import Registry
from syncfw.recipe import load_recipe
from syncfw.sandbox.runner import Sandbox
from tests.cli.test_plan_output import syncfw
from tests.conftest import RECIPE, REPO
from tests.engine.test_sync_end_to_end import init, seed, sync, write_seed


def test_plan_words_drift_as_what_the_run_will_do_and_rollback_dry_run_speaks_of_the_future(
    sandbox: Sandbox, registry: Registry, seed_dir: Path, tmp_path: Path
) -> None:
    recipe = load_recipe(RECIPE, registry=registry)
    init(recipe)
    first = sync(recipe, registry)
    account = seed(seed_dir, "Account")[0]
    edit = syncfw(
        "sandbox",
        "edit",
        account["Id"],
        "Industry",
        "Shipping",
        "--as",
        "Ada Lovelace",
        "--env-file",
        tmp_path / "sandbox.env",
    )
    assert edit.returncode == 0, edit.stderr

    planned = syncfw("plan", RECIPE)
    drift = next(line for line in planned.stdout.splitlines() if line.startswith("drift "))
    assert "'Industry' edited in Notion by Ada Lovelace; the run will revert it" in drift, drift
    assert f'("Shipping" → "{account["Industry"]}")' in drift, drift  # the arrow of the diff above
    assert "reverted" not in drift

    dry = syncfw("rollback", first.run_id, "--recipe", RECIPE, "--dry-run")
    assert dry.returncode == 0, dry.stdout + dry.stderr  # a dry run changes nothing
    assert "will undo" in dry.stdout and "will move the page it created to trash" in dry.stdout
    assert f"{account['Id']}: will not archive: people edited the page after the run" in dry.stdout
    assert f"will refuse accounts {account['Id']} 'Industry'" in dry.stdout
    assert not re.search(r": (archived|undid|refused)\b", dry.stdout), dry.stdout


def test_tables_keep_timestamps_paths_and_headers_whole_at_80_columns_and_in_a_pipe(
    sandbox: Sandbox, registry: Registry
) -> None:
    recipe = load_recipe(RECIPE, registry=registry)
    init(recipe)
    assert sync(recipe, registry).exit_code == 0
    narrow = {**os.environ, "COLUMNS": "80"}
    status = syncfw("status", RECIPE, env=narrow)
    assert len(re.findall(r"\d{4}-\d\d-\d\d \d\d:\d\d", status.stdout)) >= 3, (
        status.stdout
    )  # head + 2 per source
    audit = syncfw("audit", RECIPE, env={**os.environ, "COLUMNS": "100"})
    mappings = {p.name for p in (REPO / "mappings" / "salesforce").iterdir()}
    wheres = re.findall(r"mappings/salesforce/(\S+\.yaml):\d+", audit.stdout)
    properties = sum(len(t.properties) - len(t.owners) for t in recipe.targets.values())
    assert len(wheres) >= properties and set(wheres) <= mappings, audit.stdout
    assert all(len(line.rstrip()) <= 100 for line in audit.stdout.splitlines()), audit.stdout
    piped = syncfw("audit", RECIPE)  # no COLUMNS, not a terminal: the table at its natural width
    rows = [line for line in piped.stdout.splitlines() if "account.yaml:" in line]
    assert rows and all(re.search(r"account\.yaml:\d+", row) for row in rows), piped.stdout


def test_plan_detailed_exitcode_markdown_and_plan_files_of_another_format_or_recipe(
    sandbox: Sandbox, registry: Registry, seed_dir: Path, tmp_path: Path
) -> None:
    recipe_path = tmp_path / "recipes" / RECIPE.name
    recipe_path.parent.mkdir()
    shutil.copytree(REPO / "mappings", tmp_path / "mappings")
    shutil.copy(RECIPE, recipe_path)
    recipe = load_recipe(recipe_path, registry=registry)
    init(recipe)

    assert syncfw("plan", recipe_path, "--detailed-exitcode").returncode == 2  # changes
    assert syncfw("plan", recipe_path, "--detailed-exitcode", "--no-such-option").returncode == 1
    markdown = syncfw("plan", recipe_path, "--format", "markdown")
    assert markdown.returncode == 0, markdown.stderr
    contact = seed(seed_dir, "Contact")[0]
    assert "| + create | `" in markdown.stdout and contact["Id"] in markdown.stdout
    assert "| Email |  | (personal data) |" in markdown.stdout
    assert contact["Email"] not in markdown.stdout and contact["LastName"] not in markdown.stdout

    plan_file = tmp_path / "plan.json"
    assert syncfw("plan", recipe_path, "--out", plan_file).returncode == 0
    content = json.loads(plan_file.read_text())
    assert content["plan_format"] == 1 and content["recipe_digest"].startswith("sha256:")
    (tmp_path / "future.json").write_text(json.dumps({**content, "plan_format": 99}))
    future = syncfw("run", recipe_path, "--plan", tmp_path / "future.json")
    assert (
        future.returncode == 2
        and "a plan file of format 99; this syncfw reads plan format 1" in future.stderr
    )
    mapping = tmp_path / "mappings" / "salesforce" / "contact.yaml"
    mapping.write_text(mapping.read_text() + "\n# reviewed plans name the mappings they were made from\n")
    other = syncfw("run", recipe_path, "--plan", plan_file)
    assert other.returncode == 2, other.stderr
    assert "planned from another version of salesforce-accounts.yaml or its mappings" in other.stderr

    assert sync(recipe, registry).exit_code == 0
    assert syncfw("plan", recipe_path, "--detailed-exitcode").returncode == 0  # no changes


def test_a_markdown_plan_leaves_out_why_a_personal_property_failed(
    sandbox: Sandbox, registry: Registry, seed_dir: Path
) -> None:
    """A failure's reason quotes the value ("expected text, got dict {'work': 'ada@example.com'}"):
    a plan posted to a pull request names the record and the property but not the value; the JSON
    plan (kept by the operator) still says it all."""
    contacts = seed(seed_dir, "Contact")
    write_seed(seed_dir, "Contact", [{**contacts[0], "Email": {"work": "ada@example.com"}}, *contacts[1:]])
    init(load_recipe(RECIPE, registry=registry))
    markdown = syncfw("plan", RECIPE, "--format", "markdown")
    assert f"key {contacts[0]['Id']} property 'Email': (personal data)" in markdown.stdout, markdown.stdout
    assert "ada@example.com" not in markdown.stdout
    assert "ada@example.com" in syncfw("plan", RECIPE, "--json").stdout
