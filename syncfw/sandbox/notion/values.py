"""Page property values: request values checked against the schema, and response values.

Requests key properties by name or id and give ``{"<type>": value}`` (``type`` optional); title
and rich text may also be given as a bare array (the recorded page creates do). Each value is
checked as the real service does (API-FACTS §2.4, §3, §4.2):

* an unknown property: ``"Colour is not a property that exists."``
* another writable type than the schema's: ``"Name is expected to be rich_text."``
* a read-only type (formula, rollup, created_time, created_by, last_edited_time, last_edited_by,
  unique_id, button): the validator's "Fix one" list of the writable types
* rich text over 2000 characters or 100 items; url over 2000, email and phone over 200
  characters; more than 100 multi-select options, relations or people: ``should be ≤``
* select and multi-select names with a comma are refused; unknown names create the option (with
  a color) in the data source schema; status names must exist:
  ``Invalid status option. Status option "X" does not exist".``
* dates must be ISO 8601: ``body.properties.Due.date.start should be a valid ISO 8601 date string``
* related pages must exist (404 ``object_not_found``) and belong to the related data source
* ``null`` clears a value; ``""`` is refused for url, email and phone number (use ``null``)

Response values are ``{"id": "<property id>", "type": "<type>", "<type>": value}`` in the shapes of
API-FACTS §4.2; relations carry ``has_more`` and, like people, are cut at 25 items in page objects.
"""

from __future__ import annotations

import math
from typing import Any

from . import errors
from .ids import parse_id
from .model import DataSource, Page, PropertySchema, User
from .richtext import COLORS, MentionText, parse_rich_text
from .schema import (
    READ_ONLY_TYPES,
    WRITABLE_TYPES,
    SchemaEditor,
    add_option,
    check_option_name,
    find_property,
)
from .store import Store
from .timestamps import minute_iso, parse_iso, response_date

PAGE_REFERENCE_LIMIT = 25
"""Relations and people in a page object stop at 25 items (DOC request-limits)."""
_MAX_ITEMS = 100
_MAX_URL = 2000
_MAX_CONTACT = 200


class ValueParser:
    """Checks page property writes against one data source's schema.

    Options created by select and multi-select writes go to the editor's working copy of the data
    source (made on the first new option); the caller stores the editor's working copies only
    when the whole request is valid.
    """

    def __init__(self, store: Store, editor: SchemaEditor, mention_text: MentionText) -> None:
        self._store = store
        self._editor = editor
        self._mention_text = mention_text
        self._source_id = ""

    def parse(self, source_id: str, requested: Any, path: str = "body.properties") -> dict[str, Any]:
        """Validate a ``properties`` object and return the stored values by property id.

        Raises:
            NotionAPIError: ``validation_error`` (or 404 for a missing related page) for the first
                property that is wrong.
        """
        if not isinstance(requested, dict):
            raise errors.body_invalid(path, "an object", requested)
        self._source_id = source_id
        source = self._editor.working.get(source_id) or self._store.data_sources[source_id]
        parsed: dict[str, Any] = {}
        for key, value in requested.items():
            prop = find_property(source, key)
            if prop is None:
                raise errors.validation(f"{key} is not a property that exists.")
            parsed[prop.id] = self._value(prop, value, f"{path}.{key}")
        return parsed

    def parse_title_only(self, requested: Any, path: str = "body.properties") -> list[dict[str, Any]] | None:
        """Validate the properties of a page whose parent is a page: only ``title`` exists.

        Returns the title in response shape, or ``None`` if the request does not set it.
        """
        if not isinstance(requested, dict):
            raise errors.body_invalid(path, "an object", requested)
        title = None
        for key, value in requested.items():
            if key != "title":
                raise errors.validation(f"{key} is not a property that exists.")
            title_prop = PropertySchema(id="title", name="title", type="title")
            title = self._value(title_prop, value, f"{path}.title")
        return title

    def _value(self, prop: PropertySchema, value: Any, path: str) -> Any:
        if isinstance(value, list) and prop.type in ("title", "rich_text"):
            value = {prop.type: value}
        if value is None:
            return empty_value(prop.type)
        if not isinstance(value, dict):
            raise errors.validation(f"{prop.name} is expected to be {prop.type}.")
        if prop.type not in value:
            if any(kind in value for kind in WRITABLE_TYPES):
                raise errors.validation(f"{prop.name} is expected to be {prop.type}.")
            raise _fix_one(path)
        if prop.type in READ_ONLY_TYPES:
            raise _fix_one(path)
        return self._typed(prop, value[prop.type], f"{path}.{prop.type}")

    def _typed(self, prop: PropertySchema, value: Any, path: str) -> Any:
        kind = prop.type
        if kind in ("title", "rich_text"):
            return [] if value is None else parse_rich_text(value, path, self._mention_text)
        if value is None:
            return empty_value(kind)
        if kind == "number":
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                raise errors.validation(f"{prop.name} is expected to be number.")
            return value
        if kind == "checkbox":
            if not isinstance(value, bool):
                raise errors.validation(f"{prop.name} is expected to be checkbox.")
            return value
        if kind in ("url", "email", "phone_number"):
            return _string(prop, value, path, _MAX_URL if kind == "url" else _MAX_CONTACT)
        if kind in ("select", "status"):
            return self._option(prop, value, path)
        if kind == "multi_select":
            items = _array(value, path)
            return list(
                dict.fromkeys(self._option(prop, item, f"{path}[{i}]") for i, item in enumerate(items))
            )
        if kind == "date":
            return _date(value, path)
        if kind == "people":
            return list(
                dict.fromkeys(_user_id(item, f"{path}[{i}]") for i, item in enumerate(_array(value, path)))
            )
        if kind == "relation":
            return self._relation(prop, _array(value, path), path)
        if kind == "files":
            return [_file(item, f"{path}[{i}]") for i, item in enumerate(_array(value, path))]
        raise _fix_one(path.rsplit(".", 1)[0])

    def _option(self, prop: PropertySchema, value: Any, path: str) -> str:
        working = self._editor.working.get(self._source_id)
        prop = find_property(working, prop.id) or prop
        if not isinstance(value, dict):
            raise errors.validation(f"{prop.name} is expected to be {prop.type}.")
        options: list[dict[str, Any]] = prop.config.get("options", [])
        if "id" in value:
            option = next((o for o in options if o["id"] == value["id"]), None)
            if option is None:
                raise errors.body_invalid(f"{path}.id", "the id of an existing option", value["id"])
            return str(option["id"])
        name = value.get("name", errors.UNDEFINED)
        if not isinstance(name, str) or not name:
            raise errors.body_invalid(f"{path}.name", "a non-empty string", name)
        option = next((o for o in options if o["name"] == name), None)
        if option is not None:
            return str(option["id"])
        if prop.type == "status":
            raise errors.validation(f'Invalid status option. Status option "{name}" does not exist".')
        check_option_name(name)
        color = value.get("color")
        if color is not None and color not in COLORS:
            raise errors.body_invalid(f"{path}.color", "a valid color", color)
        working = self._editor.edit(self._source_id)
        target = find_property(working, prop.id)
        assert target is not None
        return str(add_option(target, name, color)["id"])

    def _relation(self, prop: PropertySchema, items: list[Any], path: str) -> list[str]:
        target = prop.config.get("data_source_id")
        related: list[str] = []
        for index, item in enumerate(items):
            raw = item.get("id", errors.UNDEFINED) if isinstance(item, dict) else item
            page_id = parse_id(raw)
            if page_id is None:
                raise errors.body_invalid(f"{path}[{index}].id", "a valid uuid", raw)
            page = self._store.pages.get(page_id)
            if page is None:
                raise errors.not_found("page", page_id)
            if page.parent_id != target:
                raise errors.validation(
                    f"Relation {prop.name} can only link pages of data source {target}; page {page_id} is not one."
                )
            if page_id not in related:
                related.append(page_id)
        return related


def _fix_one(path: str) -> errors.NotionAPIError:
    """The validator's answer to a value of no writable type (recorded for formula and created_by)."""
    lines = [f"{path}.{kind} should be defined, instead was `undefined`." for kind in WRITABLE_TYPES]
    return errors.validation("body failed validation. Fix one:\n" + "\n".join(lines))


def _array(value: Any, path: str) -> list[Any]:
    if not isinstance(value, list):
        raise errors.body_invalid(path, "an array", value)
    if len(value) > _MAX_ITEMS:
        raise errors.too_long(f"{path}.length", _MAX_ITEMS, len(value))
    return value


def _string(prop: PropertySchema, value: Any, path: str, limit: int) -> str:
    if not isinstance(value, str):
        raise errors.validation(f"{prop.name} is expected to be {prop.type}.")
    if not value:
        raise errors.body_invalid(path, "populated or `null`", value)
    if len(value) > limit:
        raise errors.too_long(f"{path}.length", limit, len(value))
    return value


def _date(value: Any, path: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise errors.body_invalid(path, "an object or `null`", value)
    time_zone = value.get("time_zone")
    if time_zone is not None and not isinstance(time_zone, str):
        raise errors.body_invalid(f"{path}.time_zone", "a string or `null`", time_zone)
    start = value.get("start", errors.UNDEFINED)
    if parse_iso(start) is None:
        raise errors.body_invalid(f"{path}.start", "a valid ISO 8601 date string", start)
    end = value.get("end")
    if end is not None and parse_iso(end) is None:
        raise errors.body_invalid(f"{path}.end", "a valid ISO 8601 date string", end)
    return {
        "start": response_date(start, time_zone=time_zone),
        "end": None if end is None else response_date(end, time_zone=time_zone),
        "time_zone": time_zone,
    }


def _user_id(item: Any, path: str) -> str:
    raw = item.get("id", errors.UNDEFINED) if isinstance(item, dict) else item
    user_id = parse_id(raw)
    if user_id is None:
        raise errors.body_invalid(f"{path}.id", "a valid uuid", raw)
    return user_id


def _file(item: Any, path: str) -> dict[str, Any]:
    external = item.get("external") if isinstance(item, dict) else None
    url = external.get("url") if isinstance(external, dict) else None
    if not isinstance(url, str) or not url:
        raise errors.body_invalid(
            f"{path}.external.url", "a string", url if url is not None else errors.UNDEFINED
        )
    if len(url) > _MAX_URL:
        raise errors.too_long(f"{path}.external.url.length", _MAX_URL, len(url))
    assert isinstance(item, dict)
    return {"name": str(item.get("name") or url), "type": "external", "external": {"url": url}}


def empty_value(kind: str) -> Any:
    """The stored value of an unset property of type ``kind``."""
    if kind in ("title", "rich_text", "multi_select", "people", "relation", "files"):
        return []
    if kind == "checkbox":
        return False
    return None


def user_json(user: User | None, user_id: str) -> dict[str, Any]:
    """A user object: full for a known user, ``{"object","id"}`` otherwise."""
    if user is None:
        return {"object": "user", "id": user_id}
    detail: dict[str, Any] = {"email": user.email} if user.type == "person" else {}
    return {
        "object": "user",
        "id": user.id,
        "name": user.name,
        "avatar_url": None,
        "type": user.type,
        user.type: detail,
    }


class ValueRenderer:
    """Turns stored page values into response values."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def page_properties(
        self, source: DataSource, page: Page, only: set[str] | None = None
    ) -> dict[str, dict[str, Any]]:
        """Every schema property of ``page`` (or those in ``only``), as in a page object."""
        return {
            prop.name: self.value(prop, page, limit=PAGE_REFERENCE_LIMIT)
            for prop in source.properties
            if only is None or prop.id in only
        }

    def value(self, prop: PropertySchema, page: Page, *, limit: int | None = None) -> dict[str, Any]:
        """``{"id","type","<type>": value}`` for one property; lists cut at ``limit`` items."""
        stored = page.values.get(prop.id, empty_value(prop.type))
        result: dict[str, Any] = {"id": prop.id, "type": prop.type}
        if prop.type == "relation":
            result["relation"] = [{"id": page_id} for page_id in stored[:limit]]
            result["has_more"] = limit is not None and len(stored) > limit
            return result
        if prop.type == "people":
            result["people"] = [self.user(user_id) for user_id in stored[:limit]]
            return result
        result[prop.type] = (
            self._computed(prop, page) if prop.type in READ_ONLY_TYPES else _shown(prop, stored)
        )
        return result

    def user(self, user_id: str) -> dict[str, Any]:
        """The user object for ``user_id``."""
        return user_json(self._store.users.get(user_id), user_id)

    def _computed(self, prop: PropertySchema, page: Page) -> Any:
        kind = prop.type
        if kind == "created_time":
            return minute_iso(page.created_time)
        if kind == "last_edited_time":
            return minute_iso(page.last_edited_time)
        if kind in ("created_by", "last_edited_by"):
            return {"object": "user", "id": page.created_by if kind == "created_by" else page.last_edited_by}
        if kind == "unique_id":
            return {"prefix": prop.config.get("prefix"), "number": page.values.get(prop.id)}
        if kind == "formula":
            return {"type": "string", "string": None}
        if kind == "rollup":
            function = prop.config.get("function")
            if function in ("show_original", "show_unique"):
                return {"type": "array", "array": [], "function": function}
            if function in ("earliest_date", "latest_date", "date_range"):
                return {"type": "date", "date": None, "function": function}
            return {"type": "number", "number": None, "function": function}
        return {}


def _shown(prop: PropertySchema, stored: Any) -> Any:
    if prop.type in ("select", "status"):
        return _option_json(prop, stored)
    if prop.type == "multi_select":
        options = [_option_json(prop, option_id) for option_id in stored]
        return [option for option in options if option is not None]
    return stored


def _option_json(prop: PropertySchema, option_id: str | None) -> dict[str, Any] | None:
    for option in prop.config.get("options", []):
        if option["id"] == option_id:
            return {"id": option["id"], "name": option["name"], "color": option["color"]}
    return None
