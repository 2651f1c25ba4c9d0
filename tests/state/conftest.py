"""Fixtures of the state store's behaviour tests: a store, and a way to open the same store again.

The tests written against ``store`` and ``open_store`` assert behaviour every backend must have
(:mod:`syncfw.state.protocol`); each runs once per backend: a SQLite file, and a database of its
own on the session's throwaway PostgreSQL server (tests/servers.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from syncfw.recipe.state import PostgresState
from syncfw.state import StateBackend, StateStore
from syncfw.state.postgres import PostgresStore

OpenStore = Callable[[], StateBackend]


@pytest.fixture(params=["sqlite", "postgresql"])
def open_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[OpenStore]:
    """Opens the test's one store (each call a new connection to the same state); closes them all."""
    opened: list[StateBackend] = []
    if request.param == "sqlite":

        def again() -> StateBackend:
            return StateStore(tmp_path / "state.sqlite")

    else:
        url = request.getfixturevalue("postgres_database")

        def again() -> StateBackend:
            return PostgresStore(PostgresState(url, url), "state-test")

    def tracked() -> StateBackend:
        opened.append(again())
        return opened[-1]

    yield tracked
    for store in opened:
        store.close()


@pytest.fixture
def store(open_store: OpenStore) -> StateBackend:
    return open_store()
