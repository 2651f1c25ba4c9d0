"""Incremental reads: which properties a read asks for, and the cursor it leaves.

Changed records are found with the CRM search API, sorted ascending by the object type's
last-modified property: ``hs_lastmodifieddate``, or ``lastmodifieddate`` for contacts (CRM
search guide, https://developers.hubspot.com/docs/api-reference/search/guide). Deleted records
are the archived ones, listed with ``archived=true`` (see :class:`ArchivedSweep`).

Search shows a write "a few moments" after it (the guide's "Limits"), in no promised order, so
a change can become visible after a newer one was read. Each read therefore searches from a
look-back before the newest instant it delivered (:class:`LookBack`) and skips the records whose
digest it delivered within that window: the window's records are read again, but only new or
changed ones are delivered. Many records can share one millisecond (a batch update or an import
stamps them together); the window tells them apart by id.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from syncfw import ConfigError
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


class LookBack:
    """Where the search read stopped: the newest last-modified instant delivered, and a digest of
    every record delivered within the look-back window before it.

    The next read searches from ``newest - lookback`` (:attr:`lower`), so a change that search
    showed late, stamped before ``newest``, is still found; a record whose digest is already
    here is the version delivered before and is skipped. The window only keeps records stamped
    at or after :attr:`lower`, which is also where the next search starts, so its size is the
    number of records changed within ``lookback`` of the newest change.

    Args:
        lookback_ms: the look-back, in milliseconds.
        newest: the newest instant delivered (epoch milliseconds), None before the first read.
        seen: record id → (instant, digest) of the records delivered within the window.
    """

    def __init__(
        self, lookback_ms: int, newest: int | None = None, seen: dict[str, tuple[int, str]] | None = None
    ) -> None:
        self.lookback_ms = lookback_ms
        self.newest = newest
        self.seen = dict(seen or {})

    @property
    def lower(self) -> int | None:
        """Where the next search starts (``GTE``), or None for every record."""
        return None if self.newest is None else self.newest - self.lookback_ms

    def delivered(self, record_id: str, version: str) -> bool:
        """True when this version (:func:`digest`) of the record was delivered within the window."""
        seen = self.seen.get(record_id)
        return seen is not None and seen[1] == version

    def note(self, record_id: str, instant: int, version: str) -> None:
        """Remember a delivered record: its last-modified instant and :func:`digest`."""
        self.newest = instant if self.newest is None else max(self.newest, instant)
        self.seen[record_id] = (instant, version)

    def _state(self, prop: str) -> dict[str, Any]:
        lower = self.lower
        window = {
            record_id: [instant, version]
            for record_id, (instant, version) in sorted(self.seen.items())
            if lower is None or instant >= lower
        }
        return {prop: format_instant(self.newest) if self.newest is not None else None, "window": window}


@dataclass
class ArchivedSweep:
    """Where the rolling walk through the archived list stands.

    HubSpot's list endpoint (``GET /crm/v3/objects/{type}?archived=true``) has no filter and no
    sort (the search endpoint never returns archived records), so the only way to see new
    archives is to walk the list. A read walks at most a few pages of it, resuming where the
    last read stopped (``after``), and starts over at its end: one whole walk is a *sweep*.
    A record archived before a sweep began is in the list throughout it, so that sweep sees
    it; so a sweep reports every archived record with ``archivedAt`` at or after :attr:`floor`,
    the start of the sweep before it, except those already reported (:attr:`delivered`). A read
    costs at most ``archived_pages_per_read`` list requests, whatever the size of the archive;
    the price is latency: a delete is reported within one sweep. A record restored or purged
    (90 days after its archive) before a sweep reaches it is never reported by a read; the
    engine's reconciliation (:meth:`~syncfw.connector.Connector.scan_keys`) finds it.

    Attributes:
        floor: epoch milliseconds; None reports every archived record (the first sweep).
        delivered: record id → ``archivedAt`` of the records reported with ``archivedAt`` at or
            after ``floor`` (a record restored and archived again has a new ``archivedAt``).
        after: the list's ``paging.next.after`` where the current sweep resumes; None when a
            new sweep starts at the next read.
        started: when the current sweep started (epoch milliseconds, already moved back by the
            margin for the clocks' difference); None before it starts.
    """

    floor: int | None = None
    delivered: dict[str, int] = field(default_factory=dict)
    after: str | None = None
    started: int | None = None

    def fresh(self, record_id: str, archived_at: int) -> bool:
        """True when the archive of this record was not reported yet."""
        if self.floor is not None and archived_at < self.floor:
            return False
        return self.delivered.get(record_id) != archived_at

    def finish(self) -> None:
        """The sweep reached the end of the list: the next one reports from its start."""
        self.floor = self.started
        self.delivered = {i: at for i, at in self.delivered.items() if self.floor is None or at >= self.floor}
        self.after = None
        self.started = None

    def _state(self) -> dict[str, Any]:
        return {
            "floor": _instant_text(self.floor),
            "delivered": dict(sorted(self.delivered.items())),
            "after": self.after,
            "started": _instant_text(self.started),
        }


@dataclass
class HubSpotCursor:
    """Where an incremental read of one object type stopped.

    Attributes:
        modified: the search read's position and look-back window.
        archived: the sweep through the archived list.
    """

    modified: LookBack
    archived: ArchivedSweep

    def encode(self, prop: str) -> str:
        """The opaque cursor kept by the engine, JSON with ISO 8601 instants (window instants in
        epoch milliseconds)::

        {"hs_lastmodifieddate": "2026-05-01T07:25:37.861Z",
         "window": {"1001": [1777620337861, "9f86d081884c7d65"]},
         "archived": {"floor": "2026-05-01T07:20:37.861Z", "delivered": {"9": 1777620000000},
                      "after": null, "started": null}}
        """
        data = {**self.modified._state(prop), "archived": self.archived._state()}
        return json.dumps(data, separators=(",", ":"))

    @classmethod
    def decode(cls, cursor: str | None, prop: str, lookback_ms: int) -> HubSpotCursor:
        """Read a cursor written by :meth:`encode` for the property ``prop``; None: nothing read yet.

        Cursors of earlier versions (``{prop, "ids", "archivedAt", "archived_ids"}``) resume
        from their instants with an empty window, so the records of their last ``lookback`` are
        delivered once more (the engine finds nothing to write for them).

        Raises:
            ValueError: the string is not a cursor of this connector for that property.
        """
        if cursor is None:
            return cls(LookBack(lookback_ms), ArchivedSweep())
        try:
            data = json.loads(cursor)
            if "window" in data:
                return cls(
                    LookBack(lookback_ms, _instant_or_none(data[prop]), _window(data["window"])),
                    _sweep(data["archived"]),
                )
            modified = Watermark._decode(data[prop], data["ids"])
            archived = Watermark._decode(data[ARCHIVED_AT], data["archived_ids"])
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"not a HubSpot cursor for {prop}: {cursor[:80]!r} ({exc})") from None
        return cls(
            LookBack(lookback_ms, modified.instant),
            ArchivedSweep(archived.instant, dict.fromkeys(archived.ids, archived.instant or 0)),
        )


def digest(record: dict[str, Any]) -> str:
    """A short digest of a record's property values (16 hex digits): equal for one version."""
    text = json.dumps(record.get("properties"), sort_keys=True, separators=(",", ":"))
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


def _instant_text(instant: int | None) -> str | None:
    return format_instant(instant) if instant is not None else None


def _instant_or_none(value: object) -> int | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError("an instant must be an ISO 8601 string")
    return parse_instant(value)


def _window(data: object) -> dict[str, tuple[int, str]]:
    if not isinstance(data, dict):
        raise ValueError("the window must be an object")
    window: dict[str, tuple[int, str]] = {}
    for record_id, entry in data.items():
        instant, text = entry
        if not isinstance(instant, int) or not isinstance(text, str):
            raise ValueError("window entries are [epoch milliseconds, digest]")
        window[record_id] = (instant, text)
    return window


def _sweep(data: dict[str, Any]) -> ArchivedSweep:
    delivered = data["delivered"]
    if not isinstance(delivered, dict) or not all(isinstance(v, int) for v in delivered.values()):
        raise ValueError("delivered archives are id → epoch milliseconds")
    after = data["after"]
    if after is not None and not isinstance(after, str):
        raise ValueError("after must be a string")
    return ArchivedSweep(
        _instant_or_none(data["floor"]), dict(delivered), after, _instant_or_none(data["started"])
    )


def record_instant(record: dict[str, object], prop: str) -> int:
    """The record's last-modified instant: the property, else ``updatedAt``.

    Raises:
        ValueError: neither is a datetime.
    """
    properties = record.get("properties")
    value = properties.get(prop) if isinstance(properties, dict) else None
    return parse_instant(value if value not in (None, "") else record.get("updatedAt"))
