"""Notion's per-query result cap (``request_status`` incomplete) and reading past it in
``created_time`` windows, through notion-client.

Source: developers.notion.com, "Query a data source" (section "Pagination limit") and the guide
"Query large data sources" with its cookbook example (makenotion/notion-cookbook,
``examples/javascript/query-large-data-sources``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from notion_client import Client, collect_paginated_api

from syncfw.emulation import ServedApp
from syncfw.plugins import Registry
from syncfw.sandbox.notion import NotionAPIError, NotionEmulator
from syncfw.sandbox.runner import Sandbox
from tests.sandbox.notion_helpers import (
    BY_CREATION,
    TOKEN,
    Clock,
    make_database,
    plain,
    read_in_created_time_windows,
    text,
)

SCHEMA = {"Name": {"title": {}}, "Amount": {"number": {}}}
INCOMPLETE = {"type": "incomplete", "incomplete_reason": "query_result_limit_reached"}


def _row(i: int) -> dict[str, Any]:
    return {"Name": {"title": text(f"Row {i:05d}")}, "Amount": {"number": i}}


def _names(pages: list[dict[str, Any]]) -> list[str]:
    return [plain(page["properties"]["Name"]["title"]) for page in pages]


@pytest.fixture
def source_id(notion: Client, emulator: NotionEmulator) -> str:
    return make_database(notion, emulator.parent_page_id, schema=SCHEMA)


def test_a_query_stops_at_the_cap_and_every_page_says_so(
    notion: Client, emulator: NotionEmulator, source_id: str
) -> None:
    emulator.configure(query_cap=25)
    emulator.human_import(source_id, (_row(i) for i in range(60)))
    answers = []
    cursor = None
    while True:
        answer = notion.data_sources.query(source_id, sorts=BY_CREATION, page_size=10, start_cursor=cursor)
        answers.append(answer)
        cursor = answer["next_cursor"]
        if not answer["has_more"]:
            break
    assert [len(a["results"]) for a in answers] == [10, 10, 5]
    assert [a["request_status"] for a in answers] == [INCOMPLETE] * 3  # from the first page on
    assert (answers[-1]["has_more"], answers[-1]["next_cursor"]) == (False, None)
    assert _names([p for a in answers for p in a["results"]]) == [f"Row {i:05d}" for i in range(25)]
    # notion-client's helper stops there too, none the wiser without request_status
    assert len(collect_paginated_api(notion.data_sources.query, data_source_id=source_id)) == 25


def test_a_query_under_the_cap_carries_no_request_status(
    notion: Client, emulator: NotionEmulator, source_id: str
) -> None:
    emulator.configure(query_cap=25)
    emulator.human_import(source_id, (_row(i) for i in range(25)))
    first = notion.data_sources.query(source_id, page_size=20)
    second = notion.data_sources.query(source_id, page_size=20, start_cursor=first["next_cursor"])
    assert (len(first["results"]), len(second["results"]), second["has_more"]) == (20, 5, False)
    assert "request_status" not in first and "request_status" not in second


def test_the_cap_is_per_query_so_a_filter_gets_a_fresh_budget(
    notion: Client, emulator: NotionEmulator, source_id: str
) -> None:
    emulator.configure(query_cap=25)
    emulator.human_import(source_id, (_row(i) for i in range(60)))
    tail = notion.data_sources.query(
        source_id,
        sorts=BY_CREATION,
        filter={"property": "Amount", "number": {"greater_than_or_equal_to": 40}},
    )
    assert _names(tail["results"]) == [f"Row {i:05d}" for i in range(40, 60)]
    assert "request_status" not in tail
    descending = notion.data_sources.query(
        source_id, sorts=[{"property": "Amount", "direction": "descending"}], page_size=100
    )
    assert _names(descending["results"])[:2] == ["Row 00059", "Row 00058"]
    assert (len(descending["results"]), descending["request_status"]) == (25, INCOMPLETE)


def test_a_cursor_from_before_a_restart_still_stops_at_the_cap(tmp_path: Path) -> None:
    clock = Clock()
    emulator = NotionEmulator(tmp_path, token=TOKEN, clock=clock, query_cap=25)
    served = ServedApp(emulator.app)
    try:
        notion = Client(auth=TOKEN, base_url=served.url, retry=False)
        source_id = make_database(notion, emulator.parent_page_id, schema=SCHEMA)
        emulator.human_import(source_id, (_row(i) for i in range(60)))
        cursor = notion.data_sources.query(source_id, sorts=BY_CREATION, page_size=20)["next_cursor"]
    finally:
        served.stop()
        emulator.close()
    again = NotionEmulator(tmp_path, token=TOKEN, clock=clock, query_cap=25)
    served = ServedApp(again.app)
    try:
        notion = Client(auth=TOKEN, base_url=served.url, retry=False)
        rest = notion.data_sources.query(source_id, sorts=BY_CREATION, page_size=20, start_cursor=cursor)
        assert (len(rest["results"]), rest["has_more"], rest["request_status"]) == (5, False, INCOMPLETE)
    finally:
        served.stop()
        again.close()


def test_created_time_windows_read_every_page_past_the_cap(
    notion: Client, emulator: NotionEmulator, clock: Clock, source_id: str
) -> None:
    emulator.configure(query_cap=100)
    # one page a second: 60 a minute, under the cap, so every window moves on
    emulator.human_import(source_id, (_row(i) for i in range(300)), rows_per_second=1)
    clock.advance(60)
    pages, windows = read_in_created_time_windows(notion, source_id)
    assert sorted(_names(list(pages.values()))) == [f"Row {i:05d}" for i in range(300)]
    assert windows == 4  # 100 pages, then on_or_after each window's last minute, until one is complete


def test_created_time_is_shown_and_filtered_by_the_minute(
    notion: Client, emulator: NotionEmulator, clock: Clock, source_id: str
) -> None:
    clock.now = 1_784_000_080.0  # 03:34:40, 40 s into a minute
    emulator.human_import(source_id, (_row(i) for i in range(3)), rows_per_second=1 / 30)
    pages = notion.data_sources.query(source_id, sorts=BY_CREATION)["results"]
    # created 60 s and 30 s before the clock, and at it: two minutes, shown without seconds
    assert [p["created_time"] for p in pages] == [
        "2026-07-14T03:33:00.000Z",
        "2026-07-14T03:34:00.000Z",
        "2026-07-14T03:34:00.000Z",
    ]

    def matching(condition: str, value: str) -> list[str]:
        found = notion.data_sources.query(
            source_id,
            sorts=BY_CREATION,
            filter={"timestamp": "created_time", "created_time": {condition: value}},
        )
        return _names(found["results"])

    # the pages stamped 03:34:10 and 03:34:40 compare as 03:34:00, the minute they show
    assert matching("on_or_after", "2026-07-14T03:34:00.000Z") == ["Row 00001", "Row 00002"]
    assert matching("after", "2026-07-14T03:34:00.000Z") == []
    assert matching("on_or_before", "2026-07-14T03:33:59.999Z") == ["Row 00000"]
    assert matching("before", "2026-07-14T03:34:30Z") == ["Row 00000", "Row 00001", "Row 00002"]
    assert matching("equals", "2026-07-14T03:34:00Z") == ["Row 00001", "Row 00002"]


def test_query_cap_knob_over_http_in_the_constructor_and_refused_values(
    served: ServedApp, emulator: NotionEmulator
) -> None:
    auth = {"Authorization": f"Bearer {TOKEN}"}
    assert emulator.configure()["query_cap"] == 10_000
    answer = httpx.post(f"{served.url}/_emulator/config", json={"query_cap": 50}, headers=auth)
    assert answer.json()["query_cap"] == 50
    refused = httpx.post(f"{served.url}/_emulator/config", json={"query_cap": 0}, headers=auth)
    assert (refused.status_code, refused.json()["message"]) == (
        400,
        "query_cap must be a whole number of results, at least 1.",
    )
    with pytest.raises(NotionAPIError, match="query_cap"):
        NotionEmulator(None, token=TOKEN, query_cap=-1)


def test_the_sandbox_passes_its_query_cap_on(tmp_path: Path) -> None:
    with Sandbox(tmp_path, Registry(), notion_query_cap=7) as box:
        assert box.notion is not None
        assert box.notion.configure()["query_cap"] == 7
