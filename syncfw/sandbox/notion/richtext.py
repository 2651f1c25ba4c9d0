"""Rich text: request items checked against Notion's limits and turned into response items.

Request item (DOC rich-text; API-FACTS §4.2)::

    {"type": "text", "text": {"content": "...", "link": {"url": "..."} | null}, "annotations": {...}}
    {"mention": {"type": "user"|"page"|"database"|"date", ...}}   {"equation": {"expression": "..."}}

``type`` is optional. Response item (recorded in every cassette)::

    {"type": "text", "text": {"content": "...", "link": null},
     "annotations": {"bold": false, "italic": false, "strikethrough": false, "underline": false,
                     "code": false, "color": "default"},
     "plain_text": "...", "href": null}

Limits (DOC request-limits): ``text.content`` and ``text.link.url`` ≤ 2000 characters,
``equation.expression`` ≤ 1000, ≤ 100 items per array. Violations raise
:class:`~.errors.NotionAPIError` ``validation_error`` with the schema validator's message, e.g.
``body failed validation: body.properties.Notes.rich_text[0].text.content.length should be ≤ `2000`, instead was `2001`.``
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import errors
from .ids import compact, parse_id
from .timestamps import parse_iso

COLORS = ("default", "gray", "brown", "orange", "yellow", "green", "blue", "purple", "pink", "red")
"""Option and text colors (DOC); text annotations also take ``<color>_background``."""
ANNOTATION_COLORS = frozenset(COLORS) | {f"{color}_background" for color in COLORS if color != "default"}
_FLAGS = ("bold", "italic", "strikethrough", "underline", "code")
MAX_ITEMS = 100
MAX_CONTENT = 2000
MAX_EXPRESSION = 1000

MentionText = Callable[[str, str], str]
"""Gives the plain text of a mention: ``(kind, id) -> text`` for kind ``user``, ``page``, ``database``."""


def parse_rich_text(items: Any, path: str, mention_text: MentionText) -> list[dict[str, Any]]:
    """Check a rich text array from a request and return it in response shape.

    Args:
        items: the request value (must be a list of at most 100 items).
        path: the validator path of the array, e.g. ``body.properties.Notes.rich_text``.
        mention_text: resolves user/page/database names for mentions' ``plain_text``.

    Raises:
        NotionAPIError: ``validation_error`` naming the first offending item.
    """
    if not isinstance(items, list):
        raise errors.body_invalid(path, "an array", items)
    if len(items) > MAX_ITEMS:
        raise errors.too_long(f"{path}.length", MAX_ITEMS, len(items))
    return [_parse_item(item, f"{path}[{index}]", mention_text) for index, item in enumerate(items)]


def _parse_item(item: Any, path: str, mention_text: MentionText) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise errors.body_invalid(path, "an object", item)
    kind = item.get("type") or next((key for key in ("text", "mention", "equation") if key in item), None)
    if kind not in ("text", "mention", "equation") or not isinstance(item.get(kind), dict):
        raise errors.body_invalid(f"{path}.text", "defined", item.get("text", errors.UNDEFINED))
    annotations = _annotations(item.get("annotations"), f"{path}.annotations")
    if kind == "text":
        text, href = _text(item["text"], f"{path}.text")
        return _item("text", text, annotations, text["content"], href)
    if kind == "equation":
        expression = item["equation"].get("expression")
        if not isinstance(expression, str):
            raise errors.body_invalid(f"{path}.equation.expression", "a string", expression)
        if len(expression) > MAX_EXPRESSION:
            raise errors.too_long(f"{path}.equation.expression.length", MAX_EXPRESSION, len(expression))
        return _item("equation", {"expression": expression}, annotations, expression, None)
    mention, plain, href = _mention(item["mention"], f"{path}.mention", mention_text)
    return _item("mention", mention, annotations, plain, href)


def _item(
    kind: str, body: dict[str, Any], annotations: dict[str, Any], plain: str, href: str | None
) -> dict[str, Any]:
    return {"type": kind, kind: body, "annotations": annotations, "plain_text": plain, "href": href}


def _text(text: dict[str, Any], path: str) -> tuple[dict[str, Any], str | None]:
    content = text.get("content", errors.UNDEFINED)
    if not isinstance(content, str):
        raise errors.body_invalid(f"{path}.content", "a string", content)
    if len(content) > MAX_CONTENT:
        raise errors.too_long(f"{path}.content.length", MAX_CONTENT, len(content))
    link = text.get("link")
    if link is None:
        return {"content": content, "link": None}, None
    url = link.get("url") if isinstance(link, dict) else None
    if not isinstance(url, str):
        raise errors.body_invalid(f"{path}.link.url", "a string", url if isinstance(link, dict) else link)
    if len(url) > MAX_CONTENT:
        raise errors.too_long(f"{path}.link.url.length", MAX_CONTENT, len(url))
    return {"content": content, "link": {"url": url}}, url


def _annotations(given: Any, path: str) -> dict[str, Any]:
    result: dict[str, Any] = {flag: False for flag in _FLAGS}
    result["color"] = "default"
    if given is None:
        return result
    if not isinstance(given, dict):
        raise errors.body_invalid(path, "an object", given)
    for key, value in given.items():
        if key in _FLAGS:
            if not isinstance(value, bool):
                raise errors.body_invalid(f"{path}.{key}", "a boolean", value)
        elif key == "color":
            if value not in ANNOTATION_COLORS:
                raise errors.body_invalid(f"{path}.color", "a valid color", value)
        else:
            raise errors.body_invalid(f"{path}.{key}", "not present", value)
        result[key] = value
    return result


def _mention(
    mention: dict[str, Any], path: str, mention_text: MentionText
) -> tuple[dict[str, Any], str, str | None]:
    kind = mention.get("type") or next(
        (key for key in ("user", "page", "database", "date") if key in mention), None
    )
    body = mention.get(kind) if kind else None
    if kind in ("user", "page", "database") and isinstance(body, dict):
        target = parse_id(body.get("id"))
        if target is None:
            raise errors.body_invalid(f"{path}.{kind}.id", "a valid uuid", body.get("id", errors.UNDEFINED))
        if kind == "user":
            return (
                {"type": "user", "user": {"object": "user", "id": target}},
                mention_text("user", target),
                None,
            )
        href = f"https://www.notion.so/{compact(target)}"
        return {"type": kind, kind: {"id": target}}, mention_text(kind, target), href
    if kind == "date" and isinstance(body, dict) and parse_iso(body.get("start")) is not None:
        date = {"start": body["start"], "end": body.get("end"), "time_zone": body.get("time_zone")}
        return {"type": "date", "date": date}, str(body["start"]), None
    raise errors.body_invalid(f"{path}.user", "defined", mention.get("user", errors.UNDEFINED))


def text_items(content: str) -> list[dict[str, Any]]:
    """A one-item rich text array holding ``content`` (for names the emulator writes itself)."""
    return parse_rich_text([{"text": {"content": content}}], "body", lambda kind, target: "")


def plain_text(items: list[dict[str, Any]]) -> str:
    """The concatenated ``plain_text`` of a response-shaped rich text array."""
    return "".join(item["plain_text"] for item in items)
