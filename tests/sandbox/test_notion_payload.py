"""Notion's 500KB request payload limit, through notion-client (DOC request-limits: *"payloads
have a maximum size of 1000 block elements and 500KB overall"*, answered 400 validation_error)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from notion_client import APIResponseError, Client

from syncfw.sandbox.notion import NotionEmulator
from tests.sandbox.notion_helpers import make_database, text

SCHEMA = {
    "Name": {"title": {}},
    "Notes": {"rich_text": {}},
    "More": {"rich_text": {}},
    "Even more": {"rich_text": {}},
}


def _long(char: str) -> list[dict[str, Any]]:
    """The longest rich text a property takes: 100 text objects of 2000 characters."""
    return [{"text": {"content": char * 2000}} for _ in range(100)]


@pytest.fixture
def source_id(notion: Client, emulator: NotionEmulator) -> str:
    return make_database(notion, emulator.parent_page_id, schema=SCHEMA)


def _create(notion: Client, source_id: str, properties: dict[str, Any]) -> Any:
    return notion.pages.create(parent={"data_source_id": source_id}, properties=properties)


def _sent_bytes(emulator: NotionEmulator) -> int:
    return len(json.dumps(emulator.requests()[-1]["body"], ensure_ascii=False).encode())


def test_a_page_of_cjk_text_within_every_property_limit_is_over_500kb_and_refused(
    notion: Client, emulator: NotionEmulator, source_id: str
) -> None:
    # 200,000 characters, under 500,000, but three bytes each in UTF-8 (six as \\u escapes)
    with pytest.raises(APIResponseError) as caught:
        _create(notion, source_id, {"Name": {"title": text("Tokyo")}, "Notes": {"rich_text": _long("東")}})
    error = caught.value
    assert (error.status, error.code) == (400, "validation_error")
    assert "payloads have a maximum size of 1000 block elements and 500KB overall" in str(error)
    assert notion.data_sources.query(source_id)["results"] == []


def test_the_limit_counts_the_whole_body_not_one_property(
    notion: Client, emulator: NotionEmulator, source_id: str
) -> None:
    two = {
        "Name": {"title": text("Two")},
        "Notes": {"rich_text": _long("a")},
        "More": {"rich_text": _long("b")},
    }
    page = _create(notion, source_id, two)
    assert 400_000 < _sent_bytes(emulator) < 500_000
    three = {**two, "Even more": {"rich_text": _long("c")}}
    with pytest.raises(APIResponseError, match="500KB overall") as caught:
        notion.pages.update(page["id"], properties=three)
    assert caught.value.status == 400
    assert notion.pages.retrieve(page["id"])["properties"]["Even more"]["rich_text"] == []
