"""The emulator's HTTP API: the CRM v3 resources hubspot-api-client calls, as a Starlette app.

=====================================================  ==========================================
``POST /crm/v3/objects/{type}/search``                 search (no rate-limit headers, like HubSpot)
``GET /crm/v3/objects/{type}``                         list page (``archived``, ``associations``)
``GET /crm/v3/objects/{type}/{id}``                    one record
``POST /crm/v3/associations/{from}/{to}/batch/read``   associated ids (207 when some have none)
``GET /crm/v3/properties/{type}``                      property definitions
=====================================================  ==========================================

Query parameters repeat (``properties=a&properties=b``, what hubspot-api-client sends) or hold
comma lists (``properties=a,b``); booleans are ``true``/``True``. Every answer is JSON with
``Content-Type: application/json;charset=utf-8`` and ``X-HubSpot-Correlation-Id``; errors are
``{"status": "error", "message", "correlationId", "category"?}`` (HubSpot, "Error handling",
https://developers.hubspot.com/docs/api-reference/error-handling).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from syncfw_hubspot.emulator.portal import ApiError, HubSpotPortal, LoggedRequest

_CONTENT_TYPE = "application/json;charset=utf-8"

Handler = Callable[[Request, Any], Any]


def _json(body: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    correlation = body.get("correlationId") if isinstance(body, dict) else None
    return Response(
        json.dumps(body, separators=(",", ":")),
        status_code=status,
        media_type=_CONTENT_TYPE,
        headers={"X-HubSpot-Correlation-Id": correlation or str(uuid.uuid4()), **(headers or {})},
    )


def _error(exc: ApiError, headers: Mapping[str, str] | None = None) -> Response:
    return _json(exc.body(), exc.status, {**(headers or {}), **exc.headers})


def _listed(request: Request, name: str) -> list[str]:
    return [
        part.strip()
        for value in request.query_params.getlist(name)
        for part in value.split(",")
        if part.strip()
    ]


def _flag(request: Request, name: str) -> bool:
    return request.query_params.get(name, "false").strip().lower() == "true"


def _properties(request: Request) -> list[str] | None:
    return _listed(request, "properties") if "properties" in request.query_params else None


def create_app(portal: HubSpotPortal) -> Starlette:
    """A Starlette app serving ``portal`` through HubSpot's CRM v3 paths."""

    def api(handler: Handler, *, search: bool = False) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            raw = await request.body()
            try:
                body = json.loads(raw) if raw else None
            except ValueError as exc:
                return _error(ApiError(400, f"Invalid input JSON: {exc}"))
            query = {key: request.query_params.getlist(key) for key in request.query_params}
            portal.log(LoggedRequest(request.method, request.url.path, query, body))
            try:
                portal.admit(request.headers.get("authorization"), search=search)
            except ApiError as exc:
                return _error(exc)
            headers = {} if search else portal.rate_headers()
            try:
                result = handler(request, body)
            except ApiError as exc:
                return _error(exc, headers)
            status, answer = result if isinstance(result, tuple) else (200, result)
            return _json(answer, status, headers)

        return endpoint

    def search(request: Request, body: Any) -> Any:
        return portal.search(request.path_params["object_type"], body)

    def list_page(request: Request, body: Any) -> Any:
        link = str(request.url.remove_query_params("after"))
        return portal.list_page(
            request.path_params["object_type"],
            limit=request.query_params.get("limit"),
            after=request.query_params.get("after"),
            properties=_properties(request),
            associations=_listed(request, "associations"),
            archived=_flag(request, "archived"),
            link=link,
        )

    def get(request: Request, body: Any) -> Any:
        return portal.get(
            request.path_params["object_type"],
            request.path_params["object_id"],
            properties=_properties(request),
            associations=_listed(request, "associations"),
            archived=_flag(request, "archived"),
        )

    def read_associations(request: Request, body: Any) -> Any:
        return portal.read_associations(
            request.path_params["from_type"], request.path_params["to_type"], body
        )

    def properties(request: Request, body: Any) -> Any:
        return portal.properties(request.path_params["object_type"])

    async def not_found(request: Request, exc: Exception) -> Response:
        if isinstance(exc, HTTPException) and exc.status_code == 405:
            return _error(ApiError(405, f"HTTP {request.method} is not supported by this resource"))
        return _error(ApiError(404, "resource not found"))

    routes = [
        Route("/crm/v3/objects/{object_type}/search", api(search, search=True), methods=["POST"]),
        Route("/crm/v3/objects/{object_type}", api(list_page), methods=["GET"]),
        Route("/crm/v3/objects/{object_type}/{object_id}", api(get), methods=["GET"]),
        Route(
            "/crm/v3/associations/{from_type}/{to_type}/batch/read", api(read_associations), methods=["POST"]
        ),
        Route("/crm/v3/properties/{object_type}", api(properties), methods=["GET"]),
    ]
    return Starlette(routes=routes, exception_handlers={404: not_found, 405: not_found})
