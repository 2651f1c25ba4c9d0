"""First reads of large sObjects through Bulk API 2.0 query jobs, against the emulator over HTTPS."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pytest
import requests

from syncfw import SourceError, SourceLimitExceeded
from syncfw.connector import Record

if TYPE_CHECKING:
    from conftest import Sandbox

FIELDS = (
    *("Name", "Industry", "AnnualRevenue", "NumberOfEmployees", "Description", "CreatedDate"),
    *("Owner.Name", "Owner.IsActive"),
)
BULK: dict[str, Any] = {"bulk_threshold": 100, "bulk_page_size": 120, "bulk_poll_seconds": 0}


@pytest.fixture
def large(start_sandbox: Callable[..., Sandbox]) -> Sandbox:
    """An org with 312 accounts (300 generated), one in the Recycle Bin, one without owner or
    description, one with quotes, commas and a line break in its name; query jobs finish at once."""
    sandbox = start_sandbox(bulk="300")
    accounts = sandbox.records("Account")
    accounts[0]["IsDeleted"] = True
    accounts[1].update(OwnerId=None, Description=None)
    accounts[2]["Name"] = 'Edge "Audio", Inc.\nAustin'
    accounts[3]["NumberOfEmployees"] = 9000
    sandbox.write("Account", accounts)
    sandbox.org.query_jobs.processing_time = timedelta(0)
    return sandbox


def test_first_read_above_the_threshold_uses_bulk_and_gives_the_rest_records(large: Sandbox) -> None:
    rest_records, rest_checkpoints = large.read("Account", fields=FIELDS, bulk_threshold=None)
    before = large.org.stats

    records, checkpoints = large.read("Account", fields=FIELDS, **BULK)

    after = large.org.stats
    assert after.query_jobs - before.query_jobs == 1
    assert after.queries - before.queries == 1  # the COUNT() only: no REST page of records
    assert after.query_more == before.query_more
    assert after.job_results - before.job_results == math.ceil(len(records) / 120) == 3
    assert after.jobs_deleted - before.jobs_deleted == 1  # read whole: not left for 7 days
    assert len(records) == 312
    assert [(r.key, r.data, r.deleted) for r in records] == [(r.key, r.data, r.deleted) for r in rest_records]
    assert checkpoints[-1].cursor == rest_checkpoints[-1].cursor
    assert len(checkpoints) == 3
    by_id = {r.key: r for r in records}
    edited = large.records("Account")
    assert by_id[edited[0]["Id"]].deleted
    assert by_id[edited[1]["Id"]].data["Owner"] is None
    assert by_id[edited[1]["Id"]].data["Description"] is None
    assert by_id[edited[2]["Id"]].data["Name"] == 'Edge "Audio", Inc.\nAustin'
    sample = by_id[edited[3]["Id"]].data
    assert sample["Owner"] == {"Name": "Avery Admin", "IsActive": True}
    assert isinstance(sample["AnnualRevenue"], float)
    assert sample["NumberOfEmployees"] == 9000
    assert isinstance(sample["NumberOfEmployees"], int)
    assert sample["IsDeleted"] is False
    assert sample["CreatedDate"].endswith(".000+0000")


def test_reads_at_or_below_the_threshold_and_incremental_reads_stay_on_rest(large: Sandbox) -> None:
    _, checkpoints = large.read("Account", fields=FIELDS, **{**BULK, "bulk_threshold": 312})
    assert large.org.stats.query_jobs == 0

    large.read("Account", checkpoints[-1].cursor, fields=FIELDS, **{**BULK, "bulk_threshold": 0})

    assert large.org.stats.query_jobs == 0


def test_a_read_resumed_from_a_bulk_checkpoint_misses_nothing(large: Sandbox) -> None:
    everything, _ = large.read("Account", fields=FIELDS, bulk_threshold=None)
    records, checkpoints = large.read("Account", fields=FIELDS, **BULK)

    rest, _ = large.read("Account", checkpoints[0].cursor, fields=FIELDS, **BULK)

    assert {r.key for r in records[:120]} | {r.key for r in rest} == {r.key for r in everything}


def test_a_failed_query_job_is_a_clear_error(large: Sandbox) -> None:
    large.org.fail_next_query_job("Retried more than 15 times")

    with pytest.raises(SourceError) as failed:
        large.read("Account", fields=FIELDS, **BULK)

    message = str(failed.value)
    assert "Bulk API 2.0 query job 750" in message
    assert "ended Failed (Retried more than 15 times)" in message
    assert "bulk_threshold: null" in message


def test_spent_query_jobs_are_a_limit_error(large: Sandbox) -> None:
    large.org.query_jobs.jobs_per_day = 0

    with pytest.raises(SourceLimitExceeded) as refused:
        large.read("Account", fields=FIELDS, **BULK)

    assert "Bulk API 2.0 query jobs for the last 24 hours are spent" in str(refused.value)


def test_polls_until_the_job_completes(large: Sandbox) -> None:
    large.org.query_jobs.processing_time = timedelta(seconds=0.3)

    records, _ = large.read("Account", fields=("Name",), **{**BULK, "bulk_poll_seconds": 0.1})

    assert len(records) == 312
    assert large.org.stats.query_jobs == 1


def test_transient_failures_of_result_sets_are_retried(large: Sandbox) -> None:
    connector = large.connector(**BULK)
    items = connector.read("Account", None, ("Name",))
    first = [next(items) for _ in range(121)]  # the first set of results and its checkpoint
    large.org.fail_next(2, status=503)

    rest = list(items)

    keys = [i.key for i in [*first, *rest] if isinstance(i, Record)]
    assert len(keys) == len(set(keys)) == 312
    assert large.org.stats.query_jobs == 1
    assert large.org.stats.job_results == 3


def test_compound_fields_stay_on_rest(large: Sandbox) -> None:
    accounts = large.records("Account")
    accounts[3]["ShippingAddress"] = {"city": "Austin", "country": "USA"}
    large.write("Account", accounts)

    records, _ = large.read("Account", fields=("Name", "ShippingAddress"), **BULK)

    assert len(records) == 312
    assert large.org.stats.query_jobs == 0


def _job(large: Sandbox, body: dict[str, Any]) -> Any:
    base = large.env["SALESFORCE_INSTANCE_URL"] + "/services/data/v59.0/jobs/query"
    headers = {"Authorization": f"Bearer {large.env['SALESFORCE_SESSION_ID']}"}
    session = requests.Session()
    session.headers.update(headers)
    return base, session, session.post(base, json=body)


def test_emulator_query_job_life_cycle(large: Sandbox) -> None:
    large.org.query_jobs.processing_time = timedelta(minutes=1)
    query = "SELECT Id, Name, Description FROM Account"
    base, session, created = _job(large, {"operation": "queryAll", "query": query})
    job = created.json()
    assert created.status_code == 200
    assert job["state"] == "UploadComplete"
    assert job["object"] == "Account"

    assert session.get(f"{base}/{job['id']}").json()["state"] == "InProgress"
    early = session.get(f"{base}/{job['id']}/results")
    assert early.status_code == 400
    assert session.delete(f"{base}/{job['id']}").status_code == 400

    large.org.advance_clock(timedelta(minutes=1))
    assert session.get(f"{base}/{job['id']}").json()["state"] == "JobComplete"
    first = session.get(f"{base}/{job['id']}/results", params={"maxRecords": 300})
    assert first.headers["Sforce-NumberOfRecords"] == "300"
    lines = first.text.split("\n")
    assert lines[0] == '"Id","Name","Description"'
    no_description = large.records("Account")[1]
    assert lines[2] == f'"{no_description["Id"]}","{no_description["Name"]}",'  # null: empty, unquoted
    again = session.get(f"{base}/{job['id']}/results", params={"maxRecords": 300})
    assert again.headers["Sforce-Locator"] == first.headers["Sforce-Locator"] != "null"
    last = session.get(
        f"{base}/{job['id']}/results", params={"maxRecords": 300, "locator": first.headers["Sforce-Locator"]}
    )
    assert last.headers["Sforce-NumberOfRecords"] == "12"
    assert last.headers["Sforce-Locator"] == "null"
    other_version = session.get(f"{base.replace('v59.0', 'v60.0')}/{job['id']}/results")
    assert other_version.status_code == 409

    assert session.delete(f"{base}/{job['id']}").status_code == 204
    assert session.get(f"{base}/{job['id']}").status_code == 404


def test_emulator_abort_retention_and_limits(large: Sandbox) -> None:
    large.org.query_jobs.processing_time = timedelta(minutes=1)
    base, session, created = _job(large, {"operation": "query", "query": "SELECT Id FROM Account"})
    job_id = created.json()["id"]

    aborted = session.patch(f"{base}/{job_id}", json={"state": "Aborted"})

    assert aborted.json()["state"] == "Aborted"
    assert session.get(f"{base}/{job_id}/results").status_code == 400
    large.org.advance_clock(timedelta(days=7))
    assert session.get(f"{base}/{job_id}").status_code == 404  # results lifespan: 7 days

    counted = _job(large, {"operation": "query", "query": "SELECT COUNT() FROM Account"})[2]
    assert counted.status_code == 400
    assert counted.json()[0]["errorCode"] == "FUNCTIONALITY_NOT_ENABLED"
    unknown = _job(large, {"operation": "query", "query": "SELECT Nope FROM Account"})[2]
    assert unknown.json()[0]["errorCode"] == "INVALID_FIELD"

    large.org.query_jobs.jobs_per_day = 1
    assert _job(large, {"operation": "query", "query": "SELECT Id FROM Account"})[2].status_code == 200
    refused = _job(large, {"operation": "query", "query": "SELECT Id FROM Account"})[2]
    assert refused.status_code == 403
    assert "DailyBulkV2QueryJobs" in refused.json()[0]["message"]
    large.org.advance_clock(timedelta(days=1))
    assert _job(large, {"operation": "query", "query": "SELECT Id FROM Account"})[2].status_code == 200
