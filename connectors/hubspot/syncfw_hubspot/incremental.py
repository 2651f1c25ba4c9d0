"""Incremental reads: which properties a read asks for, and the cursor it leaves.

Changed records are found with the CRM search API, sorted ascending by the object type's
last-modified property: ``hs_lastmodifieddate``, or ``lastmodifieddate`` for contacts (CRM
search guide, https://developers.hubspot.com/docs/api-reference/search/guide). Deleted records
are the archived ones, listed with ``archived=true`` and ordered here by ``archivedAt``.

Many records can share one millisecond (a batch update or an import stamps them together), and
a change can become visible to search after a newer one was read. So both positions are kept
as an instant plus the ids already delivered at exactly that instant: a read filters with
``GTE`` the instant and skips those ids, so nothing is missed and nothing is delivered twice.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from syncfw.errors import ConfigError
from syncfw_hubspot.config import check_object_type
from syncfw_hubspot.datetimes import format_instant, parse_instant

PRIMARY_KEY = "id"
ID_PROPERTY = "hs_object_id"
ARCHIVED_AT = "archivedAt"
#: the record keys outside ``properties`` and ``associations`` (``url`` links to the record's page)
ENVELOPE = frozenset({"id", "createdAt", "updatedAt", "archived", "archivedAt", "url"})
_CONTACT_TYPES = frozenset({"contacts", "contact", "0-1"})
_PROPERTY_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]*")


def modified_property(object_type: str) -> str:
    """The property incremental reads sort and filter by: ``lastmodifieddate`` for contacts,
    ``hs_lastmodifieddate`` for every other object type."""
    return "lastmodifieddate" if object_type.lower() in _CONTACT_TYPES else "hs_lastmodifieddate"


@dataclass(frozen=True)
class ReadPlan:
    """What one read asks HubSpot for.

    Attributes:
        properties: property names, the last-modified property first.
        associations: object types whose associated ids each record carries.
    """

    properties: tuple[str, ...]
    associations: tuple[str, ...]


def plan_read(object_type: str, fields: Iterable[str], associations: Iterable[str] = ()) -> ReadPlan:
    """The properties and associations behind the field paths mappings use.

    ``properties.domain`` asks for the property ``domain``; ``associations.companies.results``
    for the associated companies; ``id``, ``createdAt``, ``updatedAt``, ``archived``,
    ``archivedAt`` and ``url`` are always there.

    Raises:
        ConfigError: a path names none of these (HubSpot keeps property values under
            ``properties``, so ``domain`` alone is a mistake for ``properties.domain``).
    """
    properties = [modified_property(object_type)]
    linked = [check_object_type(name) for name in associations]
    for path in fields:
        head, _, rest = path.partition(".")
        name = rest.partition(".")[0]
        if head == "properties" and name:
            if not _PROPERTY_NAME.fullmatch(name):
                raise ConfigError(f"{path!r}: {name!r} is not a HubSpot property name")
            properties.append(name)
        elif head == "associations" and name:
            try:
                linked.append(check_object_type(name))
            except ValueError as exc:
                raise ConfigError(f"{path!r}: {exc}") from None
        elif head not in ENVELOPE | {"properties", "associations"}:
            raise ConfigError(
                f"{path!r} is not a field of HubSpot {object_type} records: property values are "
                f"under 'properties' (e.g. 'properties.{path}'), associated ids under "
                "'associations.<object type>.results'"
            )
    return ReadPlan(tuple(dict.fromkeys(properties)), tuple(dict.fromkeys(linked)))


@dataclass(frozen=True)
class Watermark:
    """A position in time: an instant (epoch milliseconds) and the ids delivered at exactly it.

    ``instant`` None means nothing was delivered yet.
    """

    instant: int | None = None
    ids: frozenset[str] = field(default_factory=frozenset)

    def delivered(self, record_id: str, instant: int) -> bool:
        """True when a record at ``instant`` was already delivered before this position."""
        if self.instant is None:
            return False
        return instant < self.instant or (instant == self.instant and record_id in self.ids)

    def advanced(self, record_id: str, instant: int) -> Watermark:
        """The position after also delivering ``record_id`` at ``instant`` (in instant order)."""
        if self.instant is None or instant > self.instant:
            return Watermark(instant, frozenset({record_id}))
        if instant == self.instant:
            return Watermark(instant, self.ids | {record_id})
        return self

    def _encode(self) -> tuple[str | None, list[str]]:
        return (format_instant(self.instant) if self.instant is not None else None, sorted(self.ids))

    @classmethod
    def _decode(cls, stamp: object, ids: object) -> Watermark:
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            raise ValueError("ids must be a list of strings")
        if stamp is None:
            if ids:
                raise ValueError("ids without an instant")
            return cls()
        if not isinstance(stamp, str):
            raise ValueError("the instant must be an ISO 8601 string")
        return cls(parse_instant(stamp), frozenset(ids))


@dataclass(frozen=True)
class HubSpotCursor:
    """Where an incremental read of one object type stopped.

    Attributes:
        modified: the newest last-modified instant delivered, with the ids delivered at it.
        archived: the newest ``archivedAt`` delivered as a delete, with the ids deleted at it.
    """

    modified: Watermark = Watermark()
    archived: Watermark = Watermark()

    def encode(self, prop: str) -> str:
        """The opaque cursor kept by the engine, JSON with ISO 8601 instants::

        {"hs_lastmodifieddate": "2026-05-01T07:25:37.861Z", "ids": ["1001"],
         "archivedAt": null, "archived_ids": []}
        """
        stamp, ids = self.modified._encode()
        archived_stamp, archived_ids = self.archived._encode()
        data = {prop: stamp, "ids": ids, ARCHIVED_AT: archived_stamp, "archived_ids": archived_ids}
        return json.dumps(data, separators=(",", ":"))

    @classmethod
    def decode(cls, cursor: str | None, prop: str) -> HubSpotCursor:
        """Read a cursor written by :meth:`encode` for the property ``prop``; None: nothing read yet.

        Raises:
            ValueError: the string is not a cursor of this connector for that property.
        """
        if cursor is None:
            return cls()
        try:
            data = json.loads(cursor)
            return cls(
                Watermark._decode(data[prop], data["ids"]),
                Watermark._decode(data[ARCHIVED_AT], data["archived_ids"]),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"not a HubSpot cursor for {prop}: {cursor[:80]!r} ({exc})") from None


def record_instant(record: dict[str, object], prop: str) -> int:
    """The record's last-modified instant: the property, else ``updatedAt``.

    Raises:
        ValueError: neither is a datetime.
    """
    properties = record.get("properties")
    value = properties.get(prop) if isinstance(properties, dict) else None
    return parse_instant(value if value not in (None, "") else record.get("updatedAt"))
