"""``POST /v1/search``: pages and data sources whose title contains the query.

Body (DOC post-search; API-FACTS §1.2, §5.2): ``query`` (case-insensitive substring of the title;
a data source also matches on its database's title), ``filter: {"property": "object", "value":
"page" | "data_source"}``, ``sort: {"timestamp": "last_edited_time", "direction"}`` (default: most
recently edited first), ``start_cursor``, ``page_size``. Objects in the trash (or in a trashed
data source or database) are left out. The answer is a list of
``"type": "page_or_data_source"`` (recorded in ``test_search.yaml``).
"""

from __future__ import annotations

from typing import Any

from . import errors
from .model import DataSource, Page
from .query import page_size_of, paginate
from .richtext import plain_text
from .workspace import Workspace, check_keys

_KEYS = ("query", "sort", "filter", "start_cursor", "page_size")


def search(ws: Workspace, body: Any) -> dict[str, Any]:
    """One page of search results."""
    body = check_keys(body, _KEYS)
    text = body.get("query") or ""
    if not isinstance(text, str):
        raise errors.body_invalid("body.query", "a string or `undefined`", text)
    kinds = _object_filter(body.get("filter"))
    descending = _descending(body.get("sort"))
    size = page_size_of(body.get("page_size"))
    needle = text.casefold()
    with ws.store.transaction():
        candidates: list[Page | DataSource] = []
        if "page" in kinds:
            candidates.extend(page for page in ws.store.pages.values() if not ws.in_trash(page))
        if "data_source" in kinds:
            candidates.extend(
                source
                for source in ws.store.data_sources.values()
                if not source.in_trash and not ws.store.databases[source.database_id].in_trash
            )
        matching = [obj for obj in candidates if needle in searchable_text(ws, obj).casefold()]
        matching.sort(key=lambda obj: (obj.last_edited_time, obj.seq), reverse=descending)
        results, next_cursor = paginate(
            matching, lambda obj: obj.id, lambda obj: True, body.get("start_cursor"), size
        )
        return {
            "object": "list",
            "results": [
                ws.render.page(obj) if isinstance(obj, Page) else ws.render.data_source(obj)
                for obj in results
            ],
            "next_cursor": next_cursor,
            "has_more": next_cursor is not None,
            "type": "page_or_data_source",
            "page_or_data_source": {},
        }


def searchable_text(ws: Workspace, obj: Page | DataSource) -> str:
    """The text search matches: a page's title; a data source's and its database's titles."""
    if isinstance(obj, Page):
        return ws.render.page_title(obj)
    database = ws.store.databases[obj.database_id]
    return f"{plain_text(obj.title)}\n{plain_text(database.title)}"


def _object_filter(spec: Any) -> tuple[str, ...]:
    if spec is None:
        return ("page", "data_source")
    if not isinstance(spec, dict):
        raise errors.body_invalid("body.filter", "an object", spec)
    if spec.get("property") != "object":
        raise errors.body_invalid(
            "body.filter.property", '`"object"`', spec.get("property", errors.UNDEFINED)
        )
    value = spec.get("value", errors.UNDEFINED)
    if value not in ("page", "data_source"):
        raise errors.body_invalid("body.filter.value", '`"page"` or `"data_source"`', value)
    return (str(value),)


def _descending(spec: Any) -> bool:
    if spec is None:
        return True
    if not isinstance(spec, dict):
        raise errors.body_invalid("body.sort", "an object", spec)
    if spec.get("timestamp") != "last_edited_time":
        raise errors.validation('body.sort.timestamp should be "last_edited_time" when sorting by timestamp.')
    direction = spec.get("direction", "descending")
    if direction not in ("ascending", "descending"):
        raise errors.body_invalid("body.sort.direction", '`"ascending"` or `"descending"`', direction)
    return bool(direction == "descending")
