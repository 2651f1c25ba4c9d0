"""Stream reads going into a plan, and the read ledger coming out of it.

A :class:`StreamRead` says what one mapping reads this run: the connector's records after the
stored cursor, and the records to retry (quarantined, or kept because they matched no page).
Planning consumes it once, in order (:class:`Reading`), and leaves a :class:`ReadLedger`: per
mapping, the checkpoints met (so the cursor can advance up to the first record not written) and
the records behind the plan's writes (so a write Notion rejects quarantines exactly its records),
each kept only until its write is settled (:meth:`ReadLedger.release`).

:func:`notion_window` says which of the target's pages the Notion read asks for: every page, or
the pages edited since the previous read that syncfw did not edit last.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator, Mapping, MutableMapping
from dataclasses import dataclass, field
from typing import Any

from syncfw.clock import now_iso
from syncfw.connector import Checkpoint, Connector, Record
from syncfw.engine.reconcile import Reconciliation, reconcile_stream
from syncfw.errors import SyncfwError
from syncfw.mapping import CompiledMapping
from syncfw.notion.client import NotionClient
from syncfw.recipe import BoundMapping, Target
from syncfw.secrets import hide
from syncfw.state import NotionRead, StateBackend


@dataclass(frozen=True)
class StreamRead:
    """One stream to read for one mapping.

    Attributes:
        full: the read starts from no cursor (every record).
        items: the connector's records and checkpoints, consumed once while planning.
        retries: quarantined and unmatched records to retry, yielded after the stream's records
            unless the stream delivered the same key again.
        unmatched_keys: keys of ``retries`` that are secondary records kept because they matched
            no page.
    """

    mapping: str
    source: str
    stream: str
    full: bool
    items: Iterable[Record | Checkpoint] = field(default=(), repr=False)
    retries: tuple[Record, ...] = field(default=(), repr=False)
    unmatched_keys: frozenset[str] = field(default=frozenset(), repr=False)

    @property
    def quarantined(self) -> frozenset[str]:
        """Keys of the records retried this run."""
        return frozenset(r.key for r in self.retries)


def ordered_mappings(target: Target) -> list[BoundMapping]:
    """The primary mapping first (its pages are what secondary records match), then the others
    (an update target has no primary mapping)."""
    return [*(m for m in target.mappings if m.is_primary), *target.secondary_mappings]


def read_stream(
    connector: Connector, mapping: BoundMapping, cursor: str | None, fields: list[str]
) -> Iterator[Record | Checkpoint]:
    """The records of ``mapping``'s stream after ``cursor``, read lazily as the plan iterates."""
    yield from connector.read(mapping.stream, cursor, fields)


@dataclass(frozen=True)
class StreamLedger:
    """What one mapping's read delivered.

    Attributes:
        checkpoints: (position of the next record, cursor) of every checkpoint met.
        records: position → record, for the records behind the plan's writes whose outcome is
            not settled yet (the applier releases the others).
        count: records yielded (stream and retries).
    """

    mapping: str
    source: str
    stream: str
    checkpoints: tuple[tuple[int, str], ...] = ()
    records: MutableMapping[int, Record] = field(default_factory=dict)
    count: int = 0

    def cursor_before(self, first_failed: int | None) -> str | None:
        """The newest checkpoint not past the first record that failed (all when None)."""
        best = None
        for position, cursor in self.checkpoints:
            if first_failed is None or position <= first_failed:
                best = cursor
        return best


@dataclass(frozen=True)
class ReadLedger:
    """What every mapping of a target read this run (mapping name → :class:`StreamLedger`)."""

    streams: Mapping[str, StreamLedger] = field(default_factory=dict)

    def record(self, mapping: str, position: int) -> Record:
        return self.streams[mapping].records[position]

    def release(self, origins: Iterable[tuple[str, int]]) -> None:
        """Forget the records at ``origins`` ((mapping, position) pairs): their write is settled
        (made, or rejected with its records quarantined), so neither a rejection nor a held cursor
        needs them again, and a run's memory does not grow with the records it wrote."""
        for mapping, position in origins:
            self.streams[mapping].records.pop(position, None)

    def cursors(self, held: Mapping[str, Iterable[int]]) -> dict[str, tuple[StreamLedger, str]]:
        """Mapping → (its stream, the cursor it may advance to): the newest checkpoint before the
        first of its ``held`` positions (records whose write did not happen). Mappings whose read
        met no usable checkpoint are left out."""
        out: dict[str, tuple[StreamLedger, str]] = {}
        for name, stream in self.streams.items():
            positions = list(held.get(name, ()))
            cursor = stream.cursor_before(min(positions) if positions else None)
            if cursor is not None:
                out[name] = (stream, cursor)
        return out


class Reading:
    """One :class:`StreamRead` being consumed by the planner.

    Iterating yields ``(position, record)`` pairs: the stream's records, then the retries the
    stream did not deliver again. Only the records the plan keeps (:meth:`keep`) are held; the
    others are dropped as the plan goes, so memory does not grow with the size of the stream.
    """

    def __init__(self, read: StreamRead, keep_records: bool) -> None:
        self.read = read
        self.mapping = read.mapping
        self.source = read.source
        self.stream = read.stream
        self.full = read.full
        self.quarantined = read.quarantined
        self.keep_records = keep_records
        self.records: dict[int, Record] = {}
        self.checkpoints: list[tuple[int, str]] = []
        self.count = 0

    def __iter__(self) -> Iterator[tuple[int, Record]]:
        retry = {r.key: r for r in self.read.retries}
        for item in self.read.items:
            if isinstance(item, Checkpoint):
                self.checkpoints.append((self.count, item.cursor))
                continue
            retry.pop(item.key, None)
            self.count += 1
            yield self.count - 1, item
        for record in retry.values():
            self.count += 1
            yield self.count - 1, record

    def keep(self, position: int, record: Record) -> None:
        if self.keep_records:
            self.records[position] = record

    def ledger(self, needed: set[int]) -> StreamLedger:
        """What was read, keeping only the records at ``needed`` positions."""
        records = {p: r for p, r in self.records.items() if p in needed}
        return StreamLedger(
            self.mapping, self.source, self.stream, tuple(self.checkpoints), records, self.count
        )


def stream_reads(
    store: StateBackend,
    target: Target,
    compiled: Mapping[str, CompiledMapping],
    connectors: Mapping[str, Connector],
    *,
    from_start: bool,
    recorded: bool,
    reconciling: bool,
    phase: Callable[[str], None],
    secrets: set[str],
) -> tuple[dict[str, StreamRead], list[Reconciliation]]:
    """Each mapping's stream read, with the quarantined and unmatched records to retry.

    Args:
        from_start: read every record (no cursor).
        recorded: note each read's attempt and outcome in the state store (source freshness).
        reconciling: scan each stream's keys; those gone from the source are read as deletes.
        phase: called with a short description as a key scan begins (progress display).
        secrets: values hidden from a read error recorded in the state store.
    """
    quarantined = store.quarantined(target.name)
    unmatched = store.unmatched(target.name)
    reads: dict[str, StreamRead] = {}
    reconciled: list[Reconciliation] = []
    for mapping in ordered_mappings(target):
        cursor = None
        if not from_start:
            cursor = store.cursor(target.name, mapping.source, mapping.stream)
        items = read_stream(connectors[mapping.source], mapping, cursor, compiled[mapping.name].fields)
        if recorded:
            items = _recorded(store, target, mapping, items, secrets)
        retries = [
            Record(mapping.stream, q.record_key, q.data, q.deleted)
            for q in quarantined
            if q.mapping == mapping.name
        ]
        kept = [(key, data) for name, key, data in unmatched if name == mapping.name]
        retries += [Record(mapping.stream, key, data) for key, data in kept]
        if reconciling:
            phase(f"scanning the keys of {mapping.source} {mapping.stream}")
            found = reconcile_stream(store, target, mapping, connectors[mapping.source])
            reconciled.append(found)
            retries += found.deletes()  # last, so a gone record wins over a retry of it
        reads[mapping.name] = StreamRead(
            mapping.name,
            mapping.source,
            mapping.stream,
            cursor is None,
            items,
            tuple(retries),
            frozenset(key for key, _ in kept),
        )
    return reads, reconciled


def _recorded(
    store: StateBackend,
    target: Target,
    mapping: BoundMapping,
    items: Iterator[Record | Checkpoint],
    secrets: set[str],
) -> Iterator[Record | Checkpoint]:
    with store.transaction() as tx:
        tx.read_attempted(target.name, mapping.source, mapping.stream, now_iso())
    try:
        yield from items
    except SyncfwError as exc:
        with store.transaction() as tx:
            error = hide(str(exc).splitlines()[0] if str(exc) else type(exc).__name__, secrets)
            tx.read_finished(target.name, mapping.source, mapping.stream, now_iso(), error)
        raise
    with store.transaction() as tx:
        tx.read_finished(target.name, mapping.source, mapping.stream, now_iso(), None)


@dataclass(frozen=True)
class ReadSlice:
    """The slice of a target's pages this run's consistency read covers: the pages numbered from
    ``start`` to ``end`` (None: no upper bound, the last slice), of which the state store knows
    ``keys``; the next run's slice starts at ``next_start``."""

    start: int
    end: int | None
    keys: frozenset[str]
    next_start: int


@dataclass(frozen=True)
class NotionWindow:
    """Which of a target's pages this run's Notion read asks for.

    Attributes:
        complete: every page (``filter`` is None); pages the read does not return are gone.
        filter: the ``POST /v1/data_sources/{id}/query`` filter of an incremental read.
        since_full: incremental reads since the last complete one, this one included (what the
            watermark records once the run commits).
        slice: the pages the read also covers whatever their edit time (the consistency read's
            slice): known pages of it the read does not return are gone.
    """

    complete: bool
    filter: dict[str, Any] | None
    since_full: int
    slice: ReadSlice | None = None
    numbered_by: str | None = None
    """The id of the data source's ``unique_id`` property: the read goes in number order."""

    @property
    def slice_from(self) -> int:
        """Where the next run's slice starts (what the watermark records)."""
        return self.slice.next_start if self.slice is not None else 0


BOT_USER_SETTING = "notion bot user"
"""State setting holding the id of the token's bot user (``GET /v1/users/me``), asked once."""


def bot_user(client: NotionClient, store: StateBackend) -> str:
    """The id of the integration's bot user (the ``last_edited_by`` of syncfw's writes): from the
    state store, else ``GET /v1/users/me`` (developers.notion.com, "Retrieve your token's bot
    user"), kept for the next runs.

    Raises:
        NotionError: the request failed.
    """
    known = store.setting(BOT_USER_SETTING)
    if known:
        return known
    found = str(client.retrieve_user("me")["id"])
    with store.transaction() as tx:
        tx.set_setting(BOT_USER_SETTING, found)
    return found


def remember_bot_user(store: StateBackend, page: Mapping[str, Any]) -> bool:
    """Keep who last edited ``page``, a page syncfw just wrote (so its bot user: the
    ``last_edited_by`` of the page object), as :func:`bot_user` would find it, unless it is known;
    answers whether it is known now. The run after a first import then needs no
    ``GET /v1/users/me``."""
    editor = (page.get("last_edited_by") or {}).get("id")
    if not editor:
        return False
    if not store.setting(BOT_USER_SETTING):
        with store.transaction() as tx:
            tx.set_setting(BOT_USER_SETTING, str(editor))
    return True


def notion_window(
    previous: NotionRead | None,
    schema: Mapping[str, Any],
    *,
    full: bool,
    full_read_every: int,
    full_read_pages: int,
    pages: int,
    bot: Callable[[], str],
    numbered: Callable[[int, int], list[tuple[str, int]]] | None,
) -> NotionWindow:
    """The read of a target's pages: complete when ``full``, when never read (``previous`` None)
    or when ``full_read_every`` is 1; otherwise the pages edited since ``previous`` began, plus one
    slice of the consistency read.

    Edited pages: Notion truncates ``last_edited_time`` to the minute
    (shared/reference/notion/API-FACTS.md §5.1, "recorded last_edited_time values are
    minute-truncated"), so the window starts at the minute the previous read began,
    ``on_or_after``: an edit made while that read was going on (after it passed the page) or after
    it shows a time in or after that minute, and is read. Pages syncfw itself edited last are left
    out when the data source has a ``last_edited_by`` property (the one ``syncfw notion init``
    adds, :data:`syncfw.notion.schema.EDITED_BY`): a ``people`` condition ``does_not_contain`` the
    bot user's id on it (developers.notion.com, "Filter data source entries": people conditions
    apply to ``last_edited_by`` properties and take a user id), so the pages a run wrote are not
    read back by the next one, while a page a person (or another integration) edited after syncfw
    is.

    The consistency read (what finds pages people deleted, which no edit time reveals) reads back
    the target a slice at a time when its data source numbers its pages (a ``unique_id``
    property, :data:`syncfw.notion.schema.NUMBERED`) and the state store knows every page's
    number: each run the next ``ceil(pages / full_read_every)`` pages by number, at most
    ``full_read_pages``, in the same query as the edited pages (a ``unique_id`` range or-ed with
    the edit condition, written as an ``and`` of ``or``s so that it stays within Notion's two
    levels of nesting when the client and-s a ``created_time`` window to it), so no run pays for
    the whole target and a run with nothing edited still makes one query request. Otherwise (no
    numbers yet) one read in ``full_read_every`` is complete, and it learns the numbers.

    Args:
        previous: the target's read watermark (when the last read began, reads since a full one,
            where the next slice starts).
        schema: the data source's properties (name → property object, with ``id`` and ``type``).
        full: a complete read is asked for (full refresh, first run, sync key re-keyed).
        full_read_every: the whole target is read back over this many runs (the recipe's
            ``full_read_every``; 1: every run reads every page).
        full_read_pages: the most pages one run's slice holds (the recipe's ``full_read_pages``).
        pages: the target's pages the state store knows (not archived).
        bot: the bot user's id (:func:`bot_user`), asked only for an incremental read of a data
            source with a ``last_edited_by`` property.
        numbered: (start, count) → the state's (sync key, number) of the ``count`` lowest-numbered
            pages from ``start`` on (:meth:`~syncfw.state.StateBackend.numbered_slice`); None when
            some page's number is not known yet.
    """
    number = next((p.get("id") for p in schema.values() if p.get("type") == "unique_id"), None)
    if full or previous is None or full_read_every <= 1:
        return NotionWindow(True, None, 0, numbered_by=number)
    if (number is None or numbered is None) and previous.since_full >= full_read_every - 1:
        return NotionWindow(True, None, 0, numbered_by=number)
    since = previous.at.replace(second=0, microsecond=0)
    clauses: list[dict[str, Any]] = [
        {"timestamp": "last_edited_time", "last_edited_time": {"on_or_after": since.isoformat()}}
    ]
    editor = next((p.get("id") for p in schema.values() if p.get("type") == "last_edited_by"), None)
    if editor is not None:
        clauses.append({"property": editor, "people": {"does_not_contain": bot()}})
    if number is None or numbered is None:
        edited = clauses[0] if len(clauses) == 1 else {"and": clauses}
        return NotionWindow(False, edited, previous.since_full + 1, numbered_by=number)
    size = max(1, min(full_read_pages, -(-pages // full_read_every)))
    found = numbered(previous.slice_from, size)
    start = previous.slice_from
    end = found[-1][1] if len(found) == size else None
    bounds = [{"property": number, "unique_id": {"greater_than_or_equal_to": start}}]
    if end is not None:
        bounds.append({"property": number, "unique_id": {"less_than_or_equal_to": end}})
    # (edited and not syncfw's) or (in the slice), as an "and" of "or"s
    condition = {"and": [{"or": [clause, bound]} for clause in clauses for bound in bounds]}
    piece = ReadSlice(start, end, frozenset(key for key, _ in found), 0 if end is None else end + 1)
    return NotionWindow(False, condition, previous.since_full + 1, piece, number)


def target_window(
    client: NotionClient, store: StateBackend, target: Target, schema: Mapping[str, Any], *, full: bool
) -> NotionWindow:
    """What this run's Notion read of ``target`` asks for (:func:`notion_window`), from its read
    watermark and pages in the state store; ``full`` asks for every page."""
    numbered = None if store.unnumbered(target.name) else functools.partial(store.numbered_slice, target.name)
    return notion_window(
        store.notion_read(target.name),
        schema,
        full=full,
        full_read_every=target.full_read_every,
        full_read_pages=target.full_read_pages,
        pages=store.page_count(target.name, archived=False),
        bot=functools.partial(bot_user, client, store),
        numbered=numbered,
    )
