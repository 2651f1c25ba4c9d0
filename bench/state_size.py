"""State size per synced page (issue 15): a store filled for N pages (default 100,000) of the
demo's recipe (``recipes/customer-360.yaml`` and its mappings) the way a first import fills it,
then measured table by table.

Usage::

    python bench/state_size.py                       # 100,000 pages, SQLite in a temporary dir
    python bench/state_size.py --pages 20000         # smaller
    python bench/state_size.py --state-url postgresql://…  # a PostgreSQL state store instead

No Notion or source request is made: the demo's seed records (Salesforce accounts and contacts,
HubSpot companies and contacts, Zendesk organizations and tickets) are repeated with new ids and
mapped by the recipe's own compiled mappings, and each page is recorded through the store's API
in the order a first import does (:mod:`syncfw.engine.apply`, :mod:`syncfw.engine.commit`,
:func:`~syncfw.engine.report.record_operations`): the create's intent, the page and its written
values with the intent settled, then the relation keys, matches and members of its target's
commit, the cursors (journaled), and the run's operations in history. Pages are 48% accounts
(each matched by a HubSpot company and a Zendesk organization), 48% contacts (each matched by a
HubSpot contact, related to an account) and 4% tickets (each counted on its account, related to
it), about the demo's mix.

Prints one JSON object: bytes per page of each table with its indexes (SQLite: the pages of the
``dbstat`` virtual table, https://www.sqlite.org/dbstat.html; PostgreSQL:
``pg_total_relation_size``), the total, and the total without the journal and run history,
which retention prunes by age and count (``retention.journal_days``, ``retention.history_runs``)
rather than keeping one entry per page.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.report import has_figures, section_head  # noqa: E402
from syncfw.clock import now_iso  # noqa: E402
from syncfw.mapping import CompiledMapping, compile_mapping  # noqa: E402
from syncfw.plugins import load_plugins  # noqa: E402
from syncfw.recipe import Recipe, load_recipe  # noqa: E402
from syncfw.state import OperationRecord, StateBackend, StateStore, StoreTransaction  # noqa: E402

RECIPE = REPO / "recipes" / "customer-360.yaml"
SEEDS = {
    "Account": REPO / "connectors/salesforce/syncfw_salesforce/seed/Account.json",
    "Contact": REPO / "connectors/salesforce/syncfw_salesforce/seed/Contact.json",
    "companies": REPO / "connectors/hubspot/syncfw_hubspot/seed/companies.json",
    "hubspot-contacts": REPO / "connectors/hubspot/syncfw_hubspot/seed/contacts.json",
    "organizations": REPO / "connectors/zendesk/syncfw_zendesk/seed/organizations.json",
    "tickets": REPO / "connectors/zendesk/syncfw_zendesk/seed/tickets.json",
}
ENVIRONMENT = {
    "NOTION_TOKEN": "secret_bench",
    "NOTION_PARENT_PAGE_ID": "0" * 32,
    "SALESFORCE_INSTANCE_URL": "https://bench.invalid",
    "SALESFORCE_SESSION_ID": "bench",
    "HUBSPOT_ACCESS_TOKEN": "bench",
    "ZENDESK_SUBDOMAIN": "bench",
    "ZENDESK_EMAIL": "bench@example.com",
    "ZENDESK_API_TOKEN": "bench",
}
HISTORY_TABLES = ("journal", "run_operations", "runs")
"""Tables retention bounds by age and count rather than by the number of pages."""
PER_TRANSACTION = 500


def seed(name: str) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = json.loads(SEEDS[name].read_text())
    return [r for r in records if not r.get("IsDeleted")]


def sf_id(prefix: str, n: int) -> str:
    return f"{prefix}Sx{n:010}IAA"


def page_id(target: str, n: int) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{target}/{n}"))


class Filler:
    """Records pages of the demo's three targets as a first import does."""

    def __init__(self, store: StateBackend, recipe: Recipe, run_id: str) -> None:
        self.store = store
        self.run_id = run_id
        registry = load_plugins()
        self.compiled: dict[str, CompiledMapping] = {
            m.name: compile_mapping(m, registry.transforms)
            for target in recipe.targets.values()
            for m in target.mappings
        }
        self.operations = 0
        self.numbers: dict[str, int] = {}
        """Target → the last page number (``unique_id``) Notion gave in its data source."""

    def values(self, mapping: str, record: dict[str, Any]) -> dict[str, Any]:
        values, errors = self.compiled[mapping].evaluate(record)
        assert not errors, errors
        return values

    def create(self, tx: StoreTransaction, target: str, key: str, pid: str, after: dict[str, Any]) -> None:
        seq = tx.open_intent(self.run_id, target, "create", key, None, {}, after, now_iso("milliseconds"))
        self.numbers[target] = number = self.numbers.get(target, 0) + 1
        tx.set_page(target, key, pid, created_by_syncfw=True, number=number)
        tx.set_written(target, key, after)
        tx.settle(seq, "applied", now_iso("milliseconds"), pid)
        self.operations += 1
        tx.add_operations(
            self.run_id, [OperationRecord(self.operations, target, "create", key, pid, {}, after)]
        )

    def accounts(self, tx: StoreTransaction, n: int) -> None:
        account = dict(ACCOUNTS[n % len(ACCOUNTS)])
        key = sf_id("001", n)
        domain = f"acct{n}.example.com"
        account.update(
            Id=key, Name=f"{account['Name']} {n}", Website=f"https://{domain}", Owner={"Name": "Ada Lovelace"}
        )
        company = dict(COMPANIES[n % len(COMPANIES)])
        company = {
            **company,
            "id": str(700_000 + n),
            "properties": {**company["properties"], "domain": domain},
        }
        organization = dict(ORGANIZATIONS[n % len(ORGANIZATIONS)], id=800_000 + n, domain_names=[domain])
        after = {
            **self.values("salesforce-account", account),
            **self.values("hubspot-company", company),
            **self.values("zendesk-organization", organization),
        }
        self.create(tx, "accounts", key, page_id("accounts", n), after)
        tx.set_match("accounts", "hubspot-company", company["id"], key)
        tx.set_match("accounts", "zendesk-organization", str(organization["id"]), key)

    def contacts(self, tx: StoreTransaction, n: int, accounts: int) -> None:
        contact = dict(CONTACTS[n % len(CONTACTS)])
        key = sf_id("003", n)
        account = n % accounts
        contact.update(Id=key, Email=f"person{n}@acct{account}.example.com", AccountId=sf_id("001", account))
        hubspot = dict(HUBSPOT_CONTACTS[n % len(HUBSPOT_CONTACTS)])
        hubspot = {
            **hubspot,
            "id": str(900_000 + n),
            "properties": {**hubspot["properties"], "email": contact["Email"]},
        }
        values = self.values("salesforce-contact", contact)
        values.pop("Account", None)
        after = {
            **values,
            **self.values("hubspot-contact", hubspot),
            "Account": (page_id("accounts", account),),
        }
        self.create(tx, "contacts", key, page_id("contacts", n), after)
        tx.set_relation_keys("contacts", key, {"Account": (contact["AccountId"],)})
        tx.set_match("contacts", "hubspot-contact", hubspot["id"], key)

    def tickets(self, tx: StoreTransaction, n: int, accounts: int) -> None:
        account = n % accounts
        ticket = dict(TICKETS[n % len(TICKETS)], id=100_000 + n, organization_id=800_000 + account)
        key = str(ticket["id"])
        values = self.values("zendesk-ticket", ticket)
        values.pop("Account", None)
        after = {**values, "Account": (page_id("accounts", account),)}
        self.create(tx, "tickets", key, page_id("tickets", n), after)
        tx.set_relation_keys("tickets", key, {"Account": (str(ticket["organization_id"]),)})
        member = self.compiled["zendesk-ticket-stats"].member(ticket)
        tx.set_member("accounts", "zendesk-ticket-stats", key, (sf_id("001", account), member))

    def fill(self, pages: int) -> dict[str, int]:
        counts = {"accounts": pages * 48 // 100, "contacts": pages * 48 // 100}
        counts["tickets"] = pages - counts["accounts"] - counts["contacts"]
        steps: list[tuple[str, int]] = [(t, n) for t, count in counts.items() for n in range(count)]
        for start in range(0, len(steps), PER_TRANSACTION):
            with self.store.transaction() as tx:
                for target, n in steps[start : start + PER_TRANSACTION]:
                    if target == "accounts":
                        self.accounts(tx, n)
                    elif target == "contacts":
                        self.contacts(tx, n, counts["accounts"])
                    else:
                        self.tickets(tx, n, counts["accounts"])
        with self.store.transaction() as tx:
            for target, source, stream in CURSORS:
                seq = tx.open_intent(
                    self.run_id,
                    target,
                    "cursor",
                    f"{source}/{stream}",
                    None,
                    {"cursor": None},
                    {"cursor": "2026-10-21T16:03:55Z"},
                    now_iso(),
                )
                tx.set_cursor(target, source, stream, "2026-10-21T16:03:55Z", now_iso())
                tx.settle(seq, "applied", now_iso())
        return counts


CURSORS = (
    ("accounts", "salesforce", "Account"),
    ("accounts", "hubspot", "companies"),
    ("accounts", "zendesk", "organizations"),
    ("accounts", "zendesk", "tickets"),
    ("contacts", "salesforce", "Contact"),
    ("contacts", "hubspot", "contacts"),
    ("tickets", "zendesk", "tickets"),
)
ACCOUNTS = seed("Account")
CONTACTS = seed("Contact")
COMPANIES = seed("companies")
HUBSPOT_CONTACTS = seed("hubspot-contacts")
ORGANIZATIONS = seed("organizations")
TICKETS = seed("tickets")


def table_bytes(store: StateBackend) -> dict[str, int]:
    """Bytes on disk of each table of ``store``, its indexes included."""
    if isinstance(store, StateStore):
        with store.transaction():
            pass
        store._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        rows = store._db.execute(
            "SELECT COALESCE(m.tbl_name, d.name), SUM(d.pgsize) FROM dbstat d "
            "LEFT JOIN sqlite_schema m ON m.name = d.name GROUP BY 1"
        ).fetchall()
        return {str(name): int(size) for name, size in rows}
    rows = store._query(  # type: ignore[attr-defined]
        "SELECT table_name, pg_total_relation_size(quote_ident(table_schema) || '.' || quote_ident(table_name)) "
        "FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
    )
    return {str(name): int(size) for name, size in rows}


def measure(store: StateBackend, recipe: Recipe, pages: int) -> dict[str, Any]:
    run_id = "bench-first-import"
    with store.transaction() as tx:
        tx.start_run(run_id, recipe.name, "run", now_iso())
    started = time.monotonic()
    counts = Filler(store, recipe, run_id).fill(pages)
    seconds = round(time.monotonic() - started, 1)
    if hasattr(store, "_db") and not isinstance(store, StateStore):
        store._db.execute("VACUUM ANALYZE")  # type: ignore[attr-defined]
    sizes = table_bytes(store)
    per_page = {name: round(size / pages, 1) for name, size in sorted(sizes.items()) if size}
    total = sum(sizes.values())
    kept = sum(size for name, size in sizes.items() if name not in HISTORY_TABLES)
    return {
        "pages": counts,
        "schema_version": store.schema_version,
        "fill_seconds": seconds,
        "bytes_per_page_by_table": per_page,
        "bytes_per_page": round(total / pages, 1),
        "bytes_per_page_without_journal_and_history": round(kept / pages, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=100_000)
    parser.add_argument(
        "--state-url", help="postgresql://… (default: a SQLite file in a temporary directory)"
    )
    args = parser.parse_args()
    os.environ.update({k: os.environ.get(k, v) for k, v in ENVIRONMENT.items()})
    recipe = load_recipe(RECIPE, registry=load_plugins())
    with tempfile.TemporaryDirectory() as tmp:
        if args.state_url:
            from syncfw.recipe.state import PostgresState
            from syncfw.state.postgres import PostgresStore

            store: StateBackend = PostgresStore(PostgresState(args.state_url, args.state_url), recipe.name)
        else:
            store = StateStore(Path(tmp) / "state.sqlite")
        try:
            figures = measure(store, recipe, args.pages)
        finally:
            store.close()
    print(json.dumps(figures, indent=2))


TARGET_PAGES = 100_000
TARGET_BYTES = 300


def target_row(result: Any) -> dict[str, Any]:
    """Issue 15's state target as a row of the targets table, judged on what the store keeps per
    page while the page exists: without the journal and run history, which retention prunes by
    age and count (``retention.journal_days``, ``retention.history_runs``), not by page; the
    whole store's figure right after the import is stated beside it."""
    row = {"name": f"State per synced page at {TARGET_PAGES:,} pages", "target": f"≤ {TARGET_BYTES} bytes"}
    if not has_figures(result):
        reason = result["error"] if isinstance(result, dict) else "not run"
        return {**row, "measured": f"not measured: {reason}", "met": None}
    pages = sum(result["pages"].values())
    measured = (
        f"{result['bytes_per_page_without_journal_and_history']:g} bytes at {pages:,} pages "
        f"({result['bytes_per_page']:g} with the import's journal and run history, pruned by retention)"
    )
    if pages < TARGET_PAGES:
        return {**row, "measured": f"not measured in this mode ({measured})", "met": None}
    return {
        **row,
        "measured": measured,
        "met": result["bytes_per_page_without_journal_and_history"] <= TARGET_BYTES,
    }


def markdown(result: Any) -> list[str]:
    """The section of ``docs/benchmarks.md``."""
    lines = section_head("State size per synced page (issue 15)", __doc__, result)
    if not has_figures(result):
        return lines
    pages = ", ".join(f"{n:,} {name}" for name, n in result["pages"].items())
    lines += [
        f"Pages: {pages}; schema version {result['schema_version']}; filled in {result['fill_seconds']} s. "
        f"**{result['bytes_per_page']:g} bytes per page** in all, "
        f"{result['bytes_per_page_without_journal_and_history']:g} without the journal and run history.",
        "",
        "| table (with its indexes) | bytes per page |",
        "|---|---|",
    ]
    lines += [f"| {name} | {size:g} |" for name, size in result["bytes_per_page_by_table"].items()]
    return [*lines, ""]


if __name__ == "__main__":
    main()
