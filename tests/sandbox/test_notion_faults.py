"""Random faults of the Notion emulator, as the real notion-client (retries off) sees them."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from notion_client import APIResponseError, Client, RetryOptions
from notion_client.errors import HTTPResponseError, RequestTimeoutError, UnknownHTTPResponseError

from syncfw.emulation import FaultPlan, ServedApp
from syncfw.sandbox.notion import NotionAPIError, NotionEmulator
from tests.sandbox.notion_helpers import TOKEN, expect_error, make_database, text

RATE_LIMITED = "You have been rate limited. Please try again in a few minutes."
SCHEMA = {"Name": {"title": {}}, "Salesforce ID": {"rich_text": {}}}


def failure(call: Callable[[], Any]) -> Exception:
    with pytest.raises(Exception) as caught:
        call()
    return caught.value


def titles(notion: Client, source_id: str) -> list[str]:
    pages = notion.data_sources.query(source_id)["results"]
    return sorted(page["properties"]["Name"]["title"][0]["plain_text"] for page in pages)


@pytest.fixture
def source_id(notion: Client, emulator: NotionEmulator) -> str:
    return make_database(notion, emulator.parent_page_id, schema=SCHEMA)


def create(notion: Client, source_id: str, name: str) -> Callable[[], Any]:
    return lambda: notion.pages.create(parent={"data_source_id": source_id}, properties={"Name": text(name)})


@pytest.mark.parametrize(
    ("faults", "header"), [("429=1", None), ("429=1,retry_after=0", "0"), ("429=1,retry_after=90", "90")]
)
def test_rate_limited_with_retry_after_absent_zero_or_over_a_minute(
    notion: Client, emulator: NotionEmulator, faults: str, header: str | None
) -> None:
    emulator.configure(faults=faults)

    error = expect_error(notion.users.me, 429, "rate_limited", RATE_LIMITED)

    assert error.headers.get("retry-after") == header
    assert emulator.stats()["faults"] == {"rate_limited": 1}
    assert emulator.stats()["rate_limited"] == 0  # the limiter's count stays its own


@pytest.mark.parametrize(
    ("status", "code", "message"),
    [
        (500, "internal_server_error", "Unexpected error occurred."),
        (503, "service_unavailable", "Notion is unavailable, please try again later."),
        (504, "gateway_timeout", "Gateway Timeout"),
    ],
)
def test_server_errors_the_sdk_knows(
    notion: Client, emulator: NotionEmulator, status: int, code: str, message: str
) -> None:
    emulator.configure(faults=f"{status}=1")

    expect_error(notion.users.me, status, code, message)


@pytest.mark.parametrize(
    ("faults", "status", "code"), [("502=1", 502, "bad_gateway"), ("529=1", 529, "service_overload")]
)
def test_codes_the_sdk_does_not_know_are_unknown_http_response_errors(
    notion: Client, emulator: NotionEmulator, faults: str, status: int, code: str
) -> None:
    emulator.configure(faults=faults)

    error = failure(notion.users.me)

    assert type(error) is UnknownHTTPResponseError
    assert (error.status, error.code) == (status, "notionhq_client_response_error")
    body = json.loads(error.body)
    assert (body["object"], body["status"], body["code"]) == ("error", status, code)
    assert body["request_id"] == error.headers["x-notion-request-id"]


@pytest.mark.parametrize(
    ("faults", "header"),
    [("529=1", "1"), ("529=1,overload_retry_after=0", "0"), ("529=1,overload_retry_after=90", "90")],
)
def test_overload_carries_retry_after(
    notion: Client, emulator: NotionEmulator, faults: str, header: str
) -> None:
    emulator.configure(faults=faults)

    error = failure(notion.users.me)

    assert isinstance(error, HTTPResponseError) and error.status == 529
    assert error.headers["retry-after"] == header
    assert emulator.stats()["faults"] == {"overload": 1}


def test_queued_overloads_carry_retry_after(notion: Client, emulator: NotionEmulator) -> None:
    emulator.inject_fault("GET /v1/users/me", status=529)
    emulator.inject_fault("GET /v1/users/me", status=529, retry_after=30)
    emulator.inject_fault("GET /v1/users/me", status=529, retry_after=None)
    headers = [failure(notion.users.me).headers.get("retry-after") for _ in range(3)]  # type: ignore[attr-defined]
    assert headers == ["1", "30", None]
    with pytest.raises(NotionAPIError, match="retry_after must be a whole number"):
        emulator.inject_fault("GET /v1/users/me", status=529, retry_after=-1)


def test_reset_drops_the_connection_without_an_answer(
    notion: Client, emulator: NotionEmulator, http: httpx.Client, source_id: str
) -> None:
    emulator.configure(faults="reset=1")

    error = failure(create(notion, source_id, "Acme"))
    raw = failure(lambda: http.get("/v1/users/me"))

    for seen in (error, raw):
        assert isinstance(seen, httpx.ReadError | httpx.RemoteProtocolError), repr(seen)
    assert "Connection reset by peer" in str(error)
    emulator.configure(faults=None)
    assert titles(notion, source_id) == []  # the write was not applied
    assert emulator.stats()["faults"] == {"reset": 2}


def test_timeout_holds_past_the_client_timeout_and_applies_nothing(
    served: ServedApp, emulator: NotionEmulator, notion: Client, source_id: str
) -> None:
    emulator.configure(faults="timeout=1,timeout_seconds=2")
    impatient = Client(auth=TOKEN, base_url=served.url, retry=False, timeout_ms=300)
    started = time.monotonic()

    error = failure(create(impatient, source_id, "Acme"))

    assert type(error) is RequestTimeoutError
    assert time.monotonic() - started < 1.5
    emulator.configure(faults=None)
    assert titles(notion, source_id) == []


def test_a_patient_client_sees_the_connection_dropped_after_the_hold(
    served: ServedApp, emulator: NotionEmulator
) -> None:
    emulator.configure(faults="timeout=1,timeout_seconds=0.5")
    patient = Client(auth=TOKEN, base_url=served.url, retry=False, timeout_ms=10_000)
    started = time.monotonic()

    error = failure(patient.users.me)

    assert 0.5 <= time.monotonic() - started < 5
    assert isinstance(error, httpx.TransportError) and not isinstance(error, httpx.TimeoutException)


@pytest.mark.parametrize(
    ("lost_as", "seen"),
    [
        ("reset", httpx.TransportError),
        ("502", UnknownHTTPResponseError),
        ("504", APIResponseError),
        ("timeout", RequestTimeoutError),
    ],
)
def test_lost_response_commits_the_write_then_loses_the_answer(
    served: ServedApp,
    emulator: NotionEmulator,
    notion: Client,
    source_id: str,
    lost_as: str,
    seen: type[Exception],
) -> None:
    emulator.configure(faults=f"lost=1,lost_as={lost_as},timeout_seconds=2")
    writer = Client(auth=TOKEN, base_url=served.url, retry=False, timeout_ms=500)

    error = failure(create(writer, source_id, "Acme"))

    assert isinstance(error, seen)
    if isinstance(error, HTTPResponseError):
        assert error.status == int(lost_as)
    assert titles(notion, source_id) == ["Acme"]  # the query is a read: lost answers spare it
    assert emulator.stats()["faults"] == {"lost_response": 1}


def test_lost_response_hits_every_write_endpoint(
    notion: Client, emulator: NotionEmulator, source_id: str
) -> None:
    page = create(notion, source_id, "Acme")()
    emulator.configure(faults="lost=1,lost_as=504")

    writes: list[Callable[[], Any]] = [
        create(notion, source_id, "Globex"),
        lambda: notion.pages.update(page["id"], properties={"Salesforce ID": text("001")}),
        lambda: notion.data_sources.update(source_id, properties={"Score": {"number": {}}}),
        lambda: notion.databases.create(
            parent={"type": "page_id", "page_id": emulator.parent_page_id},
            title=text("Contacts"),
            initial_data_source={"properties": SCHEMA},
        ),
    ]
    for write in writes:
        assert isinstance(failure(write), APIResponseError)
    notion.users.me()
    notion.search(query="Contacts")

    emulator.configure(faults=None)
    assert titles(notion, source_id) == ["Acme", "Globex"]
    assert (
        notion.pages.retrieve(page["id"])["properties"]["Salesforce ID"]["rich_text"][0]["plain_text"]
        == "001"
    )
    assert "Score" in notion.data_sources.retrieve(source_id)["properties"]
    assert emulator.stats()["faults"] == {"lost_response": 4}


def test_only_chooses_reads_or_writes(notion: Client, emulator: NotionEmulator, source_id: str) -> None:
    emulator.configure(faults="500=1,only=writes")
    notion.users.me()
    notion.data_sources.query(source_id)
    expect_error(
        create(notion, source_id, "Acme"), 500, "internal_server_error", "Unexpected error occurred."
    )

    emulator.configure(faults="500=1,only=reads")
    create(notion, source_id, "Globex")()
    expect_error(notion.users.me, 500, "internal_server_error", "Unexpected error occurred.")


def test_probabilities_hold_over_500_requests_and_a_seed_repeats_them(
    notion: Client, emulator: NotionEmulator
) -> None:
    def outcomes(count: int) -> list[str]:
        seen = []
        for _ in range(count):
            try:
                notion.users.me()
                seen.append("ok")
            except HTTPResponseError as error:
                seen.append(str(error.status))
            except httpx.TransportError:
                seen.append("reset")
        return seen

    emulator.configure(faults="429=0.1,5xx=0.2,529=0.05,reset=0.05,seed=7")
    first = outcomes(500)
    counts = Counter(first)

    assert 25 <= counts["429"] <= 75
    assert 65 <= sum(counts[s] for s in ("500", "502", "503", "504")) <= 135
    assert all(counts[s] > 5 for s in ("500", "502", "503", "504"))
    assert 10 <= counts["529"] <= 45
    assert 10 <= counts["reset"] <= 45
    assert 260 <= counts["ok"] <= 340
    faults = emulator.stats()["faults"]
    assert faults == {
        "rate_limited": counts["429"],
        "server_error": sum(counts[s] for s in ("500", "502", "503", "504")),
        "overload": counts["529"],
        "reset": counts["reset"],
    }
    emulator.configure(faults="429=0.1,5xx=0.2,529=0.05,reset=0.05,seed=7")
    assert outcomes(100) == first[:100]


def test_faults_come_after_authentication(served: ServedApp, emulator: NotionEmulator) -> None:
    emulator.configure(faults="reset=1")
    unauthorized = Client(auth="wrong", base_url=served.url, retry=False)

    expect_error(unauthorized.users.me, 401, "unauthorized", "API token is invalid.")
    assert emulator.stats()["faults"] == {}


def test_faults_come_after_the_rate_limiter(notion: Client, emulator: NotionEmulator) -> None:
    emulator.configure(rate_limit=0.01, burst=1, retry_after=7, faults="500=1")

    expect_error(notion.users.me, 500, "internal_server_error", "Unexpected error occurred.")
    assert expect_error(notion.users.me, 429, "rate_limited", RATE_LIMITED).headers["retry-after"] == "7"
    stats = emulator.stats()
    assert (stats["rate_limited"], stats["faults"]) == (1, {"server_error": 1})


def test_queued_faults_go_first(notion: Client, emulator: NotionEmulator) -> None:
    emulator.configure(faults="429=1")
    emulator.inject_fault("GET /v1/users/me", status=503)

    expect_error(
        notion.users.me, 503, "service_unavailable", "Notion is unavailable, please try again later."
    )
    expect_error(notion.users.me, 429, "rate_limited", RATE_LIMITED)


def test_faults_over_http_and_in_the_constructor(served: ServedApp, emulator: NotionEmulator) -> None:
    auth = {"Authorization": f"Bearer {TOKEN}"}
    url = f"{served.url}/_emulator/config"

    answer = httpx.post(url, json={"faults": "lost=0.5, 429=5%, retry_after=none, seed=3"}, headers=auth)

    assert answer.json()["faults"] == "429=0.05,lost=0.5,seed=3"
    assert emulator.configure()["faults"] == "429=0.05,lost=0.5,seed=3"
    assert httpx.post(url, json={"latency": 0}, headers=auth).json()["faults"] == "429=0.05,lost=0.5,seed=3"
    refused = httpx.post(url, json={"faults": "429=0.1,jitter=2"}, headers=auth)
    assert (refused.status_code, refused.json()["code"]) == (400, "validation_error")
    assert "unknown fault setting 'jitter'" in refused.json()["message"]
    assert httpx.post(url, json={"faults": None}, headers=auth).json()["faults"] is None
    assert httpx.post(url, json={"faults": ""}, headers=auth).json()["faults"] is None
    with pytest.raises(NotionAPIError, match="fault probabilities add up to more than 1"):
        emulator.configure(faults="429=0.7,reset=0.7")

    built = NotionEmulator(None, token=TOKEN, faults=FaultPlan(reset=0.25, seed=1))
    assert built.configure()["faults"] == "reset=0.25,seed=1"
    built.close()


def test_reset_stats_clears_fault_counts(notion: Client, emulator: NotionEmulator) -> None:
    emulator.configure(faults="503=1")
    failure(notion.users.me)
    assert emulator.stats()["faults"] == {"server_error": 1}

    emulator.reset_stats()

    assert emulator.stats()["faults"] == {}


def test_notion_client_retries_see_through_rate_limits_and_read_errors(
    served: ServedApp, emulator: NotionEmulator
) -> None:
    emulator.configure(faults="429=0.3,500=0.1,503=0.1,retry_after=0,seed=2")
    retrying = Client(
        auth=TOKEN, base_url=served.url, retry=RetryOptions(max_retries=8, initial_retry_delay_ms=1)
    )

    assert [retrying.users.me()["type"] for _ in range(30)] == ["bot"] * 30
    faults = emulator.stats()["faults"]
    assert faults["rate_limited"] > 0 and faults["server_error"] > 0
