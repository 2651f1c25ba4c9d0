"""Long relations and people lists through notion-client: page objects (retrieve and query)
cut them at 25, the page property item endpoint pages through all of them, a request may set
at most 100, and a relation sent back with ``has_more: true`` is refused (DOC request-limits,
retrieve-a-page-property, patch-page; API-FACTS §3, §4.4)."""

from __future__ import annotations

from typing import Any

import pytest
from notion_client import APIResponseError, Client, collect_paginated_api

from syncfw.sandbox.notion import NotionEmulator
from tests.sandbox.notion_helpers import BY_CREATION, expect_error, make_database, text


@pytest.fixture
def contacts(notion: Client, emulator: NotionEmulator) -> list[str]:
    """101 contact page ids, in creation order."""
    source = make_database(notion, emulator.parent_page_id, "Contacts", {"Name": {"title": {}}})
    emulator.human_import(source, ({"Name": {"title": text(f"C{i}")}} for i in range(101)))
    pages = collect_paginated_api(notion.data_sources.query, data_source_id=source, sorts=BY_CREATION)
    return [page["id"] for page in pages]


@pytest.fixture
def accounts(notion: Client, emulator: NotionEmulator, contacts: list[str]) -> str:
    contacts_source = notion.pages.retrieve(contacts[0])["parent"]["data_source_id"]
    return make_database(
        notion,
        emulator.parent_page_id,
        "Accounts",
        {
            "Name": {"title": {}},
            "Contacts": {"relation": {"data_source_id": contacts_source, "single_property": {}}},
            "Team": {"people": {}},
            "Tier": {"select": {}},
        },
    )


def _links(ids: list[str]) -> dict[str, Any]:
    return {"relation": [{"id": page_id} for page_id in ids]}


def _account(notion: Client, accounts: str, related: list[str], **more: Any) -> dict[str, Any]:
    properties = {"Name": {"title": text("Acme")}, "Contacts": _links(related), **more}
    return dict(notion.pages.create(parent={"data_source_id": accounts}, properties=properties))


def test_page_objects_cut_60_relations_at_25_with_has_more(
    notion: Client, accounts: str, contacts: list[str]
) -> None:
    account = _account(notion, accounts, contacts[:60])
    for page in (notion.pages.retrieve(account["id"]), notion.data_sources.query(accounts)["results"][0]):
        relation = page["properties"]["Contacts"]
        assert relation["relation"] == [{"id": c} for c in contacts[:25]]
        assert relation["has_more"] is True
    short = _account(notion, accounts, contacts[:25])
    assert notion.pages.retrieve(short["id"])["properties"]["Contacts"]["has_more"] is False


def test_the_property_item_endpoint_pages_through_60_relations(
    notion: Client, accounts: str, contacts: list[str]
) -> None:
    account = _account(notion, accounts, contacts[:60])
    prop_id = notion.pages.retrieve(account["id"])["properties"]["Contacts"]["id"]
    pages = []
    cursor = None
    while True:
        answer = notion.pages.properties.retrieve(account["id"], prop_id, page_size=25, start_cursor=cursor)
        pages.append(answer)
        cursor = answer["next_cursor"]
        if not answer["has_more"]:
            break
    assert [len(p["results"]) for p in pages] == [25, 25, 10]
    assert [item["relation"]["id"] for p in pages for item in p["results"]] == contacts[:60]
    assert pages[0]["property_item"]["next_url"].endswith(f"start_cursor={pages[0]['next_cursor']}")
    every = collect_paginated_api(
        notion.pages.properties.retrieve, page_id=account["id"], property_id=prop_id
    )
    assert len(every) == 60  # 100 a page by default
    expect_error(
        lambda: notion.pages.properties.retrieve(account["id"], prop_id, page_size=101),
        400,
        "validation_error",
        "query failed validation: query.page_size should be ≤ `100` or `undefined`, instead was `101`.",
    )


def test_people_are_cut_at_25_in_page_objects_and_listed_in_full_by_the_endpoint(
    notion: Client, emulator: NotionEmulator, accounts: str, contacts: list[str]
) -> None:
    for i in range(30):  # people appear in the workspace when they first edit something
        emulator.human_edit(contacts[i], {"Name": {"title": text(f"C{i}")}}, user_name=f"Person {i:02d}")
    people = sorted(u["id"] for u in collect_paginated_api(notion.users.list) if u["type"] == "person")[:30]
    account = _account(notion, accounts, [], Team={"people": [{"id": p} for p in people]})
    team = notion.pages.retrieve(account["id"])["properties"]["Team"]
    assert [user["id"] for user in team["people"]] == people[:25]
    every = collect_paginated_api(
        notion.pages.properties.retrieve, page_id=account["id"], property_id=team["id"]
    )
    assert [item["people"]["id"] for item in every] == people


def test_more_than_100_relations_in_one_request_are_refused(
    notion: Client, accounts: str, contacts: list[str]
) -> None:
    expect_error(
        lambda: _account(notion, accounts, contacts[:101]),
        400,
        "validation_error",
        "body failed validation: body.properties.Contacts.relation.length should be ≤ `100`, instead was `101`.",
    )
    assert notion.data_sources.query(accounts)["results"] == []
    assert len(_account(notion, accounts, contacts[:100])["properties"]["Contacts"]["relation"]) == 25


def test_a_relation_sent_back_with_has_more_is_refused_and_other_updates_pass(
    notion: Client, accounts: str, contacts: list[str]
) -> None:
    account = _account(notion, accounts, contacts[:60])
    cut = notion.pages.retrieve(account["id"])["properties"]["Contacts"]  # 25 items, has_more: true
    expect_error(
        lambda: notion.pages.update(account["id"], properties={"Contacts": cut}),
        400,
        "invalid_request",
        "Can't update page because has_more is set to true for page property 'Contacts'",
    )
    notion.pages.update(account["id"], properties={"Tier": {"select": {"name": "Gold"}}})
    prop_id = cut["id"]
    every = collect_paginated_api(
        notion.pages.properties.retrieve, page_id=account["id"], property_id=prop_id
    )
    assert len(every) == 60  # neither request cut the relation
    notion.pages.update(account["id"], properties={"Contacts": {**_links(contacts[:30]), "has_more": False}})
    every = collect_paginated_api(
        notion.pages.properties.retrieve, page_id=account["id"], property_id=prop_id
    )
    assert [item["relation"]["id"] for item in every] == contacts[:30]


def test_a_failed_has_more_update_changes_nothing_else(
    notion: Client, accounts: str, contacts: list[str]
) -> None:
    account = _account(notion, accounts, contacts[:30])
    cut = notion.pages.retrieve(account["id"])["properties"]["Contacts"]
    with pytest.raises(APIResponseError):
        notion.pages.update(account["id"], properties={"Tier": {"select": {"name": "Gold"}}, "Contacts": cut})
    assert notion.pages.retrieve(account["id"])["properties"]["Tier"]["select"] is None
