"""Fixtures: the Salesforce emulator over HTTPS, seeded with a copy of the shipped sandbox data."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from syncfw_salesforce import SalesforceConfig, SalesforceConnector
from syncfw_salesforce.emulator import SalesforceEmulator, SalesforceOrg
from tenacity import wait_none

from syncfw.connector import Checkpoint, EmulatorContext, Record
from syncfw.emulation import TLSFiles

SEED_DIR = SalesforceEmulator.seed_data


@dataclass
class Sandbox:
    """A running emulator, its seed directory and the env vars it returned."""

    emulator: SalesforceEmulator
    env: dict[str, str]
    data_dir: Path

    @property
    def org(self) -> SalesforceOrg:
        assert self.emulator.org is not None
        return self.emulator.org

    def connector(self, **config: Any) -> SalesforceConnector:
        """A connector configured from the env vars, as a sandbox recipe would be."""
        settings = SalesforceConfig(
            session_id=self.env["SALESFORCE_SESSION_ID"],
            instance_url=self.env["SALESFORCE_INSTANCE_URL"],
            **config,
        )
        return SalesforceConnector(settings)

    def read(
        self, stream: str, cursor: str | None = None, fields: tuple[str, ...] = ("Name",), **config: Any
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

    def records(self, sobject: str) -> list[dict[str, Any]]:
        data: list[dict[str, Any]] = json.loads((self.data_dir / f"{sobject}.json").read_text())
        return data

    def write(self, sobject: str, records: list[dict[str, Any]]) -> None:
        """Replace a seed file the way an editor does (new file, renamed over the old one)."""
        path = self.data_dir / f"{sobject}.json"
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(records, indent=2))
        os.replace(temporary, path)


@pytest.fixture(scope="session")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TLSFiles:
    return TLSFiles.in_dir(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def start_sandbox(
    tls: TLSFiles, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[..., Sandbox]]:
    """Start emulators on copies of the shipped seed data; stops them at teardown."""
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tls.ca_file))
    monkeypatch.setattr(SalesforceConnector, "retry_wait", wait_none())
    started: list[SalesforceEmulator] = []

    def start(**options: str) -> Sandbox:
        data_dir = tmp_path / f"seed{len(started)}" / "salesforce"
        shutil.copytree(SEED_DIR, data_dir)
        emulator = SalesforceEmulator()
        env = emulator.start(EmulatorContext(data_dir, tmp_path / "state", tls, options))
        started.append(emulator)
        return Sandbox(emulator, env, data_dir)

    yield start
    for emulator in started:
        emulator.stop()


@pytest.fixture
def sandbox(start_sandbox: Callable[..., Sandbox]) -> Sandbox:
    return start_sandbox()
