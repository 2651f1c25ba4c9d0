"""The HubSpot sandbox seed data: the Salesforce sample companies' marketing side, consistent."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from syncfw_hubspot.datetimes import parse_instant
from syncfw_hubspot.emulator import HubSpotEmulator
from syncfw_salesforce.emulator import SalesforceEmulator

SEED_DIR = HubSpotEmulator.seed_data
SALESFORCE_DIR = SalesforceEmulator.seed_data
LIFECYCLE_STAGES = {
    "subscriber",
    "lead",
    "marketingqualifiedlead",
    "salesqualifiedlead",
    "opportunity",
    "customer",
    "evangelist",
}


def load(directory: Path, name: str) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = json.loads((directory / f"{name}.json").read_text())
    return records


def website_domain(website: str) -> str:
    host = urlsplit(website if "//" in website else f"//{website}").hostname or ""
    return host.removeprefix("www.")


def test_companies_match_salesforce_accounts_by_domain() -> None:
    accounts = {website_domain(a["Website"]) for a in load(SALESFORCE_DIR, "Account") if a.get("Website")}
    domains = [c["properties"]["domain"] for c in load(SEED_DIR, "companies")]

    assert len(domains) == 8
    assert set(domains) <= accounts
    assert {"edgecomm.com", "uos.com", "universityofarizona.com", "sforce.com"} <= set(domains)


def test_several_contacts_merge_with_salesforce_contacts_by_email() -> None:
    salesforce = {c["Email"] for c in load(SALESFORCE_DIR, "Contact") if c.get("Email")}
    emails = {c["properties"]["email"] for c in load(SEED_DIR, "contacts")}

    assert len(emails & salesforce) >= 8
    assert emails - salesforce  # and some the sales team does not know yet


def test_records_are_in_the_list_shape_with_valid_values_and_links() -> None:
    ids = {name: {r["id"] for r in load(SEED_DIR, name)} for name in ("companies", "contacts", "deals")}
    modified = {
        "companies": "hs_lastmodifieddate",
        "contacts": "lastmodifieddate",
        "deals": "hs_lastmodifieddate",
    }

    for name, prop in modified.items():
        for record in load(SEED_DIR, name):
            props = record["properties"]
            assert set(record) >= {"id", "properties", "createdAt", "updatedAt", "archived"}
            assert props["hs_object_id"] == record["id"] and record["archived"] is False
            assert props[prop] == record["updatedAt"] and props["createdate"] == record["createdAt"]
            assert parse_instant(record["createdAt"]) < parse_instant(record["updatedAt"])
            assert all(v is None or isinstance(v, str) for v in props.values())  # HubSpot sends strings
            for other, linked in record.get("associations", {}).items():
                assert {link["id"] for link in linked["results"]} <= ids[other]
            if name != "deals":
                assert props["lifecyclestage"] in LIFECYCLE_STAGES
    assert {c["properties"]["lifecyclestage"] for c in load(SEED_DIR, "companies")} == LIFECYCLE_STAGES


def test_every_contact_and_deal_has_a_primary_company() -> None:
    for name, label in (("contacts", "contact_to_company"), ("deals", "deal_to_company")):
        for record in load(SEED_DIR, name):
            primary = [r for r in record["associations"]["companies"]["results"] if r["type"] == label]
            assert len(primary) == 1, record["id"]
