"""Carrying out a target's plan: writes to Notion, then the state store, record by record.

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
from syncfw.recipe import BoundMapping, Target
from syncfw.state import StateStore

WORKERS = 4


class Applier:
    """Applies one :class:`TargetPlan`; collects what failed and warnings from encoding."""

    def __init__(
        self,
        client: NotionClient,
        store: StateStore,
        target: Target,
        mapping: BoundMapping,
        plan: TargetPlan,
        on_done: Callable[[], None] | None = None,
    ) -> None:
        self.client = client
        self.store = store
        self.target = target
        self.types = {name: spec.type for name, spec in mapping.properties.items()}
        self.plan = plan
        self.on_done = on_done
        self.source = plan.read.source if plan.read else ""
        self.stream = plan.read.stream if plan.read else ""
        self._lock = threading.Lock()
        self.done: dict[str, int] = {"create": 0, "update": 0, "archive": 0}

    def _encode(self, values: dict[str, Any], key: str) -> dict[str, Any]:
        out = {}
        for name, value in values.items():
            request, warnings = encode(self.types[name], value)
            out[name] = request
            for w in warnings:
                with self._lock:
                    self.plan.warnings.append(f"{self.target.name} key {key} property {name!r}: {w}")
        return out

    def _create(self, op: Operation) -> None:
        key_prop = self.plan.sync_key_property
        props = self._encode(op.after, op.sync_key)
        try:
            page = self.client.create_page(self.plan.data_source_id, props)
        except AmbiguousWrite:
            found = self.client.find_pages(
                self.plan.data_source_id, key_prop, self.types[key_prop], op.sync_key
            )
            page = found[0] if found else self.client.create_page(self.plan.data_source_id, props)
        op.page_id = page["id"]
        with self.store.transaction() as tx:
            tx.set_page(self.target.name, op.sync_key, page["id"], created_by_syncfw=True)
            tx.set_written(self.target.name, op.sync_key, op.after)

    def _update(self, op: Operation) -> None:
        assert op.page_id is not None
        self.client.update_page(op.page_id, properties=self._encode(op.after, op.sync_key))
        with self.store.transaction() as tx:
            tx.set_page(self.target.name, op.sync_key, op.page_id, created_by_syncfw=False)
            tx.set_written(self.target.name, op.sync_key, op.after)

    def _archive(self, op: Operation) -> None:
        assert op.page_id is not None
        self.client.update_page(op.page_id, in_trash=True)
        with self.store.transaction() as tx:
            tx.set_archived(self.target.name, op.sync_key, True)

    def _one(self, op: Operation) -> None:
        try:
            {"create": self._create, "update": self._update, "archive": self._archive}[op.action](op)
        except NotionRejected as exc:
            with self._lock:
                self.plan.problems.append(
                    RecordProblem(self.source, self.stream, op.sync_key, None, str(exc))
                )
                if op.record is not None:
                    self.plan.failed_records.add(op.record)
        else:
            with self._lock:
                self.done[op.action] += 1
        if self.on_done is not None:
            self.on_done()

    def apply(self) -> None:
        """Write every operation, then record agreed values and advance the stream cursor.

        Raises:
            NotionError, StateError: fatal; writes already made are committed in state, the
                cursor does not move.
        """
        if self.plan.agreed:
            with self.store.transaction() as tx:
                for key, values in self.plan.agreed.items():
                    tx.set_page(self.target.name, key, self.plan.page_ids[key], created_by_syncfw=False)
                    tx.set_written(self.target.name, key, values)
        pool = ThreadPoolExecutor(WORKERS, thread_name_prefix="syncfw-write")
        try:
            for future in [pool.submit(self._one, op) for op in self.plan.operations]:
                future.result()
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
