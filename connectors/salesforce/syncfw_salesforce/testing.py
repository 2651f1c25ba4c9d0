"""The acceptance kit's harness for syncfw-salesforce (see ``syncfw.testing``).

:class:`SalesforceHarness` serves the emulator over HTTPS with a private CA in the kit's work
directory, seeded with a copy of the sample org the emulator ships plus generated records so that reads
span more than one page. Source changes are made the way the sandbox documents them: by editing
the seed files, with a ``SystemModstamp`` later than every record's; a change that commits late and
a hard delete through the org's data controls (:meth:`SalesforceOrg.begin_transaction`,
:meth:`SalesforceOrg.hard_delete`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from datetime import timedelta
from typing import Any, ClassVar

from syncfw.testing import EmulatorHarness
from syncfw_salesforce.connector import SalesforceConnector
from syncfw_salesforce.datetimes import format_datetime, parse_datetime
from syncfw_salesforce.emulator import SalesforceEmulator, SalesforceOrg
from syncfw_salesforce.emulator.ids import make_id

# the field a change edits: Contact's Name is derived from FirstName and LastName
_CHANGED_FIELD = {"Account": "Name", "Contact": "LastName"}


class SalesforceHarness(EmulatorHarness[SalesforceEmulator]):
    """The Salesforce REST emulator, ``Account`` and ``Contact`` streams, pages of 200 records.

    First reads go through Bulk API 2.0 query jobs (``bulk_threshold`` 200, below the about 260
    records of each stream; sets of 100 results), incremental reads through REST ``queryAll``, so
    the kit holds both paths to its guarantees. Query jobs complete at once
    (:attr:`SalesforceOrg.query_jobs`), so no read waits.

    ``has_rate_limits`` is False because Salesforce has no rate-limit response a client can wait
    out: the REST API's limits are the org's rolling 24-hour allowance of API requests and a cap
    on concurrent long-running requests, and both are refused with ``403 REQUEST_LIMIT_EXCEEDED``
    and no ``Retry-After`` (REST API Developer Guide, "Status Codes and Error Responses";
    Salesforce Developer Limits, "API Request Limits and Allocations"). Salesforce never answers
    429. The connector reports that refusal as :class:`~syncfw.errors.SourceLimitExceeded` and
    the run stops, which is right: waiting seconds does not bring a daily allowance back. A
    ``503`` is a transient failure, retried as one, not a rate limit. The connector's own tests
    cover both (``tests/test_salesforce_errors.py``).

    Attributes:
        generated: accounts (and about as many contacts) generated besides the seed files, so
            a read of 200-record pages yields a checkpoint between pages.
    """

    connector_class = SalesforceConnector
    streams = ("Account", "Contact")
    has_rate_limits = False
    generated = 250
    emulator_options: ClassVar[Mapping[str, str]] = {"bulk": str(generated)}

    def __init__(self) -> None:
        super().__init__(SalesforceEmulator)
        self._touched: set[str] = set()
        self._added = 0

    @property
    def org(self) -> SalesforceOrg:
        """The running org, for tests that turn its knobs."""
        if self.emulator.org is None:
            raise RuntimeError("the Salesforce emulator is not running: call start() first")
        return self.emulator.org

    def config(self, *, valid_credentials: bool = True) -> dict[str, Any]:
        """A session-id config; the refused one has a well-formed session id the org never issued."""
        session_id = self.env["SALESFORCE_SESSION_ID"] if valid_credentials else "00DREFUSED0000" + "x" * 40
        return {
            "session_id": session_id,
            "instance_url": self.env["SALESFORCE_INSTANCE_URL"],
            "batch_size": 200,
            "bulk_threshold": 200,
            "bulk_page_size": 100,
            "bulk_poll_seconds": 0,
        }

    def started(self) -> None:
        """Make Bulk API 2.0 query jobs complete as soon as they are created."""
        self.org.query_jobs.processing_time = timedelta(0)

    def fields(self, stream: str) -> list[str]:
        """What the shipped mappings read, relationship paths included."""
        return {"Account": ["Name", "Industry", "Owner.Name"], "Contact": ["Name", "Email", "Account.Name"]}[
            stream
        ]

    def add_record(self, stream: str) -> str:
        """Append a record with a new Id and the newest ``SystemModstamp``."""
        records = self._records(stream)
        record = self._new_record(stream, records, self._next_stamp(records))
        self._write(stream, [*records, record])
        return str(record["Id"])

    def add_late_record(self, stream: str) -> str:
        """Create a record in a transaction that started a second before the newest change (its
        ``SystemModstamp``) and commits only now (:meth:`SalesforceOrg.begin_transaction`), as
        Salesforce commits rows out of ``SystemModstamp`` order."""
        records = self._records(stream)
        newest = max(parse_datetime(record["SystemModstamp"]) for record in records)
        record = self._new_record(stream, records, format_datetime(newest - timedelta(seconds=1)))
        self.org.begin_transaction(stream, record["Id"])
        self._write(stream, [*records, record])
        self.org.commit(stream, record["Id"])
        return str(record["Id"])

    def hard_delete_record(self, stream: str) -> str:
        """Delete a record permanently, leaving no ``IsDeleted`` row (:meth:`SalesforceOrg.hard_delete`)."""
        record = self._untouched(self._records(stream))
        self.org.hard_delete(stream, record["Id"])
        self._touched.add(record["Id"])
        return str(record["Id"])

    def change_record(self, stream: str) -> str:
        """Edit one field of a record not touched before and give it the newest ``SystemModstamp``."""
        return self._edit(
            stream, lambda record: {_CHANGED_FIELD[stream]: f"{record.get(_CHANGED_FIELD[stream])} (changed)"}
        )

    def delete_record(self, stream: str) -> str:
        """Mark a record ``IsDeleted`` with the newest ``SystemModstamp``, as the Recycle Bin keeps it for ``queryAll``."""
        return self._edit(stream, lambda record: {"IsDeleted": True})

    def rate_limit_next(self, requests: int) -> None:
        """Not available: Salesforce has no rate-limit response to wait out (see the class docstring)."""
        raise NotImplementedError(
            "Salesforce answers no 429; REQUEST_LIMIT_EXCEEDED (403) is not waited out, it stops the run"
        )

    def _records(self, stream: str) -> list[dict[str, Any]]:
        records: list[dict[str, Any]] = json.loads(
            (self.data_dir / f"{stream}.json").read_text(encoding="utf-8")
        )
        return records

    def _write(self, stream: str, records: list[dict[str, Any]]) -> None:
        # a new file renamed over the old one: the org never reads a half-written file
        path = self.data_dir / f"{stream}.json"
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(records, indent=1), encoding="utf-8")
        os.replace(temporary, path)

    def _next_stamp(self, records: list[dict[str, Any]]) -> str:
        newest = max(parse_datetime(record["SystemModstamp"]) for record in records)
        return format_datetime(newest + timedelta(seconds=1))

    def _new_record(self, stream: str, records: list[dict[str, Any]], stamp: str) -> dict[str, Any]:
        template = records[0]
        self._added += 1
        record_id = make_id(template["Id"][:3], "kt", self._added)
        record: dict[str, Any] = {
            "attributes": {
                **template["attributes"],
                "url": template["attributes"]["url"].replace(template["Id"], record_id),
            },
            "Id": record_id,
            "IsDeleted": False,
            "OwnerId": template.get("OwnerId"),
            "CreatedDate": stamp,
            "SystemModstamp": stamp,
        }
        if stream == "Contact":
            record.update(
                FirstName="Kit", LastName=f"Added {self._added}", AccountId=template.get("AccountId")
            )
        else:
            record["Name"] = f"Kit Added {self._added}"
        self._touched.add(record_id)
        return record

    def _untouched(self, records: list[dict[str, Any]]) -> dict[str, Any]:
        return next(r for r in records if not r.get("IsDeleted") and r["Id"] not in self._touched)

    def _edit(self, stream: str, change: Any) -> str:
        records = self._records(stream)
        record = self._untouched(records)
        record.update(change(record), SystemModstamp=self._next_stamp(records))
        self._write(stream, records)
        self._touched.add(record["Id"])
        return str(record["Id"])
