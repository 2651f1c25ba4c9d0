"""Late commits: a write answered 504 or timed out that Notion applies seconds later, as
notion-client sees it (retries off). Notion may run a request up to its 60 s maximum request
timeout and answer 503/504 meanwhile (developers.notion.com "Status codes"), and offers no
idempotency key, so a client that re-sends too early makes a second page."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from notion_client import APIResponseError, Client
from notion_client.errors import RequestTimeoutError

from syncfw.emulation import ServedApp
from syncfw.sandbox.notion import NotionAPIError, NotionEmulator
from tests.sandbox.notion_helpers import TOKEN, Clock, make_database, plain, text

SCHEMA = {"Name": {"title": {}}, "Salesforce ID": {"rich_text": {}}}


@pytest.fixture
def source_id(notion: Client, emulator: NotionEmulator) -> str:
    return make_database(notion, emulator.parent_page_id, schema=SCHEMA)


def create(notion: Client, source_id: str, name: str) -> Callable[[], Any]:
    return lambda: notion.pages.create(parent={"data_source_id": source_id}, properties={"Name": text(name)})


def titles(notion: Client, source_id: str) -> list[str]:
    pages = notion.data_sources.query(source_id)["results"]
    return sorted(plain(page["properties"]["Name"]["title"]) for page in pages)


def test_a_late_commit_answers_504_and_commits_seconds_later(
    notion: Client, emulator: NotionEmulator, clock: Clock, source_id: str
) -> None:
    emulator.configure(faults="late_commit=1,late_as=504,late_commit_after=5")
    with pytest.raises(APIResponseError) as caught:
        create(notion, source_id, "Acme")()
    assert (caught.value.status, caught.value.code) == (504, "gateway_timeout")
    emulator.configure(faults=None)
    assert titles(notion, source_id) == []  # a lookup right after the failure finds nothing
    clock.advance(4.9)
    assert titles(notion, source_id) == []
    clock.advance(0.2)
    [page] = notion.data_sources.query(source_id)["results"]
    assert plain(page["properties"]["Name"]["title"]) == "Acme"
    assert page["created_by"]["id"] == emulator.bot_user_id
    assert emulator.stats()["faults"] == {"late_commit": 1}


def test_a_create_sent_again_before_the_late_commit_makes_a_duplicate(
    notion: Client, emulator: NotionEmulator, clock: Clock, source_id: str
) -> None:
    emulator.inject_fault("POST /v1/pages", status=504, commit_after=2)
    with pytest.raises(APIResponseError):
        create(notion, source_id, "Acme")()
    create(notion, source_id, "Acme")()  # what a client without a grace period does
    assert titles(notion, source_id) == ["Acme"]
    clock.advance(2)
    assert titles(notion, source_id) == ["Acme", "Acme"]


def test_a_late_commit_after_a_timeout_commits_once_the_hold_is_over(
    served: ServedApp, emulator: NotionEmulator, notion: Client, clock: Clock, source_id: str
) -> None:
    emulator.configure(faults="late_commit=1,late_as=timeout,timeout_seconds=2,late_commit_after=3")
    impatient = Client(auth=TOKEN, base_url=served.url, retry=False, timeout_ms=300)
    with pytest.raises(RequestTimeoutError):
        create(impatient, source_id, "Acme")()
    emulator.configure(faults=None)
    assert titles(notion, source_id) == []
    # the 3 s count from the end of the hold (at most timeout_seconds after the client left)
    for _ in range(100):
        clock.advance(3)
        if titles(notion, source_id):
            break
        time.sleep(0.05)
    assert titles(notion, source_id) == ["Acme"]


def test_a_late_update_is_stamped_with_its_commit_time_and_reads_only_spare_nothing(
    notion: Client, emulator: NotionEmulator, clock: Clock, source_id: str
) -> None:
    page = create(notion, source_id, "Acme")()
    emulator.configure(faults="late_commit=1,late_as=504,late_commit_after=120")
    notion.users.me()  # reads are never delayed: nothing to commit
    notion.data_sources.query(source_id)
    with pytest.raises(APIResponseError):
        notion.pages.update(page["id"], properties={"Salesforce ID": text("001")})
    emulator.configure(faults=None)
    clock.advance(120)
    updated = emulator.dump()["data_sources"][0]["pages"][0]  # the Python API settles too
    assert plain(updated["properties"]["Salesforce ID"]["rich_text"]) == "001"
    assert updated["last_edited_time"] == time.strftime("%Y-%m-%dT%H:%M:00.000Z", time.gmtime(clock.now))
    assert emulator.stats()["faults"] == {"late_commit": 1}


def test_a_late_write_refused_when_due_is_dropped(
    notion: Client, emulator: NotionEmulator, clock: Clock, source_id: str
) -> None:
    page = create(notion, source_id, "Acme")()
    emulator.inject_fault("PATCH /v1/pages/{id}", status=504, commit_after=1)
    with pytest.raises(APIResponseError):
        notion.pages.update(page["id"], properties={"Salesforce ID": text("001")})
    emulator.human_trash_page(page["id"])
    clock.advance(1)
    trashed = notion.pages.retrieve(page["id"])
    assert trashed["in_trash"] is True and trashed["properties"]["Salesforce ID"]["rich_text"] == []


def test_queued_late_commits_over_http_and_refused_settings(
    served: ServedApp, emulator: NotionEmulator, notion: Client, clock: Clock, source_id: str
) -> None:
    auth = {"Authorization": f"Bearer {TOKEN}"}
    fault = {"endpoint": "POST /v1/pages", "status": 504, "commit_after": 2}
    queued = httpx.post(f"{served.url}/_emulator/faults", json=fault, headers=auth).json()["faults"]
    assert queued == [{**fault, "after_commit": False, "times": 1, "retry_after": 1}]
    with pytest.raises(APIResponseError):
        create(notion, source_id, "Acme")()
    clock.advance(2)
    assert httpx.get(f"{served.url}/_emulator/dump", headers=auth).json()["data_sources"][0]["pages"]
    for bad in ({"commit_after": 0}, {"commit_after": 1, "after_commit": True}):
        with pytest.raises(NotionAPIError, match="commit_after must be a number of seconds above 0"):
            emulator.inject_fault("POST /v1/pages", status=504, **bad)
