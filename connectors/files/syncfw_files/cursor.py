"""The cursors of the two read modes, as opaque strings for the engine.

Both are compact JSON objects with ``"v": 1`` and the ``"mode"`` that wrote them.

Incremental: the newest ``updated_at`` delivered and the keys delivered at exactly that value,
``{"v":1,"mode":"incremental","updated_at":"2026-05-01T09:30:00+00:00","keys":["A-7","A-9"]}``
(a number instead of text when the column holds numbers). Rows are read again when their value is
newer, or equal and their key is not listed: a row saved after a read with the same timestamp
as the newest row of that read is not missed, and none is delivered twice.

Mirror: every key of the last read with an 8-byte BLAKE2b digest of its row, so the next read
yields only new and changed rows and reports the keys that are gone as deleted,
``{"v":2,"mode":"mirror","columns":[...],"rows":N,"keys":"<base64>","digests":"<base64>"}``: ``keys`` is
the zlib-compressed key list, one JSON string a line, ``digests`` their digests in the same order,
8 bytes each, big-endian. 100,000 rows take about 0.8 MB of digests plus the compressed keys (0.1
to 0.5 MB). ``columns`` are the columns the digests cover: when a read asks for other columns,
every row is yielded again. A read holds the cursor in this form, plus 8 bytes of key hash a row
(:class:`MirrorCursorBuilder`, :class:`PreviousRows`), never a Python object per key: a mirror
read of a million rows holds about 40 MB, not a dictionary of a million keys. Version 1 cursors
(the keys as one JSON array) are still read.

Either cursor may open with a ``"source"`` member, ``{"source":"<sha256>","v":...}``: the
identity of the file and read that wrote it (:func:`syncfw_files.identity.read_identity`).
A read whose identity is the same yields the cursor again without reading the file
(:func:`stamped`, :func:`stamp_of`); a cursor without it (written before) is read as before.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import json
import struct
import sys
import zlib
from array import array
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from syncfw_files.values import Stamp

VERSION = 1
"""The version incremental cursors are written in."""
MIRROR_VERSION = 2
"""The version mirror cursors are written in (version 1 held the keys as one JSON array)."""
DIGEST_SIZE = 8


def row_digester(columns: tuple[str, ...]) -> Callable[[Mapping[str, Any]], int]:
    """A function giving the 8-byte BLAKE2b digest (as an int) of a record's plain data.

    The digest covers the ``repr`` of the values of ``columns``, in the order given (the sorted
    columns: their order in the file does not matter); ``repr`` is several times faster than
    JSON and as exact for plain values.
    """
    values = itemgetter(*columns)

    def digest(data: Mapping[str, Any]) -> int:
        text = repr(values(data)).encode("utf-8", "surrogatepass")
        return int.from_bytes(hashlib.blake2b(text, digest_size=DIGEST_SIZE).digest(), "big")

    return digest


def compare(a: Stamp, b: Stamp) -> int:
    """-1, 0 or 1 as ``a`` is older than, equal to or newer than ``b``.

    Raises:
        TypeError: a date-time and a number, or date-times with and without a time zone.
    """
    if isinstance(a, dt.datetime) and isinstance(b, dt.datetime):
        return int(a > b) - int(a < b)
    if isinstance(a, dt.datetime) or isinstance(b, dt.datetime):
        raise TypeError("a date-time and a number cannot be compared")
    return int(a > b) - int(a < b)


_STAMP = '{"source":"'


def stamped(cursor: str, identity: str) -> str:
    """``cursor`` (a JSON object this module encoded) opening with ``"source": identity``
    (hex digits), so that :func:`stamp_of` finds it without decoding a cursor of megabytes."""
    if not identity.isalnum() or not cursor.startswith("{"):
        raise ValueError(f"cannot stamp {cursor[:40]!r} with {identity!r}")
    return f'{_STAMP}{identity}",{cursor[1:]}'


def stamp_of(cursor: str | None) -> str | None:
    """The identity :func:`stamped` put at the start of ``cursor``, or None."""
    if cursor is None or not cursor.startswith(_STAMP):
        return None
    end = cursor.find('"', len(_STAMP))
    return cursor[len(_STAMP) : end] if end > 0 else None


def _load(cursor: str, mode: str) -> dict[str, Any] | None:
    """The JSON object of a cursor of ``mode``; None for a cursor of the other mode.

    Raises:
        ValueError: not a cursor this connector wrote.
    """
    try:
        data = json.loads(cursor)
    except ValueError:
        data = None
    if (
        not isinstance(data, dict)
        or data.get("v") not in (VERSION, MIRROR_VERSION)
        or data.get("mode") not in ("incremental", "mirror")
    ):
        raise ValueError(f"not a files cursor: {cursor[:80]!r}")
    return data if data["mode"] == mode else None


@dataclass(frozen=True)
class IncrementalCursor:
    """Where an incremental read stopped.

    Attributes:
        updated_at: the newest ``updated_at`` delivered (a datetime or a number), or None.
        keys: the keys delivered whose ``updated_at`` equals it.
    """

    updated_at: Stamp | None = None
    keys: frozenset[str] = field(default_factory=frozenset)

    def encode(self) -> str:
        """The cursor string: datetimes in ISO 8601 (with their offset when they have one)."""
        value = self.updated_at.isoformat() if isinstance(self.updated_at, dt.datetime) else self.updated_at
        return json.dumps(
            {"v": VERSION, "mode": "incremental", "updated_at": value, "keys": sorted(self.keys)},
            separators=(",", ":"),
        )

    @classmethod
    def decode(cls, cursor: str | None) -> IncrementalCursor | None:
        """Read a cursor from :meth:`encode`. None means "read every row": no cursor yet, or a
        cursor written in mirror mode (the source's mode was changed).

        Raises:
            ValueError: not a cursor this connector wrote.
        """
        if cursor is None:
            return cls()
        data = _load(cursor, "incremental")
        if data is None:
            return None
        value, keys = data.get("updated_at"), data.get("keys")
        if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
            raise ValueError(f"not a files cursor (bad keys): {cursor[:80]!r}")
        if isinstance(value, str):
            value = dt.datetime.fromisoformat(value)
        elif value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise ValueError(f"not a files cursor (bad updated_at): {cursor[:80]!r}")
        return cls(value, frozenset(keys))

    def delivered(self, key: str, updated_at: Stamp) -> bool:
        """True when a row with this key and ``updated_at`` was delivered before this cursor.

        Raises:
            TypeError: ``updated_at`` cannot be compared with the cursor's (a date-time with a
                time zone and one without, or a date-time and a number).
        """
        if self.updated_at is None:
            return False
        order = compare(updated_at, self.updated_at)
        return order < 0 or (order == 0 and key in self.keys)


class IncrementalCursorBuilder:
    """Accumulates delivered rows, in any order, into the next incremental cursor."""

    def __init__(self, start: IncrementalCursor) -> None:
        self._updated_at = start.updated_at
        self._keys = set(start.keys)

    def add(self, key: str, updated_at: Stamp) -> None:
        """Note one delivered row (raises ``TypeError`` like :meth:`IncrementalCursor.delivered`)."""
        order = 1 if self._updated_at is None else compare(updated_at, self._updated_at)
        if order > 0:
            self._updated_at = updated_at
            self._keys = {key}
        elif order == 0:
            self._keys.add(key)

    def cursor(self) -> IncrementalCursor:
        """The cursor after every row added so far."""
        return IncrementalCursor(self._updated_at, frozenset(self._keys))


@dataclass(frozen=True)
class MirrorCursor:
    """What a mirror read saw: its keys (in file order, as the compressed key list of the module
    docstring), each row's digest (8 bytes, big-endian, in the same order), and the columns the
    digests cover. Held compactly: about 9 bytes per row plus the compressed keys."""

    columns: tuple[str, ...]
    keys: bytes
    """zlib-compressed lines, one JSON string per key."""
    digests: bytes

    def __len__(self) -> int:
        return len(self.digests) // DIGEST_SIZE

    def encode(self) -> str:
        """The cursor string (see the module docstring)."""
        return json.dumps(
            {
                "v": MIRROR_VERSION,
                "mode": "mirror",
                "columns": list(self.columns),
                "rows": len(self),
                "keys": base64.b64encode(self.keys).decode("ascii"),
                "digests": base64.b64encode(self.digests).decode("ascii"),
            },
            separators=(",", ":"),
        )

    def iter_keys(self) -> Iterator[str]:
        """The keys in file order, decompressed a block at a time."""
        inflate = zlib.decompressobj()
        rest = b""
        for start in range(0, len(self.keys), _BLOCK):
            rest += inflate.decompress(self.keys[start : start + _BLOCK])
            *lines, rest = rest.split(b"\n")
            yield from json.loads(b"[" + b",".join(lines) + b"]")
        rest += inflate.flush()
        yield from json.loads(b"[" + b",".join(line for line in rest.split(b"\n") if line) + b"]")

    def row_digests(self) -> array[int]:
        """The digests in file order, as unsigned 64-bit integers."""
        values = array("Q", self.digests)
        if sys.byteorder == "little":
            values.byteswap()
        return values

    @classmethod
    def decode(cls, cursor: str | None) -> MirrorCursor | None:
        """Read a cursor from :meth:`encode` (or version 1's, whose keys were one JSON array).
        None when there is nothing to compare with: no cursor yet, or a cursor written in
        incremental mode (the source's mode was changed).

        Raises:
            ValueError: not a cursor this connector wrote.
        """
        if cursor is None:
            return None
        data = _load(cursor, "mirror")
        if data is None:
            return None
        columns = data.get("columns")
        if not isinstance(columns, list) or not all(isinstance(c, str) for c in columns):
            raise ValueError(f"not a files cursor (bad columns): {cursor[:80]!r}")
        try:
            keys = base64.b64decode(str(data.get("keys")), validate=True)
            digests = base64.b64decode(str(data.get("digests")), validate=True)
            if data["v"] == 1:
                listed = json.loads(zlib.decompress(keys))
                if not isinstance(listed, list) or not all(isinstance(k, str) for k in listed):
                    raise ValueError("keys are not a list of strings")
                builder = MirrorCursorBuilder(tuple(columns))
                for key, digest in zip(listed, struct.iter_unpack(">Q", digests), strict=True):
                    builder.add(key, digest[0])
                return builder.cursor()
            found = cls(tuple(columns), keys, digests)
            rows = sum(1 for _ in found.iter_keys())
        except (binascii.Error, zlib.error, struct.error, ValueError) as exc:
            raise ValueError(f"not a files cursor (bad keys or digests: {exc})") from None
        if len(digests) % DIGEST_SIZE or rows != len(found):
            raise ValueError("not a files cursor (keys and digests do not match)")
        return found


_BLOCK = 1 << 16
"""Compressed bytes of the key list inflated at once."""
_BATCH = 4096
"""Keys encoded and compressed at once."""


def key_hash(key: str) -> int:
    """An 8-byte BLAKE2b digest of a key (as an int): what a read looks keys up by."""
    return int.from_bytes(
        hashlib.blake2b(key.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "big"
    )


class MirrorCursorBuilder:
    """Accumulates a mirror read's rows, in file order, into its cursor, in about 17 bytes a
    row (the key's hash, the row's digest) plus the compressed key list."""

    def __init__(self, columns: tuple[str, ...]) -> None:
        self.columns = columns
        self.hashes = array("Q")
        self._digests = array("Q")
        self._deflate = zlib.compressobj(6)
        self._keys: list[bytes] = []
        self._pending: list[str] = []

    def __len__(self) -> int:
        return len(self.hashes)

    def add(self, key: str, digest: int) -> None:
        """Note the next row: its key and its row digest."""
        self.hashes.append(key_hash(key))
        self._digests.append(digest)
        self._pending.append(key)
        if len(self._pending) == _BATCH:
            self._compress()

    def _compress(self) -> None:
        # one JSON string a line: the array's items separated by newlines, brackets dropped
        text = json.dumps(self._pending, ensure_ascii=False, separators=("\n", ":"))[1:-1] + "\n"
        self._keys.append(self._deflate.compress(text.encode("utf-8", "surrogatepass")))
        self._pending.clear()

    def cursor(self) -> MirrorCursor:
        """The cursor of every row added (the builder is done after this)."""
        if self._pending:
            self._compress()
        self._keys.append(self._deflate.flush())
        digests = array("Q", self._digests)
        if sys.byteorder == "little":
            digests.byteswap()
        return MirrorCursor(self.columns, b"".join(self._keys), digests.tobytes())


class PreviousRows:
    """The rows of a previous mirror read, looked up by key while the next read goes on: the
    keys' hashes sorted (8 bytes a row) with each one's row digest and position, and a mark per
    position once the key is met again. Keys whose hashes collide (one chance in about 10^7 at
    a million keys) are kept by their text, so a lookup is always exact."""

    def __init__(self, seen: MirrorCursor) -> None:
        import numpy as np  # loaded with the file's reader (pandas and pyarrow need it)

        self.cursor = seen
        hashes = np.fromiter((key_hash(k) for k in seen.iter_keys()), dtype=np.uint64, count=len(seen))
        self._positions = np.argsort(hashes, kind="stable")
        self._hashes = hashes[self._positions]
        self._digests = np.frombuffer(seen.row_digests(), dtype=np.uint64)[self._positions]
        self._met = np.zeros(len(seen), dtype=np.bool_)
        same = self._hashes[1:] == self._hashes[:-1]
        self._clashing = set(self._hashes[1:][same].tolist())
        self._exact: dict[str, tuple[int, int]] = {}
        if self._clashing:
            digests = seen.row_digests()
            for position, key in enumerate(seen.iter_keys()):
                if key_hash(key) in self._clashing:
                    self._exact[key] = (position, digests[position])

    def meet(self, keys: Sequence[str], hashes: array[int]) -> list[int | None]:
        """Mark ``keys`` (with their :func:`key_hash` in ``hashes``) as still there; each one's
        previous row digest, or None when it is new."""
        import numpy as np

        wanted = np.frombuffer(hashes, dtype=np.uint64)
        if not len(self._hashes) or not len(wanted):
            return [None] * len(keys)
        at = np.minimum(np.searchsorted(self._hashes, wanted), len(self._hashes) - 1)
        found = self._hashes[at] == wanted
        clash = np.isin(wanted, np.fromiter(self._clashing, dtype=np.uint64)) if self._clashing else None
        if clash is not None:
            found &= ~clash
        self._met[self._positions[at[found]]] = True
        out: list[int | None] = [
            d if f else None for d, f in zip(self._digests[at].tolist(), found.tolist(), strict=True)
        ]
        for i in np.flatnonzero(clash).tolist() if clash is not None else ():
            exact = self._exact.get(keys[i])  # the hash says nothing here: the key's text does
            if exact is not None:
                self._met[exact[0]] = True
                out[i] = exact[1]
        return out

    def gone(self) -> Iterator[str]:
        """The previous keys not met, in the previous read's order."""
        met = self._met.tobytes()
        return (key for position, key in enumerate(self.cursor.iter_keys()) if not met[position])


def duplicate_keys(hashes: array[int], read: MirrorCursor) -> Iterator[tuple[int, str]]:
    """(position, key) of each row of ``read`` whose key an earlier row already has, in order;
    ``hashes`` are the rows' :func:`key_hash` in the same order."""
    import numpy as np

    ordered = np.sort(np.frombuffer(hashes, dtype=np.uint64))
    clashing = set(ordered[1:][ordered[1:] == ordered[:-1]].tolist())
    if not clashing:
        return
    seen: set[str] = set()
    for position, key in enumerate(read.iter_keys()):
        if hashes[position] in clashing:
            if key in seen:
                yield position, key
            seen.add(key)
