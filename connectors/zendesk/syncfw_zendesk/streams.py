"""The streams: which incremental export each one reads, and how a deleted item looks.

=================  ==========================================  ============  =========================
stream             endpoint (under ``/api/v2/``)                pagination    deleted when
=================  ==========================================  ============  =========================
``tickets``        ``incremental/tickets/cursor.json``          cursor        ``status == "deleted"``
``users``          ``incremental/users/cursor.json``            cursor        ``active == false``
``organizations``  ``incremental/organizations.json``           time          ``deleted_at`` is set
=================  ==========================================  ============  =========================

The key scan (:meth:`~syncfw_zendesk.connector.ZendeskConnector.scan_keys`) reads each stream's
List endpoint (``tickets.json``, ``users.json``, ``organizations.json``), and for tickets the
export too, because List Tickets leaves out archived tickets (see :attr:`ExportStream.archives`).

Zendesk offers cursor-based exports for tickets and users only; organizations have the time-based
export (``start_time``, ``end_time``, ``next_page``) (Zendesk, "Using the Incremental Export API",
https://developer.zendesk.com/documentation/ticketing/managing-tickets/using-the-incremental-export-api).
Deleted tickets stay in the ticket export with ``status: "deleted"``; a deleted user has
``active: false`` (Users API, "false if the user has been deleted"); organizations carry
``deleted_at``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from syncfw.connector import StreamSpec

Pagination = Literal["cursor", "time"]

TICKET_FIELDS = (
    "id", "url", "external_id", "via", "created_at", "updated_at", "generated_timestamp", "type",
    "subject", "raw_subject", "description", "priority", "status", "recipient", "requester_id",
    "submitter_id", "assignee_id", "organization_id", "group_id", "collaborator_ids", "follower_ids",
    "email_cc_ids", "forum_topic_id", "problem_id", "has_incidents", "is_public", "due_at", "tags",
    "custom_fields", "satisfaction_rating", "sharing_agreement_ids", "custom_status_id", "fields",
    "followup_ids", "ticket_form_id", "brand_id", "allow_channelback", "allow_attachments",
    "from_messaging_channel",
)  # fmt: skip
USER_FIELDS = (
    "id", "url", "name", "email", "created_at", "updated_at", "time_zone", "iana_time_zone", "phone",
    "shared_phone_number", "photo", "locale_id", "locale", "organization_id", "role", "verified",
    "external_id", "tags", "alias", "active", "shared", "shared_agent", "last_login_at",
    "two_factor_auth_enabled", "signature", "details", "notes", "role_type", "custom_role_id",
    "moderator", "ticket_restriction", "only_private_comments", "restricted_agent", "suspended",
    "default_group_id", "report_csv", "user_fields",
)  # fmt: skip
ORGANIZATION_FIELDS = (
    "id", "url", "name", "shared_tickets", "shared_comments", "external_id", "created_at",
    "updated_at", "domain_names", "details", "notes", "group_id", "tags", "organization_fields",
    "deleted_at",
)  # fmt: skip

CUSTOM_FIELDS = {"organizations": "organization_fields", "users": "user_fields"}
"""Stream → the key its items hold custom field values under (by each field's ``key``), also the
List endpoint of the definitions (``GET /api/v2/organization_fields``, ``/api/v2/user_fields``).
Ticket custom fields are a list of ``{id, value}`` under ``custom_fields``, which a field path
cannot name."""


@dataclass(frozen=True)
class ExportStream:
    """One stream and the incremental export behind it.

    Attributes:
        name: the stream name, also the key of the items' array in export pages.
        path: the export endpoint under ``/api/v2/``.
        pagination: ``cursor`` (``after_cursor``) or ``time`` (``end_time`` as the next ``start_time``).
        cursor_field: the field the export orders items by.
        fields: the item's fields as the API documents and returns them.
        is_deleted: whether an item reports its record as deleted.
        list_path: the List endpoint under ``/api/v2/`` (cursor pagination, no export delay).
        archives: True when Zendesk archives items, which its List endpoint then leaves out
            while the export keeps them (closed tickets, 120 days after they close: Zendesk
            Support, "About ticket archiving",
            https://support.zendesk.com/hc/en-us/articles/4408887617050).
    """

    name: str
    path: str
    pagination: Pagination
    cursor_field: str
    fields: tuple[str, ...]
    is_deleted: Callable[[Mapping[str, Any]], bool]
    list_path: str
    archives: bool = False

    def spec(self) -> StreamSpec:
        """The stream as the engine sees it: primary key ``id``."""
        return StreamSpec(self.name, primary_key="id", cursor_field=self.cursor_field, fields=self.fields)


STREAMS: dict[str, ExportStream] = {
    stream.name: stream
    for stream in (
        ExportStream(
            "tickets",
            "incremental/tickets/cursor.json",
            "cursor",
            "generated_timestamp",
            TICKET_FIELDS,
            lambda item: item.get("status") == "deleted",
            "tickets.json",
            archives=True,
        ),
        ExportStream(
            "users",
            "incremental/users/cursor.json",
            "cursor",
            "updated_at",
            USER_FIELDS,
            lambda item: item.get("active") is False,
            "users.json",
        ),
        ExportStream(
            "organizations",
            "incremental/organizations.json",
            "time",
            "updated_at",
            ORGANIZATION_FIELDS,
            lambda item: item.get("deleted_at") is not None,
            "organizations.json",
        ),
    )
}


def epoch_seconds(value: Any) -> int | None:
    """A Zendesk timestamp (``2026-05-06T07:45:46Z``, or epoch seconds) as epoch seconds; None if not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return int(value)
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return int(parsed.timestamp()) if parsed.tzinfo is not None else None


def export_time(stream: ExportStream, item: Mapping[str, Any]) -> int | None:
    """The time the export orders ``item`` by, in epoch seconds.

    Tickets are exported by ``generated_timestamp``, which moves on every change including system
    updates; it is never earlier than ``updated_at``. Users and organizations by ``updated_at``.
    """
    stamps = [epoch_seconds(item.get("updated_at"))]
    if stream.cursor_field == "generated_timestamp":
        stamps.append(epoch_seconds(item.get("generated_timestamp")))
    known = [stamp for stamp in stamps if stamp is not None]
    return max(known) if known else None
