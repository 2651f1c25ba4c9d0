"""Configuration, cursors, datetimes and plugin registration of the Salesforce connector."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from importlib.metadata import entry_points
from typing import Any

import pluggy
import pytest
from pydantic import ValidationError
from syncfw_salesforce import SalesforceConfig, SalesforceConnector
from syncfw_salesforce.datetimes import format_datetime, parse_datetime, soql_datetime_literal
from syncfw_salesforce.emulator import SalesforceEmulator
from syncfw_salesforce.incremental import CursorBuilder, ModstampCursor, incremental_soql

from syncfw import ConfigError, SourceError, hookspecs

SESSION = {"session_id": "00Dsecret-session", "instance_url": "https://acme.my.salesforce.com"}
PASSWORD = {"username": "ada@example.com", "password": "pw-secret", "security_token": "tok-secret"}
JWT = {"username": "ada@example.com", "consumer_key": "3MVG9", "private_key_file": "/keys/server.key"}


@pytest.mark.parametrize(("fields", "mode"), [(SESSION, "session"), (PASSWORD, "password"), (JWT, "jwt")])
def test_each_auth_mode_is_accepted(fields: dict[str, Any], mode: str) -> None:
    assert SalesforceConfig(**fields).auth_mode == mode


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({}, "no credentials given: choose one way to authenticate"),
        ({**SESSION, **PASSWORD}, "more than one way to authenticate"),
        ({"username": "ada@example.com", "password": "pw"}, "also needs: security_token"),
        ({"session_id": "x"}, "also needs: instance_url"),
        ({**SESSION, "username": "ada"}, "username is not used with session_id"),
        ({**SESSION, "instance_url": "http://acme.my.salesforce.com"}, "expected an https URL"),
        ({**PASSWORD, "domain": "acme.my.salesforce.com"}, "without '.salesforce.com' (use 'acme.my')"),
        ({**SESSION, "batch_size": 100}, "greater than or equal to 200"),
        ({**SESSION, "batch_size": 5000}, "less than or equal to 2000"),
        ({**SESSION, "api_version": "v59"}, "api_version"),
        ({**SESSION, "token": "x"}, "Extra inputs are not permitted"),
    ],
)
def test_invalid_config_is_refused_clearly(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=re.escape(message)):
        SalesforceConfig(**fields)


def test_secrets_stay_hidden() -> None:
    config = SalesforceConfig(**PASSWORD)

    shown = f"{config!r} {config} {config.model_dump()}"
    assert "pw-secret" not in shown and "tok-secret" not in shown


def test_missing_private_key_is_a_config_error(tmp_path: Any) -> None:
    connector = SalesforceConnector(
        SalesforceConfig(**{**JWT, "private_key_file": str(tmp_path / "none.key")})
    )

    with pytest.raises(ConfigError, match=r"none\.key' does not exist"):
        connector.check()


@pytest.mark.parametrize(
    "text",
    [
        "2026-05-01T07:25:37.000+0000",
        "2026-05-01T07:25:37.000Z",
        "2026-05-01T07:25:37Z",
        "2026-05-01T09:25:37+02:00",
    ],
)
def test_salesforce_datetimes_parse_timezone_aware(text: str) -> None:
    assert parse_datetime(text) == datetime(2026, 5, 1, 7, 25, 37, tzinfo=UTC)


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="no time zone"):
        parse_datetime("2026-05-01T07:25:37")
    with pytest.raises(ValueError, match="timezone-aware"):
        soql_datetime_literal(datetime(2026, 5, 1))


def test_datetime_formats() -> None:
    moment = datetime(2026, 5, 1, 9, 25, 37, 456789, tzinfo=timezone(timedelta(hours=2)))

    assert format_datetime(moment) == "2026-05-01T07:25:37.456+0000"
    assert soql_datetime_literal(moment) == "2026-05-01T07:25:37Z"


def test_incremental_soql() -> None:
    since = datetime(2026, 5, 1, 7, 25, 37, 500000, tzinfo=UTC)

    assert incremental_soql("Account", ["Name", "Owner.Name", "id", "name"], since) == (
        "SELECT Id, SystemModstamp, IsDeleted, Name, Owner.Name FROM Account "
        "WHERE SystemModstamp >= 2026-05-01T07:25:37Z ORDER BY SystemModstamp ASC, Id ASC"
    )
    assert incremental_soql("User", ["Name"], None, deletable=False) == (
        "SELECT Id, SystemModstamp, Name FROM User ORDER BY SystemModstamp ASC, Id ASC"
    )


@pytest.mark.parametrize(
    ("stream", "fields"), [("Account; DELETE", ["Name"]), ("Account", ["Name FROM User"])]
)
def test_names_that_are_not_soql_identifiers_are_refused(stream: str, fields: list[str]) -> None:
    with pytest.raises(ConfigError, match="is not a Salesforce"):
        incremental_soql(stream, fields, None)


def test_cursor_round_trip_and_delivered() -> None:
    stamp = datetime(2026, 5, 1, 7, 25, 37, 500000, tzinfo=UTC)
    earlier = stamp - timedelta(minutes=3)
    recent = {"001A": (stamp, "d1"), "001B": (stamp, "d2"), "001E": (earlier, "d5")}
    cursor = ModstampCursor.decode(ModstampCursor(stamp, recent).encode())
    window = timedelta(minutes=10)

    assert cursor == ModstampCursor(stamp, recent)
    assert cursor.since(window) == stamp - window
    assert cursor.delivered("001A", stamp, "d1", window)
    assert cursor.delivered("001E", earlier, "d5", window)  # inside the window, unchanged
    assert not cursor.delivered("001A", stamp, "d9", window)  # changed again within the same stamp
    assert not cursor.delivered("001C", stamp, "d1", window)  # same stamp, not delivered yet
    assert not cursor.delivered("001D", earlier, "dx", window)  # committed late, inside the window
    assert cursor.delivered("001D", stamp - timedelta(minutes=11), "dx", window)  # before the window
    assert cursor.delivered("001D", earlier, "dx", timedelta(0))  # no look-back: before the cursor
    assert not cursor.delivered("001A", stamp + timedelta(milliseconds=1), "d1", window)  # changed since
    assert ModstampCursor.decode(None) == ModstampCursor()
    assert ModstampCursor().since(window) is None


def test_cursor_keeps_only_the_records_inside_the_window() -> None:
    stamp = datetime(2026, 5, 1, 7, 25, 37, tzinfo=UTC)
    builder = CursorBuilder(ModstampCursor(), timedelta(minutes=10))
    for minute, record_id in enumerate(["001A", "001B", "001C"]):
        builder.add(record_id, stamp + timedelta(minutes=6 * minute), f"d{minute}")

    cursor = builder.cursor()

    assert cursor.modstamp == stamp + timedelta(minutes=12)
    assert sorted(cursor.recent) == ["001B", "001C"]  # 001A is 12 minutes older than the newest


def test_cursors_written_before_the_look_back_still_read() -> None:
    stamp = datetime(2026, 5, 1, 7, 25, 37, 500000, tzinfo=UTC)
    window = timedelta(minutes=10)
    with_digests = ModstampCursor.decode(
        '{"SystemModstamp": "2026-05-01T07:25:37.500000+00:00", "ids": {"001A": "d1"}}'
    )
    assert with_digests == ModstampCursor(stamp, {"001A": (stamp, "d1")})
    assert with_digests.delivered("001A", stamp, "d1", window)
    legacy = ModstampCursor.decode('{"SystemModstamp": "2026-05-01T07:25:37.500000+00:00", "ids": ["001A"]}')
    assert not legacy.delivered("001A", stamp, "d1", window)  # an old cursor delivers its boundary once more


@pytest.mark.parametrize(
    "text",
    [
        "",
        "{}",
        '{"SystemModstamp": "2026-05-01T07:25:37", "ids": []}',
        '"x"',
        '{"SystemModstamp": null, "ids": 5}',
        '{"SystemModstamp": null, "ids": ["001A"]}',
        '{"SystemModstamp": null, "recent": {"2026-05-01T07:25:37": {"001A": "d1"}}}',
        '{"SystemModstamp": null, "recent": {"2026-05-01T07:25:37+00:00": {"001A": 5}}}',
    ],
)
def test_foreign_cursor_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="not a Salesforce cursor"):
        ModstampCursor.decode(text)


def test_foreign_cursor_in_read_says_to_reset() -> None:
    connector = SalesforceConnector(SalesforceConfig(**SESSION))

    with pytest.raises(SourceError, match="reset the stream's cursor"):
        list(connector.read("Account", '{"since": 5}', ["Name"]))


def test_plugin_registers_connector_and_emulator_through_the_entry_point() -> None:
    (entry,) = [ep for ep in entry_points(group="syncfw") if ep.name == "salesforce"]
    pm = pluggy.PluginManager("syncfw")
    pm.add_hookspecs(hookspecs)
    pm.register(entry.load())
    pm.check_pending()
    connectors: list[type] = []
    emulators: list[type] = []

    pm.hook.register_connectors(register=connectors.append)
    pm.hook.register_emulators(register=emulators.append)

    assert connectors == [SalesforceConnector]
    assert emulators == [SalesforceEmulator]
    assert SalesforceConnector.name == SalesforceEmulator.name == "salesforce"
    assert SalesforceConnector.maturity == "beta"
