"""Many recipes in one command (``syncfw run recipes/ --select … --due``): one after another, one
summary, one exit code.

Recipes run one after another in the order of their files. Recipes sharing a Notion token share
its rate budget (:func:`syncfw.notion.budget.budget_for`: one per token in a process, shared with
the token's other processes), and with one recipe running at a time their requests never add up
beyond it. A recipe that cannot be read, or whose run fails, does not stop the others; a signal
(SIGINT/SIGTERM) stops the run it interrupts and every recipe after it.

The exit code is the worst of the recipes' by :data:`SEVERITY` (codes: README "Exit codes").
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from syncfw.engine.report import RunReport
from syncfw.engine.selection import is_due, parse_selectors, select
from syncfw.errors import ConfigError, GuardStop, LockHeld, SyncfwError
from syncfw.recipe import Recipe

SEVERITY = (130, 143, 1, 2, 4, 3, 75, 0)
"""Exit codes, worst first: stopped by a signal (the whole command stopped); a run failed; a
recipe or option is wrong (it cannot run until fixed); a guard stopped a run (it waits for a
person); records were quarantined (the rest synced); another run held the lock (the next
schedule runs it); success. A code not listed (a crash) counts as a failure."""
INTERRUPTED = (130, 143)


def worst_exit_code(codes: Iterable[int]) -> int:
    """The worst of ``codes`` by :data:`SEVERITY`; 0 for none."""
    rank = {code: i for i, code in enumerate(SEVERITY)}
    return min(codes, key=lambda code: rank.get(code, rank[1]), default=0)


@dataclass(frozen=True)
class RecipeOutcome:
    """What one command did with one recipe file.

    ``status`` is the run's (success, partial, failed, stopped, interrupted), or ``invalid`` (it
    could not be read), ``locked`` (exit 75), ``skipped`` (not due, or after a signal); ``note``
    says why for all but a finished run; ``report`` is the run report (None when it did not run).
    """

    path: Path
    recipe: str | None
    status: str
    exit_code: int
    note: str | None = None
    report: RunReport | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "recipe": self.recipe,
            "path": str(self.path),
            "status": self.status,
            "exit_code": self.exit_code,
            "note": self.note,
            "report": None if self.report is None else self.report.as_dict(),
        }


@dataclass
class BatchReport:
    """Every recipe file a command looked at, in order; ``exit_code`` is the worst."""

    command: str
    outcomes: list[RecipeOutcome] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return worst_exit_code(o.exit_code for o in self.outcomes)

    def as_dict(self) -> dict[str, Any]:
        """``{"command", "exit_code", "recipes": [...]}``, one :meth:`RecipeOutcome.as_dict` each."""
        return {
            "command": self.command,
            "exit_code": self.exit_code,
            "recipes": [o.as_dict() for o in self.outcomes],
        }


def _failed(path: Path, name: str | None, exc: SyncfwError) -> RecipeOutcome:
    status = (
        "invalid"
        if isinstance(exc, ConfigError)
        else "locked"
        if isinstance(exc, LockHeld)
        else "stopped"
        if isinstance(exc, GuardStop)
        else "failed"
    )
    return RecipeOutcome(path, name, status, exc.exit_code, str(exc))


def run_batch(
    command: str,
    paths: Sequence[Path],
    selected: Sequence[str],
    *,
    due: bool,
    now: datetime,
    offline: Callable[[Path], Recipe],
    load: Callable[[Path], Recipe],
    one: Callable[[Recipe], RunReport],
) -> BatchReport:
    """Run ``one`` on every recipe of ``paths`` that ``selected`` (``--select`` values) selects
    and, with ``due``, that is due at ``now``.

    ``offline`` reads a recipe without credentials (for selecting it and its schedule), ``load``
    reads it to run it; a recipe either cannot read is an ``invalid`` outcome (exit 2), whether
    selected or not: it might have been.

    Raises:
        ConfigError: a ``--select`` value is malformed or selects no recipe; nothing ran.
    """
    selectors = parse_selectors(selected)
    batch = BatchReport(command)
    readable: list[Recipe] = []
    for path in paths:
        try:
            readable.append(offline(path))
        except ConfigError as exc:
            batch.outcomes.append(_failed(path, None, exc))
    try:
        chosen = select(readable, selectors)
    except ConfigError as exc:
        unread = "".join(f"\n{o.path} could not be read: {o.note}" for o in batch.outcomes)
        raise ConfigError(f"{exc}{unread}") from None
    for recipe in chosen:
        batch.outcomes.append(_one(recipe, due=due, now=now, load=load, one=one, stopped=_stopped(batch)))
    order = {path.resolve(): i for i, path in enumerate(paths)}
    batch.outcomes.sort(key=lambda o: order[o.path.resolve()])
    return batch


def _stopped(batch: BatchReport) -> bool:
    return any(o.exit_code in INTERRUPTED for o in batch.outcomes)


def _one(
    recipe: Recipe,
    *,
    due: bool,
    now: datetime,
    load: Callable[[Path], Recipe],
    one: Callable[[Recipe], RunReport],
    stopped: bool,
) -> RecipeOutcome:
    if stopped:
        return RecipeOutcome(recipe.path, recipe.name, "skipped", 0, "not run: the command was stopped")
    if due:
        when = is_due(recipe, now)
        if not when.due:
            return RecipeOutcome(recipe.path, recipe.name, "skipped", 0, when.reason)
    try:
        report = one(load(recipe.path))
    except SyncfwError as exc:
        return _failed(recipe.path, recipe.name, exc)
    return RecipeOutcome(recipe.path, recipe.name, report.status, report.exit_code, report.error, report)
