"""Which recipes of a directory one command runs: ``--select`` (dbt's selection habits) and ``--due``.

Selection (https://docs.getdbt.com/reference/node-selection/syntax): every ``--select`` value, and
every space-separated word in one, adds recipes (a union); no ``--select`` selects them all.
A word is

* ``NAME``: the recipe whose ``recipe:`` is NAME;
* ``tag:T``: every recipe with T in its ``tags:``;
* ``source:S``: every recipe with a source named S or read by the connector S;
* a path (it contains ``/`` or ends in ``.yaml``/``.yml``): that recipe file, or every recipe in
  that directory.

A word that selects no recipe is an error (exit 2): a typo in a cron line must not quietly run
nothing.

Due (``--due``): a recipe is due when its ``schedule:`` (cron, five fields or a macro such as
``@hourly``, in UTC) has a fire time after the start of its last run and no later than now, or
when it never ran (its run history, :meth:`syncfw.state.RunHistory.last_run`, has no ``run``).
Fire times come from cronsim, which also checks schedules when a recipe is loaded. A recipe
without ``schedule:`` is never due, even when named: ``--due`` runs what the schedules say, and
the summary notes it was skipped.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from cronsim import CronSim

from syncfw.clock import iso, parse_time
from syncfw.errors import ConfigError
from syncfw.recipe import Recipe
from syncfw.state import existing_state

CRON_MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
"""The cron macros a ``schedule:`` may use, as five fields (cronsim reads only fields)."""
METHODS = ("tag", "source")


@dataclass(frozen=True)
class Selector:
    """One word of a ``--select`` value: ``method`` is ``name``, ``path``, ``tag`` or ``source``."""

    method: str
    value: str
    text: str

    def matches(self, recipe: Recipe) -> bool:
        if self.method == "name":
            return recipe.name == self.value
        if self.method == "tag":
            return self.value in recipe.tags
        if self.method == "source":
            return any(n == self.value or s.connector == self.value for n, s in recipe.sources.items())
        chosen = Path(self.value).resolve()
        found = recipe.path.resolve()
        return found == chosen or chosen in found.parents


def parse_selectors(values: Iterable[str]) -> list[Selector]:
    """The words of ``--select`` values.

    Raises:
        ConfigError: a word has an unknown method (``tags:x``) or nothing after its colon.
    """
    selectors = []
    for word in (w for value in values for w in value.split()):
        method, colon, value = word.partition(":")
        if "/" in word or word.endswith((".yaml", ".yml")):
            selectors.append(Selector("path", word, word))
        elif not colon:
            selectors.append(Selector("name", word, word))
        elif method in METHODS and value:
            selectors.append(Selector(method, value, word))
        else:
            raise ConfigError(
                f"--select {word}: give a recipe name, a recipe file or directory, tag:TAG or source:SOURCE"
            )
    return selectors


def select(recipes: Sequence[Recipe], selectors: Sequence[Selector]) -> list[Recipe]:
    """The recipes any of ``selectors`` matches (all of them when there is none), in their order.

    Raises:
        ConfigError: a selector matches no recipe (every such selector is named).
    """
    if not selectors:
        return list(recipes)
    unmatched = [s.text for s in selectors if not any(s.matches(r) for r in recipes)]
    if unmatched:
        raise ConfigError(f"--select {' '.join(unmatched)}: matches no recipe")
    return [r for r in recipes if any(s.matches(r) for s in selectors)]


@dataclass(frozen=True)
class Due:
    """Whether a recipe is due now: ``reason`` says why (or why not) for the summary."""

    due: bool
    reason: str


def next_fire(schedule: str, after: datetime) -> datetime:
    """The first fire time of ``schedule`` (cron or macro, UTC) strictly after ``after`` (aware)."""
    fields = CRON_MACROS.get(schedule.strip(), schedule)
    return next(CronSim(fields, after))


def due_now(schedule: str | None, last_started: datetime | None, now: datetime) -> Due:
    """Whether a recipe with ``schedule`` whose last run started at ``last_started`` is due at ``now``."""
    if schedule is None:
        return Due(False, "no schedule: run it without --due")
    if last_started is None:
        return Due(True, "never ran")
    fire = next_fire(schedule, last_started)
    if fire <= now:
        return Due(True, f"due since {iso(fire)}")
    return Due(False, f"not due: next at {iso(fire)}")


def is_due(recipe: Recipe, now: datetime) -> Due:
    """:func:`due_now` for ``recipe``, its last run read from its state store (which is not
    created when the recipe never ran here)."""
    store = existing_state(recipe) if recipe.schedule is not None else None
    if store is None:
        return due_now(recipe.schedule, None, now)
    try:
        last = store.last_run("run")
    finally:
        store.close()
    return due_now(recipe.schedule, parse_time(last.started_at) if last else None, now)
