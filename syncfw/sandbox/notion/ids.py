"""Identifiers: object UUIDs, property ids, option ids and notion.so-style URLs.

Object ids are UUIDv4 strings, dashed in every response; requests may send them with or without
dashes (API-FACTS §4.1, "Responses to IDs given without dashes come back dashed"). Property ids are
``"title"`` for the title property and otherwise short URL-encoded strings such as ``"%3AUPp"``
(recorded in the data source retrieve cassette and API-FACTS §4.1).
"""

from __future__ import annotations

import random
import re
import uuid
from urllib.parse import quote, unquote

_HEX32 = re.compile(r"^[0-9a-fA-F]{32}$")
_DASHED = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
# Printable characters Notion uses in property ids; "/" and "%" are left out so that a decoded id
# can travel in a URL path segment.
_PROPERTY_ID_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789:;<=>?@[]^_`{|}~"


def new_id() -> str:
    """A fresh dashed UUIDv4."""
    return str(uuid.uuid4())


def parse_id(value: object) -> str | None:
    """The dashed lowercase form of a dashed or undashed UUID, or ``None`` if it is not one."""
    if not isinstance(value, str):
        return None
    if _DASHED.match(value):
        return value.lower()
    if _HEX32.match(value):
        return str(uuid.UUID(value))
    return None


def compact(object_id: str) -> str:
    """The 32-hex-digit form used in notion.so URLs."""
    return object_id.replace("-", "")


def new_property_id(taken: set[str], rng: random.Random) -> str:
    """A 4-character property id, URL-encoded like the real ones, not in ``taken``."""
    while True:
        candidate = quote("".join(rng.choice(_PROPERTY_ID_CHARS) for _ in range(4)), safe="")
        if candidate not in taken and candidate != "title":
            return candidate


def same_property_id(stored: str, given: str) -> bool:
    """Whether ``given`` (encoded or decoded, as a client may send it) names ``stored``."""
    return stored == given or unquote(stored) == unquote(given)


def page_url(title: str, page_id: str) -> str:
    """``https://app.notion.com/p/<Title-slug>-<hex>`` as recorded for page responses."""
    slug = re.sub(r"[^A-Za-z0-9]+", "-", title).strip("-")
    return f"https://app.notion.com/p/{slug}-{compact(page_id)}" if slug else object_url(page_id)


def object_url(object_id: str) -> str:
    """``https://app.notion.com/p/<hex>`` as recorded for databases and data sources."""
    return f"https://app.notion.com/p/{compact(object_id)}"
