"""Reading the exports through the connector (real zenpy) from the emulator over HTTPS."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import pytest
from syncfw_zendesk.streams import epoch_seconds
from syncfw_zendesk.testing import format_time

from syncfw import SourceError

if TYPE_CHECKING:
    from conftest import Sandbox

LATER = "2026-11-20T10:00:00Z"  # after every seed change, long before the test runs


def test_full_export_returns_every_ticket_with_a_checkpoint_after_each_page(sandbox: Sandbox) -> None:
    records, checkpoints = sandbox.read("tickets", page_size=7)

    assert len(records) == 30 == len({r.key for r in records})
    assert len(checkpoints) == 5  # pages of 7, 7, 7, 7 and 2
    assert len({c.cursor for c in checkpoints}) == 5
    by_key = {r.key: r for r in records}
    edge = by_key["101"].data
    assert edge["subject"] == "Fiber link down at Austin data center"
    assert (edge["status"], edge["priority"], edge["organization_id"]) == ("solved", "urgent", 27104390551201)
    assert edge["custom_fields"][0] == {"id": 27104388180101, "value": "connectivity"}
    assert all(r.key == str(r.data["id"]) for r in records)
    stamps = [r.data["generated_timestamp"] for r in records]
    assert stamps == sorted(stamps)  # oldest change first


def test_a_checkpoint_resumes_right_after_its_page(sandbox: Sandbox) -> None:
    records, checkpoints = sandbox.read("tickets", page_size=7)

    rest, _ = sandbox.read("tickets", checkpoints[1].cursor, page_size=7)

    assert [r.key for r in rest] == [r.key for r in records[14:]]


def test_incremental_read_returns_only_changed_tickets(sandbox: Sandbox) -> None:
    _, first = sandbox.read("tickets")
    sandbox.update("tickets", {103, 108}, LATER, status="solved")

    records, checkpoints = sandbox.read("tickets", first[-1].cursor)

    assert sorted((r.key, r.data["status"]) for r in records) == [("103", "solved"), ("108", "solved")]
    assert checkpoints[-1].cursor != first[-1].cursor


def test_a_null_after_cursor_never_replaces_the_stored_cursor(sandbox: Sandbox) -> None:
    _, first = sandbox.read("tickets")
    cursor = first[-1].cursor
    # what Zendesk answers when nothing changed since the cursor
    page = sandbox.account.cursor_export("tickets", {"cursor": cursor}, path="/x", base_url="https://h")
    assert (page["tickets"], page["after_cursor"], page["end_of_stream"]) == ([], None, True)

    records, checkpoints = sandbox.read("tickets", cursor)

    assert records == []
    assert [c.cursor for c in checkpoints] == [cursor]


def test_deleted_ticket_becomes_a_deleted_record(sandbox: Sandbox) -> None:
    records, first = sandbox.read("tickets")
    assert [r.key for r in records if r.deleted] == ["121"]  # seeded deleted, status "deleted"
    sandbox.update("tickets", {104}, LATER, status="deleted")

    changed, _ = sandbox.read("tickets", first[-1].cursor)

    assert [(r.key, r.deleted, r.data["status"]) for r in changed] == [("104", True, "deleted")]


def test_users_export_and_a_deleted_user(sandbox: Sandbox) -> None:
    records, first = sandbox.read("users", page_size=5)
    assert len(records) == 19 and not any(r.deleted for r in records)
    assert {"rose@edge.com", "efrank@genepoint.com"} <= {r.data["email"] for r in records}
    sandbox.update("users", {27104389921425}, LATER, active=False)

    changed, _ = sandbox.read("users", first[-1].cursor)

    assert [(r.data["name"], r.deleted) for r in changed] == [("Sam Patel", True)]


def test_organizations_time_export_resumes_without_repeating_the_boundary(sandbox: Sandbox) -> None:
    records, checkpoints = sandbox.read("organizations", page_size=3)
    assert len(records) == 8 == len({r.key for r in records})
    assert all(c.cursor.startswith("start_time:") for c in checkpoints)
    assert checkpoints[-1].cursor.endswith(";skip=27104390551208")  # sForce, the latest, at end_time

    again, after = sandbox.read("organizations", checkpoints[-1].cursor)
    assert again == [] and after[-1].cursor == checkpoints[-1].cursor

    sandbox.update("organizations", {27104390551206}, LATER, notes="Renewal at risk")
    changed, _ = sandbox.read("organizations", checkpoints[-1].cursor)
    assert [(r.data["name"], r.data["notes"]) for r in changed] == [("GenePoint", "Renewal at risk")]


def test_deleted_organization_becomes_a_deleted_record(sandbox: Sandbox) -> None:
    _, first = sandbox.read("organizations")
    sandbox.update("organizations", {27104390551208}, LATER, deleted_at=LATER)

    changed, _ = sandbox.read("organizations", first[-1].cursor)

    assert [(r.data["name"], r.deleted) for r in changed] == [("sForce", True)]


def test_empty_first_read_checkpoints_the_start_time(sandbox: Sandbox) -> None:
    start = epoch_seconds(LATER)

    records, checkpoints = sandbox.read("tickets", start_time=start)

    assert records == []
    assert [c.cursor for c in checkpoints] == [f"start_time:{start}"]
    sandbox.update("tickets", {110}, "2026-11-20T11:00:00Z")
    records, _ = sandbox.read("tickets", checkpoints[0].cursor)
    assert [r.key for r in records] == ["110"]


def test_start_time_limits_the_first_export(sandbox: Sandbox) -> None:
    records, _ = sandbox.read("tickets", start_time=epoch_seconds("2026-11-16T00:00:00Z"))

    assert sorted(r.key for r in records) == ["107", "111", "114", "116", "123", "124", "126", "129"]


def test_changes_of_the_last_minute_come_with_the_next_read(sandbox: Sandbox) -> None:
    _, first = sandbox.read("tickets")
    sandbox.update("tickets", {105}, format_time(int(time.time()) - 5), status="solved")

    records, checkpoints = sandbox.read("tickets", first[-1].cursor)
    assert records == [] and checkpoints[-1].cursor == first[-1].cursor

    sandbox.account.export_delay = 0
    records, _ = sandbox.read("tickets", first[-1].cursor)
    assert [(r.key, r.data["status"]) for r in records] == [("105", "solved")]


def test_oauth_token_reads_the_same_export(sandbox: Sandbox) -> None:
    records, _ = sandbox.read("tickets", oauth_token=sandbox.env["ZENDESK_OAUTH_TOKEN"])

    assert len(records) == 30


@pytest.mark.parametrize(
    ("stream", "cursor"),
    [
        ("tickets", "start_time:yesterday"),
        ("organizations", "MTcwNzI3MTc0MS4wfHw0MDQ1fA=="),
        ("users", "a b"),
    ],
)
def test_a_cursor_the_connector_did_not_write_is_refused(sandbox: Sandbox, stream: str, cursor: str) -> None:
    with pytest.raises(SourceError, match="reset the stream's cursor"):
        sandbox.read(stream, cursor)


def test_unknown_stream_is_named(sandbox: Sandbox) -> None:
    with pytest.raises(SourceError, match=r"no stream named 'ticket_metrics'.*tickets, users, organizations"):
        sandbox.connector().stream("ticket_metrics")


def test_stream_specs_name_key_and_cursor_field(sandbox: Sandbox) -> None:
    connector = sandbox.connector()

    tickets, users = connector.stream("tickets"), connector.stream("users")

    assert (tickets.primary_key, tickets.cursor_field) == ("id", "generated_timestamp")
    assert (users.primary_key, users.cursor_field) == ("id", "updated_at")
    assert {"subject", "status", "organization_id", "custom_fields"} <= set(tickets.fields)
