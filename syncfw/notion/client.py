"""The Notion API as syncfw uses it: notion-client 3.x behind the rate budget, with retries.

Every HTTP request passes through :class:`~syncfw.notion.budget.RateBudget` (an httpx request
hook), so retries and pagination are paced too. Errors become :mod:`syncfw.errors` types with a
message that says what to do:

* 401 ``unauthorized`` → :class:`NotionAuthError` (invalid or revoked token);
* 404 ``object_not_found`` → :class:`NotionNotFound` (not found, or not shared with the
  integration, with the step to share it);
* 429 ``rate_limited`` → the whole budget pauses for ``Retry-After``, then the request is retried;
  repeated 429s also lower the budget's rate (AIMD, see :mod:`syncfw.notion.budget`); a 529
  ``service_overload`` or a 503 that carries ``Retry-After`` pauses the budget the same way
  ("Connections should handle HTTP 429 and 529 responses and respect the Retry-After");
* 409, 500, 502, 503, 504, 529, timeouts and dropped connections → retried with exponential
  backoff when re-sending cannot duplicate anything (reads, and updates that set absolute
  values); a create that fails this way raises :class:`AmbiguousWrite`, because Notion may have
  committed it (Notion has no idempotency keys): the caller looks the sync key up before re-sending.

Reads are complete: a data source query returns at most 10,000 results, so :meth:`NotionClient.query_pages`
continues in ``created_time`` windows; a relation listed with ``has_more`` (a page object lists at
most 25 related pages) is read in full through the page property item endpoint.

Sources: https://developers.notion.com/reference/request-limits,
https://developers.notion.com/reference/status-codes,
https://developers.notion.com/guides/data-apis/query-large-data-sources,
https://developers.notion.com/reference/retrieve-a-page-property, notion-client 3.1.0 ``errors.py``.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import ssl
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx
import notion_client
from notion_client.errors import APIResponseError, HTTPResponseError, RequestTimeoutError
from pydantic import SecretStr
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
)

from syncfw.connector import refused_on_loopback, wraps
from syncfw.errors import (
    AmbiguousWrite,
    ConfigError,
    IncompleteRead,
    NotionAuthError,
    NotionError,
    NotionNotFound,
    NotionRejected,
)
from syncfw.mapping import decode
from syncfw.notion.budget import Priority, RateBudget, check_priority
from syncfw.notion.credentials import Credentials, IntegrationToken
from syncfw.notion.names import PropertyNames
from syncfw.recipe.references import unusable_character
from syncfw.secrets import hide

DEFAULT_BASE_URL = "https://api.notion.com"
NOTION_VERSION = "2025-09-03"
TRANSIENT_STATUS = {409, 500, 502, 503, 504, 529}
PAUSING_STATUS = {429, 503, 529}
"""Answers whose ``Retry-After`` pauses the whole budget (429 always, 1 s when the header is missing)."""
MAX_ATTEMPTS = 8
PAYLOAD_LIMIT = 500_000
"""Bytes of one request body Notion accepts ("500KB overall", developers.notion.com/reference/request-limits)."""

T = TypeVar("T")


@dataclass
class RequestStats:
    """Counts of Notion HTTP requests (each retry is a request of its own).

    ``rate_lowered`` counts the 429s of this client that lowered the budget's rate (AIMD).
    ``renewals`` counts the tokens renewed after a 401 (a token file read again, an OAuth
    refresh); it is not in :meth:`as_dict`, whose keys the run reports keep.
    """

    reads: int = 0
    writes: int = 0
    retries: int = 0
    rate_limited: int = 0
    rate_lowered: int = 0
    renewals: int = 0
    by_endpoint: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, int]:
        return {
            "reads": self.reads,
            "writes": self.writes,
            "retries": self.retries,
            "rate_limited": self.rate_limited,
            "rate_lowered": self.rate_lowered,
        }

    def minus(self, other: RequestStats) -> dict[str, int]:
        return {k: v - other.as_dict()[k] for k, v in self.as_dict().items()}

    def copy(self) -> RequestStats:
        return dataclasses.replace(self, by_endpoint=dict(self.by_endpoint))


def _is_read(request: httpx.Request) -> bool:
    path = request.url.path
    # an OAuth token exchange writes no page: a reader of the counts asks "what did the run change"
    return request.method == "GET" or path.endswith(("/query", "/search", "/oauth/token"))


def _retry_after(headers: httpx.Headers) -> float | None:
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def body_size(body: dict[str, Any]) -> int:
    """Bytes of ``body`` as JSON exactly as this client sends it (httpx's own encoder: UTF-8,
    compact separators, non-ASCII characters unescaped, so a CJK character is 3 bytes)."""
    return len(httpx.Request("POST", DEFAULT_BASE_URL, json=body).content)


def _status(exc: BaseException) -> int | None:
    if isinstance(exc, HTTPResponseError):
        return int(exc.status)
    return None


def _transient(exc: BaseException) -> bool:
    status = _status(exc)
    if status is not None:
        return status in TRANSIENT_STATUS
    # nothing listening on this machine (a stopped sandbox), or a certificate that is not
    # trusted, does not heal by retrying
    return (
        isinstance(exc, RequestTimeoutError | httpx.TransportError)
        and refused_on_loopback(exc) is None
        and not wraps(exc, ssl.SSLCertVerificationError)
    )


def tls_context() -> ssl.SSLContext:
    """The TLS context a new httpx client would build (the CA bundle of ``SSL_CERT_FILE``, else
    ``SSL_CERT_DIR``, else certifi's), built once per process for the same settings and file:
    reading a CA bundle takes about 20 ms, and a run makes two clients (the sync's and the health
    dashboard's). A changed variable or CA file gives a new context."""
    settings = tuple(
        (path, _stamp(path)) for path in (os.environ.get(n) for n in ("SSL_CERT_FILE", "SSL_CERT_DIR"))
    )
    return _tls_context(settings)


def _stamp(path: str | None) -> tuple[int, int] | None:
    try:
        stat = os.stat(path) if path else None
    except OSError:
        return None
    return None if stat is None else (stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=8)
def _tls_context(settings: tuple[tuple[str | None, tuple[int, int] | None], ...]) -> ssl.SSLContext:
    return httpx.create_ssl_context()  # reads the same variables: ``settings`` only keys the cache


def _compact(object_id: str) -> str:
    return object_id.replace("-", "")


def _within(condition: dict[str, Any] | None, after: dict[str, Any] | None) -> dict[str, Any] | None:
    """``condition`` and-ed with ``after`` (the position a query past a capped one starts at)."""
    if after is None:
        return condition
    if condition is None:
        return after
    if set(condition) == {"and"}:  # keep compounds within Notion's two levels of nesting
        return {"and": [*condition["and"], after]}
    return {"and": [condition, after]}


def page_number(page: Mapping[str, Any]) -> int | None:
    """The number of ``page`` (a page object): its ``unique_id`` property's ``number``
    (developers.notion.com, "Page properties": ``unique_id`` is ``{"prefix", "number"}``), None
    when its data source has no such property."""
    for prop in (page.get("properties") or {}).values():
        if isinstance(prop, Mapping) and prop.get("type") == "unique_id":
            number = (prop.get("unique_id") or {}).get("number")
            return int(number) if isinstance(number, int) else None
    return None


class NotionClient:
    """A Notion API client paced by a :class:`RateBudget`.

    Args:
        token: the integration token (never logged), or :class:`~syncfw.notion.credentials.Credentials`
            that renew a token Notion refuses (a token file read again, an OAuth refresh); clients
            sharing one renew once between them.
        budget: the rate budget of this token.
        base_url: the API root without ``/v1``; default ``NOTION_BASE_URL`` from the environment,
            else ``https://api.notion.com``.
        timeout: seconds to wait for one response.
        on_request: called before each HTTP request is sent, after its token was taken.
        priority: the budget lane of every request of this client: ``"high"`` for the health
            dashboard and run history, which go ahead of the ``"bulk"`` sync writes waiting on the
            same budget (DESIGN.md rule 6).

    Every error message this client raises has the token (in any form an HTTP library quotes it)
    replaced by ``***``.

    Raises:
        ValueError: ``priority`` is not ``"high"`` or ``"bulk"``.
        ConfigError: the token cannot be sent in the ``Authorization`` header (a second line, a
            control character, a non-ASCII character); the message never shows it.

    An OAuth connection without a kept access token obtains one with the first request (a
    :class:`NotionAuthError` then if Notion refuses its refresh token).
    """

    def __init__(
        self,
        token: SecretStr | Credentials,
        budget: RateBudget,
        *,
        base_url: str | None = None,
        timeout: float = 60.0,
        on_request: Callable[[], None] | None = None,
        priority: Priority = "bulk",
    ) -> None:
        check_priority(priority)
        self.credentials = token if isinstance(token, Credentials) else IntegrationToken(token)
        self.budget = budget
        self.priority = priority
        self.stats = RequestStats()
        self.base_url = (base_url or os.environ.get("NOTION_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")
        self._on_request = on_request
        self._names: dict[str, PropertyNames] = {}
        http = httpx.Client(
            verify=tls_context(), event_hooks={"request": [self._before], "response": [self._after]}
        )
        self._api: Any = notion_client.Client(
            client=http,
            base_url=self.base_url,
            timeout_ms=int(timeout * 1000),
            retry=False,
            notion_version=NOTION_VERSION,
            log_level=50,
        )
        held = self.credentials.held()
        self._bearer = None if held is None else self._send_as(held)

    def _send_as(self, token: str) -> str:
        """Send ``token`` as ``Authorization: Bearer <token>`` from now on; answers it.

        Raises:
            ConfigError: it cannot be sent in an HTTP header; the message never shows it.
        """
        reason = unusable_character(token, header=True)
        if reason is not None:
            raise ConfigError(
                f"the Notion token cannot be sent to Notion: {reason}. Fix the variable or file it comes from"
            )
        self._api.client.headers["Authorization"] = f"Bearer {token}"
        return token

    def _before(self, request: httpx.Request) -> None:
        self.budget.acquire(priority=self.priority)
        if self._on_request is not None:
            self._on_request()

    def _after(self, response: httpx.Response) -> None:
        request = response.request
        if _is_read(request):
            self.stats.reads += 1
        else:
            self.stats.writes += 1
        if response.status_code not in PAUSING_STATUS:
            return
        after = _retry_after(response.headers)
        if response.status_code == 429:
            self.stats.rate_limited += 1
            after = 1.0 if after is None else after
        if after is not None and self.budget.pause(after):
            self.stats.rate_lowered += 1

    def close(self) -> None:
        self._api.close()

    def follow(self, data_source_id: str, names: PropertyNames) -> None:
        """From now on, read and write the pages of ``data_source_id`` through ``names``: pages
        read (queried or retrieved) have their properties keyed by the recipe's names, and page
        writes and query filters name each renamed property by its id (:mod:`syncfw.notion.names`)."""
        self._names[_compact(data_source_id)] = names

    def _names_of(self, data_source_id: str | None) -> PropertyNames:
        return self._names.get(_compact(data_source_id or ""), PropertyNames())

    def _read(self, page: dict[str, Any], data_source_id: str | None = None) -> dict[str, Any]:
        """``page`` with every relation in full, its properties keyed as :meth:`follow` says."""
        parent = data_source_id or (page.get("parent") or {}).get("data_source_id")
        return self._names_of(parent).page(self.full_relations(page))

    # -- retries ---------------------------------------------------------------------------

    def _call(self, what: str, fn: Callable[[], T], *, resend_safe: bool) -> T:
        def retryable(exc: BaseException) -> bool:
            if _status(exc) == 429:
                return True  # nothing was done; the budget already paused for Retry-After
            return resend_safe and _transient(exc)

        def count(state: RetryCallState) -> None:
            self.stats.retries += 1

        def wait(state: RetryCallState) -> float:
            exc = state.outcome.exception() if state.outcome else None
            if isinstance(exc, HTTPResponseError) and (
                exc.status == 429 or (exc.status in PAUSING_STATUS and _retry_after(exc.headers) is not None)
            ):
                return 0.0  # the budget is paused for Retry-After (see _after)
            return float(wait_exponential_jitter(multiplier=0.5, max=30)(state))

        retrying = Retrying(
            stop=stop_after_attempt(MAX_ATTEMPTS),
            wait=wait,
            retry=retry_if_exception(retryable),
            before_sleep=count,
            reraise=True,
        )
        if self._bearer is None:  # an OAuth connection's first access token, from its refresh token
            self._bearer = self._send_as(self.credentials.token(self._api))
        renewed = False
        while True:
            sent = self._bearer  # what this request carries: another thread may renew meanwhile
            try:
                return retrying(fn)
            except (APIResponseError, HTTPResponseError, RequestTimeoutError, httpx.TransportError) as exc:
                # a 401 did nothing (not even a create), so the request is sent again once renewed
                if _status(exc) == 401 and not renewed and self._renewed(sent or ""):
                    renewed = True
                    continue
                raise self._explain(what, exc, resend_safe=resend_safe, renewed=renewed) from None

    def _renewed(self, refused: str) -> bool:
        """Whether the credentials gave a token newer than ``refused``, the one Notion just
        refused (then sent from now on). Threads refused at once renew once: the others get the
        token the first one obtained."""
        token = self.credentials.renew(refused, self._api)
        if token is None:
            return False
        self._bearer = self._send_as(token)
        self.stats.renewals += 1
        return True

    def _explain(self, what: str, exc: Exception, *, resend_safe: bool, renewed: bool = False) -> NotionError:
        status = _status(exc)
        # an HTTP library quotes what it could not send ("Illegal header value b'Bearer …'")
        detail = hide(str(exc), self.credentials.secrets())
        if status == 401:
            return NotionAuthError(
                f"Notion refused the {'renewed ' if renewed else ''}token while trying to {what} "
                f"(401 unauthorized): {self.credentials.refused()}"
            )
        if status == 404:
            return NotionNotFound(
                f"Notion could not {what}: not found, or not shared with this integration. Open the page "
                "or database in Notion, choose ••• → Connections, and add the integration; then check "
                "the id in the recipe."
            )
        local = refused_on_loopback(exc)
        if local is not None:
            return NotionError(f"could not reach Notion at {self.base_url} to {what}: {local}")
        if wraps(exc, ssl.SSLCertVerificationError):
            return NotionError(
                f"could not reach Notion at {self.base_url} to {what}: its TLS certificate is not trusted "
                f"({detail}); for the sandbox, read its env file (it sets SSL_CERT_FILE to its CA file)"
            )
        if not resend_safe and _transient(exc):
            return AmbiguousWrite(f"Notion may or may not have completed the request to {what}: {detail}")
        if status == 413 or (isinstance(exc, APIResponseError) and status == 400):
            return NotionRejected(f"Notion refused the request to {what}: {detail}")
        if isinstance(exc, APIResponseError):
            return NotionError(f"Notion refused the request to {what} ({status} {exc.code}): {detail}")
        if status is not None:
            return NotionError(f"Notion failed the request to {what} (HTTP {status}) after retries")
        return NotionError(f"could not reach Notion at {self.base_url} to {what}: {detail}")

    # -- endpoints -------------------------------------------------------------------------

    def retrieve_data_source(self, data_source_id: str) -> dict[str, Any]:
        """``GET /v1/data_sources/{id}``: the data source with its property schema."""
        return self._call(
            f"retrieve data source {data_source_id}",
            lambda: self._api.data_sources.retrieve(data_source_id=data_source_id),
            resend_safe=True,
        )

    def retrieve_database(self, database_id: str) -> dict[str, Any]:
        """``GET /v1/databases/{id}``: the container with its ``data_sources`` list."""
        return self._call(
            f"retrieve database {database_id}",
            lambda: self._api.databases.retrieve(database_id=database_id),
            resend_safe=True,
        )

    def retrieve_page(self, page_id: str) -> dict[str, Any]:
        """``GET /v1/pages/{id}``, with every relation read in full (see :meth:`full_relations`) and
        its properties keyed as :meth:`follow` says for its data source."""
        page: dict[str, Any] = self._call(
            f"retrieve page {page_id}", lambda: self._api.pages.retrieve(page_id=page_id), resend_safe=True
        )
        return self._read(page)

    def full_relations(self, page: dict[str, Any]) -> dict[str, Any]:
        """``page`` with each relation property that says ``has_more`` completed in place.

        A page object lists at most 25 related pages per relation and sets ``has_more``; the rest
        is read from ``GET /v1/pages/{id}/properties/{property_id}`` (100 per request), only for
        those properties. Afterwards the property lists every related page and ``has_more`` is
        False. Source: developers.notion.com/reference/retrieve-a-page-property.
        """
        for name, value in page.get("properties", {}).items():
            if value.get("type") != "relation" or not value.get("has_more"):
                continue
            related: list[dict[str, Any]] = []
            cursor: str | None = None
            while True:
                kwargs: dict[str, Any] = {"page_id": page["id"], "property_id": value["id"], "page_size": 100}
                if cursor:
                    kwargs["start_cursor"] = cursor
                item: dict[str, Any] = self._call(
                    f"read relation {name!r} of page {page['id']}",
                    functools.partial(self._api.pages.properties.retrieve, **kwargs),
                    resend_safe=True,
                )
                related += [{"id": r["relation"]["id"]} for r in item.get("results", [])]
                if not item.get("has_more") or not item.get("next_cursor"):
                    break
                cursor = item["next_cursor"]
            value["relation"] = related
            value["has_more"] = False
        return page

    def retrieve_user(self, user_id: str) -> dict[str, Any]:
        """``GET /v1/users/{id}``."""
        return self._call(
            f"retrieve user {user_id}", lambda: self._api.users.retrieve(user_id=user_id), resend_safe=True
        )

    def create_database(self, parent_page_id: str, title: str, properties: dict[str, Any]) -> dict[str, Any]:
        """``POST /v1/databases`` with an initial data source holding ``properties``."""
        body = {
            "parent": {"type": "page_id", "page_id": parent_page_id},
            "title": [{"type": "text", "text": {"content": title}}],
            "initial_data_source": {"properties": properties},
        }
        return self._call(
            f"create database {title!r} under page {parent_page_id}",
            lambda: self._api.databases.create(**body),
            resend_safe=False,
        )

    def update_data_source(self, data_source_id: str, properties: dict[str, Any]) -> dict[str, Any]:
        """``PATCH /v1/data_sources/{id}`` adding or changing properties (absolute, safe to resend)."""
        return self._call(
            f"update the schema of data source {data_source_id}",
            lambda: self._api.data_sources.update(data_source_id=data_source_id, properties=properties),
            resend_safe=True,
        )

    def update_description(self, data_source_id: str, description: list[dict[str, Any]]) -> dict[str, Any]:
        """``PATCH /v1/data_sources/{id}`` setting its ``description`` (rich text; absolute, safe to
        resend). notion-client's ``data_sources.update`` drops ``description``, so this goes
        through its generic ``request`` (developers.notion.com/reference/update-a-data-source)."""
        return self._call(
            f"update the description of data source {data_source_id}",
            lambda: self._api.request(
                path=f"data_sources/{data_source_id}", method="PATCH", body={"description": description}
            ),
            resend_safe=True,
        )

    def search_data_sources(self, query: str) -> Iterator[dict[str, Any]]:
        """``POST /v1/search`` for data sources whose database title matches ``query``."""
        cursor: str | None = None
        while True:
            kwargs: dict[str, Any] = {
                "query": query,
                "filter": {"property": "object", "value": "data_source"},
                "page_size": 100,
            }
            if cursor:
                kwargs["start_cursor"] = cursor
            page: dict[str, Any] = self._call(
                f"search for {query!r}", functools.partial(self._api.search, **kwargs), resend_safe=True
            )
            yield from page["results"]
            if not page.get("has_more") or not page.get("next_cursor"):
                return
            cursor = page["next_cursor"]

    def query_pages(
        self, data_source_id: str, *, filter: dict[str, Any] | None = None, numbered_by: str | None = None
    ) -> Iterator[dict[str, Any]]:
        """``POST /v1/data_sources/{id}/query``: every page matching ``filter``, each exactly once.

        Pages come 100 per request, relations read in full (:meth:`full_relations`); ``filter``
        and the pages name properties as :meth:`follow` says. Notion answers at most 10,000
        results per query and then says ``request_status: {"type": "incomplete"}`` (on any page of
        the answer, with ``has_more`` false); the read then goes on with a new query for the pages
        after the last one returned, and-ed with ``filter``
        (developers.notion.com/guides/data-apis/query-large-data-sources):

        * with ``numbered_by`` (the id of the data source's ``unique_id`` property), pages come in
          number order and the next query asks for numbers ``greater_than`` the last one: no page
          is read twice;
        * otherwise pages come in ``created_time`` order and the next query asks for
          ``created_time`` on or after the last page's, skipping the pages of that minute
          already yielded (Notion shows ``created_time`` to the minute, so that minute is read
          again).

        Either order is stable while pages are edited during the read (Notion's default, last
        edited first, moves an edited page and the next cursor can skip one).

        Raises:
            IncompleteRead: a query stayed capped within a single ``created_time`` (more pages
                than the cap created in one minute, without ``numbered_by``). Pages were already
                yielded, so a caller must treat the whole read as failed: the planner abandons
                the target before writing anything, and no cursor moves.
            NotionError: the query failed.
        """
        if filter is not None:
            filter = self._names_of(data_source_id).filter(filter)
        order = (
            {"property": numbered_by, "direction": "ascending"}
            if numbered_by
            else {"timestamp": "created_time", "direction": "ascending"}
        )
        after: dict[str, Any] | None = None  # the condition of a query going on past a capped one
        window: str | None = None  # created_time the current query starts at
        edge: set[str] = set()  # ids created at ``window`` that an earlier query yielded
        while True:
            capped = False
            last: str | None = None  # created_time of the newest page of this query
            number: int | None = None  # number of the last page of this query
            at_last: set[str] = set()
            cursor: str | None = None
            while True:
                kwargs: dict[str, Any] = {
                    "data_source_id": data_source_id,
                    "page_size": 100,
                    "sorts": [order],
                }
                condition = _within(filter, after)
                if condition is not None:
                    kwargs["filter"] = condition
                if cursor:
                    kwargs["start_cursor"] = cursor
                page: dict[str, Any] = self._call(
                    f"query data source {data_source_id}",
                    functools.partial(self._api.data_sources.query, **kwargs),
                    resend_safe=True,
                )
                capped = capped or (page.get("request_status") or {}).get("type") == "incomplete"
                for result in page["results"]:
                    number = page_number(result) if numbered_by else None
                    created = result.get("created_time")
                    if created != last:
                        last, at_last = created, set()
                    at_last.add(result["id"])
                    if created == window and result["id"] in edge:
                        continue
                    yield self._read(result, data_source_id)
                if not page.get("has_more") or not page.get("next_cursor"):
                    break
                cursor = page["next_cursor"]
            if not capped:
                return
            if numbered_by and number is not None:
                after = {"property": numbered_by, "unique_id": {"greater_than": number}}
                continue
            if last is None or last == window:
                raise IncompleteRead(
                    f"Notion caps a query of data source {data_source_id} and more pages than the cap "
                    f"were created at {last}: syncfw cannot read them all, so this read counts as "
                    "failed and nothing is planned from it. Move some of those pages to another data "
                    "source, or ask Notion support about the query result limit."
                )
            window, edge = last, at_last
            after = {"timestamp": "created_time", "created_time": {"on_or_after": window}}

    def find_pages(self, data_source_id: str, prop: str, prop_type: str, value: str) -> list[dict[str, Any]]:
        """Pages of a data source whose sync key ``prop`` is exactly ``value`` (a sync-key lookup).

        Notion's ``equals`` filter may match more loosely than ``==`` (case, normalisation), so the
        key of every page it returns is decoded and compared exactly; the others are dropped.
        """
        condition = {"property": prop, prop_type: {"equals": value}}
        return [
            page
            for page in self.query_pages(data_source_id, filter=condition)
            if prop in page.get("properties", {})
            and str(decode(prop_type, page["properties"][prop])) == value
        ]

    def create_page(self, data_source_id: str, properties: dict[str, Any]) -> dict[str, Any]:
        """``POST /v1/pages`` in a data source; ``properties`` named as :meth:`follow` says.

        Raises:
            AmbiguousWrite: the outcome is unknown; look the sync key up before re-sending.
        """
        body = {
            "parent": {"type": "data_source_id", "data_source_id": data_source_id},
            "properties": self._names_of(data_source_id).write(properties),
        }
        return self._call(
            f"create a page in data source {data_source_id}",
            lambda: self._api.pages.create(**body),
            resend_safe=False,
        )

    def update_page(
        self,
        page_id: str,
        *,
        properties: dict[str, Any] | None = None,
        in_trash: bool | None = None,
        data_source_id: str | None = None,
    ) -> dict[str, Any]:
        """``PATCH /v1/pages/{id}``: set properties (absolute values) and/or move to or from trash;
        with ``data_source_id`` (the page's), ``properties`` are named as :meth:`follow` says.

        Moving a page to the trash is idempotent here: Notion refuses every edit of a trashed page,
        ``in_trash: true`` included, with 400 ``validation_error`` "Can't edit block that is
        archived" (Notion, "Archive, delete, or restore a page"; reference API-FACTS §5.4). That
        is what a resend meets when the first answer was lost after Notion had trashed the page,
        or what a run meets when a person trashed it meanwhile: the page is read back and, being in
        the trash, returned as the answer.

        Raises:
            NotionRejected: Notion refused the update (an archive only if the page is not trashed).
        """
        kwargs: dict[str, Any] = {"page_id": page_id}
        if properties is not None:
            kwargs["properties"] = self._names_of(data_source_id).write(properties)
        if in_trash is not None:
            kwargs["in_trash"] = in_trash
        try:
            return self._call(
                f"update page {page_id}", lambda: self._api.pages.update(**kwargs), resend_safe=True
            )
        except NotionRejected:
            if not in_trash or properties is not None:
                raise
            page = self.retrieve_page(page_id)
            if page.get("in_trash") or page.get("archived"):
                return page
            raise
