"""The emulator's Recycle Bin, hard deletes and late commits, as simple-salesforce sees them."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from simple_salesforce.api import Salesforce
from syncfw_salesforce.emulator import SalesforceEmulator, SalesforceOrg

from syncfw import ConfigError
from syncfw.connector import EmulatorContext
from syncfw.emulation import TLSFiles

if TYPE_CHECKING:
    from conftest import Sandbox


def client(sandbox: Sandbox) -> Salesforce:
    return Salesforce(
        session_id=sandbox.env["SALESFORCE_SESSION_ID"],
        instance_url=sandbox.env["SALESFORCE_INSTANCE_URL"],
        object_pairs_hook=dict,
    )


def ids(result: dict[str, Any]) -> set[str]:
    return {r["Id"] for r in result["records"]}


def delete(sandbox: Sandbox, *names: str) -> list[str]:
    accounts = sandbox.records("Account")
    deleted = [a for a in accounts if a["Name"] in names]
    for account in deleted:
        account["IsDeleted"] = True
    sandbox.write("Account", accounts)
    return [a["Id"] for a in deleted]


def test_deleted_rows_leave_query_all_after_15_days_in_the_recycle_bin(sandbox: Sandbox) -> None:
    sf = client(sandbox)
    (genepoint,) = delete(sandbox, "GenePoint")
    soql = "SELECT Id, IsDeleted FROM Account"
    in_bin = sf.query(soql, include_deleted=True)
    assert {r["Id"]: r["IsDeleted"] for r in in_bin["records"]}[genepoint] is True
    assert genepoint not in ids(sf.query(soql))

    sandbox.org.advance_clock(timedelta(days=14, hours=23))
    assert genepoint in ids(sf.query(soql, include_deleted=True))
    sandbox.org.advance_clock(timedelta(hours=1))

    assert genepoint not in ids(sf.query(soql, include_deleted=True))
    assert sf.query(soql, include_deleted=True)["totalSize"] == 11
    assert sandbox.org.record_counts()["Account"] == 11


def test_sandbox_option_sets_the_retention(start_sandbox: Callable[..., Sandbox]) -> None:
    sandbox = start_sandbox(recycle_bin_days="1")
    sf = client(sandbox)
    (genepoint,) = delete(sandbox, "GenePoint")
    assert genepoint in ids(sf.query("SELECT Id FROM Account", include_deleted=True))

    sandbox.org.advance_clock(timedelta(days=1))

    assert genepoint not in ids(sf.query("SELECT Id FROM Account", include_deleted=True))


def test_bad_retention_option_is_a_config_error(tls: TLSFiles, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="recycle_bin_days='two weeks'"):
        SalesforceEmulator().start(EmulatorContext(None, tmp_path, tls, {"recycle_bin_days": "two weeks"}))


def test_an_undeleted_record_leaves_the_bin_and_stays(sandbox: Sandbox) -> None:
    sf = client(sandbox)
    (genepoint,) = delete(sandbox, "GenePoint")
    sf.query("SELECT Id FROM Account")  # the org sees the delete
    accounts = sandbox.records("Account")
    next(a for a in accounts if a["Id"] == genepoint)["IsDeleted"] = False
    sandbox.write("Account", accounts)
    sf.query("SELECT Id FROM Account")

    sandbox.org.advance_clock(timedelta(days=30))

    assert genepoint in ids(sf.query("SELECT Id FROM Account"))


def test_emptied_recycle_bin_and_hard_deletes_leave_no_row(sandbox: Sandbox) -> None:
    sf = client(sandbox)
    deleted = delete(sandbox, "GenePoint", "sForce")
    edge = next(a["Id"] for a in sandbox.records("Account") if a["Name"] == "Edge Communications")

    assert sandbox.org.empty_recycle_bin() == 2
    sandbox.org.hard_delete("Account", edge[:15])
    sandbox.write("Account", sandbox.records("Account"))  # the seed file still lists all three

    remaining = ids(sf.query("SELECT Id FROM Account", include_deleted=True))
    assert remaining.isdisjoint([*deleted, edge])
    assert len(remaining) == 9
    with pytest.raises(ValueError, match="no Account with Id 001XX"):
        sandbox.org.hard_delete("Account", "001XX0000000000AAA")


def test_a_transaction_shows_its_rows_only_when_it_commits(sandbox: Sandbox) -> None:
    sf = client(sandbox)
    accounts = sandbox.records("Account")
    genepoint = next(a for a in accounts if a["Name"] == "GenePoint")
    sandbox.org.begin_transaction("Account", genepoint["Id"])
    genepoint.update(Industry="Shipping", SystemModstamp="2026-05-03T10:00:00.000+0000")
    sandbox.write("Account", accounts)
    soql = f"SELECT Industry, SystemModstamp FROM Account WHERE Id = '{genepoint['Id']}'"

    before = sf.query(soql)["records"][0]
    assert (before["Industry"], before["SystemModstamp"]) == ("Biotechnology", "2026-05-01T07:25:38.000+0000")

    sandbox.org.commit("account", genepoint["Id"])
    after = sf.query(soql)["records"][0]
    assert (after["Industry"], after["SystemModstamp"]) == ("Shipping", "2026-05-03T10:00:00.000+0000")
    with pytest.raises(ValueError, match="no transaction is open"):
        sandbox.org.commit("Account", genepoint["Id"])


def test_a_full_recycle_bin_drops_its_oldest_rows_after_two_hours(tmp_path: Path) -> None:
    org = SalesforceOrg(tmp_path, "s", recycle_bin_capacity=1)
    rows = [
        {
            "attributes": {"type": "Account"},
            "Id": f"001Sx000000000{n}AAA",
            "Name": f"A{n}",
            "IsDeleted": False,
        }
        for n in range(3)
    ]
    seed = tmp_path / "Account.json"

    def deleted_now(*numbers: int) -> None:
        for n in numbers:
            rows[n]["IsDeleted"] = True
        seed.write_text(json.dumps(rows))
        org.record_counts()

    def in_bin() -> list[str]:
        result = org.query(
            "SELECT Name FROM Account WHERE IsDeleted = true",
            include_deleted=True,
            batch_size=None,
            version="59.0",
        )
        return [r["Name"] for r in result["records"]]

    deleted_now(0)
    org.advance_clock(timedelta(hours=1))
    deleted_now(1)
    assert in_bin() == ["A0", "A1"]  # over capacity, but nothing has been in the bin two hours
    org.advance_clock(timedelta(hours=1))
    assert in_bin() == ["A1"]
