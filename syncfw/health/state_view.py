"""What a recipe's state store holds, and clearing its cursors: ``syncfw state show`` and
``syncfw state reset`` (after Meltano's ``meltano state`` and Terraform's ``state`` commands).

Both work through the state protocols (:class:`syncfw.state.SyncState`,
:class:`syncfw.state.RunHistory`), so they read and change any backend the same way.

A reset deletes stream cursors, so the next run reads those streams from the start (a full read
that changes nothing in Notion where nothing changed at the source: the identity map and the
written values stay). It holds the recipe's run lock while it writes, so it is refused (exit 75)
while a run goes on, and it is recorded in the run history as a ``reset`` row (``syncfw runs``).
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from typing import Any

from syncfw.errors import ConfigError
from syncfw.health.history import RunEntry, entry, record_command
from syncfw.recipe import Recipe
from syncfw.state import existing_state, open_state, run_lock

RUNS_SHOWN = 5
"""Runs ``syncfw state show`` lists, newest first."""


@dataclass(frozen=True)
class Cursor:
    """The cursor of one stream of one target, and when a run last moved it (ISO 8601 UTC)."""

    target: str
    source: str
    stream: str
    cursor: str
    updated_at: str

    @property
    def name(self) -> str:
        """``target: source/stream``, as the reset's confirmation and history show it."""
        return f"{self.target}: {self.source}/{self.stream}"


@dataclass(frozen=True)
class TargetState:
    """What the state knows of one target: pages in its identity map (and how many archived),
    open intents (writes a crashed run left unsettled) and records in quarantine."""

    target: str
    pages: int
    archived: int
    open_intents: int
    quarantined: int


@dataclass(frozen=True)
class StateView:
    """A recipe's state: ``exists`` is False when it never ran here (nothing else is then set)."""

    recipe: str
    state_path: str
    exists: bool
    targets: list[TargetState] = field(default_factory=list)
    cursors: list[Cursor] = field(default_factory=list)
    runs: list[RunEntry] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "recipe": self.recipe,
            "state_path": self.state_path,
            "exists": self.exists,
            "targets": [asdict(t) for t in self.targets],
            "cursors": [asdict(c) for c in self.cursors],
            "runs": [r.as_dict() for r in self.runs],
        }


def state_view(recipe: Recipe) -> StateView:
    """What the state store of ``recipe`` holds, per target; the store is not created when missing.

    Raises:
        StateError: the store cannot be read.
    """
    store = existing_state(recipe)
    if store is None:
        return StateView(recipe.name, str(recipe.state_location(os.environ)), exists=False)
    try:
        cursors = [Cursor(*row) for row in store.cursors()]
        open_intents = store.journal(status="open")
        quarantined = store.quarantined()
        names = list(recipe.targets) + sorted({c.target for c in cursors} - set(recipe.targets))
        targets = [
            TargetState(
                name,
                store.page_count(name),
                store.page_count(name, archived=True),
                sum(1 for i in open_intents if i.target == name),
                sum(1 for q in quarantined if q.target == name),
            )
            for name in names
        ]
        runs = [entry(r) for r in store.runs(RUNS_SHOWN)]
    finally:
        store.close()
    return StateView(recipe.name, str(recipe.state_location(os.environ)), True, targets, cursors, runs)


def cursors_to_reset(recipe: Recipe, target: str | None = None, stream: str | None = None) -> list[Cursor]:
    """The cursors ``syncfw state reset`` would clear: all, or those of one target and/or one
    stream (``stream`` is a stream name, e.g. ``Account``, or ``source/stream``).

    Raises:
        ConfigError: ``target`` is not a target of the recipe, or ``stream`` is read by none of
            the chosen targets' mappings.
    """
    if target is not None and target not in recipe.targets:
        raise ConfigError(
            f"--target {target}: recipe {recipe.name} has no such target (it has {', '.join(recipe.targets)})"
        )
    if stream is not None:
        chosen = [recipe.targets[target]] if target is not None else list(recipe.targets.values())
        streams = {f"{m.source}/{m.stream}" for t in chosen for m in t.mappings}
        if not any(stream in (s, s.split("/", 1)[1]) for s in streams):
            raise ConfigError(
                f"--stream {stream}: no mapping {'of target ' + target + ' ' if target else ''}reads it "
                f"(streams: {', '.join(sorted(streams))})"
            )
    return [
        c
        for c in state_view(recipe).cursors
        if (target is None or c.target == target)
        and (stream is None or stream in (c.stream, f"{c.source}/{c.stream}"))
    ]


def reset_cursors(
    recipe: Recipe, cursors: list[Cursor], context: dict[str, Any], command: str = "state reset"
) -> str:
    """Delete ``cursors`` (from :func:`cursors_to_reset`) under the recipe's run lock and record the
    reset in its run history in the same transaction; returns the history row's id.

    Raises:
        LockHeld: a run of the recipe holds its lock (exit 75); nothing was changed.
        StateError: the store cannot be written; nothing was changed.
    """
    with run_lock(recipe, command):
        store = open_state(recipe)
        try:
            with store.transaction() as tx:
                for c in cursors:
                    tx.delete_cursor(c.target, c.source, c.stream)
                summary = {"cleared": [c.name for c in cursors], "context": context}
                return record_command(tx, recipe.name, "reset", summary)
        finally:
            store.close()
