"""Notion page ids as the state store keeps them: 16 bytes instead of 36 characters.

Notion identifies every page by a UUID, returned in its 8-4-4-4-12 hyphenated form ("IDs are
UUIDv4 values", https://developers.notion.com/reference/intro#conventions). The identity map holds
one per synced page twice (the ``pages`` row and the ``pages_by_id`` index), so the store keeps
the UUID's 16 bytes (:func:`pack`) and gives the canonical text back (:func:`unpack`). An id that
is not a canonical UUID (the store's API accepts any text) is kept as its UTF-8 bytes behind a
prefix whose first byte says how long it is, so that it never has 16 bytes and never reads back
as a UUID.
"""

from __future__ import annotations

import uuid

UUID_BYTES = 16


def pack(page_id: str) -> bytes:
    """The bytes the store keeps for ``page_id``: 16 for a canonical (lowercase, hyphenated) UUID,
    otherwise ``b"\\x01"`` + UTF-8 (``b"\\x02\\x02"`` + UTF-8 when that would make 16 bytes)."""
    try:
        parsed = uuid.UUID(page_id)
    except ValueError:
        parsed = None
    if parsed is not None and str(parsed) == page_id:
        return parsed.bytes
    text = page_id.encode()
    return (b"\x02\x02" if len(text) + 1 == UUID_BYTES else b"\x01") + text


def unpack(raw: bytes | memoryview) -> str:
    """The page id :func:`pack` made ``raw`` from."""
    data = bytes(raw)
    if len(data) == UUID_BYTES:
        return str(uuid.UUID(bytes=data))
    return data[data[0] :].decode()
