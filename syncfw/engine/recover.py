"""Settling the open intents a crashed run left behind, before a new run plans anything.

An intent is open when syncfw recorded a write but not its outcome: the process died (or lost
the connection) between the two, or a create whose answer was lost was still not found when the
run that sent it looked once the grace had passed (it was reported *pending*). Notion has no idempotency keys, so the only way to know is to
look (DESIGN.md rule 3):

* ``create``: query the data source for the sync key (compared exactly). Found: the page is adopted (identity map,
  last written values) and the intent is ``applied``. Not found: ``absent``, and the plan will
  create it, once.
* ``update`` / ``restore``: read the page. Every property holds the intended value: ``applied``
  (its last written values are recorded). Otherwise ``absent``; the plan writes what is needed.
* ``archive``: read the page; in trash means ``applied``.

``syncfw rollback`` journals its own writes the same way, under the run id
``rollback-of-<seq>`` (:func:`rollback_run_id`), ``seq`` being the journal entry it undoes: an
``archive`` (a page the run created or restored goes to the trash), a ``restore`` (a page the run
archived comes back) or an ``update`` (properties get their values from before the run). Such an
intent found applied also settles the entry it undoes as ``rolled_back``, in the same transaction.

A request can still be committed by Notion after the client that sent it is gone (Notion gives a
request up to 60 seconds). So before looking for the page of a create, or reading the page a
rollback was changing, sent less than ``SYNCFW_INFLIGHT_GRACE`` seconds ago (default 65),
recovery waits until it is that old: a page committed late would otherwise be created a second
time, or moved to the trash after recovery recorded that it was not.
"""

from __future__ import annotations

import time
from datetime import datetime

from syncfw.clock import now_iso, utcnow
from syncfw.engine.apply import holds, inflight_grace, settle_create
from syncfw.errors import NotionNotFound
from syncfw.notion.client import NotionClient
from syncfw.recipe import Recipe
from syncfw.state import JournalEntry, StateBackend

_ROLLBACK_RUN = "rollback-of-"


def rollback_run_id(seq: int) -> str:
    """The run id under which ``syncfw rollback`` journals the writes that undo entry ``seq``."""
    return f"{_ROLLBACK_RUN}{seq}"


def undone_entry(entry: JournalEntry) -> int | None:
    """The journal entry that ``entry`` (an intent of ``syncfw rollback``) undoes; None for the
    intents of a run."""
    rest = entry.run_id.removeprefix(_ROLLBACK_RUN)
    return int(rest) if rest != entry.run_id and rest.isdigit() else None


def _types(recipe: Recipe, target: str) -> dict[str, str]:
    t = recipe.targets[target]
    types: dict[str, str] = {name: spec.type for name, spec in t.properties.items()}
    return types


def settle_open_intents(
    client: NotionClient, store: StateBackend, recipe: Recipe, data_sources: dict[str, str]
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
                tx.settle(entry.seq, "absent", now_iso("milliseconds"))
            lines.append(f"intent {entry.seq}: target {entry.target} is no longer in the recipe; closed")
            continue
        status = _settle(client, store, recipe, entry, data_sources[entry.target])
        lines.append(
            f"intent {entry.seq} of run {entry.run_id}: {entry.action} {entry.sync_key} was {status}"
        )
    return lines


def _wait_for_requests_in_flight(entries: list[JournalEntry]) -> None:
    grace = inflight_grace()
    sent = [
        datetime.fromisoformat(e.created_at.replace("Z", "+00:00"))
        for e in entries
        if e.action == "create" or undone_entry(e) is not None
    ]
    if not sent:
        return
    age = (utcnow() - max(sent)).total_seconds()
    if age < grace:
        time.sleep(grace - age)


def _settle(
    client: NotionClient, store: StateBackend, recipe: Recipe, entry: JournalEntry, data_source_id: str
) -> str:
    types = _types(recipe, entry.target)
    key_prop = recipe.targets[entry.target].sync_key or ""  # an update target opens no create
    if entry.action == "create":
        page_id = settle_create(
            client,
            store,
            data_source_id=data_source_id,
            target=entry.target,
            key_property=key_prop,
            types=types,
            seq=entry.seq,
            sync_key=entry.sync_key,
            after=entry.after,
        )
        if page_id is None:
            with store.transaction() as tx:
                tx.settle(entry.seq, "absent", now_iso("milliseconds"))
            return "absent"
        return "applied"
    if entry.page_id is None:
        with store.transaction() as tx:
            tx.settle(entry.seq, "absent", now_iso("milliseconds"))
        return "absent"
    try:
        page = client.retrieve_page(entry.page_id)
    except NotionNotFound:
        with store.transaction() as tx:
            tx.settle(entry.seq, "absent", now_iso("milliseconds"))
        return "absent (page gone)"
    with store.transaction() as tx:
        if entry.action == "archive":
            applied = bool(page.get("in_trash"))
            if applied:
                tx.set_archived(entry.target, entry.sync_key, True)
        else:
            applied = holds(page, entry.after, types) and (
                entry.action != "restore" or not page.get("in_trash")
            )
            if applied:
                if entry.action == "restore":
                    tx.set_page(entry.target, entry.sync_key, entry.page_id, created_by_syncfw=False)
                tx.set_written(entry.target, entry.sync_key, entry.after)
        tx.settle(entry.seq, "applied" if applied else "absent", now_iso("milliseconds"))
        undone = undone_entry(entry)
        if applied and undone is not None:
            tx.settle(undone, "rolled_back", now_iso("milliseconds"))
    return "applied" if applied else "absent"
