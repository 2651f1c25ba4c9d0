"""The emulator answers in the shapes recorded from the real Notion API.

``tests/fixtures/notion/*.json`` are our own bodies written in the shapes of the notion-sdk-py
cassettes (see that directory's README). Each test drives the emulator with notion-client or
httpx and checks the answer has the same keys, recursively, with the same JSON types.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from notion_client import APIResponseError, Client

from syncfw.emulation import ServedApp
from syncfw.sandbox.notion import NotionEmulator
from tests.sandbox.notion_helpers import text

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "notion"


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return type(value).__name__


def shape_differences(expected: Any, actual: Any, path: str = "$") -> list[str]:
    """Where ``actual`` differs from ``expected`` in keys or JSON types (values are ignored).

    List items are compared with the expected item of the same ``object`` kind and parent type
    (or the first).
    """
    if _kind(expected) != _kind(actual):
        return [f"{path}: expected {_kind(expected)}, got {_kind(actual)}"]
    if isinstance(expected, dict):
        problems = (
            [f"{path}: keys {sorted(set(expected) ^ set(actual))} differ"]
            if set(expected) != set(actual)
            else []
        )
        for key in set(expected) & set(actual):
            problems += shape_differences(expected[key], actual[key], f"{path}.{key}")
        return problems
    if isinstance(expected, list) and expected:
        problems = []
        for index, item in enumerate(actual):
            alike = [e for e in expected if _sort_of(e) == _sort_of(item)]
            problems += shape_differences((alike or expected)[0], item, f"{path}[{index}]")
        return problems
    return []


def _sort_of(item: Any) -> tuple[Any, Any]:
    if not isinstance(item, dict):
        return None, None
    parent = item.get("parent")
    return item.get("object"), parent.get("type") if isinstance(parent, dict) else None


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def test_the_shape_check_catches_a_missing_key_and_a_wrong_type() -> None:
    expected = fixture("page_create.json")
    broken = json.loads(json.dumps(expected))
    del broken["properties"]["title"]["title"][0]["href"]
    broken["in_trash"] = "false"
    assert sorted(shape_differences(expected, broken)) == [
        "$.in_trash: expected boolean, got str",
        "$.properties.title.title[0]: keys ['href'] differ",
    ]


@pytest.fixture
def workspace(notion: Client, emulator: NotionEmulator) -> dict[str, Any]:
    """A page under the seeded page, and a database with one row."""
    page = notion.pages.create(
        parent={"page_id": emulator.parent_page_id}, properties={"title": text("Fixture Page")}
    )
    database = notion.databases.create(
        parent={"type": "page_id", "page_id": emulator.parent_page_id},
        title=text("Fixture Accounts"),
        initial_data_source={"properties": {"Account": {"title": {}}}},
    )
    source_id = database["data_sources"][0]["id"]
    notion.pages.create(parent={"data_source_id": source_id}, properties={"Account": text("Fixture Row")})
    return {"page": page, "database": database, "source_id": source_id}


def test_page_create_and_retrieve(notion: Client, workspace: dict[str, Any]) -> None:
    assert shape_differences(fixture("page_create.json"), workspace["page"]) == []
    assert (
        shape_differences(fixture("page_retrieve.json"), notion.pages.retrieve(workspace["page"]["id"])) == []
    )


def test_database_create_and_data_source_retrieve(notion: Client, workspace: dict[str, Any]) -> None:
    assert shape_differences(fixture("database_create.json"), workspace["database"]) == []
    source = notion.data_sources.retrieve(workspace["source_id"])
    assert shape_differences(fixture("data_source_retrieve.json"), source) == []


def test_data_source_query_and_search(notion: Client, workspace: dict[str, Any]) -> None:
    rows = notion.data_sources.query(workspace["source_id"])
    assert len(rows["results"]) == 1
    assert shape_differences(fixture("data_source_query.json"), rows) == []
    found = notion.search(query="Fixture")
    assert {r["object"] for r in found["results"]} == {"page", "data_source"}
    assert shape_differences(fixture("search.json"), found) == []


def test_page_property_item(notion: Client, workspace: dict[str, Any]) -> None:
    item = notion.pages.properties.retrieve(workspace["page"]["id"], "title")
    assert shape_differences(fixture("page_property_title.json"), item) == []


def test_error_bodies(served: ServedApp, notion: Client) -> None:
    invalid = httpx.get(f"{served.url}/v1/invalid", headers={"Notion-Version": "2025-09-03"})
    assert shape_differences(fixture("error_400_invalid_request_url.json"), invalid.json()) == []
    stranger = Client(auth="ntn_wrong", base_url=served.url, retry=False)
    with pytest.raises(APIResponseError) as unauthorized:
        stranger.users.list()
    assert (
        shape_differences(fixture("error_401_unauthorized.json"), json.loads(unauthorized.value.body)) == []
    )
    with pytest.raises(APIResponseError) as missing:
        notion.pages.retrieve("2b1a0f9e-8d7c-4b6a-9f5e-4d3c2b1a0f9e")
    assert shape_differences(fixture("error_404_object_not_found.json"), json.loads(missing.value.body)) == []
