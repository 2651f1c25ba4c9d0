"""The sandbox seed data: Zendesk organizations, users and tickets of the Salesforce sample companies."""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from syncfw_salesforce.emulator import SalesforceEmulator
from syncfw_zendesk.emulator import ZendeskEmulator
from syncfw_zendesk.streams import STREAMS, epoch_seconds, export_time

SEED_DIR = ZendeskEmulator.seed_data
SALESFORCE_DIR = SalesforceEmulator.seed_data


def load(directory: Path, name: str) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = json.loads((directory / f"{name}.json").read_text())
    return records


def website_domain(website: str) -> str:
    host = urlsplit(website if "://" in website else f"http://{website}").hostname or ""
    return host.removeprefix("www.")


def test_organizations_are_salesforce_accounts_matched_by_domain() -> None:
    accounts = {website_domain(a["Website"]): a["Name"] for a in load(SALESFORCE_DIR, "Account")}
    organizations = load(SEED_DIR, "organizations")

    assert len(organizations) == 8
    for organization in organizations:
        matches = {accounts[d] for d in organization["domain_names"] if d in accounts}
        assert matches, f"{organization['name']} has no domain of a Salesforce account"
        assert organization["name"] in matches or organization["name"].startswith("United Oil & Gas")


def test_users_include_salesforce_contacts_in_their_organization() -> None:
    contacts = {c["Email"] for c in load(SALESFORCE_DIR, "Contact") if c["Email"]}
    organizations = {o["id"]: o for o in load(SEED_DIR, "organizations")}
    users = load(SEED_DIR, "users")

    assert len(contacts & {u["email"] for u in users}) >= 8
    assert Counter(u["role"] for u in users)["admin"] == 1
    for user in users:
        organization = organizations.get(user["organization_id"])
        if organization is not None:
            assert user["email"].split("@")[1] in organization["domain_names"]


def test_tickets_cover_every_status_over_the_organizations() -> None:
    users = {u["id"]: u for u in load(SEED_DIR, "users")}
    tickets = load(SEED_DIR, "tickets")

    statuses = Counter(t["status"] for t in tickets)
    assert 25 <= len(tickets) <= 35
    assert statuses["deleted"] == 1 and all(
        statuses[s] >= 3 for s in ("new", "open", "pending", "solved", "closed")
    )
    assert len({t["organization_id"] for t in tickets} - {None}) == 8
    for ticket in tickets:
        requester = users[ticket["requester_id"]]
        assert ticket["organization_id"] == requester["organization_id"]
        assert ticket["assignee_id"] is None or users[ticket["assignee_id"]]["role"] in ("admin", "agent")
        assert ticket["generated_timestamp"] == epoch_seconds(ticket["updated_at"])


def test_changes_are_spread_over_recent_weeks_in_the_past() -> None:
    now = time.time()
    for stream in ("tickets", "users", "organizations"):
        stamps = [export_time(STREAMS[stream], item) or 0 for item in load(SEED_DIR, stream)]
        assert max(stamps) < now - 60, f"{stream}: a change within the export's last minute"
        assert max(stamps) - min(stamps) > 14 * 86400
