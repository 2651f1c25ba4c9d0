"""What syncfw last wrote on a page (L of the three-way diff), kept compactly.

The diff needs L for one question, "is this value what syncfw wrote?", and the value itself only
when it must be written or shown again: reverting drift on a page whose source record was not read,
the ``before`` of an update of a page the Notion read did not return (what ``syncfw rollback``
restores), a drift report's "synced" value. So the store keeps, per page and property, the value
itself when its canonical JSON is no longer than a digest (numbers, dates, checkboxes, select
names, short text), and otherwise a :class:`Digest`: 48 bits of BLAKE2b
(https://www.rfc-editor.org/rfc/rfc7693) of the canonical JSON, so that a human edit goes
unnoticed with a probability of 2**-48 (about 1 in 3·10^14) per edited property. Where the value
of a digest is needed it is taken from the journal, whose entries keep the values of every write
for ``retention.journal_days`` (:func:`resolve` checks a journaled value against the digest); once
the journal no longer holds it, the value is unknown: a drift report shows its synced value as
None, an update's ``before`` leaves it out (rollback refuses to restore it) and a revert of a
property the source did not send again waits for the source's next change (reported as flagged).

A page's values are one text (:func:`encode`): canonical JSON of an object mapping each property's
number in the store (table ``property_ids``) to the value or to the digest, ``"#"`` followed by
8 characters of base64url. A string value starting with ``#`` is always digested, so a kept value
is never taken for a digest.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Hashable, Iterable, Mapping
from typing import Any

from syncfw.state.sql import dump

DIGEST_BYTES = 6
"""Bytes of BLAKE2b kept per digested value (8 characters of base64url)."""
MARK = "#"
"""The first character of a digest in an encoded page."""

LastWritten = dict[str, Any]
"""What syncfw last wrote on one page: property → canonical value, or a :class:`Digest` standing
for it (lists are tuples, as the engine compares them)."""


class Digest:
    """Stands for a value syncfw wrote that the store keeps only as a digest.

    A digest equals the value it was made from (and an equal digest), so the diff compares
    S, L and N with ``==`` whether L was kept or digested. It is not hashable.
    """

    __slots__ = ("text",)
    __hash__ = None  # type: ignore[assignment]

    def __init__(self, text: str) -> None:
        self.text = text

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Digest):
            return self.text == other.text
        return digest(other) == self.text

    def __repr__(self) -> str:
        return f"Digest({self.text!r})"


def digest(value: Any) -> str:
    """The digest text of a canonical value: ``#`` and base64url of 6 bytes of BLAKE2b of its
    canonical JSON."""
    raw = hashlib.blake2b(dump(value).encode(), digest_size=DIGEST_BYTES).digest()
    return MARK + base64.urlsafe_b64encode(raw).decode()


_DIGEST_JSON = len(dump(digest(None)))
"""Characters a digest takes in an encoded page (its JSON string, quotes included)."""


def compact(value: Any) -> Any:
    """What is kept of a canonical value: the value when its JSON is no longer than a digest's
    (and it is not a string starting with :data:`MARK`), else its digest text."""
    if isinstance(value, Digest):
        return value.text
    if isinstance(value, str) and value.startswith(MARK):
        return digest(value)
    return value if len(dump(value)) <= _DIGEST_JSON else digest(value)


def expand(kept: Any) -> Any:
    """A kept value as the engine compares it: a :class:`Digest`, a tuple for a list, or the value."""
    if isinstance(kept, str) and kept.startswith(MARK):
        return Digest(kept)
    return tuple(kept) if isinstance(kept, list) else kept


def encode(values: Mapping[str, Any], ids: Mapping[str, int]) -> str:
    """A page's written values as stored: ``values`` (property → canonical value or digest)
    keyed by each property's number in ``ids``."""
    return dump({str(ids[name]): compact(value) for name, value in values.items()})


def decode(text: str, names: Mapping[int, str]) -> LastWritten:
    """A page's stored values (:func:`encode`) by property name (``names``: number → name)."""
    return {names[int(number)]: expand(kept) for number, kept in json.loads(text).items()}


def unkept(values: Mapping[str, Any]) -> bool:
    """Whether any of ``values`` is a :class:`Digest`."""
    return any(isinstance(v, Digest) for v in values.values())


def index_key(value: Any) -> Hashable:
    """``value`` as a key of an index of pages by value: the value itself, or for a
    :class:`Digest` ``(MARK, text)``, which :func:`digest_key` of the value it stands for finds."""
    return (MARK, value.text) if isinstance(value, Digest) else value


def digest_key(value: Any) -> Hashable:
    """Where an index (:func:`index_key`) holds the pages whose value is kept as a digest of ``value``."""
    return (MARK, digest(value))


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
