"""The emulated HubSpot account ("portal"): records, associations, the token, the rate limits.

Records come from ``data_dir/<object type>.json`` (``companies.json``, ``contacts.json``...): JSON
arrays of records in the shape the list endpoint returns, ``{"id", "properties", "createdAt",
"updatedAt", "archived", "archivedAt"?, "associations"?: {"companies": {"results": [{"id",
"type"}]}}}``. An association is visible from both sides (a contact's company lists the
contact). A seed file is read again when its modification time, size or inode changes.

Tests and the sandbox harness change data through :meth:`HubSpotPortal.create`,
:meth:`~HubSpotPortal.update`, :meth:`~HubSpotPortal.archive` and
:meth:`~HubSpotPortal.delete_permanently` (changes survive seed reloads), and turn the knobs:
:meth:`~HubSpotPortal.advance` (the portal's clock, :attr:`~HubSpotPortal.now`),
:attr:`~HubSpotPortal.search_lag`, :attr:`~HubSpotPortal.archive_retention`,
:meth:`~HubSpotPortal.fail_next`, :meth:`~HubSpotPortal.rate_limit_next`,
:attr:`~HubSpotPortal.daily_remaining`, :attr:`~HubSpotPortal.window_max`,
:attr:`~HubSpotPortal.window_ms`, :attr:`~HubSpotPortal.search_per_second`,
:attr:`~HubSpotPortal.search_cap`, :attr:`~HubSpotPortal.scopes`; :attr:`~HubSpotPortal.stats` and
:attr:`~HubSpotPortal.requests` show what was served.
"""

from __future__ import annotations

import copy
import json
import logging
import secrets
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from syncfw_hubspot.datetimes import format_instant, parse_instant
from syncfw_hubspot.emulator.index import SEARCH_LAG_SECONDS, SearchIndex
from syncfw_hubspot.emulator.objects import (
    STANDARD,
    ObjectType,
    association_label,
    custom,
    resolve,
    reverse_label,
)
from syncfw_hubspot.emulator.search import SearchError, SearchRequest

log = logging.getLogger(__name__)

TEN_SECONDLY = "TEN_SECONDLY_ROLLING"
SECONDLY = "SECONDLY"
DAILY = "DAILY"
SEARCH_CAP = 10_000
LIST_MAX_LIMIT = 100
BATCH_MAX_INPUTS = 1000
FREE_DAILY_LIMIT = 250_000
#: how long an archived record stays restorable (and listed with ``archived=true``): HubSpot,
#: "Restore deleted records" (https://knowledge.hubspot.com/records/restore-deleted-records): "up
#: to 90 days after they were deleted"; then it is permanently deleted
ARCHIVE_RETENTION = timedelta(days=90)
_AUTH_MESSAGE = (
    "Authentication credentials not found. This API supports OAuth 2.0 authentication and you can "
    "find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview"
)
_RATE_MESSAGES = {
    TEN_SECONDLY: "You have reached your ten_secondly_rolling limit.",
    SECONDLY: "You have reached your secondly limit.",
    DAILY: "You have reached your daily limit.",
}


class ApiError(Exception):
    """An error answer: HTTP status, HubSpot's JSON body and extra headers."""

    def __init__(
        self,
        status: int,
        message: str,
        category: str | None = None,
        *,
        extra: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message
        self.category = category
        self.extra = dict(extra or {})
        self.headers = dict(headers or {})
        self.correlation_id = str(uuid.uuid4())

    def body(self) -> dict[str, Any]:
        """The JSON body: ``status``, ``message``, ``correlationId``, then the rest, ``category`` last."""
        body: dict[str, Any] = {
            "status": "error",
            "message": self.message,
            "correlationId": self.correlation_id,
        }
        body.update(self.extra)
        if self.category:
            body["category"] = self.category
        return body


@dataclass(frozen=True)
class PortalStats:
    """What the portal has served since it started.

    Attributes:
        requests: authenticated requests counted against the daily limit.
        searches: search requests answered.
        list_pages: list requests answered (archived or not).
        association_reads: association batch reads answered.
        rate_limited: 429 answers.
        past_cap: searches refused for paging past :attr:`HubSpotPortal.search_cap`.
    """

    requests: int = 0
    searches: int = 0
    list_pages: int = 0
    association_reads: int = 0
    rate_limited: int = 0
    past_cap: int = 0


@dataclass(frozen=True)
class LoggedRequest:
    """One request as the portal received it (``query`` values as lists, ``body`` parsed JSON)."""

    method: str
    path: str
    query: dict[str, list[str]]
    body: Any = None


@dataclass
class _Data:
    """One consistent view of every object type's records, sorted by id.

    ``links[type][id][other type]`` holds a record's associations as the API shows them: those
    it declares and those declared by the records it points to, seen from its side.
    """

    types: dict[str, ObjectType]
    records: dict[str, list[dict[str, Any]]]
    gone: frozenset[tuple[str, str]] = frozenset()
    by_id: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    property_names: dict[str, set[str]] = field(default_factory=dict)
    links: dict[str, dict[str, dict[str, list[dict[str, str]]]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name, rows in self.records.items():
            rows.sort(key=lambda r: int(r["id"]))
            self.by_id[name] = {r["id"]: r for r in rows}
            names = set(self.types[name].always) | set(self.types[name].defaults)
            for row in rows:
                names.update(row["properties"])
            self.property_names[name] = names
        for name, rows in self.records.items():
            for record in rows:
                for other_name, linked in (record.get("associations") or {}).items():
                    other = resolve(other_name, self.types)
                    if other is not None:
                        for link in linked.get("results", []):
                            self._link(name, record["id"], other, str(link["id"]), str(link["type"]))

    def _link(self, name: str, record_id: str, other: ObjectType, other_id: str, label: str) -> None:
        if (other.name, other_id) in self.gone:
            return
        self._add(name, record_id, other.name, other_id, label)
        if other_id in self.by_id.get(other.name, {}):
            self._add(other.name, other_id, name, record_id, reverse_label(label, self.types[name], other))

    def _add(self, name: str, record_id: str, other_name: str, other_id: str, label: str) -> None:
        results = self.links.setdefault(name, {}).setdefault(record_id, {}).setdefault(other_name, [])
        if not any(r["id"] == other_id and r["type"] == label for r in results):
            results.append({"id": other_id, "type": label})

    def associations(self, name: str, record_id: str, other_name: str) -> list[dict[str, str]]:
        """Copies of a record's associations with records of ``other_name``."""
        return [dict(r) for r in self.links.get(name, {}).get(record_id, {}).get(other_name, [])]


@dataclass(frozen=True)
class _SeedFile:
    signature: tuple[int, int, int]
    records: list[dict[str, Any]]


class HubSpotPortal:
    """An in-memory HubSpot account behind the emulator's CRM API.

    Attributes:
        scopes: the private app's scopes (``crm.objects.contacts.read``,
            ``crm.schemas.contacts.read``...), or None for every scope; a request needing one
            it lacks gets 403 ``MISSING_SCOPES``.

    Args:
        data_dir: directory of ``<object type>.json`` seed files, or None for none.
        token: the one private-app access token the portal accepts.
        portal_id: the account id (in record ``url`` links).
        daily_limit: requests allowed per day (250,000 for a Free or Starter account).
        window_max: requests allowed per :attr:`window_ms` (the 10-second window; 100 or 190).
        window_ms: the window's length in milliseconds.
        search_per_second: search requests allowed per second (5), or None for no limit.
        search_lag: the longest delay, in seconds, before search sees a write (see
            :mod:`syncfw_hubspot.emulator.index`); 0 makes every write searchable at once.
        archive_retention: how long archived records stay listed with ``archived=true``
            (HubSpot: 90 days); past it they are permanently deleted, on the portal's clock.

    Thread-safe: the server thread and a test thread may use it at once.
    """

    def __init__(
        self,
        data_dir: Path | None,
        token: str,
        *,
        portal_id: int = 24051987,
        daily_limit: int = FREE_DAILY_LIMIT,
        window_max: int = 100,
        window_ms: int = 10_000,
        search_per_second: int | None = 5,
        search_lag: float = SEARCH_LAG_SECONDS,
        archive_retention: timedelta = ARCHIVE_RETENTION,
    ) -> None:
        self.data_dir = data_dir
        self.token = token
        self.portal_id = portal_id
        self.daily_limit = daily_limit
        self.daily_used = 0
        self.window_max = window_max
        self.window_ms = window_ms
        self.search_per_second = search_per_second
        self.search_cap = SEARCH_CAP
        self.scopes: set[str] | None = None
        self.requests: deque[LoggedRequest] = deque(maxlen=2000)
        self._lock = threading.RLock()
        self._stats = PortalStats()
        self._faults: list[int] = []
        self._rate_limits: list[str] = []
        self._window: deque[float] = deque()
        self._search_window: deque[float] = deque()
        self._files: dict[str, _SeedFile] = {}
        self._signature: tuple[tuple[str, int, int, int], ...] | None = None
        self._overlay: dict[str, dict[str, dict[str, Any]]] = {}
        self._extra_types: dict[str, ObjectType] = {}
        self._version = 0
        self._built_version = -1
        self._data: _Data | None = None
        self._newest = 0
        self._next_id = 90_000_000_001
        self._offset_ms = 0
        self._index = SearchIndex(search_lag, self.now_ms)
        self._gone: set[tuple[str, str]] = set()
        self._retention_ms = 0
        self._next_purge: int | None = None
        self.archive_retention = archive_retention

    # knobs

    def now_ms(self) -> int:
        """The portal's clock, epoch milliseconds: the machine's clock plus what :meth:`advance` added.

        It stamps writes, makes writes searchable (:attr:`search_lag`) and ends the archive window.
        """
        return int(time.time() * 1000) + self._offset_ms

    @property
    def now(self) -> datetime:
        """The portal's clock as an aware UTC datetime."""
        return datetime.fromtimestamp(self.now_ms() / 1000, tz=UTC)

    def advance(self, seconds: float) -> None:
        """Move the portal's clock forward by ``seconds`` (the index catches up, archives age).

        Raises:
            ValueError: ``seconds`` is negative (the clock never goes back).
        """
        if seconds < 0:
            raise ValueError(f"the clock only moves forward: {seconds} seconds")
        with self._lock:
            self._offset_ms += round(seconds * 1000)

    @property
    def search_lag(self) -> float:
        """The longest delay, in seconds, before search sees a create, update or archive (writes
        already made keep the delay drawn for them)."""
        return self._index.lag

    @search_lag.setter
    def search_lag(self, seconds: float) -> None:
        with self._lock:
            self._index.lag = seconds

    @property
    def archive_retention(self) -> timedelta:
        """How long an archived record stays restorable and listed with ``archived=true``."""
        return timedelta(milliseconds=self._retention_ms)

    @archive_retention.setter
    def archive_retention(self, value: timedelta) -> None:
        if value <= timedelta(0):
            raise ValueError(f"the archive retention must be positive, was {value}")
        with self._lock:
            self._retention_ms = int(value.total_seconds() * 1000)
            self._next_purge = None

    @property
    def stats(self) -> PortalStats:
        """Counters of what the portal has served."""
        with self._lock:
            return self._stats

    @property
    def daily_remaining(self) -> int:
        """Requests left today; at 0 every request gets 429 ``DAILY``."""
        with self._lock:
            return max(self.daily_limit - self.daily_used, 0)

    @daily_remaining.setter
    def daily_remaining(self, value: int) -> None:
        with self._lock:
            self.daily_used = self.daily_limit - max(value, 0)

    def fail_next(self, count: int, status: int = 503) -> None:
        """Answer the next ``count`` authenticated requests with HTTP ``status`` (a 5xx)."""
        with self._lock:
            self._faults.extend([status] * count)

    def rate_limit_next(self, count: int, policy: str = TEN_SECONDLY) -> None:
        """Answer the next ``count`` authenticated requests with 429 of ``policy``
        (``TEN_SECONDLY_ROLLING``, ``SECONDLY`` or ``DAILY``)."""
        if policy not in _RATE_MESSAGES:
            raise ValueError(f"unknown rate-limit policy {policy!r}: use one of {sorted(_RATE_MESSAGES)}")
        with self._lock:
            self._rate_limits.extend([policy] * count)

    # data

    def records(self, object_type: str) -> list[dict[str, Any]]:
        """Copies of the stored records of a type (archived ones included), by id."""
        with self._lock:
            kind = self._type(object_type)
            return copy.deepcopy(self._current().records.get(kind.name, []))

    def create(
        self,
        object_type: str,
        properties: Mapping[str, str | None],
        *,
        associations: Mapping[str, Iterable[str]] | None = None,
        at: datetime | None = None,
        index_delay: float | None = None,
    ) -> str:
        """Create a record (as ``POST /crm/v3/objects/{type}`` would); return its id.

        Args:
            associations: ids of associated records by object type (``{"companies": ["1"]}``),
                labelled with the default type (``contact_to_company``).
            at: its creation instant; default now, or just after the newest instant in the
                portal when that is later (seed data may be dated ahead of the clock).
            index_delay: seconds until search shows it; default a random share of
                :attr:`search_lag`.
        """
        return self.create_many(
            object_type, [properties], associations=associations, at=at, index_delay=index_delay
        )[0]

    def create_many(
        self,
        object_type: str,
        items: Sequence[Mapping[str, str | None]],
        *,
        associations: Mapping[str, Iterable[str]] | None = None,
        at: datetime | None = None,
        index_delay: float | None = None,
    ) -> list[str]:
        """Create many records at once: with ``at`` all share that instant, else each is 1 ms
        after the previous one. Arguments as in :meth:`create`."""
        with self._lock:
            kind = self._type(object_type, create=True)
            store = self._overlay.setdefault(kind.name, {})
            ids: list[str] = []
            fixed = _instant_of(at)
            for item in items:
                instant = fixed if fixed is not None else self._tick()
                self._newest = max(self._newest, instant)
                record_id = str(self._next_id)
                self._next_id += 1
                stamp = format_instant(instant)
                props: dict[str, str | None] = {**item, "createdate": stamp, kind.modified: stamp}
                props["hs_object_id"] = record_id
                record: dict[str, Any] = {
                    "id": record_id,
                    "properties": props,
                    "createdAt": stamp,
                    "updatedAt": stamp,
                    "archived": False,
                }
                if associations:
                    record["associations"] = self._linked(kind, associations)
                store[record_id] = record
                self._index.written((kind.name, record_id), record, before=None, delay=index_delay)
                ids.append(record_id)
            self._version += 1
            return ids

    def update(
        self,
        object_type: str,
        record_id: str,
        properties: Mapping[str, str | None],
        *,
        at: datetime | None = None,
        index_delay: float | None = None,
    ) -> None:
        """Change properties of a record; its last-modified date moves to ``at`` (default now).

        Search shows the version before the change until ``index_delay`` seconds have passed
        (default a random share of :attr:`search_lag`).

        Raises:
            KeyError: no such record.
        """
        with self._lock:
            kind, record = self._editable(object_type, record_id)
            before = copy.deepcopy(record)
            instant = _instant_of(at) or self._tick()
            self._newest = max(self._newest, instant)
            stamp = format_instant(instant)
            record["properties"].update(properties)
            record["properties"][kind.modified] = stamp
            record["updatedAt"] = stamp
            self._index.written((kind.name, record_id), record, before=before, delay=index_delay)
            self._version += 1

    def archive(
        self,
        object_type: str,
        record_id: str,
        *,
        at: datetime | None = None,
        index_delay: float | None = None,
    ) -> None:
        """Archive (delete) a record, as ``DELETE /crm/v3/objects/{type}/{id}`` does: listed with
        ``archived=true`` for :attr:`archive_retention`, then permanently deleted. Search keeps
        showing it until ``index_delay`` seconds have passed (as in :meth:`update`).

        Raises:
            KeyError: no such record.
        """
        with self._lock:
            kind, record = self._editable(object_type, record_id)
            before = copy.deepcopy(record)
            instant = _instant_of(at) or self._tick()
            self._newest = max(self._newest, instant)
            record["archived"] = True
            record["archivedAt"] = format_instant(instant)
            self._index.written((kind.name, record_id), record, before=before, delay=index_delay)
            self._version += 1

    def delete_permanently(self, object_type: str, record_id: str) -> None:
        """Delete a record for good at once, as a permanent or GDPR delete does (for contacts
        ``POST /crm/v3/objects/contacts/gdpr-delete``): it is never listed as archived and every
        endpoint answers as if it never existed. HubSpot, "Restore deleted records": "permanent or
        GDPR-related deletions aren't held in the recycle bin"
        (https://knowledge.hubspot.com/records/restore-deleted-records).

        Raises:
            KeyError: no such record.
        """
        with self._lock:
            kind, _ = self._editable(object_type, record_id)
            self._forget({(kind.name, record_id)})

    # what the API does

    def admit(self, authorization: str | None, *, search: bool = False) -> None:
        """Authenticate a request and count it against the limits.

        Raises:
            ApiError: 401 for a missing or wrong token; 429 ``DAILY`` when the day's requests
                are spent; an injected 429; 429 ``TEN_SECONDLY_ROLLING`` past :attr:`window_max`
                requests in :attr:`window_ms` (search requests excepted); 429 ``SECONDLY`` past
                :attr:`search_per_second` searches in a second; an injected 5xx.
        """
        scheme, _, token = (authorization or "").partition(" ")
        with self._lock:
            if scheme.lower() != "bearer" or not secrets.compare_digest(token.strip(), self.token):
                raise ApiError(401, _AUTH_MESSAGE, "INVALID_AUTHENTICATION")
            now = time.monotonic()
            if self.daily_used >= self.daily_limit:
                raise self._rate_limited(DAILY)
            if self._rate_limits:
                raise self._rate_limited(self._rate_limits.pop(0))
            if search:
                _expire(self._search_window, now - 1.0)
                if self.search_per_second is not None and len(self._search_window) >= self.search_per_second:
                    raise self._rate_limited(SECONDLY)
                self._search_window.append(now)
            else:
                _expire(self._window, now - self.window_ms / 1000)
                if len(self._window) >= self.window_max:
                    raise self._rate_limited(TEN_SECONDLY)
                self._window.append(now)
            self.daily_used += 1
            self._stats = replace(self._stats, requests=self._stats.requests + 1)
            if self._faults:
                status = self._faults.pop(0)
                raise ApiError(status, "internal error", "INTERNAL_ERROR")

    def rate_headers(self) -> dict[str, str]:
        """The ``X-HubSpot-RateLimit-*`` headers of a private app's answer (not of searches)."""
        with self._lock:
            now = time.monotonic()
            _expire(self._window, now - self.window_ms / 1000)
            last_second = sum(1 for sent in self._window if sent > now - 1.0)
            secondly = max(1, self.window_max // 10)
            return {
                "X-HubSpot-RateLimit-Daily": str(self.daily_limit),
                "X-HubSpot-RateLimit-Daily-Remaining": str(self.daily_remaining),
                "X-HubSpot-RateLimit-Interval-Milliseconds": str(self.window_ms),
                "X-HubSpot-RateLimit-Max": str(self.window_max),
                "X-HubSpot-RateLimit-Remaining": str(max(self.window_max - len(self._window), 0)),
                "X-HubSpot-RateLimit-Secondly": str(secondly),
                "X-HubSpot-RateLimit-Secondly-Remaining": str(max(secondly - last_second, 0)),
            }

    def log(self, entry: LoggedRequest) -> None:
        """Keep a received request in :attr:`requests`."""
        with self._lock:
            self.requests.append(entry)

    def search(self, object_type: str, body: Any) -> dict[str, Any]:
        """The answer of ``POST /crm/v3/objects/{type}/search``, from what the search index shows
        now (writes reach it after their delay: :attr:`search_lag`).

        Raises:
            ApiError: 400 for an unknown object type, an invalid request, or ``after`` at or
                past :attr:`search_cap` results (HubSpot documents the 400, not its message: the
                wording is the emulator's); 403 without the type's read scope.
        """
        with self._lock:
            kind = self._readable(object_type)
            try:
                request = SearchRequest.parse(body)
            except SearchError as exc:
                raise ApiError(400, str(exc), "VALIDATION_ERROR") from None
            if request.after >= self.search_cap:
                self._stats = replace(self._stats, past_cap=self._stats.past_cap + 1)
                raise ApiError(
                    400,
                    f"Paging past {self.search_cap} results is not supported: a search returns at "
                    f"most {self.search_cap} results; narrow the filters to page further "
                    f"(after={request.after})",
                    "VALIDATION_ERROR",
                )
            rows = [
                shown
                for r in self._current().records.get(kind.name, [])
                if (shown := self._index.view((kind.name, r["id"]), r)) is not None and not shown["archived"]
            ]
            hits = request.order(
                [r for r in rows if request.matches(r["properties"])], lambda r: r["properties"]
            )
            end = min(request.after + request.limit, self.search_cap, len(hits))
            page = hits[request.after : end]
            answer: dict[str, Any] = {
                "total": len(hits),
                "results": [self._present(kind, r, request.properties) for r in page],
            }
            if end < len(hits):
                answer["paging"] = {"next": {"after": str(end)}}
            self._stats = replace(self._stats, searches=self._stats.searches + 1)
            return answer

    def list_page(
        self,
        object_type: str,
        *,
        limit: str | None,
        after: str | None,
        properties: Sequence[str] | None,
        associations: Sequence[str],
        archived: bool,
        link: str,
    ) -> dict[str, Any]:
        """The answer of ``GET /crm/v3/objects/{type}``: records by id from ``after`` (an id).

        Args:
            link: the request URL without ``after``, for ``paging.next.link``.

        Raises:
            ApiError: 400 for an unknown object type or association type, or a bad ``limit`` or
                ``after``.
        """
        with self._lock:
            kind = self._readable(object_type)
            size = _whole(limit, "limit", 10)
            if not 1 <= size <= LIST_MAX_LIMIT:
                raise ApiError(
                    400, f"limit must be between 1 and {LIST_MAX_LIMIT}, was {size}", "VALIDATION_ERROR"
                )
            start = _whole(after, "after", 0)
            to_types = [self._type(name) for name in associations]
            rows = [
                r
                for r in self._current().records.get(kind.name, [])
                if r["archived"] == archived and int(r["id"]) >= start
            ]
            page = rows[:size]
            answer: dict[str, Any] = {
                "results": [self._present(kind, r, properties, to_types) for r in page],
            }
            if len(rows) > size:
                next_after = str(int(rows[size]["id"]))
                separator = "&" if "?" in link else "?"
                answer["paging"] = {
                    "next": {"after": next_after, "link": f"{link}{separator}after={next_after}"}
                }
            self._stats = replace(self._stats, list_pages=self._stats.list_pages + 1)
            return answer

    def get(
        self,
        object_type: str,
        record_id: str,
        *,
        properties: Sequence[str] | None,
        associations: Sequence[str],
        archived: bool,
    ) -> dict[str, Any]:
        """The answer of ``GET /crm/v3/objects/{type}/{id}``.

        Raises:
            ApiError: 404 for an unknown record; 400 for an unknown object type.
        """
        with self._lock:
            kind = self._readable(object_type)
            to_types = [self._type(name) for name in associations]
            if not record_id.isdigit():
                raise ApiError(
                    404,
                    "Object not found.  objectId are usually numeric.",
                    "OBJECT_NOT_FOUND",
                    extra={"context": {"id": [record_id]}},
                )
            record = self._current().by_id.get(kind.name, {}).get(record_id)
            if record is None or record["archived"] != archived:
                raise ApiError(404, "resource not found")
            return self._present(kind, record, properties, to_types)

    def read_associations(self, from_type: str, to_type: str, body: Any) -> tuple[int, dict[str, Any]]:
        """The answer of ``POST /crm/v3/associations/{from}/{to}/batch/read``: status and body.

        Ids without associations of that type are errors of a 207 answer
        (``crm.associations.NO_ASSOCIATIONS_FOUND``), not results.

        Raises:
            ApiError: 400 for unknown object types or a malformed body.
        """
        with self._lock:
            source, target = self._readable(from_type), self._readable(to_type)
            inputs = body.get("inputs") if isinstance(body, dict) else None
            if not isinstance(inputs, list) or not all(isinstance(i, dict) and "id" in i for i in inputs):
                raise ApiError(
                    400, 'Invalid input JSON: expected {"inputs": [{"id": ...}]}', "VALIDATION_ERROR"
                )
            if len(inputs) > BATCH_MAX_INPUTS:
                raise ApiError(
                    400,
                    f"Batch size {len(inputs)} exceeds the maximum of {BATCH_MAX_INPUTS}",
                    "VALIDATION_ERROR",
                )
            started = format_instant(self.now_ms())
            results: list[dict[str, Any]] = []
            errors: list[dict[str, Any]] = []
            data = self._current()
            for item in inputs:
                record_id = str(item["id"])
                record = data.by_id.get(source.name, {}).get(record_id)
                linked = data.associations(source.name, record_id, target.name)
                if record is not None and not record["archived"] and linked:
                    results.append({"from": {"id": record_id}, "to": linked})
                else:
                    errors.append(
                        {
                            "status": "error",
                            "category": "OBJECT_NOT_FOUND",
                            "subCategory": "crm.associations.NO_ASSOCIATIONS_FOUND",
                            "message": f"No {target.singular} is associated with {source.singular} {record_id}.",
                            "context": {
                                "fromObjectId": [record_id],
                                "fromObjectType": [source.singular],
                                "toObjectType": [target.singular],
                            },
                        }
                    )
            answer: dict[str, Any] = {"status": "COMPLETE", "results": results}
            if errors:
                answer["numErrors"] = len(errors)
                answer["errors"] = errors
            answer["startedAt"] = started
            answer["completedAt"] = format_instant(self.now_ms())
            self._stats = replace(self._stats, association_reads=self._stats.association_reads + 1)
            return (207 if errors else 200), answer

    def properties(self, object_type: str) -> dict[str, Any]:
        """The answer of ``GET /crm/v3/properties/{type}``: every property the type's records use."""
        with self._lock:
            kind = self._readable(object_type, "schemas")
            data = self._current()
            rows = data.records.get(kind.name, [])
            return {
                "results": [
                    _definition(kind, name, [r["properties"].get(name) for r in rows])
                    for name in sorted(
                        data.property_names.get(kind.name, set(kind.always) | set(kind.defaults))
                    )
                ]
            }

    # internals

    def _rate_limited(self, policy: str) -> ApiError:
        self._stats = replace(self._stats, rate_limited=self._stats.rate_limited + 1)
        extra: dict[str, Any] = {"errorType": "RATE_LIMIT", "policyName": policy}
        headers: dict[str, str] = {}
        if policy == TEN_SECONDLY:
            extra["groupName"] = f"publicapi:private-app-api-calls-ten-secondly:{self.portal_id}"
            headers = {
                "X-HubSpot-RateLimit-Interval-Milliseconds": str(self.window_ms),
                "X-HubSpot-RateLimit-Max": str(self.window_max),
                "X-HubSpot-RateLimit-Remaining": "0",
            }
        elif policy == DAILY:
            extra["requestId"] = str(uuid.uuid4())
            headers = {
                "X-HubSpot-RateLimit-Daily": str(self.daily_limit),
                "X-HubSpot-RateLimit-Daily-Remaining": "0",
            }
        else:
            extra["requestId"] = str(uuid.uuid4())
        return ApiError(429, _RATE_MESSAGES[policy], extra=extra, headers=headers)

    def _present(
        self,
        kind: ObjectType,
        record: Mapping[str, Any],
        properties: Sequence[str] | None,
        associations: Sequence[ObjectType] = (),
    ) -> dict[str, Any]:
        """A stored record as the API returns it."""
        data = self._current()
        defined = data.property_names.get(kind.name, set())
        wanted = set(kind.always) | (set(kind.defaults) if properties is None else set(properties) & defined)
        stored = record["properties"]
        answer: dict[str, Any] = {
            "id": record["id"],
            "properties": {name: stored.get(name) for name in sorted(wanted)},
            "createdAt": record["createdAt"],
            "updatedAt": record["updatedAt"],
            "archived": record["archived"],
        }
        if record["archived"]:
            answer["archivedAt"] = record.get("archivedAt")
        linked = {
            t.name: {"results": results}
            for t in associations
            if (results := data.associations(kind.name, record["id"], t.name))
        }
        if linked:
            answer["associations"] = linked
        if kind.type_id:
            answer["url"] = (
                f"https://app.hubspot.com/contacts/{self.portal_id}/record/{kind.type_id}/{record['id']}"
            )
        return answer

    def _readable(self, name: str, what: str = "objects") -> ObjectType:
        """The object type, if the app has the scope to read its ``objects`` or ``schemas``."""
        kind = self._type(name)
        scope = f"crm.{what}.{kind.name if kind.type_id.startswith('0-') else 'custom'}.read"
        if self.scopes is not None and scope not in self.scopes:
            raise ApiError(
                403,
                "This app hasn't been granted all required scopes to make this call. Read more about "
                "required scopes here: https://developers.hubspot.com/scopes.",
                "MISSING_SCOPES",
                extra={
                    "errors": [
                        {
                            "message": "One or more of the following scopes are required.",
                            "context": {"requiredGranularScopes": [scope]},
                        }
                    ],
                    "links": {"scopes": "https://developers.hubspot.com/scopes"},
                },
            )
        return kind

    def _type(self, name: str, *, create: bool = False) -> ObjectType:
        known = self._current().types
        found = resolve(name, known)
        if found is None and create:
            found = self._extra_types.setdefault(name, custom(name))
            self._version += 1
        if found is None:
            raise ApiError(400, f"Unable to infer object type from: {name}")
        return found

    def _editable(self, object_type: str, record_id: str) -> tuple[ObjectType, dict[str, Any]]:
        kind = self._type(object_type)
        store = self._overlay.setdefault(kind.name, {})
        if record_id not in store:
            current = self._current().by_id.get(kind.name, {}).get(record_id)
            if current is None:
                raise KeyError(f"no {kind.name} record {record_id}")
            store[record_id] = copy.deepcopy(current)
        return kind, store[record_id]

    def _linked(self, kind: ObjectType, associations: Mapping[str, Iterable[str]]) -> dict[str, Any]:
        linked: dict[str, Any] = {}
        for name, ids in associations.items():
            other = self._type(name)
            label = association_label(kind, other)
            linked[other.name] = {"results": [{"id": str(i), "type": label} for i in ids]}
        return linked

    def _tick(self) -> int:
        return max(self.now_ms(), self._newest + 1)

    def _forget(self, keys: set[tuple[str, str]]) -> None:
        """Delete records everywhere (a permanent delete, or the archive window's end)."""
        for name, record_id in keys:
            self._overlay.get(name, {}).pop(record_id, None)
            self._index.forget((name, record_id))
        self._gone |= keys
        self._version += 1

    def _current(self) -> _Data:
        """The records now, once archived records past :attr:`archive_retention` are deleted."""
        data = self._build()
        if self._next_purge is None:
            ends = [
                parse_instant(r["archivedAt"]) + self._retention_ms
                for name, rows in data.records.items()
                for r in rows
                if r["archived"] and r.get("archivedAt")
            ]
            self._next_purge = min(ends, default=None)
        if self._next_purge is not None and self.now_ms() >= self._next_purge:
            horizon = self.now_ms() - self._retention_ms
            self._forget(
                {
                    (name, r["id"])
                    for name, rows in data.records.items()
                    for r in rows
                    if r["archived"] and r.get("archivedAt") and parse_instant(r["archivedAt"]) <= horizon
                }
            )
            return self._current()
        return data

    def _build(self) -> _Data:
        files = sorted(self.data_dir.glob("*.json")) if self.data_dir and self.data_dir.is_dir() else []
        signatures = {path: _signature(path) for path in files}
        signature = tuple((path.name, *sig) for path, sig in signatures.items())
        if self._data is not None and signature == self._signature and self._built_version == self._version:
            return self._data
        types = {t.name: t for t in STANDARD}
        base: dict[str, dict[str, dict[str, Any]]] = {}
        for path, sig in signatures.items():
            kind = resolve(path.stem, types) or types.setdefault(path.stem, custom(path.stem))
            base[kind.name] = {
                r["id"]: r for r in self._load(path, sig) if (kind.name, r["id"]) not in self._gone
            }
        types.update(self._extra_types)
        for name, changed in self._overlay.items():
            base.setdefault(name, {}).update(changed)
        gone = frozenset(self._gone)
        self._data = _Data(types, {name: list(rows.values()) for name, rows in base.items()}, gone)
        self._signature = signature
        self._built_version = self._version
        self._next_purge = None
        self._newest = max(self._newest, _newest_instant(self._data))
        return self._data

    def _load(self, path: Path, signature: tuple[int, int, int]) -> list[dict[str, Any]]:
        cached = self._files.get(path.stem)
        if cached is not None and cached.signature == signature:
            return cached.records
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(raw, list):
                raise ValueError("expected a JSON array of records")
            records = [_normalized(item, path.stem) for item in raw]
        except (OSError, ValueError) as exc:
            if cached is not None:  # a file caught half-written: keep the last good version
                log.warning("HubSpot emulator: cannot read %s (%s); keeping its last version", path, exc)
                return cached.records
            raise ApiError(500, f"syncfw emulator: cannot read seed file {path.name}: {exc}") from None
        self._files[path.stem] = _SeedFile(signature, records)
        return records


def _normalized(item: Any, stem: str) -> dict[str, Any]:
    """A seed record in stored shape: string id, ``hs_object_id``, ``archived`` set.

    Raises:
        ValueError: not an object with an id, properties and ``createdAt``/``updatedAt``.
    """
    if not isinstance(item, dict) or not str(item.get("id", "")).isdigit():
        raise ValueError(f"every record of {stem} needs a numeric string id")
    if not isinstance(item.get("properties"), dict):
        raise ValueError(f"{stem} record {item['id']} needs a properties object")
    for key in ("createdAt", "updatedAt"):
        parse_instant(item.get(key))
    record = copy.deepcopy(item)
    record["id"] = str(item["id"])
    record["properties"]["hs_object_id"] = record["id"]
    record["archived"] = bool(item.get("archived", False))
    return record


def _newest_instant(data: _Data) -> int:
    newest = 0
    for rows in data.records.values():
        for record in rows:
            for key in ("updatedAt", "archivedAt"):
                if record.get(key):
                    newest = max(newest, parse_instant(record[key]))
    return newest


def _definition(kind: ObjectType, name: str, values: Sequence[str | None]) -> dict[str, Any]:
    """A property definition in the properties API's shape, its type guessed from the values."""
    present = [v for v in values if v not in (None, "")]
    if name in ("createdate", kind.modified) or (present and all(_is_instant(v) for v in present)):
        kind_of, field_type = "datetime", "date"
    elif name == "hs_object_id" or (present and all(_is_number(v) for v in present)):
        kind_of, field_type = "number", "number"
    else:
        kind_of, field_type = "string", "text"
    return {
        "name": name,
        "label": name.replace("_", " ").capitalize(),
        "type": kind_of,
        "fieldType": field_type,
        "description": "",
        "groupName": f"{kind.singular}information",
        "options": [],
        "displayOrder": -1,
        "calculated": False,
        "externalOptions": False,
        "hasUniqueValue": False,
        "hidden": False,
        "hubspotDefined": True,
        "modificationMetadata": {"archivable": True, "readOnlyDefinition": True, "readOnlyValue": False},
        "formField": True,
        "archived": False,
    }


def _is_instant(value: str | None) -> bool:
    try:
        parse_instant(value)
    except ValueError:
        return False
    return not str(value).isdigit()


def _is_number(value: str | None) -> bool:
    try:
        float(str(value))
    except ValueError:
        return False
    return True


def _whole(value: str | None, name: str, default: int) -> int:
    if value is None or value == "":
        return default
    if not value.strip().isdigit():
        raise ApiError(400, f"{name} must be a whole number, was {value!r}", "VALIDATION_ERROR")
    return int(value)


def _expire(sent: deque[float], before: float) -> None:
    while sent and sent[0] <= before:
        sent.popleft()


def _instant_of(at: datetime | None) -> int | None:
    if at is None:
        return None
    if at.tzinfo is None:
        raise ValueError("give a timezone-aware datetime")
    return parse_instant(at.isoformat())


def _signature(path: Path) -> tuple[int, int, int]:
    stat = path.stat()
    return (stat.st_mtime_ns, stat.st_size, stat.st_ino)
