"""Fixtures: the HubSpot emulator over HTTPS, seeded with a copy of the shipped sandbox data."""

from __future__ import annotations

import json
import os
import shutil
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from syncfw_hubspot import HubSpotConfig, HubSpotConnector
from syncfw_hubspot.emulator import HubSpotEmulator, HubSpotPortal
from tenacity import wait_none

from syncfw.connector import Checkpoint, EmulatorContext, Record
from syncfw.emulation import TLSFiles

SEED_DIR = HubSpotEmulator.seed_data

FIXTURES = Path(__file__).parent / "fixtures"


@dataclass
class Sandbox:
    """A running emulator, its seed directory and the env vars it returned."""

    emulator: HubSpotEmulator
    env: dict[str, str]
    data_dir: Path

    @property
    def portal(self) -> HubSpotPortal:
        assert self.emulator.portal is not None
        return self.emulator.portal

    def connector(self, **config: Any) -> HubSpotConnector:
        """A connector configured from the env vars, as a sandbox recipe would be; searches
        are not paced unless ``search_requests_per_second`` is given."""
        config.setdefault("search_requests_per_second", 1000)
        settings = HubSpotConfig(
            access_token=self.env["HUBSPOT_ACCESS_TOKEN"], host=self.env["HUBSPOT_HOST"], **config
        )
        return HubSpotConnector(settings)

    def read(
        self, stream: str, cursor: str | None = None, fields: tuple[str, ...] = (), **config: Any
    ) -> tuple[list[Record], list[Checkpoint]]:
        """Read a stream through a new connector: its records and its checkpoints, in order."""
        connector = self.connector(**config)
        try:
            items = list(connector.read(stream, cursor, fields))
        finally:
            connector.close()
        return (
            [i for i in items if isinstance(i, Record)],
            [i for i in items if isinstance(i, Checkpoint)],
        )

    def seed(self, object_type: str) -> list[dict[str, Any]]:
        data: list[dict[str, Any]] = json.loads((self.data_dir / f"{object_type}.json").read_text())
        return data

    def write(self, object_type: str, records: list[dict[str, Any]]) -> None:
        """Replace a seed file the way an editor does (new file, renamed over the old one)."""
        path = self.data_dir / f"{object_type}.json"
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(records, indent=2))
        os.replace(temporary, path)


@pytest.fixture
def recorded() -> Callable[[str], dict[str, Any]]:
    """Load one of the answers in ``fixtures/`` (HubSpot's shapes with made-up values)."""

    def load(name: str) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((FIXTURES / name).read_text())
        return data

    return load


@pytest.fixture(scope="session")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TLSFiles:
    return TLSFiles.in_dir(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="session")
def stopping() -> Iterator[list[threading.Thread]]:
    """Emulators being stopped in the background; waited for once, when the session ends.

    Stopping a server takes about 0.2 s (uvicorn's shutdown tick): waiting for each one would
    double the time of the suite.
    """
    threads: list[threading.Thread] = []
    yield threads
    for thread in threads:
        thread.join()


@pytest.fixture
def start_sandbox(
    tls: TLSFiles, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stopping: list[threading.Thread]
) -> Iterator[Callable[..., Sandbox]]:
    """Start emulators on copies of the shipped seed data; stops them after the test.

    The emulator's search limit (5 a second) is off so tests may search fast, and its search
    index lag is 0 so writes are searchable at once; tests of pacing and of the lag turn them
    back on.
    """
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tls.ca_file))
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.setattr(HubSpotConnector, "retry_wait", wait_none())
    started: list[HubSpotEmulator] = []

    def start() -> Sandbox:
        data_dir = tmp_path / f"seed{len(started)}" / "hubspot"
        shutil.copytree(SEED_DIR, data_dir)
        emulator = HubSpotEmulator()
        env = emulator.start(EmulatorContext(data_dir, tmp_path / "state", tls))
        started.append(emulator)
        assert emulator.portal is not None
        emulator.portal.search_per_second = None
        emulator.portal.search_lag = 0
        return Sandbox(emulator, env, data_dir)

    yield start
    for emulator in started:
        thread = threading.Thread(target=emulator.stop, name="stop-hubspot-emulator")
        thread.start()
        stopping.append(thread)


@pytest.fixture
def sandbox(start_sandbox: Callable[..., Sandbox]) -> Sandbox:
    return start_sandbox()
