"""The emulator's CRM API as hubspot-api-client sees it: shapes, search semantics, paging, errors."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest
from hubspot import Client
from hubspot.crm.associations import BatchInputPublicObjectId, PublicObjectId
from hubspot.crm.objects import PublicObjectSearchRequest
from hubspot.crm.objects.exceptions import ApiException, NotFoundException, UnauthorizedException
from syncfw_hubspot.emulator import DAILY, TEN_SECONDLY

if TYPE_CHECKING:
    from conftest import Sandbox

Recorded = Callable[[str], dict[str, Any]]

RATE_HEADERS = {
    "x-hubspot-ratelimit-daily",
    "x-hubspot-ratelimit-daily-remaining",
    "x-hubspot-ratelimit-interval-milliseconds",
    "x-hubspot-ratelimit-max",
    "x-hubspot-ratelimit-remaining",
    "x-hubspot-ratelimit-secondly",
    "x-hubspot-ratelimit-secondly-remaining",
}


def shape(value: Any) -> Any:
    """Keys and JSON types of a value (a list by its first item); strings and nulls are alike,
    since HubSpot property values are strings or null."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items() if key != "_note"}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    if value is None or isinstance(value, str):
        return "string"
    return type(value).__name__


def same_keys(answer: dict[str, Any], recorded: dict[str, Any]) -> None:
    """The answer has the recorded keys and types (property names differ by request)."""
    answer, recorded = shape(answer), shape(recorded)
    for result in (*answer.get("results", []), *recorded.get("results", [])):
        if isinstance(result, dict):
            result.pop("properties", None)
    answer.pop("properties", None)
    recorded.pop("properties", None)
    assert answer == recorded


@pytest.fixture
def client(sandbox: Sandbox) -> Any:
    return Client.create(
        access_token=sandbox.env["HUBSPOT_ACCESS_TOKEN"],
        host=sandbox.env["HUBSPOT_HOST"],
        ssl_ca_cert=os.environ["REQUESTS_CA_BUNDLE"],
    )


def raw(response: Any) -> tuple[int, dict[str, str], dict[str, Any]]:
    headers = {name.lower(): value for name, value in response.headers.items()}
    return response.status, headers, json.loads(response.data)


def search(client: Any, object_type: str, **request: Any) -> dict[str, Any]:
    response = client.crm.objects.search_api.do_search(
        object_type, public_object_search_request=PublicObjectSearchRequest(**request), _preload_content=False
    )
    return raw(response)[2]


def names(answer: dict[str, Any], prop: str = "name") -> list[str]:
    return [r["properties"][prop] for r in answer["results"]]


def test_start_returns_the_env_a_recipe_needs(sandbox: Sandbox) -> None:
    assert set(sandbox.env) == {"HUBSPOT_ACCESS_TOKEN", "HUBSPOT_HOST"}
    assert sandbox.env["HUBSPOT_HOST"].startswith("https://127.0.0.1:")
    assert sandbox.env["HUBSPOT_ACCESS_TOKEN"].startswith("pat-na1-")


def test_list_answers_have_the_recorded_shape_and_rate_limit_headers(recorded: Recorded, client: Any) -> None:
    response = client.crm.objects.basic_api.get_page(
        "companies", limit=1, properties=["name", "domain", "phone"], _preload_content=False
    )
    status, headers, body = raw(response)
    expected = recorded("list_companies_page.json")

    assert status == 200
    same_keys(body, expected["body"])
    assert body["results"][0]["properties"] == {
        "createdate": "2026-04-02T09:14:21.517Z",
        "domain": "edgecomm.com",
        "hs_lastmodifieddate": "2026-05-01T08:02:11.204Z",
        "hs_object_id": "18240501001",
        "name": "Edge Communications",
        "phone": "(512) 757-6000",
    }
    assert set(expected["headers"]) <= set(headers)
    assert set(headers) >= RATE_HEADERS
    assert headers["content-type"] == "application/json;charset=utf-8"
    assert body["paging"]["next"]["link"].endswith("after=18240501002")


def test_search_answers_have_the_recorded_shape_and_no_rate_limit_headers(
    recorded: Recorded, client: Any
) -> None:
    response = client.crm.objects.search_api.do_search(
        "deals",
        public_object_search_request=PublicObjectSearchRequest(
            limit=1, properties=["dealname", "amount", "dealstage", "pipeline", "closedate"]
        ),
        _preload_content=False,
    )
    status, headers, body = raw(response)

    assert status == 200
    same_keys(body, recorded("search_deals_page.json")["body"])
    assert body["total"] == 5 and body["paging"] == {"next": {"after": "1"}}
    assert not RATE_HEADERS & set(headers)
    assert "x-hubspot-correlation-id" in headers


def test_get_has_the_recorded_shape_and_404_the_real_body(recorded: Recorded, client: Any) -> None:
    response = client.crm.objects.basic_api.get_by_id(
        "contacts", "51200000101", properties=["email", "firstname", "lastname"], _preload_content=False
    )
    same_keys(raw(response)[2], recorded("get_contact.json")["body"])

    with pytest.raises(NotFoundException) as caught:
        client.crm.objects.basic_api.get_by_id("contacts", "123")
    assert shape(json.loads(caught.value.body)) == shape(recorded("errors.json")["not_found"]["body"])


def test_typed_models_of_the_client_read_the_answers(client: Any) -> None:
    page = client.crm.companies.basic_api.get_page(limit=3, properties=["domain"], associations=["contacts"])

    assert [c.properties["domain"] for c in page.results] == ["edgecomm.com", "burlington.com", "pyramid.com"]
    assert page.results[0].updated_at.year == 2026
    assert {a.id for a in page.results[0].associations["contacts"].results} == {
        "51200000101",
        "51200000102",
        "51200000103",
    }
    everything = client.crm.contacts.get_all()
    assert len(everything) == 12


def test_association_batch_read_has_the_recorded_shape(
    recorded: Recorded, client: Any, sandbox: Sandbox
) -> None:
    sandbox.portal.create("deals", {"dealname": "Lonely deal"})
    lonely = sandbox.portal.records("deals")[-1]["id"]
    response = client.crm.associations.batch_api.read(
        "deals",
        "companies",
        batch_input_public_object_id=BatchInputPublicObjectId(
            inputs=[PublicObjectId(id="9120000001"), PublicObjectId(id=lonely)]
        ),
        _preload_content=False,
    )
    status, _, body = raw(response)

    assert status == 207
    same_keys(body, recorded("associations_batch_read.json")["body"])
    assert body["results"][0]["to"][0] == {"id": "18240501001", "type": "deal_to_company"}
    assert body["errors"][0]["message"] == f"No company is associated with deal {lonely}."


def test_search_filters_follow_hubspot_semantics(client: Any) -> None:
    def filtered(*filters: dict[str, Any], prop: str = "name") -> list[str]:
        answer = search(
            client, "companies", filter_groups=[{"filters": list(filters)}], properties=[prop], limit=50
        )
        return sorted(names(answer, prop))

    assert filtered({"propertyName": "domain", "operator": "EQ", "value": "GENEPOINT.COM"}) == ["GenePoint"]
    assert filtered(
        {"propertyName": "lifecyclestage", "operator": "IN", "values": ["customer", "evangelist"]}
    ) == [
        "Edge Communications",
        "Grand Hotels & Resorts Ltd",
        "United Oil & Gas Corp.",
    ]
    assert filtered({"propertyName": "annualrevenue", "operator": "NOT_HAS_PROPERTY"}) == [
        "University of Arizona",
        "sForce",
    ]
    assert filtered(
        {"propertyName": "numberofemployees", "operator": "BETWEEN", "value": "1000", "highValue": "9000"}
    ) == [
        "Burlington Textiles Corp of America",
        "Edge Communications",
        "Grand Hotels & Resorts Ltd",
        "Pyramid Construction Inc.",
    ]
    assert filtered({"propertyName": "name", "operator": "CONTAINS_TOKEN", "value": "oil*"}) == [
        "United Oil & Gas Corp."
    ]
    # datetimes compare as instants, given as epoch milliseconds or ISO 8601
    assert filtered({"propertyName": "hs_lastmodifieddate", "operator": "GT", "value": "1777630373090"}) == [
        "sForce"
    ]
    assert filtered(
        {"propertyName": "hs_lastmodifieddate", "operator": "GTE", "value": "2026-05-01T10:12:53.090Z"}
    ) == [
        "GenePoint",
        "University of Arizona",
        "sForce",
    ]


def test_search_or_of_groups_sorts_and_pages_by_offset(client: Any) -> None:
    request = {
        "filter_groups": [
            {"filters": [{"propertyName": "city", "operator": "EQ", "value": "Chicago"}]},
            {"filters": [{"propertyName": "state", "operator": "EQ", "value": "CA"}]},
        ],
        "sorts": [{"propertyName": "numberofemployees", "direction": "DESCENDING"}],
        "properties": ["name"],
        "limit": 2,
    }
    first = search(client, "companies", **request)
    second = search(client, "companies", **request, after=first["paging"]["next"]["after"])

    assert first["total"] == 3
    assert names(first) == ["Grand Hotels & Resorts Ltd", "GenePoint"]
    assert names(second) == ["sForce"] and "paging" not in second  # no employee count: last


def test_search_refuses_paging_past_the_cap_and_pages_over_200(client: Any, sandbox: Sandbox) -> None:
    sandbox.portal.search_cap = 4
    first = search(client, "contacts", limit=3, after="0")
    assert first["paging"]["next"]["after"] == "3"
    capped = search(client, "contacts", limit=3, after="3")
    assert len(capped["results"]) == 1 and capped["paging"]["next"]["after"] == "4"

    with pytest.raises(ApiException) as past:
        search(client, "contacts", limit=3, after="4")
    assert past.value.status == 400
    assert json.loads(past.value.body)["category"] == "VALIDATION_ERROR"
    assert sandbox.portal.stats.past_cap == 1

    with pytest.raises(ApiException) as too_big:
        search(client, "contacts", limit=201)
    assert too_big.value.status == 400 and "limit" in json.loads(too_big.value.body)["message"]


def test_archived_records_are_listed_only_with_archived_true(client: Any, sandbox: Sandbox) -> None:
    sandbox.portal.archive("companies", "18240501008")

    live = client.crm.objects.basic_api.get_page("companies", limit=100, _preload_content=False)
    archived = client.crm.objects.basic_api.get_page(
        "companies", limit=100, archived=True, _preload_content=False
    )
    found = search(client, "companies", limit=100)

    assert len(raw(live)[2]["results"]) == 7 and found["total"] == 7
    (gone,) = raw(archived)[2]["results"]
    assert gone["id"] == "18240501008" and gone["archived"] is True
    assert gone["archivedAt"] >= "2026-05-02T09:14:05.120Z"


def test_a_wrong_token_gets_the_real_401_body(recorded: Recorded, sandbox: Sandbox) -> None:
    stranger = Client.create(
        access_token="pat-na1-wrong",
        host=sandbox.env["HUBSPOT_HOST"],
        ssl_ca_cert=os.environ["REQUESTS_CA_BUNDLE"],
    )
    with pytest.raises(UnauthorizedException) as caught:
        stranger.crm.objects.basic_api.get_page("companies")

    body = json.loads(caught.value.body)
    expected = recorded("errors.json")["unauthorized"]["body"]
    assert shape(body) == shape(expected)
    assert body["message"] == expected["message"] and body["category"] == "INVALID_AUTHENTICATION"


@pytest.mark.parametrize(("policy", "answer"), [(TEN_SECONDLY, "ten_secondly"), (DAILY, "daily")])
def test_429_bodies_name_the_policy(
    recorded: Recorded, client: Any, sandbox: Sandbox, policy: str, answer: str
) -> None:
    sandbox.portal.rate_limit_next(1, policy)

    with pytest.raises(ApiException) as caught:
        client.crm.objects.basic_api.get_page("companies")

    assert caught.value.status == 429
    body = json.loads(caught.value.body)
    assert shape(body) == shape(recorded("errors.json")[answer]["body"])
    assert body["policyName"] == policy


def test_the_10_second_window_is_enforced(client: Any, sandbox: Sandbox) -> None:
    sandbox.portal.window_max = 3
    for _ in range(3):
        client.crm.objects.basic_api.get_page("deals", limit=1)

    with pytest.raises(ApiException) as caught:
        client.crm.objects.basic_api.get_page("deals", limit=1)

    assert json.loads(caught.value.body)["policyName"] == TEN_SECONDLY
    assert caught.value.headers["X-HubSpot-RateLimit-Remaining"] == "0"


def test_an_unknown_object_type_gets_hubspots_400(client: Any) -> None:
    with pytest.raises(ApiException) as caught:
        client.crm.objects.basic_api.get_page("widgets")

    assert caught.value.status == 400
    assert json.loads(caught.value.body)["message"] == "Unable to infer object type from: widgets"


def test_object_types_resolve_by_singular_and_id(client: Any) -> None:
    by_id = raw(client.crm.objects.basic_api.get_page("0-3", limit=100, _preload_content=False))[2]
    singular = raw(client.crm.objects.basic_api.get_page("deal", limit=100, _preload_content=False))[2]

    assert len(by_id["results"]) == len(singular["results"]) == 5


def test_property_definitions_list_every_property_in_use(client: Any) -> None:
    answer = raw(client.crm.properties.core_api.get_all("companies", _preload_content=False))[2]

    types = {p["name"]: p["type"] for p in answer["results"]}
    assert types["domain"] == "string"
    assert types["hs_lastmodifieddate"] == types["notes_last_updated"] == "datetime"
    assert types["numberofemployees"] == "number"
