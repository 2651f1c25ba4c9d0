"""Opening a recipe's state and run lock where the recipe says they are.

:func:`open_state` and :func:`run_lock` are what the engine, health and the command line use; the
place comes from :meth:`syncfw.recipe.Recipe.state_location` (``state:`` in the recipe, else
``SYNCFW_STATE_URL``, else ``.syncfw/<recipe>.sqlite``). The PostgreSQL backend
(:mod:`syncfw.state.postgres`) is imported only when a recipe's state is there, so SQLite users
need no psycopg.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from contextlib import AbstractContextManager

from syncfw.errors import ConfigError
from syncfw.recipe import Recipe
from syncfw.recipe.state import PostgresState, SqliteState
from syncfw.state.lock import RunLock
from syncfw.state.protocol import StateBackend
from syncfw.state.sqlite import StateStore


def open_state(recipe: Recipe, environ: Mapping[str, str] = os.environ) -> StateBackend:
    """The state of ``recipe``, made (and migrated) if needed.

    Raises:
        ConfigError: ``SYNCFW_STATE_URL`` is malformed, or names PostgreSQL without psycopg.
        StateError: the store cannot be opened.
    """
    location = recipe.state_location(environ)
    if isinstance(location, SqliteState):
        return StateStore(location.path)
    try:
        from syncfw.state.postgres import PostgresStore
    except ImportError:
        raise without_psycopg() from None
    return PostgresStore(location, recipe.name)


def existing_state(recipe: Recipe, environ: Mapping[str, str] = os.environ) -> StateBackend | None:
    """The state of ``recipe``, or None when it never ran there (nothing is created).

    Raises:
        ConfigError, StateError: as :func:`open_state`.
    """
    location = recipe.state_location(environ)
    if isinstance(location, SqliteState):
        return StateStore(location.path) if location.path.exists() else None
    try:
        from syncfw.state.postgres import postgres_state_exists
    except ImportError:
        raise without_psycopg() from None
    if not postgres_state_exists(location, recipe.name):
        return None
    return open_state(recipe, environ)


def run_lock(
    recipe: Recipe, command: str, environ: Mapping[str, str] = os.environ
) -> AbstractContextManager[object]:
    """The run lock of ``recipe``: a kernel lock beside a SQLite file
    (:class:`~syncfw.state.lock.RunLock`), or a PostgreSQL advisory lock
    (:class:`~syncfw.state.postgres.AdvisoryRunLock`). Entering it raises
    :class:`~syncfw.errors.LockHeld` (exit 75) when another run holds it."""
    location = recipe.state_location(environ)
    if isinstance(location, PostgresState):
        try:
            from syncfw.state.postgres import AdvisoryRunLock
        except ImportError:
            raise without_psycopg() from None
        return AdvisoryRunLock(location, recipe.name, command)
    return RunLock(location.path, recipe.name, command)


def without_psycopg() -> ConfigError:
    """The error (exit 2) of a state on PostgreSQL without the optional extra."""
    return ConfigError(
        "the state is on PostgreSQL but psycopg is not installed: pip install 'syncfw[postgres]'"
    )
