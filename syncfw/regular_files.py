"""Opening a file a user names: a recipe, a mapping, a ``${file:…}`` secret, an env file, a
files-connector source. Each must be a regular file, and what is read whole is read with a limit.

A FIFO opened for reading blocks until a writer comes, for ever if none does, and a character
device such as ``/dev/zero`` or ``/dev/urandom`` never ends: either would hang a run or exhaust its
memory. So :func:`open_regular` refuses anything but a regular file (symbolic links are followed:
a Kubernetes secret volume links every key to a regular file), without blocking and without
opening a device (opening some has effects: a tape drive rewinds, a terminal becomes the
controlling one). The path is checked with ``stat`` before it is opened, then opened with
``O_NONBLOCK`` (POSIX: an open of a FIFO for reading then returns at once instead of waiting for a
writer, https://pubs.opengroup.org/onlinepubs/9799919799/functions/open.html) and checked again
on the open descriptor, so that a FIFO swapped in between the two cannot block the open either.

Files read whole are bounded by :data:`SECRET` and :data:`DOCUMENT`; the files connector streams its
data files and needs no bound. Errors are :class:`OSError` subclasses whose ``strerror`` reads
after "cannot read PATH: ", so callers that already report ``OSError`` report these too.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import BinaryIO, NamedTuple


class Limit(NamedTuple):
    """The most bytes syncfw reads from one kind of file, and how messages name that kind."""

    size: int
    kind: str


SECRET = Limit(64 * 1024, "a secret or env file")
"""``${file:…}`` secrets and ``--env-file``: a token is well under 1 KiB, a 4096-bit RSA private key
in PEM about 3.3 KiB, a cloud service-account JSON key under 3 KiB. A larger file is not a secret
(a log, a data file, a wrong path) and is not read into memory."""

DOCUMENT = Limit(4 * 1024 * 1024, "a recipe or mapping")
"""Recipes and mappings: the shipped ones are under 4 KiB and a mapping with a value map of
thousands of entries a few hundred KiB; the YAML parser keeps a node tree many times the text's
size, so a larger file is refused before it is parsed."""


class NotRegularFile(OSError):
    """The path names a FIFO, a device, a socket or something else than a regular file."""


class FileTooLarge(OSError):
    """The file is larger than the limit for its kind."""


_NONBLOCK: int = getattr(os, "O_NONBLOCK", 0)  # POSIX only; Windows has no FIFOs in the file system

_KINDS = (
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def _check(path: Path, mode: int) -> None:
    if stat.S_ISREG(mode):
        return
    if stat.S_ISDIR(mode):
        raise IsADirectoryError(errno.EISDIR, "it is a directory, not a regular file", str(path))
    kind = next((name for test, name in _KINDS if test(mode)), "another kind of file")
    raise NotRegularFile(
        errno.EINVAL, f"it is {kind}, not a regular file: give the path of a file", str(path)
    )


def check_regular(path: Path, limit: Limit | None = None) -> None:
    """Raise unless ``path`` is a regular file (and, with ``limit``, no larger than it says);
    opens nothing. :func:`open_regular` checks again what it opened.

    Raises:
        IsADirectoryError: ``path`` is a directory.
        NotRegularFile: ``path`` is a FIFO, a device or a socket.
        FileTooLarge: ``stat`` gives a size over ``limit.size``.
        OSError: ``path`` does not exist or cannot be looked at (``FileNotFoundError``, ...).
    """
    status = os.stat(path)
    _check(path, status.st_mode)
    if limit is not None and status.st_size > limit.size:
        raise _too_large(path, limit)


def open_regular(path: Path) -> BinaryIO:
    """``path`` opened for reading in binary mode, if it is a regular file (after symbolic links).

    Never blocks on a FIFO and never opens a device.

    Raises:
        OSError: as :func:`check_regular`, or the file cannot be opened (``PermissionError``, ...).
    """
    check_regular(path)
    fd = os.open(path, os.O_RDONLY | _NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        _check(path, os.fstat(fd).st_mode)
        if _NONBLOCK:
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_regular(path: Path, limit: Limit) -> bytes:
    """The content of the regular file ``path``, refused past ``limit.size`` bytes (never more than
    one byte past the limit is read, whatever ``stat`` says: a file in ``/proc`` reports size 0).

    Raises:
        FileTooLarge: the file is larger than ``limit.size`` bytes.
        OSError: as :func:`open_regular`.
    """
    check_regular(path, limit)
    with open_regular(path) as file:
        content = file.read(limit.size + 1)
    if len(content) > limit.size:
        raise _too_large(path, limit)
    return content


def _too_large(path: Path, limit: Limit) -> FileTooLarge:
    return FileTooLarge(
        errno.EFBIG,
        f"it is larger than {_size(limit.size)}, the most syncfw reads from {limit.kind}",
        str(path),
    )


def _size(size: int) -> str:
    return f"{size // 1024**2} MiB" if size >= 1024**2 else f"{size // 1024} KiB"
