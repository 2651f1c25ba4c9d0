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
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import BaseModel

from syncfw.errors import KeyScanUnsupported

if TYPE_CHECKING:
    from syncfw.sandbox.server import TLSFiles

Maturity = Literal["stable", "beta", "alpha"]


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


class Connector(ABC):
    """Base class of every source connector.

    Subclasses set :attr:`name` (the value recipes put in ``connector:``), :attr:`config_model`
    (a pydantic model of the ``config`` block; secrets as ``SecretStr``), :attr:`maturity` (a
    production recipe refuses an ``alpha`` connector) and :attr:`personal_data`: stream name →
    the fields holding personal data (as in :attr:`StreamSpec.personal_fields`), read by
    ``syncfw audit`` and recipe loading without calling the source.
    """

    name: ClassVar[str]
    config_model: ClassVar[type[BaseModel]]
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
    127.0.0.1 and returns the environment variables a recipe needs to reach it (URLs, tokens).
    """

    name: ClassVar[str]

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
        data_dir: ``DIR/<connector name>`` holding seed files, or None for no seed data.
        state_dir: a directory the emulator may persist into.
        tls: certificate files for serving HTTPS (see :class:`syncfw.sandbox.server.TLSFiles`).
        options: free-form sandbox options (for example ``{"bulk": "2000"}``).
    """

    data_dir: Path | None
    state_dir: Path
    tls: TLSFiles
    options: Mapping[str, str] = field(default_factory=dict)
