"""Fixtures for the Notion emulator tests: an emulator served over real HTTP, real clients."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from notion_client import Client

from syncfw.emulation import ServedApp
from syncfw.sandbox.notion import NotionEmulator
from tests.sandbox.notion_helpers import TOKEN, VERSION, Clock


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def emulator(clock: Clock) -> Iterator[NotionEmulator]:
    emu = NotionEmulator(None, token=TOKEN, clock=clock)
    yield emu
    emu.close()


@pytest.fixture
def served(emulator: NotionEmulator) -> Iterator[ServedApp]:
    server = ServedApp(emulator.app)
    yield server
    server.stop()


@pytest.fixture
def notion(served: ServedApp) -> Client:
    """The real notion-client, retries off so every request is visible."""
    return Client(auth=TOKEN, base_url=served.url, retry=False)


@pytest.fixture
def http(served: ServedApp) -> Iterator[httpx.Client]:
    """A raw HTTP client with the headers notion-client sends, for requests it would not make."""
    with httpx.Client(
        base_url=served.url, headers={"Authorization": f"Bearer {TOKEN}", "Notion-Version": VERSION}
    ) as client:
        yield client
