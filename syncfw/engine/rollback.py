"""``syncfw rollback RUN_ID``: undo what one run wrote, from its journal's before-images.

Entries are undone newest first: an update gets its properties' previous values back, an archive
is restored from trash, a page the run created is archived, a restored page goes back to trash,
and the streams' cursors are rewound so the next run reads those records again. A property a
person (or a later run) changed after the run is not overwritten: it is reported and left alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from syncfw.engine.apply import now
from syncfw.engine.plan import jsonable
from syncfw.engine.run import notion_client_for
from syncfw.errors import ConfigError, NotionNotFound
from syncfw.mapping import decode, encode
from syncfw.notion.client import NotionClient
from syncfw.recipe import Recipe
from syncfw.state import JournalEntry, RunLock, StateStore


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


@dataclass
class RollbackReport:
    """What a rollback did (or, with ``dry_run``, would do)."""

    run_id: str
    dry_run: bool
    steps: list[RollbackStep] = field(default_factory=list)

    @property
    def refused(self) -> int:
        return sum(len(s.refused) for s in self.steps)

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "dry_run": self.dry_run,
            "refused": self.refused,
            "steps": [s.as_dict() for s in self.steps],
        }


class _Rollback:
    def __init__(self, recipe: Recipe, store: StateStore, client: NotionClient, dry_run: bool) -> None:
        self.recipe = recipe
        self.store = store
        self.client = client
        self.dry_run = dry_run
        self._types: dict[str, dict[str, str]] = {}

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
            return step
        if trash:
            changed = {
                p: "changed in Notion since the run"
                for p, v in entry.after.items()
                if self.value(page, entry.target, p)
                != (tuple(sorted(v or ())) if isinstance(v, tuple) else v)
            }
            if changed:
                step.refused = changed
                step.note = "not archived: people edited the page after the run"
                return step
        step.note = "archived" if trash else "restored from trash"
        if not self.dry_run:
            assert entry.page_id is not None
            self.client.update_page(entry.page_id, in_trash=trash)
            with self.store.transaction() as tx:
                tx.set_archived(entry.target, entry.sync_key, trash)
                tx.settle(entry.seq, "rolled_back", now())
        return step

    def update(self, entry: JournalEntry, step: RollbackStep, page: dict[str, Any]) -> RollbackStep:
        types = self.types(entry.target)
        for prop, written in entry.after.items():
            expected = tuple(sorted(written or ())) if isinstance(written, tuple) else written
            if self.value(page, entry.target, prop) != expected:
                step.refused[prop] = "changed in Notion since the run"
            else:
                step.restored[prop] = entry.before.get(prop)
        if step.restored and not self.dry_run:
            assert entry.page_id is not None
            request = {p: encode(types[p], v)[0] for p, v in step.restored.items()}
            self.client.update_page(entry.page_id, properties=request)
            with self.store.transaction() as tx:
                tx.set_written(entry.target, entry.sync_key, step.restored)
                tx.settle(entry.seq, "rolled_back", now())
        return step

    def cursor(self, entry: JournalEntry, step: RollbackStep) -> RollbackStep:
        source, _, stream = entry.sync_key.partition("/")
        old = entry.before.get("cursor")
        step.note = f"cursor of {entry.sync_key} rewound"
        if not self.dry_run:
            with self.store.transaction() as tx:
                if old is None:
                    tx.delete_cursor(entry.target, source, stream)
                else:
                    tx.set_cursor(entry.target, source, stream, str(old), now())
                tx.settle(entry.seq, "rolled_back", now())
        return step


def rollback(
    recipe: Recipe, run_id: str, *, dry_run: bool = False, rate_limit: float | None = None
) -> RollbackReport:
    """Undo the writes of run ``run_id`` of ``recipe`` (see the module docstring).

    Raises:
        ConfigError: the run is unknown or wrote nothing that can be undone.
        LockHeld: a run of the recipe is in progress.
        NotionError, StateError: Notion or the state store failed; entries not yet undone stay
            applied and a second rollback continues where this one stopped.
    """
    store = StateStore(recipe.state_path)
    try:
        entries = store.journal(run_id=run_id, status="applied")
        if not entries:
            known = ", ".join(r.run_id for r in store.runs(5)) or "none"
            raise ConfigError(
                f"run {run_id} of recipe {recipe.name} has no writes to undo (recent runs: {known})"
            )
        report = RollbackReport(run_id, dry_run)
        client = notion_client_for(recipe, rate_limit)
        try:
            with RunLock(recipe.state_path, recipe.name, f"rollback {run_id}"):
                undo = _Rollback(recipe, store, client, dry_run)
                for entry in reversed(entries):
                    report.steps.append(undo.undo(entry))
        finally:
            client.close()
        return report
    finally:
        store.close()
