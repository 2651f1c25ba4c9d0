"""The HTTP face of the emulator: a Starlette app answering ``/v1/...`` like api.notion.com.

Every ``/v1/`` request goes through, in this order (API-FACTS §9):

1. routing: an unknown path or a wrong method answers 400 ``invalid_request_url`` (before auth,
   as the real service does);
2. ``Notion-Version`` must be present (400 ``missing_version``; any value is accepted and the
   2025-09-03 shapes are answered);
3. ``Authorization: Bearer <token>`` must carry the integration token or a live OAuth access token
   (401 ``unauthorized``; :mod:`.tokens`), except ``POST /v1/oauth/token``, which takes the
   client's Basic credentials and answers OAuth's own error bodies;
4. the rate limiter (429 ``rate_limited`` with ``Retry-After``);
5. the configured latency (an asyncio sleep);
6. the JSON body: over 500KB (500,000 bytes as sent) 400 ``validation_error``
   (:func:`.errors.payload_too_large`, DOC request-limits), not JSON 400 ``invalid_json``; then
   any injected fault (a queued one, else one drawn from the ``faults`` plan, see
   :mod:`syncfw.emulation.faults`), then the endpoint.

A fault answers Notion's error body for its status (429 ``rate_limited`` with or without
``Retry-After``, 500/502/503/504, 529 ``service_overload`` with ``Retry-After``, 1 s by default) or resets the connection without an
answer (``reset``; ``timeout`` after holding the request). ``lost_response`` hits writes only
(every ``POST``, ``PATCH`` and ``DELETE`` except data source queries and search): the write is applied
and committed, then the answer is lost. ``late_commit`` (writes only, drawn or queued with
``commit_after``) answers 504 or times out first and commits the write ``S`` seconds later on
the emulator's clock (:class:`LateCommits`): every request, ``/_emulator/`` ones included, first
applies the late commits that are due, each stamped with its own due time.

Every JSON answer carries ``request_id`` and the same id in the ``x-notion-request-id`` header.

``/_emulator/`` routes (the integration token the emulator started with, no version header, never
limited or counted):

========================================================  ===========================================
``GET /_emulator/info``                                    ``{"parent_page_id","bot_user_id","workspace_id"}``
``GET``/``POST /_emulator/config``                         knobs ``{"rate_limit","burst","latency","retry_after","faults","query_cap"}``
``GET /_emulator/stats``, ``POST /_emulator/stats/reset``  request counters
``GET``/``POST /_emulator/faults``, ``POST .../clear``     queued faults ``{"endpoint","status","after_commit","times","commit_after","retry_after"}``
``POST /_emulator/pages/{id}/human-edit``                  ``{"properties": {...}, "user_name"?}``
``POST /_emulator/pages/{id}/human-trash``                 ``{"user_name"?}``
``POST /_emulator/data_sources/{id}/human-create``         ``{"properties": {...}, "user_name"?}``
``POST /_emulator/data_sources/{id}/human-import``         ``{"rows": [...], "user_name"?, "rows_per_second"?}`` → ``{"created"}``
``POST /_emulator/data_sources/{id}/human-schema``         ``{"properties": {...}, "user_name"?}``
``GET /_emulator/dump``                                    every data source with its pages
========================================================  ===========================================
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import json
import logging
import re
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from syncfw.emulation.faults import DroppableConnections, Injection, drop_connection, hold

from . import databases, errors, humans, pages, search, users
from .controls import Controls, Fault
from .dump import dump
from .ids import new_id
from .pages import IMPORT_ROWS_PER_SECOND
from .tokens import Tokens
from .workspace import DEFAULT_PERSON, WORKSPACE_NAME, Workspace

_log = logging.getLogger(__name__)
_METHODS = ["GET", "POST", "PATCH", "PUT", "DELETE", "HEAD", "OPTIONS"]


@dataclass
class Call:
    """One request as an endpoint sees it: path parameters, JSON body, query string, actor."""

    params: dict[str, str]
    body: Any
    query: QueryParams
    actor: str


Handler = Callable[[Workspace, Call], Any]


@dataclass
class _Route:
    method: str
    template: str
    handler: Handler
    pattern: re.Pattern[str]
    name: str
    write: bool


_READING_POSTS = ("/query", "/v1/search")


def _route(method: str, template: str, handler: Handler) -> _Route:
    pattern = re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template) + "$")
    name = method + " " + re.sub(r"\{(?!property_id)\w+\}", "{id}", template)
    write = method in ("POST", "PATCH", "DELETE") and not template.endswith(_READING_POSTS)
    return _Route(method, template, handler, pattern, name, write)


def _api_routes(controls: Controls) -> list[_Route]:
    return [
        _route("GET", "/v1/users/me", lambda ws, c: users.me(ws)),
        _route(
            "GET",
            "/v1/users",
            lambda ws, c: users.list_users(ws, c.query.get("start_cursor"), c.query.get("page_size")),
        ),
        _route("GET", "/v1/users/{user_id}", lambda ws, c: users.retrieve(ws, c.params["user_id"])),
        _route("POST", "/v1/databases", lambda ws, c: databases.create_database(ws, c.body, c.actor)),
        _route(
            "GET",
            "/v1/databases/{database_id}",
            lambda ws, c: databases.retrieve_database(ws, c.params["database_id"]),
        ),
        _route(
            "PATCH",
            "/v1/databases/{database_id}",
            lambda ws, c: databases.update_database(ws, c.params["database_id"], c.body, c.actor),
        ),
        _route("POST", "/v1/data_sources", lambda ws, c: databases.create_data_source(ws, c.body, c.actor)),
        _route(
            "GET",
            "/v1/data_sources/{data_source_id}",
            lambda ws, c: databases.retrieve_data_source(ws, c.params["data_source_id"]),
        ),
        _route(
            "PATCH",
            "/v1/data_sources/{data_source_id}",
            lambda ws, c: databases.update_data_source(ws, c.params["data_source_id"], c.body, c.actor),
        ),
        _route(
            "POST",
            "/v1/data_sources/{data_source_id}/query",
            lambda ws, c: databases.query_data_source(
                ws,
                c.params["data_source_id"],
                c.body,
                c.query.getlist("filter_properties"),
                controls.knobs.query_cap,
            ),
        ),
        _route("POST", "/v1/pages", lambda ws, c: pages.create(ws, c.body, c.actor)),
        _route(
            "GET",
            "/v1/pages/{page_id}",
            lambda ws, c: pages.retrieve(ws, c.params["page_id"], c.query.getlist("filter_properties")),
        ),
        _route(
            "PATCH",
            "/v1/pages/{page_id}",
            lambda ws, c: pages.update(ws, c.params["page_id"], c.body, c.actor),
        ),
        _route(
            "GET",
            "/v1/pages/{page_id}/properties/{property_id}",
            lambda ws, c: pages.retrieve_property(
                ws,
                c.params["page_id"],
                c.params["property_id"],
                c.query.get("start_cursor"),
                c.query.get("page_size"),
            ),
        ),
        _route("POST", "/v1/search", lambda ws, c: search.search(ws, c.body)),
        _route(
            "DELETE",
            "/v1/blocks/{block_id}",
            lambda ws, c: pages.delete_block(ws, c.params["block_id"], c.actor),
        ),
    ]


def _then(action: Callable[[], None], answer: Callable[[], Any]) -> Any:
    action()
    return answer()


def _user_name(call: Call) -> str:
    name = _object(call.body).get("user_name", DEFAULT_PERSON)
    if not isinstance(name, str) or not name:
        raise errors.body_invalid("body.user_name", "a non-empty string", name)
    return name


def _object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise errors.body_invalid("body", "an object", body)
    return body


def _properties(call: Call) -> Any:
    return _object(call.body).get("properties", errors.UNDEFINED)


def _rows_per_second(call: Call) -> Any:
    """The import's pace as given (checked by :func:`.pages.import_rows`)."""
    return _object(call.body).get("rows_per_second", IMPORT_ROWS_PER_SECOND)


def _rows(call: Call) -> list[Any]:
    rows = _object(call.body).get("rows", errors.UNDEFINED)
    if not isinstance(rows, list):
        raise errors.body_invalid("body.rows", "an array", rows)
    return rows


class LateCommits:
    """Writes answered as failed that the emulator commits later (the ``late_commit`` fault).

    Each is due a number of seconds after its answer, on the workspace's clock; :meth:`settle`
    applies those that are due, oldest first, with the clock showing their due time (so their
    ``created_time``/``last_edited_time`` are the commit's). A late write that the workspace
    refuses by then (its page was trashed meanwhile, say) is dropped, as Notion would fail it.
    """

    def __init__(self, ws: Workspace) -> None:
        self._ws = ws
        self._lock = threading.Lock()
        self._order = itertools.count()
        self._pending: list[tuple[int, int, Callable[[], Any]]] = []

    def add(self, seconds: float, apply: Callable[[], Any]) -> None:
        """Commit ``apply`` ``seconds`` from now (call it once the failure is answered)."""
        with self._ws.store.lock:  # not inside another commit's pinned moment
            due = self._ws.now_ms() + round(seconds * 1000)
        with self._lock:
            heapq.heappush(self._pending, (due, next(self._order), apply))

    def settle(self) -> None:
        """Apply every late commit that is due."""
        while True:
            with self._lock:
                if not self._pending or self._pending[0][0] > self._ws.now_ms():
                    return
                due, _, apply = heapq.heappop(self._pending)
            with self._ws.at(due):
                try:
                    apply()
                except errors.NotionAPIError as error:
                    _log.info("late commit refused when due: %s", error)


class NotionApp:
    """Builds the Starlette app around a workspace and its controls.

    Attributes:
        app: the ASGI app.
        late_commits: writes the emulator will commit later (see :class:`LateCommits`).
    """

    def __init__(self, ws: Workspace, controls: Controls, token: str) -> None:
        self._ws = ws
        self._controls = controls
        self.tokens = Tokens(
            token,
            lambda: ws.now_ms() / 1000,
            {
                "workspace_id": ws.store.meta["workspace_id"],
                "workspace_name": WORKSPACE_NAME,
                "bot_id": ws.bot_user_id,
            },
        )
        self.late_commits = LateCommits(ws)
        self._api = _api_routes(controls)
        self._emulator = self._emulator_routes()
        self.app = DroppableConnections(
            Starlette(routes=[Route("/{path:path}", self._dispatch, methods=_METHODS)])
        )

    def _emulator_routes(self) -> list[_Route]:
        controls = self._controls
        return [
            _route(
                "GET",
                "/_emulator/info",
                lambda ws, c: {
                    "parent_page_id": ws.parent_page_id,
                    "bot_user_id": ws.bot_user_id,
                    "workspace_id": ws.store.meta["workspace_id"],
                },
            ),
            _route("GET", "/_emulator/config", lambda ws, c: asdict(controls.knobs)),
            _route("POST", "/_emulator/config", lambda ws, c: asdict(controls.configure(**_object(c.body)))),
            _route("GET", "/_emulator/stats", lambda ws, c: controls.stats()),
            _route("GET", "/_emulator/requests", lambda ws, c: {"requests": controls.requests()}),
            _route(
                "POST", "/_emulator/stats/reset", lambda ws, c: _then(controls.reset_stats, controls.stats)
            ),
            _route("GET", "/_emulator/faults", lambda ws, c: {"faults": controls.faults()}),
            _route("POST", "/_emulator/faults", lambda ws, c: self._add_fault(c)),
            _route(
                "POST",
                "/_emulator/faults/clear",
                lambda ws, c: _then(controls.clear_faults, lambda: {"faults": controls.faults()}),
            ),
            _route(
                "POST",
                "/_emulator/pages/{page_id}/human-edit",
                lambda ws, c: humans.edit_page(ws, c.params["page_id"], _properties(c), _user_name(c)),
            ),
            _route(
                "POST",
                "/_emulator/pages/{page_id}/human-trash",
                lambda ws, c: humans.trash_page(ws, c.params["page_id"], _user_name(c)),
            ),
            _route(
                "POST",
                "/_emulator/data_sources/{data_source_id}/human-create",
                lambda ws, c: humans.create_page(
                    ws, c.params["data_source_id"], _properties(c), _user_name(c)
                ),
            ),
            _route(
                "POST",
                "/_emulator/data_sources/{data_source_id}/human-import",
                lambda ws, c: {
                    "created": humans.import_rows(
                        ws, c.params["data_source_id"], _rows(c), _user_name(c), _rows_per_second(c)
                    )
                },
            ),
            _route(
                "POST",
                "/_emulator/data_sources/{data_source_id}/human-schema",
                lambda ws, c: humans.update_schema(
                    ws, c.params["data_source_id"], _properties(c), _user_name(c)
                ),
            ),
            _route("GET", "/_emulator/dump", lambda ws, c: dump(ws)),
        ]

    def _add_fault(self, call: Call) -> dict[str, Any]:
        try:
            fault = Fault(**_object(call.body))
        except TypeError as error:
            raise errors.validation(f"Invalid fault: {error}.") from None
        self._controls.add_fault(fault)
        return {"faults": self._controls.faults()}

    async def _dispatch(self, request: Request) -> Response:
        request_id = new_id()
        try:
            self.late_commits.settle()
            if request.url.path.startswith("/_emulator/"):
                route, params = self._match(self._emulator, request)
                if request.headers.get("authorization", "").strip() != f"Bearer {self.tokens.control}":
                    raise errors.unauthorized(malformed_header=False)
                call = Call(params, await _body(request), request.query_params, self._ws.bot_user_id)
                return _json(route.handler(self._ws, call), request_id)
            if request.url.path == _OAUTH_TOKEN and request.method == "POST":
                return await self._token_call(request, request_id)
            return await self._api_call(request, request_id)
        except errors.NotionAPIError as error:
            return _json(error.body(request_id), request_id, error.status, error.headers)
        except Exception:
            _log.exception("emulator bug answering %s %s", request.method, request.url.path)
            failure = errors.fault(500)
            return _json(failure.body(request_id), request_id, failure.status)

    async def _api_call(self, request: Request, request_id: str) -> Response:
        try:
            route, params = self._match(self._api, request)
            if "notion-version" not in request.headers:
                raise errors.missing_version()
            self.tokens.check(request.headers.get("authorization", ""))
        except errors.NotionAPIError:
            if request.url.path.startswith("/v1/"):
                self._controls.count_unrouted()
            raise
        self._controls.admit()
        self._controls.count(route.name)
        latency = self._controls.knobs.latency
        if latency:
            await asyncio.sleep(latency)
        body = await _body(request, errors.PAYLOAD_LIMIT_BYTES)
        call = Call(params, body, request.query_params, self._ws.bot_user_id)
        self._controls.log(route.name, params, call.body)
        fault = self._controls.take_fault(route.name)
        if fault is not None and fault.commit_after is not None:
            self.late_commits.add(fault.commit_after, lambda: route.handler(self._ws, call))
            raise errors.fault(fault.status, fault.retry_after)
        if fault is not None and not fault.after_commit:
            raise errors.fault(fault.status, fault.retry_after)
        injection = None if fault is not None else self._controls.draw_fault(write=route.write)
        if injection is not None and injection.commit_after is not None:
            answer = await _inflict(request, injection, request_id)
            self.late_commits.add(injection.commit_after, lambda: route.handler(self._ws, call))
            return answer
        if injection is not None and not injection.after_commit:
            return await _inflict(request, injection, request_id)
        result = route.handler(self._ws, call)
        if fault is not None:
            raise errors.fault(fault.status, fault.retry_after)
        if injection is not None:
            return await _inflict(request, injection, request_id)
        return _json({**result, "request_id": request_id}, request_id)

    def _match(self, routes: list[_Route], request: Request) -> tuple[_Route, dict[str, str]]:
        path = request.url.path
        for route in routes:
            match = route.pattern.match(path)
            if match and route.method == request.method:
                return route, match.groupdict()
        raise errors.invalid_request_url()

    async def _token_call(self, request: Request, request_id: str) -> Response:
        """``POST /v1/oauth/token``: limited and counted like every ``/v1/`` request, logged
        without its refresh token."""
        self._controls.admit()
        self._controls.count(_OAUTH_ENDPOINT)
        body = await _body(request, errors.PAYLOAD_LIMIT_BYTES)
        shown = {k: v for k, v in body.items() if k != "refresh_token"} if isinstance(body, dict) else body
        self._controls.log(_OAUTH_ENDPOINT, {}, shown)
        answer = self.tokens.exchange(request.headers.get("authorization", ""), body)
        return _json({**answer, "request_id": request_id}, request_id)


_OAUTH_TOKEN = "/v1/oauth/token"
_OAUTH_ENDPOINT = "POST /v1/oauth/token"


async def _inflict(request: Request, injection: Injection, request_id: str) -> Response:
    """Carry out a drawn fault: an error answer, or a reset connection (after holding it)."""
    connected = await hold(request, injection.hold_seconds) if injection.hold_seconds else True
    if injection.status is None or not connected:
        if connected:
            await drop_connection(request.scope)
        return Response(status_code=500)  # never sent: the connection is gone
    error = errors.fault(injection.status, injection.retry_after)
    return _json(error.body(request_id), request_id, error.status, error.headers)


async def _body(request: Request, limit: int | None = None) -> Any:
    """The JSON body; over ``limit`` bytes on the wire (``/v1/`` requests) it is refused."""
    if request.method not in ("POST", "PATCH"):
        return None
    raw = await request.body()
    if limit is not None and len(raw) > limit:
        raise errors.payload_too_large(len(raw))
    if not raw.strip():
        return {}
    try:
        return json.loads(raw, parse_constant=_refuse_constant)
    except (ValueError, UnicodeDecodeError):
        raise errors.invalid_json() from None


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _json(
    content: Any, request_id: str, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    body = json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode()
    return Response(
        body,
        status_code=status,
        headers={
            "content-type": "application/json; charset=utf-8",
            "x-notion-request-id": request_id,
            **(headers or {}),
        },
    )
