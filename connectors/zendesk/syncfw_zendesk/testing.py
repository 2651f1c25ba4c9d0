"""The acceptance-kit harness of the Zendesk connector: :class:`ZendeskHarness`.

It runs :class:`~syncfw_zendesk.emulator.ZendeskEmulator` on a copy of the seed data it ships and
changes source data by rewriting the seed files, which the emulator reads again on the next
request. Use it with the kit::

    from syncfw.testing import connector_tests
    from syncfw_zendesk.testing import ZendeskHarness

    TestZendeskKit = connector_tests(ZendeskHarness)
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar

from syncfw.connector import Connector
from syncfw.testing import EmulatorHarness
from syncfw_zendesk.connector import ZendeskConnector
from syncfw_zendesk.emulator import ZendeskAccount, ZendeskEmulator, encode_cursor
from syncfw_zendesk.streams import STREAMS, export_time

_FIELDS = {
    "tickets": ["subject", "status", "priority", "requester_id", "organization_id", "tags"],
    "users": ["name", "email", "role", "organization_id"],
    "organizations": ["name", "domain_names", "tags"],
}


_ARCHIVE_AFTER = 30 * 86400  # the seed's closed tickets (October-November 2026) are archived


def format_time(stamp: int) -> str:
    """Epoch seconds as Zendesk writes times: ``2026-11-02T09:15:40Z``."""
    return datetime.fromtimestamp(stamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class ZendeskHarness(EmulatorHarness[ZendeskEmulator]):
    """Starts the Zendesk emulator over HTTPS and edits its seed files for the kit's checks.

    ``start`` sets ``REQUESTS_CA_BUNDLE``, ``ZENPY_FORCE_NETLOC`` and ``ZENPY_FORCE_SCHEME`` (zenpy
    reads them at every request); ``stop`` restores them. The export limits are raised to 1,000
    requests a minute, as the kit reads far more often than an integration would; 429 answers
    still come from :meth:`rate_limit_next`. Changed items get an ``updated_at``
    newer than every item of the stream but at least ten minutes old, because the export leaves
    out items changed in the last minute. Tickets are archived 30 days after they close (Zendesk
    does it after 120), so the seed's closed tickets are archived and List Tickets leaves them out,
    as it does in a real account.

    :meth:`add_late_record` is not implemented: Zendesk documents no change that becomes visible
    after a later one. Its incremental exports leave out the last minute ("any items that were
    created or changed within the minute prior to your request are excluded. This ensures the
    accuracy of the data": Zendesk, "Using the Incremental Export API"), so what an export
    returns is settled, and the connector reads on from the export's own cursor.
    """

    connector_class: ClassVar[type[Connector]] = ZendeskConnector
    streams: ClassVar[tuple[str, ...]] = ("tickets", "users", "organizations")
    rate_limit_retry_after: ClassVar[float] = 1.0
    # the kit reads far more often than 10 (time-based) or 20 (cursor-based) exports a minute
    emulator_options: ClassVar[Mapping[str, str]] = {"zendesk_export_limit": "1000"}
    client_env: ClassVar[tuple[str, ...]] = ("ZENPY_FORCE_NETLOC", "ZENPY_FORCE_SCHEME")

    def __init__(self) -> None:
        super().__init__(ZendeskEmulator)

    @property
    def account(self) -> ZendeskAccount:
        """The running emulator's account (its knobs)."""
        if self.emulator.account is None:
            raise RuntimeError("the harness is not started")
        return self.emulator.account

    def started(self) -> None:
        """Archive closed tickets after 30 days (see the class docstring)."""
        self.account.archive_after = _ARCHIVE_AFTER

    def config(self, *, valid_credentials: bool = True) -> dict[str, Any]:
        """API token credentials of the sandbox admin; pages of 5 items so every read spans pages."""
        token = self.env["ZENDESK_API_TOKEN"] if valid_credentials else "not-the-sandbox-token"
        return {
            "subdomain": self.env["ZENDESK_SUBDOMAIN"],
            "email": self.env["ZENDESK_EMAIL"],
            "api_token": token,
            "page_size": 5,
        }

    def fields(self, stream: str) -> list[str]:
        """Fields a mapping of ``stream`` would read."""
        return list(_FIELDS[stream])

    def add_record(self, stream: str) -> str:
        """Add an item like the stream's last one, with a new id; return its key."""
        items = self._items(stream)
        item = dict(items[-1], id=max(int(i["id"]) for i in items) + 1, created_at=None)
        item.update(self._new_values(stream, len(items)))
        self._write(stream, [*items, self._stamped(stream, items, item)])
        return str(item["id"])

    def change_record(self, stream: str) -> str:
        """Change a field of the first item that is not deleted; return its key."""
        items = self._items(stream)
        index = self._first_live(stream, items)
        changed = dict(items[index], **self._changed_values(stream, items[index]))
        items[index] = self._stamped(stream, items, changed)
        self._write(stream, items)
        return str(changed["id"])

    def delete_record(self, stream: str) -> str:
        """Delete the first live item as Zendesk reports it (see :mod:`syncfw_zendesk.streams`)."""
        items = self._items(stream)
        index = self._first_live(stream, items)
        stamp = self._next_stamp(stream, items)
        deletions: dict[str, dict[str, Any]] = {
            "tickets": {"status": "deleted"},
            "users": {"active": False},
            "organizations": {"deleted_at": format_time(stamp)},
        }
        deletion = deletions[stream]
        items[index] = self._stamped(stream, items, dict(items[index], **deletion))
        self._write(stream, items)
        return str(items[index]["id"])

    def hard_delete_record(self, stream: str) -> str:
        """Remove the first live item for good (:meth:`ZendeskAccount.delete_permanently`, as a
        permanent deletion of a deleted ticket or user does): no export reports it any more."""
        items = self._items(stream)
        item_id = int(items[self._first_live(stream, items)]["id"])
        self.account.delete_permanently(stream, item_id)
        return str(item_id)

    def rate_limit_next(self, requests: int) -> None:
        """Answer the next ``requests`` requests with 429, ``Retry-After: 1`` and the export limit's body."""
        self.account.rate_limit_next(requests, retry_after=self.rate_limit_retry_after)

    def future_cursor(self, stream: str, cursor: str) -> str:
        """A cursor past every item: for cursor-based exports an ``after_cursor`` the emulator issues
        for a time eight years ahead (Zendesk's cursors are opaque); else the default."""
        if STREAMS[stream].pagination == "time":
            return super().future_cursor(stream, cursor)
        return encode_cursor(int(time.time()) + 8 * 365 * 86400, 0)

    def _items(self, stream: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = json.loads((self.data_dir / f"{stream}.json").read_text())
        return items

    def _write(self, stream: str, items: list[dict[str, Any]]) -> None:
        path = self.data_dir / f"{stream}.json"
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(items, indent=2))
        os.replace(temporary, path)

    def _first_live(self, stream: str, items: list[dict[str, Any]]) -> int:
        is_deleted = STREAMS[stream].is_deleted
        return next(n for n, item in enumerate(items) if not is_deleted(item) and item.get("role") != "admin")

    @staticmethod
    def _next_stamp(stream: str, items: list[dict[str, Any]]) -> int:
        latest = max(export_time(STREAMS[stream], item) or 0 for item in items)
        return max(latest + 1, int(time.time()) - 600)

    def _stamped(self, stream: str, items: list[dict[str, Any]], item: dict[str, Any]) -> dict[str, Any]:
        stamp = self._next_stamp(stream, items)
        item = dict(
            item, updated_at=format_time(stamp), created_at=item.get("created_at") or format_time(stamp)
        )
        if stream == "tickets":
            item["generated_timestamp"] = stamp
        return item

    @staticmethod
    def _new_values(stream: str, count: int) -> dict[str, Any]:
        if stream == "tickets":
            subject = f"Kit ticket {count + 1}"
            return {"subject": subject, "raw_subject": subject, "status": "new", "assignee_id": None}
        if stream == "users":
            return {
                "name": f"Kit User {count + 1}",
                "email": f"kit.user{count + 1}@example.net",
                "active": True,
            }
        return {"name": f"Kit Organization {count + 1}", "domain_names": [f"kit{count + 1}.example.net"]}

    @staticmethod
    def _changed_values(stream: str, item: dict[str, Any]) -> dict[str, Any]:
        if stream == "tickets":
            return {"status": "solved" if item.get("status") != "solved" else "closed"}
        if stream == "users":
            return {"name": f"{item['name']} (changed)"}
        return {"notes": f"{item.get('notes') or ''}changed by the kit".strip()}
