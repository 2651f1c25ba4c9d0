"""Databases and data sources (Notion-Version 2025-09-03; API-FACTS §1.2, §4.3).

* ``POST /v1/databases``: ``parent: {"type": "page_id", "page_id"}``, ``title``, ``description``,
  ``is_inline``, ``icon``, ``cover``, ``initial_data_source: {"properties": {...}}`` (default
  schema ``{"Name": title}``). Creates the container and its first data source, named like the
  database. A top-level ``properties`` key is refused (it is no body parameter any more).
* ``GET/PATCH /v1/databases/{id}``: the container (no schema); PATCH takes ``title``,
  ``description``, ``is_inline``, ``icon``, ``cover``, ``in_trash``, ``is_locked``, ``parent``.
* ``POST /v1/data_sources``: another data source in a database
  (``parent: {"type": "database_id", "database_id"}``, ``properties``, ``title``, ``icon``).
* ``GET/PATCH /v1/data_sources/{id}``: schema and title; PATCH ``properties`` adds, renames
  (``{"name"}``), removes (``null``) and retypes properties (values of removed or retyped
  properties are dropped from the pages); ``in_trash``/``archived`` move it to the trash.
* ``POST /v1/data_sources/{id}/query``: filters and sorts as in :mod:`.query`. One query (its
  filter, sorts and trash flag) returns at most ``query_cap`` results (10,000 by default) over
  all its pages: past that, pagination stops (``has_more: false``, ``next_cursor: null``) and
  every page of the query, the first included, carries
  ``"request_status": {"type": "incomplete", "incomplete_reason": "query_result_limit_reached"}``
  (developers.notion.com, "Query a data source", section "Pagination limit", and the guide
  "Query large data sources"). A query under the cap carries no ``request_status``: the docs
  say a page *can* include one, and a third party's recording of real responses
  (2026-08-17, ``Notion-Version: 2026-03-11``) found the key absent from uncapped queries.
  Reading past the cap takes narrower queries, e.g. ``created_time`` windows sorted by
  ``created_time`` (the guide's technique, see :mod:`.timestamps` for the precision).

Writes to a database or data source in the trash, other than taking it out, answer
``Can't edit block that is archived. You must unarchive the block before editing.``
"""

from __future__ import annotations

import json
from typing import Any

from . import errors
from .ids import new_id
from .model import Database, DataSource
from .query import INCOMPLETE, Query, page_size_of
from .richtext import parse_rich_text
from .schema import SchemaChange, SchemaEditor, find_property
from .workspace import Workspace, body_id, check_keys, icon_or_cover, trash_flag

_CREATE_DATABASE = ("parent", "title", "description", "is_inline", "initial_data_source", "icon", "cover")
_UPDATE_DATABASE = (
    "parent",
    "title",
    "description",
    "is_inline",
    "icon",
    "cover",
    "in_trash",
    "archived",
    "is_locked",
)
_CREATE_SOURCE = ("parent", "properties", "title", "icon", "description")
_UPDATE_SOURCE = ("title", "icon", "properties", "in_trash", "archived", "parent", "description")
_QUERY = ("sorts", "filter", "start_cursor", "page_size", "archived", "in_trash", "result_type")


def create_database(ws: Workspace, body: Any, actor: str) -> dict[str, Any]:
    """Create a database and its initial data source under a page."""
    body = check_keys(body, (*_CREATE_DATABASE, "properties"))
    if "properties" in body:
        raise errors.body_invalid("body.properties", "not present", body["properties"])
    with ws.store.transaction():
        parent_id = _parent_page(ws, body.get("parent", errors.UNDEFINED))
        title = _rich_text(ws, body.get("title"), "body.title")
        initial = body.get("initial_data_source") or {}
        if not isinstance(initial, dict):
            raise errors.body_invalid("body.initial_data_source", "an object", initial)
        now = ws.now_ms()
        database = Database(
            id=new_id(),
            seq=ws.store.next_seq(),
            title=title,
            parent_page_id=parent_id,
            created_time=now,
            last_edited_time=now,
            created_by=actor,
            last_edited_by=actor,
            description=_rich_text(ws, body.get("description"), "body.description"),
            is_inline=_flag(body, "is_inline", False),
            icon=icon_or_cover(body.get("icon"), "body.icon"),
            cover=icon_or_cover(body.get("cover"), "body.cover"),
        )
        source = _new_source(ws, database, title, actor, now)
        editor = ws.editor()
        editor.build(
            source, initial.get("properties"), "body.initial_data_source.properties", require_title=True
        )
        database.data_source_ids.append(source.id)
        ws.store.put(database)
        _put_working(ws, editor)
        return ws.render.database(database)


def retrieve_database(ws: Workspace, raw_id: str) -> dict[str, Any]:
    """The database container."""
    with ws.store.transaction():
        return ws.render.database(ws.database(raw_id))


def update_database(ws: Workspace, raw_id: str, body: Any, actor: str) -> dict[str, Any]:
    """Change a database's title, description, flags, icon, cover, parent or trash state."""
    body = check_keys(body, _UPDATE_DATABASE)
    with ws.store.transaction():
        database = ws.database(raw_id)
        trash = trash_flag(body)
        database = _copy(database)
        if database.in_trash and trash is not False:
            raise errors.archived_block()
        if trash is not None:
            database.in_trash = trash
        if "parent" in body:
            database.parent_page_id = _parent_page(ws, body["parent"])
        if "title" in body:
            database.title = _rich_text(ws, body["title"], "body.title")
        if "description" in body:
            database.description = _rich_text(ws, body["description"], "body.description")
        database.is_inline = _flag(body, "is_inline", database.is_inline)
        database.is_locked = _flag(body, "is_locked", database.is_locked)
        if "icon" in body:
            database.icon = icon_or_cover(body["icon"], "body.icon")
        if "cover" in body:
            database.cover = icon_or_cover(body["cover"], "body.cover")
        database.last_edited_time = ws.now_ms()
        database.last_edited_by = actor
        ws.store.put(database)
        return ws.render.database(database)


def create_data_source(ws: Workspace, body: Any, actor: str) -> dict[str, Any]:
    """Add a data source to an existing database."""
    body = check_keys(body, _CREATE_SOURCE)
    with ws.store.transaction():
        parent = body.get("parent", errors.UNDEFINED)
        if not isinstance(parent, dict):
            raise errors.body_invalid("body.parent", "an object", parent)
        database_id = body_id(parent.get("database_id"), "body.parent.database_id")
        database = ws.store.databases.get(database_id)
        if database is None:
            raise errors.not_found("database", database_id)
        if database.in_trash:
            raise errors.archived_block()
        if "properties" not in body:
            raise errors.body_invalid("body.properties", "defined")
        now = ws.now_ms()
        database = _copy(database)
        source = _new_source(ws, database, _rich_text(ws, body.get("title"), "body.title"), actor, now)
        source.icon = icon_or_cover(body.get("icon"), "body.icon")
        source.description = _rich_text(ws, body.get("description"), "body.description")
        editor = ws.editor()
        editor.build(source, body["properties"], "body.properties", require_title=True)
        database.data_source_ids.append(source.id)
        ws.store.put(database)
        _put_working(ws, editor)
        return ws.render.data_source(source)


def retrieve_data_source(ws: Workspace, raw_id: str) -> dict[str, Any]:
    """The data source with its schema."""
    with ws.store.transaction():
        return ws.render.data_source(ws.data_source(raw_id))


def update_data_source(ws: Workspace, raw_id: str, body: Any, actor: str) -> dict[str, Any]:
    """Change a data source's schema, title, icon or trash state."""
    body = check_keys(body, _UPDATE_SOURCE)
    if "parent" in body:
        raise errors.invalid_request("Unsupported request: moving a data source (not emulated).")
    with ws.store.transaction():
        original = ws.data_source(raw_id)
        trash = trash_flag(body)
        if original.in_trash and trash is not False:
            raise errors.archived_block()
        editor = ws.editor()
        source = editor.edit(original.id)
        assert source is not None
        if trash is not None:
            source.in_trash = trash
        if "title" in body:
            source.title = _rich_text(ws, body["title"], "body.title")
        if "description" in body:
            source.description = _rich_text(ws, body["description"], "body.description")
        if "icon" in body:
            source.icon = icon_or_cover(body["icon"], "body.icon")
        change = SchemaChange()
        if "properties" in body:
            change = editor.update(source, body["properties"], "body.properties")
        source.last_edited_time = ws.now_ms()
        source.last_edited_by = actor
        _follow_schema(ws, source, change)
        _put_working(ws, editor)
        return ws.render.data_source(source)


def query_data_source(
    ws: Workspace, raw_id: str, body: Any, filter_properties: list[str], cap: int
) -> dict[str, Any]:
    """One page of the data source's pages that match the filter, in sort order, within the
    query's result cap (``cap`` results at most over all pages; see :class:`.query.ResultCap`)."""
    body = check_keys(body, _QUERY)
    with ws.store.transaction():
        source = ws.data_source(raw_id)
        query = Query(ws.store, source, body.get("filter"), body.get("sorts"), ws.now_ms())
        size = page_size_of(body.get("page_size"))
        trashed = trash_flag(body) or False
        result_type = body.get("result_type")
        if result_type not in (None, "page", "data_source"):
            raise errors.body_invalid(
                "body.result_type", '`"page"`, `"data_source"` or `undefined`', result_type
            )
        only = property_ids(source, filter_properties)
        order = json.dumps(body.get("sorts"), sort_keys=True)
        ordered, positions = ws.store.ordered_pages(source.id, order, query.key)
        signature = json.dumps([source.id, body.get("filter"), order, trashed, result_type], sort_keys=True)
        results, next_cursor, capped = ws.result_cap.page(
            signature,
            ordered,
            lambda page: page.id,
            lambda page: result_type != "data_source" and page.in_trash == trashed and query.matches(page),
            body.get("start_cursor"),
            size,
            cap,
            positions=positions,
        )
        answer: dict[str, Any] = {
            "object": "list",
            "results": [ws.render.page(page, only) for page in results],
            "next_cursor": next_cursor,
            "has_more": next_cursor is not None,
            "type": "page_or_data_source",
            "page_or_data_source": {},
        }
        if capped:
            answer["request_status"] = dict(INCOMPLETE)
        return answer


def property_ids(source: DataSource, keys: list[str]) -> set[str] | None:
    """The property ids ``filter_properties`` names (by id or name), or ``None`` for all."""
    if not keys:
        return None
    ids = set()
    for key in keys:
        prop = find_property(source, key)
        if prop is None:
            raise errors.validation(f"Could not find property with name or id: {key}")
        ids.add(prop.id)
    return ids


def _follow_schema(ws: Workspace, source: DataSource, change: SchemaChange) -> None:
    """Drop the values of removed or retyped properties and number pages for new unique ids."""
    if not change.cleared and not change.numbered:
        return
    for page in ws.store.pages_by_source[source.id].values():
        for prop_id in change.cleared & page.values.keys():
            del page.values[prop_id]
        for prop_id in change.numbered:
            page.values[prop_id] = source.next_unique_id
            source.next_unique_id += 1
        ws.store.put(page)


def _new_source(ws: Workspace, database: Database, title: list[Any], actor: str, now: int) -> DataSource:
    return DataSource(
        id=new_id(),
        seq=ws.store.next_seq(),
        database_id=database.id,
        title=title,
        properties=[],
        created_time=now,
        last_edited_time=now,
        created_by=actor,
        last_edited_by=actor,
    )


def _put_working(ws: Workspace, editor: SchemaEditor) -> None:
    for source in editor.working.values():
        ws.store.put(source)


def _parent_page(ws: Workspace, parent: Any) -> str:
    if not isinstance(parent, dict):
        raise errors.body_invalid("body.parent", "an object", parent)
    if parent.get("type", "page_id") != "page_id":
        raise errors.body_invalid("body.parent.type", '`"page_id"`', parent.get("type"))
    page_id = body_id(parent.get("page_id"), "body.parent.page_id")
    page = ws.store.pages.get(page_id)
    if page is None:
        raise errors.not_found("page", page_id)
    if ws.in_trash(page):
        raise errors.archived_block()
    return page_id


def _rich_text(ws: Workspace, value: Any, path: str) -> list[Any]:
    return [] if value is None else parse_rich_text(value, path, ws.render.mention_text)


def _flag(body: dict[str, Any], key: str, default: bool) -> bool:
    value = body.get(key, default)
    if not isinstance(value, bool):
        raise errors.body_invalid(f"body.{key}", "a boolean", value)
    return value


def _copy(database: Database) -> Database:
    return Database(**{**vars(database), "data_source_ids": list(database.data_source_ids)})
