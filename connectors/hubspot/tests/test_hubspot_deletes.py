"""Archived, purged and permanently deleted records: the 90-day window, the archived sweep,
scan_keys, and the emulator options for its clock-bound behaviour."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from hubspot import Client
from hubspot.crm.objects.exceptions import NotFoundException
from syncfw_hubspot.emulator import HubSpotEmulator, HubSpotPortal

from syncfw import ConfigError, SourceError
from syncfw.connector import EmulatorContext, Record
from syncfw.emulation import TLSFiles

if TYPE_CHECKING:
    from conftest import Sandbox

DAY = 86_400


@pytest.fixture
def client(sandbox: Sandbox) -> Any:
    return Client.create(
        access_token=sandbox.env["HUBSPOT_ACCESS_TOKEN"],
        host=sandbox.env["HUBSPOT_HOST"],
        ssl_ca_cert=os.environ["REQUESTS_CA_BUNDLE"],
    )


def archived_ids(client: Any, object_type: str) -> set[str]:
    answer = client.crm.objects.basic_api.get_page(object_type, limit=100, archived=True)
    return {result.id for result in answer.results}


def scanned(sandbox: Sandbox, stream: str) -> list[str]:
    connector = sandbox.connector()
    try:
        return list(connector.scan_keys(stream))
    finally:
        connector.close()


def archived_list_requests(sandbox: Sandbox) -> int:
    return sum(1 for r in sandbox.portal.requests if r.query.get("archived") == ["True"])


def test_an_archive_older_than_90_days_is_gone_everywhere(sandbox: Sandbox, client: Any) -> None:
    _, first = sandbox.read("deals", None, ("properties.dealname",))
    sandbox.portal.archive("deals", "9120000004")
    sandbox.portal.advance(89 * DAY)
    assert archived_ids(client, "deals") == {"9120000004"}  # still restorable

    sandbox.portal.advance(1 * DAY)

    assert archived_ids(client, "deals") == set()
    with pytest.raises(NotFoundException):
        client.crm.objects.basic_api.get_by_id("deals", "9120000004", archived=True)
    assert "9120000004" not in scanned(sandbox, "deals")
    records, _ = sandbox.read("deals", first[-1].cursor, ("properties.dealname",))
    assert records == []  # no read reports it any more: only reconciliation by scan_keys can


def test_a_permanent_delete_leaves_no_archived_entry(sandbox: Sandbox, client: Any) -> None:
    sandbox.portal.delete_permanently("contacts", "51200000101")

    assert "51200000101" not in archived_ids(client, "contacts")
    with pytest.raises(NotFoundException):
        client.crm.objects.basic_api.get_by_id("contacts", "51200000101")
    records, _ = sandbox.read("companies", None, ("associations.contacts.results",))
    edge = next(r for r in records if r.key == "18240501001")
    linked = {a["id"] for a in edge.data["associations"]["contacts"]["results"]}
    assert "51200000101" not in linked and linked  # its associations went with it
    assert "51200000101" not in scanned(sandbox, "contacts")


def test_scan_keys_lists_every_live_object_over_several_pages(sandbox: Sandbox) -> None:
    created = sandbox.portal.create_many("companies", [{"name": f"Scan {n}"} for n in range(250)])
    for record_id in created[:3]:
        sandbox.portal.archive("companies", record_id)
    live = {r["id"] for r in sandbox.portal.records("companies") if not r["archived"]}

    keys = scanned(sandbox, "companies")

    assert len(keys) == len(set(keys)) == len(live) == 255 and set(keys) == live
    pages = [r for r in sandbox.portal.requests if r.path == "/crm/v3/objects/companies"]
    assert len(pages) == 3
    assert all(
        r.query["limit"] == ["100"]
        and r.query["properties"] == ["hs_object_id"]
        and r.query["archived"] == ["False"]
        for r in pages
    )


def test_a_failed_key_scan_raises_instead_of_ending_early(sandbox: Sandbox) -> None:
    sandbox.portal.create_many("companies", [{"name": f"Scan {n}"} for n in range(150)])
    connector = sandbox.connector()
    keys = connector.scan_keys("companies")
    first_page = [next(keys) for _ in range(100)]
    sandbox.portal.fail_next(10, status=503)

    with pytest.raises(SourceError, match="key scan of companies"):
        list(keys)
    connector.close()
    assert len(first_page) == 100


def test_an_incremental_read_walks_only_part_of_a_long_archived_list(sandbox: Sandbox) -> None:
    sandbox.portal.window_max = 1000
    created = sandbox.portal.create_many("companies", [{"name": f"Old {n}"} for n in range(1050)])
    for record_id in created:
        sandbox.portal.archive("companies", record_id)
    _, first = sandbox.read("companies", None, ("properties.name",))
    assert archived_list_requests(sandbox) == 11  # a full read lists the whole archive
    before = archived_list_requests(sandbox)

    records, _ = sandbox.read("companies", first[-1].cursor, ("properties.name",), archived_pages_per_read=2)

    assert records == []
    assert archived_list_requests(sandbox) - before == 2


def test_the_sweep_reports_every_new_archive_once(sandbox: Sandbox) -> None:
    sandbox.portal.window_max = 1000
    created = sandbox.portal.create_many("companies", [{"name": f"Old {n}"} for n in range(450)])
    for record_id in created[100:]:
        sandbox.portal.archive("companies", record_id)
    _, first = sandbox.read("companies", None, ("properties.name",))
    cursor = first[-1].cursor
    reported: list[Record] = []

    def read() -> None:
        nonlocal cursor
        records, checkpoints = sandbox.read(
            "companies", cursor, ("properties.name",), archived_pages_per_read=1
        )
        reported.extend(records)
        cursor = checkpoints[-1].cursor

    read()  # the sweep is now past the start of the archived list
    ahead = sandbox.portal.create("companies", {"name": "New"})
    sandbox.portal.archive("companies", created[0])  # the list is by id: behind the sweep
    sandbox.portal.archive("companies", ahead)  # ahead of it
    for _ in range(6):  # 4 pages of archived records: a sweep and a half
        read()

    assert sorted(r.key for r in reported) == sorted([created[0], ahead])
    assert all(r.deleted for r in reported)


def test_the_sandbox_options_set_the_lag_and_the_archive_window(tls: TLSFiles, tmp_path: Path) -> None:
    defaults = HubSpotPortal(None, "pat-na1-x")
    assert (defaults.search_lag, defaults.archive_retention) == (10.0, timedelta(days=90))
    emulator = HubSpotEmulator()
    options = {"hubspot_search_lag": "0", "hubspot_archive_retention": "15"}
    emulator.start(EmulatorContext(None, tmp_path, tls, options))
    try:
        assert emulator.portal is not None
        assert (emulator.portal.search_lag, emulator.portal.archive_retention) == (0.0, timedelta(days=15))
    finally:
        emulator.stop()

    with pytest.raises(ConfigError, match="hubspot_search_lag='soon': expected a number"):
        HubSpotEmulator().start(EmulatorContext(None, tmp_path, tls, {"hubspot_search_lag": "soon"}))
    with pytest.raises(ConfigError, match="days \\(more than 0\\)"):
        HubSpotEmulator().start(EmulatorContext(None, tmp_path, tls, {"hubspot_archive_retention": "0"}))
