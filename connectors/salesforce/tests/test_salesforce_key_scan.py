"""scan_keys: the Ids that exist now, read with SELECT Id through query (not queryAll)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest
from syncfw_salesforce import SalesforceConnector

from syncfw import SourceError, SourceUnavailable

if TYPE_CHECKING:
    from conftest import Sandbox


def scan(sandbox: Sandbox, stream: str, **config: Any) -> list[str]:
    connector = sandbox.connector(**config)
    try:
        return list(connector.scan_keys(stream))
    finally:
        connector.close()


def test_scan_lists_live_records_and_leaves_out_deleted_and_hard_deleted(sandbox: Sandbox) -> None:
    accounts = sandbox.records("Account")
    accounts[0]["IsDeleted"] = True  # in the Recycle Bin: queryAll still returns it
    sandbox.write("Account", accounts)
    sandbox.org.hard_delete("Account", accounts[1]["Id"])

    keys = scan(sandbox, "Account")

    assert sorted(keys) == sorted(a["Id"] for a in accounts[2:])
    assert len(keys) == len(set(keys)) == 10
    assert sandbox.org.stats.queries == 1


def test_scan_follows_next_records_url_in_pages_of_2000(start_sandbox: Callable[..., Sandbox]) -> None:
    sandbox = start_sandbox(bulk="4500")

    keys = scan(sandbox, "Account", batch_size=200)  # reads' page size; a scan asks for the largest

    assert len(keys) == len(set(keys)) == 4512
    assert (sandbox.org.stats.queries, sandbox.org.stats.query_more) == (1, 2)


def test_a_page_that_fails_fails_the_whole_scan(start_sandbox: Callable[..., Sandbox]) -> None:
    sandbox = start_sandbox(bulk="2500")
    connector = sandbox.connector()
    keys = connector.scan_keys("Account")
    first_page = [next(keys) for _ in range(2000)]
    sandbox.org.fail_next(SalesforceConnector.retry_attempts)  # every attempt at the second page

    with pytest.raises(SourceUnavailable):
        list(keys)
    assert len(first_page) == 2000


def test_scan_of_an_unknown_sobject_is_a_source_error(sandbox: Sandbox) -> None:
    with pytest.raises(SourceError, match="Invoice__c"):
        scan(sandbox, "Invoice__c")
