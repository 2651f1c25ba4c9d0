"""What two of issue 11's guarantees cost, in requests per 10,000 pages: reconciliation of
deletes that leave no tombstone, and relations longer than the 25 a page object lists.

1. **Reconciliation.** Setup (not measured): a Salesforce org (the connector's emulator, with
   ``bulk`` generated accounts, served over HTTPS and read by simple-salesforce) whose N accounts
   are synced into the target ``rows`` against an unlimited Notion emulator, its clock replaying
   the setup as a sync at 3 requests/second that ended an hour ago (see
   :class:`bench.common.Clock`). Then, against the emulator playing Notion (3.15/s, burst 6,
   400 ms latency) with the recipe's budget of 3/s, three runs with nothing changed at the source
   before the third: (a) an ordinary incremental run; (b) the same with ``reconcile=True``
   (``syncfw run --reconcile``); (c) ``reconcile=True`` after 1% of the accounts were hard-deleted
   (:meth:`SalesforceOrg.hard_delete`: no ``queryAll`` returns them, no tombstone). Measured for
   each: the requests Notion and Salesforce received (the emulators' counters: Salesforce's
   ``api_requests`` is what the org counts against its daily allowance) and the wall time of the
   key scan (from the run's "scanning the keys" progress event to its next one). Checked: (a)
   scans nothing; (b) scans N keys and archives nothing; (c) finds and archives exactly the
   deleted accounts' pages, and Notion keeps the others.
2. **Relation reads.** Two recipes over JSON Lines files (files connector, no source requests):
   a target ``items`` of :data:`ITEMS` pages and a target ``rows`` of N pages, each relating to
   R pages of ``items``, for R = :data:`LONG` (over the 25 a page object lists, so every page's
   relation says ``has_more`` and the rest is read through the page property item endpoint,
   ``GET /v1/pages/{id}/properties/{id}``) and R = :data:`SHORT` (the baseline). Setup as in 1,
   against the unlimited emulator. Measured, each against the unlimited emulator (at 3/s a full
   read of 10,000 long relations would take about an hour; the request counts are the same at
   any speed): a no-change incremental run, then a no-change full read (``full_refresh=True``).
   Checked: neither writes nor reports drift, and the full read of long relations reads each
   page's relation exactly once through the item endpoint.

What each guarantee costs (``cost``) is a difference between runs: the key scan is (b) minus
(a), the archives are (c) minus (a), long relations are R = 30 minus R = 10. These costs grow with
the number of pages (one Salesforce query per 2,000 Ids, one archive per deleted record, one
item read per page with a long relation), so each is also given scaled to 10,000 pages
(``per_10k``, exact when N is 10,000, as in the full run); the runs' own figures include each
run's fixed requests (schema reads, the query that finds no edited page) and are not scaled.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from syncfw_salesforce.emulator import SalesforceEmulator, SalesforceOrg

from bench.common import (
    BUDGET,
    FAST,
    TARGET,
    ServedNotion,
    Workspace,
    counts,
    log,
)
from syncfw.connector import EmulatorContext
from syncfw.emulation import TLSFiles
from syncfw.engine.run import Progress, RunReport
from syncfw.plugins import Registry

PER = 10_000
"""The figures are also given per this many pages of the target."""
DELETED_SHARE = 100
"""One account in this many is hard-deleted before run (c)."""
ITEMS = 100
"""Pages of the related target ``items``."""
LONG = 30
"""Related pages of each page in the long-relation recipe (over the 25 a page object lists)."""
SHORT = 10
"""Related pages of each page in the baseline recipe."""
RELATION_ITEM_ENDPOINT = "GET /v1/pages/{id}/properties/{property_id}"

SALESFORCE_MAPPING = """\
mapping: rows
connector: salesforce
stream: Account
sync_key: Key
properties:
  Key: {type: rich_text, field: Id}
  Name: {type: title, field: Name}
  Industry: {type: select, field: Industry}
  Annual Revenue: {type: number, field: AnnualRevenue}
  Website: {type: url, field: Website}
"""

SALESFORCE_RECIPE = """\
recipe: bench-reconcile
owner: bench@example.com
description: >
  syncfw benchmark: syncs the Salesforce emulator's generated accounts into Notion. Runs by hand
  from bench/run.py. If it fails, nothing breaks.
tier: production
notion: {{token: "${{env:NOTION_TOKEN}}", rate_limit: {budget}/s}}
sources:
  salesforce:
    connector: salesforce
    config: {{instance_url: "${{env:SALESFORCE_INSTANCE_URL}}", session_id: "${{env:SALESFORCE_SESSION_ID}}"}}
state: {{path: state.sqlite}}
targets:
  rows:
    database: {{title: Accounts, parent_page: "${{env:NOTION_PARENT_PAGE_ID}}"}}
    sync_key: Key
    mappings: [rows.yaml]
    on_delete: archive
    guard: {{max_change: 100%}}
"""

ITEMS_MAPPING = """\
mapping: items
connector: files
stream: rows
sync_key: Key
properties:
  Key: {type: rich_text, field: key}
  Name: {type: title, field: name}
"""

ROWS_MAPPING = """\
mapping: rows
connector: files
stream: rows
sync_key: Key
properties:
  Key: {type: rich_text, field: key}
  Name: {type: title, field: name}
  Items: {type: relation, target: items, field: items}
"""

RELATIONS_RECIPE = """\
recipe: bench-relations-{related}
owner: bench@example.com
description: >
  syncfw benchmark: syncs two generated files, one relating to the other, into Notion. Runs by
  hand from bench/run.py. If it fails, nothing breaks.
tier: production
notion: {{token: "${{env:NOTION_TOKEN}}", rate_limit: {budget}/s}}
sources:
  items: {{connector: files, config: {{path: "{items}", key: key}}}}
  rows: {{connector: files, config: {{path: "{rows}", key: key}}}}
state: {{path: state.sqlite}}
targets:
  items:
    database: {{title: Items, parent_page: "${{env:NOTION_PARENT_PAGE_ID}}"}}
    sync_key: Key
    mappings: [{{file: items.yaml, source: items}}]
    guard: {{max_change: 100%}}
  rows:
    database: {{title: Rows, parent_page: "${{env:NOTION_PARENT_PAGE_ID}}"}}
    sync_key: Key
    mappings: [{{file: rows.yaml, source: rows}}]
    guard: {{max_change: 100%}}
"""


class KeyScanTimer(Progress):
    """Times the key scans of a run: from each "scanning the keys" phase event to the next one."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._scan_started: float | None = None

    def phase(self, target: str, text: str) -> None:
        now = time.perf_counter()
        if self._scan_started is not None:
            self.seconds += now - self._scan_started
            self._scan_started = None
        if text.startswith("scanning the keys"):
            self._scan_started = now


def measure(directory: Path, registry: Registry, pages: int) -> dict[str, Any]:
    reconciled = reconciliation(directory / "reconcile", registry, pages)
    long = relations(directory / f"relations-{LONG}", registry, pages, LONG)
    short = relations(directory / f"relations-{SHORT}", registry, pages, SHORT)
    cost = {
        f"{kind}_requests": long[kind]["requests"] - short[kind]["requests"]
        for kind in ("full_read", "incremental")
    }
    return {
        "pages": pages,
        "reconciliation": reconciled,
        "relations": {
            "items": ITEMS,
            "long": long,
            "short": short,
            "cost": cost,
            "per_10k": _per_10k(cost, pages),
        },
    }


def _per_10k(cost: Mapping[str, float], pages: int) -> dict[str, float]:
    """Costs that grow linearly with the pages, scaled from ``pages`` to :data:`PER`."""
    return {name: round(value * PER / pages, 2) for name, value in cost.items()}


def _replayed_setup(space: Workspace, expected_requests: int) -> RunReport:
    """The setup run at unlimited speed, stamped as a 3/s sync that ended an hour ago."""
    notion = space.notion
    first = notion.requests()
    notion.clock.replay(lambda: notion.requests() - first, expected=expected_requests)
    try:
        report = space.sync(rate_limit=FAST)
    finally:
        notion.clock.real()
    return report


# -- 1. reconciliation ----------------------------------------------------------------------


def reconciliation(directory: Path, registry: Registry, pages: int) -> dict[str, Any]:
    directory.mkdir(parents=True, exist_ok=True)
    salesforce = SalesforceEmulator()
    context = EmulatorContext(
        data_dir=None,
        state_dir=directory / "salesforce",
        tls=TLSFiles.in_dir(directory / "tls"),
        options={"bulk": str(pages)},
    )
    context.state_dir.mkdir(parents=True, exist_ok=True)
    os.environ.update(salesforce.start(context))
    # simple-salesforce trusts the emulator's certificate through requests' CA bundle
    ca_bundle = os.environ.get("REQUESTS_CA_BUNDLE")
    os.environ["REQUESTS_CA_BUNDLE"] = str(context.tls.ca_file)
    org = salesforce.org
    assert org is not None
    (directory / "rows.yaml").write_text(SALESFORCE_MAPPING)
    (directory / "recipe.yaml").write_text(SALESFORCE_RECIPE.format(budget=f"{BUDGET:g}"))
    space = Workspace(directory, directory, ServedNotion(directory / "notion", notion_like=False), registry)
    try:
        space.init_targets()
        log(f"costs: reconciliation setup, {pages:,} Salesforce accounts into Notion (not measured)")
        setup = _replayed_setup(space, pages + 8)
        if counts(setup)["created"] != pages:
            raise RuntimeError(f"costs: the setup created {counts(setup)['created']} pages, not {pages}")
        space.notion.configure(notion_like=True)
        runs: dict[str, Any] = {}
        log("costs: (a) incremental run, nothing changed")
        runs["incremental"] = _source_run(space, org, pages, expect_scanned=None, expect_gone=0)
        log("costs: (b) reconciling run, nothing changed")
        runs["reconcile"] = _source_run(
            space, org, pages, expect_scanned=pages, expect_gone=0, reconcile=True
        )
        keys = sorted(space.notion.page_ids())
        gone = keys[::DELETED_SHARE]
        for key in gone:
            org.hard_delete("Account", key)
        log(f"costs: (c) reconciling run after {len(gone)} hard deletes")
        runs["reconcile_after_deletes"] = _source_run(
            space, org, pages, expect_scanned=pages - len(gone), expect_gone=len(gone), reconcile=True
        )
        left = set(space.notion.page_ids())
        if left != set(keys) - set(gone):
            runs["reconcile_after_deletes"]["problems"].append(
                f"Notion holds {len(left):,} live pages, expected the {len(keys) - len(gone):,} not deleted"
            )
        plain, scan, deletes = runs["incremental"], runs["reconcile"], runs["reconcile_after_deletes"]
        cost = {
            "key_scan_source_requests": scan["source_requests"] - plain["source_requests"],
            "key_scan_notion_requests": scan["notion_requests"] - plain["notion_requests"],
            "key_scan_seconds": scan["key_scan_seconds"],
            "archive_notion_requests": deletes["notion_requests"] - plain["notion_requests"],
        }
        return {
            "source": "salesforce",
            "deleted": len(gone),
            "runs": runs,
            "cost": cost,
            "per_10k": _per_10k(cost, pages),
        }
    finally:
        space.close()
        salesforce.stop()
        if ca_bundle is None:
            os.environ.pop("REQUESTS_CA_BUNDLE", None)
        else:
            os.environ["REQUESTS_CA_BUNDLE"] = ca_bundle


def _source_run(
    space: Workspace,
    org: SalesforceOrg,
    pages: int,
    *,
    expect_scanned: int | None,
    expect_gone: int,
    reconcile: bool = False,
) -> dict[str, Any]:
    """One run against the emulator playing Notion: Notion and Salesforce requests, key scan time."""
    emulator = space.notion.emulator
    emulator.reset_stats()
    before = org.stats
    timer = KeyScanTimer()
    started = time.perf_counter()
    report = space.sync(progress=timer, reconcile=reconcile)
    seconds = time.perf_counter() - started
    after = org.stats
    stats = emulator.stats()
    found = report.targets[TARGET].reconciled
    done = counts(report)
    problems = [f"{r.source}/{r.stream}: {r.error}" for r in found if r.error]
    if expect_scanned is None and found:
        problems.append("it scanned keys without being asked")
    if expect_scanned is not None and [r.scanned for r in found] != [expect_scanned]:
        problems.append(f"it scanned {[r.scanned for r in found]} keys, expected [{expect_scanned}]")
    if done["archived"] != expect_gone or sum(len(r.gone) for r in found) != expect_gone:
        problems.append(f"it archived {done['archived']} pages, expected {expect_gone}")
    if done["created"] or done["updated"] or done["failed"]:
        problems.append(f"it created, updated or failed pages: {done}")
    notion_requests = int(stats["requests"])
    source_requests = after.api_requests - before.api_requests
    return {
        "notion_requests": notion_requests,
        "notion_by_endpoint": dict(sorted(stats["by_endpoint"].items())),
        "source_requests": source_requests,
        "source_queries": after.queries - before.queries,
        "source_query_more": after.query_more - before.query_more,
        "source_records": after.records_returned - before.records_returned,
        "keys_scanned": sum(r.scanned for r in found),
        "gone": sum(len(r.gone) for r in found),
        "key_scan_seconds": round(timer.seconds, 3),
        "rate_limited": int(stats["rate_limited"]),
        "seconds": round(seconds, 2),
        "counts": done,
        "problems": problems,
    }


# -- 2. relation reads -----------------------------------------------------------------------


def _write_jsonl(path: Path, records: list[dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))


def relations(directory: Path, registry: Registry, pages: int, related: int) -> dict[str, Any]:
    directory.mkdir(parents=True, exist_ok=True)
    items, rows = directory / "items.jsonl", directory / "rows.jsonl"
    _write_jsonl(items, [{"key": f"I{n:03d}", "name": f"Item {n}"} for n in range(ITEMS)])
    _write_jsonl(
        rows,
        [
            {
                "key": f"R{i:07d}",
                "name": f"Row {i}",
                "items": [f"I{(i + k) % ITEMS:03d}" for k in range(related)],
            }
            for i in range(pages)
        ],
    )
    (directory / "items.yaml").write_text(ITEMS_MAPPING)
    (directory / "rows.yaml").write_text(ROWS_MAPPING)
    (directory / "recipe.yaml").write_text(
        RELATIONS_RECIPE.format(related=related, items=items, rows=rows, budget=f"{BUDGET:g}")
    )
    space = Workspace(directory, rows, ServedNotion(directory / "notion", notion_like=False), registry)
    try:
        space.init_targets()
        log(f"costs: relations setup, {pages:,} pages relating to {related} pages each (not measured)")
        setup = _replayed_setup(space, pages + ITEMS + 8)
        if counts(setup)["created"] != pages:
            raise RuntimeError(f"costs: the setup created {counts(setup)['created']} pages, not {pages}")
        log(f"costs: relations of {related}: no-change incremental run, then full read")
        incremental = _read_run(space, pages, related, full_refresh=False)
        full = _read_run(space, pages, related, full_refresh=True)
        return {"related": related, "incremental": incremental, "full_read": full}
    finally:
        space.close()


def _read_run(space: Workspace, pages: int, related: int, *, full_refresh: bool) -> dict[str, Any]:
    """One no-change run against the unlimited emulator: its Notion requests and checks."""
    emulator = space.notion.emulator
    emulator.reset_stats()
    started = time.perf_counter()
    report = space.sync(rate_limit=FAST, full_refresh=full_refresh)
    seconds = time.perf_counter() - started
    stats = emulator.stats()
    by_endpoint = dict(sorted(stats["by_endpoint"].items()))
    item_reads = by_endpoint.get(RELATION_ITEM_ENDPOINT, 0)
    problems = []
    if report.notion_requests["writes"]:
        problems.append(f"it wrote {report.notion_requests['writes']} times")
    drift = sum(len(t.plan.drift) for t in report.targets.values())
    if drift:
        problems.append(f"it reported {drift} pages as drift")
    expected_item_reads = pages if full_refresh and related > 25 else 0
    if full_refresh and item_reads != expected_item_reads:
        problems.append(
            f"it read {item_reads} relations through the item endpoint, expected {expected_item_reads}"
        )
    requests = int(stats["requests"])
    return {
        "requests": requests,
        "by_endpoint": by_endpoint,
        "relation_item_reads": item_reads,
        "seconds": round(seconds, 2),
        "seconds_at_budget": round(requests / BUDGET, 1),
        "problems": problems,
    }
