"""NotionClient writes against the Notion emulator over real HTTP (notion-client underneath):
moving a page to the trash is idempotent, whoever trashed it first."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from syncfw.emulation import ServedApp
from syncfw.errors import NotionRejected
from syncfw.notion.budget import RateBudget
from syncfw.notion.client import NotionClient
from syncfw.sandbox.notion import NotionEmulator
from tests.sandbox.notion_helpers import TOKEN, Clock


@pytest.fixture
def emulator() -> Iterator[NotionEmulator]:
    emu = NotionEmulator(None, token=TOKEN, clock=Clock())
    yield emu
    emu.close()


@pytest.fixture
def client(emulator: NotionEmulator) -> Iterator[NotionClient]:
    server = ServedApp(emulator.app)
    notion = NotionClient(SecretStr(TOKEN), RateBudget(1000.0, burst=100), base_url=server.url)
    yield notion
    notion.close()
    server.stop()


def page_in(client: NotionClient, emulator: NotionEmulator) -> str:
    database = client.create_database(emulator.parent_page_id, "Things", {"Name": {"title": {}}})
    ds = str(database["data_sources"][0]["id"])
    return str(client.create_page(ds, {"Name": {"title": [{"text": {"content": "Acme"}}]}})["id"])


def test_an_archive_whose_answer_was_lost_is_resent_and_meets_the_trashed_page(
    client: NotionClient, emulator: NotionEmulator
) -> None:
    page_id = page_in(client, emulator)
    emulator.configure(faults="lost=1,lost_as=502,only=writes")

    answer = client.update_page(page_id, in_trash=True)  # Notion trashed it; the resend is refused

    emulator.configure(faults=None)
    assert answer["in_trash"] is True
    assert emulator.stats()["faults"]["lost_response"] >= 1


def test_archiving_a_page_a_person_trashed_meanwhile_is_no_error(
    client: NotionClient, emulator: NotionEmulator
) -> None:
    page_id = page_in(client, emulator)
    emulator.human_trash_page(page_id)

    assert client.update_page(page_id, in_trash=True)["in_trash"] is True


def test_editing_properties_of_a_trashed_page_is_still_refused(
    client: NotionClient, emulator: NotionEmulator
) -> None:
    page_id = page_in(client, emulator)
    emulator.human_trash_page(page_id)

    with pytest.raises(NotionRejected, match="archived"):
        client.update_page(page_id, properties={"Name": {"title": [{"text": {"content": "New"}}]}})
