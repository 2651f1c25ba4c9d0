"""Helpers shared by the Notion emulator tests (request shapes, a schema with every type)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any
from unittest.mock import ANY

import pytest
from notion_client import APIResponseError, Client

TOKEN = "secret_sandbox_token"
BY_CREATION = [{"timestamp": "created_time", "direction": "ascending"}]
VERSION = "2025-09-03"


class Clock:
    """A settable clock (seconds since the epoch) for timestamps that must cross minutes."""

    def __init__(self, now: float = 1_784_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def text(content: str) -> list[dict[str, Any]]:
    """A rich text request array."""
    return [{"text": {"content": content}}]


def plain(items: list[dict[str, Any]]) -> str:
    """The plain text of a rich text response array."""
    return "".join(item["plain_text"] for item in items)


ALL_TYPES_SCHEMA: dict[str, Any] = {
    "Name": {"title": {}},
    "Salesforce ID": {"rich_text": {}},
    "Amount": {"number": {"format": "dollar"}},
    "Stage": {"select": {"options": [{"name": "Prospect", "color": "blue"}, {"name": "Customer"}]}},
    "Tags": {"multi_select": {}},
    "Status": {"status": {}},
    "Close date": {"date": {}},
    "Owner": {"people": {}},
    "Attachments": {"files": {}},
    "Active": {"checkbox": {}},
    "Website": {"url": {}},
    "Email": {"email": {}},
    "Phone": {"phone_number": {}},
    "Created": {"created_time": {}},
    "Edited": {"last_edited_time": {}},
    "Edited by": {"last_edited_by": {}},
    "Score": {"formula": {"expression": 'prop("Amount") * 2'}},
    "Key": {"unique_id": {"prefix": "ACC"}},
}


def make_database(notion: Client, parent_page_id: str, title: str = "Accounts", schema: Any = None) -> str:
    """Create a database with ``schema`` (default: every type syncfw uses); answers the data source id."""
    database = notion.databases.create(
        parent={"type": "page_id", "page_id": parent_page_id},
        title=text(title),
        initial_data_source={"properties": schema or ALL_TYPES_SCHEMA},
    )
    return str(database["data_sources"][0]["id"])


def expect_error(call: Callable[[], Any], status: int, code: str, message: str) -> APIResponseError:
    """Run a notion-client call that must fail, and check the error body the emulator sent.

    Checks the status, code and exact message, and that the body carries a UUID ``request_id``
    equal to the ``x-notion-request-id`` header.
    """
    with pytest.raises(APIResponseError) as caught:
        call()
    error = caught.value
    assert (error.status, error.code, str(error)) == (status, code, message)
    body = json.loads(error.body)
    assert body == {"object": "error", "status": status, "code": code, "message": message, "request_id": ANY}
    assert str(uuid.UUID(body["request_id"])) == body["request_id"] == error.headers["x-notion-request-id"]
    return error


def read_in_created_time_windows(notion: Client, source_id: str) -> tuple[dict[str, Any], int]:
    """Every page, read as the guide says: sort by ``created_time`` ascending; when a window's
    query comes back incomplete, start the next one ``on_or_after`` the last page's
    ``created_time`` (pages of that minute repeat and are kept once). Answers the pages by id
    and the number of windows."""
    pages: dict[str, Any] = {}
    start: str | None = None
    windows = 0
    while True:
        windows += 1
        window = {"timestamp": "created_time", "created_time": {"on_or_after": start}} if start else None
        incomplete = False
        last: str | None = None
        cursor: str | None = None
        while True:
            answer = notion.data_sources.query(
                source_id, sorts=BY_CREATION, start_cursor=cursor, page_size=100, filter=window
            )
            incomplete = incomplete or answer.get("request_status", {}).get("type") == "incomplete"
            for page in answer["results"]:
                pages[page["id"]] = page
                last = page["created_time"]
            cursor = answer["next_cursor"]
            if not answer["has_more"]:
                break
        if not incomplete:
            return pages, windows
        assert last is not None and last != start, "a minute holds more pages than the cap"
        start = last
