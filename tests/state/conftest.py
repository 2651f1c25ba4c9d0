"""Fixtures of the state store's behaviour tests: a store, and a way to open the same store again.

The tests written against ``store`` and ``open_store`` assert behaviour every backend must have
(:mod:`syncfw.state.protocol`); a second backend joins by adding a parameter to ``open_store``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from syncfw.state import StateBackend, StateStore

OpenStore = Callable[[], StateBackend]


@pytest.fixture(params=["sqlite"])
def open_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[OpenStore]:
    """Opens the test's one store (each call a new connection to the same state); closes them all."""
    opened: list[StateBackend] = []

    def again() -> StateBackend:
        opened.append(StateStore(tmp_path / "state.sqlite"))
        return opened[-1]

    yield again
    for store in opened:
        store.close()


@pytest.fixture
def store(open_store: OpenStore) -> StateBackend:
    return open_store()
