"""The rate budget's backends, for the tests of shared semantics: ``budget_backend`` runs a test
once with the file budget and once with each budget server (real, on loopback: tests/servers.py)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from syncfw.notion.budget import RateBudget, SharedRateBudget
from syncfw.notion.budgets import server_budget

BACKENDS = {"file": None, "postgresql": "postgres_url", "redis": "redis_url"}
"""Each backend and the session fixture of its server (tests/conftest.py)."""


@dataclass(frozen=True)
class Backend:
    """Where budgets of one test are shared: a directory (``file``) or a server URL."""

    name: str
    directory: Path
    url: str | None
    prefix: str  # keeps each test's keys apart on a session's server

    def budget(
        self,
        rate: float,
        burst: int = 3,
        *,
        key: str,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> RateBudget:
        """A budget of ``key`` on this backend (``clock`` None: the backend's own clock)."""
        if self.url is None:
            return SharedRateBudget(
                rate, burst, key=key, directory=self.directory, clock=clock or time.time, sleep=sleep
            )
        return server_budget(self.url, rate, burst, key=self.prefix + key, clock=clock, sleep=sleep)

    @property
    def env(self) -> dict[str, str]:
        """The environment that makes ``budget_for`` use this backend."""
        if self.url is None:
            return {"SYNCFW_BUDGET_DIR": str(self.directory)}
        return {"SYNCFW_BUDGET_URL": self.url}


@pytest.fixture(params=list(BACKENDS))
def budget_backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    name = request.param
    server = BACKENDS[name]
    url = None if server is None else request.getfixturevalue(server)
    return Backend(name, tmp_path / "budgets", url, f"{uuid.uuid4().hex[:8]}-")
