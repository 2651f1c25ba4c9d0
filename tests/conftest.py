"""Shared fixtures: a running sandbox (Notion + Salesforce emulators) seeded with a private copy
of the sample data, the environment a recipe needs to reach it, and the demo recipe."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from syncfw.plugins import Registry, load_plugins
from syncfw.sandbox.runner import Sandbox
from syncfw.testing import copy_seed_data
from tests.servers import Server, ServerMissing, start_postgres, start_redis

REPO = Path(__file__).resolve().parents[1]

# The emulators commit a request within milliseconds (Notion may take up to 60 s): recovery after
# a crash need not wait the default 65 s for requests still in flight. Subprocesses inherit it.
os.environ.setdefault("SYNCFW_INFLIGHT_GRACE", "2")
RECIPE = REPO / "recipes" / "salesforce-accounts.yaml"


@pytest.fixture(scope="session")
def registry() -> Registry:
    return load_plugins()


@pytest.fixture
def seed_dir(tmp_path: Path, registry: Registry) -> Path:
    """A writable copy of the connectors' seed data (tests edit it to simulate source changes)."""
    return copy_seed_data(registry.emulators.values(), tmp_path / "seed")


def start_sandbox(
    tmp_path: Path,
    registry: Registry,
    seed_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    **kwargs: object,
) -> Sandbox:
    box = Sandbox(tmp_path / "sandbox", registry, data_dir=seed_dir, **kwargs)  # type: ignore[arg-type]
    env = box.start()
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    box.write_env(tmp_path / "sandbox.env")
    monkeypatch.chdir(tmp_path)
    return box


@pytest.fixture
def sandbox(
    tmp_path: Path, registry: Registry, seed_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Sandbox]:
    box = start_sandbox(tmp_path, registry, seed_dir, monkeypatch)
    yield box
    box.stop()


def _server(start: Callable[[], Server]) -> Iterator[str]:
    """A throwaway server for the session (tests/servers.py); a test that needs one fails, never
    skips, when it cannot be started: CI runs every backend test."""
    try:
        server = start()
    except ServerMissing as exc:
        missing = str(exc)
    else:
        yield server.url
        server.stop()
        return
    pytest.fail(missing, pytrace=False)  # outside the except: one line, no chained exception


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """The URL (with its password) of a throwaway PostgreSQL 15 server on loopback."""
    yield from _server(start_postgres)


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """The URL (with its password) of a throwaway Redis server on loopback."""
    yield from _server(start_redis)


@pytest.fixture
def postgres_database(postgres_url: str) -> Iterator[str]:
    """The URL of a new, empty database of its own on the throwaway server, dropped after the test
    (so that tests never see each other's rows)."""
    import psycopg
    from psycopg import sql

    name = f"test_{secrets.token_hex(6)}"
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    yield urlsplit(postgres_url)._replace(path=f"/{name}").geturl()
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))
