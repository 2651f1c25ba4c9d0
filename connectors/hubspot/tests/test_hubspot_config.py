"""Configuration, cursors, field plans, datetimes, pacing, the transform and plugin registration."""

from __future__ import annotations

from datetime import timedelta
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from syncfw_hubspot import HubSpotConfig, HubSpotConnector
from syncfw_hubspot.datetimes import format_instant, parse_instant
from syncfw_hubspot.emulator import HubSpotEmulator
from syncfw_hubspot.incremental import (
    ArchivedSweep,
    HubSpotCursor,
    LookBack,
    Watermark,
    modified_property,
    plan_read,
)
from syncfw_hubspot.ratelimit import AccountWindow, RateLimitHeaders
from syncfw_hubspot.transforms import hubspot_ids

from syncfw import ConfigError
from syncfw.plugins import load_plugins

TOKEN = "pat-na1-secret-token"


def test_a_token_alone_is_a_complete_config() -> None:
    config = HubSpotConfig(access_token=TOKEN)

    assert config.host == "https://api.hubapi.com"
    assert (config.page_size, config.requests_per_10_seconds, config.deletes) == (200, 100, True)
    assert (config.lookback, config.archived_pages_per_read) == (timedelta(minutes=5), 10)
    assert HubSpotConfig(access_token=TOKEN, lookback="90s").lookback == timedelta(seconds=90)
    assert TOKEN not in repr(config) and TOKEN not in config.model_dump_json()


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({}, "access_token"),
        ({"access_token": " "}, "the access token is empty"),
        ({"access_token": TOKEN, "api_key": "x"}, "Extra inputs are not permitted"),
        ({"access_token": TOKEN, "host": "api.hubapi.com"}, "expected a URL such as"),
        ({"access_token": TOKEN, "host": "http://api.hubapi.com"}, "plain http is only allowed for a local"),
        ({"access_token": TOKEN, "host": "https://api.hubapi.com/crm/v3"}, "without a path"),
        ({"access_token": TOKEN, "page_size": 201}, "less than or equal to 200"),
        ({"access_token": TOKEN, "associations": {"contacts": ["com panies"]}}, "not a HubSpot object type"),
        ({"access_token": TOKEN, "lookback": "5 minutes"}, "write a duration such as 30m"),
        ({"access_token": TOKEN, "lookback": timedelta(minutes=-1)}, "the look-back cannot be negative"),
        ({"access_token": TOKEN, "archived_pages_per_read": 0}, "greater than or equal to 1"),
    ],
)
def test_bad_configs_are_refused_with_the_reason(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message) as caught:
        HubSpotConfig(**fields)

    assert TOKEN not in str(caught.value)


def test_a_local_emulator_may_use_plain_http_and_trailing_slashes_go() -> None:
    assert HubSpotConfig(access_token=TOKEN, host="http://127.0.0.1:8100/").host == "http://127.0.0.1:8100"


def test_contacts_are_read_by_lastmodifieddate_others_by_hs_lastmodifieddate() -> None:
    assert modified_property("contacts") == modified_property("0-1") == "lastmodifieddate"
    assert modified_property("companies") == modified_property("2-123456") == "hs_lastmodifieddate"


def test_a_read_plan_asks_for_the_properties_and_associations_in_the_paths() -> None:
    plan = plan_read(
        "contacts",
        ["id", "properties.email", "properties.email", "associations.companies.results", "url"],
        ["deals"],
    )

    assert plan.properties == ("lastmodifieddate", "email")
    assert plan.associations == ("deals", "companies")


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("email", r"'email' is not a field of HubSpot contacts records.*'properties.email'"),
        ("properties.e mail", "'e mail' is not a HubSpot property name"),
        ("associations.com panies", "not a HubSpot object type"),
    ],
)
def test_paths_that_name_nothing_are_configuration_errors(path: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        plan_read("contacts", [path])


def test_cursors_round_trip_and_name_their_property() -> None:
    cursor = HubSpotCursor(
        LookBack(
            300_000, parse_instant("2026-05-01T07:25:37.861Z"), {"2": (1777620337861, "ab"), "1": (1, "cd")}
        ),
        ArchivedSweep(parse_instant("2026-05-02T00:00:00Z"), {"9": 1777680000000}, "1200", None),
    )

    encoded = cursor.encode("hs_lastmodifieddate")

    assert encoded == (
        '{"hs_lastmodifieddate":"2026-05-01T07:25:37.861Z","window":{"2":[1777620337861,"ab"]},'
        '"archived":{"floor":"2026-05-02T00:00:00.000Z","delivered":{"9":1777680000000},'
        '"after":"1200","started":null}}'
    )  # record 1 is older than the look-back window: dropped
    decoded = HubSpotCursor.decode(encoded, "hs_lastmodifieddate", 300_000)
    assert decoded.encode("hs_lastmodifieddate") == encoded
    assert decoded.modified.delivered("2", "ab") and not decoded.modified.delivered("2", "ef")
    assert HubSpotCursor.decode(None, "lastmodifieddate", 0).modified.newest is None
    with pytest.raises(ValueError, match="not a HubSpot cursor for lastmodifieddate"):
        HubSpotCursor.decode(encoded, "lastmodifieddate", 0)  # a companies cursor given to contacts


def test_cursors_of_the_earlier_version_resume_from_their_instants() -> None:
    old = (
        '{"hs_lastmodifieddate":"2026-05-01T07:25:37.861Z","ids":["1","2"],'
        '"archivedAt":"2026-05-02T00:00:00.000Z","archived_ids":["9"]}'
    )

    cursor = HubSpotCursor.decode(old, "hs_lastmodifieddate", 1000)

    assert cursor.modified.lower == parse_instant("2026-05-01T07:25:36.861Z")
    archived_at = parse_instant("2026-05-02T00:00:00Z")
    assert not cursor.archived.fresh("9", archived_at) and not cursor.archived.fresh("8", archived_at - 1)
    assert cursor.archived.fresh("8", archived_at) and cursor.archived.fresh("9", archived_at + 1)


@pytest.mark.parametrize(
    "cursor",
    [
        "not json",
        '{"hs_lastmodifieddate": null, "ids": ["1"], "archivedAt": null, "archived_ids": []}',
        '{"hs_lastmodifieddate": "2026-05-01T07:25:37", "ids": [], "archivedAt": null, "archived_ids": []}',
        '{"hs_lastmodifieddate": "2026-05-01T07:25:37Z", "ids": [1], "archivedAt": null, "archived_ids": []}',
        '{"hs_lastmodifieddate": "2026-05-01T07:25:37Z", "window": {"1": [1]}, "archived": {}}',
        '{"hs_lastmodifieddate": "2026-05-01T07:25:37Z", "window": [], "archived": {}}',
        '{"hs_lastmodifieddate": 5, "window": {}, "archived": {"floor": null, "delivered": {}, '
        '"after": null, "started": null}}',
        '{"hs_lastmodifieddate": null, "window": {}, "archived": {"floor": null, "delivered": [], '
        '"after": null, "started": null}}',
    ],
)
def test_damaged_cursors_are_refused(cursor: str) -> None:
    with pytest.raises(ValueError):
        HubSpotCursor.decode(cursor, "hs_lastmodifieddate", 300_000)


def test_a_watermark_skips_only_what_it_delivered() -> None:
    mark = Watermark(1000, frozenset({"a"}))

    assert mark.delivered("a", 1000) and mark.delivered("z", 999)
    assert not mark.delivered("b", 1000) and not mark.delivered("a", 1001)
    assert mark.advanced("b", 1000) == Watermark(1000, frozenset({"a", "b"}))
    assert mark.advanced("c", 1001) == Watermark(1001, frozenset({"c"}))


@pytest.mark.parametrize(
    ("text", "epoch_ms"),
    [
        ("2026-05-01T07:25:37.861Z", 1777620337861),
        ("2026-05-01T07:25:37Z", 1777620337000),
        ("2026-05-01T09:25:37.861+02:00", 1777620337861),
        ("1777620337861", 1777620337861),
    ],
)
def test_hubspot_datetimes_become_epoch_milliseconds(text: str, epoch_ms: int) -> None:
    assert parse_instant(text) == epoch_ms
    assert format_instant(epoch_ms) == "2026-05-01T07:25:37." + f"{epoch_ms % 1000:03d}Z"


@pytest.mark.parametrize("value", [None, "", "yesterday", "2026-05-01T07:25:37", True])
def test_values_that_are_not_hubspot_datetimes_are_refused(value: Any) -> None:
    with pytest.raises(ValueError):
        parse_instant(value)


def test_hubspots_smaller_window_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYNCFW_BUDGET_DIR", str(tmp_path))
    window = AccountWindow("hubspot", "https://api.hubapi.com", TOKEN, 100, 10.0)
    window.adopt(50, 10.0)
    window.adopt(190, 1.0)

    assert (window.limit, window.interval) == (50, 10.0)
    assert not any(TOKEN in path.name for path in tmp_path.iterdir())  # the budget names a digest


def test_rate_limit_headers_are_read_in_any_case() -> None:
    headers = RateLimitHeaders.parse(
        {
            "X-HubSpot-RateLimit-Max": "190",
            "x-hubspot-ratelimit-remaining": "0",
            "X-HUBSPOT-RATELIMIT-INTERVAL-MILLISECONDS": "10000",
            "X-HubSpot-RateLimit-Daily": "oops",
        }
    )

    assert headers == RateLimitHeaders(max=190, remaining=0, interval_seconds=10.0)


def test_hubspot_ids_gives_unique_ids_optionally_of_one_type() -> None:
    results = [
        {"id": "1", "type": "contact_to_company"},
        {"id": "1", "type": "contact_to_company_unlabeled"},
        {"id": "2", "type": "contact_to_company_unlabeled"},
    ]

    assert hubspot_ids(results) == ["1", "2"]
    assert hubspot_ids({"results": results}, "contact_to_company") == ["1"]
    assert hubspot_ids(None) is None
    with pytest.raises(ValueError, match="expected HubSpot associations"):
        hubspot_ids(["1", "2"])


def test_the_plugin_registers_connector_emulator_and_transform() -> None:
    (entry,) = [e for e in entry_points(group="syncfw") if e.name == "hubspot"]
    registry = load_plugins()

    assert entry.value == "syncfw_hubspot.plugin"
    assert registry.connectors["hubspot"] is HubSpotConnector
    assert registry.emulators["hubspot"] is HubSpotEmulator
    assert registry.transforms["hubspot_ids"] is hubspot_ids
