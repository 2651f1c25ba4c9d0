"""Reading sObjects through the connector (real simple-salesforce) from the emulator over HTTPS."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from syncfw.connector import Checkpoint, Record

if TYPE_CHECKING:
    from conftest import Sandbox

LATER = "2026-05-03T10:00:00.000+0000"


def restamp(records: list[dict[str, Any]], names: set[str], stamp: str, **changes: Any) -> None:
    for record in records:
        if record.get("Name") in names:
            record.update(changes, SystemModstamp=stamp)


def no_attributes(value: Any) -> bool:
    if isinstance(value, dict):
        return "attributes" not in value and all(no_attributes(v) for v in value.values())
    return True


def test_full_read_returns_every_seed_account_with_owner_name(sandbox: Sandbox) -> None:
    records, checkpoints = sandbox.read("Account", None, ("Name", "Industry", "AnnualRevenue", "Owner.Name"))

    by_name = {r.data["Name"]: r for r in records}
    assert len(records) == 12
    assert by_name["Edge Communications"].data["Owner"] == {"Name": "Avery Admin"}
    assert by_name["University of Arizona"].data["Owner"] == {"Name": "Riley Support"}
    assert by_name["Edge Communications"].data["AnnualRevenue"] == 139000000.0
    assert all(r.key == r.data["Id"] and not r.deleted for r in records)
    assert all(type(r.data) is dict and no_attributes(r.data) for r in records)
    stamps = [r.data["SystemModstamp"] for r in records]
    assert stamps == sorted(stamps)  # oldest change first
    assert len(checkpoints) == 1


def test_contacts_resolve_account_and_its_owner_and_null_lookups(sandbox: Sandbox) -> None:
    records, _ = sandbox.read(
        "Contact", None, ("FirstName", "LastName", "Account.Name", "Account.Owner.Name")
    )

    by_name = {f"{r.data['FirstName']} {r.data['LastName']}": r.data for r in records}
    assert len(records) == 20
    assert by_name["Rose Gonzalez"]["Account"] == {
        "Name": "Edge Communications",
        "Owner": {"Name": "Avery Admin"},
    }
    assert by_name["Liz D'Cruz"]["Account"]["Name"] == "United Oil & Gas, Singapore"
    assert by_name["Jake Llorrac"]["Account"] is None


def test_user_stream_has_no_is_deleted_and_still_reads(sandbox: Sandbox) -> None:
    records, _ = sandbox.read("User", None, ("Name", "Email"))

    assert sorted(r.data["Name"] for r in records) == ["Avery Admin", "Morgan Sales", "Riley Support"]
    assert all("IsDeleted" not in r.data for r in records)


def test_incremental_read_returns_only_changed_records(sandbox: Sandbox) -> None:
    _, first = sandbox.read("Account", None, ("Name", "Industry"))
    accounts = sandbox.records("Account")
    restamp(accounts, {"GenePoint", "Dickenson plc"}, LATER, Industry="Biotech")
    sandbox.write("Account", accounts)

    records, checkpoints = sandbox.read("Account", first[-1].cursor, ("Name", "Industry"))

    assert sorted(r.data["Name"] for r in records) == ["Dickenson plc", "GenePoint"]
    assert {r.data["Industry"] for r in records} == {"Biotech"}
    again, after = sandbox.read("Account", checkpoints[-1].cursor, ("Name", "Industry"))
    assert again == []
    assert after[-1].cursor == checkpoints[-1].cursor


def test_a_record_changed_again_within_the_cursor_second_comes_back(sandbox: Sandbox) -> None:
    accounts = sandbox.records("Account")
    restamp(accounts, {"GenePoint", "sForce"}, LATER)
    sandbox.write("Account", accounts)
    _, first = sandbox.read("Account", None, ("Name", "Industry"))
    restamp(accounts, {"GenePoint"}, LATER, Industry="Shipping")  # same second: SystemModstamp unchanged
    sandbox.write("Account", accounts)

    records, _ = sandbox.read("Account", first[-1].cursor, ("Name", "Industry"))

    assert [(r.data["Name"], r.data["Industry"]) for r in records] == [("GenePoint", "Shipping")]


def test_boundary_stamp_gives_no_duplicates_but_late_arrivals(sandbox: Sandbox) -> None:
    accounts = sandbox.records("Account")
    restamp(accounts, {"GenePoint", "Dickenson plc", "sForce"}, LATER)
    sandbox.write("Account", accounts)
    _, first = sandbox.read("Account")

    repeated, _ = sandbox.read("Account", first[-1].cursor)
    assert repeated == []  # three records share the cursor's stamp: none comes back

    late = dict(accounts[0], Id="001Sx0000000001AAA", Name="Late Arrival Ltd", SystemModstamp=LATER)
    sandbox.write("Account", [*accounts, late])
    records, checkpoints = sandbox.read("Account", first[-1].cursor)
    assert [r.data["Name"] for r in records] == ["Late Arrival Ltd"]
    assert sandbox.read("Account", checkpoints[-1].cursor)[0] == []


def test_empty_read_repeats_the_cursor_or_says_nothing_yet(sandbox: Sandbox) -> None:
    sandbox.write("Account", [])

    records, checkpoints = sandbox.read("Account")

    assert records == []
    assert len(checkpoints) == 1
    assert json.loads(checkpoints[0].cursor) == {"SystemModstamp": None, "recent": {}}
    assert sandbox.read("Account", checkpoints[0].cursor)[1][0].cursor == checkpoints[0].cursor


def test_deleted_record_comes_back_deleted(sandbox: Sandbox) -> None:
    _, first = sandbox.read("Account")
    accounts = sandbox.records("Account")
    restamp(accounts, {"GenePoint"}, LATER, IsDeleted=True)
    sandbox.write("Account", accounts)

    records, _ = sandbox.read("Account", first[-1].cursor)

    assert [(r.data["Name"], r.deleted) for r in records] == [("GenePoint", True)]


def test_pagination_past_2000_records_with_a_checkpoint_per_page(
    start_sandbox: Callable[..., Sandbox],
) -> None:
    sandbox = start_sandbox(bulk="2500")
    connector = sandbox.connector()
    items = list(connector.read("Account", None, ["Name", "Owner.Name"]))

    records = [i for i in items if isinstance(i, Record)]
    positions = [n for n, i in enumerate(items) if isinstance(i, Checkpoint)]
    assert len(records) == 2512 == len({r.key for r in records})
    assert positions == [2000, len(items) - 1]  # after the first page of 2000, then at the end
    assert sandbox.org.stats.query_more == 1

    first_page_cursor = items[2000]
    assert isinstance(first_page_cursor, Checkpoint)
    rest, _ = sandbox.read("Account", first_page_cursor.cursor, ("Name", "Owner.Name"))
    assert {r.key for r in rest} == {r.key for r in records[2000:]}


def test_batch_size_sets_the_page_size(start_sandbox: Callable[..., Sandbox]) -> None:
    sandbox = start_sandbox(bulk="2500")

    records, checkpoints = sandbox.read("Account", batch_size=500)

    assert len(records) == 2512
    assert len(checkpoints) == 6
    assert 2000 < sandbox.org.record_counts()["Contact"] < 3000  # about one contact per account


def test_the_streams_of_a_recipe_are_checked_with_one_describe_global(sandbox: Sandbox) -> None:
    """``unknown_names`` runs for every stream before Notion is read: the org's sObject list is
    asked once per run (one API request), each sObject described once."""
    connector = sandbox.connector()
    try:
        connector.check()
        before = connector.api_usage
        assert connector.unknown_names("Account", ["Name", "Owner.Name"]).fields == {}
        assert connector.unknown_names("Contact", ["LastName", "Account.Name"]).fields == {}
        assert "'Acount'" in (connector.unknown_names("Acount", ["Name"]).stream or "")
        after = connector.api_usage
    finally:
        connector.close()
    assert before is not None and after is not None
    assert after.used - before.used == 4  # describe-global, then Account, User and Contact
