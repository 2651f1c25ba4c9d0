"""Reading CRM objects through the connector (real hubspot-api-client) from the emulator over HTTPS."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pytest
from syncfw_hubspot.datetimes import parse_instant

from syncfw import ConfigError, SourceError
from syncfw.connector import Checkpoint, Record

if TYPE_CHECKING:
    from conftest import Sandbox

CONTACT_FIELDS = ("properties.email", "properties.firstname", "associations.companies.results")
LATER = datetime(2026, 5, 3, 10, 0, tzinfo=UTC)
EDGE = "18240501001"


def stamps(records: list[Record], prop: str = "lastmodifieddate") -> list[int]:
    return [parse_instant(r.data["properties"][prop]) for r in records]


def test_full_read_returns_requested_properties_and_associations(sandbox: Sandbox) -> None:
    records, checkpoints = sandbox.read("contacts", None, CONTACT_FIELDS)

    by_email = {r.data["properties"]["email"]: r for r in records}
    assert len(records) == 12 == len({r.key for r in records})
    rose = by_email["rose@edge.com"]
    assert rose.key == rose.data["id"] == "51200000101" and not rose.deleted
    assert rose.data["properties"] == {
        "createdate": "2026-04-02T09:20:01.113Z",
        "email": "rose@edge.com",
        "firstname": "Rose",
        "hs_object_id": "51200000101",
        "lastmodifieddate": "2026-05-01T08:30:12.411Z",
    }
    assert rose.data["associations"] == {
        "companies": {
            "results": [
                {"id": EDGE, "type": "contact_to_company"},
                {"id": EDGE, "type": "contact_to_company_unlabeled"},
            ]
        }
    }
    assert {"createdAt", "updatedAt", "archived", "url"} <= set(rose.data)
    assert stamps(records) == sorted(stamps(records))  # oldest change first
    assert isinstance(checkpoints[-1], Checkpoint) and len(checkpoints) == 2  # one page, then the end


def test_company_associations_are_seen_from_both_sides(sandbox: Sandbox) -> None:
    records, _ = sandbox.read(
        "companies",
        None,
        ("properties.domain", "associations.contacts.results", "associations.deals.results"),
    )

    edge = next(r for r in records if r.key == EDGE)
    assert edge.data["properties"]["domain"] == "edgecomm.com"
    contact_ids = {a["id"] for a in edge.data["associations"]["contacts"]["results"]}
    assert contact_ids == {"51200000101", "51200000102", "51200000103"}
    assert {a["type"] for a in edge.data["associations"]["contacts"]["results"]} == {
        "company_to_contact",
        "company_to_contact_unlabeled",
    }
    assert edge.data["associations"]["deals"]["results"][0] == {"id": "9120000001", "type": "company_to_deal"}
    university = next(r for r in records if r.data["properties"]["domain"] == "universityofarizona.com")
    assert "deals" not in university.data["associations"]  # like the list endpoint: no empty entries


def test_associations_named_in_the_config_are_read(sandbox: Sandbox) -> None:
    records, _ = sandbox.read(
        "deals", None, ("properties.dealname",), associations={"deals": ("companies", "contacts")}
    )

    generator = next(r for r in records if r.data["properties"]["dealname"] == "Edge Emergency Generator")
    assert generator.data["associations"]["companies"]["results"][0] == {
        "id": EDGE,
        "type": "deal_to_company",
    }
    assert generator.data["associations"]["contacts"]["results"] == [
        {"id": "51200000101", "type": "deal_to_contact"}
    ]
    refinery = next(
        r for r in records if r.data["properties"]["dealname"] == "United Oil Refinery Generators"
    )
    assert set(refinery.data["associations"]) == {"companies"}


def test_incremental_read_returns_only_changed_records(sandbox: Sandbox) -> None:
    _, first = sandbox.read("contacts", None, CONTACT_FIELDS)
    sandbox.portal.update("contacts", "51200000105", {"firstname": "Patricia"}, at=LATER)
    sandbox.portal.update("contacts", "51200000110", {"email": "mei.chen@genepoint.com"}, at=LATER)

    records, checkpoints = sandbox.read("contacts", first[-1].cursor, CONTACT_FIELDS)

    assert [(r.key, r.data["properties"]["firstname"]) for r in records] == [
        ("51200000105", "Patricia"),
        ("51200000110", "Mei"),
    ]
    assert records[1].data["properties"]["email"] == "mei.chen@genepoint.com"
    assert records[1].data["associations"]["companies"]["results"][0]["id"] == "18240501006"
    again, after = sandbox.read("contacts", checkpoints[-1].cursor, CONTACT_FIELDS)
    assert again == []
    kept, before = json.loads(after[-1].cursor), json.loads(checkpoints[-1].cursor)
    assert (kept["lastmodifieddate"], kept["window"]) == (before["lastmodifieddate"], before["window"])


def test_records_sharing_the_cursor_instant_are_not_repeated_but_late_ones_come(sandbox: Sandbox) -> None:
    sandbox.portal.create_many("companies", [{"name": "Alpha"}, {"name": "Beta"}], at=LATER)
    _, first = sandbox.read("companies", None, ("properties.name",))
    cursor = json.loads(first[-1].cursor)
    assert cursor["hs_lastmodifieddate"] == "2026-05-03T10:00:00.000Z" and len(cursor["window"]) == 2

    repeated, _ = sandbox.read("companies", first[-1].cursor, ("properties.name",))
    assert repeated == []

    late = sandbox.portal.create("companies", {"name": "Gamma"}, at=LATER)
    records, checkpoints = sandbox.read("companies", first[-1].cursor, ("properties.name",))
    assert [(r.key, r.data["properties"]["name"]) for r in records] == [(late, "Gamma")]
    assert len(json.loads(checkpoints[-1].cursor)["window"]) == 3
    assert sandbox.read("companies", checkpoints[-1].cursor, ("properties.name",))[0] == []


def test_a_record_changed_mid_read_hides_no_other_record(sandbox: Sandbox) -> None:
    connector = sandbox.connector(page_size=5)
    items = connector.read("contacts", None, ("properties.firstname",))
    seen: list[Record] = []
    for item in items:
        if isinstance(item, Checkpoint):
            break
        seen.append(item)
    # the first page's second record changes while the read goes on: with offset paging the
    # record at offset 5 would slide to offset 4 and never be read
    sandbox.portal.update("contacts", seen[1].key, {"firstname": "Changed"})
    seen.extend(item for item in items if isinstance(item, Record))

    assert {r.key for r in seen} == {r["id"] for r in sandbox.portal.records("contacts")}
    assert len(seen) == 13
    assert seen[-1].key == seen[1].key and seen[-1].data["properties"]["firstname"] == "Changed"
    assert not any("after" in (r.body or {}) for r in sandbox.portal.requests)


def test_a_checkpoint_mid_read_resumes_after_its_records(sandbox: Sandbox) -> None:
    items = list(sandbox.connector(page_size=5).read("contacts", None, ()))
    positions = [n for n, item in enumerate(items) if isinstance(item, Checkpoint)]
    # pages of 5 searched from the newest instant so far: 5 new, then 4 and 3 (records at that
    # instant come again and are skipped), a last page with nothing new, then the end
    assert positions == [5, 10, 14, 15]

    middle = items[positions[0]]
    assert isinstance(middle, Checkpoint)
    rest, _ = sandbox.read("contacts", middle.cursor, page_size=5)
    assert [r.key for r in rest] == [i.key for i in items[6:] if isinstance(i, Record)]


def test_the_10000_result_search_cap_is_crossed_by_moving_the_lower_bound(sandbox: Sandbox) -> None:
    sandbox.portal.create_many("companies", [{"name": f"Bulk {n}"} for n in range(10_050)])

    records, checkpoints = sandbox.read("companies", None, ("properties.name",))

    assert len(records) == 10_058 == len({r.key for r in records})
    assert stamps(records, "hs_lastmodifieddate") == sorted(stamps(records, "hs_lastmodifieddate"))
    assert sandbox.portal.stats.past_cap == 0
    assert sandbox.portal.stats.searches == 51  # 200 a page, each one a new search
    assert len(checkpoints) == 52  # one per page, then the end


def test_more_records_in_one_millisecond_than_a_page_holds(sandbox: Sandbox) -> None:
    created = sandbox.portal.create_many("deals", [{"dealname": f"Import {n}"} for n in range(23)], at=LATER)

    records, checkpoints = sandbox.read("deals", None, ("properties.dealname",), page_size=10)

    assert [r.key for r in records[5:]] == created  # the seed deals first, then by id
    assert len(records) == 28 == len({r.key for r in records})
    assert set(created) <= set(json.loads(checkpoints[-1].cursor)["window"])
    assert sandbox.read("deals", checkpoints[-1].cursor, ("properties.dealname",), page_size=10)[0] == []
    walked = [r.body for r in sandbox.portal.requests if r.path.endswith("/search")]
    assert any(body["sorts"][0]["propertyName"] == "hs_object_id" for body in walked)


def test_archived_records_become_deletes(sandbox: Sandbox) -> None:
    _, first = sandbox.read("contacts", None, CONTACT_FIELDS)
    sandbox.portal.archive("contacts", "51200000111")
    sandbox.portal.archive("contacts", "51200000103")

    records, checkpoints = sandbox.read("contacts", first[-1].cursor, CONTACT_FIELDS)

    assert [(r.key, r.deleted) for r in records] == [("51200000103", True), ("51200000111", True)]
    assert records[0].data["archived"] is True
    assert 0 <= sandbox.portal.now_ms() - parse_instant(records[0].data["archivedAt"]) < 60_000
    assert set(json.loads(checkpoints[-1].cursor)["archived"]["delivered"]) == {"51200000103", "51200000111"}
    assert sandbox.read("contacts", checkpoints[-1].cursor, CONTACT_FIELDS)[0] == []


def test_a_full_read_ends_with_the_deletes(sandbox: Sandbox) -> None:
    sandbox.portal.archive("deals", "9120000004")

    records, _ = sandbox.read("deals", None, ("properties.dealname",))

    assert [r.deleted for r in records] == [False] * 4 + [True]
    assert records[-1].key == "9120000004"


def test_deletes_off_skips_the_archived_list(sandbox: Sandbox) -> None:
    sandbox.portal.archive("deals", "9120000004")

    records, checkpoints = sandbox.read("deals", None, (), deletes=False)

    assert len(records) == 4 and not any(r.deleted for r in records)
    assert not any(r.query.get("archived") == ["True"] for r in sandbox.portal.requests)
    assert json.loads(checkpoints[-1].cursor)["archived"] == {
        "floor": None,
        "delivered": {},
        "after": None,
        "started": None,
    }


def test_seed_file_edits_are_read_incrementally(sandbox: Sandbox) -> None:
    _, first = sandbox.read("companies", None, ("properties.lifecyclestage",))
    companies = sandbox.seed("companies")
    companies[2]["properties"].update(lifecyclestage="customer", hs_lastmodifieddate="2026-05-04T08:00:00Z")
    companies[2]["updatedAt"] = "2026-05-04T08:00:00Z"
    sandbox.write("companies", companies)

    records, _ = sandbox.read("companies", first[-1].cursor, ("properties.lifecyclestage",))

    assert [(r.key, r.data["properties"]["lifecyclestage"]) for r in records] == [("18240501003", "customer")]


def test_an_empty_stream_still_ends_with_a_checkpoint(sandbox: Sandbox) -> None:
    records, checkpoints = sandbox.read("tickets", None, ("properties.subject",))

    assert records == []
    cursor = json.loads(checkpoints[0].cursor)
    assert (cursor["hs_lastmodifieddate"], cursor["window"]) == (None, {})
    assert cursor["archived"]["delivered"] == {} and cursor["archived"]["floor"] is not None


def test_unknown_properties_are_named(sandbox: Sandbox) -> None:
    with pytest.raises(SourceError) as caught:
        sandbox.read("companies", None, ("properties.domain", "properties.domian", "properties.Name"))

    assert "have no properties 'domian', 'Name'" in str(caught.value)


def test_a_field_outside_properties_is_a_configuration_error(sandbox: Sandbox) -> None:
    with pytest.raises(
        ConfigError, match=r"'domain' is not a field of HubSpot companies records.*'properties.domain'"
    ):
        sandbox.read("companies", None, ("domain",))


def test_an_unknown_object_type_is_named(sandbox: Sandbox) -> None:
    with pytest.raises(SourceError, match=r"no object type named 'widgets'.*Unable to infer object type"):
        sandbox.read("widgets", None, ())


def test_a_foreign_cursor_is_refused(sandbox: Sandbox) -> None:
    salesforce_cursor = '{"SystemModstamp": "2026-05-01T07:25:37+00:00", "ids": []}'

    with pytest.raises(SourceError, match="reset the stream's cursor"):
        sandbox.read("companies", salesforce_cursor, ())
