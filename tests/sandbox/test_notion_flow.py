"""The Notion emulator driven by the real notion-client over HTTP: the life of a synced database."""

from __future__ import annotations

import re
import time
from typing import Any

import httpx
import pytest
from notion_client import APIResponseError, Client, collect_paginated_api

from syncfw.sandbox.notion import NotionEmulator
from tests.sandbox.notion_helpers import ALL_TYPES_SCHEMA, Clock, make_database, plain, text

MINUTE_STAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:00\.000Z$")
MILLIS_STAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}\+00:00$")
DASHED = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def test_database_create_answers_container_and_its_data_source(
    notion: Client, emulator: NotionEmulator
) -> None:
    database = notion.databases.create(
        parent={"type": "page_id", "page_id": emulator.parent_page_id},
        title=text("Accounts"),
        initial_data_source={"properties": ALL_TYPES_SCHEMA},
    )
    assert DASHED.match(database["id"])
    assert MILLIS_STAMP.match(database["created_time"])
    assert database["parent"] == {"type": "page_id", "page_id": emulator.parent_page_id}
    assert "properties" not in database
    [entry] = database["data_sources"]
    assert entry["name"] == "Accounts"

    source = notion.data_sources.retrieve(entry["id"])
    assert source["parent"] == {"type": "database_id", "database_id": database["id"]}
    assert source["database_parent"] == {"type": "page_id", "page_id": emulator.parent_page_id}
    assert MINUTE_STAMP.match(source["created_time"])
    assert list(source["properties"]) == list(ALL_TYPES_SCHEMA)
    ids = [prop["id"] for prop in source["properties"].values()]
    assert source["properties"]["Name"]["id"] == "title"
    assert len(set(ids)) == len(ids)
    assert source["properties"]["Amount"]["number"] == {"format": "dollar"}
    stage = source["properties"]["Stage"]["select"]["options"]
    assert (stage[0]["name"], stage[0]["color"]) == ("Prospect", "blue")
    status = source["properties"]["Status"]["status"]
    assert [o["name"] for o in status["options"]] == ["Not started", "In progress", "Done"]
    assert notion.databases.retrieve(database["id"].replace("-", ""))["id"] == database["id"]


def test_page_create_writes_every_property_type(notion: Client, emulator: NotionEmulator) -> None:
    source_id = make_database(notion, emulator.parent_page_id)
    grace = next(u for u in notion.users.list()["results"] if u["type"] == "person")
    page = notion.pages.create(
        parent={"type": "data_source_id", "data_source_id": source_id},
        properties={
            "Name": {"title": text("Acme")},
            "Salesforce ID": {"rich_text": text("001xx000003DGb2AAG")},
            "Amount": {"number": 1250.5},
            "Stage": {"select": {"name": "Prospect"}},
            "Tags": {"multi_select": [{"name": "enterprise"}, {"name": "emea"}]},
            "Status": {"status": {"name": "In progress"}},
            "Close date": {"date": {"start": "2026-09-30T17:00:00Z"}},
            "Owner": {"people": [{"object": "user", "id": grace["id"]}]},
            "Attachments": {
                "files": [{"name": "deck.pdf", "external": {"url": "https://example.com/deck.pdf"}}]
            },
            "Active": {"checkbox": True},
            "Website": {"url": "https://acme.example"},
            "Email": {"email": "ops@acme.example"},
            "Phone": {"phone_number": "+1 415 555 0100"},
        },
    )
    props = page["properties"]
    assert page["parent"] == {
        "type": "data_source_id",
        "data_source_id": source_id,
        "database_id": notion.data_sources.retrieve(source_id)["parent"]["database_id"],
    }
    assert page["last_edited_by"] == {"object": "user", "id": emulator.bot_user_id}
    assert plain(props["Name"]["title"]) == "Acme"
    assert props["Salesforce ID"]["rich_text"][0]["text"] == {"content": "001xx000003DGb2AAG", "link": None}
    assert props["Amount"]["number"] == 1250.5
    schema = notion.data_sources.retrieve(source_id)["properties"]
    prospect = next(o for o in schema["Stage"]["select"]["options"] if o["name"] == "Prospect")
    assert props["Stage"]["select"] == {"id": prospect["id"], "name": "Prospect", "color": "blue"}
    created = {o["name"]: o for o in schema["Tags"]["multi_select"]["options"]}
    assert set(created) == {"enterprise", "emea"}
    assert all(o["color"] != "default" for o in created.values())
    assert [t["id"] for t in props["Tags"]["multi_select"]] == [
        created["enterprise"]["id"],
        created["emea"]["id"],
    ]
    assert props["Status"]["status"]["name"] == "In progress"
    assert props["Close date"]["date"] == {
        "start": "2026-09-30T17:00:00.000+00:00",
        "end": None,
        "time_zone": None,
    }
    assert props["Owner"]["people"][0]["type"] == "person"
    assert props["Owner"]["people"][0]["person"]["email"] == grace["person"]["email"]
    assert props["Attachments"]["files"] == [
        {"name": "deck.pdf", "type": "external", "external": {"url": "https://example.com/deck.pdf"}}
    ]
    assert props["Active"]["checkbox"] is True
    assert props["Website"]["url"] == "https://acme.example"
    assert props["Email"]["email"] == "ops@acme.example"
    assert props["Phone"]["phone_number"] == "+1 415 555 0100"
    assert props["Created"]["created_time"] == page["created_time"]
    assert props["Edited by"]["last_edited_by"]["id"] == emulator.bot_user_id
    assert props["Score"]["formula"]["type"] in ("string", "number", "boolean", "date")
    assert props["Key"]["unique_id"] == {"prefix": "ACC", "number": 1}

    second = notion.pages.create(parent={"data_source_id": source_id}, properties={"Name": text("Globex")})
    assert second["properties"]["Key"]["unique_id"]["number"] == 2
    assert second["properties"]["Status"]["status"]["name"] == "Not started"
    assert second["properties"]["Amount"]["number"] is None
    assert second["properties"]["Tags"]["multi_select"] == []
    assert notion.pages.retrieve(page["id"])["properties"] == props


def _seed_rows(notion: Client, source_id: str, count: int) -> list[dict[str, Any]]:
    return [
        notion.pages.create(
            parent={"data_source_id": source_id},
            properties={
                "Name": text(f"Account {i:03d}"),
                "Salesforce ID": text(f"SF-{i:03d}"),
                "Amount": {"number": i},
                "Stage": {"select": {"name": "Customer" if i % 2 else "Prospect"}},
                "Tags": {"multi_select": [{"name": "big"}] if i >= 100 else []},
                "Active": {"checkbox": i % 3 == 0},
                "Close date": {"date": {"start": f"2026-01-{1 + i % 28:02d}"}},
            },
        )
        for i in range(count)
    ]


def _names(response: dict[str, Any]) -> list[str]:
    return [plain(page["properties"]["Name"]["title"]) for page in response["results"]]


def test_query_filters_sorts_and_pages_through_more_than_100_pages(
    notion: Client, emulator: NotionEmulator
) -> None:
    source_id = make_database(notion, emulator.parent_page_id)
    rows = _seed_rows(notion, source_id, 130)

    first = notion.data_sources.query(source_id)
    assert (len(first["results"]), first["has_more"]) == (100, True)
    assert first["type"] == "page_or_data_source"
    second = notion.data_sources.query(source_id, start_cursor=first["next_cursor"])
    assert second["results"][0]["id"] == first["next_cursor"]
    assert (len(second["results"]), second["has_more"], second["next_cursor"]) == (30, False, None)
    everything = collect_paginated_api(notion.data_sources.query, data_source_id=source_id, page_size=7)
    assert sorted(page["id"] for page in everything) == sorted(row["id"] for row in rows)

    def query(**body: Any) -> list[str]:
        return _names(notion.data_sources.query(source_id, **body))

    assert query(filter={"property": "Salesforce ID", "rich_text": {"equals": "SF-042"}}) == ["Account 042"]
    assert len(query(filter={"property": "Amount", "number": {"greater_than_or_equal_to": 120}})) == 10
    assert len(query(filter={"property": "Stage", "select": {"equals": "Customer"}})) == 65
    assert len(query(filter={"property": "Tags", "multi_select": {"contains": "big"}})) == 30
    assert len(query(filter={"property": "Tags", "multi_select": {"is_empty": True}})) == 100
    assert len(query(filter={"property": "Active", "checkbox": {"equals": True}})) == 44
    assert len(query(filter={"property": "Name", "title": {"starts_with": "account 12"}})) == 10
    assert len(query(filter={"property": "Close date", "date": {"on_or_before": "2026-01-02"}})) == 10
    compound = {
        "and": [
            {"property": "Amount", "number": {"less_than": 20}},
            {
                "or": [
                    {"property": "Active", "checkbox": {"equals": True}},
                    {"property": "Amount", "number": {"equals": 1}},
                ]
            },
        ]
    }
    assert query(filter=compound, sorts=[{"property": "Amount", "direction": "ascending"}]) == [
        "Account 000",
        "Account 001",
        "Account 003",
        "Account 006",
        "Account 009",
        "Account 012",
        "Account 015",
        "Account 018",
    ]
    by_amount = query(sorts=[{"property": "Amount", "direction": "descending"}], page_size=3)
    assert by_amount == ["Account 129", "Account 128", "Account 127"]
    staged = query(
        sorts=[
            {"property": "Stage", "direction": "ascending"},
            {"property": "Name", "direction": "descending"},
        ],
        page_size=2,
    )
    assert staged == ["Account 128", "Account 126"]  # option order: Prospect (even) before Customer
    oldest = query(sorts=[{"timestamp": "created_time", "direction": "ascending"}], page_size=1)
    assert oldest == ["Account 000"]


def test_timestamp_filter_sees_minute_truncated_last_edited_time(
    notion: Client, emulator: NotionEmulator, clock: Clock
) -> None:
    source_id = make_database(notion, emulator.parent_page_id)
    _seed_rows(notion, source_id, 3)
    clock.advance(120)
    later = notion.pages.create(parent={"data_source_id": source_id}, properties={"Name": text("Later")})
    since = later["last_edited_time"]
    assert MINUTE_STAMP.match(since)
    recent = notion.data_sources.query(
        source_id, filter={"timestamp": "last_edited_time", "last_edited_time": {"on_or_after": since}}
    )
    assert _names(recent) == ["Later"]
    edited = notion.data_sources.query(
        source_id,
        filter={
            "or": [
                {"timestamp": "last_edited_time", "last_edited_time": {"after": since}},
                {"property": "Edited", "last_edited_time": {"before": since}},
            ]
        },
    )
    assert len(edited["results"]) == 3


def test_update_clear_trash_and_restore(notion: Client, emulator: NotionEmulator, clock: Clock) -> None:
    source_id = make_database(notion, emulator.parent_page_id)
    page = notion.pages.create(
        parent={"data_source_id": source_id},
        properties={"Name": text("Acme"), "Amount": {"number": 5}, "Website": {"url": "https://a.example"}},
    )
    clock.advance(60)
    updated = notion.pages.update(page["id"], properties={"Amount": {"number": 7}, "Website": None})
    assert updated["properties"]["Amount"]["number"] == 7
    assert updated["properties"]["Website"]["url"] is None
    assert updated["last_edited_time"] > page["last_edited_time"]
    assert plain(updated["properties"]["Name"]["title"]) == "Acme"

    trashed = notion.pages.update(page["id"], in_trash=True)
    assert (trashed["in_trash"], trashed["archived"]) == (True, True)
    assert notion.data_sources.query(source_id)["results"] == []
    assert notion.pages.retrieve(page["id"])["in_trash"] is True
    in_trash = notion.data_sources.query(source_id, in_trash=True)["results"]
    assert [p["id"] for p in in_trash] == [page["id"]]

    restored = notion.pages.update(page["id"], archived=False)
    assert restored["in_trash"] is False
    assert [p["id"] for p in notion.data_sources.query(source_id)["results"]] == [page["id"]]


def test_relations_cut_at_25_in_pages_and_paginate_in_property_items(
    notion: Client, emulator: NotionEmulator
) -> None:
    contacts = make_database(notion, emulator.parent_page_id, "Contacts", {"Name": {"title": {}}})
    accounts = make_database(
        notion,
        emulator.parent_page_id,
        "Accounts",
        {
            "Name": {"title": {}},
            "Contacts": {
                "relation": {"data_source_id": contacts, "type": "dual_property", "dual_property": {}}
            },
        },
    )
    people = [
        notion.pages.create(parent={"data_source_id": contacts}, properties={"Name": text(f"P{i}")})["id"]
        for i in range(30)
    ]
    account = notion.pages.create(
        parent={"data_source_id": accounts},
        properties={"Name": text("Acme"), "Contacts": {"relation": [{"id": p} for p in people]}},
    )
    relation = notion.pages.retrieve(account["id"])["properties"]["Contacts"]
    assert relation["relation"] == [{"id": p} for p in people[:25]]
    assert relation["has_more"] is True

    prop_id = relation["id"]
    first = notion.pages.properties.retrieve(account["id"], prop_id, page_size=20)
    assert (len(first["results"]), first["has_more"]) == (20, True)
    assert first["property_item"]["type"] == "relation"
    rest = notion.pages.properties.retrieve(
        account["id"], prop_id, page_size=20, start_cursor=first["next_cursor"]
    )
    linked = [item["relation"]["id"] for item in first["results"] + rest["results"]]
    assert linked == people and rest["has_more"] is False

    synced = notion.data_sources.retrieve(contacts)["properties"]
    [back] = [p for p in synced.values() if p["type"] == "relation"]
    assert back["relation"]["dual_property"]["synced_property_id"] == prop_id
    contact = notion.pages.retrieve(people[0])["properties"][back["name"]]
    assert contact["relation"] == [{"id": account["id"]}]
    notion.pages.update(account["id"], properties={"Contacts": {"relation": people[1:3]}})
    assert notion.pages.retrieve(people[0])["properties"][back["name"]]["relation"] == []

    matching = notion.data_sources.query(
        accounts, filter={"property": "Contacts", "relation": {"contains": people[2]}}
    )
    assert [p["id"] for p in matching["results"]] == [account["id"]]


def test_property_item_of_title_and_filter_properties(notion: Client, emulator: NotionEmulator) -> None:
    source_id = make_database(notion, emulator.parent_page_id)
    page = notion.pages.create(
        parent={"data_source_id": source_id},
        properties={
            "Name": [{"text": {"content": "Ac"}}, {"text": {"content": "me"}}],
            "Amount": {"number": 3},
        },
    )
    title = notion.pages.properties.retrieve(page["id"], "title")
    assert [item["title"]["plain_text"] for item in title["results"]] == ["Ac", "me"]
    amount_id = page["properties"]["Amount"]["id"]
    item = notion.pages.properties.retrieve(page["id"], amount_id)
    del item["request_id"]
    assert item == {"object": "property_item", "id": amount_id, "type": "number", "number": 3}
    only = notion.pages.retrieve(page["id"], filter_properties=[amount_id])
    assert list(only["properties"]) == ["Amount"]
    queried = notion.data_sources.query(source_id, filter_properties=["title", amount_id])
    assert list(queried["results"][0]["properties"]) == ["Name", "Amount"]


def test_human_edit_is_made_by_a_person(
    notion: Client, emulator: NotionEmulator, clock: Clock, served: Any
) -> None:
    source_id = make_database(notion, emulator.parent_page_id)
    page = notion.pages.create(parent={"data_source_id": source_id}, properties={"Name": text("Acme")})
    clock.advance(90)
    edited = emulator.human_edit(page["id"], {"Amount": {"number": 99}})
    assert edited["properties"]["Amount"]["number"] == 99
    assert edited["last_edited_time"] > page["last_edited_time"]
    editor = notion.users.retrieve(edited["last_edited_by"]["id"])
    assert (editor["type"], editor["name"]) == ("person", "Grace Hopper")
    seen = notion.pages.retrieve(page["id"])
    assert seen["last_edited_by"]["id"] == editor["id"]
    assert seen["properties"]["Edited by"]["last_edited_by"]["id"] == editor["id"]

    response = httpx.post(
        f"{served.url}/_emulator/pages/{page['id']}/human-edit",
        json={"properties": {"Amount": {"number": 100}}, "user_name": "Ada Lovelace"},
        headers={"Authorization": "Bearer secret_sandbox_token"},
    )
    assert response.status_code == 200
    ada = notion.users.retrieve(notion.pages.retrieve(page["id"])["last_edited_by"]["id"])
    assert ada["name"] == "Ada Lovelace" and ada["type"] == "person"
    assert notion.pages.retrieve(page["id"])["properties"]["Amount"]["number"] == 100

    notion.pages.update(page["id"], properties={"Amount": {"number": 1}})
    assert notion.pages.retrieve(page["id"])["last_edited_by"]["id"] == emulator.bot_user_id


def test_human_schema_changes_and_trash(notion: Client, emulator: NotionEmulator) -> None:
    source_id = make_database(notion, emulator.parent_page_id)
    page = notion.pages.create(
        parent={"data_source_id": source_id},
        properties={"Name": text("Acme"), "Amount": {"number": 5}, "Email": {"email": "a@b.example"}},
    )
    emulator.human_update_schema(
        source_id,
        {"Amount": {"name": "ARR"}, "Email": None, "Phone": {"rich_text": {}}, "Notes": {"rich_text": {}}},
    )
    schema = notion.data_sources.retrieve(source_id)["properties"]
    assert "ARR" in schema and "Amount" not in schema and "Email" not in schema
    assert schema["Phone"]["type"] == "rich_text" and schema["Notes"]["type"] == "rich_text"
    props = notion.pages.retrieve(page["id"])["properties"]
    assert props["ARR"]["number"] == 5
    assert "Email" not in props
    assert props["Phone"]["rich_text"] == []

    created = emulator.human_create_page(source_id, {"Name": text("Typed by a person")})
    assert created["created_by"]["id"] != emulator.bot_user_id
    emulator.human_trash_page(created["id"])
    assert notion.pages.retrieve(created["id"])["in_trash"] is True

    notion.data_sources.update(source_id, properties={"ARR": None, "Name": {"name": "Account"}})
    renamed = notion.data_sources.retrieve(source_id)["properties"]
    assert renamed["Account"]["id"] == "title" and "ARR" not in renamed


def test_search_finds_pages_and_data_sources_by_title(
    notion: Client, emulator: NotionEmulator, clock: Clock
) -> None:
    source_id = make_database(notion, emulator.parent_page_id, "Customer accounts")
    clock.advance(60)
    notion.pages.create(parent={"data_source_id": source_id}, properties={"Name": text("Acme account")})
    notion.pages.create(parent={"page_id": emulator.parent_page_id}, properties={"title": text("Unrelated")})

    found = notion.search(query="ACCOUNT")
    assert [r["object"] for r in found["results"]] == ["page", "data_source"]
    assert found["type"] == "page_or_data_source"
    only_sources = notion.search(query="account", filter={"property": "object", "value": "data_source"})
    assert [r["id"] for r in only_sources["results"]] == [source_id]
    oldest_first = notion.search(
        query="account", sort={"timestamp": "last_edited_time", "direction": "ascending"}
    )
    assert [r["object"] for r in oldest_first["results"]] == ["data_source", "page"]
    paged = notion.search(page_size=1)
    assert paged["has_more"] is True and len(paged["results"]) == 1
    assert (
        len(collect_paginated_api(notion.search, page_size=2)) == 4
    )  # seeded page, unrelated, acme, data source


def test_users_and_the_seeded_parent_page(notion: Client, emulator: NotionEmulator) -> None:
    me = notion.users.me()
    assert me["type"] == "bot" and me["id"] == emulator.bot_user_id
    assert me["bot"]["owner"] == {"type": "workspace", "workspace": True}
    listed = notion.users.list()
    assert {u["type"] for u in listed["results"]} == {"bot", "person"}
    assert listed["type"] == "user"
    parent = notion.pages.retrieve(emulator.parent_page_id)
    assert parent["parent"] == {"type": "workspace", "workspace": True}
    assert plain(parent["properties"]["title"]["title"]) == "syncfw sandbox"
    block = notion.blocks.delete(
        notion.pages.create(
            parent={"page_id": emulator.parent_page_id}, properties={"title": text("Scratch")}
        )["id"]
    )
    assert (block["type"], block["child_page"], block["in_trash"]) == (
        "child_page",
        {"title": "Scratch"},
        True,
    )


def test_databases_with_several_data_sources(notion: Client, emulator: NotionEmulator) -> None:
    database = notion.databases.create(
        parent={"page_id": emulator.parent_page_id}, title=text("Tickets"), initial_data_source={}
    )
    first = database["data_sources"][0]["id"]
    assert list(notion.data_sources.retrieve(first)["properties"]) == ["Name"]
    via_database = notion.pages.create(
        parent={"database_id": database["id"]}, properties={"Name": text("T-1")}
    )
    assert via_database["parent"]["data_source_id"] == first

    added = notion.data_sources.create(
        parent={"type": "database_id", "database_id": database["id"]},
        title=text("Escalations"),
        properties={"Subject": {"title": {}}, "Priority": {"select": {}}},
    )
    assert added["parent"] == {"type": "database_id", "database_id": database["id"]}
    listed = notion.databases.retrieve(database["id"])["data_sources"]
    assert [(s["id"], s["name"]) for s in listed] == [(first, "Tickets"), (added["id"], "Escalations")]
    with pytest.raises(APIResponseError) as caught:
        notion.pages.create(parent={"database_id": database["id"]}, properties={"Name": text("T-2")})
    assert caught.value.code == "validation_error"

    renamed = notion.databases.update(database["id"], title=text("Support"))
    assert plain(renamed["title"]) == "Support"
    notion.databases.update(database["id"], in_trash=True)
    assert notion.data_sources.query(first)["results"][0]["id"] == via_database["id"]
    with pytest.raises(APIResponseError, match="Can't edit block that is archived"):
        notion.pages.create(parent={"data_source_id": added["id"]}, properties={"Subject": text("Lost")})
    assert notion.search(query="Escalations")["results"] == []


def test_dump_shows_every_data_source_with_its_pages(
    notion: Client, emulator: NotionEmulator, served: Any
) -> None:
    source_id = make_database(notion, emulator.parent_page_id, "Accounts", {"Name": {"title": {}}})
    page = notion.pages.create(parent={"data_source_id": source_id}, properties={"Name": text("Acme")})
    dumped = emulator.dump()
    [source] = dumped["data_sources"]
    assert source["id"] == source_id and source["object"] == "data_source"
    assert [p["id"] for p in source["pages"]] == [page["id"]]
    over_http = httpx.get(
        f"{served.url}/_emulator/dump", headers={"Authorization": "Bearer secret_sandbox_token"}
    )
    assert over_http.json() == dumped


def test_thousands_of_pages_stay_fast(notion: Client, emulator: NotionEmulator) -> None:
    source_id = make_database(notion, emulator.parent_page_id)
    for i in range(3000):
        emulator.human_create_page(source_id, {"Name": text(f"Row {i}"), "Amount": {"number": i}})
    started = time.monotonic()
    rows = collect_paginated_api(
        notion.data_sources.query,
        data_source_id=source_id,
        filter={"property": "Amount", "number": {"greater_than_or_equal_to": 500}},
        sorts=[{"property": "Name", "direction": "ascending"}],
    )
    assert len(rows) == 2500
    assert time.monotonic() - started < 10  # 25 requests over 3000 pages; quadratic work would not fit
