"""The acceptance-kit harness drives the connector the way the kit will, and the plugin registers it."""

from __future__ import annotations

from pathlib import Path

import pytest
from syncfw_files import FilesConnector
from syncfw_files.testing import FilesHarness

from syncfw import SourceError
from syncfw.connector import Checkpoint, Record
from syncfw.plugins import load_plugins


def read(harness: FilesHarness, cursor: str | None) -> tuple[list[Record], str]:
    connector = harness.connector_class(harness.connector_class.config_model(**harness.config()))
    stream = harness.streams[0]
    items = list(connector.read(stream, cursor, harness.fields(stream)))
    assert isinstance(items[-1], Checkpoint)
    return [i for i in items if isinstance(i, Record)], items[-1].cursor


def test_harness_edits_show_in_the_next_read(tmp_path: Path) -> None:
    harness = FilesHarness()
    harness.start(tmp_path)
    try:
        seeded, cursor = read(harness, None)
        added = harness.add_record("contacts")
        changed = harness.change_record("contacts")
        deleted = harness.delete_record("contacts")
        harness.rate_limit_next(3)
        after_add_change_delete, cursor = read(harness, cursor)
        newest = harness.add_record("contacts")
        last, _ = read(harness, cursor)
    finally:
        harness.stop()

    assert len(seeded) == 3 and {"id", "name", "email", "updated_at"} == set(seeded[0].data)
    assert deleted == added  # the last row was the one just added: it comes and goes
    assert [(r.key, r.deleted) for r in after_add_change_delete] == [(changed, False)]
    assert after_add_change_delete[0].data["name"].endswith("(changed)")
    assert [r.key for r in last] == [newest]
    assert last[0].data["updated_at"] > max(str(r.data["updated_at"]) for r in seeded)


def test_harness_reports_a_deleted_seed_record(tmp_path: Path) -> None:
    harness = FilesHarness()
    harness.start(tmp_path)
    _, cursor = read(harness, None)
    deleted = harness.delete_record("contacts")

    records, _ = read(harness, cursor)

    assert [(r.key, r.deleted, dict(r.data)) for r in records] == [(deleted, True, {"id": deleted})]


def test_harness_without_valid_credentials_points_at_no_file(tmp_path: Path) -> None:
    harness = FilesHarness()
    harness.start(tmp_path)
    connector = FilesConnector(FilesConnector.config_model(**harness.config(valid_credentials=False)))

    with pytest.raises(SourceError, match=r"missing\.csv: no such file"):
        connector.check()
    assert FilesHarness.has_rate_limits is False


def test_plugin_registers_the_connector_and_no_emulator(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYNCFW_LOAD_PLUGINS", "files")

    registry = load_plugins()

    assert registry.connectors == {"files": FilesConnector}
    assert registry.emulators == {}
    assert [(p.name, p.distribution) for p in registry.plugins if p.connectors] == [("files", "syncfw-files")]
    assert registry.problems == []
