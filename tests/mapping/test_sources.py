"""Secondary mappings: the value a record finds its page by, and aggregates over many records."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from syncfw.errors import ConfigError
from syncfw.mapping import PropertyError, compile_mapping
from syncfw.mapping.spec import Aggregate, MatchSpec, TransformCall
from syncfw.recipe import load_recipe

from ..recipe.support import ENV, fake_registry, multi_source_files, write_files
from ..recipe.test_via import write as write_via_recipe
from .test_evaluate import compiled

DOMAIN = MatchSpec(property="Domain", field="organization.domain", transforms=(TransformCall(name="domain"),))
OPEN = "status in ['new', 'open', 'pending']"

TICKETS: list[dict[str, Any]] = [
    {"status": "open", "updated_at": "2026-05-01T09:00:00+02:00", "subject": "Printer", "minutes": 30},
    # later than the first ticket although "08:00" < "09:00": dates compare as instants
    {"status": "solved", "updated_at": "2026-05-01T08:00:00Z", "subject": "Login", "minutes": 12.5},
    {"status": "pending", "updated_at": "2026-04-30", "subject": None, "minutes": None},
    {"status": "new", "updated_at": None, "subject": "VPN"},
]


def stats(**aggregates: dict[str, Any]) -> Any:
    """An aggregating mapping matching on Domain; ``aggregate`` is given as a dict."""
    properties = {
        name: {**spec, "aggregate": Aggregate(**spec["aggregate"])} for name, spec in aggregates.items()
    }
    return compiled(DOMAIN, **properties)


TICKET_STATS = {
    "Open Tickets": {"type": "number", "aggregate": {"function": "count", "where": OPEN}},
    "Minutes": {"type": "number", "aggregate": {"function": "sum", "field": "minutes"}},
    "Shortest": {"type": "number", "aggregate": {"function": "min", "field": "minutes"}},
    "First Ticket": {"type": "date", "aggregate": {"function": "min", "field": "updated_at"}},
    "Last Ticket": {"type": "date", "aggregate": {"function": "max", "field": "updated_at"}},
    "Last Subject": {
        "type": "rich_text",
        "aggregate": {"function": "latest", "field": "subject", "by": "updated_at"},
    },
    "Last Open Subject": {
        "type": "rich_text",
        "aggregate": {"function": "latest", "field": "subject", "by": "updated_at", "where": OPEN},
    },
}


def test_match_value_is_the_normalised_value_of_the_match_property() -> None:
    mapping = compiled(DOMAIN, Stage={"type": "select", "field": "stage"})
    assert mapping.match_value({"organization": {"domain": "https://www.Edge.com/x"}}) == "edge.com"
    assert mapping.match_value({"organization": {"domain": "Ada@EDGE.com"}}) == "edge.com"
    assert mapping.match_value({"organization": {"domain": "  "}}) is None
    assert mapping.match_value({}) is None
    assert mapping.fields == ["organization.domain", "stage"]
    assert not mapping.is_aggregate

    with pytest.raises(
        ValueError, match=r"match on 'Domain': transform 'domain' failed: domain expects text"
    ):
        mapping.match_value({"organization": {"domain": {"name": "edge.com"}}})

    number = compiled(
        MatchSpec(property="Account Number", template="{{ prefix }}{{ number }}").typed("number")
    )
    assert number.match_value({"prefix": "00", "number": 42}) == 42
    with pytest.raises(ValueError, match=r"match on 'Account Number': 'A-42' is not a number"):
        number.match_value({"prefix": "A-", "number": 42})

    with pytest.raises(TypeError, match="creates pages"):
        compiled(Name={"type": "title", "field": "Name"}).match_value({"Name": "x"})


def test_aggregates_over_the_records_that_match_a_page() -> None:
    mapping = stats(**TICKET_STATS)
    members = [mapping.member(ticket) for ticket in TICKETS]

    assert members[0] == {
        "Open Tickets": True,
        "Minutes": 30,
        "Shortest": 30,
        "First Ticket": "2026-05-01T07:00:00.000+00:00",
        "Last Ticket": "2026-05-01T07:00:00.000+00:00",
        "Last Subject": ["2026-05-01T07:00:00.000+00:00", "Printer"],
        "Last Open Subject": ["2026-05-01T07:00:00.000+00:00", "Printer"],
    }
    # a solved ticket is not counted; a ticket without updated_at has no date and no latest
    assert "Open Tickets" not in members[1] and "Last Open Subject" not in members[1]
    assert set(members[3]) == {"Open Tickets"}

    expected = {
        "Open Tickets": 3,
        "Minutes": 42.5,
        "Shortest": 12.5,
        "First Ticket": "2026-04-30",
        "Last Ticket": "2026-05-01T08:00:00.000+00:00",
        "Last Subject": "Login",
        "Last Open Subject": "Printer",
    }
    assert mapping.aggregate(members) == (expected, [])
    # the engine stores members as JSON, in no particular order
    stored = json.loads(json.dumps(members[::-1]))
    assert stored == members[::-1]
    assert mapping.aggregate(stored) == (expected, [])
    assert mapping.is_aggregate and mapping.evaluate(TICKETS[0]) == ({}, [])


def test_aggregates_of_no_records_are_zero_or_empty_unless_a_default_is_given() -> None:
    mapping = stats(
        **TICKET_STATS,
        Status={
            "type": "select",
            "aggregate": {"function": "latest", "field": "status", "by": "updated_at"},
            "default": "No tickets",
        },
    )
    values, errors = mapping.aggregate([])
    assert errors == []
    assert values == {
        "Open Tickets": 0,
        "Minutes": 0,
        "Shortest": None,
        "First Ticket": None,
        "Last Ticket": None,
        "Last Subject": None,
        "Last Open Subject": None,
        "Status": "No tickets",
    }
    # members of records the aggregates ignore count as nothing
    assert mapping.aggregate([mapping.member({"status": "solved"})])[0] == values


def test_ties_and_mixed_dates_do_not_depend_on_record_order() -> None:
    mapping = stats(
        Subject={"type": "rich_text", "aggregate": {"function": "latest", "field": "subject", "by": "seq"}},
        Last={"type": "date", "aggregate": {"function": "max", "field": "at"}},
        First={"type": "date", "aggregate": {"function": "min", "field": "at"}},
    )
    records = [
        {"seq": 7, "subject": "B", "at": "2026-05-02"},
        {"seq": "7", "subject": "A", "at": "2026-05-01T23:00:00-05:00"},  # 2026-05-02T04:00Z
        {"seq": 3, "subject": "C", "at": "2026-05-02T00:00:00Z"},
    ]
    members = [mapping.member(record) for record in records]
    # 2026-05-02 is the same instant as 2026-05-02T00:00Z, and seq "7" the same as 7: ties are
    # broken by the value, never by the order the records come in
    expected = {"Subject": "B", "Last": "2026-05-02T04:00:00.000+00:00", "First": "2026-05-02"}
    assert mapping.aggregate(members) == (expected, [])
    assert mapping.aggregate(members[::-1]) == (expected, [])


def test_transforms_apply_to_each_record_before_aggregating() -> None:
    mapping = stats(
        Last={
            "type": "date",
            "aggregate": {"function": "max", "field": "updated_at"},
            "transforms": (TransformCall(name="date"),),
        },
        Hours={
            "type": "number",
            "aggregate": {"function": "sum", "field": "minutes"},
            "transforms": (TransformCall(name="float"),),
        },
    )
    members = [mapping.member({"updated_at": "2026-05-01T23:30:00-07:00", "minutes": "1.5"})]
    assert mapping.aggregate(members) == ({"Last": "2026-05-01", "Hours": 1.5}, [])


def test_a_record_that_cannot_be_aggregated_is_an_error_naming_the_property() -> None:
    mapping = stats(**TICKET_STATS)
    with pytest.raises(ValueError, match=r"^Minutes: 'lots' is not a number$"):
        mapping.member({"status": "open", "minutes": "lots"})
    with pytest.raises(ValueError, match=r"^First Ticket: 'yesterday' is not an ISO 8601 date"):
        mapping.member({"status": "open", "updated_at": "yesterday"})
    latest = stats(**{"Last Subject": TICKET_STATS["Last Subject"]})
    with pytest.raises(ValueError, match=r"^Last Subject: by updated_at: not a number or an ISO 8601 date"):
        latest.member({"subject": "Login", "updated_at": "yesterday"})

    strict = stats(Urgent={"type": "number", "aggregate": {"function": "count", "where": "priority > 3"}})
    with pytest.raises(
        ValueError, match=r"^Urgent: where 'priority > 3': expression failed: 'priority' is undefined"
    ):
        strict.member({})


def test_stored_members_that_no_longer_fit_are_reported_per_property() -> None:
    mapping = stats(**TICKET_STATS)
    stored = [{"Open Tickets": True, "Last Subject": "Login", "Last Ticket": "soon"}]
    values, errors = mapping.aggregate(stored)
    assert values["Open Tickets"] == 1 and "Last Subject" not in values and "Last Ticket" not in values
    assert [error.property for error in errors] == ["Last Ticket", "Last Subject"]
    assert errors[1] == PropertyError(
        "Last Subject", "cannot combine the records' values: a stored entry 'Login' is not a [by, value] pair"
    )


def test_where_is_sandboxed() -> None:
    with pytest.raises(ConfigError) as caught:
        stats(
            Open={"type": "number", "aggregate": {"function": "count", "where": "status.__class__.__mro__"}}
        )
    (problem,) = caught.value.problems
    assert (problem.file, problem.line, problem.path) == ("m.yaml", 6, "properties.Open")
    assert "expressions may not use attributes starting with '_'" in problem.message

    # a key chosen by the record itself cannot be checked in advance: the sandbox refuses it
    mapping = stats(Open={"type": "number", "aggregate": {"function": "count", "where": "status[key] == 1"}})
    with pytest.raises(ValueError, match="expression refused: access to attribute '__class__' of a str"):
        mapping.member({"status": "open", "key": "__class__"})


def test_fields_include_the_match_aggregate_fields_and_where() -> None:
    mapping = stats(
        Open={
            "type": "number",
            "aggregate": {"function": "count", "where": f"{OPEN} and via.channel == 'email'"},
        },
        Subject={
            "type": "rich_text",
            "aggregate": {"function": "latest", "field": "subject", "by": "updated_at"},
        },
    )
    assert mapping.fields == ["organization.domain", "status", "via.channel", "subject", "updated_at"]


def test_a_loaded_multi_source_recipe_compiles_and_aggregates(tmp_path: Path) -> None:
    write_files(tmp_path, multi_source_files())
    registry = fake_registry()
    recipe = load_recipe(tmp_path / "recipe.yaml", registry=registry, environ=ENV)
    _, hubspot, zendesk, opportunities = recipe.targets["accounts"].mappings

    companies = compile_mapping(hubspot, registry.transforms)
    company = {"properties": {"domain": "www.Edge.com", "lifecyclestage": "customer"}}
    assert companies.match_value(company) == "edge.com"
    assert companies.evaluate(company) == ({"Lifecycle Stage": "customer"}, [])

    tickets = compile_mapping(zendesk, registry.transforms)
    assert tickets.fields == ["organization.domain", "status", "updated_at", "subject"]
    members = [tickets.member({**ticket, "organization": {"domain": "edge.com"}}) for ticket in TICKETS]
    values, _ = tickets.aggregate(members)
    assert values == {
        "Open Tickets": 3,
        "Last Ticket": "2026-05-01T08:00:00.000+00:00",
        "Last Subject": "Login",
    }

    pipeline = compile_mapping(opportunities, registry.transforms)
    assert pipeline.match_value({"AccountId": "001A"}) == "001A"
    assert pipeline.aggregate([]) == ({"Pipeline": 0}, [])
    deals = [{"Amount": 1000, "IsClosed": False}, {"Amount": 500, "IsClosed": True}, {"Amount": 250.5}]
    assert pipeline.aggregate([pipeline.member(deal) for deal in deals]) == ({"Pipeline": 1250.5}, [])


VIA = MatchSpec(via="zendesk-organization", field="organization_id")


def test_match_via_gives_the_record_key_of_the_followed_mapping_as_a_string() -> None:
    mapping = compiled(VIA, Subject={"type": "rich_text", "field": "subject"})
    for key in (123, "123", 123.0, " 123 ", Decimal("123.00")):
        assert mapping.match_value({"organization_id": key}) == "123"
    assert mapping.match_value({"organization_id": 12.5}) == "12.5"
    assert mapping.match_value({"organization_id": "ORG-7"}) == "ORG-7"
    for empty in (None, "", "  "):
        assert mapping.match_value({"organization_id": empty}) is None
    assert mapping.match_value({}) is None
    assert mapping.fields == ["organization_id", "subject"]

    with pytest.raises(
        ValueError, match=r"^match via 'zendesk-organization': expected a record key, got list"
    ):
        mapping.match_value({"organization_id": [1, 2]})
    with pytest.raises(
        ValueError, match=r"^match via 'zendesk-organization': expected a record key, got bool"
    ):
        mapping.match_value({"organization_id": True})
    with pytest.raises(ValueError, match=r"expected a record key, got the number nan"):
        mapping.match_value({"organization_id": float("nan")})

    # a template and transforms make the key like any match value
    upper = MatchSpec(via="orgs", template="{{ org.id }}", transforms=(TransformCall(name="upper"),))
    assert compiled(upper).match_value({"org": {"id": "ab7"}}) == "AB7"


def test_a_match_has_exactly_one_of_property_and_via() -> None:
    with pytest.raises(ValueError, match=r"exactly one of property .* or via"):
        MatchSpec(property="Domain", via="zendesk-organization")
    with pytest.raises(ValueError, match=r"exactly one of property .* or via"):
        MatchSpec(field="id")


def test_relation_keys_are_normalised_like_record_keys() -> None:
    mapping = compiled(
        Account={
            "type": "relation",
            "target": "accounts",
            "field": "organization_id",
            "via": "zendesk-organization",
        },
        Followers={"type": "relation", "target": "users", "field": "follower_ids"},
    )
    values, errors = mapping.evaluate(
        {"organization_id": 123.0, "follower_ids": [7, "7", 7.0, 8.5, None, " "]}
    )
    assert values == {"Account": ("123",), "Followers": ("7", "8.5")}
    assert errors == []
    _, errors = mapping.evaluate({"organization_id": {"id": 1}})
    assert errors == [PropertyError("Account", "expected a record key, got dict {'id': 1}")]


def test_a_loaded_recipe_matching_via_a_mapping_compiles(tmp_path: Path) -> None:
    registry = fake_registry()
    recipe = load_recipe(write_via_recipe(tmp_path), registry=registry, environ=ENV)
    stats = compile_mapping(recipe.targets["accounts"].mappings[2], registry.transforms)
    assert stats.is_aggregate and stats.fields == ["organization_id", "status"]
    assert stats.match_value({"organization_id": 360001234567, "status": "open"}) == "360001234567"
    assert stats.member({"organization_id": 1, "status": "open"}) == {"Open Tickets": True}

    ticket = compile_mapping(recipe.targets["tickets"].mappings[0], registry.transforms)
    values, errors = ticket.evaluate({"id": 9, "subject": "VPN", "organization_id": 360001234567.0})
    assert values == {"Subject": "VPN", "Ticket ID": "9", "Account": ("360001234567",)} and errors == []
