"""Carrying out a target's plan: write-ahead intent, Notion write, state commit, page by page.

Every write is journaled before it is sent (an *intent* with the before and after values) and
settled after the response, in the same state transaction that records what was written. A
crash therefore leaves at most the writes in flight as open intents, which the next run settles
by reading Notion (:mod:`syncfw.engine.recover`) before it plans anything. A create whose
outcome is unknown (timeout, reset, 5xx after sending) is settled by looking the sync key up
before anything is re-sent: a page is never created twice. The journal's before-images are what
``syncfw rollback`` restores.

Writes are issued from a few threads; the rate budget paces them, so the budget stays saturated
when the API is slow. When the run is asked to stop (SIGINT/SIGTERM), writes not yet started are
left for the next run and the cursors stay before their records.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from syncfw.engine.plan import Operation, TargetPlan
from syncfw.errors import NotionRejected, RecordProblem
from syncfw.mapping import encode
from syncfw.notion.client import AmbiguousWrite, NotionClient
from syncfw.state import QuarantinedRecord, StateStore

WORKERS = 4
CREATE_ATTEMPTS = 5


def now() -> str:
    """The current UTC time as ISO 8601 with milliseconds, e.g. ``2026-11-21T21:05:01.250Z``."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Applier:
    """Applies one :class:`TargetPlan` for run ``run_id``.

    Args:
        stop: when set, writes not yet started are skipped (their records keep the cursor back).
        on_done: called after each write (progress).
    """

    def __init__(
        self,
        client: NotionClient,
        store: StateStore,
        plan: TargetPlan,
        run_id: str,
        *,
        stop: threading.Event | None = None,
        on_done: Callable[[], None] | None = None,
    ) -> None:
        self.client = client
        self.store = store
        self.plan = plan
        self.run_id = run_id
        self.target = plan.target
        self.stop = stop or threading.Event()
        self.on_done = on_done
        self._lock = threading.Lock()
        self.done: dict[str, int] = {"create": 0, "update": 0, "archive": 0}
        self.skipped = 0

    def _encode(self, values: dict[str, Any]) -> dict[str, Any]:
        return {name: encode(self.plan.types[name], value)[0] for name, value in values.items()}

    def _intent(self, op: Operation) -> int:
        action = "restore" if op.restore else op.action
        with self.store.transaction() as tx:
            return tx.open_intent(
                self.run_id, self.target, action, op.sync_key, op.page_id, op.before, op.after, now()
            )

    def _create(self, op: Operation, seq: int) -> None:
        key_prop = self.plan.sync_key_property
        props = self._encode(op.after)
        page: dict[str, Any] | None = None
        for attempt in range(CREATE_ATTEMPTS):
            try:
                page = self.client.create_page(self.plan.data_source_id, props)
                break
            except AmbiguousWrite:
                # Notion may have created it: look before sending it again (no idempotency keys)
                found = self.client.find_pages(
                    self.plan.data_source_id, key_prop, self.plan.types[key_prop], op.sync_key
                )
                if found:
                    page = found[0]
                    break
                if attempt == CREATE_ATTEMPTS - 1:
                    raise
                time.sleep(min(2**attempt, 10))
        assert page is not None
        op.page_id = page["id"]
        with self.store.transaction() as tx:
            tx.set_page(self.target, op.sync_key, page["id"], created_by_syncfw=True)
            tx.set_written(self.target, op.sync_key, op.after)
            tx.settle(seq, "applied", now(), page["id"])

    def _update(self, op: Operation, seq: int) -> None:
        assert op.page_id is not None
        self.client.update_page(
            op.page_id, properties=self._encode(op.after), in_trash=False if op.restore else None
        )
        with self.store.transaction() as tx:
            tx.set_page(self.target, op.sync_key, op.page_id, created_by_syncfw=False)
            tx.set_written(self.target, op.sync_key, op.after)
            tx.settle(seq, "applied", now())

    def _archive(self, op: Operation, seq: int) -> None:
        assert op.page_id is not None
        try:
            self.client.update_page(op.page_id, in_trash=True)
        except NotionRejected:
            # a retry of an archive whose answer was lost finds the page already in trash
            if not self.client.retrieve_page(op.page_id).get("in_trash"):
                raise
        with self.store.transaction() as tx:
            tx.set_archived(self.target, op.sync_key, True)
            tx.settle(seq, "applied", now())

    def _one(self, op: Operation) -> None:
        if self.stop.is_set():
            with self._lock:
                self.skipped += 1
                for mapping, position in op.records:
                    self.plan.fail(mapping, position)
            return
        seq = self._intent(op)
        try:
            {"create": self._create, "update": self._update, "archive": self._archive}[op.action](op, seq)
        except NotionRejected as exc:
            with self.store.transaction() as tx:
                tx.settle(seq, "absent", now())
            self._rejected(op, str(exc))
        else:
            with self._lock:
                self.done[op.action] += 1
        if self.on_done is not None:
            self.on_done()

    def _rejected(self, op: Operation, reason: str) -> None:
        """Notion refused the write as invalid: quarantine the records behind it."""
        with self._lock:
            if not op.records:
                self.plan.problems.append(RecordProblem("notion", self.target, op.sync_key, None, reason))
            for mapping, position in op.records:
                read = self.plan.reads[mapping]
                record = read.records[position]
                problem = RecordProblem(read.source, read.stream, record.key, None, reason)
                self.plan.problems.append(problem)
                self.plan.quarantine.append((mapping, record, problem))
                self.plan.evaluated.discard((mapping, record.key))

    def apply(self) -> None:
        """Write every operation, then record what the plan learnt (agreed values, matches,
        quarantine).

        Raises:
            NotionError, StateError: fatal; writes already made are committed in state and the
                write in flight stays an open intent for the next run to settle.
        """
        pool = ThreadPoolExecutor(WORKERS, thread_name_prefix="syncfw-write")
        try:
            for future in [pool.submit(self._one, op) for op in self.plan.operations]:
                future.result()
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        stamp = now()
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
            for mapping, records in self.plan.unmatched_records.items():
                for record_key, data in records.items():
                    tx.set_unmatched(self.target, mapping, record_key, data)
            for mapping, record_key in self.plan.evaluated:
                tx.release(self.target, mapping, record_key)
            for mapping, record, problem in self.plan.quarantine:
                tx.quarantine(
                    QuarantinedRecord(
                        self.target,
                        mapping,
                        record.key,
                        problem.source,
                        problem.stream,
                        problem.property,
                        problem.reason,
                        dict(record.data),
                        record.deleted,
                        stamp,
                        stamp,
                        1,
                    )
                )
