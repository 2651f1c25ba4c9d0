"""The HubSpot source connector: any CRM object type as a stream, read incrementally.

A read walks the CRM search API ascending by the last-modified date from a look-back before
the cursor (see :mod:`syncfw_hubspot.scan`), adds the associated ids the mappings ask for from
the associations batch API (search answers carry none), then walks part of the archived list
(``archived=true``) and yields the archives not reported before as deletes. See
:mod:`syncfw_hubspot.incremental` for the cursor and :mod:`syncfw_hubspot.ratelimit` for the
limits it paces itself to.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterator, Sequence
from functools import partial
from typing import Any, ClassVar, overload

import urllib3
from pydantic import BaseModel
from tenacity import RetryCallState
from tenacity.wait import wait_base

from syncfw import ConfigError, SourceError
from syncfw.account_budget import account_budget
from syncfw.connector import (
    RETRY_ATTEMPTS,
    RETRY_WAIT,
    Checkpoint,
    Connector,
    Record,
    StreamSpec,
    UnknownNames,
    did_you_mean,
    retrying,
)
from syncfw_hubspot.client import API_EXCEPTIONS, Answer, CrmClient, SearchFilter
from syncfw_hubspot.config import HubSpotConfig, check_object_type
from syncfw_hubspot.datetimes import parse_instant
from syncfw_hubspot.errors import Refusal, is_transient, translate, waitable_rate_limit
from syncfw_hubspot.incremental import (
    ARCHIVED_AT,
    ID_PROPERTY,
    PRIMARY_KEY,
    ArchivedSweep,
    HubSpotCursor,
    ReadPlan,
    Watermark,
    digest,
    modified_property,
    plan_read,
)
from syncfw_hubspot.ratelimit import TEN_SECONDLY, AccountWindow
from syncfw_hubspot.scan import scan_changes

log = logging.getLogger(__name__)

_LIST_PAGE_LIMIT = 100
_ENVELOPE_FIELDS = ("id", "createdAt", "updatedAt", "archived", "archivedAt", "url")
_CALL_ERRORS: tuple[type[Exception], ...] = (urllib3.exceptions.HTTPError, *API_EXCEPTIONS)


class HubSpotConnector(Connector):
    """Reads CRM objects of one HubSpot account with hubspot-api-client.

    Streams are object types: ``companies``, ``contacts``, ``deals``, ``tickets``, a custom
    object's id (``2-123456``). Records keep the API's shape::

        {"id": "18240501001", "createdAt": "2026-04-02T09:00:00Z",
         "updatedAt": "2026-05-01T07:25:37.861Z", "archived": false,
         "url": "https://app.hubspot.com/contacts/<portal>/record/0-2/18240501001",
         "properties": {"domain": "edgecomm.com", "hs_lastmodifieddate": "2026-05-01T07:25:37.861Z", ...},
         "associations": {"contacts": {"results": [{"id": "51200000101", "type": "company_to_contact"}]}}}

    Property values are strings or null, as HubSpot sends them. ``associations`` is there only
    when the record has some of the requested types (like the list endpoint's answer); archived
    records come as deletes with ``archived: true`` and ``archivedAt``.

    Failures: 401 and 403 raise :class:`~syncfw.errors.SourceAuthError`; a 429 of the 10-second
    or per-second policy is waited out (the ``X-HubSpot-RateLimit-Interval-Milliseconds`` the
    answer gives, else :attr:`ten_secondly_wait` or :attr:`secondly_wait` seconds), by every
    process of the account (the limits are paced in budgets they share) up to
    :attr:`rate_limit_attempts` tries; a 429 ``DAILY`` raises
    :class:`~syncfw.errors.SourceLimitExceeded` at once; connection errors and 5xx are retried
    :attr:`retry_attempts` times in all with exponential backoff, then raise
    :class:`~syncfw.errors.SourceUnavailable`.
    """

    name = "hubspot"
    streams: ClassVar[dict[str, str]] = {
        "companies": "companies, searched by hs_lastmodifieddate; archived companies as deletes",
        "contacts": "contacts, searched by lastmodifieddate; archived contacts as deletes",
        "deals": "deals, searched by hs_lastmodifieddate; archived deals as deletes",
        "tickets": "tickets, searched by hs_lastmodifieddate; archived tickets as deletes",
        "*": "any other CRM object type, by name or a custom object's id (2-123456)",
    }
    config_model = HubSpotConfig
    maturity = "beta"
    personal_data: ClassVar[dict[str, tuple[str, ...]]] = {
        "contacts": tuple(
            f"properties.{p}"
            for p in ("email", "firstname", "lastname", "phone", "mobilephone", "address", "city", "zip")
        ),
    }

    retry_attempts: ClassVar[int] = RETRY_ATTEMPTS
    retry_wait: ClassVar[wait_base] = RETRY_WAIT
    rate_limit_attempts: ClassVar[int] = 5
    ten_secondly_wait: ClassVar[float] = 10.0
    secondly_wait: ClassVar[float] = 1.0
    association_batch_size: ClassVar[int] = 100

    def __init__(self, config: BaseModel) -> None:
        if not isinstance(config, HubSpotConfig):
            raise TypeError(f"HubSpotConnector needs a HubSpotConfig, got {type(config).__name__}")
        super().__init__(config)
        self.settings = config
        self._client: CrmClient | None = None
        token = config.access_token.get_secret_value()
        self._window = AccountWindow("hubspot", config.host, token, config.requests_per_10_seconds, 10.0)
        self._search_window = account_budget(
            "hubspot-search", config.host, token, rate=config.search_requests_per_second
        )
        self._daily_limit: int | None = None
        self._lookback_ms = int(config.lookback.total_seconds() * 1000)
        self._streams: dict[str, StreamSpec] = {}

    def check(self) -> None:
        """Read one contact to see that HubSpot accepts the token.

        A 403 (the private app lacks the contacts scope) still proves the token valid.

        Raises:
            syncfw.errors.SourceAuthError: the token is refused (401).
            syncfw.errors.SourceError: any other failure (see :func:`syncfw_hubspot.errors.translate`).
        """
        outcome = self._call(
            "check",
            lambda c: c.list_page("contacts", limit=1, after=None, properties=(), archived=False),
            accept=(403,),
        )
        if isinstance(outcome, Refusal):
            log.info("HubSpot accepted the token (it has no contacts scope: %s)", outcome.message)

    def stream(self, name: str) -> StreamSpec:
        """Describe the object type ``name`` from its property definitions (then cached).

        ``fields`` are the record keys (``id``, ``createdAt``, ``updatedAt``, ``archived``,
        ``archivedAt``, ``url``) and a ``properties.<name>`` path per property; empty when the
        private app may not read the definitions (no ``crm.schemas.*.read`` scope).

        Raises:
            syncfw.errors.ConfigError: ``name`` cannot be an object type.
            syncfw.errors.SourceError: HubSpot has no such object type.
        """
        described = self._describe(_object_type(name))
        if isinstance(described, str):
            raise SourceError(described)
        return described

    def unknown_names(self, stream: str, fields: Sequence[str]) -> UnknownNames:
        """An object type HubSpot does not have, and the field paths naming a property the object
        type lacks (``properties.<name>``; names are internal, lowercase) or no part of a record
        (``domain`` for ``properties.domain``), from one ``GET /crm/v3/properties/{objectType}``
        (Properties API, "Read all properties", cached for the read). Nothing is checked when the
        private app may not read property definitions (403, no ``crm.schemas.*.read`` scope).
        ``associations.<type>.results`` is left to the read.

        Raises:
            syncfw.errors.SourceError: HubSpot could not be asked (see the class docstring).
        """
        try:
            described = self._describe(check_object_type(stream))
        except ValueError as exc:
            return UnknownNames(stream=str(exc))
        if isinstance(described, str):
            return UnknownNames(stream=described)
        if not described.fields:
            return UnknownNames()
        names = [f.removeprefix("properties.") for f in described.fields if f.startswith("properties.")]
        unknown = {}
        for path in fields:
            head, _, rest = path.partition(".")
            name = rest.partition(".")[0]
            if head == "properties" and name and name not in names:
                unknown[path] = f"HubSpot {stream} have no property {name!r}{did_you_mean(name, names)}"
            elif head not in {*_ENVELOPE_FIELDS, "properties", "associations"}:
                hint = f" (did you mean 'properties.{head}'?)" if head in names else did_you_mean(head, names)
                unknown[path] = (
                    f"HubSpot {stream} records have no field {head!r}: property values are under "
                    f"'properties'{hint}"
                )
        return UnknownNames(fields=unknown)

    def _describe(self, name: str) -> StreamSpec | str:
        """The object type's :class:`StreamSpec` (cached), or why HubSpot has none named ``name``."""
        if name in self._streams:
            return self._streams[name]
        outcome = self._call(
            f"property definitions of {name}", lambda c: c.properties(name), accept=(400, 403, 404)
        )
        if isinstance(outcome, Refusal) and outcome.status != 403:
            return (
                f"HubSpot has no object type named {name!r} ({outcome.brief()}): use a name such as "
                f"'companies', 'contacts', 'deals' or a custom object's id ('2-123456')"
                f"{did_you_mean(name, [s for s in self.streams if s != '*'])}"
            )
        results = outcome.body.get("results", []) if isinstance(outcome, Answer) else []
        names = sorted(str(p["name"]) for p in results if p.get("name"))
        spec = StreamSpec(
            name=name,
            primary_key=PRIMARY_KEY,
            cursor_field=f"properties.{modified_property(name)}",
            fields=(*_ENVELOPE_FIELDS, *(f"properties.{n}" for n in names)) if names else (),
        )
        self._streams[name] = spec
        return spec

    def read(self, stream: str, cursor: str | None, fields: Sequence[str]) -> Iterator[Record | Checkpoint]:
        """Yield the records of object type ``stream`` changed after the cursor, then its deletes.

        1. Describes the object type (:meth:`stream`) and refuses properties it does not have.
        2. Searches ``<modified property> GTE <cursor instant - lookback>`` sorted ascending, page
           by page (``page_size`` records), skipping the records whose version the cursor's
           window already delivered; a checkpoint follows each page that yielded records.
        3. With ``deletes`` on, walks the archived list (all of it on a full read, else at most
           ``archived_pages_per_read`` pages, resuming where the last read stopped) and yields
           the archives not reported before with ``deleted=True``.
        4. Ends with a checkpoint, also when nothing changed.

        Args:
            fields: paths such as ``properties.domain`` (the property ``domain`` is requested) and
                ``associations.companies.results`` (associated companies are read).

        Raises:
            syncfw.errors.ConfigError: a field path is not a HubSpot record path.
            syncfw.errors.SourceError: unknown properties, a cursor this connector did not write,
                or a failed call (see the class docstring).
        """
        object_type = _object_type(stream)
        prop = modified_property(stream)
        try:
            position = HubSpotCursor.decode(cursor, prop, self._lookback_ms)
        except ValueError as exc:
            raise SourceError(
                f"the saved cursor of HubSpot stream {stream!r} is not one this connector wrote "
                f"({exc}); reset the stream's cursor to read it in full again"
            ) from None
        plan = plan_read(stream, fields, self.settings.associations.get(stream, ()))
        self._check_properties(stream, plan)
        window = position.modified
        for batch, _ in scan_changes(
            lambda filters, sort, limit: self._search(object_type, filters, sort, limit, plan),
            prop,
            Watermark(window.lower),
            self.settings.page_size,
        ):
            fresh = [
                (record, instant, version)
                for record, instant in batch
                if not window.delivered(str(record[PRIMARY_KEY]), version := digest(record))
            ]
            if not fresh:
                continue
            self._add_associations(object_type, [record for record, _, _ in fresh], plan.associations)
            for record, instant, version in fresh:
                yield Record(stream, str(record[PRIMARY_KEY]), record)
                window.note(str(record[PRIMARY_KEY]), instant, version)
            yield Checkpoint(stream, position.encode(prop))
        if self.settings.deletes:
            for archived in self._sweep_archived(object_type, position.archived, whole=cursor is None):
                if archived is None:
                    yield Checkpoint(stream, position.encode(prop))
                else:
                    yield Record(stream, str(archived[PRIMARY_KEY]), archived, deleted=True)
        yield Checkpoint(stream, position.encode(prop))

    def scan_keys(self, stream: str) -> Iterator[str]:
        """Yield the id of every live (not archived) record of object type ``stream``.

        Walks ``GET /crm/v3/objects/{type}`` 100 records a page (the list endpoint's maximum),
        asking only for ``hs_object_id`` and following ``paging.next.after``; archived records
        are not in that list.

        Raises:
            syncfw.errors.ConfigError: ``stream`` cannot be an object type.
            syncfw.errors.SourceError: a call failed (after the retries of the class docstring)
                or an answer was malformed; the keys yielded so far are then no complete list.
        """
        object_type = _object_type(stream)
        after: str | None = None
        while True:
            answer = self._call(
                f"key scan of {object_type}",
                partial(
                    CrmClient.list_page,
                    object_type=object_type,
                    limit=_LIST_PAGE_LIMIT,
                    after=after,
                    properties=(ID_PROPERTY,),
                    archived=False,
                ),
            )
            for record in answer.body.get("results", []):
                key = record.get(PRIMARY_KEY)
                if key is None:
                    raise SourceError(f"HubSpot listed a {object_type} record without an id: {record!r:.200}")
                yield str(key)
            after = _next_after(object_type, answer, after)
            if after is None:
                return

    def close(self) -> None:
        """Close the connection pools."""
        if self._client is not None:
            self._client.close()
            self._client = None

    def _check_properties(self, stream: str, plan: ReadPlan) -> None:
        known = self.stream(stream).fields
        if not known:
            return
        unknown = [name for name in plan.properties if f"properties.{name}" not in known]
        if unknown:
            raise SourceError(
                f"HubSpot {stream} have no propert{'y' if len(unknown) == 1 else 'ies'} "
                f"{', '.join(repr(n) for n in unknown)}: check the names the mappings read (HubSpot "
                "uses internal names in lowercase, e.g. 'properties.lifecyclestage', not labels)"
            )

    def _search(
        self, object_type: str, filters: Sequence[SearchFilter], sort: str, limit: int, plan: ReadPlan
    ) -> list[dict[str, Any]]:
        answer = self._call(
            f"search of {object_type}",
            lambda c: c.search(
                object_type, filters=filters, sort=sort, properties=plan.properties, limit=limit
            ),
            search=True,
        )
        return list(answer.body.get("results", []))

    def _add_associations(
        self, object_type: str, records: list[dict[str, Any]], types: Sequence[str]
    ) -> None:
        """Set ``associations`` of ``records`` in the list endpoint's shape from batch reads."""
        ids = [str(record[PRIMARY_KEY]) for record in records]
        for to_type in types:
            linked: dict[str, list[dict[str, Any]]] = {}
            for start in range(0, len(ids), self.association_batch_size):
                chunk = ids[start : start + self.association_batch_size]
                answer = self._call(
                    f"read of {object_type} to {to_type} associations",
                    partial(CrmClient.read_associations, from_type=object_type, to_type=to_type, ids=chunk),
                )
                _raise_association_errors(object_type, to_type, answer)
                for result in answer.body.get("results", []):
                    linked.setdefault(str(result["from"]["id"]), []).extend(result.get("to") or [])
            for record in records:
                results = linked.get(str(record[PRIMARY_KEY]))
                if results:
                    record.setdefault("associations", {})[to_type] = {"results": results}

    def _sweep_archived(
        self, object_type: str, sweep: ArchivedSweep, *, whole: bool
    ) -> Iterator[dict[str, Any] | None]:
        """Walk the archived list as :class:`~syncfw_hubspot.incremental.ArchivedSweep` says:
        yield each archive not reported before, and None after a page that had some (the
        caller's checkpoint).

        ``whole`` (a full read), or a sweep that reports every archive (no floor yet), walks to
        the end of the list; otherwise at most ``archived_pages_per_read`` pages. A sweep's start
        is this machine's clock moved back by ``lookback``, which also absorbs a difference
        between this clock and HubSpot's.
        """
        if sweep.after is None:
            sweep.started = int(time.time() * 1000) - self._lookback_ms
        whole = whole or sweep.floor is None
        pages = 0
        while whole or pages < self.settings.archived_pages_per_read:
            answer = self._call(
                f"list of archived {object_type}",
                partial(
                    CrmClient.list_page,
                    object_type=object_type,
                    limit=_LIST_PAGE_LIMIT,
                    after=sweep.after,
                    properties=(),
                    archived=True,
                ),
            )
            pages += 1
            found = False
            for record in answer.body.get("results", []):
                try:
                    instant = parse_instant(record.get(ARCHIVED_AT) or record.get("updatedAt"))
                except ValueError as exc:
                    raise SourceError(
                        f"HubSpot archived {object_type} {record.get(PRIMARY_KEY)} has no readable "
                        f"archivedAt ({exc})"
                    ) from None
                key = str(record[PRIMARY_KEY])
                if sweep.fresh(key, instant):
                    sweep.delivered[key] = instant
                    found = True
                    yield record
            after = _next_after(object_type, answer, sweep.after)
            if after is None:
                sweep.finish()
                return
            sweep.after = after
            if found:
                yield None

    @overload
    def _call(self, what: str, request: Callable[[CrmClient], Answer], *, search: bool = False) -> Answer: ...

    @overload
    def _call(
        self,
        what: str,
        request: Callable[[CrmClient], Answer],
        *,
        search: bool = False,
        accept: tuple[int, ...],
    ) -> Answer | Refusal: ...

    def _call(
        self,
        what: str,
        request: Callable[[CrmClient], Answer],
        *,
        search: bool = False,
        accept: tuple[int, ...] = (),
    ) -> Answer | Refusal:
        """Run one API call, paced and retried; raise syncfw errors.

        A refusal whose HTTP status is in ``accept`` is returned instead of raised.
        """
        window = self._search_window if search else self._window

        def attempt() -> Answer:
            window.acquire()
            answer = request(self._connect())
            self._note_limits(answer)
            return answer

        attempts = retrying(
            "HubSpot",
            what,
            retry=lambda e: is_transient(e) or waitable_rate_limit(e) is not None,
            log=log,
            stop=self._stop,
            wait=self._wait,
            describe=_brief,
        )
        try:
            return attempts(attempt)
        except _CALL_ERRORS as exc:
            refusal = Refusal.of(exc)
            if refusal is not None and refusal.status in accept:
                return refusal
            tries = attempts.statistics.get("attempt_number", 1)
            raise translate(exc, what=what, attempts=tries, daily_limit=self._daily_limit) from None

    def _stop(self, state: RetryCallState) -> bool:
        error = state.outcome.exception() if state.outcome else None
        limit = self.rate_limit_attempts if error and waitable_rate_limit(error) else self.retry_attempts
        return state.attempt_number >= limit

    def _wait(self, state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        refusal = waitable_rate_limit(error) if error else None
        if refusal is None:
            return float(self.retry_wait(state))
        ten_secondly = refusal.policy == TEN_SECONDLY
        wait = refusal.limits.interval_seconds or (
            self.ten_secondly_wait if ten_secondly else self.secondly_wait
        )
        # every process of the account would be refused too: hold them all back
        (self._window if ten_secondly else self._search_window).pause(wait)
        return wait

    def _note_limits(self, answer: Answer) -> None:
        limits = answer.limits
        if limits.daily is not None:
            self._daily_limit = limits.daily
        if limits.max is not None and limits.interval_seconds:
            self._window.adopt(limits.max, limits.interval_seconds)
        if limits.remaining is not None and limits.remaining <= 0:
            self._window.pause(limits.interval_seconds or self.ten_secondly_wait)

    def _connect(self) -> CrmClient:
        if self._client is None:
            cfg = self.settings
            self._client = CrmClient(
                access_token=cfg.access_token.get_secret_value(),
                host=cfg.host,
                ca_file=os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("SSL_CERT_FILE") or None,
                timeout=cfg.timeout_seconds,
            )
        return self._client


def _object_type(stream: str) -> str:
    try:
        return check_object_type(stream)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


def _next_after(object_type: str, answer: Answer, after: str | None) -> str | None:
    """The list page's ``paging.next.after``, None on the last page.

    Raises:
        SourceError: the list points back at the page just read (it would never end).
    """
    following = ((answer.body.get("paging") or {}).get("next") or {}).get("after")
    if not following:
        return None
    if str(following) == after:
        raise SourceError(f"HubSpot's list of {object_type} does not move past after={after!r}")
    return str(following)


def _raise_association_errors(object_type: str, to_type: str, answer: Answer) -> None:
    """Ids without associations come back as ``OBJECT_NOT_FOUND`` errors of a 207: not failures."""
    for error in answer.body.get("errors") or []:
        if error.get("category") != "OBJECT_NOT_FOUND":
            raise SourceError(
                f"HubSpot could not read {object_type} to {to_type} associations "
                f"({error.get('category')}: {error.get('message')})"
            )


def _brief(exc: BaseException | None) -> str:
    if exc is None:
        return "no answer"
    refusal = Refusal.of(exc)
    return refusal.brief() if refusal else type(exc).__name__
