"""Governance: owners and descriptions, expiring experiments, production data sources, alpha
connectors, personal data, ``syncfw renew``."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest

from syncfw.errors import ConfigError, GuardStop
from syncfw.plugins import Registry
from syncfw.recipe import load_recipe
from syncfw.recipe.governance import check_runnable
from tests.health.support import REPO, recipe_copy
from tests.recipe.support import FakeSalesforce, fake_registry

SYNCFW = [sys.executable, "-m", "syncfw.cli"]
ENV = {
    "NOTION_TOKEN": "ntn_governance_TOKEN_0123",
    "NOTION_PARENT_PAGE_ID": "5ef05a19-c01f-41ca-bbb3-3e067018240a",
    "SALESFORCE_INSTANCE_URL": "https://acme.my.salesforce.com",
    "SALESFORCE_SESSION_ID": "00Dx0000SESSION!AQ",
}


def syncfw(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    import os

    env = {**os.environ, **ENV, "SYNCFW_LOAD_PLUGINS": "syncfw-salesforce"}
    return subprocess.run([*SYNCFW, *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=60)


def line_of(path: Path, text: str) -> int:
    return next(n for n, line in enumerate(path.read_text().splitlines(), start=1) if text in line)


def experimental(directory: Path, expires: date, name: str = "experiment.yaml") -> Path:
    return recipe_copy(
        directory,
        name,
        replace={
            "recipe: salesforce-accounts": "recipe: accounts-experiment",
            "tier: production": f"tier: experimental\nexpires: {expires.isoformat()}   # ask Ada before renewing",
        },
    )


def test_an_expired_experimental_recipe_stops_with_exit_4_before_reading_anything(tmp_path: Path) -> None:
    path = experimental(tmp_path, date.today() - timedelta(days=1))
    result = syncfw("run", str(path), cwd=tmp_path)
    assert result.returncode == 4, result.stderr
    assert "expired on" in result.stderr and f"syncfw renew {path}" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / ".syncfw").exists()  # no state opened: nothing read, nothing written
    # on its last day it still runs
    check_runnable(load_recipe(experimental(tmp_path, date.today(), "today.yaml"), environ=ENV), date.today())
    with pytest.raises(GuardStop):
        check_runnable(load_recipe(path, environ=ENV), date.today())


def test_renew_moves_the_expiry_keeps_the_file_and_is_recorded(tmp_path: Path) -> None:
    path = experimental(tmp_path, date.today() - timedelta(days=1))
    before = path.read_text().splitlines()
    result = syncfw("renew", str(path), "--days", "10", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    after = path.read_text().splitlines()
    new = (date.today() + timedelta(days=10)).isoformat()
    changed = [(a, b) for a, b in zip(before, after, strict=True) if a != b]
    assert changed == [(before[7], f"expires: {new}   # ask Ada before renewing")]
    check_runnable(load_recipe(path, environ=ENV), date.today())
    runs = json.loads(syncfw("runs", str(path), "--json", cwd=tmp_path).stdout)["runs"]
    assert [(r["command"], r["detail"]) for r in runs] == [
        ("renew", f"expires {(date.today() - timedelta(days=1)).isoformat()} → {new}")
    ]
    assert runs[0]["started_by"]
    assert syncfw("renew", str(path), "--days", "31", cwd=tmp_path).returncode == 2
    (tmp_path / "prod").mkdir()
    production = recipe_copy(tmp_path / "prod")
    refused = syncfw("renew", str(production), cwd=tmp_path)
    assert refused.returncode == 2 and "only an experimental recipe expires" in refused.stderr


def test_an_experimental_recipe_cannot_write_a_production_data_source(tmp_path: Path) -> None:
    recipe_copy(tmp_path, "production.yaml")
    path = experimental(tmp_path, date.today() + timedelta(days=7))
    with pytest.raises(ConfigError) as caught:
        load_recipe(path, environ=ENV)
    problems = [p for p in caught.value.problems if "production recipe" in p.message]
    assert [(p.line, p.path) for p in problems] == [
        (line_of(path, "database: {title: Accounts"), "targets.accounts.database"),
        (line_of(path, "database: {title: Contacts"), "targets.contacts.database"),
    ]
    claimed = line_of(tmp_path / "production.yaml", "  accounts:")
    assert (
        "'salesforce-accounts'" in problems[0].message and f"production.yaml:{claimed}" in problems[0].message
    )
    result = syncfw("validate", str(path), cwd=tmp_path)
    where = f"{path}:{problems[0].line}:5 targets.accounts.database"
    assert result.returncode == 2 and where in result.stderr
    # its own copy of the databases is fine
    elsewhere = (
        path.read_text()
        .replace("title: Accounts", "title: Accounts (try)")
        .replace("title: Contacts", "title: Contacts (try)")
    )
    path.write_text(elsewhere)
    assert load_recipe(path, environ=ENV).tier == "experimental"


def test_a_recipe_without_owner_or_with_a_vague_description_fails_with_its_location(tmp_path: Path) -> None:
    text = recipe_copy(tmp_path, "tmp.yaml").read_text()
    rest = text.split("tier: production", 1)[1]
    no_owner = tmp_path / "no-owner.yaml"
    no_owner.write_text("recipe: no-owner\ntier: production" + rest)
    result = syncfw("validate", str(no_owner), cwd=tmp_path)
    assert result.returncode == 2
    assert f"{no_owner}:1:1 owner: required key is missing" in result.stderr
    assert f"{no_owner}:1:1 description: required key is missing" in result.stderr
    vague = tmp_path / "vague.yaml"
    vague.write_text(
        "recipe: vague\nowner: ada@example.com\ndescription: Syncs accounts.\ntier: production" + rest
    )
    result = syncfw("validate", str(vague), cwd=tmp_path)
    assert result.returncode == 2
    (line,) = [x for x in result.stderr.splitlines() if x.startswith(f"{vague}:3:14 description:")]
    assert "what triggers it" in line and "what breaks if it fails" in line and "at least 3" in line


def test_a_production_recipe_refuses_an_alpha_connector(tmp_path: Path) -> None:
    class Experimental(FakeSalesforce):
        maturity = "alpha"

    registry = fake_registry()
    registry.connectors["salesforce"] = Experimental
    path = recipe_copy(tmp_path)
    env = {**ENV, "SALESFORCE_INSTANCE_URL": "https://acme.my.salesforce.com"}
    with pytest.raises(ConfigError) as caught:
        load_recipe(path, registry=registry, environ=env)
    (problem,) = caught.value.problems
    assert (problem.line, problem.path) == (
        line_of(path, "connector: salesforce"),
        "sources.salesforce.connector",
    )
    assert "alpha" in problem.message
    (tmp_path / "trial").mkdir()
    trial = experimental(tmp_path / "trial", date.today() + timedelta(days=3))
    assert load_recipe(trial, registry=registry, environ=env).tier == "experimental"


def test_a_target_can_forbid_personal_data(tmp_path: Path, registry: Registry) -> None:
    contacts = f"    mappings: [{REPO}/mappings/salesforce/contact.yaml]"
    path = recipe_copy(tmp_path, replace={contacts: contacts + "\n    personal_data: forbid"})
    with pytest.raises(ConfigError) as caught:
        load_recipe(path, registry=registry, environ=ENV)
    found = {p.path: p for p in caught.value.problems}
    assert set(found) == {"properties.Name", "properties.Email", "properties.Phone"}
    assert all(Path(p.file).name == "contact.yaml" for p in found.values())
    assert "Contact FirstName, LastName" in found["properties.Name"].message
    assert "targets.contacts.personal_data" in found["properties.Email"].message
