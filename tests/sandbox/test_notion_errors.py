"""Every refusal of the Notion emulator: status, code, exact message and request id.

Messages are the real service's (API-FACTS.md §2); each test sends what a client would send.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from notion_client import APIResponseError, Client

from syncfw.emulation import ServedApp
from syncfw.sandbox.notion import NotionAPIError, NotionEmulator
from tests.sandbox.notion_helpers import TOKEN, VERSION, expect_error, make_database, text

MISSING = "2b1a0f9e-8d7c-4b6a-9f5e-4d3c2b1a0f9e"


def _error_body(response: httpx.Response, status: int, code: str, message: str) -> None:
    body = response.json()
    assert response.status_code == status
    assert body == {
        "object": "error",
        "status": status,
        "code": code,
        "message": message,
        "request_id": response.headers["x-notion-request-id"],
    }
    assert str(uuid.UUID(body["request_id"])) == body["request_id"]
    assert response.headers["content-type"] == "application/json; charset=utf-8"


def test_missing_notion_version(served: ServedApp) -> None:
    response = httpx.get(f"{served.url}/v1/users/me", headers={"Authorization": f"Bearer {TOKEN}"})
    _error_body(
        response,
        400,
        "missing_version",
        "Notion-Version header failed validation: Notion-Version header should be defined, instead was undefined.",
    )


def test_wrong_token(served: ServedApp) -> None:
    stranger = Client(auth="ntn_not_the_token", base_url=served.url, retry=False)
    expect_error(stranger.users.list, 401, "unauthorized", "API token is invalid.")


@pytest.mark.parametrize("header", [None, "Basic dXNlcjpwYXNz", "Bearer", "ntn_just_the_token"])
def test_missing_or_malformed_authorization(served: ServedApp, header: str | None) -> None:
    headers = {"Notion-Version": VERSION, **({"Authorization": header} if header else {})}
    response = httpx.get(f"{served.url}/v1/users/me", headers=headers)
    _error_body(response, 401, "unauthorized", 'Authorization header must use the format "Bearer <token>".')


@pytest.mark.parametrize(("method", "path"), [("GET", "/v1/invalid"), ("PUT", "/v1/users/me"), ("GET", "/")])
def test_unknown_url_or_method_is_refused_before_auth(served: ServedApp, method: str, path: str) -> None:
    response = httpx.request(method, f"{served.url}{path}", headers={"Authorization": "Bearer wrong"})
    _error_body(response, 400, "invalid_request_url", "Invalid request URL.")


def test_unknown_url_through_the_client(notion: Client) -> None:
    expect_error(lambda: notion.request("invalid", "GET"), 400, "invalid_request_url", "Invalid request URL.")


@pytest.mark.parametrize("body", [b"{not json", b'{"page_size": NaN}'])
def test_bad_json(http: httpx.Client, emulator: NotionEmulator, body: bytes) -> None:
    source_id = make_database_raw(http, emulator)
    response = http.post(f"/v1/data_sources/{source_id}/query", content=body)
    _error_body(response, 400, "invalid_json", "Error parsing JSON body.")


def make_database_raw(http: httpx.Client, emulator: NotionEmulator) -> str:
    response = http.post(
        "/v1/databases", json={"parent": {"page_id": emulator.parent_page_id}, "title": text("DB")}
    )
    return str(response.json()["data_sources"][0]["id"])


def test_invalid_and_unknown_ids(notion: Client) -> None:
    expect_error(
        lambda: notion.pages.retrieve("not-an-id"),
        400,
        "validation_error",
        'path failed validation: path.page_id should be a valid uuid, instead was `"not-an-id"`.',
    )
    share = "Make sure the relevant pages and databases are shared with your integration."
    expect_error(
        lambda: notion.pages.retrieve(MISSING.replace("-", "")),
        404,
        "object_not_found",
        f"Could not find page with ID: {MISSING}. {share}",
    )
    expect_error(
        lambda: notion.databases.retrieve(MISSING),
        404,
        "object_not_found",
        f"Could not find database with ID: {MISSING}. {share}",
    )
    expect_error(
        lambda: notion.data_sources.query(MISSING),
        404,
        "object_not_found",
        f"Could not find data_source with ID: {MISSING}. {share}",
    )


@pytest.fixture
def source_id(notion: Client, emulator: NotionEmulator) -> str:
    return make_database(notion, emulator.parent_page_id)


@pytest.fixture
def page_id(notion: Client, source_id: str) -> str:
    return str(
        notion.pages.create(parent={"data_source_id": source_id}, properties={"Name": text("Acme")})["id"]
    )


def _write(notion: Client, page_id: str, properties: dict[str, Any]) -> Any:
    return lambda: notion.pages.update(page_id, properties=properties)


@pytest.mark.parametrize(
    ("properties", "message"),
    [
        ({"Colour": {"rich_text": text("red")}}, "Colour is not a property that exists."),
        ({"Amount": {"rich_text": text("12")}}, "Amount is expected to be number."),
        ({"Amount": {"number": "12"}}, "Amount is expected to be number."),
        ({"Active": {"checkbox": "yes"}}, "Active is expected to be checkbox."),
        (
            {"Stage": {"select": {"name": "High, really"}}},
            "Invalid select option, commas not allowed: High, really",
        ),
        ({"Tags": {"multi_select": [{"name": "a,b"}]}}, "Invalid select option, commas not allowed: a,b"),
        (
            {"Status": {"status": {"name": "Shipped"}}},
            'Invalid status option. Status option "Shipped" does not exist".',
        ),
        (
            {"Salesforce ID": {"rich_text": text("x" * 2001)}},
            "body failed validation: body.properties.Salesforce ID.rich_text[0].text.content.length "
            "should be ≤ `2000`, instead was `2001`.",
        ),
        (
            {"Name": {"title": text("y" * 2500)}},
            "body failed validation: body.properties.Name.title[0].text.content.length "
            "should be ≤ `2000`, instead was `2500`.",
        ),
        (
            {"Salesforce ID": {"rich_text": text("a") * 101}},
            "body failed validation: body.properties.Salesforce ID.rich_text.length should be ≤ `100`, instead was `101`.",
        ),
        (
            {"Tags": {"multi_select": [{"name": f"t{i}"} for i in range(101)]}},
            "body failed validation: body.properties.Tags.multi_select.length should be ≤ `100`, instead was `101`.",
        ),
        (
            {"Owner": {"people": [{"id": str(uuid.uuid4())} for _ in range(101)]}},
            "body failed validation: body.properties.Owner.people.length should be ≤ `100`, instead was `101`.",
        ),
        (
            {"Website": {"url": "https://example.com/" + "p" * 1981}},
            "body failed validation: body.properties.Website.url.length should be ≤ `2000`, instead was `2001`.",
        ),
        (
            {"Email": {"email": "e" * 189 + "@example.com"}},
            "body failed validation: body.properties.Email.email.length should be ≤ `200`, instead was `201`.",
        ),
        (
            {"Phone": {"phone_number": "5" * 201}},
            "body failed validation: body.properties.Phone.phone_number.length should be ≤ `200`, instead was `201`.",
        ),
        (
            {"Close date": {"date": {"start": "2022/01/02"}}},
            "body failed validation: body.properties.Close date.date.start should be a valid ISO 8601 date string, "
            'instead was `"2022/01/02"`.',
        ),
    ],
)
def test_invalid_property_values(
    notion: Client, page_id: str, properties: dict[str, Any], message: str
) -> None:
    expect_error(_write(notion, page_id, properties), 400, "validation_error", message)


@pytest.mark.parametrize("prop", ["Score", "Created", "Edited by", "Key"])
def test_read_only_properties_are_refused(notion: Client, page_id: str, prop: str) -> None:
    schema_type = notion.data_sources.retrieve(notion.pages.retrieve(page_id)["parent"]["data_source_id"])[
        "properties"
    ][prop]["type"]
    with pytest.raises(APIResponseError) as caught:
        notion.pages.update(page_id, properties={prop: {schema_type: {}}})
    message = str(caught.value)
    assert message.startswith("body failed validation. Fix one:\n")
    assert f"body.properties.{prop}.rich_text should be defined, instead was `undefined`." in message
    assert (caught.value.status, caught.value.code) == (400, "validation_error")


def test_relation_to_a_missing_page(notion: Client, emulator: NotionEmulator) -> None:
    target = make_database(notion, emulator.parent_page_id, "Targets", {"Name": {"title": {}}})
    source = make_database(
        notion,
        emulator.parent_page_id,
        "Links",
        {"Name": {"title": {}}, "Link": {"relation": {"data_source_id": target, "single_property": {}}}},
    )
    expect_error(
        lambda: notion.pages.create(
            parent={"data_source_id": source}, properties={"Link": {"relation": [{"id": MISSING}]}}
        ),
        404,
        "object_not_found",
        f"Could not find page with ID: {MISSING}. "
        "Make sure the relevant pages and databases are shared with your integration.",
    )


def test_rejected_write_changes_nothing(notion: Client, page_id: str, source_id: str) -> None:
    before = notion.pages.retrieve(page_id)
    expect_error(
        _write(notion, page_id, {"Stage": {"select": {"name": "Brand new"}}, "Colour": {"number": 1}}),
        400,
        "validation_error",
        "Colour is not a property that exists.",
    )
    after = notion.pages.retrieve(page_id)
    assert {k: v for k, v in after.items() if k != "request_id"} == {
        k: v for k, v in before.items() if k != "request_id"
    }
    options = notion.data_sources.retrieve(source_id)["properties"]["Stage"]["select"]["options"]
    assert "Brand new" not in [o["name"] for o in options]


def test_writes_to_a_trashed_page(notion: Client, page_id: str, emulator: NotionEmulator) -> None:
    notion.pages.update(page_id, in_trash=True)
    archived = "Can't edit block that is archived. You must unarchive the block before editing."
    expect_error(_write(notion, page_id, {"Amount": {"number": 1}}), 400, "validation_error", archived)
    expect_error(lambda: notion.pages.update(page_id, in_trash=True), 400, "validation_error", archived)
    with pytest.raises(NotionAPIError) as caught:
        emulator.human_edit(page_id, {"Amount": {"number": 1}})
    assert (caught.value.status, caught.value.code, caught.value.message) == (
        400,
        "validation_error",
        archived,
    )
    restored = notion.pages.update(page_id, in_trash=False, properties={"Amount": {"number": 2}})
    assert (restored["in_trash"], restored["properties"]["Amount"]["number"]) == (False, 2)


def test_query_errors(notion: Client, source_id: str) -> None:
    expect_error(
        lambda: notion.data_sources.query(
            source_id, filter={"property": "Colour", "rich_text": {"equals": "x"}}
        ),
        400,
        "validation_error",
        "Could not find property with name or id: Colour",
    )
    expect_error(
        lambda: notion.data_sources.query(
            source_id, filter={"property": "Amount", "rich_text": {"equals": "1"}}
        ),
        400,
        "validation_error",
        "The property type in the database does not match the property type of the filter provided: "
        "database property number does not match filter rich_text",
    )
    expect_error(
        lambda: notion.data_sources.query(
            source_id, sorts=[{"property": "Colour", "direction": "ascending"}]
        ),
        400,
        "validation_error",
        "Could not find sort property with name or id: Colour",
    )
    expect_error(
        lambda: notion.data_sources.query(source_id, page_size=101),
        400,
        "validation_error",
        "body failed validation: body.page_size should be ≤ `100` or `undefined`, instead was `101`.",
    )
    expect_error(
        lambda: notion.data_sources.query(source_id, start_cursor="bogus"),
        400,
        "validation_error",
        'body failed validation: body.start_cursor should be a valid uuid or `undefined`, instead was `"bogus"`.',
    )
    too_deep = {"and": [{"or": [{"and": [{"property": "Amount", "number": {"equals": 1}}]}]}]}
    with pytest.raises(Exception, match=r"body\.filter\.and\[0\]\.or\[0\]\.and should be not present"):
        notion.data_sources.query(source_id, filter=too_deep)
    expect_error(
        lambda: notion.search(filter={"property": "object", "value": "database"}),
        400,
        "validation_error",
        'body failed validation: body.filter.value should be `"page"` or `"data_source"`, instead was `"database"`.',
    )


def test_database_create_refuses_top_level_properties(http: httpx.Client, emulator: NotionEmulator) -> None:
    response = http.post(
        "/v1/databases",
        json={"parent": {"page_id": emulator.parent_page_id}, "properties": {"Name": {"title": {}}}},
    )
    _error_body(
        response,
        400,
        "validation_error",
        'body failed validation: body.properties should be not present, instead was `{"Name":{"title":{}}}`.',
    )
