"""The exceptions syncfw raises, grouped by what a caller should do about them.

::

    SyncfwError                      base; ``exit_code`` is the CLI exit code it maps to
    ├── ConfigError (2)              recipe, mapping or command-line mistake; nothing was read or written
    ├── SourceError (1)              a source connector failed
    │   ├── SourceAuthError          credentials refused or session expired: fix the credentials
    │   ├── SourceLimitExceeded      the source's own quota is spent (e.g. REQUEST_LIMIT_EXCEEDED): wait
    │   ├── SourceUnavailable        transient (5xx, connection) after retries
    │   └── KeyScanUnsupported       the connector cannot list the keys that exist (no reconciliation)
    ├── NotionError (1)              the Notion API failed in a way retries did not fix
    │   ├── NotionRejected           400: Notion refused one write as invalid (skippable)
    │   ├── NotionAuthError          401: token invalid or revoked
    │   └── NotionNotFound           404: not found, or not shared with the integration
    ├── GuardStop (4)                schema preflight, mass-change guard: stopped before writing
    ├── StateError (1)               the state store could not be read or written (always fatal)
    └── LockHeld (75)                another run of the recipe holds its lock

A record that cannot be mapped is not an exception that stops a run: it becomes a
:class:`RecordProblem` in the run report and the run exits 3.
"""

from __future__ import annotations

from dataclasses import dataclass


class SyncfwError(Exception):
    """Base class. ``str(error)`` is a complete, secret-free message for the user."""

    exit_code = 1


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


class SourceLimitExceeded(SourceError):
    """The source's own request allowance is spent (for example Salesforce's daily API requests)."""


class SourceUnavailable(SourceError):
    """The source kept failing with transient errors after retries."""


class KeyScanUnsupported(SourceError):
    """The connector has no key scan (:meth:`syncfw.connector.Connector.scan_keys`), so records
    deleted without a tombstone cannot be reconciled for its streams."""


class NotionError(SyncfwError):
    """The Notion API failed in a way that retries did not fix."""


class NotionRejected(NotionError):
    """Notion refused one write as invalid (400 ``validation_error``): the record is reported, the run goes on."""


class NotionAuthError(NotionError):
    """Notion answered 401: the integration token is invalid or revoked."""


class NotionNotFound(NotionError):
    """Notion answered 404: the object does not exist or is not shared with the integration."""


class GuardStop(SyncfwError):
    """A guard stopped the run before any write (schema preflight, mass change)."""

    exit_code = 4


class StateError(SyncfwError):
    """The state store failed. Always fatal: syncfw never writes to Notion what it cannot record."""


class LockHeld(SyncfwError):
    """Another run of the same recipe holds the run lock."""

    exit_code = 75


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
