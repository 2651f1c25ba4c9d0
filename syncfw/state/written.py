"""What syncfw last wrote on a page (L of the three-way diff), kept compactly.

The diff needs L for one question, "is this value what syncfw wrote?", and the value itself only
when it must be written or shown again: reverting drift on a page whose source record was not read,
the ``before`` of an update of a page the Notion read did not return (what ``syncfw rollback``
restores), a drift report's "synced" value. So the store keeps, per page and property, the value
itself when its canonical JSON is short (at most :data:`INLINE` bytes: numbers, dates, checkboxes,
select names, short text), and otherwise a :class:`Digest`: 48 bits of BLAKE2b
(https://www.rfc-editor.org/rfc/rfc7693) of the canonical JSON, so that a human edit goes
unnoticed with a probability of 2**-48 (about 1 in 3·10^14) per edited property. Where the value
of a digest is needed it is taken from the journal, whose entries keep the values of every write
for ``retention.journal_days`` (:func:`resolve` checks a journaled value against the digest); once
the journal no longer holds it, the value is unknown: a drift report shows its synced value as
None, an update's ``before`` leaves it out (rollback refuses to restore it) and a revert of a
property the source did not send again waits for the source's next change (reported as flagged).

A page's values are one binary string (:func:`encode`), property after property: the property's
number in the store (table ``property_ids``) as an unsigned LEB128 varint, then one byte, either
:data:`DIGESTED` followed by the 6 bytes of the digest, or the length of the value's canonical
JSON (UTF-8) followed by it. A page of a dozen properties takes about 100 bytes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Hashable, Iterable, Mapping
from typing import Any

from syncfw.state.sql import dump

DIGEST_BYTES = 6
"""Bytes of BLAKE2b kept per digested value."""
INLINE = 12
"""The longest canonical JSON (bytes) kept as it is: an ISO date, a select name of up to 10
characters, a 12-digit number (a digest takes 7 bytes, a kept value its length and 1)."""
DIGESTED = 0xFF
"""The length byte saying that a digest follows."""

LastWritten = dict[str, Any]
"""What syncfw last wrote on one page: property → canonical value, or a :class:`Digest` standing
for it (lists are tuples, as the engine compares them)."""


class Digest:
    """Stands for a value syncfw wrote that the store keeps only as a digest.

    A digest equals the value it was made from (and an equal digest), so the diff compares
    S, L and N with ``==`` whether L was kept or digested. It is not hashable.
    """

    __slots__ = ("raw",)
    __hash__ = None  # type: ignore[assignment]

    def __init__(self, raw: bytes) -> None:
        self.raw = raw

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Digest):
            return self.raw == other.raw
        return digest(other) == self.raw

    def __repr__(self) -> str:
        return f"Digest({self.raw.hex()})"


def digest(value: Any) -> bytes:
    """The digest of a canonical value: 6 bytes of BLAKE2b of its canonical JSON."""
    return hashlib.blake2b(dump(value).encode(), digest_size=DIGEST_BYTES).digest()


def _varint(number: int) -> bytes:
    out = bytearray()
    while True:
        low, number = number & 0x7F, number >> 7
        out.append(low | (0x80 if number else 0))
        if not number:
            return bytes(out)


def encode(values: Mapping[str, Any], ids: Mapping[str, int]) -> bytes:
    """A page's written values as stored (see the module docstring): ``values`` (property →
    canonical value or :class:`Digest`), each property by its number in ``ids``."""
    out = bytearray()
    for name, value in values.items():
        out += _varint(ids[name])
        text = None if isinstance(value, Digest) else dump(value).encode()
        if text is not None and len(text) <= INLINE:
            out += bytes([len(text)]) + text
        else:
            out += bytes([DIGESTED]) + (value.raw if text is None else digest(value))
    return bytes(out)


def decode(data: bytes, names: Mapping[int, str]) -> LastWritten:
    """A page's stored values (:func:`encode`) by property name (``names``: number → name)."""
    out: LastWritten = {}
    at = 0
    while at < len(data):
        number = shift = 0
        while True:
            byte = data[at]
            at += 1
            number |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                break
        size = data[at]
        if size == DIGESTED:
            out[names[number]] = Digest(bytes(data[at + 1 : at + 1 + DIGEST_BYTES]))
            at += 1 + DIGEST_BYTES
        else:
            value = json.loads(bytes(data[at + 1 : at + 1 + size]))
            out[names[number]] = tuple(value) if isinstance(value, list) else value
            at += 1 + size
    return out


def unkept(values: Mapping[str, Any]) -> bool:
    """Whether any of ``values`` is a :class:`Digest`."""
    return any(isinstance(v, Digest) for v in values.values())


def index_key(value: Any) -> Hashable:
    """``value`` as a key of an index of pages by value: the value itself, or for a
    :class:`Digest` a tuple ``(DIGESTED, bytes)``, which :func:`digest_key` of the value it
    stands for finds."""
    return (DIGESTED, value.raw) if isinstance(value, Digest) else value


def digest_key(value: Any) -> Hashable:
    """Where an index (:func:`index_key`) holds the pages whose value is kept as a digest of ``value``."""
    return (DIGESTED, digest(value))


def resolve(values: Mapping[str, Any], journaled: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """``values`` with each :class:`Digest` replaced by the value it stands for, taken from
    ``journaled`` (the values of the page's journaled writes, newest first: any that matches the
    digest is that value); a property whose value none of them holds is left out."""
    digests = {name: v for name, v in values.items() if isinstance(v, Digest)}
    found: dict[str, Any] = {}
    if digests:
        for written in journaled:
            for name, d in digests.items():
                if name not in found and name in written and d == written[name]:
                    found[name] = written[name]
            if len(found) == len(digests):
                break
    return {
        name: found[name] if name in digests else value
        for name, value in values.items()
        if name not in digests or name in found
    }
