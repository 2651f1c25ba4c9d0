"""A three-owner recipe for tests: Salesforce accounts (primary), a renewal sheet (per-record
secondary, matched by domain), ticket counts (aggregate, matched by domain), humans own Notes."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

ACCOUNT = """\
mapping: sf-account
connector: salesforce
stream: Account
sync_key: Salesforce ID
properties:
  Name: {type: title, field: Name}
  Salesforce ID: {type: rich_text, field: Id}
  Industry: {type: select, field: Industry}
  Domain: {type: rich_text, field: Website, transforms: [domain]}
"""

SHEET = """\
mapping: renewal-sheet
connector: files
stream: rows
match: {property: Domain, field: domain, transforms: [domain]}
properties:
  Tier: {type: select, field: tier}
  Renewal: {type: date, field: renewal}
"""

TICKETS = """\
mapping: ticket-stats
connector: files
stream: rows
match: {property: Domain, field: domain, transforms: [domain]}
properties:
  Open Tickets: {type: number, aggregate: {function: count, where: "status == 'open'"}}
  Last Ticket: {type: date, aggregate: {function: max, field: updated}}
"""

RECIPE = """\
recipe: merged
owner: ops-lead@example.com
description: >
  Merges Salesforce accounts with the renewal sheet and the ticket counts. Runs from cron every
  hour. If it fails, renewal tiers and ticket counts in Notion go stale.
tier: production
notion: {{token: "${{env:NOTION_TOKEN}}", rate_limit: 200/s}}
sources:
  salesforce:
    connector: salesforce
    config: {{instance_url: "${{env:SALESFORCE_INSTANCE_URL}}", session_id: "${{env:SALESFORCE_SESSION_ID}}"}}
  sheet: {{connector: files, config: {{path: "{sheet}", key: domain}}}}
  tickets: {{connector: files, config: {{path: "{tickets}", key: id}}}}
targets:
  accounts:
    database: {{title: Accounts, parent_page: "${{env:NOTION_PARENT_PAGE_ID}}"}}
    sync_key: Salesforce ID
    mappings: [account.yaml, {{file: sheet.yaml, source: sheet}}, {{file: tickets.yaml, source: tickets}}]
    owners: {{Notes: notion}}
    on_drift: {on_drift}
    guard: {{max_change: 20%}}
"""

SHEET_ROWS = [
    {"domain": "edgecomm.com", "tier": "Gold", "renewal": "2027-01-31"},
    {"domain": "www.burlington.com", "tier": "Silver", "renewal": "2026-12-15"},
    {"domain": "uos.com", "tier": "Platinum", "renewal": "2027-03-01"},
    {"domain": "unknown-company.com", "tier": "Bronze", "renewal": "2027-02-01"},
]

TICKET_ROWS = [
    {"id": "t1", "domain": "edgecomm.com", "status": "open", "updated": "2026-11-01"},
    {"id": "t2", "domain": "edgecomm.com", "status": "open", "updated": "2026-11-05"},
    {"id": "t3", "domain": "edgecomm.com", "status": "solved", "updated": "2026-11-10"},
    {"id": "t4", "domain": "genepoint.com", "status": "open", "updated": "2026-10-01"},
    {"id": "t5", "domain": "nowhere.example", "status": "open", "updated": "2026-10-02"},
]


def write_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def write_recipe(directory: Path, on_drift: str = "revert") -> Path:
    (directory / "account.yaml").write_text(ACCOUNT)
    (directory / "sheet.yaml").write_text(SHEET)
    (directory / "tickets.yaml").write_text(TICKETS)
    write_csv(directory / "sheet.csv", SHEET_ROWS)
    write_csv(directory / "tickets.csv", TICKET_ROWS)
    recipe = directory / "merged.yaml"
    recipe.write_text(
        RECIPE.format(sheet=directory / "sheet.csv", tickets=directory / "tickets.csv", on_drift=on_drift)
    )
    return recipe
