"""Bulk API 2.0 query jobs of the emulated org: create, poll, page results by locator, abort, delete.

What Salesforce documents and the emulator does (Bulk API 2.0 and Bulk API Developer Guide,
https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/):

* "Create a Query Job" (``POST /jobs/query``, ``operation`` ``query`` or ``queryAll``): the
  answer is the job, ``state: UploadComplete``. "Understanding Bulk API 2.0 Query": no
  aggregate functions such as ``COUNT()``, no ``OFFSET``/``GROUP BY``/``TYPEOF``, no compound
  address fields; the emulator refuses those with 400 ``FUNCTIONALITY_NOT_ENABLED`` (Bulk API
  1.0's code for compound data). A query Salesforce rejects (unknown field or sObject) is
  refused at creation with the REST API's codes (``INVALID_FIELD``, ``INVALID_TYPE``).
* "Get Information About a Query Job": ``InProgress`` while the query runs, then ``JobComplete``,
  or ``Failed`` with ``errorMessage``, or ``Aborted``. How long a job runs is not documented;
  :data:`DEFAULT_PROCESSING_TIME` on the org's clock, so a client must poll.
* "Get Results for a Query Job" (``GET /jobs/query/<id>/results?locator=&maxRecords=``): only
  for ``JobComplete`` jobs; CSV with a header row of the selected field paths, every value in
  double quotes, null as an empty unquoted value, booleans ``true``/``false``, datetimes
  ``2026-05-01T07:25:37.000Z``; ``Sforce-NumberOfRecords`` and ``Sforce-Locator`` headers, the
  locator ``null`` on the last set. A locator stays valid, and gives the same set, as long as the
  job exists. Results come from the API version that created the job, else 409.
* "Abort a Query Job" (``PATCH {"state": "Aborted"}``) and "Delete a Query Job" (``DELETE``,
  204; only a job in a terminal state).
* "Bulk API 2.0 Limits and Allocations": 10,000 query jobs per rolling 24 hours
  (``DailyBulkV2QueryJobs``); jobs in a terminal state older than 7 days are deleted (results
  lifespan). Past the daily limit the emulator answers 403 ``REQUEST_LIMIT_EXCEEDED`` naming
  ``DailyBulkV2QueryJobs``.

Not thread-safe: :class:`~syncfw_salesforce.emulator.org.SalesforceOrg` calls it under its lock.
"""

from __future__ import annotations

import base64
import secrets
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from syncfw_salesforce.datetimes import parse_datetime
from syncfw_salesforce.emulator.schema import FieldType

QUERY_JOBS_PER_DAY = 10_000
"""Query jobs an org may create in a rolling 24 hours (``DailyBulkV2QueryJobs``)."""
RESULTS_LIFESPAN = timedelta(days=7)
"""How long a job in a terminal state, and its results, is kept ("results lifespan")."""
DEFAULT_PROCESSING_TIME = timedelta(seconds=1)
"""How long a job stays ``InProgress`` on the org's clock (undocumented; enough that clients poll)."""
DEFAULT_MAX_RECORDS = 100_000
"""Records in a set of results when ``maxRecords`` is not given (Salesforce: "as many as can be
listed", bounded by size; the emulator's fixed bound)."""
TERMINAL_STATES = frozenset({"JobComplete", "Failed", "Aborted"})
_DELIMITERS = {"COMMA": ",", "TAB": "\t", "PIPE": "|", "SEMICOLON": ";", "CARET": "^", "BACKQUOTE": "`"}
_LINE_ENDINGS = {"LF": "\n", "CRLF": "\r\n"}
_DAY = timedelta(days=1).total_seconds()

Operation = Literal["query", "queryAll"]
Columns = list[tuple[str, FieldType | None]]
Runner = Callable[[str, bool], tuple[str, list[dict[str, Any]], Columns]]
"""Runs a job's SOQL (``include_deleted`` for ``queryAll``): ``(sObject, rows, columns)``."""
FIRST_VERSION = 47.0
"""Query jobs exist from API version 47.0 ("Understanding Bulk API 2.0 Query": Availability)."""


class JobError(Exception):
    """A refused job request: HTTP status, Salesforce error code and message."""

    def __init__(self, status: int, error_code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.error_code = error_code
        self.message = message


@dataclass
class QueryJob:
    """One query job: what it selected and where it is.

    Attributes:
        rows: the records the query selected, in REST shape.
        columns: the selected field paths and their types, in SELECT order (the CSV header).
        fails_with: the ``errorMessage`` the job fails with when its processing ends, if any.
    """

    id: str
    operation: Operation
    sobject: str
    soql: str
    version: str
    created: float
    rows: list[dict[str, Any]]
    columns: Columns
    delimiter: str
    line_ending: str
    fails_with: str | None = None
    aborted_at: float | None = None
    done_at: float = 0.0

    def state(self, now: float) -> str:
        """``InProgress`` until processed, then ``JobComplete`` or ``Failed``; ``Aborted`` once
        aborted. (The answer to the job's creation says ``UploadComplete``.)"""
        if self.aborted_at is not None:
            return "Aborted"
        if now >= self.done_at:
            return "Failed" if self.fails_with else "JobComplete"
        return "InProgress"

    def ended(self, now: float) -> float | None:
        """When the job reached a terminal state (org clock), or None while it runs."""
        if self.aborted_at is not None:
            return self.aborted_at
        return self.done_at if now >= self.done_at else None

    def info(self, now: float, *, created: bool = False) -> dict[str, Any]:
        """The JobInfo body of "Get Information About a Query Job" (of "Create a Query Job"
        when ``created``)."""
        state = "UploadComplete" if created else self.state(now)
        stamp = _stamp(self.created)
        body: dict[str, Any] = {
            "id": self.id,
            "operation": self.operation,
            "object": self.sobject,
            "createdById": "005000000000001AAA",
            "createdDate": stamp,
            "systemModstamp": stamp,
            "state": state,
            "concurrencyMode": "Parallel",
            "contentType": "CSV",
            "apiVersion": float(self.version),
            "jobType": "V2Query",
            "lineEnding": next(k for k, v in _LINE_ENDINGS.items() if v == self.line_ending),
            "columnDelimiter": next(k for k, v in _DELIMITERS.items() if v == self.delimiter),
        }
        if state != "UploadComplete":
            body["numberRecordsProcessed"] = len(self.rows) if state == "JobComplete" else 0
            body["retries"] = 0
            body["totalProcessingTime"] = int((min(now, self.done_at) - self.created) * 1000)
        if state == "Failed":
            body["errorMessage"] = self.fails_with
        return body

    def results(self, start: int, max_records: int) -> tuple[str, str, int]:
        """The set of results from row ``start``: ``(csv text, next locator or "null", records
        in the set)``."""
        chunk = self.rows[start : start + max_records]
        lines = [self.delimiter.join(_quoted(name) for name, _ in self.columns)]
        for row in chunk:
            lines.append(self.delimiter.join(_csv_value(_at(row, name), kind) for name, kind in self.columns))
        following = start + len(chunk)
        next_locator = _locator_for(following) if following < len(self.rows) else "null"
        return self.line_ending.join(lines) + self.line_ending, next_locator, len(chunk)


class QueryJobs:
    """The org's query jobs, and the daily count of jobs created.

    Args:
        processing_time: how long a job runs before ``JobComplete`` (org clock).
        jobs_per_day: the rolling 24-hour allowance of query jobs (10,000).
        lifespan: how long a job in a terminal state is kept (7 days).
    """

    def __init__(
        self,
        processing_time: timedelta = DEFAULT_PROCESSING_TIME,
        jobs_per_day: int = QUERY_JOBS_PER_DAY,
        lifespan: timedelta = RESULTS_LIFESPAN,
    ) -> None:
        self.processing_time = processing_time
        self.jobs_per_day = jobs_per_day
        self.lifespan = lifespan
        self._jobs: dict[str, QueryJob] = {}
        self._created: list[float] = []
        self._failures: list[str] = []

    def fail_next(self, message: str) -> None:
        """Make the next job created end ``Failed`` with ``errorMessage`` ``message``."""
        self._failures.append(message)

    def remaining(self, now: float) -> int:
        """Query jobs left in the rolling 24 hours."""
        self._created = [at for at in self._created if now - at < _DAY]
        return max(self.jobs_per_day - len(self._created), 0)

    def create(self, body: Mapping[str, Any], run: Runner, now: float, version: str) -> QueryJob:
        """Create a job from a "Create a Query Job" body; ``run`` runs the SOQL or raises
        :class:`JobError`.

        Raises:
            JobError: 404 before API version 47.0; 400 for a malformed body or a query Bulk API
                2.0 does not take; 403 past the daily limit of query jobs.
        """
        if float(version) < FIRST_VERSION:
            raise JobError(404, "NOT_FOUND", "The requested resource does not exist")
        operation = body.get("operation")
        soql = body.get("query")
        if operation not in ("query", "queryAll") or not isinstance(soql, str) or not soql.strip():
            raise JobError(
                400,
                "INVALIDJOB",
                "A query job needs 'operation' (query or queryAll) and a non-empty 'query'",
            )
        if body.get("contentType", "CSV") != "CSV":
            raise JobError(400, "INVALIDJOB", "Bulk API 2.0 query jobs support contentType CSV only")
        delimiter = _DELIMITERS.get(str(body.get("columnDelimiter", "COMMA")))
        line_ending = _LINE_ENDINGS.get(str(body.get("lineEnding", "LF")))
        if delimiter is None or line_ending is None:
            raise JobError(400, "INVALIDJOB", "unknown columnDelimiter or lineEnding")
        if self.remaining(now) <= 0:
            raise JobError(
                403,
                "REQUEST_LIMIT_EXCEEDED",
                f"Exceeded max number of query jobs per 24 hours ({self.jobs_per_day}, DailyBulkV2QueryJobs)",
            )
        sobject, rows, columns = run(soql, operation == "queryAll")
        job = QueryJob(
            id=_job_id(),
            operation=operation,
            sobject=sobject,
            soql=soql,
            version=version,
            created=now,
            rows=rows,
            columns=columns,
            delimiter=delimiter,
            line_ending=line_ending,
            fails_with=self._failures.pop(0) if self._failures else None,
            done_at=now + self.processing_time.total_seconds(),
        )
        self._created.append(now)
        self._jobs[job.id] = job
        return job

    def get(self, job_id: str, now: float, version: str | None = None) -> QueryJob:
        """The job ``job_id``, after deleting jobs past their lifespan.

        Raises:
            JobError: 404 ``NOT_FOUND`` for an unknown, deleted or expired job; 409 when
                ``version`` is not the API version that created it.
        """
        for stale in [
            key
            for key, job in self._jobs.items()
            if (ended := job.ended(now)) is not None and now - ended >= self.lifespan.total_seconds()
        ]:
            del self._jobs[stale]
        job = self._jobs.get(job_id)
        if job is None:
            raise JobError(404, "NOT_FOUND", "The requested resource does not exist")
        if version is not None and version != job.version:
            raise JobError(
                409, "INVALIDJOBSTATE", f"Get the results with the API version of the job ({job.version})"
            )
        return job

    def poll(self, job_id: str, now: float) -> dict[str, Any]:
        """ "Get Information About a Query Job"."""
        return self.get(job_id, now).info(now)

    def results(
        self, job_id: str, locator: str | None, max_records: int | None, now: float, version: str
    ) -> tuple[str, str, int]:
        """ "Get Results for a Query Job": ``(csv, Sforce-Locator, Sforce-NumberOfRecords)``.

        Raises:
            JobError: 404 for an unknown job; 409 for another API version; 400 for a job not
                ``JobComplete``, a bad locator or a ``maxRecords`` below 1.
        """
        job = self.get(job_id, now, version)
        state = job.state(now)
        if state != "JobComplete":
            raise JobError(400, "INVALIDJOBSTATE", f"Job {job_id} is {state}, not JobComplete")
        if max_records is not None and max_records < 1:
            raise JobError(400, "INVALIDPARAMETER", "maxRecords must be a positive whole number")
        offset = _offset(locator) if locator is not None else 0
        if offset is None or offset > len(job.rows):
            raise JobError(400, "INVALIDLOCATOR", f"Invalid locator: {locator}")
        return job.results(offset, max_records or DEFAULT_MAX_RECORDS)

    def abort(self, job_id: str, body: Mapping[str, Any], now: float) -> dict[str, Any]:
        """ "Abort a Query Job" (``{"state": "Aborted"}``) of a job still running.

        Raises:
            JobError: 404 for an unknown job; 400 for another state or a job already ended.
        """
        job = self.get(job_id, now)
        if body.get("state") != "Aborted":
            raise JobError(400, "INVALIDJOBSTATE", "A query job can only be set to state Aborted")
        if job.state(now) in TERMINAL_STATES:
            raise JobError(400, "INVALIDJOBSTATE", f"Job {job_id} is {job.state(now)}: it cannot be aborted")
        job.aborted_at = now
        return job.info(now)

    def delete(self, job_id: str, now: float) -> None:
        """ "Delete a Query Job" in a terminal state.

        Raises:
            JobError: 404 for an unknown job; 400 for a job still running.
        """
        job = self.get(job_id, now)
        if job.state(now) not in TERMINAL_STATES:
            raise JobError(400, "INVALIDJOBSTATE", f"Job {job_id} is {job.state(now)}: abort it first")
        del self._jobs[job_id]


def _job_id() -> str:
    alphabet = string.ascii_letters + string.digits
    return "750" + "".join(secrets.choice(alphabet) for _ in range(15))


def _locator_for(offset: int) -> str:
    return base64.b64encode(str(offset).encode()).decode().rstrip("=")


def _offset(locator: str) -> int | None:
    try:
        text = base64.b64decode(locator + "=" * (-len(locator) % 4), validate=True).decode()
    except ValueError:
        return None
    return int(text) if text.isdigit() else None


def _stamp(at: float) -> str:
    moment = datetime.fromtimestamp(at, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


def _at(row: Mapping[str, Any], path: str) -> Any:
    value: Any = row
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def _quoted(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def _csv_value(value: Any, kind: FieldType | None) -> str:
    """A value as Bulk API 2.0 writes it: null empty and unquoted, the rest quoted."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return _quoted("true" if value else "false")
    if kind == "datetime" and isinstance(value, str):
        utc = parse_datetime(value).astimezone(UTC)
        return _quoted(utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z")
    return _quoted(str(value))


def check_bulk_query(count: bool, offset: int | None, columns: Columns) -> None:
    """Refuse what "Understanding Bulk API 2.0 Query" lists as unsupported.

    Raises:
        JobError: 400 ``FUNCTIONALITY_NOT_ENABLED`` for ``COUNT()``, ``OFFSET`` or a compound
            address field.
    """
    if count:
        raise JobError(
            400,
            "FUNCTIONALITY_NOT_ENABLED",
            "Aggregate functions such as COUNT() are not supported in Bulk Query",
        )
    if offset is not None:
        raise JobError(400, "FUNCTIONALITY_NOT_ENABLED", "OFFSET is not supported in Bulk Query")
    compound = [name for name, kind in columns if kind == "address"]
    if compound:
        raise JobError(
            400,
            "FUNCTIONALITY_NOT_ENABLED",
            f"Selecting compound data not supported in Bulk Query: {', '.join(compound)}",
        )
