"""Changes the search index shows late: the emulator's lag, and the connector's look-back window."""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Any

import pytest
from hubspot import Client
from hubspot.crm.objects import PublicObjectSearchRequest
from syncfw_hubspot.datetimes import format_instant, parse_instant

if TYPE_CHECKING:
    from conftest import Sandbox

FIELDS = ("properties.name", "properties.domain")


@pytest.fixture
def client(sandbox: Sandbox) -> Any:
    return Client.create(
        access_token=sandbox.env["HUBSPOT_ACCESS_TOKEN"],
        host=sandbox.env["HUBSPOT_HOST"],
        ssl_ca_cert=os.environ["REQUESTS_CA_BUNDLE"],
    )


def searched(client: Any) -> dict[str, str]:
    """id → name of every company search shows (through hubspot-api-client)."""
    request = PublicObjectSearchRequest(properties=["name"], limit=200)
    answer = client.crm.objects.search_api.do_search("companies", public_object_search_request=request)
    return {result.id: result.properties["name"] for result in answer.results}


def searched_names(client: Any) -> set[str]:
    return set(searched(client).values())


def test_search_shows_a_write_only_after_the_index_lag(sandbox: Sandbox, client: Any) -> None:
    portal = sandbox.portal
    portal.search_lag = 10
    created = portal.create("companies", {"name": "Fresh Co"}, index_delay=6)
    portal.update("companies", "18240501001", {"name": "Edge Renamed"}, index_delay=6)

    # the basic read endpoint sees both writes at once; search still shows what it had indexed
    fresh = client.crm.objects.basic_api.get_by_id("companies", created, properties=["name"])
    assert fresh.properties["name"] == "Fresh Co"
    assert "Fresh Co" not in searched_names(client)
    assert "Edge Communications" in searched_names(client)

    portal.advance(6)

    names = searched_names(client)
    assert {"Fresh Co", "Edge Renamed"} <= names and "Edge Communications" not in names


def test_writes_are_searchable_in_no_promised_order(sandbox: Sandbox, client: Any) -> None:
    portal = sandbox.portal
    portal.search_lag = 10
    ids = portal.create_many("companies", [{"name": f"Lagged {n}"} for n in range(40)])
    shown_at: dict[str, int] = {}
    for second in range(11):
        for record_id in searched(client):
            shown_at.setdefault(record_id, second)
        portal.advance(1)

    assert set(ids) <= set(shown_at)  # every write shows within the lag
    order = [shown_at[i] for i in ids]
    assert order != sorted(order)  # but not in the order of their stamps


def test_a_change_hidden_by_index_lag_is_delivered_by_the_next_read(sandbox: Sandbox) -> None:
    portal = sandbox.portal
    portal.search_lag = 10
    _, first = sandbox.read("companies", None, FIELDS)
    # two writes a millisecond apart: search shows the later one first
    portal.update("companies", "18240501002", {"name": "Slow to index"}, index_delay=8)
    portal.update("companies", "18240501003", {"name": "Quick to index"}, index_delay=0)

    seen, checkpoints = sandbox.read("companies", first[-1].cursor, FIELDS)
    assert [r.data["properties"]["name"] for r in seen] == ["Quick to index"]

    portal.advance(8)
    late, _ = sandbox.read("companies", checkpoints[-1].cursor, FIELDS)

    assert [(r.key, r.data["properties"]["name"]) for r in late] == [("18240501002", "Slow to index")]


def test_unchanged_records_inside_the_window_are_not_delivered_again(sandbox: Sandbox) -> None:
    created = sandbox.portal.create_many("companies", [{"name": f"Window {n}"} for n in range(12)])
    _, first = sandbox.read("companies", None, FIELDS, page_size=5)
    searches = sandbox.portal.stats.searches

    again, second = sandbox.read("companies", first[-1].cursor, FIELDS, page_size=5)
    assert again == []
    # the window was searched again: the 12 records changed within 5 minutes of the newest one
    assert sandbox.portal.stats.searches - searches == 3

    sandbox.portal.update("companies", created[4], {"name": "Window 4, changed"})
    changed, third = sandbox.read("companies", second[-1].cursor, FIELDS, page_size=5)
    assert [(r.key, r.data["properties"]["name"]) for r in changed] == [(created[4], "Window 4, changed")]
    assert sandbox.read("companies", third[-1].cursor, FIELDS, page_size=5)[0] == []
    window = json.loads(third[-1].cursor)["window"]
    assert set(window) == set(created)  # the cursor holds the records of the window, no others


def test_the_window_holds_only_records_within_the_look_back(sandbox: Sandbox) -> None:
    _, first = sandbox.read("companies", None, FIELDS, lookback="1m")
    cursor = json.loads(first[-1].cursor)
    newest = parse_instant(cursor["hs_lastmodifieddate"])

    sandbox.read("companies", first[-1].cursor, FIELDS, lookback="1m")

    assert cursor["window"] and all(newest - instant <= 60_000 for instant, _ in cursor["window"].values())
    last_search = [r for r in sandbox.portal.requests if r.path.endswith("/search")][-1]
    (lower,) = last_search.body["filterGroups"][0]["filters"]
    assert (lower["operator"], int(lower["value"])) == ("GTE", newest - 60_000)


def test_cursors_of_the_earlier_version_resume(sandbox: Sandbox) -> None:
    records, _ = sandbox.read("companies", None, FIELDS)
    newest = max(parse_instant(r.data["properties"]["hs_lastmodifieddate"]) for r in records)
    old = json.dumps(
        {
            "hs_lastmodifieddate": format_instant(newest),
            "ids": [records[-1].key],
            "archivedAt": None,
            "archived_ids": [],
        }
    )
    sandbox.portal.update("companies", "18240501004", {"name": "Changed after the upgrade"})

    resumed, checkpoints = sandbox.read("companies", old, FIELDS)

    # the change, and the records of the last five minutes before the old cursor (delivered again
    # once, as the old cursor kept no digests; the engine finds nothing to write for them)
    assert "18240501004" in {r.key for r in resumed}
    assert all(
        newest - parse_instant(r.data["properties"]["hs_lastmodifieddate"]) <= 300_000
        for r in resumed
        if r.key != "18240501004"
    )
    assert len(resumed) < len(records)
    assert sandbox.read("companies", checkpoints[-1].cursor, FIELDS)[0] == []
