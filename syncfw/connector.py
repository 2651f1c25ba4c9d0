"""The contract between the engine and a source connector.

A connector is a class registered through the ``register_connectors`` hook. The engine builds it
from the ``config`` block of a recipe source (validated by :attr:`Connector.config_model`), calls
:meth:`Connector.check` before a run, and pulls records with :meth:`Connector.read`.

``read`` yields :class:`Record` objects and, from time to time, a :class:`Checkpoint`. A
checkpoint means: every record yielded before it has been delivered, and a later
``read(stream, checkpoint.cursor, ...)`` resumes right after them. The engine persists a checkpoint
only once every record before it is committed to Notion and the state store, so a connector must
never yield a checkpoint ahead of records it has not yet yielded. A read that reaches the end of
the stream always ends with a checkpoint, even when it yielded no record.

Sources do not always make a change visible in cursor order: Salesforce can commit a row stamped
before one already read, and HubSpot's search index lags writes by seconds. A connector whose
source does this reads each increment from a *look-back* window before its cursor (its own
config, with a default taken from the source's documentation); records delivered again cost no
Notion write, because the engine's three-way diff finds nothing to change.

Deletes that leave no tombstone (a purged Recycle Bin, a hard delete, an archive past its
retention) never reach :meth:`Connector.read`. :meth:`Connector.scan_keys` lists the keys that
exist at the source; the engine's reconciliation (``reconcile_every:`` per target, or
``syncfw run --reconcile``) handles the pages whose key is not listed as the target's
``on_delete`` says.

A connector retries transient failures itself (connection errors, timeouts, 5xx answers) before
raising :class:`~syncfw.errors.SourceUnavailable`: :func:`is_transient` and :func:`retrying` are
that policy, shared by the built-in connectors and offered to third parties. A connector that
reads local files opens them with :func:`open_regular` (never a FIFO or a device).
"""

from __future__ import annotations

import difflib
import ipaddress
import logging
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, SecretStr
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt, wait_exponential
from tenacity.stop import stop_base
from tenacity.wait import wait_base

from syncfw.errors import KeyScanUnsupported
from syncfw.regular_files import open_regular as open_regular

if TYPE_CHECKING:
    from syncfw.emulation import TLSFiles

Maturity = Literal["stable", "beta", "alpha"]


def _header_safe(secret: SecretStr) -> SecretStr:
    for index, char in enumerate(secret.get_secret_value(), start=1):
        if not char.isascii():
            raise ValueError(f"character {index} is not ASCII, which an HTTP header cannot carry")
    return secret


HeaderSecret = Annotated[SecretStr, AfterValidator(_header_safe)]
"""A credential the connector sends in an HTTP header (a bearer token, a session id, an API token
in basic authentication). A character outside ASCII (a typographic quote pasted with the token)
is refused when the config is validated, naming its position, never the character: header field
values are ASCII (RFC 9110, section 5.5: other octets are "opaque data"), and requests and
urllib3 fail with ``UnicodeEncodeError`` while sending one (they encode headers as Latin-1)."""


@dataclass(frozen=True)
class StreamSpec:
    """A stream a connector can read.

    Attributes:
        name: the stream name used in mappings (a Salesforce sObject such as ``Account``).
        primary_key: the field holding each record's unique, non-null key (``Id``).
        cursor_field: the field incremental reads order by (``SystemModstamp``), or None for
            streams that are always read in full.
        fields: the fields the source declares for the stream (may be empty when unknown).
        personal_fields: the fields that hold personal data (names, emails, phones, addresses),
            as field paths or ``fnmatch`` patterns (``Mailing*``); a path also covers what is
            nested under it (``Owner`` covers ``Owner.Name``). ``syncfw audit`` flags the Notion
            properties they feed, and ``personal_data: forbid`` on a target refuses them.
    """

    name: str
    primary_key: str
    cursor_field: str | None
    fields: tuple[str, ...] = field(default=())
    personal_fields: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class Record:
    """One source record.

    Attributes:
        stream: the stream it was read from.
        key: the value of the stream's primary key, as a string.
        data: the record in the source API's own shape (nested objects for relationship fields,
            e.g. ``{"Owner": {"Name": "Ada"}}``).
        deleted: True when the source reports the record as deleted (Salesforce ``IsDeleted``).
    """

    stream: str
    key: str
    data: Mapping[str, Any]
    deleted: bool = False


@dataclass(frozen=True)
class Checkpoint:
    """A resumable position in a stream. ``cursor`` is opaque to the engine."""

    stream: str
    cursor: str


@dataclass(frozen=True)
class UnknownNames:
    """What :meth:`Connector.unknown_names` found: the names a mapping reads that the source lacks.

    Attributes:
        stream: why the stream does not exist (``"Salesforce has no sObject 'Acount' (did you
            mean 'Account'?)"``), or None when it exists.
        fields: field path → why the source has no such field, for each field path that is wrong.
    """

    stream: str | None = None
    fields: Mapping[str, str] = field(default_factory=dict)


def did_you_mean(name: str, choices: Sequence[str]) -> str:
    """``" (did you mean 'X'?)"`` with the choice closest to ``name`` (case aside), or ``""``."""
    folded = {choice.casefold(): choice for choice in choices}
    close = difflib.get_close_matches(name.casefold(), list(folded), n=1)
    return f" (did you mean {folded[close[0]]!r}?)" if close else ""


class Connector(ABC):
    """Base class of every source connector.

    Subclasses set :attr:`name` (the value recipes put in ``connector:``), :attr:`config_model`
    (a pydantic model of the ``config`` block; secrets as ``SecretStr``; its docstring's
    ``Attributes:`` section describes each option for ``syncfw connector spec`` and ``syncfw
    schema``), :attr:`streams` (what mappings may name), :attr:`maturity` (a
    production recipe refuses an ``alpha`` connector) and :attr:`personal_data`: stream name →
    the fields holding personal data (as in :attr:`StreamSpec.personal_fields`), read by
    ``syncfw audit`` and recipe loading without calling the source.
    """

    name: ClassVar[str]
    config_model: ClassVar[type[BaseModel]]
    streams: ClassVar[dict[str, str]] = {}
    """The streams a mapping can name (``stream:``), each with one line saying what it reads, as
    ``syncfw connector spec`` shows them; the key ``"*"`` says which other names the source
    answers to (any sObject, any CRM object type). :meth:`stream` is the authority at run time."""
    maturity: ClassVar[Maturity] = "beta"
    personal_data: ClassVar[dict[str, tuple[str, ...]]] = {}

    def __init__(self, config: BaseModel) -> None:
        self.config = config

    @abstractmethod
    def check(self) -> None:
        """Verify that the source answers and accepts the credentials.

        Raises:
            syncfw.errors.SourceAuthError: credentials refused.
            syncfw.errors.SourceError: any other failure, with a message saying what to try.
        """

    @abstractmethod
    def stream(self, name: str) -> StreamSpec:
        """Describe one stream (may call the source, e.g. Salesforce ``describe``).

        Raises:
            syncfw.errors.SourceError: the stream does not exist at the source.
        """

    @abstractmethod
    def read(self, stream: str, cursor: str | None, fields: Sequence[str]) -> Iterator[Record | Checkpoint]:
        """Yield records changed after ``cursor`` (all records when None), then a checkpoint.

        Args:
            stream: a stream name.
            cursor: a cursor from an earlier :class:`Checkpoint`, or None for a full read.
            fields: the field paths the mappings need (dotted for nested fields, e.g.
                ``Owner.Name``); the primary key and cursor field are always read.
        """

    def unknown_names(self, stream: str, fields: Sequence[str]) -> UnknownNames:
        """The names among ``stream`` and ``fields`` (the field paths a mapping reads, dotted for
        nested fields) that the source does not have, found with the source's own description of
        itself (Salesforce ``describe``, a file's header, an API's discover or schema endpoint).

        ``syncfw validate --online`` and every ``plan`` and ``run`` (before anything is read) call
        it and report each name at its place in the mapping file, with exit code 2. A field path
        the source could still hold (a nested value of a JSON field) is not unknown. The default
        checks nothing (``UnknownNames()``): a connector whose source can describe itself should
        override it.

        Raises:
            syncfw.errors.SourceError: the source could not be asked.
        """
        return UnknownNames()

    def schema_fingerprint(self, stream: str) -> str | None:
        """A short text that changes whenever the answer of :meth:`unknown_names` for ``stream``
        may change, found without calling the source's API (a file's size and SHA-256 digest);
        None (the default) when only asking the source can tell.

        ``plan`` and ``run`` remember a names check that found nothing wrong
        (:class:`syncfw.engine.sources.Sources`): they ask again when the mapping, the source's
        config or this fingerprint changed, when a read of the source failed, and, for a
        connector answering None, a day after the last check.

        Raises:
            syncfw.errors.SourceError: what the fingerprint is taken from cannot be read.
        """
        return None

    def scan_keys(self, stream: str) -> Iterator[str]:
        """Yield the primary key of every record of ``stream`` that exists at the source now.

        Used by reconciliation to find records deleted without a tombstone. The scan must be
        complete: records the source reports as deleted are left out, every other record is
        listed once, keys as strings exactly as :attr:`Record.key` holds them. Read only the key
        (e.g. ``SELECT Id FROM Account``), in the largest pages the API allows.

        Raises:
            KeyScanUnsupported: the connector has no key scan (the default).
            SourceError: the scan failed; the engine then reconciles nothing (a partial scan
                must never be taken for a list of survivors).
        """
        raise KeyScanUnsupported(f"the {self.name} connector cannot list the keys of {stream!r}")

    def close(self) -> None:  # noqa: B027 - optional hook, nothing to release by default
        """Release connections. Called once when the run ends."""


class SourceEmulator(ABC):
    """A local emulator of a connector's source API, started by ``syncfw sandbox serve``.

    Shipped by a connector through the ``register_emulators`` hook. ``start`` serves the API on
    127.0.0.1 (build it from :mod:`syncfw.emulation`) and returns the environment variables a
    recipe needs to reach it (URLs, tokens).
    """

    name: ClassVar[str]
    seed_data: ClassVar[Path | None] = None
    """The directory of sample records the sandbox seeds the emulator with when it is given no
    ``--data DIR`` (the same layout as ``DIR/<connector name>/``, e.g. ``Account.json`` in the
    source API's own JSON shape); None: the emulator starts empty. Ship it as package data of the
    connector's distribution, e.g. ``Path(__file__).parent / "seed"``."""

    @abstractmethod
    def start(self, context: EmulatorContext) -> dict[str, str]:
        """Start serving; return environment variables for the sandbox env file."""

    @abstractmethod
    def stop(self) -> None:
        """Stop serving and release the port."""


@dataclass(frozen=True)
class EmulatorContext:
    """What the sandbox gives an emulator when it starts.

    Attributes:
        data_dir: ``DIR/<connector name>`` holding seed files (the emulator's own
            :attr:`SourceEmulator.seed_data` when the sandbox is given no ``DIR``), or None for no
            seed data.
        state_dir: a directory the emulator may persist into.
        tls: certificate files for serving HTTPS (see :class:`syncfw.emulation.TLSFiles`).
        options: free-form sandbox options (for example ``{"bulk": "2000"}``).
    """

    data_dir: Path | None
    state_dir: Path
    tls: TLSFiles
    options: Mapping[str, str] = field(default_factory=dict)


RETRY_ATTEMPTS = 4
"""Tries of one source call in all (the first and three retries) before it is given up."""
RETRY_WAIT: wait_base = wait_exponential(multiplier=1, min=1, max=30)
"""The wait between tries: 1 s, 2 s, 4 s, ... at most 30 s."""


def _status(exc: BaseException) -> int | None:
    """The HTTP status of a failed call where the common client libraries keep it: ``status``
    (simple-salesforce, hubspot-api-client), ``response.status_code`` (requests, zenpy)."""
    status = getattr(exc, "status", None)
    if status is None:
        status = getattr(getattr(exc, "response", None), "status_code", None)
    return status if isinstance(status, int) else None


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and every exception it wraps: causes, contexts, urllib3's ``reason`` and the
    exceptions requests passes as arguments (``ConnectionError(MaxRetryError(...))``)."""
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        wrapped = [current.__cause__, current.__context__, getattr(current, "reason", None), *current.args]
        todo.extend(e for e in wrapped if isinstance(e, BaseException))


def wraps(exc: BaseException, kinds: type[BaseException] | tuple[type[BaseException], ...]) -> bool:
    """True when ``exc`` is, or wraps at any depth, an exception of ``kinds`` (an ``OSError``
    under a client library's connection error, an ``ssl.SSLCertVerificationError`` under
    httpx's ``ConnectError``)."""
    return any(isinstance(e, kinds) for e in _chain(exc))


def _host_port(exc: BaseException) -> tuple[str, int | None] | None:
    """Where a failed connection went, as the client libraries record it: the request's URL
    (requests, httpx), urllib3's pool or connection."""
    for holder in ("conn", "pool"):
        where = getattr(exc, holder, None)
        if isinstance(getattr(where, "host", None), str):
            return where.host, getattr(where, "port", None)  # type: ignore[union-attr]
    try:
        request = getattr(exc, "request", None)  # httpx raises RuntimeError when it has none
    except RuntimeError:
        return None
    url = getattr(request, "url", None)
    if url is None:
        return None
    parts = urlsplit(str(url))
    return (parts.hostname, parts.port) if parts.hostname else None


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def refused_on_loopback(exc: BaseException) -> str | None:
    """A message when ``exc`` is a connection refused by this machine (127.0.0.0/8, ``::1``,
    ``localhost``), else None.

    Nothing listens on that port: a local emulator (``syncfw sandbox serve``) that is not
    running, or an env file of an earlier sandbox whose ports have changed. Retrying does not
    make it listen, so :func:`is_transient` says False and the call fails at once with this
    message. A refused connection to another host is left to the retries (a load balancer or a
    service restarting can refuse for seconds).
    """
    if not wraps(exc, ConnectionRefusedError):  # what Python raises for ECONNREFUSED
        return None
    for e in _chain(exc):
        where = _host_port(e)
        if where is not None and _loopback(where[0]):
            host, port = where
            address = f"{host}:{port}" if port else host
            return (
                f"nothing listens at {address} (connection refused): is `syncfw sandbox serve` running, "
                "and is the env file the one it wrote?"
            )
    return None


def is_transient(
    exc: BaseException,
    *,
    connection_errors: tuple[type[BaseException], ...],
    tls_errors: tuple[type[BaseException], ...] = (),
) -> bool:
    """True for a failure worth retrying after a backoff: a connection error or timeout of the
    source's client library, or an answer with a 5xx status. A connection refused on this machine
    is not (see :func:`refused_on_loopback`).

    Args:
        exc: what the client library raised.
        connection_errors: the library's connection and timeout errors
            (``(requests.ConnectionError, requests.Timeout)``).
        tls_errors: its TLS failures, never transient even when they are connection errors: a
            certificate that is not trusted does not heal by retrying (``(requests.exceptions.SSLError,)``).
    """
    if isinstance(exc, tls_errors) or refused_on_loopback(exc) is not None:
        return False
    if isinstance(exc, connection_errors):
        return True
    status = _status(exc)
    return status is not None and status >= 500


def retrying(
    source: str,
    what: str,
    *,
    retry: Callable[[BaseException], bool],
    log: logging.Logger,
    stop: int | stop_base | Callable[[RetryCallState], bool] = RETRY_ATTEMPTS,
    wait: wait_base | Callable[[RetryCallState], float] = RETRY_WAIT,
    describe: Callable[[BaseException | None], str] | None = None,
) -> Retrying:
    """A tenacity ``Retrying`` for one source call: tries it again while ``retry(exc)`` holds,
    waiting ``wait`` between tries, and logs a warning before each wait. The last failure is
    raised as it is (``reraise``); ``retrying.statistics["attempt_number"]`` tells how many tries
    were made, for the message of the :class:`~syncfw.errors.SourceUnavailable` it becomes.

    Args:
        source: the source's name in the log line (``"Salesforce"``).
        what: the call in words (``"query of Account"``).
        retry: which failures to try again (usually a :func:`is_transient`).
        log: the connector's logger.
        stop: tries in all (:data:`RETRY_ATTEMPTS`), or a stop condition of the retry state.
        wait: the wait between tries (:data:`RETRY_WAIT`), or a function of the retry state.
        describe: the failure in a few words for the log line; None leaves it out.
    """

    def warn(state: RetryCallState) -> None:
        if describe is None:
            log.warning("%s %s failed (attempt %d), retrying", source, what, state.attempt_number)
        else:
            error = state.outcome.exception() if state.outcome else None
            log.warning(
                "%s %s failed (attempt %d: %s), retrying", source, what, state.attempt_number, describe(error)
            )

    return Retrying(
        reraise=True,
        stop=stop_after_attempt(stop) if isinstance(stop, int) else stop,
        wait=wait,
        retry=retry_if_exception(retry),
        before_sleep=warn,
    )
