"""Notion values: encoded within Notion's limits, and decode(what the Notion emulator stores) == normalize(value)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from syncfw.emulation import ServedApp
from syncfw.errors import NotionRejected
from syncfw.mapping import PROPERTY_TYPES, PropertyValueError, decode, encode, normalize, schema_config
from syncfw.notion.budget import RateBudget
from syncfw.notion.client import PAYLOAD_LIMIT, NotionClient, body_size
from syncfw.sandbox.notion import NotionEmulator
from tests.sandbox.notion_helpers import TOKEN

Notion = tuple[NotionClient, str, str, list[str]]
RELATED_PAGES = 110
"""Pages a relation can point to: more than the 100 a write accepts and the 25 a page object lists."""


@pytest.fixture(scope="module")
def notion() -> Iterator[Notion]:
    """The Notion emulator over HTTP: (client, page id, data source id, related page ids).

    The data source holds one property of every type, named after its type; its relation points
    at a second data source holding RELATED_PAGES pages."""
    emulator = NotionEmulator(None, token=TOKEN)
    server = ServedApp(emulator.app)
    client = NotionClient(SecretStr(TOKEN), RateBudget(1000.0, burst=100), base_url=server.url)
    related = client.create_database(emulator.parent_page_id, "Related", {"Name": schema_config("title")})
    related_ds = str(related["data_sources"][0]["id"])
    related_ids = [str(client.create_page(related_ds, {})["id"]) for _ in range(RELATED_PAGES)]
    schema = {
        t: schema_config(t, data_source_id=related_ds if t == "relation" else None) for t in PROPERTY_TYPES
    }
    ds = str(client.create_database(emulator.parent_page_id, "Every type", schema)["data_sources"][0]["id"])
    page_id = str(client.create_page(ds, {})["id"])
    yield client, page_id, ds, related_ids
    client.close()
    server.stop()
    emulator.close()


def round_trip(notion: Notion, prop_type: str, value: Any) -> Any:
    """Write ``encode(value)`` to the page and decode what reading the page back gives."""
    client, page_id, ds, _ = notion
    client.update_page(page_id, properties={prop_type: encode(prop_type, value)[0]}, data_source_id=ds)
    return decode(prop_type, client.retrieve_page(page_id)["properties"][prop_type])


def test_a_value_over_notions_body_limit_passes_encode_and_notion_refuses_it(notion: Notion) -> None:
    """Encoding checks one value's limits (2,000 UTF-16 units per text object, 100 objects), not the
    request's size: 200,000 CJK characters fit those limits, but their body is over Notion's 500 KB
    and Notion refuses it. The apply step measures each request's body first and quarantines such a
    property (``Oversize`` in syncfw/engine/apply.py); this is the emulator's half of that rule."""
    text = "漢" * 200_000
    assert normalize("rich_text", text) == text
    assert encode("rich_text", text)[1] == []
    with pytest.raises(NotionRejected, match="too large"):
        round_trip(notion, "rich_text", text)


def test_long_rich_text_is_split_into_2000_character_objects(notion: Notion) -> None:
    text = "a" * 4500
    request, warnings = encode("rich_text", text)
    assert [len(item["text"]["content"]) for item in request["rich_text"]] == [2000, 2000, 500]
    assert warnings == []
    assert round_trip(notion, "rich_text", text) == text


def test_splits_count_utf16_units_and_never_cut_a_character() -> None:
    text = "😀" * 1500  # 3000 UTF-16 units
    request, _ = encode("title", text)
    pieces = [item["text"]["content"] for item in request["title"]]
    assert all(len(p.encode("utf-16-le")) // 2 <= 2000 for p in pieces)
    assert "".join(pieces) == text


def test_text_past_100_objects_is_truncated_with_a_warning_and_normalize_agrees(notion: Notion) -> None:
    text = "x" * 250_000
    request, warnings = encode("rich_text", text)
    assert len(request["rich_text"]) == 100
    assert warnings == [
        "text of 250000 characters truncated to 200000 (Notion accepts 100 text objects of 2000 characters)"
    ]
    assert normalize("rich_text", text) == "x" * 200_000 == round_trip(notion, "rich_text", text)


def test_empty_text_is_none_and_clears_the_property() -> None:
    assert encode("title", "") == ({"title": []}, [])
    assert normalize("rich_text", "") is None
    assert decode("rich_text", {"id": "x", "type": "rich_text", "rich_text": []}) is None


def test_select_names_lose_commas_and_long_names_are_refused() -> None:
    assert encode("select", " Acme, Inc. ") == ({"select": {"name": "Acme Inc."}}, [])
    assert encode("status", None) == ({"status": None}, [])
    with pytest.raises(PropertyValueError, match="at most 100"):
        encode("select", "y" * 101)


def test_multi_select_keeps_order_drops_duplicates_and_caps_at_100() -> None:
    assert normalize("multi_select", ["b", "a,", "b", "", None, "a"]) == ("b", "a")
    request, warnings = encode("multi_select", [f"tag{i}" for i in range(120)])
    assert len(request["multi_select"]) == 100
    assert warnings == ["120 options; Notion accepts 100, the last 20 were dropped"]


def test_relations_cap_at_100_and_page_ids_are_compared_dashed() -> None:
    ids = [f"{i:032x}" for i in range(101)]
    request, warnings = encode("relation", ids)
    assert len(request["relation"]) == 100 and warnings == [
        "101 related pages; Notion accepts 100, the last 1 were dropped"
    ]
    assert request["relation"][1] == {"id": "00000000-0000-0000-0000-000000000001"}
    assert normalize("relation", ["ABCDEF00000000000000000000000001"]) == (
        "abcdef00-0000-0000-0000-000000000001",
    )


@pytest.mark.parametrize(
    ("value", "canonical"),
    [
        (float("nan"), None),
        (float("inf"), None),
        ("42", 42),
        (" 1e3 ", 1000),
        (Decimal("2.50"), 2.5),
        (3.0, 3),
        (2**60 + 1, 2**60),
        ("", None),
    ],
)
def test_numbers(notion: Notion, value: Any, canonical: Any) -> None:
    assert normalize("number", value) == canonical
    assert round_trip(notion, "number", value) == canonical


def test_numbers_reject_booleans_and_words() -> None:
    for value in (True, "twelve", [1]):
        with pytest.raises(PropertyValueError):
            normalize("number", value)
    assert normalize("number", 1) == normalize("number", 1.0)


@pytest.mark.parametrize(
    ("value", "canonical"),
    [
        ("2026-05-01T07:25:37.000+0000", "2026-05-01T07:25:37.000+00:00"),  # Salesforce
        ("2026-05-01T09:25:37.123456+02:00", "2026-05-01T07:25:37.123+00:00"),
        ("2026-05-01T07:25:37Z", "2026-05-01T07:25:37.000+00:00"),
        (
            datetime(2026, 5, 1, 3, 25, 37, tzinfo=timezone(timedelta(hours=-4))),
            "2026-05-01T07:25:37.000+00:00",
        ),
        ("2026-05-01", "2026-05-01"),
        (date(2026, 5, 1), "2026-05-01"),
    ],
)
def test_dates_are_iso_8601_in_utc(value: Any, canonical: str) -> None:
    assert normalize("date", value) == canonical
    assert encode("date", value)[0] == {"date": {"start": canonical, "end": None, "time_zone": None}}


def test_naive_date_times_and_garbage_are_refused() -> None:
    for value in ("2026-05-01T07:25:37", datetime(2026, 5, 1, 7), "May 1st"):
        with pytest.raises(PropertyValueError):
            normalize("date", value)


def test_decoding_dates_with_a_time_zone_or_a_range() -> None:
    zoned = {"start": "2026-05-01T09:25:37.000", "end": None, "time_zone": "Europe/Paris"}
    assert decode("date", {"type": "date", "date": zoned}) == "2026-05-01T07:25:37.000+00:00"
    ranged = {"start": "2026-05-01", "end": "2026-05-03", "time_zone": None}
    assert decode("date", {"type": "date", "date": ranged}) != normalize("date", "2026-05-01")


def test_strings_with_limits() -> None:
    assert normalize("email", " ada@example.com ") == "ada@example.com"
    assert normalize("phone_number", 4155550100) == "4155550100"
    with pytest.raises(PropertyValueError, match="at most 2000"):
        encode("url", "https://example.com/" + "a" * 2000)
    with pytest.raises(PropertyValueError, match="at most 200"):
        encode("email", "a" * 195 + "@x.com")


def test_checkbox_none_is_false() -> None:
    assert encode("checkbox", None) == ({"checkbox": False}, [])
    assert normalize("checkbox", "yes") is True
    with pytest.raises(PropertyValueError):
        normalize("checkbox", "maybe")


def test_decode_reads_response_value_objects() -> None:
    select = {"id": "%3AUPp", "type": "select", "select": {"id": "1", "name": "Tech", "color": "red"}}
    assert decode("select", select) == "Tech"
    title = {
        "id": "title",
        "type": "title",
        "title": [{"plain_text": "Acme "}, {"type": "mention", "plain_text": "@Ada"}],
    }
    assert decode("title", title) == "Acme @Ada"
    with pytest.raises(PropertyValueError, match="is a number property, not select"):
        decode("select", {"id": "x", "type": "number", "number": 3})


def test_schema_config() -> None:
    assert schema_config("rich_text") == {"rich_text": {}}
    assert schema_config("number") == {"number": {"format": "number"}}
    assert schema_config("relation", data_source_id="ds") == {
        "relation": {"data_source_id": "ds", "type": "single_property", "single_property": {}}
    }
    with pytest.raises(ValueError, match="unsupported property type"):
        schema_config("people")


texts = st.one_of(
    st.none(),
    st.text(),
    st.integers(),
    st.builds(lambda s, n: s * n, st.text(min_size=1, max_size=3), st.integers(600, 80_000)),
)
names = st.text(max_size=100)
zones = st.builds(timezone, st.integers(-14 * 60, 14 * 60).map(lambda m: timedelta(minutes=m)))
moments = st.datetimes(min_value=datetime(1900, 1, 2), max_value=datetime(2200, 1, 1), timezones=zones)
VALUES: dict[str, st.SearchStrategy[Any]] = {
    "title": texts,
    "rich_text": texts,
    "number": st.one_of(
        st.none(),
        st.integers(-(2**70), 2**70),
        st.floats(allow_nan=True, allow_infinity=True),
        st.floats(allow_nan=False).map(repr),
        st.decimals(allow_nan=False, allow_infinity=False, places=4),
    ),
    "select": st.one_of(st.none(), names),
    # a status value must name an existing option; the API cannot create one (Notion's "Update
    # page properties": "Invalid status option"); a new status property has these three
    "status": st.one_of(st.none(), st.sampled_from(["Not started", "In progress", "Done"])),
    "multi_select": st.lists(names, max_size=130),
    "date": st.one_of(st.none(), st.dates(), moments, moments.map(datetime.isoformat)),
    "checkbox": st.one_of(st.none(), st.booleans()),
    "url": st.one_of(st.none(), st.text(max_size=2000)),
    "email": st.one_of(st.none(), st.text(max_size=200)),
    "phone_number": st.one_of(st.none(), st.text(max_size=200)),
    # Notion refuses relations to pages that do not exist: a relation is drawn as indexes into the
    # related pages of the ``notion`` fixture, each to be written undashed (True) or dashed
    "relation": st.lists(st.tuples(st.integers(0, RELATED_PAGES - 1), st.booleans()), max_size=130),
}


def test_every_type_has_a_round_trip_strategy() -> None:
    assert set(VALUES) == set(PROPERTY_TYPES)


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_decoding_what_encode_wrote_gives_normalize(notion: Notion, data: st.DataObject) -> None:
    prop_type = data.draw(st.sampled_from(PROPERTY_TYPES))
    value = data.draw(VALUES[prop_type])
    if prop_type == "relation":
        value = [notion[3][i].replace("-", "") if undashed else notion[3][i] for i, undashed in value]
    try:
        expected = normalize(prop_type, value)
    except PropertyValueError:
        with pytest.raises(PropertyValueError):
            encode(prop_type, value)
        return
    request = encode(prop_type, value)[0]
    sent = request[prop_type]
    if isinstance(sent, list):  # Notion's request limits: 100 items, 2000 UTF-16 units of text each
        assert len(sent) <= 100
        assert all(
            len(item["text"]["content"].encode("utf-16-le")) <= 4000 for item in sent if "text" in item
        )
    if body_size({"properties": request}) > PAYLOAD_LIMIT:
        # encode keeps Notion's per-object limits but not its 500KB body limit: 200,000 characters
        # of 3-byte UTF-8 (e.g. CJK) are 600KB, which Notion refuses (the engine quarantines it)
        with pytest.raises(NotionRejected, match="too large"):
            round_trip(notion, prop_type, value)
        return
    decoded = round_trip(notion, prop_type, value)
    assert decoded == expected
    assert normalize(prop_type, expected) == expected  # idempotent
    if isinstance(expected, float):
        assert math.isfinite(expected)


def test_utc_is_the_reference_for_datetimes() -> None:
    moment = datetime(2026, 1, 1, tzinfo=UTC)
    assert normalize("date", moment) == "2026-01-01T00:00:00.000+00:00"
