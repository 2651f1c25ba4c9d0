"""NotionClient reads against the Notion emulator over real HTTP (notion-client underneath):
queries past the per-query result cap, relations past the 25 a page object lists, and sync-key
lookups."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import SecretStr

from syncfw.emulation import ServedApp
from syncfw.errors import IncompleteRead
from syncfw.notion.budget import RateBudget
from syncfw.notion.client import NotionClient
from syncfw.sandbox.notion import NotionEmulator
from tests.sandbox.notion_helpers import TOKEN, Clock

CAP = 25


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def emulator(clock: Clock) -> Iterator[NotionEmulator]:
    emu = NotionEmulator(None, token=TOKEN, clock=clock, query_cap=CAP)
    yield emu
    emu.close()


@pytest.fixture
def client(emulator: NotionEmulator) -> Iterator[NotionClient]:
    server = ServedApp(emulator.app)
    notion = NotionClient(SecretStr(TOKEN), RateBudget(1000.0, burst=100), base_url=server.url)
    yield notion
    notion.close()
    server.stop()


def key_of(page: dict[str, Any]) -> str:
    return "".join(t["plain_text"] for t in page["properties"]["Key"]["rich_text"])


def row(key: str, **extra: Any) -> dict[str, Any]:
    return {
        "Name": {"title": [{"text": {"content": f"Page {key}"}}]},
        "Key": {"rich_text": [{"text": {"content": key}}]},
        **extra,
    }


def data_source(client: NotionClient, emulator: NotionEmulator, **extra: Any) -> str:
    database = client.create_database(
        emulator.parent_page_id, "Things", {"Name": {"title": {}}, "Key": {"rich_text": {}}, **extra}
    )
    return str(database["data_sources"][0]["id"])


def test_a_query_past_the_cap_returns_every_page_exactly_once_with_the_callers_filter(
    client: NotionClient, emulator: NotionEmulator
) -> None:
    ds = data_source(client, emulator)
    keys = [f"k{n:03}" for n in range(100)]
    # 20 pages a minute over five minutes; odd keys get a tag, to filter on
    emulator.human_import(
        ds,
        [
            row(k, Name={"title": [{"text": {"content": "odd" if n % 2 else "even"}}]})
            for n, k in enumerate(keys)
        ],
        rows_per_second=1 / 3,
    )
    read = [key_of(p) for p in client.query_pages(ds)]
    assert sorted(read) == keys  # each once, none missing

    odd = {"property": "Name", "title": {"equals": "odd"}}
    filtered = [key_of(p) for p in client.query_pages(ds, filter=odd)]
    assert sorted(filtered) == keys[1::2]
    windows = [r["body"].get("filter") for r in emulator.requests() if r["endpoint"].endswith("/query")]
    assert {"and": [odd, {"timestamp": "created_time", "created_time": {"on_or_after": ANY_TIME}}]} in windows


class _AnyTime:
    def __eq__(self, other: object) -> bool:
        return isinstance(other, str) and other.endswith(":00.000Z")


ANY_TIME: Any = _AnyTime()


def test_a_query_capped_within_one_created_minute_raises_instead_of_passing_as_complete(
    client: NotionClient, emulator: NotionEmulator
) -> None:
    ds = data_source(client, emulator)
    emulator.human_import(ds, [row(f"k{n:03}") for n in range(CAP + 5)], rows_per_second=100)
    with pytest.raises(IncompleteRead, match="cannot read them all"):
        list(client.query_pages(ds))


def test_a_numbered_query_past_the_cap_reads_each_page_once_even_within_one_created_minute(
    client: NotionClient, emulator: NotionEmulator
) -> None:
    """With the data source's ``unique_id`` property, a query past the cap goes on after the last
    number read: 130 pages made in one minute (which ``created_time`` windows cannot split) are
    read with one request per cap of results (25 here), none of them twice."""
    ds = data_source(client, emulator, ID={"unique_id": {"prefix": None}})
    emulator.human_import(ds, [row(f"k{n:03}") for n in range(130)], rows_per_second=100)
    number = client.retrieve_data_source(ds)["properties"]["ID"]["id"]
    emulator.reset_stats()

    read = [key_of(p) for p in client.query_pages(ds, numbered_by=number)]

    assert read == [f"k{n:03}" for n in range(130)]  # in number order, each once
    queries = [r for r in emulator.requests() if r["endpoint"].endswith("/query")]
    assert len(queries) == -(-130 // CAP)
    assert {"property": number, "unique_id": {"greater_than": 125}} == queries[-1]["body"]["filter"]


def test_a_relation_of_60_pages_is_read_in_full_by_query_and_retrieve(
    client: NotionClient, emulator: NotionEmulator
) -> None:
    others = data_source(client, emulator)
    related = [client.create_page(others, row(f"r{n:02}"))["id"] for n in range(60)]
    ds = data_source(client, emulator, Items={"relation": {"data_source_id": others, "single_property": {}}})
    page = client.create_page(ds, row("t", Items={"relation": [{"id": r} for r in related]}))

    queried = [p for p in client.query_pages(ds)]
    assert [len(p["properties"]["Items"]["relation"]) for p in queried] == [60]
    assert queried[0]["properties"]["Items"]["has_more"] is False
    retrieved = client.retrieve_page(page["id"])["properties"]["Items"]
    assert sorted(r["id"] for r in retrieved["relation"]) == sorted(related)


def test_a_529_answer_pauses_the_budget_for_its_retry_after_before_the_retry(
    client: NotionClient, emulator: NotionEmulator
) -> None:
    ds = data_source(client, emulator)
    emulator.human_import(ds, [row("k")])
    emulator.inject_fault("POST /v1/data_sources/{id}/query", status=529, retry_after=3)
    started = time.monotonic()
    assert [key_of(p) for p in client.query_pages(ds)] == ["k"]
    assert time.monotonic() - started >= 3.0  # not the 0.5 s to 1.5 s backoff of a plain 5xx
    assert client.stats.retries == 1
