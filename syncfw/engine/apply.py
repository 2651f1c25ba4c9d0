"""Carrying out a target's plan: write-ahead intent, Notion write, state commit, page by page.

Every write is journaled before it is sent (an *intent* with the before and after values) and
settled after the response, in the same state transaction that records what was written. A
crash therefore leaves at most the writes in flight as open intents, which the next run settles
by reading Notion (:mod:`syncfw.engine.recover`) before it plans anything. A create whose
outcome is unknown (timeout, reset, 5xx after sending) is never sent again: Notion may still
commit it for up to a minute (``SYNCFW_INFLIGHT_GRACE``, default 65 s), so once the target's other
writes are done the run waits until the grace has passed and looks the sync key up. Found: the
page is adopted. Not found (or the run was stopped while waiting): the record is *pending*, its
intent stays open for the next run's recovery (:mod:`syncfw.engine.recover`) and its cursor stays
before it. A page is never created twice. The journal's before-images are what ``syncfw rollback``
restores.

Notion refuses a request body over 500 KB (developers.notion.com/reference/request-limits). A page
whose properties are larger in total is written in parts, each request under the limit and each
journaled: a create with the sync key and as many properties as fit, then updates with the rest.
A page with one property over the limit on its own is not sent: its records are quarantined with
their source, key and that property, and the rest of the target goes on.

Writes are issued from a few threads; the rate budget paces them, so the budget stays saturated
when the API is slow. When the run is asked to stop (SIGINT/SIGTERM), writes not yet started are
left for the next run and the cursors stay before their records.
"""

from __future__ import annotations

import itertools
import math
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from syncfw.clock import now_iso
from syncfw.engine.model import ApplyResult, Operation, Rejection, TargetPlan
from syncfw.engine.pages import live_values
from syncfw.engine.reads import ReadLedger, remember_bot_user
from syncfw.errors import AmbiguousWrite, ConfigError, NotionRejected, RecordProblem
from syncfw.mapping import encode
from syncfw.notion.client import PAYLOAD_LIMIT, NotionClient, body_size, page_number
from syncfw.state import StateBackend

WORKERS = 4
IN_FLIGHT = WORKERS * 8
"""Writes handed to the threads ahead of the oldest unfinished one: what a run holds in flight
stays the same whatever the size of its plan."""
DEFAULT_INFLIGHT_GRACE = 65.0
"""Seconds after sending during which Notion may still commit a request (it allows 60)."""


def inflight_grace() -> float:
    """Seconds to wait after sending a create before its absence in Notion means anything:
    ``SYNCFW_INFLIGHT_GRACE``, default 65 (Notion gives a request up to 60 seconds).

    Raises:
        ConfigError: the variable is not a number of seconds from 0 to 86,400 (a day).
    """
    text = os.environ.get("SYNCFW_INFLIGHT_GRACE")
    if text is None:
        return DEFAULT_INFLIGHT_GRACE
    try:
        seconds = float(text)
    except ValueError:
        seconds = math.nan
    if not 0 <= seconds <= 86_400:  # NaN fails every comparison
        raise ConfigError(
            f"SYNCFW_INFLIGHT_GRACE={text[:40]!r}: expected seconds from 0 to 86400 (default 65: Notion "
            "gives a request up to 60 s)"
        )
    return seconds


def holds(page: dict[str, Any], after: dict[str, Any], types: dict[str, str]) -> bool:
    """Whether ``page`` (from Notion) holds every value of ``after`` (canonical values)."""
    props = page.get("properties", {})
    if any(name not in props or name not in types for name in after):
        return False
    live = live_values(page, {name: types[name] for name in after})
    return all(
        live[name] == (tuple(sorted(value or ())) if types[name] == "relation" else value)
        for name, value in after.items()
    )


def settle_create(
    client: NotionClient,
    store: StateBackend,
    *,
    data_source_id: str,
    target: str,
    key_property: str,
    types: dict[str, str],
    seq: int,
    sync_key: str,
    after: dict[str, Any],
) -> str | None:
    """Look up the page of an open create intent by its sync key (compared exactly).

    Found: the page is adopted (identity map; its last written values when it holds ``after``)
    and the intent is settled ``applied``; returns the page id. Not found: returns None and
    leaves the intent as it is (the caller decides whether absence is final yet).

    Raises:
        NotionError, StateError: the lookup or the state commit failed; the intent stays open.
    """
    found = client.find_pages(data_source_id, key_property, types[key_property], sync_key)
    if not found:
        return None
    page = found[0]
    with store.transaction() as tx:
        tx.set_page(target, sync_key, page["id"], created_by_syncfw=True, number=page_number(page))
        if holds(page, after, types):
            tx.set_written(target, sync_key, after)
        tx.settle(seq, "applied", now_iso("milliseconds"), page["id"])
    return str(page["id"])


class Oversize(ValueError):
    """One property's value alone makes a request body larger than Notion accepts."""

    def __init__(self, prop: str, size: int) -> None:
        super().__init__(
            f"the value is {size:,} bytes as JSON; Notion accepts request bodies of at most "
            f"{PAYLOAD_LIMIT:,} bytes, so the page cannot be written (shorten the source value)"
        )
        self.property = prop


@dataclass
class _Pending:
    """A create whose answer was lost: not sent again, looked up once the grace has passed."""

    op: Operation
    seq: int
    after: dict[str, Any]
    sent: float
    more: bool
    """Parts of the page were still to be written after this create."""


class Applier:
    """Applies one :class:`TargetPlan` for run ``run_id``; :meth:`apply` returns what it did.

    Args:
        ledger: what planning read (the records behind each write, quarantined when Notion
            rejects the write); empty for writes with no record behind them. Each write's records
            are released from it once the write is settled; those of writes held back stay.
        stop: when set, writes not yet started are skipped (their records keep the cursor back),
            and the wait for the grace of lost creates ends.
        on_done: called after each write (progress).
        limit: the most writes to send (None: every write of the plan). The plan's writes go out
            in the order their records were read, the others are held (:attr:`ApplyResult.capped`):
            a connector whose checkpoints follow its cursor field lets the cursors advance up to
            the first record not written, so the next run does not read the others again.
    """

    def __init__(
        self,
        client: NotionClient,
        store: StateBackend,
        plan: TargetPlan,
        run_id: str,
        *,
        ledger: ReadLedger | None = None,
        stop: threading.Event | None = None,
        on_done: Callable[[], None] | None = None,
        limit: int | None = None,
    ) -> None:
        self.client = client
        self.store = store
        self.plan = plan
        self.ledger = ledger or ReadLedger()
        self.run_id = run_id
        self.target = plan.target
        self.stop = stop or threading.Event()
        self.on_done = on_done
        self.limit = limit
        self._lock = threading.Lock()
        self.done: dict[str, int] = {"create": 0, "update": 0, "archive": 0}
        self.created: dict[str, str] = {}
        self.rejections: list[Rejection] = []
        self.held: dict[str, set[int]] = {}
        self.skipped = 0
        self.capped = 0
        self._editor_known = False  # the bot user kept for incremental reads (remember_bot_user)
        self.pending: list[_Pending] = []
        self.pending_keys: list[str] = []

    def result(self) -> ApplyResult:
        """What the writes made so far did (all of them once :meth:`apply` returned)."""
        with self._lock:
            return ApplyResult(
                done=dict(self.done),
                created=dict(self.created),
                rejections=tuple(self.rejections),
                held={name: frozenset(positions) for name, positions in self.held.items()},
                pending=tuple(self.pending_keys),
                skipped=self.skipped,
                capped=self.capped,
            )

    def _parts(self, op: Operation) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        """``op.after`` in parts whose requests each stay within Notion's body limit (one part
        when the whole page fits), each as (canonical values, their request values): every value
        is encoded once. A create's first part holds the sync key, so that the page can be looked
        up from the moment it exists.

        Raises:
            Oversize: one property alone does not fit.
        """
        parent = {"type": "data_source_id", "data_source_id": self.plan.data_source_id}
        encoded = {name: encode(self.plan.types[name], value)[0] for name, value in op.after.items()}

        def size(names: list[str]) -> int:
            properties = {name: encoded[name] for name in names}
            return body_size({"parent": parent, "in_trash": False, "properties": properties})

        groups: list[list[str]] = [list(op.after)]
        if size(groups[0]) > PAYLOAD_LIMIT:
            key_prop = self.plan.sync_key_property
            groups = [[]]
            for name in sorted(op.after, key=lambda name: name != key_prop):
                alone = size([name])
                if alone > PAYLOAD_LIMIT:
                    raise Oversize(name, alone)
                if groups[-1] and size([*groups[-1], name]) > PAYLOAD_LIMIT:
                    groups.append([])
                groups[-1].append(name)
        return [({n: op.after[n] for n in names}, {n: encoded[n] for n in names}) for names in groups]

    def _intent(self, op: Operation, page_id: str | None, action: str, after: Mapping[str, Any]) -> int:
        before = {name: op.before[name] for name in after if name in op.before}
        with self.store.transaction() as tx:
            return tx.open_intent(
                self.run_id,
                self.target,
                action,
                op.sync_key,
                page_id,
                before,
                dict(after),
                now_iso("milliseconds"),
            )

    def _create(
        self, op: Operation, after: dict[str, Any], properties: dict[str, Any], more: bool
    ) -> str | None:
        """Send the create of ``op`` with ``after``: the new page's id, or None when its outcome is
        unknown (pending)."""
        seq = self._intent(op, None, "create", after)
        sent = time.monotonic()
        try:
            page = self.client.create_page(self.plan.data_source_id, properties)
        except AmbiguousWrite:
            # Notion may commit it later: never send it again within the grace (no idempotency keys)
            with self._lock:
                self.pending.append(_Pending(op, seq, after, sent, more))
            return None
        except NotionRejected:
            self._settle_absent(seq)
            raise
        with self.store.transaction() as tx:
            tx.set_page(
                self.target, op.sync_key, page["id"], created_by_syncfw=True, number=page_number(page)
            )
            tx.set_written(self.target, op.sync_key, after)
            tx.settle(seq, "applied", now_iso("milliseconds"), page["id"])
        self._created(op.sync_key, page["id"])
        self._editor_known = self._editor_known or remember_bot_user(self.store, page)
        return str(page["id"])

    def _created(self, sync_key: str, page_id: str) -> None:
        """Note the page made for ``sync_key``: with the plan's creates on disk when it is one of
        them (the plan carried out reads it there), else in :attr:`created`."""
        creates = self.plan.operations.creates
        if creates is not None and sync_key in creates:
            creates.created(sync_key, page_id)
            return
        with self._lock:
            self.created[sync_key] = page_id

    def _update(
        self, op: Operation, page_id: str, after: dict[str, Any], properties: dict[str, Any], restore: bool
    ) -> None:
        seq = self._intent(op, page_id, "restore" if restore else "update", after)
        try:
            self.client.update_page(
                page_id,
                properties=properties,
                in_trash=False if restore else None,
                data_source_id=self.plan.data_source_id,
            )
        except NotionRejected:
            self._settle_absent(seq)
            raise
        with self.store.transaction() as tx:
            tx.set_page(self.target, op.sync_key, page_id, created_by_syncfw=False)
            tx.set_written(self.target, op.sync_key, after)
            tx.settle(seq, "applied", now_iso("milliseconds"))

    def _archive(self, op: Operation) -> None:
        assert op.page_id is not None
        seq = self._intent(op, op.page_id, "archive", {})
        try:
            self.client.update_page(op.page_id, in_trash=True)
        except NotionRejected:
            # a retry of an archive whose answer was lost finds the page already in trash
            if not self.client.retrieve_page(op.page_id).get("in_trash"):
                self._settle_absent(seq)
                raise
        with self.store.transaction() as tx:
            tx.set_archived(self.target, op.sync_key, True)
            tx.settle(seq, "applied", now_iso("milliseconds"))

    def _settle_absent(self, seq: int) -> None:
        with self.store.transaction() as tx:
            tx.settle(seq, "absent", now_iso("milliseconds"))

    def _one(self, op: Operation) -> None:
        if self.stop.is_set():
            with self._lock:
                self.skipped += 1
                self._hold(op)
            return
        settled = True
        try:
            done = self._write(op)
        except Oversize as exc:
            self._rejected(op, str(exc), exc.property)
        except NotionRejected as exc:
            self._rejected(op, str(exc))
        else:
            settled = done  # a pending create's records wait for its lookup (:meth:`_settle_pending`)
            if done:
                with self._lock:
                    self.done[op.action] += 1
        if settled:
            self.ledger.release(op.records)
        if self.on_done is not None:
            self.on_done()

    def _write(self, op: Operation) -> bool:
        """Make the write(s) of ``op``; False when its create is pending."""
        if op.action == "archive":
            self._archive(op)
            return True
        parts = self._parts(op)
        page_id = op.page_id
        if op.action == "create":
            page_id = self._create(op, *parts[0], len(parts) > 1)
            if page_id is None:
                return False
            parts = parts[1:]
        assert page_id is not None
        for i, (after, properties) in enumerate(parts):
            self._update(op, page_id, after, properties, op.restore and i == 0)
        return True

    def _hold(self, op: Operation) -> None:
        """Keep the cursors of ``op``'s records before them: its write did not happen this run."""
        for mapping, position in op.records:
            self.held.setdefault(mapping, set()).add(position)

    def _settle_pending(self) -> None:
        """Look up every create whose answer was lost, each once its grace has passed; a create
        not found (or not looked up because the run is stopping) stays pending."""
        grace = inflight_grace()
        waiting = sorted(self.pending, key=lambda p: p.sent)
        self.pending = []
        unsettled: list[_Pending] = []
        for index, item in enumerate(waiting):
            wait = item.sent + grace - time.monotonic()
            if wait > 0 and self.stop.wait(wait):
                unsettled += waiting[index:]
                break
            page_id = settle_create(
                self.client,
                self.store,
                data_source_id=self.plan.data_source_id,
                target=self.target,
                key_property=self.plan.sync_key_property,
                types=dict(self.plan.types),
                seq=item.seq,
                sync_key=item.op.sync_key,
                after=item.after,
            )
            if page_id is None:
                unsettled.append(item)
                continue
            self._created(item.op.sync_key, page_id)
            self.done["create"] += 1
            if item.more:
                self._hold(item.op)  # the rest of the page is written when its records are read again
            else:
                self.ledger.release(item.op.records)
        for item in unsettled:
            self.pending_keys.append(item.op.sync_key)
            self._hold(item.op)

    def _rejected(self, op: Operation, reason: str, prop: str | None = None) -> None:
        """Notion refused the write as invalid (or it cannot be sent): quarantine its records."""
        with self._lock:
            if not op.records:
                self.rejections.append(
                    Rejection(RecordProblem("notion", self.target, op.sync_key, prop, reason))
                )
            for mapping, position in op.records:
                stream = self.ledger.streams[mapping]
                record = stream.records[position]
                problem = RecordProblem(stream.source, stream.stream, record.key, prop, reason)
                self.rejections.append(Rejection(problem, mapping, record))

    def apply(self) -> ApplyResult:
        """Write the operations of the plan (at most ``limit``), then settle the creates whose
        answer was lost.

        The state store learns each write as it is made (intent, then settlement); what the plan
        learnt otherwise is committed by :func:`~syncfw.engine.commit.commit_target`.

        Raises:
            NotionError, StateError: fatal; writes already made are committed in state and the
                write in flight stays an open intent for the next run to settle (:meth:`result`
                says what was done).
        """
        planned = self.plan.operations
        operations: Iterable[Operation] = planned
        if self.limit is not None and len(planned) > self.limit:
            for op in itertools.islice(planned.by_first_record(), self.limit, None):
                self._hold(op)
            self.capped = len(planned) - self.limit
            operations = itertools.islice(planned.by_first_record(), self.limit)
        pool = ThreadPoolExecutor(WORKERS, thread_name_prefix="syncfw-write")
        in_flight: deque[Future[None]] = deque()
        try:
            for op in operations:
                in_flight.append(pool.submit(self._one, op))
                if len(in_flight) >= IN_FLIGHT:
                    in_flight.popleft().result()
            while in_flight:
                in_flight.popleft().result()
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        self._settle_pending()
        return self.result()
