"""Moving a recipe's state from its SQLite file to PostgreSQL (``syncfw state migrate``).

Everything moves, table by table, as stored: every table the SQLite store has (after opening
brought it to the newest schema version, :mod:`syncfw.state.schema`), so a table a later migration
adds moves too. That is the identity map, written values, relation keys, matches, cursors,
target and property ids, the Notion read watermark, quarantine, the write-ahead journal with its
open intents (the next run settles them as if it ran on the same disk), alert states, settings
and the run history. The destination schema is made at the newest version, filled and given a
history row for the migration in one PostgreSQL transaction (:func:`syncfw.state.postgres.new_state`):
a failure leaves nothing there, and a destination that holds a state of the recipe already is
refused. The recipe's run lock is held throughout, so no run changes the file meanwhile; the file
itself is left as it was.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from syncfw.errors import ConfigError
from syncfw.recipe import Recipe
from syncfw.recipe.state import PostgresState
from syncfw.state.open import run_lock, without_psycopg
from syncfw.state.protocol import HistoryTransaction
from syncfw.state.sqlite import StateStore

COMMAND = "state migrate"
"""The command named as the holder of the run lock while a migration runs."""

Record = Callable[[HistoryTransaction, dict[str, int]], str]
"""Records the migration in the destination's run history, in its transaction, given the rows
copied per table; answers the history row's id."""


@dataclass(frozen=True)
class Migrated:
    """A finished migration: where from (the SQLite file), where to (URL without password and
    schema), the rows copied per table, and the id of its row in the destination's run history."""

    source: str
    destination: str
    copied: dict[str, int]
    run_id: str


def migrate_state(
    recipe: Recipe, destination: PostgresState, record: Record, environ: Mapping[str, str] = os.environ
) -> Migrated:
    """Copy ``recipe``'s SQLite state to a new schema at ``destination`` (see the module docstring).

    Raises:
        ConfigError: the state is not in a SQLite file here, or there is none, or the destination
            holds a state of the recipe already, or psycopg is missing (exit 2; nothing written).
        LockHeld: a run of the recipe holds its lock (exit 75; nothing written).
        StateError: either store cannot be read or written (nothing written).
    """
    source = recipe.state_location(environ)
    if isinstance(source, PostgresState):
        raise ConfigError(
            f"the state of recipe {recipe.name} is on PostgreSQL already ({source}): `syncfw state "
            "migrate` moves a state from its SQLite file"
        )
    if not source.path.is_file():
        raise ConfigError(
            f"recipe {recipe.name} has no state at {source.path} (it never ran here): nothing to migrate"
        )
    try:
        from syncfw.state.postgres import new_state
    except ImportError:
        raise without_psycopg() from None
    with run_lock(recipe, COMMAND, environ):
        store = StateStore(source.path)
        try:
            with new_state(destination, recipe.name) as state:
                copied = {}
                for table in store.tables():
                    columns = store.columns(table)
                    copied[table] = state.copy(table, columns, store.table_rows(table, columns))
                run_id = record(state.transaction(), copied)
                return Migrated(str(source), str(state), copied, run_id)
        finally:
            store.close()
