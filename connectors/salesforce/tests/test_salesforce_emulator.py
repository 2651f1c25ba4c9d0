"""The emulator's REST API as simple-salesforce sees it: shapes, SOQL semantics, errors, paging."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import requests
from simple_salesforce.api import Salesforce
from simple_salesforce.exceptions import (
    SalesforceError,
    SalesforceExpiredSession,
    SalesforceMalformedRequest,
    SalesforceRefusedRequest,
    SalesforceResourceNotFound,
)
from syncfw_salesforce.emulator import SalesforceEmulator, SalesforceOrg

from syncfw import ConfigError
from syncfw.connector import EmulatorContext
from syncfw.emulation import TLSFiles

if TYPE_CHECKING:
    from conftest import Sandbox


@pytest.fixture
def sf(sandbox: Sandbox) -> Salesforce:
    return Salesforce(
        session_id=sandbox.env["SALESFORCE_SESSION_ID"],
        instance_url=sandbox.env["SALESFORCE_INSTANCE_URL"],
        object_pairs_hook=dict,
    )


def names(result: dict[str, Any]) -> list[str]:
    return [r["Name"] for r in result["records"]]


def refused(call: Callable[[], Any]) -> SalesforceError:
    with pytest.raises(SalesforceError) as caught:
        call()
    return caught.value


def test_start_returns_the_env_a_recipe_needs(sandbox: Sandbox) -> None:
    assert set(sandbox.env) == {"SALESFORCE_INSTANCE_URL", "SALESFORCE_SESSION_ID"}
    assert sandbox.env["SALESFORCE_INSTANCE_URL"].startswith("https://127.0.0.1:")
    assert sandbox.env["SALESFORCE_SESSION_ID"] == sandbox.org.session_id


def test_records_keep_select_order_with_nested_relationships(sf: Salesforce) -> None:
    result = sf.query(
        "SELECT Name, Id, Owner.Name, AnnualRevenue, SystemModstamp FROM Account "
        "WHERE Name = 'Edge Communications'"
    )

    assert (result["totalSize"], result["done"]) == (1, True)
    record = result["records"][0]
    assert list(record) == ["attributes", "Name", "Id", "Owner", "AnnualRevenue", "SystemModstamp"]
    assert record["attributes"] == {
        "type": "Account",
        "url": f"/services/data/v59.0/sobjects/Account/{record['Id']}",
    }
    assert record["Owner"]["attributes"]["type"] == "User"
    assert record["Owner"]["Name"] == "Avery Admin"
    assert record["AnnualRevenue"] == 139000000.0
    assert record["SystemModstamp"] == "2026-05-01T07:25:37.000+0000"


def test_datetimes_in_seed_files_come_back_in_rest_format(sandbox: Sandbox, sf: Salesforce) -> None:
    accounts = sandbox.records("Account")
    accounts[0]["SystemModstamp"] = "2026-05-04T08:00:00Z"
    sandbox.write("Account", accounts)

    result = sf.query(f"SELECT SystemModstamp FROM Account WHERE Id = '{accounts[0]['Id']}'")

    assert result["records"][0]["SystemModstamp"] == "2026-05-04T08:00:00.000+0000"


def test_api_usage_header_is_parsed_by_the_client(sf: Salesforce) -> None:
    sf.query("SELECT Id FROM Account")
    sf.query("SELECT Id FROM Contact")

    usage = sf.api_usage["api-usage"]
    assert (usage.used, usage.total) == (2, 15000)


def test_query_hides_deleted_rows_and_query_all_shows_them(sandbox: Sandbox, sf: Salesforce) -> None:
    accounts = sandbox.records("Account")
    accounts[0]["IsDeleted"] = True
    sandbox.write("Account", accounts)

    assert sf.query("SELECT Id FROM Account")["totalSize"] == 11
    assert sf.query("SELECT Id FROM Account", include_deleted=True)["totalSize"] == 12


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("Name = 'edge COMMUNICATIONS'", ["Edge Communications"]),
        (
            "Name LIKE 'United Oil%'",
            ["United Oil & Gas Corp.", "United Oil & Gas, UK", "United Oil & Gas, Singapore"],
        ),
        ("Industry IN ('Education', 'Biotechnology')", ["University of Arizona", "GenePoint"]),
        ("Owner.Name = 'Riley Support'", ["University of Arizona"]),
        ("SystemModstamp > 2026-05-01T07:25:38Z", ["sForce"]),
        ("SystemModstamp >= 2026-05-01T09:25:38+02:00 AND AnnualRevenue < 100000000", ["GenePoint"]),
        ("NOT (Industry != null OR Type != null)", ["sForce"]),
        (
            "BillingState = null AND (Industry = 'Energy' OR Industry = 'Construction')",
            ["Pyramid Construction Inc.", "United Oil & Gas, UK", "United Oil & Gas, Singapore"],
        ),
    ],
)
def test_where_semantics(sf: Salesforce, where: str, expected: list[str]) -> None:
    assert names(sf.query(f"SELECT Name FROM Account WHERE {where}")) == expected


def test_not_equal_includes_nulls_like_soql(sf: Salesforce) -> None:
    result = sf.query("SELECT Name FROM Account WHERE Industry != 'Energy'")

    assert "sForce" in names(result)  # Industry is null
    assert result["totalSize"] == 9


def test_ids_match_in_15_and_18_character_forms(sandbox: Sandbox, sf: Salesforce) -> None:
    account_id = sandbox.records("Account")[0]["Id"]

    assert names(sf.query(f"SELECT Name FROM Account WHERE Id = '{account_id[:15]}'")) == [
        "Edge Communications"
    ]


def test_order_by_several_keys_with_nulls_placement_and_limit(sf: Salesforce) -> None:
    top = sf.query("SELECT Name FROM Account ORDER BY AnnualRevenue DESC NULLS LAST, Name DESC LIMIT 3")
    nulls_first = sf.query("SELECT Name FROM Account ORDER BY AnnualRevenue, Name LIMIT 2")

    assert names(top) == [
        "United Oil & Gas Corp.",
        "Pyramid Construction Inc.",
        "Express Logistics and Transport",
    ]
    assert names(nulls_first) == ["sForce", "United Oil & Gas, Singapore"]


def test_empty_lookup_is_null_not_an_object(sf: Salesforce) -> None:
    result = sf.query("SELECT Name, Account.Name FROM Contact WHERE LastName = 'Llorrac'")

    assert result["records"][0]["Account"] is None
    assert result["records"][0]["Name"] == "Jake Llorrac"  # derived from FirstName and LastName


def test_error_bodies_have_salesforce_shapes(sandbox: Sandbox, sf: Salesforce) -> None:
    field = refused(lambda: sf.query("SELECT Id, Foo FROM Account"))
    missing_type = refused(lambda: sf.query("SELECT Id FROM Invoice__c"))
    quoted = refused(lambda: sf.query("SELECT Id FROM Account WHERE SystemModstamp > '2026-05-01T00:00:00Z'"))
    duplicate = refused(lambda: sf.query("SELECT Name, name FROM Account"))
    not_found = refused(lambda: sf.restful("sobjects/Invoice__c/describe/"))
    sandbox.org.remaining_requests = 0
    limit = refused(lambda: sf.query("SELECT Id FROM Account"))
    sandbox.org.expire_session()
    expired = refused(lambda: sf.query("SELECT Id FROM Account"))

    assert isinstance(field, SalesforceMalformedRequest) and field.status == 400
    assert field.content == [
        {
            "message": "\nSELECT Id, Foo FROM Account\n           ^\nERROR at Row:1:Column:12\n"
            "No such column 'Foo' on entity 'Account'. If you are attempting to use a custom field, be sure "
            "to append the '__c' after the custom field name. Please reference your WSDL or the describe "
            "call for the appropriate names.",
            "errorCode": "INVALID_FIELD",
        }
    ]
    assert missing_type.content[0]["errorCode"] == "INVALID_TYPE"
    assert "sObject type 'Invoice__c' is not supported." in missing_type.content[0]["message"]
    assert quoted.content[0]["errorCode"] == "INVALID_FIELD"
    assert quoted.content[0]["message"].endswith(
        "value of filter criterion for field 'SystemModstamp' must be of type dateTime and should not be "
        "enclosed in quotes"
    )
    assert duplicate.content[0] == {
        "message": "\nSELECT Name, name FROM Account\n             ^\nERROR at Row:1:Column:14\n"
        "duplicate field selected: name",
        "errorCode": "MALFORMED_QUERY",
    }
    assert isinstance(not_found, SalesforceResourceNotFound)
    assert not_found.content == [
        {"message": "The requested resource does not exist", "errorCode": "NOT_FOUND"}
    ]
    assert isinstance(limit, SalesforceRefusedRequest) and limit.status == 403
    assert limit.content == [
        {"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}
    ]
    assert isinstance(expired, SalesforceExpiredSession) and expired.status == 401
    assert expired.content == [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]


def test_renewed_session_is_accepted(sandbox: Sandbox) -> None:
    sandbox.org.expire_session()
    session_id = sandbox.org.renew_session()
    sf = Salesforce(session_id=session_id, instance_url=sandbox.env["SALESFORCE_INSTANCE_URL"])

    assert sf.query("SELECT Id FROM User")["totalSize"] == 3


def test_limit_refusal_carries_the_usage_header(sandbox: Sandbox) -> None:
    sandbox.org.remaining_requests = 0

    response = requests.get(
        sandbox.env["SALESFORCE_INSTANCE_URL"] + "/services/data/v59.0/limits/",
        headers={"Authorization": f"Bearer {sandbox.org.session_id}"},
        timeout=10,
    )

    assert response.status_code == 403
    assert response.headers["Sforce-Limit-Info"] == "api-usage=15000/15000"


def test_pages_follow_next_records_url_with_batch_size(start_sandbox: Callable[..., Sandbox]) -> None:
    sandbox = start_sandbox(bulk="450")
    sf = Salesforce(session_id=sandbox.org.session_id, instance_url=sandbox.env["SALESFORCE_INSTANCE_URL"])
    headers = {"Sforce-Query-Options": "batchSize=200"}

    first = sf.query("SELECT Id FROM Account ORDER BY Id", headers=headers)
    pages = [first]
    while not pages[-1]["done"]:
        pages.append(sf.query_more(pages[-1]["nextRecordsUrl"], identifier_is_url=True, headers=headers))

    assert first["totalSize"] == 462
    assert first["nextRecordsUrl"].startswith("/services/data/v59.0/query/01g")
    assert first["nextRecordsUrl"].endswith("-200")
    assert [len(p["records"]) for p in pages] == [200, 200, 62]
    assert "nextRecordsUrl" not in pages[-1]
    ids = [r["Id"] for p in pages for r in p["records"]]
    assert ids == sorted(ids) and len(set(ids)) == 462
    assert (
        refused(lambda: sf.query_more("01gNOTALOCATOR00000-200")).content[0]["errorCode"]
        == "INVALID_QUERY_LOCATOR"
    )


def test_describe_and_sobject_list(sf: Salesforce) -> None:
    describe = sf.restful("sobjects/Account/describe/")
    listing = sf.describe()

    fields = {f["name"]: f for f in describe["fields"]}
    assert fields["OwnerId"]["type"] == "reference"
    assert fields["OwnerId"]["referenceTo"] == ["User"]
    assert fields["OwnerId"]["relationshipName"] == "Owner"
    assert fields["SystemModstamp"]["type"] == "datetime"
    assert fields["AnnualRevenue"]["type"] == "double"
    assert describe["keyPrefix"] == "001"
    assert [s["name"] for s in listing["sobjects"]] == ["Account", "Contact", "User"]


def test_limits_report_the_daily_allowance(sandbox: Sandbox, sf: Salesforce) -> None:
    sandbox.org.remaining_requests = 500

    assert sf.limits()["DailyApiRequests"] == {"Max": 15000, "Remaining": 499}


def test_bulk_records_are_deterministic_and_linked() -> None:
    first = SalesforceOrg(None, "s", bulk=300, seed=7)
    second = SalesforceOrg(None, "s", bulk=300, seed=7)
    first.admit("Bearer s")
    second.admit("Bearer s")

    accounts = first.query(
        "SELECT Id, Name FROM Account", include_deleted=False, batch_size=None, version="59.0"
    )
    again = second.query(
        "SELECT Id, Name FROM Account", include_deleted=False, batch_size=None, version="59.0"
    )
    orphans = first.query(
        "SELECT Id FROM Contact WHERE Account.Name = null",
        include_deleted=False,
        batch_size=None,
        version="59.0",
    )

    assert accounts["records"] == again["records"]
    assert accounts["totalSize"] == 300
    assert orphans["totalSize"] == 0
    assert 240 <= first.record_counts()["Contact"] <= 360


def test_bad_bulk_option_is_a_config_error(tls: TLSFiles, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="bulk='many'"):
        SalesforceEmulator().start(EmulatorContext(None, tmp_path, tls, {"bulk": "many"}))
