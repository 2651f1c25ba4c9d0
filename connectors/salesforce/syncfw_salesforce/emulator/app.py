"""The emulator's HTTP API: the REST resources simple-salesforce calls, as a Starlette app.

=====================================================  ==========================================
``GET /services/data/``                                 API versions (no session needed)
``GET /services/data/vXX.X/query/?q=SOQL``              first page; rows with IsDeleted excluded
``GET /services/data/vXX.X/queryAll/?q=SOQL``           first page; deleted rows included
``GET /services/data/vXX.X/query/<locator>-<offset>``   a ``nextRecordsUrl`` page
``GET /services/data/vXX.X/sobjects/``                  the sObjects of the org
``GET /services/data/vXX.X/sobjects/<Name>/describe/``  one sObject's fields
``GET /services/data/vXX.X/limits/``                    ``DailyApiRequests`` and a few others
``POST /services/data/vXX.X/jobs/query``                create a Bulk API 2.0 query job
``GET|PATCH|DELETE /services/data/vXX.X/jobs/query/<id>``  its state; abort it; delete it
``GET /services/data/vXX.X/jobs/query/<id>/results``    a set of CSV results (``locator``, ``maxRecords``)
=====================================================  ==========================================

Every resource also answers without the trailing slash. Bulk API 2.0 requests are REST API
requests and count against the daily allowance like the others (the stricter reading); the query
jobs themselves have their own limits (see :mod:`syncfw_salesforce.emulator.jobs`). Authenticated answers carry
``Sforce-Limit-Info: api-usage=N/15000``; errors are ``[{"message", "errorCode"}]`` arrays
(REST API Developer Guide, "Status Codes and Error Responses"). Random faults of the org's plan
(:meth:`SalesforceOrg.configure_faults`) hit requests after authentication and the allowance.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from syncfw.emulation import DroppableConnections, Injection, drop_connection, hold
from syncfw_salesforce.emulator.org import ApiError, SalesforceOrg

_VERSION = re.compile(r"v(\d{2,3}\.0)")
_NOT_FOUND = ApiError(404, "NOT_FOUND", "The requested resource does not exist")

Handler = Callable[[Request, str], Any]


def _error(exc: ApiError, limit_info: str | None = None) -> JSONResponse:
    headers = {"Sforce-Limit-Info": limit_info} if limit_info else None
    return JSONResponse(exc.body(), status_code=exc.status, headers=headers)


def _batch_size(request: Request) -> int | None:
    """``batchSize`` of the ``Sforce-Query-Options`` header (``batchSize=500``), if given."""
    for option in request.headers.get("sforce-query-options", "").split(","):
        name, _, value = option.partition("=")
        if name.strip() == "batchSize" and value.strip().isdigit():
            return int(value.strip())
    return None


def _server_error(status: int, limit_info: str) -> Response:
    """A 5xx as Salesforce sends it: its error array from the app servers (500, 503), an HTML
    page from its edge for a gateway failure (502, 504)."""
    if status == 500:
        # the ErrorId layout of Salesforce's "unexpected error" answers
        error_id = f"{random.randrange(10**9, 2 * 10**9)}-{random.randrange(10**5, 10**6)}"
        message = (
            "An unexpected error occurred. Please include this ErrorId if you contact support: "
            f"{error_id} ({-random.randrange(10**9, 2 * 10**9)})"
        )
        return _error(ApiError(500, "UNKNOWN_EXCEPTION", message), limit_info)
    if status == 503:
        return _error(ApiError(503, "SERVER_UNAVAILABLE", "Server temporarily unavailable"), limit_info)
    reason = {502: "Bad Gateway", 504: "Gateway Timeout"}.get(status, "Error")
    page = (
        f"<html><head><title>{status} {reason}</title></head><body><h1>{status} {reason}</h1></body></html>"
    )
    return Response(page, status_code=status, media_type="text/html")


async def _inflict(request: Request, injection: Injection, limit_info: str) -> Response:
    """Carry out a drawn fault: a 5xx answer, or a reset connection (after holding it)."""
    connected = await hold(request, injection.hold_seconds) if injection.hold_seconds else True
    if injection.status is None or not connected:
        if connected:
            await drop_connection(request.scope)
        return Response(status_code=500)  # never sent: the connection is gone
    return _server_error(injection.status, limit_info)


def create_app(org: SalesforceOrg) -> ASGIApp:
    """An ASGI app (Starlette) serving ``org`` through Salesforce's REST API paths."""

    def api(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            match = _VERSION.fullmatch(request.path_params["version"])
            if match is None:
                return _error(_NOT_FOUND)
            try:
                org.admit(request.headers.get("authorization"))
            except ApiError as exc:
                return _error(exc, org.limit_info() if exc.status != 401 else None)
            injection = org.draw_fault()
            if injection is not None:
                return await _inflict(request, injection, org.limit_info())
            try:
                payload = await request.body()
                request.state.json = json.loads(payload) if payload else None
            except ValueError:
                return _error(ApiError(400, "JSON_PARSER_ERROR", "The request body is not JSON"))
            try:
                body = handler(request, match.group(1))
            except ApiError as exc:
                return _error(exc, org.limit_info())
            if isinstance(body, Response):
                body.headers["Sforce-Limit-Info"] = org.limit_info()
                return body
            return JSONResponse(body, headers={"Sforce-Limit-Info": org.limit_info()})

        return endpoint

    def query(include_deleted: bool) -> Handler:
        def handle(request: Request, version: str) -> Any:
            soql = request.query_params.get("q")
            if not soql:
                raise ApiError(400, "MALFORMED_QUERY", "A query string has to be specified")
            return org.query(
                soql, include_deleted=include_deleted, batch_size=_batch_size(request), version=version
            )

        return handle

    def query_more(request: Request, version: str) -> Any:
        return org.query_more(request.path_params["locator"], version)

    def sobjects(request: Request, version: str) -> Any:
        return org.sobjects(version)

    def describe(request: Request, version: str) -> Any:
        return org.describe(request.path_params["name"], version)

    def limits(request: Request, version: str) -> Any:
        return org.limits()

    def create_job(request: Request, version: str) -> Any:
        return org.create_query_job(request.state.json, version)

    def job(request: Request, version: str) -> Any:
        job_id = request.path_params["job_id"]
        if request.method == "PATCH":
            return org.abort_query_job(job_id, request.state.json)
        if request.method == "DELETE":
            org.delete_query_job(job_id)
            return Response(status_code=204)
        return org.query_job(job_id)

    def job_results(request: Request, version: str) -> Any:
        max_records = request.query_params.get("maxRecords")
        if max_records is not None and not max_records.isdigit():
            raise ApiError(400, "INVALIDPARAMETER", "maxRecords must be a positive whole number")
        text, locator, count = org.query_job_results(
            request.path_params["job_id"],
            request.query_params.get("locator"),
            int(max_records) if max_records is not None else None,
            version,
        )
        headers = {"Sforce-Locator": locator, "Sforce-NumberOfRecords": str(count)}
        return Response(text, media_type="text/csv", headers=headers)

    async def versions(request: Request) -> Response:
        return JSONResponse([{"label": "Winter '24", "url": "/services/data/v59.0", "version": "59.0"}])

    async def not_found(request: Request, exc: Exception) -> Response:
        if isinstance(exc, HTTPException) and exc.status_code == 405:
            return _error(ApiError(405, "METHOD_NOT_ALLOWED", f"HTTP Method '{request.method}' not allowed"))
        return _error(_NOT_FOUND)

    base = "/services/data/{version}"
    get = ["GET"]
    resources: list[tuple[str, Handler, list[str]]] = [
        ("/query/", query(include_deleted=False), get),
        ("/queryAll/", query(include_deleted=True), get),
        ("/query/{locator}", query_more, get),
        ("/queryAll/{locator}", query_more, get),
        ("/sobjects/", sobjects, get),
        ("/sobjects/{name}/describe/", describe, get),
        ("/limits/", limits, get),
        ("/jobs/query", create_job, ["POST"]),
        ("/jobs/query/{job_id}", job, ["GET", "PATCH", "DELETE"]),
        ("/jobs/query/{job_id}/results", job_results, get),
    ]
    routes = [Route("/services/data/", versions), Route("/services/data", versions)]
    for path, handler, methods in resources:
        endpoint = api(handler)
        routes.append(Route(base + path, endpoint, methods=methods))
        if path.endswith("/"):
            routes.append(Route(base + path.rstrip("/"), endpoint, methods=methods))
    return DroppableConnections(Starlette(routes=routes, exception_handlers={404: not_found, 405: not_found}))
