"""What a file is, found without parsing it: its size and SHA-256 digest.

A run over a file nobody changed has nothing to read: :meth:`FilesConnector.read
<syncfw_files.connector.FilesConnector.read>` stamps its cursor with the identity of the file it
read and of the read itself (:func:`read_identity`), and the next read over the same file, with
the same config and columns, yields that cursor again without opening the file's reader, so
neither pandas nor pyarrow is imported (half a second and 140 MiB of a small run). The digest
covers the file's bytes, not its modification time: a file copied over with its old time
(``cp -p``, ``rsync -t``) is still read. This module does not import pandas.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from syncfw import SourceAuthError, SourceError
from syncfw.connector import open_regular
from syncfw_files.config import FilesConfig

_BLOCK = 1 << 20
"""Bytes read at a time while digesting."""


@dataclass(frozen=True)
class FileIdentity:
    """One version of a file.

    Attributes:
        size: bytes.
        sha256: the SHA-256 digest of its bytes, in hex.
        stat: ``(st_dev, st_ino, st_size, st_mtime_ns)`` when it was digested: a file whose stat
            differs may have changed since.
    """

    size: int
    sha256: str
    stat: tuple[int, int, int, int]

    @property
    def text(self) -> str:
        """``"<size>:<sha256>"``."""
        return f"{self.size}:{self.sha256}"


def stat_of(result: os.stat_result) -> tuple[int, int, int, int]:
    """The parts of a stat that change when a file is rewritten or replaced."""
    return (result.st_dev, result.st_ino, result.st_size, result.st_mtime_ns)


def identify(config: FilesConfig, known: FileIdentity | None = None) -> FileIdentity:
    """The identity of the configured file now; ``known`` again when its stat has not changed.

    Raises:
        SourceAuthError: the file may not be read (permission denied).
        SourceError: the file is missing, a directory, not a regular file or unreadable.
    """
    with file_errors(config), open_regular(config.path) as file:
        stat = stat_of(os.fstat(file.fileno()))
        if known is not None and known.stat == stat:
            return known
        digest = hashlib.sha256()
        for block in iter(lambda: file.read(_BLOCK), b""):
            digest.update(block)
    return FileIdentity(size=stat[2], sha256=digest.hexdigest(), stat=stat)


def unchanged_since(config: FilesConfig, identity: FileIdentity) -> bool:
    """Whether the configured file still has the stat it had when ``identity`` was taken."""
    try:
        return stat_of(os.stat(config.path)) == identity.stat
    except OSError:
        return False


def read_identity(identity: FileIdentity, config: FilesConfig, columns: Sequence[str], version: str) -> str:
    """A SHA-256 (hex) of what a read's records depend on: the file's bytes, the source's config,
    the columns read (in any order) and the connector's ``version``."""
    described = {
        "file": identity.text,
        "config": config.model_dump(mode="json"),
        "columns": sorted(columns),
        "version": version,
    }
    return hashlib.sha256(json.dumps(described, sort_keys=True).encode()).hexdigest()


@contextmanager
def file_errors(config: FilesConfig) -> Iterator[None]:
    """Turn the failures of opening the configured file into :class:`SourceError` (or
    :class:`SourceAuthError` for a permission denied), naming the file as configured."""
    label = str(config.path)
    try:
        yield
    except FileNotFoundError:
        resolved = "" if config.path.is_absolute() else f" (resolved from {os.getcwd()})"
        raise SourceError(f"{label}: no such file{resolved}: check `path` in the source's config") from None
    except IsADirectoryError:
        raise SourceError(f"{label} is a directory: `path` must name one file") from None
    except PermissionError:
        raise SourceAuthError(
            f"{label}: permission denied: let the user running syncfw read the file"
        ) from None
    except OSError as exc:
        raise SourceError(f"{label} cannot be read: {exc.strerror or exc}") from None
