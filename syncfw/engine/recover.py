"""Settling the open intents a crashed run left behind, before a new run plans anything.

An intent is open when syncfw recorded a write but not its outcome: the process died (or lost
the connection) between the two. Notion has no idempotency keys, so the only way to know is to
look (DESIGN.md rule 3):

* ``create``: query the data source for the sync key. Found: the page is adopted (identity map,
  last written values) and the intent is ``applied``. Not found: ``absent``, and the plan will
  create it, once.
* ``update`` / ``restore``: read the page. Every property holds the intended value: ``applied``
  (its last written values are recorded). Otherwise ``absent``; the plan writes what is needed.
* ``archive``: read the page; in trash means ``applied``.

A request can still be committed by Notion after the client that sent it is gone (Notion gives a
request up to 60 seconds). So before looking for the page of a create sent less than
``SYNCFW_INFLIGHT_GRACE`` seconds ago (default 65), recovery waits until it is that old: a page
committed late would otherwise be created a second time.
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime
from typing import Any

from syncfw.engine.apply import now
from syncfw.errors import NotionNotFound
from syncfw.mapping import decode
from syncfw.notion.client import NotionClient
from syncfw.recipe import Recipe
from syncfw.state import JournalEntry, StateStore

DEFAULT_INFLIGHT_GRACE = 65.0
"""Seconds after sending during which Notion may still commit a request (it allows 60)."""


def _types(recipe: Recipe, target: str) -> dict[str, str]:
    t = recipe.targets[target]
    types: dict[str, str] = {name: spec.type for name, spec in t.properties.items()}
    return types


def _holds(page: dict[str, Any], after: dict[str, Any], types: dict[str, str]) -> bool:
    props = page.get("properties", {})
    for name, value in after.items():
        if name not in props or name not in types:
            return False
        live = decode(types[name], props[name])
        if types[name] == "relation":
            live = tuple(sorted(live or ()))
            value = tuple(sorted(value or ()))
        if live != value:
            return False
    return True


def settle_open_intents(
    client: NotionClient, store: StateStore, recipe: Recipe, data_sources: dict[str, str]
) -> list[str]:
    """Settle every open intent; return one line per intent saying what was found.

    Raises:
        NotionError, StateError: Notion or the state store failed; intents stay open.
    """
    lines = []
    open_intents = store.journal(status="open")
    _wait_for_requests_in_flight(open_intents)
    for entry in open_intents:
        if entry.target not in recipe.targets or entry.target not in data_sources:
            with store.transaction() as tx:
                tx.settle(entry.seq, "absent", now())
            lines.append(f"intent {entry.seq}: target {entry.target} is no longer in the recipe; closed")
            continue
        status = _settle(client, store, recipe, entry, data_sources[entry.target])
        lines.append(
            f"intent {entry.seq} of run {entry.run_id}: {entry.action} {entry.sync_key} was {status}"
        )
    return lines


def _wait_for_requests_in_flight(entries: list[JournalEntry]) -> None:
    grace = float(os.environ.get("SYNCFW_INFLIGHT_GRACE", DEFAULT_INFLIGHT_GRACE))
    sent = [
        datetime.fromisoformat(e.created_at.replace("Z", "+00:00")) for e in entries if e.action == "create"
    ]
    if not sent:
        return
    age = (datetime.now(UTC) - max(sent)).total_seconds()
    if age < grace:
        time.sleep(grace - age)


def _settle(
    client: NotionClient, store: StateStore, recipe: Recipe, entry: JournalEntry, data_source_id: str
) -> str:
    types = _types(recipe, entry.target)
    key_prop = recipe.targets[entry.target].sync_key
    if entry.action == "create":
        found = client.find_pages(data_source_id, key_prop, types[key_prop], entry.sync_key)
        with store.transaction() as tx:
            if not found:
                tx.settle(entry.seq, "absent", now())
                return "absent"
            page = found[0]
            tx.set_page(entry.target, entry.sync_key, page["id"], created_by_syncfw=True)
            if _holds(page, entry.after, types):
                tx.set_written(entry.target, entry.sync_key, entry.after)
            tx.settle(entry.seq, "applied", now(), page["id"])
        return "applied"
    if entry.page_id is None:
        with store.transaction() as tx:
            tx.settle(entry.seq, "absent", now())
        return "absent"
    try:
        page = client.retrieve_page(entry.page_id)
    except NotionNotFound:
        with store.transaction() as tx:
            tx.settle(entry.seq, "absent", now())
        return "absent (page gone)"
    with store.transaction() as tx:
        if entry.action == "archive":
            applied = bool(page.get("in_trash"))
            if applied:
                tx.set_archived(entry.target, entry.sync_key, True)
        else:
            applied = _holds(page, entry.after, types) and (
                entry.action != "restore" or not page.get("in_trash")
            )
            if applied:
                tx.set_written(entry.target, entry.sync_key, entry.after)
                if entry.action == "restore":
                    tx.set_page(entry.target, entry.sync_key, entry.page_id, created_by_syncfw=False)
        tx.settle(entry.seq, "applied" if applied else "absent", now())
    return "applied" if applied else "absent"
