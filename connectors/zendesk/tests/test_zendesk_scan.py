"""The key scan (reconciliation of deletes no export reports) through real zenpy, and the List
endpoints of the emulator behind it."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import pytest
from syncfw_zendesk.emulator import ApiError
from syncfw_zendesk.testing import format_time

from syncfw import SourceError

if TYPE_CHECKING:
    from conftest import Sandbox

ARCHIVED = {"102", "112", "118"}  # the seed's closed tickets, closed in October and November 2026
DELETED = "121"  # the seed's deleted ticket
LIST = {"path": "/api/v2/tickets.json", "base_url": "https://127.0.0.1"}


def scan(sandbox: Sandbox, stream: str) -> list[str]:
    connector = sandbox.connector(page_size=7)
    try:
        return list(connector.scan_keys(stream))
    finally:
        connector.close()


def listed(sandbox: Sandbox, stream: str) -> set[str]:
    page = sandbox.account.list_page(stream, {}, **LIST)
    return {str(item["id"]) for item in page[stream]}


def test_the_scan_lists_archived_tickets_that_list_tickets_leaves_out(sandbox: Sandbox) -> None:
    sandbox.account.archive_after = 30 * 86400

    assert ARCHIVED.isdisjoint(listed(sandbox, "tickets"))
    keys = scan(sandbox, "tickets")
    assert len(keys) == len(set(keys)) == 29
    assert set(keys) == {str(n) for n in range(101, 131)} - {DELETED}
    assert set(keys) >= ARCHIVED


def test_tickets_are_archived_120_days_after_they_close_by_default(sandbox: Sandbox) -> None:
    now = time.time()
    sandbox.update("tickets", {102}, format_time(int(now) - 119 * 86400))
    sandbox.update("tickets", {112}, format_time(int(now) - 121 * 86400))

    keys = listed(sandbox, "tickets")

    assert "102" in keys
    assert "112" not in keys


def test_the_scan_lists_a_ticket_changed_within_the_export_delay(sandbox: Sandbox) -> None:
    sandbox.update("tickets", {103}, format_time(int(time.time())), status="pending")

    records, _ = sandbox.read("tickets")
    assert "103" not in {record.key for record in records}  # the export holds it back a minute
    assert "103" in scan(sandbox, "tickets")


def test_a_permanently_deleted_item_leaves_the_scan_and_every_export(sandbox: Sandbox) -> None:
    sandbox.account.delete_permanently("tickets", 103)
    sandbox.account.delete_permanently("users", 27104389921410)

    assert "103" not in scan(sandbox, "tickets")
    assert "27104389921410" not in scan(sandbox, "users")
    records, _ = sandbox.read("tickets")
    assert "103" not in {record.key for record in records}
    with pytest.raises(KeyError, match="tickets has no item 103"):
        sandbox.account.delete_permanently("tickets", 103)


def test_deleted_users_and_organizations_are_not_listed(sandbox: Sandbox) -> None:
    sandbox.update("users", {27104389921411}, "2026-11-20T10:00:00Z", active=False)
    sandbox.update(
        "organizations", {27104390551202}, "2026-11-20T10:00:00Z", deleted_at="2026-11-20T10:00:00Z"
    )

    users, organizations = scan(sandbox, "users"), scan(sandbox, "organizations")

    assert len(users) == 18 and "27104389921411" not in users
    assert len(organizations) == 7 and "27104390551202" not in organizations


def test_a_failed_scan_raises_source_error_and_lists_nothing(sandbox: Sandbox) -> None:
    sandbox.account.fail_next(1, status=403)
    connector = sandbox.connector()
    try:
        with pytest.raises(SourceError, match="list of tickets"):
            connector.scan_keys("tickets")
    finally:
        connector.close()


def test_list_tickets_pages_by_cursor(sandbox: Sandbox) -> None:
    first = sandbox.account.list_page("tickets", {"page[size]": "20"}, **LIST)
    assert first["meta"]["has_more"] is True
    assert "page%5Bafter%5D=" in first["links"]["next"]
    second = sandbox.account.list_page("tickets", {"page[after]": first["meta"]["after_cursor"]}, **LIST)
    assert second["meta"]["has_more"] is False and second["links"]["next"] is None
    ids = [item["id"] for item in first["tickets"] + second["tickets"]]
    assert ids == sorted(ids) and len(ids) == 29  # every ticket but the deleted one
    with pytest.raises(ApiError) as refused:
        sandbox.account.list_page("tickets", {"page[after]": "not-a-cursor"}, **LIST)
    assert refused.value.status == 400


def test_list_tickets_has_its_own_limit_of_100_requests_a_minute(sandbox: Sandbox) -> None:
    for _ in range(100):
        headers = sandbox.account.admit("tickets_index")
    assert headers["zendesk-ratelimit-tickets-index"].startswith("total=100; remaining=0;")
    with pytest.raises(ApiError) as limited:
        sandbox.account.admit("tickets_index")
    assert limited.value.status == 429 and "Retry-After" in limited.value.headers
