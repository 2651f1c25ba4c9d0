"""``syncfw rollback RUN_ID``: undo what one run wrote, from its journal's before-images.

Entries are undone newest first: an update gets its properties' previous values back, an archive
is restored from trash, a page the run created is archived, a restored page goes back to trash,
and the streams' cursors are rewound so the next run reads those records again. A property a
person (or a later run) changed after the run is not overwritten: it is reported and left alone.

A rollback is crash-safe like a run (:mod:`syncfw.engine.apply`): it holds the recipe's run lock,
first settles the open intents a killed run or rollback left (:mod:`syncfw.engine.recover`,
which reads Notion once the in-flight grace has passed), and journals each of its writes as an
intent before sending it; the intent is settled, and the entry it undoes marked ``rolled_back``,
in the transaction that records the change in state. An entry whose undoing Notion already shows
(in the trash, restored, or holding the values from before the run) is settled without a write,
so a second rollback of the same run changes nothing. The transaction that journals moving a page
to the trash also rewinds its target's cursors to where they were before the run, so that the
next run reads the page's record again and, while the record still exists at the source,
restores the page (never creates a second one).

A rollback reaches back as far as the journal does: retention (``retention.journal_days`` of the
recipe, :func:`syncfw.engine.report.apply_retention`) prunes settled entries older than that, so
a run that started before the journal's cutoff is refused as a whole (never half undone), and
every rollback states its reach (:class:`Reach`): the cutoff and the oldest run in history
after it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from syncfw.clock import iso, now_iso, parse_time
from syncfw.engine.model import jsonable
from syncfw.engine.recover import rollback_run_id, settle_open_intents
from syncfw.engine.run import notion_client_for
from syncfw.errors import ConfigError, NotionNotFound
from syncfw.mapping import decode, encode
from syncfw.notion.client import NotionClient
from syncfw.recipe import Recipe
from syncfw.state import JournalEntry, StateBackend, StoreTransaction, open_state, run_lock


@dataclass
class RollbackStep:
    """One journal entry undone (or not): what was done and what was refused."""

    seq: int
    target: str
    action: str
    sync_key: str
    page_id: str | None
    restored: dict[str, Any] = field(default_factory=dict)
    refused: dict[str, str] = field(default_factory=dict)
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "target": self.target,
            "action": self.action,
            "sync_key": self.sync_key,
            "page_id": self.page_id,
            "restored": {k: jsonable(v) for k, v in self.restored.items()},
            "refused": self.refused,
            "note": self.note,
        }


@dataclass(frozen=True)
class Reach:
    """How far back ``syncfw rollback`` can go in a recipe's state.

    Attributes:
        journal_since: ISO 8601 UTC instant before which settled journal entries were pruned
            (None: never pruned, every run the journal holds can be undone).
        oldest_run: the oldest ``run`` in history that started after it (None: none).
        journal_days: the recipe's ``retention.journal_days``.
    """

    journal_since: str | None
    oldest_run: str | None
    journal_days: int

    def sentence(self) -> str:
        """The reach for people, e.g. ``rollback reaches back to run 2026… (the journal keeps
        writes since 2026-…; retention.journal_days: 30)``."""
        run = f"run {self.oldest_run}" if self.oldest_run else "no run in history"
        kept = f"since {self.journal_since}" if self.journal_since else "of every run (never pruned)"
        return f"rollback reaches back to {run} (the journal keeps writes {kept}; retention.journal_days: {self.journal_days})"

    def as_dict(self) -> dict[str, Any]:
        return {
            "journal_since": self.journal_since,
            "oldest_run": self.oldest_run,
            "journal_days": self.journal_days,
        }


_RUN_ID = re.compile(r"(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z-")


def _run_start(run_id: str) -> str | None:
    """The second a run started, from its id (``20261121T210501Z-3f9a``), as ``…T21:05:01.000Z``:
    never after its real start, so a run at or after the journal's cutoff kept every entry."""
    match = _RUN_ID.match(run_id)
    if match is None:
        return None
    y, mo, d, h, mi, se = match.groups()
    return f"{y}-{mo}-{d}T{h}:{mi}:{se}.000Z"


def reach(store: StateBackend, recipe: Recipe) -> Reach:
    """How far back a rollback of ``recipe`` can go in ``store`` (see :class:`Reach`)."""
    since = store.journal_kept_since()
    cutoff = parse_time(since)
    # runs are recorded to the second: the first whole second at or after the cutoff
    first = None
    if cutoff is not None:
        first = iso(cutoff.replace(microsecond=0) + timedelta(seconds=1 if cutoff.microsecond else 0))
    oldest = store.oldest_run(command="run", since=first)
    return Reach(since, oldest.run_id if oldest else None, recipe.retention.journal_days)


def refuse_pruned(run_id: str, known: Reach) -> None:
    """Refuse a rollback of a run that started before the journal's cutoff.

    Raises:
        ConfigError: (exit 2) the run's journal entries were (or may have been) pruned.
    """
    start = _run_start(run_id)
    if known.journal_since is None or start is None or start >= known.journal_since:
        return
    raise ConfigError(
        f"run {run_id} cannot be rolled back: it started before {known.journal_since}, and the journal "
        f"entries older than that were pruned (retention.journal_days: {known.journal_days}); "
        f"{known.sentence()}"
    )


@dataclass
class RollbackReport:
    """What a rollback did (or, with ``dry_run``, would do), and how far back rollbacks reach."""

    run_id: str
    dry_run: bool
    reach: Reach
    steps: list[RollbackStep] = field(default_factory=list)
    recovered: list[str] = field(default_factory=list)
    """One line per open intent of a killed run or rollback settled first."""

    @property
    def refused(self) -> int:
        return sum(len(s.refused) for s in self.steps)

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "dry_run": self.dry_run,
            "refused": self.refused,
            "reach": self.reach.as_dict(),
            "recovered_intents": self.recovered,
            "steps": [s.as_dict() for s in self.steps],
        }


def _canonical(value: Any) -> Any:
    return tuple(sorted(value or ())) if isinstance(value, tuple) else value


def _data_sources(recipe: Recipe, store: StateBackend) -> dict[str, str]:
    """Target → data source id, as the runs of ``recipe`` resolved them."""
    return {name: ids[1] for name in recipe.targets if (ids := store.target_ids(name)) is not None}


class _Rollback:
    def __init__(
        self, recipe: Recipe, store: StateBackend, client: NotionClient, run_id: str, dry_run: bool
    ) -> None:
        self.recipe = recipe
        self.store = store
        self.client = client
        self.dry_run = dry_run
        self._types: dict[str, dict[str, str]] = {}
        self.cursors = [
            e for e in store.journal(run_id=run_id) if e.action == "cursor" and e.status != "absent"
        ]
        """The run's cursor moves, undone or not: rewound again whenever a page goes to the trash."""

    def types(self, target: str) -> dict[str, str]:
        if target not in self._types:
            ids = self.store.target_ids(target)
            schema = self.client.retrieve_data_source(ids[1]).get("properties", {}) if ids else {}
            self._types[target] = {name: str(p.get("type")) for name, p in schema.items()}
        return self._types[target]

    def live(self, entry: JournalEntry) -> dict[str, Any] | None:
        assert entry.page_id is not None
        try:
            return self.client.retrieve_page(entry.page_id)
        except NotionNotFound:
            return None

    def value(self, page: dict[str, Any], target: str, prop: str) -> Any:
        types = self.types(target)
        raw = page.get("properties", {}).get(prop)
        if raw is None or prop not in types:
            return None
        value = decode(types[prop], raw)
        return tuple(sorted(value or ())) if types[prop] == "relation" else value

    def rewind(self, tx: StoreTransaction, cursor: JournalEntry) -> None:
        source, _, stream = cursor.sync_key.partition("/")
        old = cursor.before.get("cursor")
        if old is None:
            tx.delete_cursor(cursor.target, source, stream)
        else:
            tx.set_cursor(cursor.target, source, stream, str(old), now_iso("milliseconds"))

    def rewind_target(self, tx: StoreTransaction, target: str) -> None:
        """Put ``target``'s cursors back where they were before the run. A page put in the trash
        while its record may still exist at the source must be restored by the next run, which
        reads that record only if the cursors are before it (a run between two rollbacks may
        have moved them on)."""
        for cursor in self.cursors:
            if cursor.target == target:
                self.rewind(tx, cursor)

    def trashed(self, tx: StoreTransaction, entry: JournalEntry, trash: bool) -> None:
        """Record in state that the page of ``entry`` is (``trash``) or is not in the trash."""
        tx.set_archived(entry.target, entry.sync_key, trash)
        if trash:
            self.rewind_target(tx, entry.target)

    def write(
        self,
        entry: JournalEntry,
        action: str,
        values: tuple[dict[str, Any], dict[str, Any]],
        send: Callable[[], object],
        record: Callable[[StoreTransaction], None],
    ) -> None:
        """Journal the write that undoes ``entry`` (``values``: before, after), send it, then record
        it in state and settle it and ``entry`` in one transaction. A crash in between leaves an
        open intent that the next run or rollback settles by reading Notion."""
        with self.store.transaction() as tx:
            seq = tx.open_intent(
                rollback_run_id(entry.seq),
                entry.target,
                action,
                entry.sync_key,
                entry.page_id,
                *values,
                now_iso("milliseconds"),
            )
            if action == "archive":
                self.rewind_target(tx, entry.target)  # before Notion changes, see rewind_target
        send()
        with self.store.transaction() as tx:
            record(tx)
            tx.settle(seq, "applied", now_iso("milliseconds"))
            tx.settle(entry.seq, "rolled_back", now_iso("milliseconds"))

    def undo(self, entry: JournalEntry) -> RollbackStep:
        step = RollbackStep(entry.seq, entry.target, entry.action, entry.sync_key, entry.page_id)
        if entry.action == "cursor":
            return self.cursor(entry, step)
        page = self.live(entry) if entry.page_id else None
        if page is None:
            step.note = "the page no longer exists in Notion"
            return step
        if entry.action == "update":
            return self.update(entry, step, page)
        trash = entry.action in ("create", "restore")
        if bool(page.get("in_trash")) == trash:
            step.note = "already in trash" if trash else "already restored"
            if not self.dry_run:
                with self.store.transaction() as tx:
                    self.trashed(tx, entry, trash)
                    tx.settle(entry.seq, "rolled_back", now_iso("milliseconds"))
            return step
        if trash:
            changed = {
                p: "changed in Notion since the run"
                for p, v in entry.after.items()
                if self.value(page, entry.target, p) != _canonical(v)
            }
            if changed:
                step.refused = changed
                step.note = "not archived: people edited the page after the run"
                return step
        step.note = "archived" if trash else "restored from trash"
        if not self.dry_run:
            assert entry.page_id is not None
            page_id = entry.page_id
            self.write(
                entry,
                "archive" if trash else "restore",
                ({}, {}),
                lambda: self.client.update_page(page_id, in_trash=trash),
                lambda tx: self.trashed(tx, entry, trash),
            )
        return step

    def update(self, entry: JournalEntry, step: RollbackStep, page: dict[str, Any]) -> RollbackStep:
        types = self.types(entry.target)
        already: dict[str, Any] = {}
        for prop, written in entry.after.items():
            live = self.value(page, entry.target, prop)
            if prop not in entry.before:  # syncfw kept only a digest of it and the journal lost the value
                step.refused[prop] = "its value before the run is no longer known"
            elif live == _canonical(written):
                step.restored[prop] = entry.before.get(prop)
            elif live == _canonical(entry.before.get(prop)):
                already[prop] = entry.before.get(prop)
            else:
                step.refused[prop] = "changed in Notion since the run"
        if self.dry_run:
            return step
        after = {**already, **step.restored}
        if step.restored:
            assert entry.page_id is not None
            page_id = entry.page_id
            request = {p: encode(types[p], v)[0] for p, v in step.restored.items()}
            self.write(
                entry,
                "update",
                ({**already, **{p: entry.after[p] for p in step.restored}}, after),
                lambda: self.client.update_page(page_id, properties=request),
                lambda tx: tx.set_written(entry.target, entry.sync_key, after),
            )
        elif already and not step.refused:
            step.note = "already holds its values from before the run"
            with self.store.transaction() as tx:
                tx.set_written(entry.target, entry.sync_key, after)
                tx.settle(entry.seq, "rolled_back", now_iso("milliseconds"))
        return step

    def cursor(self, entry: JournalEntry, step: RollbackStep) -> RollbackStep:
        step.note = f"cursor of {entry.sync_key} rewound"
        if not self.dry_run:
            with self.store.transaction() as tx:
                self.rewind(tx, entry)
                tx.settle(entry.seq, "rolled_back", now_iso("milliseconds"))
        return step


def rollback(
    recipe: Recipe, run_id: str, *, dry_run: bool = False, rate_limit: float | None = None
) -> RollbackReport:
    """Undo the writes of run ``run_id`` of ``recipe`` (see the module docstring). Entries already
    undone are skipped: rolling a run back twice changes nothing the second time.

    Raises:
        ConfigError: the run is unknown, wrote nothing that can be undone, or started before the
            journal's retention cutoff (the message states how far back a rollback reaches).
        LockHeld: a run of the recipe is in progress.
        NotionError, StateError: Notion or the state store failed; entries not yet undone stay
            applied, the write in flight stays an open intent, and a second rollback (or the next
            run) settles it and continues where this one stopped.
    """
    store = open_state(recipe)
    try:
        known = reach(store, recipe)
        refuse_pruned(run_id, known)
        if not store.journal(run_id=run_id):
            recent = ", ".join(r.run_id for r in store.runs(5)) or "none"
            raise ConfigError(
                f"run {run_id} of recipe {recipe.name} has no writes to undo (recent runs: {recent}); "
                f"{known.sentence()}"
            )
        report = RollbackReport(run_id, dry_run, known)
        client = notion_client_for(recipe, rate_limit, store)
        try:
            with run_lock(recipe, f"rollback {run_id}"):
                if not dry_run:
                    report.recovered = settle_open_intents(
                        client, store, recipe, _data_sources(recipe, store)
                    )
                undo = _Rollback(recipe, store, client, run_id, dry_run)
                for entry in reversed(store.journal(run_id=run_id, status="applied")):
                    report.steps.append(undo.undo(entry))
        finally:
            client.close()
        return report
    finally:
        store.close()
