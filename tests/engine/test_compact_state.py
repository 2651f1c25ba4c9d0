"""State per page stays small (issue 15): a long value syncfw wrote is kept as a digest, which
still tells a human edit from what syncfw wrote; its value comes from the journal while
retention keeps it there, and a drift report says when it no longer does."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from syncfw.clock import iso, utcnow
from syncfw.engine.rollback import rollback
from syncfw.engine.run import RunReport
from syncfw.plugins import Registry
from syncfw.recipe import Recipe
from syncfw.sandbox.runner import Sandbox
from syncfw.state import open_state
from syncfw.state.sql import PAGES_OF
from tests.engine.test_sync_end_to_end import (
    FAST,
    bump,
    by_key,
    init,
    pages,
    recipe,
    seed,
    sync,
    text,
    write_seed,
)

__all__ = ["recipe"]  # the fixture

EDITED = "Edited by hand in Notion, longer than a digest"


def _edit_description(sandbox: Sandbox, data_source_id: str) -> tuple[str, str]:
    """A person edits the Description of the first account page; answers its key and old text."""
    page = sorted(pages(sandbox, data_source_id), key=lambda p: text(p["properties"]["Salesforce ID"]))[0]
    old = text(page["properties"]["Description"])
    assert sandbox.notion is not None and len(old) > 20
    sandbox.notion.human_edit(
        page["id"], {"Description": {"rich_text": [{"text": {"content": EDITED}}]}}, user_name="Ada Lovelace"
    )
    return text(page["properties"]["Salesforce ID"]), old


def _finding(report: RunReport) -> dict[str, Any]:
    (finding,) = report.targets["accounts"].as_dict()["drift_findings"]
    return dict(finding)


def test_a_long_value_is_kept_as_a_digest_and_a_human_edit_of_it_is_reverted_with_the_journals_value(
    sandbox: Sandbox, recipe: Recipe, registry: Registry
) -> None:
    ids = init(recipe)
    assert sync(recipe, registry).exit_code == 0
    store = open_state(recipe)
    rows = store._query(f"SELECT written FROM pages WHERE {PAGES_OF}", ("accounts",))  # type: ignore[attr-defined]
    store.close()
    descriptions = [text(p["properties"]["Description"]) for p in pages(sandbox, ids["accounts"])]
    assert not any(d and d.encode() in bytes(row[0]) for d in descriptions for row in rows)  # only digests
    assert sync(recipe, registry).notion_requests["writes"] == 0  # a rerun with nothing new

    key, old = _edit_description(sandbox, ids["accounts"])
    report = sync(recipe, registry)
    finding = _finding(report)
    assert (finding["property"], finding["synced"], finding["live"], finding["action"]) == (
        "Description", old, EDITED, "reverted",
    )  # fmt: skip
    assert text(by_key(pages(sandbox, ids["accounts"]))[key]["properties"]["Description"]) == old
    assert sync(recipe, registry).notion_requests["writes"] == 0


def test_once_the_journal_is_pruned_a_human_edit_of_a_long_value_is_still_found_and_flagged(
    sandbox: Sandbox, recipe: Recipe, registry: Registry
) -> None:
    ids = init(recipe)
    assert sync(recipe, registry).exit_code == 0
    store = open_state(recipe)
    with store.transaction() as tx:
        tx.prune(keep_runs=10, journal_before="9999-01-01T00:00:00.000Z")
    store.close()

    key, _ = _edit_description(sandbox, ids["accounts"])
    report = sync(recipe, registry)
    finding = _finding(report)
    assert (finding["property"], finding["synced"], finding["live"], finding["action"]) == (
        "Description", None, EDITED, "flagged",
    )  # fmt: skip
    assert any(
        f"{key} property 'Description': edited in Notion, not reverted" in w
        for w in report.targets["accounts"].plan.warnings
    )
    assert report.notion_requests["writes"] == 0
    assert text(by_key(pages(sandbox, ids["accounts"]))[key]["properties"]["Description"]) == EDITED


def test_rollback_refuses_a_value_from_before_the_run_that_only_a_pruned_journal_held(
    sandbox: Sandbox, recipe: Recipe, registry: Registry, seed_dir: Path
) -> None:
    ids = init(recipe)
    assert sync(recipe, registry).exit_code == 0
    assert sync(recipe, registry).notion_requests["writes"] == 0  # reads the pages the first run made
    store = open_state(recipe)
    with store.transaction() as tx:  # as retention does once those writes are journal_days old
        tx._execute("UPDATE journal SET created_at = '2000-01-01T00:00:00.000Z'")  # type: ignore[attr-defined]
        tx.prune(keep_runs=10, journal_before=iso(utcnow().replace(microsecond=0), "milliseconds") or "")
    store.close()
    accounts = seed(seed_dir, "Account")
    changed = accounts[0]
    old = changed["Description"]
    changed.update(Description="A new description, from the source", AnnualRevenue=1.0)
    bump(changed)
    write_seed(seed_dir, "Account", accounts)
    run = sync(recipe, registry)  # the page is not read again (nobody edited it): N is what syncfw wrote
    assert run.targets["accounts"].done["update"] == 1

    undone = rollback(recipe, run.run_id, rate_limit=FAST)
    (step,) = [s for s in undone.steps if s.sync_key == changed["Id"]]
    assert step.refused == {"Description": "its value before the run is no longer known"}
    assert step.restored == {"Annual Revenue": 139000000}  # short: kept in state, so journaled
    page = by_key(pages(sandbox, ids["accounts"]))[changed["Id"]]
    assert text(page["properties"]["Description"]) == "A new description, from the source" != old
