"""The cursors of the two read modes, as opaque strings for the engine.

Both are compact JSON objects with ``"v": 1`` and the ``"mode"`` that wrote them.

Incremental: the newest ``updated_at`` delivered and the keys delivered at exactly that value,
``{"v":1,"mode":"incremental","updated_at":"2026-05-01T09:30:00+00:00","keys":["A-7","A-9"]}``
(a number instead of text when the column holds numbers). Rows are read again when their value is
newer, or equal and their key is not listed: a row saved after a read with the same timestamp
as the newest row of that read is not missed, and none is delivered twice.

Mirror: every key of the last read with an 8-byte BLAKE2b digest of its row, so the next read
yields only new and changed rows and reports the keys that are gone as deleted,
``{"v":1,"mode":"mirror","columns":[...],"rows":N,"keys":"<base64>","digests":"<base64>"}``: ``keys`` is
the zlib-compressed JSON array of the keys, ``digests`` their digests in the same order, 8 bytes
each, big-endian. 100,000 rows take about 1.1 MB of digests plus the compressed keys (0.1 to
0.5 MB). ``columns`` are the columns the digests cover: when a read asks for other columns,
every row is yielded again.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import json
import struct
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from operator import itemgetter
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from syncfw_files.values import Stamp

VERSION = 1
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
        or data.get("v") != VERSION
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
    """What a mirror read saw: each key's row digest, and the columns the digests cover."""

    columns: tuple[str, ...]
    digests: dict[str, int]

    def encode(self) -> str:
        """The cursor string (see the module docstring)."""
        keys = json.dumps(list(self.digests), ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        packed = struct.pack(f">{len(self.digests)}Q", *self.digests.values())
        return json.dumps(
            {
                "v": VERSION,
                "mode": "mirror",
                "columns": list(self.columns),
                "rows": len(self.digests),
                "keys": base64.b64encode(zlib.compress(keys, 6)).decode("ascii"),
                "digests": base64.b64encode(packed).decode("ascii"),
            },
            separators=(",", ":"),
        )

    @classmethod
    def decode(cls, cursor: str | None) -> MirrorCursor | None:
        """Read a cursor from :meth:`encode`. None when there is nothing to compare with: no cursor
        yet, or a cursor written in incremental mode (the source's mode was changed).

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
            keys = json.loads(zlib.decompress(base64.b64decode(str(data.get("keys")), validate=True)))
            packed = base64.b64decode(str(data.get("digests")), validate=True)
            digests = struct.unpack(f">{len(packed) // DIGEST_SIZE}Q", packed)
        except (binascii.Error, zlib.error, struct.error, ValueError) as exc:
            raise ValueError(f"not a files cursor (bad keys or digests: {exc})") from None
        if (
            not isinstance(keys, list)
            or len(keys) != len(digests)
            or not all(isinstance(k, str) for k in keys)
        ):
            raise ValueError("not a files cursor (keys and digests do not match)")
        return cls(tuple(columns), dict(zip(keys, digests, strict=True)))
