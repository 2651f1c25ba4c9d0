"""Notion property values: canonical form, request encoding, response decoding, limits.

Every property value syncfw handles has a *canonical* Python form, so that the desired value (S),
the last written value (L) and the live Notion value (N) compare with ``==``:

============== ============================================================================
type           canonical value
============== ============================================================================
title          ``str`` or None (plain text; ``""`` is None)
rich_text      ``str`` or None
number         ``int`` or ``float`` or None (integral floats become ``int``; NaN/inf → None)
select         ``str`` or None (commas removed, trimmed, at most 100 characters)
status         ``str`` or None (same rules as select)
multi_select   ``tuple[str, ...]`` (order kept, duplicates and empties removed)
date           ``"YYYY-MM-DD"``, or ``"YYYY-MM-DDTHH:MM:SS.mmm+00:00"`` (UTC), or None
checkbox       ``bool`` (None is False)
url            ``str`` or None (at most 2000 characters)
email          ``str`` or None (at most 200 characters)
phone_number   ``str`` or None (at most 200 characters)
relation       ``tuple[str, ...]`` of page ids (lowercase, dashed)
============== ============================================================================

Limits come from Notion's "Request limits" page (developers.notion.com/reference/request-limits):
a text object holds at most 2000 characters, an array (rich text, multi-select options,
relations) at most 100 elements, a URL 2000 characters, an email or phone number 200.
:func:`encode` splits and truncates to stay inside them and says so in its warnings;
:func:`normalize` applies the same truncation, so ``normalize(t, S) == decode(t, N)`` holds exactly
when Notion already holds what a write of S would leave there. Value shapes follow
developers.notion.com/reference/page-property-values (API version 2025-09-03).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, Literal, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

PropertyType = Literal[
    "title",
    "rich_text",
    "number",
    "select",
    "multi_select",
    "status",
    "date",
    "checkbox",
    "url",
    "email",
    "phone_number",
    "relation",
]
PROPERTY_TYPES: tuple[str, ...] = get_args(PropertyType)

TEXT_OBJECT_LIMIT = 2000
"""Characters in one rich text object's ``text.content``."""
ARRAY_LIMIT = 100
"""Elements in a rich text array, a multi-select value or a relation value."""
TEXT_LIMIT = TEXT_OBJECT_LIMIT * ARRAY_LIMIT
"""Longest title or rich text syncfw can write: 100 text objects of 2000 characters."""
OPTION_NAME_LIMIT = 100
"""Characters in a select, multi-select or status option name."""
STRING_LIMITS = {"url": 2000, "email": 200, "phone_number": 200}

_PLAIN_SCALARS = (str, int, float, Decimal)
_TRUE = {"true", "yes", "y", "1", "on"}
_FALSE = {"false", "no", "n", "0", "off", ""}
_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_UNDASHED_UUID = re.compile(r"^[0-9a-fA-F]{32}$")
_DASHED_UUID = re.compile(r"^[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}$")
# Notion numbers are JSON numbers read as IEEE doubles; integers beyond this lose precision.
_EXACT_INT_LIMIT = 2**53


class PropertyValueError(ValueError):
    """A value cannot become a Notion value of the property's type. ``str()`` is the reason."""


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime | date):
        return value.isoformat()
    if not isinstance(value, _PLAIN_SCALARS):
        raise PropertyValueError(f"expected text, got {type(value).__name__} {_show(value)}")
    text = str(value)
    return text or None


def _utf16_units(char: str) -> int:
    return 2 if ord(char) > 0xFFFF else 1


def text_chunks(text: str) -> list[str]:
    """Split text into pieces of at most 2000 characters, never inside a character.

    Lengths are counted in UTF-16 code units (how Notion's JavaScript counts characters), so a
    piece holds fewer than 2000 code points when the text has emoji or other astral characters.
    """
    if len(text.encode("utf-16-le")) == 2 * len(text):
        return [text[i : i + TEXT_OBJECT_LIMIT] for i in range(0, len(text), TEXT_OBJECT_LIMIT)]
    chunks: list[str] = []
    start = units = 0
    for index, char in enumerate(text):
        width = _utf16_units(char)
        if units + width > TEXT_OBJECT_LIMIT:
            chunks.append(text[start:index])
            start, units = index, 0
        units += width
    chunks.append(text[start:])
    return chunks


def _number(value: Any) -> int | float | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise PropertyValueError(f"expected a number, got the boolean {value}")
    if isinstance(value, str):
        if not value.strip():
            return None
        try:
            number = float(value.strip())
        except ValueError:
            raise PropertyValueError(f"{_show(value)} is not a number") from None
    elif isinstance(value, int | float | Decimal):
        try:
            number = float(value)
        except OverflowError:
            raise PropertyValueError(f"{_show(value)} is too large for a Notion number") from None
    else:
        raise PropertyValueError(f"expected a number, got {type(value).__name__} {_show(value)}")
    if not math.isfinite(number):
        return None
    return int(number) if number.is_integer() else number


def _option_name(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, _PLAIN_SCALARS):
        raise PropertyValueError(f"expected an option name, got {type(value).__name__} {_show(value)}")
    # Notion rejects commas in option names (they separate options in its UI)
    name = str(value).replace(",", "").strip()
    if len(name) > OPTION_NAME_LIMIT:
        raise PropertyValueError(
            f"option name of {len(name)} characters; Notion allows at most {OPTION_NAME_LIMIT}"
        )
    return name or None


def _unique(items: Sequence[Any], convert: Callable[[Any], str | None]) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for item in items:
        converted = convert(item)
        if converted is not None:
            seen.setdefault(converted, None)
    return tuple(seen)


def _as_items(value: Any) -> Sequence[Any]:
    if value is None:
        return ()
    if isinstance(value, list | tuple):
        return value
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    return (value,)


def _options(value: Any) -> tuple[str, ...]:
    return _unique(_as_items(value), _option_name)


def _datetime_text(moment: datetime) -> str:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise PropertyValueError(
            f"date-time {moment.isoformat()} has no time zone; add one (e.g. Z or +02:00) "
            "or use the date transform for a date without time"
        )
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


def _date(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return _datetime_text(value)
    if isinstance(value, date):
        return value.isoformat()
    if not isinstance(value, str):
        raise PropertyValueError(f"expected a date, got {type(value).__name__} {_show(value)}")
    text = value.strip()
    if not text:
        return None
    try:
        if _DATE_ONLY.match(text):
            return date.fromisoformat(text).isoformat()
        return _datetime_text(datetime.fromisoformat(text))
    except ValueError as exc:
        if isinstance(exc, PropertyValueError):
            raise
        raise PropertyValueError(f"{_show(value)} is not an ISO 8601 date or date-time") from None


def _checkbox(value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise PropertyValueError(f"expected true or false, got {_show(value)}")


def _limited_string(prop_type: str) -> Callable[[Any], str | None]:
    limit = STRING_LIMITS[prop_type]
    what = prop_type.replace("_", " ")

    def convert(value: Any) -> str | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, _PLAIN_SCALARS):
            raise PropertyValueError(f"expected a {what}, got {type(value).__name__} {_show(value)}")
        text = str(value).strip()
        if len(text) > limit:
            raise PropertyValueError(f"{what} of {len(text)} characters; Notion allows at most {limit}")
        return text or None

    return convert


def record_key(value: Any) -> str | None:
    """A source record's key as the string connectors give (``Record.key``), or None when empty.

    Text is stripped; a whole number is written without a fraction, so ``123``, ``"123"`` and
    ``123.0`` (JSON numbers often arrive as floats) all give ``"123"``.

    Raises:
        PropertyValueError: the value is not a string or a finite number (a bool, a list, …).
    """
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, _PLAIN_SCALARS):
        raise PropertyValueError(f"expected a record key, got {type(value).__name__} {_show(value)}")
    if isinstance(value, float | Decimal):
        if not math.isfinite(value):
            raise PropertyValueError(f"expected a record key, got the number {_show(value)}")
        if value == int(value):
            value = int(value)
    key = str(value).strip()
    return key or None


def relation_keys(value: Any) -> tuple[str, ...]:
    """Source keys of related records: a key or a list of keys → tuple of non-empty strings.

    Each key is normalised by :func:`record_key` (``123.0`` → ``"123"``).
    """
    return _unique(_as_items(value), record_key)


def _page_id(value: Any) -> str | None:
    key = record_key(value)
    if key is None:
        return None
    if _UNDASHED_UUID.match(key):
        key = f"{key[:8]}-{key[8:12]}-{key[12:16]}-{key[16:20]}-{key[20:]}"
    return key.lower() if _DASHED_UUID.match(key) else key


def _page_ids(value: Any) -> tuple[str, ...]:
    return _unique(_as_items(value), _page_id)


_CANONICAL: dict[str, Callable[[Any], Any]] = {
    "title": _text,
    "rich_text": _text,
    "number": _number,
    "select": _option_name,
    "status": _option_name,
    "multi_select": _options,
    "date": _date,
    "checkbox": _checkbox,
    "url": _limited_string("url"),
    "email": _limited_string("email"),
    "phone_number": _limited_string("phone_number"),
    "relation": _page_ids,
}


def _converter(prop_type: str) -> Callable[[Any], Any]:
    try:
        return _CANONICAL[prop_type]
    except KeyError:
        raise ValueError(
            f"unsupported property type {prop_type!r} (supported: {', '.join(PROPERTY_TYPES)})"
        ) from None


def canonical(prop_type: str, value: Any) -> Any:
    """Convert a value to the canonical form of ``prop_type``, before Notion's size caps.

    This is the desired value (S) a mapping produces: a title of 300000 characters stays whole
    here, so that :func:`encode` can report the truncation; :func:`normalize` applies the caps.

    Raises:
        PropertyValueError: the value cannot be a value of that type (the message says why).
        ValueError: ``prop_type`` is not a supported type.
    """
    return _converter(prop_type)(value)


def _capped(prop_type: str, value: Any) -> tuple[Any, str | None]:
    """Apply Notion's size caps to a canonical value; return it and a warning when it was cut."""
    if prop_type in ("title", "rich_text") and value is not None:
        chunks = text_chunks(value)
        if len(chunks) > ARRAY_LIMIT:
            kept = "".join(chunks[:ARRAY_LIMIT])
            return kept, (
                f"text of {len(value)} characters truncated to {len(kept)} "
                f"(Notion accepts {ARRAY_LIMIT} text objects of {TEXT_OBJECT_LIMIT} characters)"
            )
    elif prop_type in ("multi_select", "relation") and len(value) > ARRAY_LIMIT:
        what = "options" if prop_type == "multi_select" else "related pages"
        return value[:ARRAY_LIMIT], (
            f"{len(value)} {what}; Notion accepts {ARRAY_LIMIT}, the last {len(value) - ARRAY_LIMIT} were dropped"
        )
    return value, None


def normalize(prop_type: str, value: Any) -> Any:
    """The canonical value Notion holds after syncfw writes ``value`` to a ``prop_type`` property.

    ``normalize(t, S) == decode(t, N)`` exactly when no write is needed. Idempotent.

    Raises:
        PropertyValueError: the value cannot be a value of that type.
    """
    return _capped(prop_type, canonical(prop_type, value))[0]


def _rich_text(text: str | None) -> list[dict[str, Any]]:
    if text is None:
        return []
    return [{"type": "text", "text": {"content": chunk}} for chunk in text_chunks(text)]


def _request(prop_type: str, value: Any) -> Any:
    if prop_type in ("title", "rich_text"):
        return _rich_text(value)
    if prop_type == "number":
        # a 20-digit integer literal is valid JSON but Notion reads a double anyway
        return float(value) if isinstance(value, int) and abs(value) > _EXACT_INT_LIMIT else value
    if prop_type in ("select", "status"):
        return None if value is None else {"name": value}
    if prop_type == "multi_select":
        return [{"name": name} for name in value]
    if prop_type == "date":
        return None if value is None else {"start": value, "end": None, "time_zone": None}
    if prop_type == "relation":
        return [{"id": page_id} for page_id in value]
    return value


def encode(prop_type: str, value: Any) -> tuple[dict[str, Any], list[str]]:
    """Encode a value as the Notion request value of a page property (create or update).

    Returns the value object keyed by type, e.g. ``{"rich_text": [{"type": "text", "text":
    {"content": "…"}}]}``, ``{"select": {"name": "Tech"}}``, ``{"number": None}``,
    ``{"relation": [{"id": "<page id>"}]}``, and the warnings for the run report (text truncated
    past 100 text objects, more than 100 options or related pages dropped). Relation values here
    are Notion page ids, not source keys.

    Raises:
        PropertyValueError: the value cannot be a value of that type.
    """
    value, warning = _capped(prop_type, canonical(prop_type, value))
    return {prop_type: _request(prop_type, value)}, [warning] if warning else []


def _decode_date(value: Mapping[str, Any] | None) -> str | None:
    if value is None:
        return None
    start = value.get("start")
    zone_name = value.get("time_zone")
    if zone_name and isinstance(start, str) and not _DATE_ONLY.match(start):
        moment = datetime.fromisoformat(start)
        if moment.tzinfo is None:
            try:
                start = moment.replace(tzinfo=ZoneInfo(zone_name))
            except ZoneInfoNotFoundError:
                raise PropertyValueError(f"unknown time zone {zone_name!r} in a date value") from None
    first = _date(start)
    end = _date(value.get("end"))
    # a range is never what syncfw writes, so it must compare unequal to any single date
    return f"{first}/{end}" if end else first


def decode(prop_type: str, property_value: Mapping[str, Any]) -> Any:
    """Canonical value of a property value object from a Notion response.

    ``property_value`` is one entry of a page's ``properties``: ``{"id": …, "type": …, "<type>":
    …}``. Rich text becomes its concatenated ``plain_text``; a select becomes its option name;
    a date range becomes ``"start/end"``. A relation response lists at most 25 pages and then
    carries ``"has_more": true``: the caller must read the rest through the page property
    endpoint before comparing.

    Raises:
        PropertyValueError: the property in Notion has another type than ``prop_type``.
    """
    actual = property_value.get("type", prop_type)
    if actual != prop_type:
        raise PropertyValueError(f"the Notion property is a {actual} property, not {prop_type}")
    raw = property_value.get(prop_type)
    if prop_type in ("title", "rich_text"):
        text = "".join(item.get("plain_text", "") for item in raw or [])
        return text or None
    if prop_type in ("select", "status"):
        return None if raw is None else raw.get("name")
    if prop_type == "multi_select":
        return tuple(option["name"] for option in raw or [])
    if prop_type == "date":
        return _decode_date(raw)
    if prop_type == "relation":
        return _page_ids([item["id"] for item in raw or []])
    return canonical(prop_type, raw)


def schema_config(prop_type: str, *, data_source_id: str | None = None) -> dict[str, Any]:
    """Data source property configuration for creating or updating a property of ``prop_type``.

    E.g. ``{"rich_text": {}}``, ``{"number": {"format": "number"}}``. A relation needs the
    ``data_source_id`` of the related data source (a one-way ``single_property`` relation).
    Source: developers.notion.com/reference/property-schema-object. Creating a ``status``
    property may be refused by Notion; create it in the Notion UI then.

    Raises:
        ValueError: unknown type, or a relation without ``data_source_id``.
    """
    _converter(prop_type)
    if prop_type == "number":
        return {"number": {"format": "number"}}
    if prop_type == "relation":
        if data_source_id is None:
            raise ValueError("a relation property needs the data_source_id of the related data source")
        return {
            "relation": {"data_source_id": data_source_id, "type": "single_property", "single_property": {}}
        }
    return {prop_type: {}}
