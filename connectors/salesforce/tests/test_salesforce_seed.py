"""The sandbox seed data shipped with syncfw: the Developer Edition sample org, consistent."""

from __future__ import annotations

import json
from typing import Any

from syncfw_salesforce.datetimes import parse_datetime
from syncfw_salesforce.emulator import SalesforceEmulator
from syncfw_salesforce.emulator.ids import case_safe_id

SEED_DIR = SalesforceEmulator.seed_data


def load(sobject: str) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = json.loads((SEED_DIR / f"{sobject}.json").read_text())
    return records


def test_seed_has_the_sample_accounts_contacts_and_users() -> None:
    accounts, contacts, users = load("Account"), load("Contact"), load("User")

    assert len(accounts) == 12 and len(contacts) == 20 and 2 <= len(users) <= 3
    assert {"Edge Communications", "GenePoint", "sForce", "United Oil & Gas, UK"} <= {
        a["Name"] for a in accounts
    }
    assert {"Rose Gonzalez", "Liz D'Cruz", "Jake Llorrac"} <= {
        f"{c['FirstName']} {c['LastName']}" for c in contacts
    }


def test_seed_records_are_in_rest_shape_with_valid_ids_and_links() -> None:
    ids = {name: {r["Id"] for r in load(name)} for name in ("Account", "Contact", "User")}
    prefixes = {"Account": "001", "Contact": "003", "User": "005"}

    for name, prefix in prefixes.items():
        for record in load(name):
            assert record["attributes"] == {
                "type": name,
                "url": f"/services/data/v59.0/sobjects/{name}/{record['Id']}",
            }
            assert record["Id"].startswith(prefix) and case_safe_id(record["Id"][:15]) == record["Id"]
            assert parse_datetime(record["SystemModstamp"]).tzinfo is not None
            assert record.get("OwnerId") in ids["User"] | {None}
            if name != "User":
                assert record["IsDeleted"] is False
    assert all(c["AccountId"] in ids["Account"] | {None} for c in load("Contact"))
