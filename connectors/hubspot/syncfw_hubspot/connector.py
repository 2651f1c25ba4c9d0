"""The HubSpot source connector: any CRM object type as a stream, read incrementally.

A read walks the CRM search API ascending by the last-modified date (see
:mod:`syncfw_hubspot.scan`), adds the associated ids the mappings ask for from the associations
batch API (search answers carry none), then lists the archived records (``archived=true``) and
yields those archived after the cursor as deletes. See :mod:`syncfw_hubspot.incremental` for the
cursor and :mod:`syncfw_hubspot.ratelimit` for the limits it paces itself to.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from functools import partial
from typing import Any, ClassVar, overload

import urllib3
from pydantic import BaseModel
from tenacity import RetryCallState, Retrying, retry_if_exception, wait_exponential
from tenacity.wait import wait_base

from syncfw.connector import Checkpoint, Connector, Record, StreamSpec
from syncfw.errors import ConfigError, SourceError
from syncfw_hubspot.client import API_EXCEPTIONS, Answer, CrmClient, SearchFilter
from syncfw_hubspot.config import HubSpotConfig, check_object_type
from syncfw_hubspot.datetimes import parse_instant
from syncfw_hubspot.errors import Refusal, is_transient, translate, waitable_rate_limit
from syncfw_hubspot.incremental import (
    ARCHIVED_AT,
    PRIMARY_KEY,
    HubSpotCursor,
    ReadPlan,
    Watermark,
    modified_property,
    plan_read,
)
from syncfw_hubspot.ratelimit import TEN_SECONDLY, RollingWindow
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
    answer gives, else :attr:`ten_secondly_wait` or :attr:`secondly_wait` seconds) up to
    :attr:`rate_limit_attempts` tries; a 429 ``DAILY`` raises
    :class:`~syncfw.errors.SourceLimitExceeded` at once; connection errors and 5xx are retried
    :attr:`retry_attempts` times in all with exponential backoff, then raise
    :class:`~syncfw.errors.SourceUnavailable`.
    """

    name = "hubspot"
    config_model = HubSpotConfig
    maturity = "beta"
    personal_data: ClassVar[dict[str, tuple[str, ...]]] = {
        "contacts": tuple(
            f"properties.{p}"
            for p in ("email", "firstname", "lastname", "phone", "mobilephone", "address", "city", "zip")
        ),
    }

    retry_attempts: ClassVar[int] = 4
    retry_wait: ClassVar[wait_base] = wait_exponential(multiplier=1, min=1, max=30)
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
        self._window = RollingWindow(config.requests_per_10_seconds, 10.0)
        per_second = config.search_requests_per_second
        burst = max(1, int(per_second))
        self._search_window = RollingWindow(burst, burst / per_second)
        self._daily_limit: int | None = None
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
        if name in self._streams:
            return self._streams[name]
        object_type = _object_type(name)
        outcome = self._call(
            f"property definitions of {name}", lambda c: c.properties(object_type), accept=(400, 403, 404)
        )
        if isinstance(outcome, Refusal) and outcome.status != 403:
            raise SourceError(
                f"HubSpot has no object type named {name!r} ({outcome.brief()}): use a name such as "
                "'companies', 'contacts', 'deals' or a custom object's id ('2-123456')"
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
        2. Searches ``<modified property> GTE <cursor instant>`` sorted ascending, page by page
           (``page_size`` records), skipping the ids the cursor already delivered at that
           instant; a checkpoint follows each page that yielded records.
        3. With ``deletes`` on, lists the archived records and yields, oldest ``archivedAt``
           first, those archived after the cursor, with ``deleted=True``.
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
            start = HubSpotCursor.decode(cursor, prop)
        except ValueError as exc:
            raise SourceError(
                f"the saved cursor of HubSpot stream {stream!r} is not one this connector wrote "
                f"({exc}); reset the stream's cursor to read it in full again"
            ) from None
        plan = plan_read(stream, fields, self.settings.associations.get(stream, ()))
        self._check_properties(stream, plan)
        position = start
        for batch, modified in scan_changes(
            lambda filters, sort, limit: self._search(object_type, filters, sort, limit, plan),
            prop,
            start.modified,
            self.settings.page_size,
        ):
            if not batch:
                continue
            records = [record for record, _ in batch]
            self._add_associations(object_type, records, plan.associations)
            for record in records:
                yield Record(stream, str(record[PRIMARY_KEY]), record)
            position = replace(position, modified=modified)
            yield Checkpoint(stream, position.encode(prop))
        if self.settings.deletes:
            archived = position.archived
            for record, instant in self._archived_after(object_type, start.archived):
                archived = archived.advanced(str(record[PRIMARY_KEY]), instant)
                yield Record(stream, str(record[PRIMARY_KEY]), record, deleted=True)
            position = replace(position, archived=archived)
        yield Checkpoint(stream, position.encode(prop))

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

    def _archived_after(self, object_type: str, since: Watermark) -> list[tuple[dict[str, Any], int]]:
        """Archived records not delivered before ``since``, oldest ``archivedAt`` first."""
        found: list[tuple[dict[str, Any], int]] = []
        after: str | None = None
        while True:
            answer = self._call(
                f"list of archived {object_type}",
                partial(
                    CrmClient.list_page,
                    object_type=object_type,
                    limit=_LIST_PAGE_LIMIT,
                    after=after,
                    properties=(),
                    archived=True,
                ),
            )
            for record in answer.body.get("results", []):
                try:
                    instant = parse_instant(record.get(ARCHIVED_AT) or record.get("updatedAt"))
                except ValueError as exc:
                    raise SourceError(
                        f"HubSpot archived {object_type} {record.get(PRIMARY_KEY)} has no readable "
                        f"archivedAt ({exc})"
                    ) from None
                if not since.delivered(str(record[PRIMARY_KEY]), instant):
                    found.append((record, instant))
            after = ((answer.body.get("paging") or {}).get("next") or {}).get("after")
            if not after:
                return sorted(found, key=lambda item: (item[1], int(item[0][PRIMARY_KEY])))

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

        retrying = Retrying(
            reraise=True,
            stop=self._stop,
            wait=self._wait,
            retry=retry_if_exception(lambda e: is_transient(e) or waitable_rate_limit(e) is not None),
            before_sleep=lambda state: log.warning(
                "HubSpot %s failed (attempt %d: %s), retrying",
                what,
                state.attempt_number,
                _brief(state.outcome.exception() if state.outcome else None),
            ),
        )
        try:
            return retrying(attempt)
        except _CALL_ERRORS as exc:
            refusal = Refusal.of(exc)
            if refusal is not None and refusal.status in accept:
                return refusal
            attempts = retrying.statistics.get("attempt_number", 1)
            raise translate(exc, what=what, attempts=attempts, daily_limit=self._daily_limit) from None

    def _stop(self, state: RetryCallState) -> bool:
        error = state.outcome.exception() if state.outcome else None
        limit = self.rate_limit_attempts if error and waitable_rate_limit(error) else self.retry_attempts
        return state.attempt_number >= limit

    def _wait(self, state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        refusal = waitable_rate_limit(error) if error else None
        if refusal is None:
            return float(self.retry_wait(state))
        if refusal.limits.interval_seconds:
            return refusal.limits.interval_seconds
        return self.ten_secondly_wait if refusal.policy == TEN_SECONDLY else self.secondly_wait

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
