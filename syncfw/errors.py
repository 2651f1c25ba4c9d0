"""The exceptions syncfw raises, grouped by what a caller should do about them.

::

    SyncfwError                      base; ``exit_code`` is the CLI exit code it maps to
    ├── ConfigError (2)              recipe, mapping or command-line mistake; nothing was read or written
    ├── SourceError (1)              a source connector failed
    │   ├── SourceAuthError          credentials refused or session expired: fix the credentials
    │   ├── SourceLimitExceeded      the source's own quota is spent (e.g. REQUEST_LIMIT_EXCEEDED): wait [R]
    │   ├── SourceUnavailable        transient (5xx, connection) after retries [R]
    │   └── KeyScanUnsupported       the connector cannot list the keys that exist (no reconciliation)
    ├── NotionError (1)              the Notion API failed in a way retries did not fix
    │   ├── NotionRejected           400: Notion refused one write as invalid [S]
    │   ├── NotionAuthError          401: token invalid or revoked
    │   ├── NotionNotFound           404: not found, or not shared with the integration
    │   ├── AmbiguousWrite           a write may or may not have been committed [A]
    │   └── IncompleteRead           a query stayed capped at Notion's 10,000 results
    ├── GuardStop (4)                schema preflight, mass-change guard: stopped before writing
    ├── StateError (1)               the state store could not be read or written (always fatal)
    ├── LockHeld (75)                another run of the recipe holds its lock [R]
    ├── UnsafeBudgetDirectory (1)    the shared rate-budget directory could be tampered with
    ├── DashboardUnavailable (1)     the health dashboard databases cannot be found
    └── AlertNotDelivered (1)        apprise could not deliver a notification [R]

    PluginWarning (a UserWarning)    a plugin could not be loaded or registered something invalid

Recovery is a type, so that callers test it with ``isinstance`` instead of listing classes:
``[R]`` :class:`Retriable` (the same thing later may succeed: wait, then run again),
``[S]`` :class:`Skippable` (it concerns one record: report it and go on with the rest),
``[A]`` :class:`Ambiguous` (the outcome is unknown: look it up before sending anything again).
Every other error is fatal for the run.

A record that cannot be mapped is not an exception that stops a run: it becomes a
:class:`RecordProblem` in the run report and the run exits 3.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


class SyncfwError(Exception):
    """Base class. ``str(error)`` is a complete, secret-free message for the user."""

    exit_code = 1


class Retriable(SyncfwError):
    """Recovery: the same call or run may succeed later (after a wait, or once the source is back)."""


class Skippable(SyncfwError):
    """Recovery: the failure concerns one record; report it and go on with the others."""


class Ambiguous(SyncfwError):
    """Recovery: a write may or may not have taken effect; look it up before sending it again
    (Notion has no idempotency keys)."""


@dataclass(frozen=True)
class Problem:
    """One configuration mistake at a position in a file (line and column are 1-based)."""

    file: str
    line: int
    column: int
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.column}"
        return f"{where} {self.path}: {self.message}" if self.path else f"{where} {self.message}"


class ConfigError(SyncfwError):
    """A recipe, mapping or option is wrong. Carries every problem found, not just the first."""

    exit_code = 2

    def __init__(self, problems: list[Problem] | str) -> None:
        if isinstance(problems, str):
            self.problems: list[Problem] = []
            super().__init__(problems)
        else:
            self.problems = list(problems)
            super().__init__("\n".join(str(p) for p in self.problems))


class SourceError(SyncfwError):
    """A source connector failed; the message names the source and what to try."""


class SourceAuthError(SourceError):
    """The source refused the credentials, or the session expired."""


class SourceLimitExceeded(SourceError, Retriable):
    """The source's own request allowance is spent (for example Salesforce's daily API requests)."""


class SourceUnavailable(SourceError, Retriable):
    """The source kept failing with transient errors after retries."""


class KeyScanUnsupported(SourceError):
    """The connector has no key scan (:meth:`syncfw.connector.Connector.scan_keys`), so records
    deleted without a tombstone cannot be reconciled for its streams."""


class NotionError(SyncfwError):
    """The Notion API failed in a way that retries did not fix."""


class NotionRejected(NotionError, Skippable):
    """Notion refused one write as invalid (400 ``validation_error``): the record is reported, the run goes on."""


class NotionAuthError(NotionError):
    """Notion answered 401: the integration token is invalid or revoked."""


class NotionNotFound(NotionError):
    """Notion answered 404: the object does not exist or is not shared with the integration."""


class AmbiguousWrite(NotionError, Ambiguous):
    """A create may or may not have been committed (timeout, reset, 5xx after sending)."""


class IncompleteRead(NotionError):
    """A data source query stayed capped although syncfw narrowed it as far as Notion allows.

    Notion answers at most 10,000 results per query; :meth:`syncfw.notion.client.NotionClient.query_pages`
    reads on in ``created_time`` windows, which cannot be narrowed below one ``created_time`` value
    (Notion gives page times to the minute). More pages than the cap sharing one minute cannot all
    be read.
    """


class GuardStop(SyncfwError):
    """A guard stopped the run before any write (schema preflight, mass change)."""

    exit_code = 4


class StateError(SyncfwError):
    """The state store failed. Always fatal: syncfw never writes to Notion what it cannot record."""


class LockHeld(Retriable):
    """Another run of the same recipe holds the run lock."""

    exit_code = 75


class UnsafeBudgetDirectory(SyncfwError):
    """The rate-budget directory, or a file in it, could be written or redirected by another
    local user (exit 1). ``problem`` says what is wrong; the message also says what to do."""

    def __init__(self, path: Path, problem: str) -> None:
        self.problem = problem
        super().__init__(
            f"the rate-budget directory {path} is not safe to write in: {problem}. Point SYNCFW_BUDGET_DIR "
            "at a directory that belongs to this user and that only it can write (mode 0700)"
        )


class BudgetUnavailable(SyncfwError):
    """The server of a shared rate budget cannot be reached or used (exit 1): the run fails
    before its next request and records why. ``str()`` names the server without its password."""

    def __init__(self, shown: str, reason: str) -> None:
        super().__init__(
            f"the rate budget server {shown} cannot be used: {reason}. Check SYNCFW_BUDGET_URL and "
            "that the server is running"
        )


class DashboardUnavailable(SyncfwError):
    """The dashboard databases cannot be found (not created yet, or no parent page is known)."""


class AlertNotDelivered(Retriable):
    """apprise could not deliver a notification; its state is kept to try again on the next run."""


class PluginWarning(UserWarning):
    """A plugin could not be loaded or registered something invalid."""


@dataclass(frozen=True)
class RecordProblem:
    """A record that could not be synced: where it came from and why. Reported, never fatal."""

    source: str
    stream: str
    key: str
    property: str | None
    reason: str

    def __str__(self) -> str:
        prop = f" property {self.property!r}" if self.property else ""
        return f"{self.source}/{self.stream} key {self.key}{prop}: {self.reason}"
