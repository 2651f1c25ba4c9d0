"""Carrying out a target's plan: writes to Notion, then the state store, page by page.

Each write is followed by a state commit of what was written, so a crash loses at most the
writes in flight. A create whose outcome is unknown (timeout, reset, 5xx after sending) is
settled by looking the sync key up before anything is re-sent: a page is never created twice.
Writes are issued from a few threads; the rate budget paces them, so the budget stays saturated
when the API is slow.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from syncfw.engine.plan import Operation, TargetPlan
from syncfw.errors import NotionRejected, RecordProblem
from syncfw.mapping import encode
from syncfw.notion.client import AmbiguousWrite, NotionClient
from syncfw.state import StateStore

WORKERS = 4


class Applier:
    """Applies one :class:`TargetPlan`; failed writes are added to the plan's problems."""

    def __init__(
        self,
        client: NotionClient,
        store: StateStore,
        plan: TargetPlan,
        on_done: Callable[[], None] | None = None,
    ) -> None:
        self.client = client
        self.store = store
        self.plan = plan
        self.target = plan.target
        self.on_done = on_done
        self._lock = threading.Lock()
        self.done: dict[str, int] = {"create": 0, "update": 0, "archive": 0}

    def _encode(self, values: dict[str, Any]) -> dict[str, Any]:
        return {name: encode(self.plan.types[name], value)[0] for name, value in values.items()}

    def _create(self, op: Operation) -> None:
        key_prop = self.plan.sync_key_property
        props = self._encode(op.after)
        try:
            page = self.client.create_page(self.plan.data_source_id, props)
        except AmbiguousWrite:
            found = self.client.find_pages(
                self.plan.data_source_id, key_prop, self.plan.types[key_prop], op.sync_key
            )
            page = found[0] if found else self.client.create_page(self.plan.data_source_id, props)
        op.page_id = page["id"]
        with self.store.transaction() as tx:
            tx.set_page(self.target, op.sync_key, page["id"], created_by_syncfw=True)
            tx.set_written(self.target, op.sync_key, op.after)

    def _update(self, op: Operation) -> None:
        assert op.page_id is not None
        self.client.update_page(
            op.page_id, properties=self._encode(op.after), in_trash=False if op.restore else None
        )
        with self.store.transaction() as tx:
            tx.set_page(self.target, op.sync_key, op.page_id, created_by_syncfw=False)
            tx.set_written(self.target, op.sync_key, op.after)

    def _archive(self, op: Operation) -> None:
        assert op.page_id is not None
        self.client.update_page(op.page_id, in_trash=True)
        with self.store.transaction() as tx:
            tx.set_archived(self.target, op.sync_key, True)

    def _one(self, op: Operation) -> None:
        try:
            {"create": self._create, "update": self._update, "archive": self._archive}[op.action](op)
        except NotionRejected as exc:
            read = self.plan.reads.get(op.records[0][0]) if op.records else None
            source = read.source if read else "notion"
            stream = read.stream if read else self.target
            with self._lock:
                self.plan.problems.append(RecordProblem(source, stream, op.sync_key, None, str(exc)))
                for mapping, position in op.records:
                    self.plan.fail(mapping, position)
        else:
            with self._lock:
                self.done[op.action] += 1
        if self.on_done is not None:
            self.on_done()

    def apply(self) -> None:
        """Write every operation, then record what the plan learnt (agreed values, matches).

        Raises:
            NotionError, StateError: fatal; writes already made are committed in state.
        """
        pool = ThreadPoolExecutor(WORKERS, thread_name_prefix="syncfw-write")
        try:
            for future in [pool.submit(self._one, op) for op in self.plan.operations]:
                future.result()
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        with self.store.transaction() as tx:
            for key, values in self.plan.agreed.items():
                tx.set_page(self.target, key, self.plan.page_ids[key], created_by_syncfw=False)
                tx.set_written(self.target, key, values)
            for key, keys in self.plan.relation_keys.items():
                tx.set_relation_keys(self.target, key, keys)
            for mapping, matches in self.plan.matches.items():
                for record_key, page_key in matches.items():
                    tx.set_match(self.target, mapping, record_key, page_key)
            for mapping, members in self.plan.members.items():
                for record_key, member in members.items():
                    tx.set_member(self.target, mapping, record_key, member)
