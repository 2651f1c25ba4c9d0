"""The Notion emulator's knobs: rate limit (429 + Retry-After), latency, faults, statistics."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from notion_client import Client

from syncfw.emulation import ServedApp
from syncfw.sandbox.notion import NotionAPIError, NotionEmulator
from tests.sandbox.notion_helpers import TOKEN, expect_error, make_database, text

RATE_LIMITED = "You have been rate limited. Please try again in a few minutes."


def test_requests_over_the_burst_get_429_with_retry_after(notion: Client, emulator: NotionEmulator) -> None:
    emulator.configure(rate_limit=0.5, burst=3)
    for _ in range(3):
        notion.users.me()
    error = expect_error(notion.users.me, 429, "rate_limited", RATE_LIMITED)
    assert error.headers["retry-after"] == "2"  # one token every 2 s, rounded up to whole seconds
    stats = emulator.stats()
    assert (stats["requests"], stats["rate_limited"], stats["by_endpoint"]) == (4, 1, {"GET /v1/users/me": 3})


def test_retry_after_can_be_fixed_to_zero_or_over_a_minute(notion: Client, emulator: NotionEmulator) -> None:
    emulator.configure(rate_limit=1, burst=1, retry_after=0)
    notion.users.me()
    assert expect_error(notion.users.me, 429, "rate_limited", RATE_LIMITED).headers["retry-after"] == "0"
    emulator.configure(retry_after=90)
    notion.users.me()
    assert expect_error(notion.users.me, 429, "rate_limited", RATE_LIMITED).headers["retry-after"] == "90"


def test_notion_client_waits_for_retry_after_and_succeeds(
    served: ServedApp, emulator: NotionEmulator
) -> None:
    emulator.configure(rate_limit=2, burst=1)
    patient = Client(auth=TOKEN, base_url=served.url)
    started = time.monotonic()
    assert [patient.users.me()["type"] for _ in range(2)] == ["bot", "bot"]
    assert time.monotonic() - started >= 0.9  # it slept the Retry-After: 1 the emulator sent
    stats = emulator.stats()
    assert (stats["rate_limited"], stats["by_endpoint"]) == (1, {"GET /v1/users/me": 2})


def test_the_bucket_refills_at_the_configured_rate(notion: Client, emulator: NotionEmulator) -> None:
    emulator.configure(rate_limit=10, burst=1)
    notion.users.me()
    expect_error(notion.users.me, 429, "rate_limited", RATE_LIMITED)
    time.sleep(0.15)
    assert notion.users.me()["type"] == "bot"


def test_latency_delays_answers_without_serialising_them(served: ServedApp, emulator: NotionEmulator) -> None:
    emulator.configure(latency=0.3)
    client = Client(auth=TOKEN, base_url=served.url, retry=False)
    started = time.monotonic()
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: client.users.me()["type"], range(8)))
    elapsed = time.monotonic() - started
    assert results == ["bot"] * 8
    assert 0.3 <= elapsed < 1.2


def test_knobs_and_stats_over_http(served: ServedApp, emulator: NotionEmulator, notion: Client) -> None:
    auth = {"Authorization": f"Bearer {TOKEN}"}
    config = httpx.post(f"{served.url}/_emulator/config", json={"rate_limit": 2, "burst": 5}, headers=auth)
    assert config.json() == {
        "rate_limit": 2,
        "burst": 5,
        "latency": 0.0,
        "retry_after": None,
        "faults": None,
        "query_cap": 10_000,
    }
    assert httpx.get(f"{served.url}/_emulator/config", headers=auth).json()["rate_limit"] == 2
    for _ in range(12):
        httpx.get(f"{served.url}/_emulator/stats", headers=auth)  # never limited, never counted
    notion.users.me()
    stats = httpx.get(f"{served.url}/_emulator/stats", headers=auth).json()
    assert stats == {"requests": 1, "by_endpoint": {"GET /v1/users/me": 1}, "rate_limited": 0, "faults": {}}
    assert httpx.post(f"{served.url}/_emulator/stats/reset", headers=auth).json()["requests"] == 0
    assert emulator.stats()["requests"] == 0
    info = httpx.get(f"{served.url}/_emulator/info", headers=auth).json()
    assert info["parent_page_id"] == emulator.parent_page_id
    fault = {"endpoint": "PATCH /v1/pages/{id}", "status": 503, "after_commit": False, "times": 2}
    assert httpx.post(f"{served.url}/_emulator/faults", json=fault, headers=auth).json() == {
        "faults": [{**fault, "commit_after": None, "retry_after": 1}]
    }
    assert httpx.post(f"{served.url}/_emulator/faults/clear", headers=auth).json() == {"faults": []}
    refused = httpx.post(f"{served.url}/_emulator/config", json={"burst": 0}, headers=auth)
    assert (refused.status_code, refused.json()["code"]) == (400, "validation_error")
    assert httpx.get(f"{served.url}/_emulator/stats").status_code == 401


def test_config_refuses_bad_values(emulator: NotionEmulator) -> None:
    with pytest.raises(NotionAPIError, match="rate_limit"):
        emulator.configure(rate_limit=0)
    assert emulator.configure(latency=0.01)["latency"] == 0.01


def test_fault_after_commit_applies_the_write_and_loses_the_answer(
    notion: Client, emulator: NotionEmulator
) -> None:
    source_id = make_database(notion, emulator.parent_page_id)
    emulator.inject_fault("POST /v1/pages", status=504, after_commit=True)
    expect_error(
        lambda: notion.pages.create(parent={"data_source_id": source_id}, properties={"Name": text("Acme")}),
        504,
        "gateway_timeout",
        "Gateway Timeout",
    )
    assert len(notion.data_sources.query(source_id)["results"]) == 1
    emulator.inject_fault("POST /v1/pages", status=500)
    expect_error(
        lambda: notion.pages.create(
            parent={"data_source_id": source_id}, properties={"Name": text("Globex")}
        ),
        500,
        "internal_server_error",
        "Unexpected error occurred.",
    )
    assert len(notion.data_sources.query(source_id)["results"]) == 1
    notion.pages.create(parent={"data_source_id": source_id}, properties={"Name": text("Initech")})
    assert len(notion.data_sources.query(source_id)["results"]) == 2
