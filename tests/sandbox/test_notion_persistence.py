"""The Notion emulator keeps its workspace in SQLite across restarts on one state directory."""

from __future__ import annotations

from pathlib import Path

from notion_client import Client

from syncfw.emulation import ServedApp
from syncfw.sandbox.notion import NotionEmulator
from tests.sandbox.notion_helpers import TOKEN, make_database, plain, text


def test_everything_survives_a_restart(tmp_path: Path) -> None:
    first = NotionEmulator(tmp_path, token=TOKEN)
    served = ServedApp(first.app)
    notion = Client(auth=TOKEN, base_url=served.url, retry=False)
    source_id = make_database(notion, first.parent_page_id)
    page = notion.pages.create(
        parent={"data_source_id": source_id},
        properties={"Name": text("Acme"), "Stage": {"select": {"name": "Partner"}}, "Amount": {"number": 3}},
    )
    first.human_edit(page["id"], {"Amount": {"number": 4}}, user_name="Ada Lovelace")
    trashed = notion.pages.create(parent={"data_source_id": source_id}, properties={"Name": text("Gone")})
    notion.pages.update(trashed["id"], in_trash=True)
    notion.data_sources.update(source_id, properties={"Amount": {"name": "ARR"}})
    schema_before = notion.data_sources.retrieve(source_id)
    served.stop()
    first.close()

    second = NotionEmulator(tmp_path, token=TOKEN)
    served = ServedApp(second.app)
    try:
        notion = Client(auth=TOKEN, base_url=served.url, retry=False)
        assert (second.parent_page_id, second.bot_user_id) == (first.parent_page_id, first.bot_user_id)
        schema_after = notion.data_sources.retrieve(source_id)
        del schema_before["request_id"], schema_after["request_id"]
        assert schema_after == schema_before
        again = notion.pages.retrieve(page["id"])
        assert again["properties"]["ARR"]["number"] == 4
        assert again["properties"]["Stage"]["select"]["name"] == "Partner"
        assert notion.users.retrieve(again["last_edited_by"]["id"])["name"] == "Ada Lovelace"
        assert [p["id"] for p in notion.data_sources.query(source_id)["results"]] == [page["id"]]
        assert notion.pages.retrieve(trashed["id"])["in_trash"] is True
        assert (
            plain(notion.pages.retrieve(second.parent_page_id)["properties"]["title"]["title"])
            == "syncfw sandbox"
        )
        later = notion.pages.create(parent={"data_source_id": source_id}, properties={"Name": text("Later")})
        assert later["properties"]["Name"]["id"] == "title"
        assert {u["name"] for u in notion.users.list()["results"]} >= {"Grace Hopper", "Ada Lovelace"}
    finally:
        served.stop()
        second.close()


def test_in_memory_emulators_share_nothing() -> None:
    one, two = NotionEmulator(None, token=TOKEN), NotionEmulator(None, token=TOKEN)
    assert one.parent_page_id != two.parent_page_id
    one.close()
    two.close()
