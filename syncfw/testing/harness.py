"""What a connector author implements so the kit can drive a connector and its emulator."""

from __future__ import annotations

import os
import re
import shutil
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, ClassVar, Generic, TypeVar

from syncfw.connector import Connector, EmulatorContext, SourceEmulator
from syncfw.emulation import TLSFiles

E = TypeVar("E", bound=SourceEmulator)

# an ISO 8601 date-time (``2026-05-01T07:25:37.000+0000``, ``2026-05-01 07:25:37Z``): the year is
# what moves, so every other detail of the cursor's format is kept
_ISO_DATETIME = re.compile(r"(?<!\d)(\d{4})(-\d{2}-\d{2}[T ]\d{2}:\d{2})")
# a Unix time in seconds (10 digits) or milliseconds (13 digits), 2001-2286
_UNIX_TIME = re.compile(r"(?<![\d.])(\d{10}|\d{13})(?!\d)")
_YEARS_AHEAD = 8  # a multiple of 4 keeps 29 February a valid date
_SECONDS_AHEAD = 8 * 365 * 86400 + 2 * 86400


def shift_timestamps(cursor: str) -> str:
    """``cursor`` with every timestamp in it moved about eight years forward, format unchanged.

    ISO 8601 date-times get their year raised by 8 (``2026-05-01T07:25:37Z`` becomes
    ``2034-05-01T07:25:37Z``). Only when there is none, 10-digit Unix times (seconds) and
    13-digit ones (milliseconds) move forward by eight years' worth of seconds.

    Raises:
        ValueError: the cursor holds no timestamp this function recognises.
    """
    shifted, count = _ISO_DATETIME.subn(lambda m: f"{int(m[1]) + _YEARS_AHEAD:04d}{m[2]}", cursor)
    if count:
        return shifted

    def later(match: re.Match[str]) -> str:
        digits = match[1]
        ahead = _SECONDS_AHEAD * (1000 if len(digits) == 13 else 1)
        return str(int(digits) + ahead)

    shifted, count = _UNIX_TIME.subn(later, cursor)
    if count:
        return shifted
    raise ValueError(
        f"the cursor {cursor[:80]!r} holds no ISO 8601 or Unix timestamp to move forward; "
        "override ConnectorHarness.future_cursor to build a cursor past the newest record"
    )


class ConnectorHarness(ABC):
    """Starts a connector's emulator and changes its source data, for the acceptance kit.

    One harness instance is used per kit test: ``start`` → the test → ``stop``. ``stop`` runs
    even when ``start`` or the test failed, so it must cope with a half-started emulator. The
    connector is always built the way a recipe would build it
    (``connector_class(connector_class.config_model(**config()))``), a new one for every read,
    and reaches the emulator over real HTTP(S) through the source's own client library.

    Required attributes:
        connector_class: the connector under test.
        streams: the streams the kit checks (at least one; each must have seed records; seed
            more records than one page holds, so reads yield checkpoints between pages).

    Optional attributes (class variables with defaults):
        has_rate_limits: False for a source whose API has no rate-limit response a client can
            wait out; the rate-limit check is then skipped (say why in the harness docstring).
        has_credentials: False for a source that has none (a local file). ``config(
            valid_credentials=False)`` must then return a config that ``check()`` refuses (a file
            that does not exist); the kit expects a clean :class:`~syncfw.errors.SourceError` for it
            (not necessarily ``SourceAuthError``) and skips its ``SecretStr`` check.
        rate_limit_retry_after: the wait, in seconds, that ``rate_limit_next`` responses ask for
            (``Retry-After``). When above 0 the kit also checks that the connector waited that
            long for each of them instead of retrying at once. 0 skips that part.
        timeout_seconds: how long one connector call (``check``, ``stream`` or a whole ``read``)
            may take before the kit reports it as hanging.
    """

    connector_class: ClassVar[type[Connector]]
    streams: ClassVar[tuple[str, ...]]

    has_rate_limits: ClassVar[bool] = True
    has_credentials: ClassVar[bool] = True
    rate_limit_retry_after: ClassVar[float] = 0.0
    timeout_seconds: ClassVar[float] = 60.0

    @abstractmethod
    def start(self, workdir: Path) -> None:
        """Start the emulator, seeded with a few records per stream, storing files in ``workdir``.

        May set environment variables the client needs (e.g. ``REQUESTS_CA_BUNDLE``); ``stop``
        restores them.
        """

    @abstractmethod
    def stop(self) -> None:
        """Stop the emulator and undo environment changes."""

    @abstractmethod
    def config(self, *, valid_credentials: bool = True) -> dict[str, Any]:
        """The connector's ``config`` block pointing at the emulator (as a recipe would hold it,
        secrets as plain strings); with ``valid_credentials=False`` the emulator must refuse it."""

    @abstractmethod
    def fields(self, stream: str) -> list[str]:
        """Field paths a mapping would ask for on ``stream`` (besides key and cursor)."""

    @abstractmethod
    def add_record(self, stream: str) -> str:
        """Create a record at the source, newer than every existing one; return its key."""

    @abstractmethod
    def change_record(self, stream: str) -> str:
        """Change one existing record at the source (its cursor moves forward); return its key."""

    @abstractmethod
    def delete_record(self, stream: str) -> str:
        """Delete one existing record at the source the way the source reports deletes; return its key."""

    @abstractmethod
    def rate_limit_next(self, requests: int) -> None:
        """Answer the next ``requests`` API requests with the source's own rate-limit response
        (status, headers such as ``Retry-After`` with a short wait, and body)."""

    def add_late_record(self, stream: str) -> str:
        """Make a record visible now whose cursor value is older than the newest record already
        read, the way the source really lets a change appear late (Salesforce: a transaction that
        commits after a later one; HubSpot: a write the search index shows seconds later); return
        its key. The kit then checks that an incremental read from the earlier cursor delivers it
        (the connector's look-back).

        Raises:
            NotImplementedError: the source always makes changes visible in cursor order (the
                default: the look-back check is skipped; say why in the harness docstring).
        """
        raise NotImplementedError

    def hard_delete_record(self, stream: str) -> str:
        """Remove one existing record so that no read reports its deletion (a hard delete, a
        purged Recycle Bin, an archive past its retention); return its key. The kit then checks
        that :meth:`~syncfw.connector.Connector.scan_keys` no longer lists it.

        Raises:
            NotImplementedError: the source has no such delete, or the harness cannot make one
                (the default: the hard-delete check is skipped).
        """
        raise NotImplementedError

    def future_cursor(self, stream: str, cursor: str) -> str:
        """A cursor of ``stream`` later than every record the source holds or will get in the test.

        ``cursor`` is the final checkpoint of a full read. The default moves every timestamp in
        it eight years forward (see :func:`shift_timestamps`), which suits cursors built from a
        modification time (``SystemModstamp``, ``updated_at``, ``start_time``). Override it when
        cursors are opaque tokens issued by the source, e.g. by asking the emulator for a token
        past its newest change.

        Raises:
            ValueError: no future cursor can be made from ``cursor``.
        """
        return shift_timestamps(cursor)


def copy_seed_data(emulators: Iterable[type[SourceEmulator]], target: Path) -> Path:
    """Copy the seed data of every emulator that ships some (:attr:`SourceEmulator.seed_data`)
    into ``target/<emulator name>/``, the layout ``syncfw sandbox serve --data DIR`` reads, so a
    test can change source data by editing the copy; return ``target``."""
    for emulator in emulators:
        if emulator.seed_data is not None:
            shutil.copytree(emulator.seed_data, target / emulator.name)
    return target


class EmulatorHarness(ConnectorHarness, Generic[E]):
    """A harness whose source is the connector's own emulator, seeded with a writable copy of its
    seed data and served over HTTPS with a private CA in the kit's work directory.

    ``start`` copies :attr:`SourceEmulator.seed_data` to ``workdir/<emulator name>``
    (:attr:`data_dir`, which subclasses edit to change source data), starts the emulator with
    :attr:`emulator_options`, and sets the environment variables the source's client library
    reads: ``REQUESTS_CA_BUNDLE`` and ``SSL_CERT_FILE`` (the CA file, for requests and httpx, as the
    sandbox's env file sets them) and each name of :attr:`client_env` from the environment the
    emulator returned. ``stop`` stops the emulator and
    restores those variables. Override :meth:`started` to turn the emulator's knobs once it runs.

    Args:
        emulator_class: the connector's :class:`~syncfw.connector.SourceEmulator`.

    Attributes:
        emulator_options: sandbox options given to the emulator (``EmulatorContext.options``).
        client_env: variables of the emulator's environment the client library reads itself.
        env: the environment the running emulator returned (URLs, tokens), for :meth:`config`.
    """

    emulator_options: ClassVar[Mapping[str, str]] = {}
    client_env: ClassVar[tuple[str, ...]] = ()

    def __init__(self, emulator_class: type[E]) -> None:
        self._emulator_class = emulator_class
        self._emulator: E | None = None
        self._data_dir: Path | None = None
        self._saved_env: dict[str, str | None] = {}
        self.env: dict[str, str] = {}

    @property
    def emulator(self) -> E:
        """The running emulator.

        Raises:
            RuntimeError: :meth:`start` was not called, or :meth:`stop` was.
        """
        if self._emulator is None:
            raise RuntimeError(f"the {self._emulator_class.name} emulator is not running: call start() first")
        return self._emulator

    @property
    def data_dir(self) -> Path:
        """The writable copy of the seed data the emulator reads (``workdir/<emulator name>``).

        Raises:
            RuntimeError: :meth:`start` was not called.
        """
        if self._data_dir is None:
            raise RuntimeError("the harness is not started")
        return self._data_dir

    def start(self, workdir: Path) -> None:
        """Copy the seed data into ``workdir``, make a CA there, serve the emulator over HTTPS and
        set the client's environment variables."""
        copy_seed_data([self._emulator_class], workdir)
        self._data_dir = workdir / self._emulator_class.name
        tls = TLSFiles.in_dir(workdir / "tls")
        self._emulator = self._emulator_class()
        context = EmulatorContext(
            self._data_dir if self._data_dir.is_dir() else None,
            workdir / "state",
            tls,
            dict(self.emulator_options),
        )
        self.env = self._emulator.start(context)
        values = {**self.env, "REQUESTS_CA_BUNDLE": str(tls.ca_file), "SSL_CERT_FILE": str(tls.ca_file)}
        for name in ("REQUESTS_CA_BUNDLE", "SSL_CERT_FILE", *self.client_env):
            self._saved_env[name] = os.environ.get(name)
            os.environ[name] = values[name]
        self.started()

    def started(self) -> None:
        """Called once the emulator runs: turn its knobs here (nothing by default)."""

    def stop(self) -> None:
        """Stop the emulator and restore the environment variables :meth:`start` set."""
        if self._emulator is not None:
            self._emulator.stop()
            self._emulator = None
        for name, value in self._saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self._saved_env.clear()
