"""The Zendesk source connector: tickets, users and organizations through the incremental export API.

Each read follows one incremental export page by page (Zendesk, "Incremental Exports",
https://developer.zendesk.com/api-reference/ticketing/ticket-management/incremental_exports/):
the cursor-based export for tickets and users, the time-based one for organizations (see
:mod:`syncfw_zendesk.streams`). A checkpoint follows every page; see :mod:`syncfw_zendesk.cursors`
for its format. Zendesk leaves out items changed in the minute before a request; they come with
the next read.

The key scan (:meth:`ZendeskConnector.scan_keys`) lists what exists through the List endpoints,
which have no such delay, plus, for tickets, the export, which alone returns archived tickets.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, ClassVar

from pydantic import BaseModel

from syncfw import SourceAuthError, SourceError
from syncfw.connector import Checkpoint, Connector, Record, StreamSpec, UnknownNames, did_you_mean
from syncfw_zendesk.client import ZendeskClient
from syncfw_zendesk.config import ZendeskConfig
from syncfw_zendesk.cursors import ExportPosition
from syncfw_zendesk.ratelimits import RateLimits
from syncfw_zendesk.streams import CUSTOM_FIELDS, STREAMS, ExportStream, export_time

log = logging.getLogger(__name__)


class ZendeskConnector(Connector):
    """Reads one Zendesk Support account with zenpy.

    Streams: ``tickets``, ``users``, ``organizations``. Records are the export's items as Zendesk
    sends them (every key, numbers as numbers), keyed by ``str(item["id"])``, e.g.::

        {"id": 35, "subject": "Generator fails to start after outage", "status": "open",
         "priority": "high", "requester_id": 10003, "organization_id": 20001,
         "created_at": "2026-10-28T14:02:11Z", "updated_at": "2026-11-02T09:15:40Z",
         "generated_timestamp": 1793610940, "tags": ["generator"], "custom_fields": [...], ...}

    Tickets name their organization by ``organization_id`` only; a mapping that needs the
    organization's name or ``domain_names`` relates the ticket to the ``organizations`` stream
    (the engine resolves relations through its state), so no read here fetches more than its export.

    Deleted tickets (``status: "deleted"``), users (``active: false``) and organizations
    (``deleted_at`` set) come as records with ``deleted=True`` and their last data.
    Rate limits and transient failures: see :class:`~syncfw_zendesk.client.ZendeskClient`.
    """

    name = "zendesk"
    streams: ClassVar[dict[str, str]] = {
        "tickets": "tickets, by the cursor-based incremental export; deleted tickets as deletes",
        "users": "users, by the cursor-based incremental export; deactivated users as deletes",
        "organizations": "organizations, by the time-based incremental export; deleted ones as deletes",
    }
    config_model = ZendeskConfig
    maturity = "beta"
    personal_data: ClassVar[dict[str, tuple[str, ...]]] = {
        "users": ("name", "email", "phone", "alias", "photo", "details", "notes", "user_fields"),
        "tickets": ("requester_id", "submitter_id", "assignee_id", "collaborator_ids", "via.source.from"),
    }

    def __init__(self, config: BaseModel) -> None:
        if not isinstance(config, ZendeskConfig):
            raise TypeError(f"ZendeskConnector needs a ZendeskConfig, got {type(config).__name__}")
        super().__init__(config)
        self.settings = config
        self._client: ZendeskClient | None = None

    @property
    def rate_limits(self) -> dict[str, RateLimits]:
        """The rate limits Zendesk last reported, by URL path (empty before the first request)."""
        return self._client.rate_limits if self._client is not None else {}

    def check(self) -> None:
        """Read ``/api/v2/users/me.json`` and check that the credentials are an admin's.

        Raises:
            syncfw.errors.SourceAuthError: credentials refused, or not an admin's (the incremental
                export API is allowed for admins only).
            syncfw.errors.SourceError: any other failure.
        """
        me = self._api().get_json("users/me.json", {}, what="check of the credentials").get("user")
        if not isinstance(me, Mapping) or me.get("id") is None:
            raise SourceAuthError(
                f"Zendesk did not recognise the credentials for https://{self.settings.subdomain}.zendesk.com "
                "(it answered as an anonymous user): check the email and API token, or the OAuth token"
            )
        if me.get("role") != "admin":
            raise SourceAuthError(
                f"Zendesk user {me.get('email') or me.get('id')} is {me.get('role')!r}, not an admin: "
                "the incremental export API is allowed for admins only"
            )
        log.info("Zendesk: authenticated as %s (admin)", me.get("email") or me.get("id"))

    def stream(self, name: str) -> StreamSpec:
        """Describe ``tickets``, ``users`` or ``organizations`` (no request is made).

        Raises:
            syncfw.errors.SourceError: any other name.
        """
        return self._stream(name).spec()

    def unknown_names(self, stream: str, fields: Sequence[str]) -> UnknownNames:
        """A stream other than ``tickets``, ``users`` and ``organizations``, and the field paths
        whose first part is not a field of the stream's items as the Tickets, Users and
        Organizations APIs document them (``subject``, ``domain_names``, ...). A path into the
        custom fields of an organization or user (``organization_fields.sla_level``) is checked
        against the keys List Organization Fields or List User Fields gives (one request,
        ``GET /api/v2/organization_fields``, ``/api/v2/user_fields``). Other nested paths
        (``via.channel``) are left to the read.

        Raises:
            syncfw.errors.SourceError: Zendesk could not be asked (see
                :meth:`syncfw_zendesk.client.ZendeskClient.get_json`).
        """
        export = STREAMS.get(stream)
        if export is None:
            return UnknownNames(
                stream=f"Zendesk has no stream named {stream!r} in this connector: use one of "
                f"{', '.join(STREAMS)}{did_you_mean(stream, list(STREAMS))}"
            )
        unknown = {}
        custom = CUSTOM_FIELDS.get(stream)
        keys: list[str] | None = None
        for path in fields:
            head, _, rest = path.partition(".")
            if head not in export.fields:
                unknown[path] = f"Zendesk {stream} have no field {head!r}{did_you_mean(head, export.fields)}"
            elif head == custom and rest:
                if keys is None:
                    keys = self._custom_field_keys(custom)
                key = rest.partition(".")[0]
                if key not in keys:
                    unknown[path] = (
                        f"Zendesk {stream} have no custom field with key {key!r} (keys: "
                        f"{', '.join(keys) or 'none'}){did_you_mean(key, keys)}"
                    )
        return UnknownNames(fields=unknown)

    def read(self, stream: str, cursor: str | None, fields: Sequence[str]) -> Iterator[Record | Checkpoint]:
        """Yield the items of ``stream`` changed since the cursor, page by page, each page followed
        by a checkpoint.

        ``fields`` does not narrow the read: export pages always hold whole items.

        Raises:
            syncfw.errors.SourceError: unknown stream or a cursor this connector did not write;
                subclasses as described in :func:`syncfw_zendesk.errors.translate` and
                :meth:`syncfw_zendesk.client.ZendeskClient.get_json`.
        """
        export = self._stream(stream)
        try:
            position = ExportPosition.decode(cursor, default_start=self.settings.start_time)
            if export.pagination == "time" and position.start_time is None:
                raise ValueError(f"{cursor!r} is a cursor of a cursor-based export, not of a time-based one")
        except ValueError as exc:
            raise SourceError(
                f"the saved cursor of Zendesk stream {stream!r} is not one this connector wrote ({exc}); "
                "reset the stream's cursor to read it in full again"
            ) from None
        if export.pagination == "cursor":
            yield from self._read_cursor_export(export, position)
        else:
            yield from self._read_time_export(export, position)

    def scan_keys(self, stream: str) -> Iterator[str]:
        """The ids of every item of ``stream`` that exists now, as strings, each once.

        Reads the stream's List endpoint (``GET /api/v2/tickets``, ``/users``, ``/organizations``)
        with cursor pagination, 100 items a page: it has no export delay, so an item changed in
        the last minute is listed too. List Tickets leaves out archived tickets (closed for 120
        days; Tickets API, "List Tickets", and Zendesk Support, "About ticket archiving"), so for
        tickets the whole incremental export (from ``start_time=0``, 1,000 a page, which includes
        archived tickets) is read as well and both lists are joined. Items either one reports as
        deleted are left out (see :mod:`syncfw_zendesk.streams`). Every key is gathered before
        the first is yielded: a failure never leaves a partial list.

        The one gap Zendesk leaves: an *archived* ticket changed (e.g. redacted) in the minute
        before the scan is in neither list (the export holds it back for that minute).

        Cost per 10,000 items: 100 list requests (List Tickets: its own limit of 100 a minute),
        plus for tickets 10 export requests (10 or 20 a minute).

        Raises:
            syncfw.errors.SourceError: unknown stream, or the source failed (subclasses as for
                :meth:`read`).
        """
        export = self._stream(stream)
        keys = set(self._list_keys(export))
        if export.archives:
            exported = self._read_cursor_export(export, ExportPosition(start_time=0))
            keys.update(item.key for item in exported if isinstance(item, Record) and not item.deleted)
        return iter(sorted(keys, key=int))

    def close(self) -> None:
        """Close the HTTP session."""
        if self._client is not None:
            self._client.close()
            self._client = None

    def _read_cursor_export(
        self, export: ExportStream, position: ExportPosition
    ) -> Iterator[Record | Checkpoint]:
        """Follow ``after_cursor`` until ``end_of_stream``; a null ``after_cursor`` keeps the last one."""
        what = f"export of {export.name}"
        params: dict[str, str | int] = {"per_page": self.settings.page_size}
        if position.after_cursor is not None:
            params["cursor"] = position.after_cursor
        else:
            params["start_time"] = position.start_time or 0
        while True:
            page = self._api().get_json(export.path, params, what=what)
            yield from self._records(export, page, what)
            after = page.get("after_cursor")
            if isinstance(after, str) and after:
                position = ExportPosition(after_cursor=after)
            yield Checkpoint(export.name, position.encode())
            if page.get("end_of_stream", True) is not False or position.after_cursor is None:
                return
            if params.get("cursor") == position.after_cursor:
                raise SourceError(f"Zendesk {what}: the export did not move past cursor {after!r}")
            params = {"per_page": self.settings.page_size, "cursor": position.after_cursor}

    def _read_time_export(
        self, export: ExportStream, position: ExportPosition
    ) -> Iterator[Record | Checkpoint]:
        """Follow ``end_time`` until ``end_of_stream``, skipping items already delivered at the boundary."""
        what = f"export of {export.name}"
        start = position.start_time or 0
        latest, latest_ids = start, set(position.skip)
        while True:
            page = self._api().get_json(
                export.path, {"start_time": start, "per_page": self.settings.page_size}, what=what
            )
            delivered = 0
            for record in self._records(export, page, what):
                stamp = export_time(export, record.data)
                if stamp is not None and stamp == latest and record.key in latest_ids:
                    continue
                if stamp is not None and stamp > latest:
                    latest, latest_ids = stamp, set()
                if stamp == latest:
                    latest_ids.add(record.key)
                delivered += 1
                yield record
            end_time = page.get("end_time")
            next_start = end_time if isinstance(end_time, int) and end_time >= start else start
            skip = frozenset(latest_ids) if next_start == latest else frozenset()
            yield Checkpoint(export.name, ExportPosition(start_time=next_start, skip=skip).encode())
            if page.get("end_of_stream", True) is not False or not page.get("next_page"):
                return
            if next_start == start and not delivered:
                raise SourceError(f"Zendesk {what}: the export did not move past start_time {start}")
            start = next_start

    def _list_keys(self, export: ExportStream) -> Iterator[str]:
        """The keys of the items a List endpoint returns, not deleted, following ``meta.after_cursor``."""
        what = f"list of {export.name}"
        params: dict[str, str | int] = {"page[size]": 100}
        while True:
            page = self._api().get_json(export.list_path, params, what=what)
            yield from (record.key for record in self._records(export, page, what) if not record.deleted)
            meta = page.get("meta")
            if not isinstance(meta, Mapping) or meta.get("has_more") is not True:
                return
            after = meta.get("after_cursor")
            if not isinstance(after, str) or not after or after == params.get("page[after]"):
                raise SourceError(f"Zendesk {what}: has_more is true but the page has no new after_cursor")
            params = {"page[size]": 100, "page[after]": after}

    def _records(self, export: ExportStream, page: Mapping[str, Any], what: str) -> Iterator[Record]:
        items = page.get(export.name)
        if not isinstance(items, list):
            raise SourceError(f"Zendesk {what}: the page has no {export.name!r} array")
        for item in items:
            if not isinstance(item, dict) or item.get("id") is None:
                raise SourceError(f"Zendesk {what}: an item has no id")
            yield Record(export.name, str(item["id"]), item, deleted=export.is_deleted(item))

    def _stream(self, name: str) -> ExportStream:
        try:
            return STREAMS[name]
        except KeyError:
            known = ", ".join(STREAMS)
            raise SourceError(
                f"Zendesk has no stream named {name!r} in this connector: use one of {known}"
            ) from None

    def _custom_field_keys(self, resource: str) -> list[str]:
        """The keys of every custom field List Organization Fields or List User Fields gives,
        following ``next_page`` (offset pagination, 100 a page)."""
        keys: list[str] = []
        params: dict[str, str | int] = {"per_page": 100, "page": 1}
        while True:
            page = self._api().get_json(f"{resource}.json", params, what=f"list of {resource}")
            keys += [str(field["key"]) for field in page.get(resource) or [] if field.get("key")]
            if not page.get("next_page"):
                return keys
            params["page"] = int(params["page"]) + 1

    def _api(self) -> ZendeskClient:
        if self._client is None:
            self._client = ZendeskClient(self.settings)
        return self._client
