"""The Salesforce source connector: any sObject as a stream, read incrementally through ``queryAll``.

Every read is one SOQL query through the REST ``queryAll`` resource (so deleted records still
in the Recycle Bin come back with ``IsDeleted = true``), following ``nextRecordsUrl`` page by page
(REST API Developer Guide, "QueryAll" and "Execute a SOQL Query",
https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_queryall.htm).
See :mod:`syncfw_salesforce.incremental` for the cursor and its look-back window. A first read of
an sObject with more than ``bulk_threshold`` records goes through a Bulk API 2.0 ``queryAll``
job instead, with the same SOQL, records and cursor (:mod:`syncfw_salesforce.bulk2`). The key scan
(:meth:`SalesforceConnector.scan_keys`) reads ``SELECT Id`` through ``query``, which leaves out
rows in the Recycle Bin.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from pydantic import BaseModel
from tenacity.wait import wait_base

from syncfw import SourceError
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
from syncfw_salesforce.bulk2 import BulkColumns, bulk_columns
from syncfw_salesforce.config import MAX_BATCH_SIZE, SalesforceConfig
from syncfw_salesforce.datetimes import parse_datetime
from syncfw_salesforce.incremental import (
    CURSOR_FIELD,
    DELETED_FIELD,
    PRIMARY_KEY,
    CursorBuilder,
    ModstampCursor,
    check_sobject_name,
    incremental_soql,
    record_digest,
    select_list,
)
from syncfw_salesforce.usage import ApiUsage

if TYPE_CHECKING:
    from simple_salesforce.api import Salesforce

log = logging.getLogger(__name__)

T = TypeVar("T")


def _plain(value: Any) -> Any:
    """A record value without Salesforce's ``attributes`` objects, as plain dicts and lists."""
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items() if key != "attributes"}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


class SalesforceConnector(Connector):
    """Reads sObjects from one Salesforce org with simple-salesforce.

    Streams are sObject API names (``Account``, ``Invoice__c``). Records are the REST API's
    records without ``attributes``: ``{"Id": "001...", "SystemModstamp": "2026-05-01T07:25:37.000+0000",
    "IsDeleted": false, "Name": "Edge Communications", "Owner": {"Name": "Avery Admin"}}``.

    Transient failures (connection errors, timeouts, HTTP 5xx) are retried
    :attr:`retry_attempts` times in all with exponential backoff, then raised as
    :class:`~syncfw.errors.SourceUnavailable`.
    """

    name = "salesforce"
    streams: ClassVar[dict[str, str]] = {
        "Account": "accounts, by SystemModstamp through queryAll; deleted rows (IsDeleted) as deletes",
        "Contact": "contacts, by SystemModstamp through queryAll; deleted rows (IsDeleted) as deletes",
        "*": "any other sObject the user may query (its API name, e.g. Opportunity, Invoice__c)",
    }
    config_model = SalesforceConfig
    maturity = "beta"
    personal_data: ClassVar[dict[str, tuple[str, ...]]] = {
        "Contact": (
            "Name",
            "FirstName",
            "LastName",
            "Email",
            "*Phone",
            "Birthdate",
            "Mailing*",
            "Other*",
            "Owner",
        ),
        "Lead": ("Name", "FirstName", "LastName", "Email", "*Phone", "Street", "City", "PostalCode", "Owner"),
        "User": ("Name", "FirstName", "LastName", "Email", "*Phone", "Street", "City", "PostalCode"),
        "Account": ("Owner", "PersonEmail", "PersonMailing*", "PersonMobilePhone"),
        "Opportunity": ("Owner",),
        "Case": ("Owner", "SuppliedName", "SuppliedEmail", "SuppliedPhone", "Contact"),
    }

    retry_attempts: ClassVar[int] = RETRY_ATTEMPTS
    retry_wait: ClassVar[wait_base] = RETRY_WAIT

    def __init__(self, config: BaseModel) -> None:
        if not isinstance(config, SalesforceConfig):
            raise TypeError(f"SalesforceConnector needs a SalesforceConfig, got {type(config).__name__}")
        super().__init__(config)
        self.settings = config
        self._sf: Salesforce | None = None
        self._limits_usage: ApiUsage | None = None
        self._streams: dict[str, StreamSpec] = {}
        self._fields: dict[str, dict[str, dict[str, Any]]] = {}
        self._sobjects: list[str] | None = None

    @property
    def api_usage(self) -> ApiUsage | None:
        """The daily API usage last reported by Salesforce (header or ``/limits/``), if any."""
        if self._sf is not None:
            from syncfw_salesforce.client import header_usage  # loaded with self._sf

            from_header = header_usage(self._sf)
            if from_header is not None:
                return from_header
        return self._limits_usage

    def check(self) -> None:
        """Log in if needed and read ``/limits/``; logs the daily API usage.

        Raises:
            syncfw.errors.SourceAuthError: login refused or session expired.
            syncfw.errors.SourceLimitExceeded: the daily API allowance is spent.
            syncfw.errors.SourceError: any other failure.
        """
        limits = self._call(lambda sf: sf.limits(), "limits request")
        self._limits_usage = ApiUsage.from_limits(limits)
        if self._limits_usage is not None:
            log.info("Salesforce: %s", self._limits_usage)

    def stream(self, name: str) -> StreamSpec:
        """Describe the sObject ``name`` (one ``describe`` request, then cached).

        Raises:
            syncfw.errors.SourceError: the org has no such sObject, or the user cannot see it, or
                it has no ``SystemModstamp`` to read it incrementally by.
        """
        if name in self._streams:
            return self._streams[name]
        fields = tuple(str(f["name"]) for f in self._describe(name).values())
        if CURSOR_FIELD not in fields:
            raise SourceError(
                f"Salesforce sObject {name!r} has no {CURSOR_FIELD} field, so it cannot be read "
                "incrementally; the connector does not support it"
            )
        spec = StreamSpec(name=name, primary_key=PRIMARY_KEY, cursor_field=CURSOR_FIELD, fields=fields)
        self._streams[name] = spec
        return spec

    def unknown_names(self, stream: str, fields: Sequence[str]) -> UnknownNames:
        """An sObject the org does not have (one describe-global request, cached for the other
        streams), and the field paths that are not fields of the sObject (one ``describe`` request
        per sObject, cached for the read). ``Owner.Name`` follows the relationship ``Owner`` to the
        sObject it references; a polymorphic relationship (``What``) and a path into a compound
        field (``BillingAddress.city``) are left to the query.

        Raises:
            syncfw.errors.SourceError: the org could not be asked.
        """
        if self._sobjects is None:
            listing = self._call(lambda sf: sf.describe(), "describe of the org's sObjects")
            self._sobjects = [str(o["name"]) for o in (listing or {}).get("sobjects", [])]
        sobjects = self._sobjects
        if stream.casefold() not in {o.casefold() for o in sobjects}:
            return UnknownNames(
                stream=f"Salesforce has no sObject {stream!r}, or the user cannot see it"
                f"{did_you_mean(stream, sobjects)}"
            )
        unknown = {}
        for path in fields:
            reason = self._unknown_field(stream, path.split("."))
            if reason is not None:
                unknown[path] = reason
        return UnknownNames(fields=unknown)

    def _unknown_field(self, sobject: str, parts: list[str]) -> str | None:
        described = self._describe(sobject)
        head, rest = parts[0], parts[1:]
        if head.lower() in described:
            return None
        names = [str(f["name"]) for f in described.values()]
        if not rest:
            return f"sObject {sobject} has no field {head!r}{did_you_mean(head, names)}"
        relations = {
            str(f["relationshipName"]).lower(): f for f in described.values() if f.get("relationshipName")
        }
        reference = relations.get(head.lower())
        if reference is None:
            choices = [str(f["relationshipName"]) for f in relations.values()]
            return f"sObject {sobject} has no relationship {head!r}{did_you_mean(head, choices)}"
        targets = reference.get("referenceTo") or []
        return self._unknown_field(str(targets[0]), rest) if len(targets) == 1 else None

    def _describe(self, name: str) -> dict[str, dict[str, Any]]:
        """The fields of sObject ``name`` by lower-case name (one ``describe`` request, then cached).

        Raises:
            syncfw.errors.SourceError: the org has no such sObject, or the user cannot see it.
        """
        if name not in self._fields:
            check_sobject_name(name)
            describe = self._call(
                lambda sf: sf.restful(f"sobjects/{name}/describe/"),
                f"describe of {name}",
                not_found=f"Salesforce has no sObject named {name!r}, or the user cannot see it: check "
                "the stream name (custom objects end in '__c') and the user's object permissions",
            )
            fields = (describe or {}).get("fields", [])
            self._fields[name] = {str(f["name"]).lower(): f for f in fields}
        return self._fields[name]

    def read(self, stream: str, cursor: str | None, fields: Sequence[str]) -> Iterator[Record | Checkpoint]:
        """Yield the records of sObject ``stream`` changed since the cursor, oldest first.

        Describes the sObject first (once per connector; see :meth:`stream`), then sends
        ``SELECT Id, SystemModstamp, IsDeleted, <fields> FROM <stream> [WHERE SystemModstamp >=
        <cursor stamp - lookback>] ORDER BY SystemModstamp ASC, Id ASC`` to ``queryAll``. Of the
        records inside the look-back window, those the cursor holds unchanged are skipped: a
        record is delivered again only when it committed late or changed (see
        :mod:`syncfw_salesforce.incremental`). ``IsDeleted`` is left out for sObjects without it
        (``User``). A checkpoint follows each page of results (``batch_size`` records at most),
        the last one after the last page.

        A first read (no cursor) of an sObject whose ``SELECT COUNT()`` through ``queryAll`` is
        above ``bulk_threshold`` sends the same SOQL as a Bulk API 2.0 ``queryAll`` job instead,
        polls it every ``bulk_poll_seconds`` and reads its results in sets of
        ``bulk_page_size`` records by ``locator``, a checkpoint after each set; the records are
        those REST gives (see :mod:`syncfw_salesforce.bulk2`). Select lists Bulk API 2.0 cannot
        carry (compound address fields) stay on REST.

        Raises:
            syncfw.errors.ConfigError: a field path or the stream name cannot be put into SOQL.
            syncfw.errors.SourceError: the query failed (an unknown field is named in the message),
                or the Bulk API 2.0 query job ended ``Failed`` or ``Aborted``; subclasses as
                described in :func:`syncfw_salesforce.errors.translate`.
        """
        try:
            start = ModstampCursor.decode(cursor)
        except ValueError as exc:
            raise SourceError(
                f"the saved cursor of Salesforce stream {stream!r} is not one this connector wrote "
                f"({exc}); reset the stream's cursor to read it in full again"
            ) from None
        lookback = self.settings.lookback
        deletable = DELETED_FIELD in self.stream(stream).fields
        since = start.since(lookback)
        soql = incremental_soql(stream, fields, since, deletable=deletable)
        columns = self._bulk_columns(stream, fields, deletable) if since is None else None
        pages: Iterator[list[dict[str, Any]]]
        if columns is None:
            pages = (_plain(page) for page in self._pages(soql, f"query of {stream}", include_deleted=True))
        else:
            pages = self._bulk_pages(
                stream, incremental_soql(stream, columns.select, None, deletable=deletable), columns
            )
        builder = CursorBuilder(start, lookback)
        for page in pages:
            for data in page:
                record_id = str(data[PRIMARY_KEY])
                modstamp = parse_datetime(data[CURSOR_FIELD])
                digest = record_digest(data)
                if start.delivered(record_id, modstamp, digest, lookback):
                    continue
                builder.add(record_id, modstamp, digest)
                yield Record(stream, record_id, data, deleted=bool(data.get(DELETED_FIELD)))
            yield Checkpoint(stream, builder.cursor().encode())

    def scan_keys(self, stream: str) -> Iterator[str]:
        """Yield the Id of every record of sObject ``stream`` that exists now.

        Sends ``SELECT Id FROM <stream>`` to ``query`` (not ``queryAll``: rows in the Recycle Bin
        are deleted and left out) in pages of 2,000 Ids, following ``nextRecordsUrl``; Ids as the
        REST API returns them (18 characters), like :attr:`Record.key`. One request per 2,000
        records (REST API Developer Guide, "Execute a SOQL Query").

        Raises:
            syncfw.errors.ConfigError: the stream name cannot be put into SOQL.
            syncfw.errors.SourceError: a page could not be read (after retries of transient
                failures); the scan is then incomplete and must not be used.
        """
        soql = f"SELECT {PRIMARY_KEY} FROM {check_sobject_name(stream)}"
        for page in self._pages(
            soql, f"key scan of {stream}", include_deleted=False, batch_size=MAX_BATCH_SIZE
        ):
            for raw in page:
                yield str(raw[PRIMARY_KEY])

    def _bulk_columns(self, stream: str, fields: Sequence[str], deletable: bool) -> BulkColumns | None:
        """The columns of a Bulk API 2.0 first read of ``stream``, or None to read over REST: no
        ``bulk_threshold``, ``SELECT COUNT()`` (``queryAll``, deleted rows included) at or below
        it, or a select list Bulk API 2.0 cannot carry."""
        threshold = self.settings.bulk_threshold
        if threshold is None:
            return None
        counted = self._call(
            lambda sf: sf.query(f"SELECT COUNT() FROM {stream}", include_deleted=True), f"count of {stream}"
        )
        total = int(counted["totalSize"])
        if total <= threshold:
            return None
        columns = bulk_columns(stream, select_list(fields, deletable=deletable), self._describe)
        if columns is None:
            log.info(
                "Salesforce: %s has %d records but its fields cannot all be read through Bulk API 2.0 "
                "(compound address or unknown fields); reading it over REST",
                stream,
                total,
            )
        else:
            log.info(
                "Salesforce: %s has %d records (> bulk_threshold %d): reading it with Bulk API 2.0",
                stream,
                total,
                threshold,
            )
        return columns

    def _bulk_pages(self, stream: str, soql: str, columns: BulkColumns) -> Iterator[list[dict[str, Any]]]:
        """The records of ``soql`` through a Bulk API 2.0 ``queryAll`` job, a set of results at a time.

        Each step is retried on transient failures; a set of results is fetched again by its
        locator, which stays valid while the job exists ("Get Results for a Query Job"). The job
        is deleted once its last set is read.
        """
        from simple_salesforce.bulk2 import Operation
        from simple_salesforce.exceptions import SalesforceOperationError

        from syncfw_salesforce.client import bulk_client, results

        what = f"Bulk API 2.0 query of {stream}"
        job = self._call(lambda sf: bulk_client(sf, stream).create_job(Operation.query_all, soql), what)
        job_id = str(job["id"])
        wait = self.settings.bulk_poll_seconds
        try:
            self._call(lambda sf: bulk_client(sf, stream).wait_for_job(job_id, True, wait), what)
        except SalesforceOperationError:
            info = self._call(lambda sf: bulk_client(sf, stream).get_job(job_id, True), what)
            reason = info.get("errorMessage") or "no error message"
            raise SourceError(
                f"Salesforce Bulk API 2.0 query job {job_id} reading {stream} ended {info.get('state')} "
                f"({reason}). Run again; if it keeps failing, set bulk_threshold: null in the source's "
                "config to read it over REST"
            ) from None
        locator = ""
        while True:
            result = self._call(
                partial(
                    results, stream=stream, job_id=job_id, locator=locator, size=self.settings.bulk_page_size
                ),
                what,
            )
            try:
                yield columns.records(str(result["records"]))
            except ValueError as exc:
                raise SourceError(
                    f"Salesforce {what}: unexpected CSV results of job {job_id} ({exc})"
                ) from None
            locator = str(result["locator"] or "")
            if not locator:
                self._delete_job(stream, job_id)
                return

    def _delete_job(self, stream: str, job_id: str) -> None:
        """Delete a query job whose results were all read ("Delete a Query Job"): Salesforce keeps
        a job and its results for 7 days otherwise. A job that cannot be deleted is left to that
        expiry, with a warning; the read it served stands."""
        from syncfw_salesforce.client import bulk_client

        try:
            self._call(
                lambda sf: bulk_client(sf, stream).delete_job(job_id, True), "Bulk API 2.0 job deletion"
            )
        except SourceError as exc:
            log.warning("Salesforce: query job %s of %s was read but not deleted (%s)", job_id, stream, exc)

    def close(self) -> None:
        """Close the HTTP session."""
        if self._sf is not None:
            self._sf.session.close()
            self._sf = None

    def _pages(
        self, soql: str, what: str, *, include_deleted: bool, batch_size: int | None = None
    ) -> Iterator[list[dict[str, Any]]]:
        """The records of ``soql``, a page at a time (``queryAll`` when ``include_deleted``)."""
        from syncfw_salesforce.client import query_more

        headers = {"Sforce-Query-Options": f"batchSize={batch_size or self.settings.batch_size}"}
        result = self._call(lambda sf: sf.query(soql, include_deleted=include_deleted, headers=headers), what)
        while True:
            yield list(result["records"])
            if result.get("done", True):
                return
            result = self._call(partial(query_more, url=str(result["nextRecordsUrl"]), headers=headers), what)

    def _call(self, request: Callable[[Salesforce], T], what: str, *, not_found: str | None = None) -> T:
        """Run one API call with retries of transient failures; raise syncfw errors.

        ``not_found`` replaces the message of a 404 answer.
        """
        # imported at the first call, not with the connector: simple-salesforce (requests, zeep,
        # cryptography) is a tenth of a second or more that loading a recipe does not need
        from requests import RequestException
        from simple_salesforce.exceptions import SalesforceError, SalesforceResourceNotFound

        from syncfw_salesforce.errors import is_transient, translate

        attempts = retrying(
            "Salesforce", what, retry=is_transient, log=log, stop=self.retry_attempts, wait=self.retry_wait
        )
        try:
            return attempts(lambda: request(self._client()))
        except SalesforceResourceNotFound as exc:
            if not_found is None:
                raise translate(exc, what=what, usage=self.api_usage) from None
            raise SourceError(not_found) from None
        except (SalesforceError, RequestException) as exc:
            tries = attempts.statistics.get("attempt_number", 1)
            raise translate(exc, what=what, usage=self.api_usage, attempts=tries) from None

    def _client(self) -> Salesforce:
        if self._sf is None:
            from syncfw_salesforce.client import connect

            self._sf = connect(self.settings)
        return self._sf
