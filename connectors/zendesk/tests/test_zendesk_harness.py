"""The acceptance-kit harness drives the real connector and restores the environment."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from syncfw_zendesk import ZendeskConfig, ZendeskConnector
from syncfw_zendesk.testing import ZendeskHarness

from syncfw import SourceAuthError
from syncfw.connector import Checkpoint, Record
from syncfw.plugins import load_plugins


@pytest.fixture
def harness(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ZendeskHarness]:
    monkeypatch.setenv("ZENPY_FORCE_NETLOC", "before.example:443")
    monkeypatch.delenv("ZENPY_FORCE_SCHEME", raising=False)
    started = ZendeskHarness()
    started.start(tmp_path)
    yield started
    started.stop()


def read(harness: ZendeskHarness, stream: str, cursor: str | None) -> tuple[list[Record], str]:
    connector = ZendeskConnector(ZendeskConfig(**harness.config()))
    items = list(connector.read(stream, cursor, harness.fields(stream)))
    connector.close()
    last = [i for i in items if isinstance(i, Checkpoint)][-1]
    return [i for i in items if isinstance(i, Record)], last.cursor


@pytest.mark.parametrize("stream", ZendeskHarness.streams)
def test_added_changed_and_deleted_records_come_with_the_next_read(
    harness: ZendeskHarness, stream: str
) -> None:
    _, cursor = read(harness, stream, None)

    added, changed, deleted = (
        harness.add_record(stream),
        harness.change_record(stream),
        harness.delete_record(stream),
    )
    records, _ = read(harness, stream, cursor)

    assert {r.key: r.deleted for r in records} == {added: False, changed: False, deleted: True}


def test_invalid_credentials_are_refused(harness: ZendeskHarness) -> None:
    connector = ZendeskConnector(ZendeskConfig(**harness.config(valid_credentials=False)))

    with pytest.raises(SourceAuthError):
        connector.check()


def test_stop_restores_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZENPY_FORCE_NETLOC", "before.example:443")
    monkeypatch.delenv("ZENPY_FORCE_SCHEME", raising=False)
    harness = ZendeskHarness()

    harness.start(tmp_path)
    assert os.environ["ZENPY_FORCE_NETLOC"].startswith("127.0.0.1:")
    harness.stop()

    assert os.environ["ZENPY_FORCE_NETLOC"] == "before.example:443"
    assert "ZENPY_FORCE_SCHEME" not in os.environ


def test_the_plugin_registers_connector_and_emulator(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYNCFW_LOAD_PLUGINS", "zendesk")

    registry = load_plugins()

    assert registry.connector("zendesk") is ZendeskConnector
    assert registry.emulators["zendesk"].__name__ == "ZendeskEmulator"
