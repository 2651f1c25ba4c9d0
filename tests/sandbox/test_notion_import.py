"""People importing many pages at once (``human_import``), and reading large data sources."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from notion_client import Client, collect_paginated_api

from syncfw.emulation import ServedApp
from syncfw.sandbox.notion import NotionAPIError, NotionEmulator
from tests.sandbox.notion_helpers import (
    BY_CREATION,
    TOKEN,
    Clock,
    make_database,
    plain,
    read_in_created_time_windows,
    text,
)

SCHEMA = {"Name": {"title": {}}, "Amount": {"number": {}}, "Stage": {"select": {}}}


def _row(i: int) -> dict[str, Any]:
    return {
        "Name": {"title": text(f"Row {i:05d}")},
        "Amount": {"number": i},
        "Stage": {"select": {"name": "Won"}},
    }


def _names(pages: list[dict[str, Any]]) -> list[str]:
    return [plain(page["properties"]["Name"]["title"]) for page in pages]


def test_an_import_creates_pages_as_a_person_in_row_order(
    notion: Client, emulator: NotionEmulator, clock: Clock
) -> None:
    source_id = make_database(notion, emulator.parent_page_id, schema=SCHEMA)
    imported_at = clock.now
    assert emulator.human_import(source_id, (_row(i) for i in range(3)), user_name="Dana Reyes") == 3
    clock.advance(3600)
    emulator.reset_stats()

    pages = collect_paginated_api(notion.data_sources.query, data_source_id=source_id, sorts=BY_CREATION)
    assert _names(pages) == ["Row 00000", "Row 00001", "Row 00002"]
    assert [page["properties"]["Amount"]["number"] for page in pages] == [0, 1, 2]
    dana = next(u for u in notion.users.list()["results"] if u.get("name") == "Dana Reyes")
    assert {page["created_by"]["id"] for page in pages} == {page["last_edited_by"]["id"] for page in pages}
    assert {page["created_by"]["id"] for page in pages} == {dana["id"]}
    minute = time.strftime("%Y-%m-%dT%H:%M:00.000Z", time.gmtime(imported_at))
    assert (
        {page["created_time"] for page in pages} == {page["last_edited_time"] for page in pages} == {minute}
    )
    options = notion.data_sources.retrieve(source_id)["properties"]["Stage"]["select"]["options"]
    assert [option["name"] for option in options] == ["Won"]  # made by the first row, reused by the rest
    assert emulator.stats()["by_endpoint"] == {
        "POST /v1/data_sources/{id}/query": 1,
        "GET /v1/users": 1,
        "GET /v1/data_sources/{id}": 1,
    }


def test_a_refused_row_imports_nothing(notion: Client, emulator: NotionEmulator) -> None:
    source_id = make_database(notion, emulator.parent_page_id, schema=SCHEMA)
    rows = [_row(0), {"Name": {"title": text("x" * 2001)}}, _row(2)]
    with pytest.raises(NotionAPIError, match=r"body\.rows\[1\]\.properties\.Name\.title\[0\]\.text\.content"):
        emulator.human_import(source_id, rows)
    assert notion.data_sources.query(source_id)["results"] == []
    assert notion.data_sources.retrieve(source_id)["properties"]["Stage"]["select"]["options"] == []


def test_an_import_over_http_and_after_a_restart(tmp_path: Path) -> None:
    emulator = NotionEmulator(tmp_path, token=TOKEN)
    served = ServedApp(emulator.app)
    try:
        notion = Client(auth=TOKEN, base_url=served.url, retry=False)
        source_id = make_database(notion, emulator.parent_page_id, schema=SCHEMA)
        url = f"{served.url}/_emulator/data_sources/{source_id}/human-import"
        auth = {"Authorization": f"Bearer {TOKEN}"}
        answer = httpx.post(url, json={"rows": [_row(1), _row(2)]}, headers=auth)
        assert answer.json() == {"created": 2}
        refused = httpx.post(url, json={"rows": {"Name": {}}}, headers=auth)
        assert (refused.status_code, refused.json()["code"]) == (400, "validation_error")
        assert emulator.stats()["requests"] == 1  # make_database; the import is no API request
    finally:
        served.stop()
        emulator.close()
    again = NotionEmulator(tmp_path, token=TOKEN)
    try:
        [source] = again.dump()["data_sources"]
        assert _names(source["pages"]) == ["Row 00001", "Row 00002"]
    finally:
        again.close()


def test_pagination_sees_pages_added_and_edited_between_requests(
    notion: Client, emulator: NotionEmulator
) -> None:
    source_id = make_database(notion, emulator.parent_page_id, schema=SCHEMA)
    emulator.human_import(source_id, (_row(i) for i in range(10)))
    by_name = [{"property": "Name", "direction": "ascending"}]
    last = notion.data_sources.query(source_id, filter={"property": "Amount", "number": {"equals": 9}})
    first = notion.data_sources.query(source_id, sorts=by_name, page_size=4)
    assert _names(first["results"]) == [f"Row {i:05d}" for i in range(4)]
    emulator.human_create_page(source_id, {"Name": text("Row 00007b")})
    emulator.human_edit(last["results"][0]["id"], {"Name": text("Row 00005b")})
    rest = collect_paginated_api(
        notion.data_sources.query,
        data_source_id=source_id,
        sorts=by_name,
        page_size=4,
        start_cursor=first["next_cursor"],
    )
    assert _names(rest) == [
        "Row 00004",
        "Row 00005",
        "Row 00005b",
        "Row 00006",
        "Row 00007",
        "Row 00007b",
        "Row 00008",
    ]


def test_reading_a_large_data_source_in_windows_costs_the_same_per_request(
    notion: Client, emulator: NotionEmulator, clock: Clock
) -> None:
    source_id = make_database(notion, emulator.parent_page_id, schema=SCHEMA)
    emulator.human_import(source_id, (_row(i) for i in range(40_000)))  # 100 a second, 6,000 a minute
    clock.advance(3600)
    whole = notion.data_sources.query(source_id, sorts=BY_CREATION, page_size=1)
    assert whole["request_status"]["type"] == "incomplete"  # 40,000 pages: over Notion's 10,000
    started = time.monotonic()
    pages, windows = read_in_created_time_windows(notion, source_id)
    assert len(pages) == 40_000
    assert _names(list(pages.values())[-2:]) == ["Row 39998", "Row 39999"]
    assert windows == 6  # each window after the first reads its first minute again
    # about 550 requests; sorting and scanning every page again for each one took ten times this
    assert time.monotonic() - started < 15


def test_an_import_spreads_its_pages_over_minutes_until_now(
    notion: Client, emulator: NotionEmulator, clock: Clock
) -> None:
    source_id = make_database(notion, emulator.parent_page_id, schema=SCHEMA)
    emulator.human_import(source_id, (_row(i) for i in range(1_000)), rows_per_second=5)
    pages = collect_paginated_api(notion.data_sources.query, data_source_id=source_id, sorts=BY_CREATION)
    minutes = sorted({page["created_time"] for page in pages})
    assert minutes[-1] == time.strftime("%Y-%m-%dT%H:%M:00.000Z", time.gmtime(clock.now))
    assert len(minutes) in (4, 5)  # 200 s of work ending now: four minutes, five across boundaries
    assert all(page["last_edited_time"] == page["created_time"] for page in pages)
    with pytest.raises(NotionAPIError, match="rows_per_second"):
        emulator.human_import(source_id, [_row(0)], rows_per_second=0)
