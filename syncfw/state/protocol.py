"""What a state store offers, independent of the database behind it.

Two parts, each a :class:`typing.Protocol` that a backend implements:

- :class:`SyncState`: what the engine needs to plan and apply: the identity map (sync key →
  Notion page), what syncfw last wrote for each owned property (the value, or a digest of it:
  :mod:`syncfw.state.written`), stream cursors, matches and
  members of secondary and aggregating mappings, relation keys, quarantine, the write-ahead
  journal (intents) and the Notion read watermark. Its writes (:class:`SyncTransaction`) happen
  inside ``transaction()``, which commits or rolls back as a whole, so that an intent is settled
  in the same commit as the state it produced and a cursor advances only after its records.
- :class:`RunHistory`: what health and the command line read and write: runs, source reads,
  alert states and settings (:class:`HistoryTransaction`).

:class:`syncfw.state.StateStore` (SQLite) implements both. Every method raises
:class:`syncfw.errors.StateError` when the store cannot be read or written.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from syncfw.state.written import LastWritten


@dataclass(frozen=True)
class PageEntry:
    """The identity map entry of one sync key in one target."""

    target: str
    sync_key: str
    page_id: str
    created_by_syncfw: bool
    archived: bool
    number: int | None = None
    """The page's number (its ``unique_id`` property), None until syncfw has seen it."""


@dataclass(frozen=True)
class JournalEntry:
    """One write of a run: its intent (``open``), then its outcome (``applied``, ``absent`` when it
    did not happen, ``rolled_back``). ``before``/``after`` are canonical property values; for a
    ``cursor`` entry they are ``{"cursor": ...}`` and ``sync_key`` is ``source/stream``."""

    seq: int
    run_id: str
    target: str
    action: str
    sync_key: str
    page_id: str | None
    before: dict[str, Any]
    after: dict[str, Any]
    status: str
    created_at: str = ""


@dataclass(frozen=True)
class QuarantinedRecord:
    """A record that could not be synced, kept to be retried on later runs."""

    target: str
    mapping: str
    record_key: str
    source: str
    stream: str
    property: str | None
    reason: str
    data: dict[str, Any]
    deleted: bool
    first_seen: str
    last_seen: str
    attempts: int


@dataclass(frozen=True)
class RunRecord:
    """One run in the history (times are ISO 8601 UTC strings)."""

    run_id: str
    recipe: str
    command: str
    started_at: str
    finished_at: str | None
    status: str
    exit_code: int | None
    summary: dict[str, Any] | None
    error: str | None


@dataclass(frozen=True)
class OperationRecord:
    """One operation of a run, as its history keeps it (table ``run_operations``): the write the
    run planned, numbered ``seq`` from 1 within the run, with the page id a create got.
    ``before``/``after`` are canonical property values (JSON values): history keeps them in the
    journal only, so they are empty once retention pruned the run's journal entries."""

    seq: int
    target: str
    action: str
    sync_key: str
    page_id: str | None
    before: dict[str, Any]
    after: dict[str, Any]


@dataclass(frozen=True)
class NotionRead:
    """The Notion read watermark of one target: when its pages were last read (``at``, aware), how
    many incremental reads (pages edited since the previous read) followed the last full one, and
    the page number the next slice of the consistency read starts at (``slice_from``)."""

    at: datetime
    since_full: int
    slice_from: int = 0


@runtime_checkable
class SyncTransaction(Protocol):
    """The engine's writes inside :meth:`SyncState.transaction`."""

    def set_page(
        self, target: str, sync_key: str, page_id: str, *, created_by_syncfw: bool, number: int | None = None
    ) -> None:
        """Map ``sync_key`` to ``page_id`` (not archived). Adopting the page already mapped keeps
        whether syncfw created it, and its number unless ``number`` is given; another page takes
        ``created_by_syncfw`` and ``number``."""

    def set_number(self, target: str, sync_key: str, page_id: str, number: int) -> None:
        """Record the number (``unique_id``) of page ``page_id``, the page of ``sync_key`` (when it
        is not, or there is no entry: nothing)."""

    def set_archived(self, target: str, sync_key: str, archived: bool) -> None: ...

    def forget_page(self, target: str, sync_key: str) -> None:
        """Remove the identity map entry and the written values of ``sync_key``."""

    def set_written(self, target: str, sync_key: str, values: dict[str, Any]) -> None:
        """Record the canonical values just written on the page of ``sync_key``, which the
        identity map holds (:meth:`set_page` first), over the ones it had. They come back from
        :meth:`SyncState.last_written_for` as values or digests (lists as tuples).

        Raises:
            StateError: the identity map holds no page for ``sync_key``.
        """

    def set_match(self, target: str, mapping: str, record_key: str, page_key: str | None) -> None:
        """Remember (or, with None, forget) which page a secondary record matched."""

    def set_member(
        self, target: str, mapping: str, record_key: str, member: tuple[str, dict[str, Any]] | None
    ) -> None:
        """Store (or, with None, remove) one record of an aggregating mapping: (page key, values)."""

    def set_relation_keys(self, target: str, sync_key: str, keys: dict[str, tuple[str, ...]]) -> None: ...

    def set_cursor(self, target: str, source: str, stream: str, cursor: str, now: str) -> None: ...

    def delete_cursor(self, target: str, source: str, stream: str) -> None: ...

    def set_target_ids(self, target: str, database_id: str | None, data_source_id: str) -> None: ...

    def set_notion_read(self, target: str, read: NotionRead) -> None:
        """Move the Notion read watermark of ``target``."""

    def open_intent(
        self,
        run_id: str,
        target: str,
        action: str,
        sync_key: str,
        page_id: str | None,
        before: dict[str, Any],
        after: dict[str, Any],
        now: str,
    ) -> int:
        """Record a write about to be sent; returns its journal sequence number."""

    def settle(self, seq: int, status: str, now: str, page_id: str | None = None) -> None:
        """Record the outcome of an intent: ``applied``, ``absent`` or ``rolled_back``."""

    def quarantine(self, record: QuarantinedRecord) -> None:
        """Keep (or refresh, counting the attempt) a record that could not be synced."""

    def set_unmatched(self, target: str, mapping: str, record_key: str, data: dict[str, Any] | None) -> None:
        """Keep a secondary record that matched no page, to retry it; None: it matched (or is gone)."""

    def release(self, target: str, mapping: str, record_key: str) -> None:
        """Take a record out of quarantine (it synced)."""


@runtime_checkable
class SyncState(Protocol):
    """What the engine reads and writes between runs (see the module docstring).

    Key lookups take any number of keys and answer only the keys the store knows. ``iter_*``
    methods yield batches ordered by key, so that a caller never holds a whole target.
    """

    def transaction(self) -> AbstractContextManager[SyncTransaction]:
        """Group writes; everything inside commits together or not at all.

        Raises:
            StateError: the commit failed (the caller must stop: nothing more may be written).
        """

    def close(self) -> None: ...

    def pages(self, target: str) -> dict[str, PageEntry]: ...

    def last_written(self, target: str) -> dict[str, LastWritten]:
        """What syncfw last wrote in ``target``: sync key → {property: canonical value, or a
        :class:`~syncfw.state.written.Digest` equal to it} (:mod:`syncfw.state.written`)."""

    def pages_for(self, target: str, keys: Iterable[str]) -> dict[str, PageEntry]: ...

    def pages_by_id(self, target: str, page_ids: Iterable[str]) -> dict[str, PageEntry]: ...

    def last_written_for(self, target: str, keys: Iterable[str]) -> dict[str, LastWritten]:
        """:meth:`last_written` of the pages of ``keys`` (keys never written are absent)."""

    def journaled_values(self, target: str, sync_key: str) -> Iterator[dict[str, Any]]:
        """The values of the page's writes the journal still holds (each ``after``), newest first:
        where the value a digest stands for is found (:func:`syncfw.state.written.resolve`)."""

    def relation_keys_for(
        self, target: str, keys: Iterable[str]
    ) -> dict[str, dict[str, tuple[str, ...]]]: ...

    def page_count(self, target: str, *, archived: bool | None = None) -> int: ...

    def iter_pages(self, target: str, batch: int = 5000) -> Iterator[list[PageEntry]]: ...

    def iter_relation_keys(self, target: str, batch: int = 5000) -> Iterator[list[str]]: ...

    def iter_record_keys(
        self, target: str, mapping: str | None, batch: int = 5000
    ) -> Iterator[list[str]]: ...

    def matches_for(self, target: str, mapping: str, keys: Iterable[str]) -> dict[str, str]: ...

    def members_for(
        self, target: str, mapping: str, keys: Iterable[str]
    ) -> dict[str, tuple[str, dict[str, Any]]]: ...

    def members_of_pages(
        self, target: str, mapping: str, page_keys: Iterable[str]
    ) -> list[tuple[str, str, dict[str, Any]]]: ...

    def unmatched(self, target: str) -> list[tuple[str, str, dict[str, Any]]]: ...

    def matches(self, target: str, mapping: str) -> dict[str, str]: ...

    def members(self, target: str, mapping: str) -> dict[str, tuple[str, dict[str, Any]]]: ...

    def relation_keys(self, target: str) -> dict[str, dict[str, tuple[str, ...]]]: ...

    def cursor(self, target: str, source: str, stream: str) -> str | None: ...

    def cursors(self) -> list[tuple[str, str, str, str, str]]: ...

    def target_ids(self, target: str) -> tuple[str | None, str] | None: ...

    def notion_read(self, target: str) -> NotionRead | None: ...

    def numbered_slice(self, target: str, start: int, count: int) -> list[tuple[str, int]]:
        """The ``count`` pages of ``target`` (not archived) with the lowest numbers from ``start``
        on, as (sync key, number) by number."""

    def unnumbered(self, target: str) -> int:
        """How many pages of ``target`` (not archived) have no number yet."""

    def journal(self, *, run_id: str | None = None, status: str | None = None) -> list[JournalEntry]: ...

    def quarantined(self, target: str | None = None) -> list[QuarantinedRecord]: ...


@runtime_checkable
class HistoryTransaction(Protocol):
    """Run-history writes inside :meth:`RunHistory.transaction`."""

    def read_attempted(self, target: str, source: str, stream: str, when: str) -> None: ...

    def read_finished(self, target: str, source: str, stream: str, when: str, error: str | None) -> None:
        """Record the end of a read: a success (``error`` None) or the one-line reason it failed."""

    def set_alert_state(self, event: str, subject: str, state: str, since: str) -> None: ...

    def set_setting(self, name: str, value: str) -> None: ...

    def end_unfinished_runs(self, now: str) -> None:
        """Record every run still ``running`` as ``failed``: only under the run lock, when none
        can be going on (it was killed, or could not record its end)."""

    def start_run(self, run_id: str, recipe: str, command: str, started_at: str) -> None:
        """Add a run to the history, ``running``."""

    def finish_run(
        self,
        run_id: str,
        *,
        finished_at: str,
        status: str,
        exit_code: int,
        summary: dict[str, Any],
        error: str | None,
    ) -> None: ...

    def add_operations(self, run_id: str, operations: Iterable[OperationRecord]) -> int:
        """Keep operations of run ``run_id`` (any number, in as many calls as wanted: each ``seq``
        once); returns how many were added."""

    def prune(self, *, keep_runs: int, journal_before: str) -> None:
        """Forget the history beyond the ``keep_runs`` most recent runs (rows, and their
        operations) and the settled journal entries created before ``journal_before`` (ISO 8601
        UTC); open intents are always kept. Records the oldest instant the journal still covers
        (:meth:`RunHistory.journal_kept_since`)."""


@runtime_checkable
class RunHistory(Protocol):
    """Runs, source reads, alert states and settings: what health and the command line show."""

    def transaction(self) -> AbstractContextManager[HistoryTransaction]: ...

    def close(self) -> None: ...

    def runs(self, limit: int = 20) -> list[RunRecord]:
        """The most recent runs, newest first."""

    def last_run(self, command: str) -> RunRecord | None:
        """The most recent row of ``command`` (``run``, ``renew``, ``reset``), or None."""

    def source_reads(self) -> list[tuple[str, str, str, str, str | None, str | None]]:
        """Every stream read as (target, source, stream, last_attempt, last_success, last_error)."""

    def alert_states(self) -> dict[tuple[str, str], tuple[str, str]]:
        """(event, subject) → (state, since) of every alert syncfw has sent or cleared."""

    def setting(self, name: str) -> str | None: ...

    def operations(self, run_id: str, *, after_seq: int = 0, limit: int = 1000) -> list[OperationRecord]:
        """Up to ``limit`` operations of run ``run_id`` following ``after_seq``, in order (page
        through a run of any size by passing the last ``seq`` seen)."""

    def all_operations(self, run_id: str, batch: int = 1000) -> Iterator[OperationRecord]:
        """Every operation of run ``run_id`` in order, read ``batch`` at a time."""

    def operation_counts(self, run_ids: Iterable[str]) -> dict[str, int]:
        """Run id → number of operations kept for it (runs with none are left out)."""

    def journal_kept_since(self) -> str | None:
        """The instant (ISO 8601 UTC) before which settled journal entries were pruned; None when
        the journal was never pruned."""

    def oldest_run(self, *, command: str, since: str | None) -> RunRecord | None:
        """The oldest row of ``command`` that started at or after ``since`` (any, with None)."""

    def end_run(
        self,
        run_id: str,
        *,
        finished_at: str,
        status: str,
        exit_code: int,
        summary: dict[str, Any],
        error: str | None,
    ) -> None:
        """Record the end of a run in its own transaction, even when the store's disk is full.

        Raises:
            StateError: the end could not be recorded (the next run records it as failed).
        """


@runtime_checkable
class StoreTransaction(SyncTransaction, HistoryTransaction, Protocol):
    """Both kinds of writes in one transaction (a read's history with the state it produced)."""


@runtime_checkable
class StateBackend(SyncState, RunHistory, Protocol):
    """One backend's store of a recipe's state: both parts, written in one transaction."""

    @property
    def schema_version(self) -> int:
        """How many of the ordered migrations (:data:`syncfw.state.schema.MIGRATIONS`) it has had."""

    def transaction(self) -> AbstractContextManager[StoreTransaction]:
        """Group writes of both parts; everything inside commits together or not at all.

        Raises:
            StateError: the commit failed (the caller must stop: nothing more may be written).
        """
