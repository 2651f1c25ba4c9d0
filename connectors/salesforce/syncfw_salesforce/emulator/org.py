"""The emulated Salesforce org: seed records, the session, the daily API allowance, query cursors.

Records come from ``data_dir/<sObject>.json`` (a JSON array of records in REST shape, with
``attributes``, ``Id``, ``SystemModstamp`` and ``IsDeleted``). A file is read again when its
modification time, size or inode changes, so a test or a person editing a seed file sees the
change on the next request. Tests drive the org through its knobs: :attr:`SalesforceOrg.remaining_requests`,
:meth:`SalesforceOrg.expire_session`, :meth:`SalesforceOrg.fail_next`,
:meth:`SalesforceOrg.configure_faults` and :attr:`SalesforceOrg.stats`; and through its data
controls: :meth:`SalesforceOrg.begin_transaction` / :meth:`SalesforceOrg.commit` (a change that
becomes visible after later ones), :meth:`SalesforceOrg.hard_delete`,
:meth:`SalesforceOrg.empty_recycle_bin` and :meth:`SalesforceOrg.advance_clock` (the Recycle
Bin's retention runs on the org's clock; see :mod:`syncfw_salesforce.emulator.visibility`).
"""

from __future__ import annotations

import json
import logging
import secrets
import string
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

from syncfw.emulation import FaultInjector, FaultKind, FaultPlan, Injection
from syncfw_salesforce.emulator import bulk
from syncfw_salesforce.emulator.execute import column_types, execute
from syncfw_salesforce.emulator.jobs import (
    DEFAULT_PROCESSING_TIME,
    QUERY_JOBS_PER_DAY,
    Columns,
    JobError,
    QueryJobs,
    check_bulk_query,
)
from syncfw_salesforce.emulator.schema import SObjectSchema, infer_schema, key_prefix
from syncfw_salesforce.emulator.soql import SoqlError, parse
from syncfw_salesforce.emulator.visibility import (
    RECYCLE_BIN_CAPACITY,
    RECYCLE_BIN_RETENTION,
    PendingCommits,
    RecycleBin,
    record_key,
    visible_records,
)

log = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 2000
MIN_BATCH_SIZE = 200
DEVELOPER_EDITION_DAILY_LIMIT = 15000
_KEPT_QUERY_CURSORS = 100
_PERSON_SOBJECTS = frozenset({"Contact", "Lead", "User"})
SUPPORTED_FAULTS: tuple[FaultKind, ...] = ("server_error", "timeout", "reset")
"""The kinds of :class:`~syncfw.emulation.faults.FaultPlan` the org can inject."""
_UNSUPPORTED_FAULTS: dict[FaultKind, str] = {
    "rate_limited": "Salesforce never answers 429, it refuses requests over its limits with "
    "403 REQUEST_LIMIT_EXCEEDED (set SalesforceOrg.remaining_requests to 0 for that)",
    "overload": "529 service_overload is Notion's answer, not Salesforce's",
    "lost_response": "the emulator serves reads only, so there is no write whose answer could be lost",
}


class ApiError(Exception):
    """An error answer: HTTP status and Salesforce's ``[{"message", "errorCode"}]`` body."""

    def __init__(self, status: int, error_code: str, message: str) -> None:
        super().__init__(f"{status} {error_code}: {message}")
        self.status = status
        self.error_code = error_code
        self.message = message

    def body(self) -> list[dict[str, str]]:
        """The JSON body Salesforce sends for this error."""
        return [{"message": self.message, "errorCode": self.error_code}]


@dataclass(frozen=True)
class OrgStats:
    """What the org has served since it started.

    Attributes:
        api_requests: requests counted against the daily allowance.
        queries: ``query`` and ``queryAll`` requests (first pages).
        query_more: ``nextRecordsUrl`` requests (later pages).
        records_returned: records sent in query pages (REST and Bulk API 2.0 results).
        query_jobs: Bulk API 2.0 query jobs created.
        job_results: Bulk API 2.0 "Get Results for a Query Job" requests answered.
        jobs_deleted: Bulk API 2.0 query jobs deleted ("Delete a Query Job").
    """

    api_requests: int = 0
    queries: int = 0
    query_more: int = 0
    records_returned: int = 0
    query_jobs: int = 0
    job_results: int = 0
    jobs_deleted: int = 0


@dataclass(frozen=True)
class _SeedFile:
    signature: tuple[int, int, int]
    records: list[dict[str, Any]]


class _OrgData:
    """One consistent view of every sObject's records and schema (implements ``Tables``)."""

    def __init__(self, records: Mapping[str, list[dict[str, Any]]]) -> None:
        self._records = dict(records)
        prefixes: dict[str, str] = {}
        for name, rows in self._records.items():
            prefix = key_prefix(rows)
            if prefix is not None:
                prefixes[prefix] = name
        self._schemas = {
            name.lower(): infer_schema(name, rows, prefixes) for name, rows in self._records.items()
        }
        self._by_id = {
            name: {str(row["Id"])[:15]: row for row in rows if row.get("Id")}
            for name, rows in self._records.items()
        }

    def schema(self, name: str) -> SObjectSchema | None:
        return self._schemas.get(name.lower())

    def schemas(self) -> list[SObjectSchema]:
        return sorted(self._schemas.values(), key=lambda s: s.name)

    def records(self, name: str) -> Sequence[Mapping[str, Any]]:
        return self._records.get(name, [])

    def get(self, name: str, record_id: str) -> Mapping[str, Any] | None:
        return self._by_id.get(name, {}).get(record_id[:15])


def new_session_id() -> str:
    """A random session id starting, like Salesforce's, with an org id (``00D...``).

    Salesforce puts a ``!`` after the org id; it is left out here because shells expand ``!`` in
    double-quoted env files.
    """
    return "00D" + secrets.token_hex(6).upper() + secrets.token_urlsafe(48)


def _locator() -> str:
    alphabet = string.ascii_letters + string.digits
    return "01g" + "".join(secrets.choice(alphabet) for _ in range(15))


class SalesforceOrg:
    """An in-memory Salesforce org behind the emulator's REST API.

    Args:
        data_dir: directory of ``<sObject>.json`` seed files, or None for none.
        session_id: the one session id the org accepts (``Authorization: Bearer <id>``).
        bulk: generate this many extra accounts and about as many contacts (see
            :mod:`syncfw_salesforce.emulator.bulk`).
        daily_api_limit: the allowance of API requests (15,000 in a Developer Edition org).
        seed: random seed of the generated records.
        recycle_bin_retention: how long ``queryAll`` returns a deleted record before it is
            permanently deleted (Salesforce: 15 days).
        recycle_bin_capacity: records the Recycle Bin holds before the oldest are permanently
            deleted (Salesforce: 5,000 per user license; default 10,000).
        query_job_time: how long a Bulk API 2.0 query job runs on the org's clock before
            ``JobComplete`` (default 1 second; see :mod:`syncfw_salesforce.emulator.jobs`).
        query_jobs_per_day: Bulk API 2.0 query jobs allowed in a rolling 24 hours (10,000).

    Thread-safe: the server thread and a test thread may use it at once.
    """

    def __init__(
        self,
        data_dir: Path | None,
        session_id: str,
        *,
        bulk: int = 0,
        daily_api_limit: int = DEVELOPER_EDITION_DAILY_LIMIT,
        seed: int = 0,
        recycle_bin_retention: timedelta = RECYCLE_BIN_RETENTION,
        recycle_bin_capacity: int = RECYCLE_BIN_CAPACITY,
        query_job_time: timedelta = DEFAULT_PROCESSING_TIME,
        query_jobs_per_day: int = QUERY_JOBS_PER_DAY,
    ) -> None:
        if bulk < 0:
            raise ValueError("bulk must be 0 or more")
        self.data_dir = data_dir
        self._session_id = session_id
        self._session_valid = True
        self._bulk_count = bulk
        self._bulk_seed = seed
        self._bulk: dict[str, list[dict[str, Any]]] | None = None
        self.api_limit = daily_api_limit
        self.api_used = 0
        self._faults: list[int] = []
        self._injector = FaultInjector()
        self._stats = OrgStats()
        self._lock = threading.RLock()
        self._files: dict[str, _SeedFile] = {}
        self._signature: tuple[tuple[str, int, int, int], ...] | None = None
        self._seeded: dict[str, list[dict[str, Any]]] = {}
        self._data: _OrgData | None = None
        self._recycle_bin = RecycleBin(recycle_bin_retention, recycle_bin_capacity)
        self._pending = PendingCommits()
        self._clock_offset = 0.0
        self._cursors: OrderedDict[str, tuple[list[dict[str, Any]], int]] = OrderedDict()
        self.query_jobs = QueryJobs(query_job_time, query_jobs_per_day)
        """The Bulk API 2.0 query jobs; tests may change ``processing_time`` and ``jobs_per_day``."""

    # knobs for tests and the sandbox

    @property
    def session_id(self) -> str:
        """The session id the org currently accepts."""
        return self._session_id

    @property
    def remaining_requests(self) -> int:
        """API requests left in the daily allowance; at 0 every request gets REQUEST_LIMIT_EXCEEDED."""
        with self._lock:
            return max(self.api_limit - self.api_used, 0)

    @remaining_requests.setter
    def remaining_requests(self, value: int) -> None:
        with self._lock:
            self.api_used = self.api_limit - max(value, 0)

    def expire_session(self) -> None:
        """Make the current session id invalid: every request gets 401 INVALID_SESSION_ID."""
        with self._lock:
            self._session_valid = False

    def renew_session(self) -> str:
        """Issue and return a new valid session id (the old one stays invalid)."""
        with self._lock:
            self._session_id = new_session_id()
            self._session_valid = True
            return self._session_id

    def fail_next(self, count: int, status: int = 503) -> None:
        """Answer the next ``count`` authenticated requests with HTTP ``status`` (a 5xx)."""
        with self._lock:
            self._faults.extend([status] * count)

    def configure_faults(self, plan: FaultPlan | str | None) -> None:
        """Make authenticated API requests fail at random from now on (``None``: stop).

        ``plan`` is a :class:`~syncfw.emulation.faults.FaultPlan` or its compact form, e.g.
        ``"5xx=0.1,reset=0.05,seed=7"``. Faults hit requests that passed authentication and the
        daily allowance (they count against it, as Salesforce counts them). On the wire:
        ``server_error`` answers 500 ``UNKNOWN_EXCEPTION`` or 503 ``SERVER_UNAVAILABLE`` as
        ``[{"message", "errorCode"}]``, or the HTML page of a 502/504 from Salesforce's edge;
        ``reset`` resets the TCP connection; ``timeout`` holds the request ``timeout_seconds``
        and then resets it. Every request is a read (``only=writes`` injects nothing).

        Raises:
            ValueError: a malformed plan, or a kind Salesforce has no equivalent of
                (``rate_limited``, ``overload``, ``lost_response``); the message says why.
        """
        parsed = FaultPlan.coerce(plan)
        if parsed is not None:
            parsed.require(SUPPORTED_FAULTS, "Salesforce", _UNSUPPORTED_FAULTS)
            if parsed.only == "writes":
                raise ValueError(
                    "the Salesforce emulator serves reads only, so only=writes would inject nothing"
                )
        self._injector.configure(parsed)

    def draw_fault(self) -> Injection | None:
        """The random fault for an admitted request, if the plan of :meth:`configure_faults` draws one."""
        return self._injector.draw(write=False)

    def fault_counts(self) -> dict[str, int]:
        """Random faults injected so far, by kind (``{"server_error": 3, "reset": 1}``)."""
        return self._injector.counts()

    def fail_next_query_job(self, message: str = "Retried more than 15 times") -> None:
        """Make the next Bulk API 2.0 query job end ``Failed`` with ``errorMessage`` ``message``
        (a query job is retried at most 15 times before it fails: "Bulk API 2.0 Limits")."""
        with self._lock:
            self.query_jobs.fail_next(message)

    def advance_clock(self, by: timedelta) -> None:
        """Move the org's clock forward (the Recycle Bin's retention counts on it)."""
        if by < timedelta(0):
            raise ValueError("the org's clock only moves forward")
        with self._lock:
            self._clock_offset += by.total_seconds()

    def begin_transaction(self, sobject: str, record_id: str) -> None:
        """Open a transaction on a record that commits later: until :meth:`commit`, queries keep
        returning the record as they return it now (or not at all, for an Id not created yet),
        whatever the seed file says. Give the seed file's version the ``SystemModstamp`` of the
        transaction's start: after commit, the record appears with a stamp older than records
        that were readable before it.

        Raises:
            ValueError: the org has no sObject ``sobject``.
        """
        with self._lock:
            data = self._current()
            name = self._sobject(data, sobject)
            self._pending.begin(record_key(name, record_id), data.get(name, record_id))
            self._data = None

    def commit(self, sobject: str, record_id: str) -> None:
        """Commit the transaction opened by :meth:`begin_transaction`: queries now see the record
        as its seed file holds it.

        Raises:
            ValueError: no transaction is open on the record.
        """
        with self._lock:
            name = self._sobject(self._current(), sobject)
            try:
                self._pending.commit(record_key(name, record_id))
            except KeyError:
                raise ValueError(f"no transaction is open on {sobject} {record_id}") from None
            self._data = None

    def hard_delete(self, sobject: str, record_id: str) -> None:
        """Delete a record permanently, without the Recycle Bin: no query or ``queryAll`` returns
        it again, and nothing tells a client it went (Bulk API hard delete, or a delete followed
        by ``emptyRecycleBin()``).

        Raises:
            ValueError: the org has no such sObject or record.
        """
        with self._lock:
            data = self._current()
            name = self._sobject(data, sobject)
            if data.get(name, record_id) is None:
                raise ValueError(f"the org has no {sobject} with Id {record_id}")
            self._recycle_bin.hard_delete(record_key(name, record_id))
            self._data = None

    def empty_recycle_bin(self) -> int:
        """Permanently delete every record in the Recycle Bin; return how many went."""
        with self._lock:
            self._current()
            emptied = self._recycle_bin.empty()
            self._data = None
            return emptied

    @property
    def stats(self) -> OrgStats:
        """Counters of what the org has served."""
        with self._lock:
            return self._stats

    def record_counts(self) -> dict[str, int]:
        """Records per sObject (deleted ones included), from the current seed files."""
        with self._lock:
            data = self._current()
            return {s.name: len(data.records(s.name)) for s in data.schemas()}

    # what the REST API does

    def admit(self, authorization: str | None) -> None:
        """Authenticate a request and count it against the daily allowance.

        Raises:
            ApiError: 401 ``INVALID_SESSION_ID`` for a missing, wrong or expired session;
                403 ``REQUEST_LIMIT_EXCEEDED`` when the allowance is spent; an injected fault.
        """
        scheme, _, token = (authorization or "").partition(" ")
        with self._lock:
            valid = self._session_valid and scheme in ("Bearer", "OAuth")
            if not (valid and secrets.compare_digest(token.strip(), self._session_id)):
                raise ApiError(401, "INVALID_SESSION_ID", "Session expired or invalid")
            if self.api_used >= self.api_limit:
                raise ApiError(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
            self.api_used += 1
            self._stats = replace(self._stats, api_requests=self._stats.api_requests + 1)
            if self._faults:
                status = self._faults.pop(0)
                raise ApiError(status, "SERVER_UNAVAILABLE", "Server temporarily unavailable")

    def limit_info(self) -> str:
        """The ``Sforce-Limit-Info`` header value: ``api-usage=N/15000``."""
        with self._lock:
            return f"api-usage={min(self.api_used, self.api_limit)}/{self.api_limit}"

    def sobjects(self, version: str) -> dict[str, Any]:
        """The body of ``GET /sobjects/``."""
        with self._lock:
            summaries = [schema.summary(version) for schema in self._current().schemas()]
        return {"encoding": "UTF-8", "maxBatchSize": 200, "sobjects": summaries}

    def describe(self, name: str, version: str) -> dict[str, Any]:
        """The body of ``GET /sobjects/<name>/describe/``.

        Raises:
            ApiError: 404 ``NOT_FOUND`` for an unknown sObject (names match in any case).
        """
        with self._lock:
            schema = self._current().schema(name)
        if schema is None:
            raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")
        return schema.describe(version)

    def limits(self) -> dict[str, Any]:
        """The body of ``GET /limits/`` (a few of Salesforce's entries)."""
        with self._lock:
            return {
                "DailyApiRequests": {"Max": self.api_limit, "Remaining": self.remaining_requests},
                "DailyAsyncApexExecutions": {"Max": 250000, "Remaining": 250000},
                "DailyBulkApiBatches": {"Max": 15000, "Remaining": 15000},
                "DailyBulkV2QueryJobs": {
                    "Max": self.query_jobs.jobs_per_day,
                    "Remaining": self.query_jobs.remaining(self._now()),
                },
            }

    def query(
        self, soql: str, *, include_deleted: bool, batch_size: int | None, version: str
    ) -> dict[str, Any]:
        """The first page of a SOQL query (``GET /query/?q=`` or ``/queryAll/?q=``).

        Args:
            batch_size: from ``Sforce-Query-Options: batchSize=N``; clamped to 200-2000.

        Raises:
            ApiError: 400 with ``MALFORMED_QUERY``, ``INVALID_FIELD`` or ``INVALID_TYPE`` and
                Salesforce's message layout (query line, caret, ``ERROR at Row:1:Column:N``).
        """
        size = min(max(batch_size or DEFAULT_BATCH_SIZE, MIN_BATCH_SIZE), DEFAULT_BATCH_SIZE)
        with self._lock:
            try:
                parsed = parse(soql)
                rows = execute(parsed, self._current(), include_deleted=include_deleted, version=version)
            except SoqlError as exc:
                raise ApiError(400, exc.error_code, exc.message(soql)) from None
            if parsed.count:
                self._stats = replace(self._stats, queries=self._stats.queries + 1)
                return {"totalSize": len(rows), "done": True, "records": []}
            locator = _locator()
            self._cursors[locator] = (rows, size)
            while len(self._cursors) > _KEPT_QUERY_CURSORS:
                self._cursors.popitem(last=False)
            self._stats = replace(self._stats, queries=self._stats.queries + 1)
            return self._page(locator, 0, version)

    def query_more(self, locator_and_offset: str, version: str) -> dict[str, Any]:
        """A later page (``GET /query/<locator>-<offset>``, the ``nextRecordsUrl``).

        Raises:
            ApiError: 400 ``INVALID_QUERY_LOCATOR`` for a locator the org does not know.
        """
        locator, _, offset = locator_and_offset.rpartition("-")
        with self._lock:
            if locator not in self._cursors or not offset.isdigit():
                raise ApiError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
            self._cursors.move_to_end(locator)
            self._stats = replace(self._stats, query_more=self._stats.query_more + 1)
            return self._page(locator, int(offset), version)

    # Bulk API 2.0 query jobs (syncfw_salesforce.emulator.jobs)

    def create_query_job(self, body: Any, version: str) -> dict[str, Any]:
        """ "Create a Query Job": run the SOQL now and return the job (``UploadComplete``).

        Raises:
            ApiError: 400 for a malformed body or query, or one Bulk API 2.0 does not support;
                403 ``REQUEST_LIMIT_EXCEEDED`` past ``DailyBulkV2QueryJobs``.
        """

        def run(soql: str, include_deleted: bool) -> tuple[str, list[dict[str, Any]], Columns]:
            try:
                parsed = parse(soql)
                data = self._current()
                rows = execute(parsed, data, include_deleted=include_deleted, version=version)
                columns = column_types(parsed, data)
            except SoqlError as exc:
                raise JobError(400, exc.error_code, exc.message(soql)) from None
            check_bulk_query(parsed.count, parsed.offset, columns)
            schema = data.schema(parsed.sobject)
            assert schema is not None  # execute refused an unknown sObject
            return schema.name, rows, columns

        with self._lock, _job_errors():
            if not isinstance(body, Mapping):
                raise JobError(400, "INVALIDJOB", "The request body must be a JSON object")
            job = self.query_jobs.create(body, run, self._now(), version)
            self._stats = replace(self._stats, query_jobs=self._stats.query_jobs + 1)
            return job.info(self._now(), created=True)

    def query_job(self, job_id: str) -> dict[str, Any]:
        """ "Get Information About a Query Job".

        Raises:
            ApiError: 404 ``NOT_FOUND`` for an unknown, deleted or expired job.
        """
        with self._lock, _job_errors():
            return self.query_jobs.poll(job_id, self._now())

    def query_job_results(
        self, job_id: str, locator: str | None, max_records: int | None, version: str
    ) -> tuple[str, str, int]:
        """ "Get Results for a Query Job": ``(csv, Sforce-Locator, Sforce-NumberOfRecords)``.

        Raises:
            ApiError: see :meth:`syncfw_salesforce.emulator.jobs.QueryJobs.results`.
        """
        with self._lock, _job_errors():
            text, following, count = self.query_jobs.results(
                job_id, locator, max_records, self._now(), version
            )
            self._stats = replace(
                self._stats,
                job_results=self._stats.job_results + 1,
                records_returned=self._stats.records_returned + count,
            )
            return text, following, count

    def abort_query_job(self, job_id: str, body: Any) -> dict[str, Any]:
        """ "Abort a Query Job" (body ``{"state": "Aborted"}``).

        Raises:
            ApiError: 404 for an unknown job; 400 for a job that already ended.
        """
        with self._lock, _job_errors():
            return self.query_jobs.abort(job_id, body if isinstance(body, Mapping) else {}, self._now())

    def delete_query_job(self, job_id: str) -> None:
        """ "Delete a Query Job" (one in a terminal state).

        Raises:
            ApiError: 404 for an unknown job; 400 for a job still running.
        """
        with self._lock, _job_errors():
            self.query_jobs.delete(job_id, self._now())
            self._stats = replace(self._stats, jobs_deleted=self._stats.jobs_deleted + 1)

    def _page(self, locator: str, offset: int, version: str) -> dict[str, Any]:
        rows, size = self._cursors[locator]
        records = rows[offset : offset + size]
        self._stats = replace(self._stats, records_returned=self._stats.records_returned + len(records))
        page: dict[str, Any] = {"totalSize": len(rows), "done": offset + size >= len(rows)}
        if not page["done"]:
            page["nextRecordsUrl"] = f"/services/data/v{version}/query/{locator}-{offset + size}"
        page["records"] = records
        return page

    # seed data

    def _now(self) -> float:
        return time.time() + self._clock_offset

    def _current(self) -> _OrgData:
        """The records queries see now: the seed files (re-read when they change) without the
        records permanently deleted, and with open transactions' records as they were before."""
        files = sorted(self.data_dir.glob("*.json")) if self.data_dir and self.data_dir.is_dir() else []
        signatures = {path: _signature(path) for path in files}
        signature = tuple((path.name, *sig) for path, sig in signatures.items())
        if signature != self._signature:
            self._seeded = self._seed(signatures)
            self._signature = signature
            self._data = None
            for name, rows in self._seeded.items():
                self._recycle_bin.observe(name, rows, self._now())
        if self._recycle_bin.expire(self._now()):
            self._data = None
        if self._data is None:
            self._data = _OrgData(
                {
                    name: visible_records(name, rows, self._recycle_bin, self._pending)
                    for name, rows in self._seeded.items()
                }
            )
        return self._data

    def _seed(self, signatures: Mapping[Path, tuple[int, int, int]]) -> dict[str, list[dict[str, Any]]]:
        records: dict[str, list[dict[str, Any]]] = {}
        for path, sig in signatures.items():
            records[path.stem] = self._load(path, sig)
        if self._bulk is None:
            owners = [str(user["Id"]) for user in records.get("User", []) if user.get("Id")]
            self._bulk = (
                bulk.generate(self._bulk_count, owners, seed=self._bulk_seed) if self._bulk_count else {}
            )
        for name, generated in self._bulk.items():
            records[name] = records.get(name, []) + generated
        for name in _PERSON_SOBJECTS.intersection(records):
            records[name] = [_with_full_name(record) for record in records[name]]
        return records

    @staticmethod
    def _sobject(data: _OrgData, name: str) -> str:
        schema = data.schema(name)
        if schema is None:
            raise ValueError(f"the org has no sObject named {name!r}")
        return schema.name

    def _load(self, path: Path, signature: tuple[int, int, int]) -> list[dict[str, Any]]:
        cached = self._files.get(path.stem)
        if cached is not None and cached.signature == signature:
            return cached.records
        try:
            records = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(records, list) or not all(
                isinstance(r, dict) and isinstance(r.get("Id"), str) for r in records
            ):
                raise ValueError("expected a JSON array of records, each with an Id")
        except (OSError, ValueError) as exc:
            if cached is not None:  # a file caught half-written: keep the last good version
                log.warning("Salesforce emulator: cannot read %s (%s); keeping its last version", path, exc)
                return cached.records
            raise ApiError(
                500, "UNKNOWN_EXCEPTION", f"syncfw emulator: cannot read seed file {path.name}: {exc}"
            ) from None
        self._files[path.stem] = _SeedFile(signature, records)
        return records


@contextmanager
def _job_errors() -> Iterator[None]:
    """Raise a refused job request as the :class:`ApiError` the app answers with."""
    try:
        yield
    except JobError as exc:
        raise ApiError(exc.status, exc.error_code, exc.message) from None


def _with_full_name(record: dict[str, Any]) -> dict[str, Any]:
    """Salesforce derives ``Name`` of people from ``FirstName`` and ``LastName``; seeds may omit it."""
    if "Name" in record or not ("FirstName" in record or "LastName" in record):
        return record
    parts = (record.get("FirstName"), record.get("LastName"))
    return {**record, "Name": " ".join(str(p) for p in parts if p)}


def _signature(path: Path) -> tuple[int, int, int]:
    stat = path.stat()
    return (stat.st_mtime_ns, stat.st_size, stat.st_ino)
