"""Fixtures: the Zendesk emulator over HTTPS, seeded with a copy of the shipped sandbox data,
reached by real zenpy through ``ZENPY_FORCE_NETLOC`` / ``ZENPY_FORCE_SCHEME``."""

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
from syncfw_zendesk import ZendeskConfig, ZendeskConnector
from syncfw_zendesk.client import ZendeskClient
from syncfw_zendesk.emulator import ZendeskAccount, ZendeskEmulator
from syncfw_zendesk.streams import epoch_seconds
from tenacity import wait_none

from syncfw.connector import Checkpoint, EmulatorContext, Record
from syncfw.emulation import TLSFiles

SEED_DIR = ZendeskEmulator.seed_data


@dataclass
class Sandbox:
    """A running emulator, its seed directory and the env vars it returned."""

    emulator: ZendeskEmulator
    env: dict[str, str]
    data_dir: Path

    @property
    def account(self) -> ZendeskAccount:
        assert self.emulator.account is not None
        return self.emulator.account

    def connector(self, **config: Any) -> ZendeskConnector:
        """A connector configured from the env vars, as a sandbox recipe would be (API token)."""
        credentials = {"email": self.env["ZENDESK_EMAIL"], "api_token": self.env["ZENDESK_API_TOKEN"]}
        if "oauth_token" in config:
            credentials = {}
        return ZendeskConnector(
            ZendeskConfig(subdomain=self.env["ZENDESK_SUBDOMAIN"], **{**credentials, **config})
        )

    def read(
        self, stream: str, cursor: str | None = None, **config: Any
    ) -> tuple[list[Record], list[Checkpoint]]:
        """Read a stream through a new connector: its records and its checkpoints, in order."""
        connector = self.connector(**config)
        try:
            items = list(connector.read(stream, cursor, []))
        finally:
            connector.close()
        return (
            [i for i in items if isinstance(i, Record)],
            [i for i in items if isinstance(i, Checkpoint)],
        )

    def items(self, stream: str) -> list[dict[str, Any]]:
        data: list[dict[str, Any]] = json.loads((self.data_dir / f"{stream}.json").read_text())
        return data

    def write(self, stream: str, items: list[dict[str, Any]]) -> None:
        """Replace a seed file the way an editor does (new file, renamed over the old one)."""
        path = self.data_dir / f"{stream}.json"
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(items, indent=2))
        os.replace(temporary, path)

    def update(self, stream: str, ids: set[int], updated_at: str, **changes: Any) -> None:
        """Change items of a seed file and stamp them ``updated_at`` (and ``generated_timestamp``)."""
        items = self.items(stream)
        for item in items:
            if item["id"] in ids:
                item.update(changes, updated_at=updated_at)
                if "generated_timestamp" in item:
                    item["generated_timestamp"] = epoch_seconds(updated_at)
        self.write(stream, items)


@pytest.fixture(scope="session")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TLSFiles:
    return TLSFiles.in_dir(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def start_sandbox(
    tls: TLSFiles, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[..., Sandbox]]:
    """Start emulators on copies of the shipped seed data; stops them at teardown."""
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tls.ca_file))
    monkeypatch.setattr(ZendeskClient, "retry_wait", wait_none())
    started: list[ZendeskEmulator] = []

    def start(**options: str) -> Sandbox:
        data_dir = tmp_path / f"seed{len(started)}" / "zendesk"
        shutil.copytree(SEED_DIR, data_dir)
        emulator = ZendeskEmulator()
        env = emulator.start(EmulatorContext(data_dir, tmp_path / "state", tls, options))
        started.append(emulator)
        monkeypatch.setenv("ZENPY_FORCE_NETLOC", env["ZENPY_FORCE_NETLOC"])
        monkeypatch.setenv("ZENPY_FORCE_SCHEME", env["ZENPY_FORCE_SCHEME"])
        return Sandbox(emulator, env, data_dir)

    yield start
    # uvicorn takes ~0.2 s to shut down; every test has its own port, so nothing waits for it
    for emulator in started:
        threading.Thread(target=emulator.stop, name="stop-zendesk-emulator", daemon=True).start()


@pytest.fixture
def sandbox(start_sandbox: Callable[..., Sandbox]) -> Sandbox:
    """An emulator whose export limits are 1,000 requests a minute: these tests read far more
    often than an integration would, and the connector paces itself to Zendesk's 10 and 20 (a
    read of 5 pages would wait 10 s). Tests of the limits themselves use ``start_sandbox()``."""
    return start_sandbox(zendesk_export_limit="1000")
