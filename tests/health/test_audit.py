"""`syncfw audit` on the shipped recipes: lineage of every Notion property, personal data flagged."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from syncfw.health.inventory import load_offline
from syncfw.recipe.governance import recipe_files
from syncfw.recipe.model import NOTION_OWNER
from tests.health.support import REPO

SYNCFW = [sys.executable, "-m", "syncfw.cli"]


def audit(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    # no credentials and no data source ids: an auditor's laptop
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("NOTION_", "SALESFORCE_", "HUBSPOT_", "ZENDESK_"))
    }
    return subprocess.run(
        [*SYNCFW, "audit", *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=60
    )


def test_audit_prints_the_lineage_of_every_property_of_the_shipped_recipes(tmp_path: Path) -> None:
    result = audit(str(REPO / "recipes"), "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    audited = {r["recipe"]: r for r in json.loads(result.stdout)["recipes"]}
    shipped = [load_offline(path) for path in recipe_files(REPO / "recipes")]
    assert set(audited) == {r.name for r in shipped} and "salesforce-accounts" in audited
    for recipe in shipped:
        report = audited[recipe.name]
        assert (report["owner"], report["tier"], report["last_success"]) == (recipe.owner, recipe.tier, None)
        lineage = {(row["target"], row["property"], row["owner"]) for row in report["lineage"]}
        for target in recipe.targets.values():
            for mapping in target.mappings:
                for name in mapping.properties:
                    assert (target.name, name, mapping.source) in lineage, (recipe.name, target.name, name)
            for name, owner in target.owners.items():
                if owner == NOTION_OWNER:
                    assert (target.name, name, NOTION_OWNER) in lineage
        for row in report["lineage"]:
            assert row["origin"] and row["where"] and row["data_source"]
            assert row["human_owned"] == (row["owner"] == NOTION_OWNER)

    rows = {
        (r["target"], r["property"]): r
        for r in audited["salesforce-accounts"]["lineage"]
        if not r["origin"].startswith("match")
    }
    personal = {key for key, row in rows.items() if row["personal"]}
    assert personal == {
        ("contacts", "Name"),
        ("contacts", "Email"),
        ("contacts", "Phone"),
        ("accounts", "Account Owner"),
    }
    assert rows[("contacts", "Name")]["personal"] == [
        "salesforce Contact: FirstName",
        "salesforce Contact: LastName",
    ]
    assert rows[("accounts", "Industry")]["origin"] == "field Industry"
    assert rows[("accounts", "Notes")]["human_owned"]

    table = audit(str(REPO / "recipes"), cwd=tmp_path)
    assert table.returncode == 0, table.stderr
    assert "personal data in" in table.stdout and "contacts.Email" in table.stdout
    assert "Traceback" not in table.stderr
