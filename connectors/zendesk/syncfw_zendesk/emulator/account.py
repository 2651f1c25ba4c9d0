"""The emulated Zendesk account: seed items, credentials, rate limits and the incremental exports.

Items come from ``data_dir/<stream>.json`` (``tickets.json``, ``users.json``,
``organizations.json``: JSON arrays of items in the API's shape, each with an integer ``id`` and
``updated_at``). A file is read again when its modification time, size or inode changes, so a test
or a person editing a seed file sees the change on the next request.

What the exports do, as documented and recorded (Zendesk, "Incremental Exports" and "Using the
Incremental Export API"):

* items are ordered by export time (tickets: ``generated_timestamp``, never earlier than
  ``updated_at``; others: ``updated_at``) then id; items changed in the last minute
  (:attr:`ZendeskAccount.export_delay`) are left out;
* cursor-based pages: ``after_cursor`` / ``after_url`` point after the page's last item, both null
  when the page is empty; ``before_cursor`` / ``before_url`` are null (backward paging is not
  emulated); ``end_of_stream`` is false while items remain;
* time-based pages: ``count``, ``end_time``, ``next_page``, ``end_of_stream``; items sharing the
  last item's time are never split across pages, and ``end_time`` is that time plus one second
  while items remain, that time itself at the end of the stream (as recorded). An empty page has
  ``end_time`` and ``next_page`` null (not recorded: an assumption);
* ``per_page`` 1-1000 (default 1000); ``exclude_deleted=true`` drops deleted tickets; ``include``
  sideloads are ignored.

What the List endpoints (``GET /api/v2/tickets``, ``/users``, ``/organizations``) do:

* cursor pagination only (Zendesk, "Pagination",
  https://developer.zendesk.com/api-reference/introduction/pagination/): ``page[size]`` 1-100
  (default 100), ``page[after]``; answers carry ``meta: {has_more, after_cursor, before_cursor}``
  and ``links: {next, prev}``; items in id order, with no export delay;
* List Tickets leaves out deleted tickets and *archived* ones: Zendesk archives a ticket 120 days
  after it is closed (:attr:`ZendeskAccount.archive_after`), and the archived ticket remains
  available to "data export, and API use" (Zendesk Support, "About ticket archiving",
  https://support.zendesk.com/hc/en-us/articles/4408887617050): the export still returns it,
  List Tickets does not (Tickets API, "List Tickets"; List Deleted Tickets likewise says archived
  tickets "are not included in the results"). A closed ticket counts as closed since its export
  time. List Tickets answers also carry the ticket index limit,
  ``zendesk-ratelimit-tickets-index: total=100; remaining=..; resets=..`` (as recorded);
* List Users leaves out deleted users (``active: false``) and List Organizations organizations
  with ``deleted_at`` set. Not recorded: an assumption (Zendesk lists deleted users at
  ``/api/v2/deleted_users``); the connector leaves deleted items out whichever way it is.

What ``GET /api/v2/organization_fields`` and ``/api/v2/user_fields`` do (Zendesk, "Organization
Fields" and "User Fields", List ... Fields): one definition per custom field, in the documented
shape (``id``, ``url``, ``key``, ``type``, ``title``, ``raw_title``, ``description``, ``position``,
``active``, ``system``, ...) with ``next_page``, ``previous_page`` and ``count``; an item holds its
values under ``organization_fields`` / ``user_fields`` by ``key``. The account defines the keys
its seed items use (a field with no value in any item is not known), each as a ``text`` field.

A permanently deleted item (:meth:`ZendeskAccount.delete_permanently`: a deleted ticket or user
removed for good, as ``DELETE /api/v2/deleted_tickets/{id}`` and ``/deleted_users/{id}`` do, or an
archived ticket removed by a deletion schedule) leaves every endpoint, exports included: nothing
reports its deletion any more.

Error bodies: 401 ``{"error": "Couldn't authenticate you"}`` and 404 ``RecordNotFound`` are
Zendesk's as recorded; the 429 bodies are as publicly reported (JSON ``APIRateLimitExceeded`` for
the export limit, plain text for the plan's limit). The 400 and 403 bodies are not recorded
anywhere this emulator knows of: they follow Zendesk's ``{"error", "description"}`` layout.

Tests drive the account through its knobs: :attr:`ZendeskAccount.limit`,
:attr:`ZendeskAccount.window_seconds`, :attr:`ZendeskAccount.archive_after`,
:meth:`ZendeskAccount.fail_next`, :meth:`ZendeskAccount.rate_limit_next`,
:meth:`ZendeskAccount.delete_permanently` and :attr:`ZendeskAccount.stats`.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import math
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

from syncfw_zendesk.ratelimits import EXPORT_HEADERS
from syncfw_zendesk.streams import CUSTOM_FIELDS, STREAMS, epoch_seconds, export_time

log = logging.getLogger(__name__)

Endpoint = Literal["api", "export", "cursor_export", "tickets_index"]
LimitName = Literal["plan", "export"]

MAX_PER_PAGE = 1000
MAX_PAGE_SIZE = 100
"""The largest ``page[size]`` of cursor pagination on List endpoints."""
ARCHIVE_AFTER = 120 * 86400
"""Seconds after it is closed that Zendesk archives a ticket (120 days)."""
TICKETS_INDEX_LIMIT = 100
"""Requests per minute to List Tickets (``zendesk-ratelimit-tickets-index``, as recorded)."""
WINDOW_SECONDS = 60.0
"""The length of a rate limit window, in seconds: Zendesk counts each limit in requests "per
minute" (Zendesk API reference, "Rate limits",
https://developer.zendesk.com/api-reference/introduction/rate-limits/)."""
AUTH_FAILED = {"error": "Couldn't authenticate you"}
NOT_FOUND = {"error": "RecordNotFound", "description": "Not found"}
FORBIDDEN = {
    "error": "Forbidden",
    "description": "You do not have access to this page. Please contact the account owner of this help desk for further help.",
}
EXPORT_LIMIT_BODY = {
    "error": "APIRateLimitExceeded",
    "description": "Number of allowed incremental export API requests per minute exceeded",
}
PLAN_LIMIT_TEXT = "Number of allowed API requests per minute exceeded"
_BUCKET_HEADER: dict[Endpoint, str] = {
    "export": EXPORT_HEADERS[0],
    "cursor_export": EXPORT_HEADERS[1],
    "tickets_index": "zendesk-ratelimit-tickets-index",
}
_EXPORTS: tuple[Endpoint, ...] = ("export", "cursor_export")


class ApiError(Exception):
    """An error answer: HTTP status, body (a JSON object or plain text) and extra headers."""

    def __init__(
        self, status: int, body: Mapping[str, Any] | str, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(f"{status} {body}")
        self.status = status
        self.body = body
        self.headers = dict(headers or {})


@dataclass(frozen=True)
class AccountStats:
    """What the account has answered since it started.

    Attributes:
        requests: authenticated requests (errors included).
        export_requests: requests to incremental export endpoints.
        records_returned: items sent in export pages.
        rate_limited: 429 answers.
    """

    requests: int = 0
    export_requests: int = 0
    records_returned: int = 0
    rate_limited: int = 0


class _Window:
    """A fixed window of ``seconds`` (a minute) of a per-minute limit, starting at its first request."""

    def __init__(self, total: int, clock: Callable[[], float], seconds: float) -> None:
        self.total = total
        self.seconds = seconds
        self._clock = clock
        self._started = clock()
        self.used = 0

    def _roll(self) -> None:
        if self._clock() - self._started >= self.seconds:
            self._started, self.used = self._clock(), 0

    def take(self) -> bool:
        """Count one request; False when the window has none left."""
        self._roll()
        if self.used >= self.total:
            return False
        self.used += 1
        return True

    @property
    def remaining(self) -> int:
        self._roll()
        return max(self.total - self.used, 0)

    @property
    def resets(self) -> int:
        """Whole seconds until the window resets (at least 1)."""
        self._roll()
        return max(math.ceil(self.seconds - (self._clock() - self._started)), 1)


@dataclass(frozen=True)
class _SeedFile:
    signature: tuple[int, int, int]
    items: list[dict[str, Any]]


def encode_cursor(stamp: int, item_id: int) -> str:
    """An export cursor pointing after an item, shaped like Zendesk's (base64 of ``<time>.0||<id>|``)."""
    return base64.b64encode(f"{stamp}.0||{item_id}|".encode()).decode()


def decode_cursor(cursor: str) -> tuple[int, int]:
    """The ``(time, id)`` an export cursor points after.

    Raises:
        ApiError: 400 for a cursor this account did not issue.
    """
    try:
        stamp, _, rest = base64.b64decode(cursor, validate=True).decode().partition(".0||")
        return int(stamp), int(rest.rstrip("|"))
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise ApiError(
            400, {"error": "InvalidPaginationParameter", "description": "cursor is invalid"}
        ) from None


class ZendeskAccount:
    """An in-memory Zendesk Support account behind the emulator's API.

    Args:
        data_dir: directory of ``<stream>.json`` seed files, or None for none.
        email: the admin whose API token (or OAuth token) the account accepts.
        api_token: the accepted API token (HTTP Basic ``{email}/token:{api_token}``).
        oauth_token: the accepted OAuth access token (``Authorization: Bearer``).
        limit: requests per minute of the account's plan (``x-rate-limit``; 400 for Professional).
        export_limit: requests per minute of the time-based incremental exports (10).
        cursor_export_limit: requests per minute of the cursor-based exports (20, as recorded).
        export_delay: seconds before the request within which changed items are left out (60).
        archive_after: seconds after it is closed that a ticket is archived (120 days).
        clock: the time source (epoch seconds), for the export delay, archiving and rate limit
            windows.
        window_seconds: the length of every rate limit window (60: Zendesk's limits are per
            minute); shorter for tests that watch several windows go by.

    Thread-safe: the server thread and a test thread may use it at once.
    """

    def __init__(
        self,
        data_dir: Path | None,
        *,
        email: str,
        api_token: str | None = None,
        oauth_token: str | None = None,
        limit: int = 400,
        export_limit: int = 10,
        cursor_export_limit: int = 20,
        export_delay: float = 60.0,
        archive_after: float = ARCHIVE_AFTER,
        clock: Callable[[], float] = time.time,
        window_seconds: float = WINDOW_SECONDS,
    ) -> None:
        self.data_dir = data_dir
        self.email = email
        self.api_token = api_token or secrets.token_urlsafe(30)
        self.oauth_token = oauth_token or secrets.token_urlsafe(40)
        self.export_delay = export_delay
        self.archive_after = archive_after
        self._clock = clock
        self._lock = threading.RLock()
        self._window_seconds = window_seconds
        self._windows: dict[Endpoint, _Window] = {
            "api": _Window(limit, clock, window_seconds),
            "export": _Window(export_limit, clock, window_seconds),
            "cursor_export": _Window(cursor_export_limit, clock, window_seconds),
            "tickets_index": _Window(TICKETS_INDEX_LIMIT, clock, window_seconds),
        }
        self._faults: list[int] = []
        self._forced_limits: list[tuple[float, LimitName]] = []
        self._stats = AccountStats()
        self._files: dict[str, _SeedFile] = {}

    # knobs for tests and the sandbox

    @property
    def limit(self) -> int:
        """Requests per minute the plan allows (``x-rate-limit``); more get 429."""
        return self._windows["api"].total

    @limit.setter
    def limit(self, value: int) -> None:
        with self._lock:
            self._windows["api"] = _Window(value, self._clock, self._window_seconds)

    @property
    def window_seconds(self) -> float:
        """The length of every rate limit window, in seconds (60, as Zendesk counts per minute)."""
        return self._window_seconds

    @window_seconds.setter
    def window_seconds(self, value: float) -> None:
        with self._lock:
            self._window_seconds = value
            self._windows = {
                name: _Window(window.total, self._clock, value) for name, window in self._windows.items()
            }

    def set_export_limits(self, *, time_based: int | None = None, cursor_based: int | None = None) -> None:
        """Set the incremental export limits (requests per minute); the windows restart."""
        with self._lock:
            if time_based is not None:
                self._windows["export"] = _Window(time_based, self._clock, self._window_seconds)
            if cursor_based is not None:
                self._windows["cursor_export"] = _Window(cursor_based, self._clock, self._window_seconds)

    def fail_next(self, count: int, status: int = 503) -> None:
        """Answer the next ``count`` authenticated requests with HTTP ``status`` (5xx, 404, 403...)."""
        with self._lock:
            self._faults.extend([status] * count)

    def rate_limit_next(self, count: int, retry_after: float = 1, limit: LimitName = "export") -> None:
        """Answer the next ``count`` authenticated requests with 429 and ``Retry-After: retry_after``.

        ``limit`` says which limit the answer reports as spent: ``export`` (the incremental export
        bucket header with ``remaining=0`` and the JSON body; the plan's limit on other endpoints)
        or ``plan`` (``x-rate-limit-remaining: 0`` and the plain-text body).
        """
        with self._lock:
            self._forced_limits.extend([(retry_after, limit)] * count)

    def delete_permanently(self, stream: str, item_id: int) -> None:
        """Remove an item for good (rewrites ``<stream>.json`` without it): no endpoint returns it
        any more, and no export reports its deletion.

        Raises:
            KeyError: the stream has no item ``item_id``.
        """
        with self._lock:
            items = self._load(stream)
            kept = [item for item in items if item["id"] != item_id]
            if len(kept) == len(items):
                raise KeyError(f"{stream} has no item {item_id}")
            assert self.data_dir is not None
            path = self.data_dir / f"{stream}.json"
            temporary = path.with_suffix(".tmp")
            temporary.write_text(json.dumps(kept, indent=2), encoding="utf-8")
            temporary.replace(path)

    @property
    def stats(self) -> AccountStats:
        """Counters of what the account has answered."""
        with self._lock:
            return self._stats

    def items(self, stream: str) -> list[dict[str, Any]]:
        """The current seed items of ``stream`` (as in the file)."""
        with self._lock:
            return [dict(item) for item in self._load(stream)]

    # what the API does

    def authenticate(self, authorization: str | None) -> dict[str, Any]:
        """The user a request's ``Authorization`` header authenticates.

        Raises:
            ApiError: 401 ``Couldn't authenticate you`` for missing or wrong credentials.
        """
        scheme, _, value = (authorization or "").partition(" ")
        if scheme.lower() == "bearer" and secrets.compare_digest(value.strip(), self.oauth_token):
            return self._user(self.email)
        if scheme.lower() == "basic":
            try:
                user, _, token = base64.b64decode(value.strip()).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                raise ApiError(401, AUTH_FAILED) from None
            if user == f"{self.email}/token" and secrets.compare_digest(token, self.api_token):
                return self._user(self.email)
        raise ApiError(401, AUTH_FAILED)

    def admit(self, endpoint: Endpoint) -> dict[str, str]:
        """Count an authenticated request against the limits; the rate limit headers to send.

        Raises:
            ApiError: an injected fault (:meth:`fail_next`), or 429 with ``Retry-After`` when a
                limit is spent or one is forced (:meth:`rate_limit_next`).
        """
        with self._lock:
            exports = endpoint in _EXPORTS
            self._count(requests=1, export_requests=int(exports))
            if self._faults:
                status = self._faults.pop(0)
                raise ApiError(status, self._fault_body(status), self._headers(endpoint))
            if self._forced_limits:
                retry_after, limit = self._forced_limits.pop(0)
                raise self._too_many(endpoint if exports and limit == "export" else "api", retry_after)
            if not self._windows["api"].take():
                raise self._too_many("api", self._windows["api"].resets)
            if endpoint != "api" and not self._windows[endpoint].take():
                raise self._too_many(endpoint, self._windows[endpoint].resets)
            return self._headers(endpoint)

    def me(self, user: Mapping[str, Any], base_url: str) -> dict[str, Any]:
        """The body of ``GET /api/v2/users/me.json``."""
        return {"user": self._with_url("users", dict(user), base_url)}

    def cursor_export(
        self, stream: str, params: Mapping[str, str], *, path: str, base_url: str
    ) -> dict[str, Any]:
        """A page of a cursor-based export (``incremental/<stream>/cursor.json``).

        Raises:
            ApiError: 400 without ``start_time`` or ``cursor``, or with a bad value.
        """
        per_page = _per_page(params)
        with self._lock:
            rows = self._exportable(stream, params)
            if params.get("cursor"):
                after = decode_cursor(params["cursor"])
                rows = [(stamp, item) for stamp, item in rows if (stamp, item["id"]) > after]
            elif "start_time" in params:
                start = _start_time(params)
                rows = [(stamp, item) for stamp, item in rows if stamp >= start]
            else:
                raise ApiError(
                    400, {"error": "InvalidValue", "description": "start_time or cursor is required"}
                )
            page = rows[:per_page]
            self._count(records_returned=len(page))
        after_cursor = encode_cursor(page[-1][0], page[-1][1]["id"]) if page else None
        query = f"cursor={quote(after_cursor, safe='')}" if after_cursor else ""
        if "per_page" in params and query:
            query += f"&per_page={per_page}"
        return {
            stream: [self._with_url(stream, item, base_url) for _, item in page],
            "after_url": f"{base_url}{path}?{query}" if after_cursor else None,
            "before_url": None,
            "after_cursor": after_cursor,
            "before_cursor": None,
            "end_of_stream": len(rows) <= per_page,
        }

    def time_export(
        self, stream: str, params: Mapping[str, str], *, path: str, base_url: str
    ) -> dict[str, Any]:
        """A page of a time-based export (``incremental/<stream>.json?start_time=``).

        Raises:
            ApiError: 400 without a valid ``start_time``.
        """
        per_page = _per_page(params)
        start = _start_time(params)
        with self._lock:
            rows = [(stamp, item) for stamp, item in self._exportable(stream, params) if stamp >= start]
            size = min(per_page, len(rows))
            while 0 < size < len(rows) and rows[size][0] == rows[size - 1][0]:
                size += 1  # items sharing a time are never split across pages
            page = rows[:size]
            self._count(records_returned=len(page))
        more = len(rows) > len(page)
        end_time = (page[-1][0] + 1 if more else page[-1][0]) if page else None
        prefix = f"per_page={per_page}&" if "per_page" in params else ""
        return {
            stream: [self._with_url(stream, item, base_url) for _, item in page],
            "next_page": f"{base_url}{path}?{prefix}start_time={end_time}" if end_time is not None else None,
            "count": len(page),
            "end_of_stream": not more,
            "end_time": end_time,
        }

    def list_page(
        self, stream: str, params: Mapping[str, str], *, path: str, base_url: str
    ) -> dict[str, Any]:
        """A page of List Tickets, List Users or List Organizations (cursor pagination).

        Raises:
            ApiError: 400 for a ``page[size]`` that is not a number or a ``page[after]`` this
                account did not issue.
        """
        size = params.get("page[size]", str(MAX_PAGE_SIZE))
        if not size.isdigit():
            raise ApiError(
                400, {"error": "InvalidPaginationParameter", "description": "page[size] is invalid"}
            )
        per_page = min(max(int(size), 1), MAX_PAGE_SIZE)
        with self._lock:
            items = sorted(
                (i for i in self._load(stream) if self._listed(stream, i)), key=lambda i: int(i["id"])
            )
            if params.get("page[after]"):
                after = _decode_list_cursor(params["page[after]"])
                items = [item for item in items if item["id"] > after]
            page = items[:per_page]
        has_more = len(items) > per_page
        after_cursor = _encode_list_cursor(page[-1]["id"]) if page else None
        query = (
            f"page%5Bafter%5D={quote(after_cursor, safe='')}&page%5Bsize%5D={per_page}"
            if after_cursor
            else ""
        )
        return {
            stream: [self._with_url(stream, item, base_url) for item in page],
            "meta": {
                "has_more": has_more,
                "after_cursor": after_cursor,
                "before_cursor": _encode_list_cursor(page[0]["id"]) if page else None,
            },
            "links": {"next": f"{base_url}{path}?{query}" if has_more else None, "prev": None},
        }

    def custom_fields(self, stream: str, base_url: str) -> dict[str, Any]:
        """The body of List Organization Fields (``stream`` ``organizations``) or List User
        Fields (``users``): every key the stream's seed items hold values under, in one page."""
        resource = CUSTOM_FIELDS[stream]
        with self._lock:
            keys = sorted({key for item in self._load(stream) for key in item.get(resource) or {}})
        stamp = "2026-01-05T09:00:00Z"
        definitions = [
            {
                "id": 360000100 + position,
                "url": f"{base_url}/api/v2/{resource}/{360000100 + position}.json",
                "key": key,
                "type": "text",
                "title": key.replace("_", " ").capitalize(),
                "raw_title": key.replace("_", " ").capitalize(),
                "description": "",
                "raw_description": "",
                "position": position,
                "active": True,
                "system": False,
                "regexp_for_validation": None,
                "created_at": stamp,
                "updated_at": stamp,
            }
            for position, key in enumerate(keys)
        ]
        return {resource: definitions, "next_page": None, "previous_page": None, "count": len(definitions)}

    # internals

    def _listed(self, stream: str, item: Mapping[str, Any]) -> bool:
        """Whether a List endpoint returns ``item``: not deleted, and for tickets not archived."""
        if STREAMS[stream].is_deleted(item):
            return False
        if stream != "tickets" or item.get("status") != "closed":
            return True
        closed = export_time(STREAMS[stream], item) or 0
        return self._clock() - closed < self.archive_after

    def _exportable(self, stream: str, params: Mapping[str, str]) -> list[tuple[int, dict[str, Any]]]:
        """``(export time, item)`` of the items an export may return, in export order."""
        export = STREAMS[stream]
        horizon = self._clock() - self.export_delay
        rows = []
        for item in self._load(stream):
            stamp = export_time(export, item) or 0
            if stamp > horizon:
                continue
            if (
                stream == "tickets"
                and params.get("exclude_deleted") == "true"
                and item.get("status") == "deleted"
            ):
                continue
            rows.append((stamp, item))
        return sorted(rows, key=lambda row: (row[0], row[1]["id"]))

    def _with_url(self, stream: str, item: dict[str, Any], base_url: str) -> dict[str, Any]:
        """The item as the API sends it: with its ``url`` (and a ticket's ``generated_timestamp``)."""
        result: dict[str, Any] = {"url": f"{base_url}/api/v2/{stream}/{item['id']}.json"}
        result.update((key, value) for key, value in item.items() if key != "url")
        if stream == "tickets":
            result["generated_timestamp"] = export_time(STREAMS[stream], item)
        return result

    def _user(self, email: str) -> dict[str, Any]:
        """The seed user with ``email``, or an admin made up for it when the seeds have none."""
        for user in self._load("users"):
            if str(user.get("email", "")).lower() == email.lower():
                return user
        return {"id": 1, "name": "Sandbox Admin", "email": email, "role": "admin", "active": True}

    def _headers(self, endpoint: Endpoint) -> dict[str, str]:
        plan = self._windows["api"]
        headers = {
            "x-rate-limit": str(plan.total),
            "x-rate-limit-remaining": str(plan.remaining),
            "ratelimit-limit": str(plan.total),
            "ratelimit-remaining": str(plan.remaining),
            "ratelimit-reset": str(plan.resets),
        }
        if endpoint != "api":
            window = self._windows[endpoint]
            headers[_BUCKET_HEADER[endpoint]] = (
                f"total={window.total}; remaining={window.remaining}; resets={window.resets}"
            )
        return headers

    def _too_many(self, spent: Endpoint, retry_after: float) -> ApiError:
        self._count(rate_limited=1)
        headers = self._headers(spent)
        wait = str(max(math.ceil(retry_after), 0))
        body: Mapping[str, Any] | str = EXPORT_LIMIT_BODY if spent in _EXPORTS else PLAN_LIMIT_TEXT
        if spent == "api":
            headers.update(
                {"x-rate-limit-remaining": "0", "ratelimit-remaining": "0", "ratelimit-reset": wait}
            )
        else:
            total = self._windows[spent].total
            headers[_BUCKET_HEADER[spent]] = f"total={total}; remaining=0; resets={wait}"
        headers["Retry-After"] = wait
        return ApiError(429, body, headers)

    @staticmethod
    def _fault_body(status: int) -> Mapping[str, Any] | str:
        if status == 401:
            return AUTH_FAILED
        if status == 403:
            return FORBIDDEN
        if status == 404:
            return NOT_FOUND
        return (
            "Service Unavailable"
            if status >= 500
            else {"error": "InvalidValue", "description": "Invalid request"}
        )

    def _count(self, **increments: int) -> None:
        self._stats = replace(
            self._stats, **{name: getattr(self._stats, name) + n for name, n in increments.items()}
        )

    def _load(self, stream: str) -> list[dict[str, Any]]:
        path = self.data_dir / f"{stream}.json" if self.data_dir is not None else None
        if path is None or not path.is_file():
            return []
        stat = path.stat()
        signature = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
        cached = self._files.get(stream)
        if cached is not None and cached.signature == signature:
            return cached.items
        try:
            items = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(items, list) or not all(_valid_item(item) for item in items):
                raise ValueError("expected a JSON array of items, each with an integer id and updated_at")
        except (OSError, ValueError) as exc:
            if cached is not None:  # a file caught half-written: keep the last good version
                log.warning("Zendesk emulator: cannot read %s (%s); keeping its last version", path, exc)
                return cached.items
            raise ApiError(
                500, {"error": "InternalError", "description": f"cannot read seed file {path.name}: {exc}"}
            ) from None
        self._files[stream] = _SeedFile(signature, items)
        return items


def _valid_item(item: Any) -> bool:
    return (
        isinstance(item, dict)
        and isinstance(item.get("id"), int)
        and not isinstance(item.get("id"), bool)
        and epoch_seconds(item.get("updated_at")) is not None
    )


def _encode_list_cursor(item_id: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"o": "id", "v": item_id}).encode()).decode()


def _decode_list_cursor(cursor: str) -> int:
    try:
        value = json.loads(base64.urlsafe_b64decode(cursor.encode()))["v"]
    except (binascii.Error, UnicodeDecodeError, ValueError, KeyError, TypeError):
        value = None
    if not isinstance(value, int):
        raise ApiError(400, {"error": "InvalidPaginationParameter", "description": "page[after] is invalid"})
    return value


def _per_page(params: Mapping[str, str]) -> int:
    value = params.get("per_page", str(MAX_PER_PAGE))
    if not value.isdigit():
        raise ApiError(400, {"error": "InvalidValue", "description": "per_page must be a number"})
    return min(max(int(value), 1), MAX_PER_PAGE)


def _start_time(params: Mapping[str, str]) -> int:
    value = params.get("start_time", "")
    if not value.isdigit():
        raise ApiError(
            400, {"error": "InvalidValue", "description": "start_time must be a Unix epoch time in seconds"}
        )
    return int(value)
