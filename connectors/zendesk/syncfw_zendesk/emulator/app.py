"""The emulator's HTTP API: the Zendesk endpoints zenpy and the connector call, as a Starlette app.

=======================================================  ======================================
``GET /api/v2/users/me.json``                             the authenticated user
``GET /api/v2/incremental/tickets/cursor.json``           cursor-based ticket export
``GET /api/v2/incremental/users/cursor.json``             cursor-based user export
``GET /api/v2/incremental/tickets.json``                  time-based ticket export
``GET /api/v2/incremental/users.json``                    time-based user export
``GET /api/v2/incremental/organizations.json``            time-based organization export
``GET /api/v2/tickets.json``                              List Tickets (not archived, not deleted)
``GET /api/v2/users.json``                                List Users (not deleted)
``GET /api/v2/organizations.json``                        List Organizations (not deleted)
``GET /api/v2/organization_fields.json``                  List Organization Fields
``GET /api/v2/user_fields.json``                          List User Fields
=======================================================  ======================================

Every path also answers without ``.json`` (as Zendesk does). Authentication: HTTP Basic
``{email}/token:{api_token}`` or ``Authorization: Bearer <oauth token>``; anything else gets 401
``{"error": "Couldn't authenticate you"}``. Authenticated answers carry ``x-rate-limit``,
``x-rate-limit-remaining``, ``ratelimit-limit``/``-remaining``/``-reset`` and, on exports, the
``zendesk-ratelimit-incremental-exports[-cursor]`` bucket. Unknown paths get 404
``{"error": "RecordNotFound", "description": "Not found"}``. URLs in answers (``after_url``,
``next_page``, items' ``url``) point at the emulator itself, since zenpy follows them as given.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from syncfw_zendesk.emulator.account import NOT_FOUND, ApiError, Endpoint, ZendeskAccount
from syncfw_zendesk.streams import CUSTOM_FIELDS

_VERSION_HEADER = {"x-zendesk-api-version": "v2"}

Handler = Callable[[Request, dict[str, Any], str], dict[str, Any]]


def _error(exc: ApiError) -> Response:
    headers = {**_VERSION_HEADER, **exc.headers}
    if isinstance(exc.body, str):
        return PlainTextResponse(exc.body, status_code=exc.status, headers=headers)
    return JSONResponse(exc.body, status_code=exc.status, headers=headers)


def create_app(account: ZendeskAccount) -> Starlette:
    """A Starlette app serving ``account`` through Zendesk's API paths."""

    def api(endpoint: Endpoint, handler: Handler) -> Callable[[Request], Response]:
        def run(request: Request) -> Response:
            base_url = f"{request.url.scheme}://{request.url.netloc}"
            try:
                user = account.authenticate(request.headers.get("authorization"))
                headers = account.admit(endpoint)
                body = handler(request, user, base_url)
            except ApiError as exc:
                return _error(exc)
            return JSONResponse(body, headers={**_VERSION_HEADER, **headers})

        return run

    def me(request: Request, user: dict[str, Any], base_url: str) -> dict[str, Any]:
        return account.me(user, base_url)

    def cursor_export(stream: str) -> Handler:
        def handle(request: Request, user: dict[str, Any], base_url: str) -> dict[str, Any]:
            params = dict(request.query_params)
            return account.cursor_export(stream, params, path=request.url.path, base_url=base_url)

        return handle

    def time_export(stream: str) -> Handler:
        def handle(request: Request, user: dict[str, Any], base_url: str) -> dict[str, Any]:
            params = dict(request.query_params)
            return account.time_export(stream, params, path=request.url.path, base_url=base_url)

        return handle

    def list_page(stream: str) -> Handler:
        def handle(request: Request, user: dict[str, Any], base_url: str) -> dict[str, Any]:
            params = dict(request.query_params)
            return account.list_page(stream, params, path=request.url.path, base_url=base_url)

        return handle

    def custom_fields(stream: str) -> Handler:
        def handle(request: Request, user: dict[str, Any], base_url: str) -> dict[str, Any]:
            return account.custom_fields(stream, base_url)

        return handle

    def not_found(request: Request, exc: Exception) -> Response:
        return JSONResponse(NOT_FOUND, status_code=404, headers=_VERSION_HEADER)

    resources: list[tuple[str, Endpoint, Handler]] = [("/users/me", "api", me)]
    for stream in ("tickets", "users"):
        resources.append((f"/incremental/{stream}/cursor", "cursor_export", cursor_export(stream)))
    for stream in ("tickets", "users", "organizations"):
        resources.append((f"/incremental/{stream}", "export", time_export(stream)))
        resources.append((f"/{stream}", "tickets_index" if stream == "tickets" else "api", list_page(stream)))
    for stream, resource in CUSTOM_FIELDS.items():
        resources.append((f"/{resource}", "api", custom_fields(stream)))
    routes = []
    for path, endpoint, handler in resources:
        run = api(endpoint, handler)
        routes += [Route(f"/api/v2{path}.json", run), Route(f"/api/v2{path}", run)]
    return Starlette(routes=routes, exception_handlers={404: not_found, 405: not_found})
