"""Pages: create, retrieve, update (properties and trash), property items, block delete.

* ``POST /v1/pages``: parent ``{"data_source_id"}``, ``{"database_id"}`` (single-source databases
  only) or ``{"page_id"}`` (then only ``title`` exists); ``properties`` checked by
  :mod:`.values`; ``icon``/``cover`` kept; ``children``, ``content``, ``markdown``, ``template``
  and ``position`` are accepted and ignored (the emulator keeps no page content). New pages get
  the default status option and the next ``unique_id`` number.
* ``GET /v1/pages/{id}``: the page object, ``filter_properties`` query parameters limit the
  properties; relations and people are cut at 25 (``has_more`` on relations). Trashed pages stay
  retrievable with ``in_trash: true``.
* ``PATCH /v1/pages/{id}``: ``properties``, ``icon``, ``cover``, ``is_locked``, ``in_trash`` /
  ``archived``. A page in the trash only accepts ``in_trash: false`` (with or without other
  changes); anything else answers ``Can't edit block that is archived. You must unarchive the
  block before editing.`` (API-FACTS §5.4). A relation value that itself says
  ``"has_more": true`` (a page object's cut list of 25, sent back) is refused with 400
  ``invalid_request`` ``Can't update page because has_more is set to true for page property
  '<name>'`` (the example error of DOC patch-page, API-FACTS §3): writing it would cut the
  relation to those 25. The docs give no more than that example; the emulator reads it as
  applying to the request's own value only, so a page whose stored relation is longer than 25
  takes any other update, and a full list (up to 100 ids, no ``has_more``) replaces it.
* ``GET /v1/pages/{id}/properties/{property_id}``: one ``property_item``, or for title,
  rich_text, relation and people a paginated list (recorded in
  ``test_pages_properties_retrieve.yaml``).
* ``DELETE /v1/blocks/{id}`` for a page or database: moves it to the trash, answers the block.

Every write sets ``last_edited_time`` and ``last_edited_by`` (the bot for API calls, a person for
the emulator's human edits). Dual relations are kept in step on both sides.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any, Literal

from . import errors
from .databases import property_ids
from .ids import new_id, parse_id, same_property_id
from .model import Database, DataSource, Page, PropertySchema
from .query import paginate, query_page_size
from .schema import SchemaEditor, find_property
from .values import ValueParser
from .workspace import Workspace, body_id, check_keys, icon_or_cover, path_id, trash_flag

_CREATE = ("parent", "properties", "icon", "cover", "content", "children", "markdown", "template", "position")
_UPDATE = ("properties", "icon", "cover", "is_locked", "template", "erase_content", "archived", "in_trash")
_LISTED = ("title", "rich_text", "relation", "people")


def create(ws: Workspace, body: Any, actor: str) -> dict[str, Any]:
    """Create a page in a data source or under a page."""
    body = check_keys(body, _CREATE)
    with ws.store.transaction():
        parent_type, parent_id = _parent(ws, body.get("parent", errors.UNDEFINED))
        editor = ws.editor()
        parser = ws.parser(editor)
        now = ws.now_ms()
        page = _new_page(ws, parent_type, parent_id, actor, now)
        page.icon = icon_or_cover(body.get("icon"), "body.icon")
        page.cover = icon_or_cover(body.get("cover"), "body.cover")
        requested = body.get("properties", {})
        if parent_type == "data_source":
            source = _fill_row(ws, editor, parser, page, requested, "body.properties")
            ws.store.put(page)
            _sync_relations(ws, source, page, {}, actor, now)
        else:
            page.values = {"title": parser.parse_title_only(requested) or []}
            ws.store.put(page)
        for source in editor.working.values():
            ws.store.put(source)
        return ws.render.page(page)


IMPORT_ROWS_PER_SECOND = 100.0
"""How fast a person's import creates pages by default. Notion publishes no figure; at this rate a
minute holds 6,000 pages, under the 10,000 results of one query, so a data source filled by
imports can be read in ``created_time`` windows (guide "Query large data sources"), as one
filled by any real import of hours of work can."""


def import_rows(
    ws: Workspace,
    raw_id: str,
    rows: Iterable[Any],
    actor: str,
    rows_per_second: float = IMPORT_ROWS_PER_SECOND,
) -> int:
    """Create one page per row (a ``properties`` object) in a data source, in one operation.

    Every row is checked like the ``properties`` of ``POST /v1/pages`` before any page is added,
    so a refused row leaves no trace. The pages are created one after the other at
    ``rows_per_second``, the last one at the clock's current time, as a real import spreads its
    pages over minutes (``created_time`` and ``last_edited_time`` are each page's own moment).
    Answers how many pages were created.

    Raises:
        NotionAPIError: like ``POST /v1/pages``, naming the row (``body.rows[i].properties``);
            ``validation_error`` for a ``rows_per_second`` that is not a positive number.
    """
    if (
        isinstance(rows_per_second, bool)
        or not isinstance(rows_per_second, int | float)
        or rows_per_second <= 0
    ):
        raise errors.validation("rows_per_second must be a positive number of pages per second.")
    with ws.store.transaction():
        source = ws.data_source(raw_id)
        _check_open(ws, source)
        editor = ws.editor()
        parser = ws.parser(editor)
        now = ws.now_ms()
        made = []
        for index, requested in enumerate(rows):
            page = _new_page(ws, "data_source", source.id, actor, now)
            _fill_row(ws, editor, parser, page, requested, f"body.rows[{index}].properties")
            made.append(page)
        source = editor.working.get(source.id, source)
        for index, page in enumerate(made):
            page.created_time = page.last_edited_time = now - round(
                (len(made) - 1 - index) * 1000 / rows_per_second
            )
            ws.store.put(page)
            _sync_relations(ws, source, page, {}, actor, page.created_time)
        for working in editor.working.values():
            ws.store.put(working)
        return len(made)


def retrieve(ws: Workspace, raw_id: str, filter_properties: list[str]) -> dict[str, Any]:
    """The page object."""
    with ws.store.transaction():
        page = ws.page(raw_id)
        source = _source_of(ws, page)
        only = (
            property_ids(source, filter_properties) if source else ({"title"} if filter_properties else None)
        )
        return ws.render.page(page, only)


def update(ws: Workspace, raw_id: str, body: Any, actor: str) -> dict[str, Any]:
    """Update a page's properties, icon, cover, lock or trash state."""
    body = check_keys(body, _UPDATE)
    with ws.store.transaction():
        original = ws.page(raw_id)
        trash = trash_flag(body)
        if original.in_trash and trash is not False:
            raise errors.archived_block()
        page = Page(**{**vars(original), "values": dict(original.values)})
        if trash is not None:
            page.in_trash = trash
        editor = ws.editor()
        if "properties" in body:
            _refuse_partial_relations(ws, page, body["properties"])
            if page.parent_type == "data_source":
                page.values.update(ws.parser(editor).parse(str(page.parent_id), body["properties"]))
            else:
                title = ws.parser(editor).parse_title_only(body["properties"])
                if title is not None:
                    page.values["title"] = title
        if "icon" in body:
            page.icon = icon_or_cover(body["icon"], "body.icon")
        if "cover" in body:
            page.cover = icon_or_cover(body["cover"], "body.cover")
        if "is_locked" in body:
            if not isinstance(body["is_locked"], bool):
                raise errors.body_invalid("body.is_locked", "a boolean", body["is_locked"])
            page.is_locked = body["is_locked"]
        now = ws.now_ms()
        page.last_edited_time = now
        page.last_edited_by = actor
        ws.store.put(page)
        source = _source_of(ws, page)
        if source is not None:
            _sync_relations(ws, editor.working.get(source.id, source), page, original.values, actor, now)
        for working in editor.working.values():
            ws.store.put(working)
        return ws.render.page(page)


def retrieve_property(
    ws: Workspace, raw_id: str, property_id: str, start_cursor: str | None, page_size: str | None
) -> dict[str, Any]:
    """A page property item, paginated for title, rich_text, relation and people."""
    size = query_page_size(page_size)
    with ws.store.transaction():
        page = ws.page(raw_id)
        source = _source_of(ws, page)
        if source is None:
            prop: PropertySchema | None = PropertySchema(id="title", name="title", type="title")
            if property_id != "title":
                prop = None
        else:
            prop = next((p for p in source.properties if same_property_id(p.id, property_id)), None)
        if prop is None:
            raise errors.NotionAPIError(
                404, "object_not_found", f"Could not find property with ID: {property_id}."
            )
        value = ws.render.values.value(prop, page)
        if prop.type not in _LISTED:
            return {"object": "property_item", **value}
        items = value[prop.type]
        keyed = [(_item_cursor(prop.type, item, index), item) for index, item in enumerate(items)]
        results, next_cursor = paginate(
            keyed, lambda pair: pair[0], lambda pair: True, start_cursor, size, "query.start_cursor"
        )
        next_url = None
        if next_cursor is not None:
            next_url = (
                f"https://api.notion.com/v1/pages/{page.id}/properties/{prop.id}?start_cursor={next_cursor}"
            )
        return {
            "object": "list",
            "results": [
                {"object": "property_item", "type": prop.type, "id": prop.id, prop.type: item}
                for _, item in results
            ],
            "next_cursor": next_cursor,
            "has_more": next_cursor is not None,
            "type": "property_item",
            "property_item": {"id": prop.id, "next_url": next_url, "type": prop.type, prop.type: {}},
        }


def delete_block(ws: Workspace, raw_id: str, actor: str) -> dict[str, Any]:
    """Move the page or database with this block id to the trash and answer its block object."""
    block_id = path_id(raw_id, "block_id")
    with ws.store.transaction():
        found: Page | Database | None = ws.store.pages.get(block_id) or ws.store.databases.get(block_id)
        if found is None:
            raise errors.not_found("block", block_id)
        if found.in_trash:
            raise errors.archived_block()
        target = copy.copy(found)
        target.in_trash = True
        target.last_edited_time = ws.now_ms()
        target.last_edited_by = actor
        ws.store.put(target)
        return ws.render.block(target)


def _parent(ws: Workspace, parent: Any) -> tuple[Any, str]:
    if not isinstance(parent, dict):
        raise errors.body_invalid("body.parent", "an object", parent)
    kind = parent.get("type") or next(
        (k for k in ("data_source_id", "database_id", "page_id") if k in parent), None
    )
    if kind == "data_source_id":
        source_id = body_id(parent.get("data_source_id"), "body.parent.data_source_id")
        source = ws.store.data_sources.get(source_id)
        if source is None:
            raise errors.not_found("data_source", source_id)
        _check_open(ws, source)
        return "data_source", source_id
    if kind == "database_id":
        database_id = body_id(parent.get("database_id"), "body.parent.database_id")
        database = ws.store.databases.get(database_id)
        if database is None:
            raise errors.not_found("database", database_id)
        if len(database.data_source_ids) != 1:
            raise errors.validation(
                "Database has multiple data sources; use a parent of type data_source_id to create a page in it."
            )
        _check_open(ws, ws.store.data_sources[database.data_source_ids[0]])
        return "data_source", database.data_source_ids[0]
    if kind == "page_id":
        page_id = body_id(parent.get("page_id"), "body.parent.page_id")
        page = ws.store.pages.get(page_id)
        if page is None:
            raise errors.not_found("page", page_id)
        if ws.in_trash(page):
            raise errors.archived_block()
        return "page", page_id
    raise errors.body_invalid("body.parent.data_source_id", "defined")


def _new_page(
    ws: Workspace, parent_type: Literal["data_source", "page"], parent_id: str, actor: str, now: int
) -> Page:
    """A page with no property values yet, created and last edited by ``actor`` at ``now``."""
    return Page(
        id=new_id(),
        seq=ws.store.next_seq(),
        parent_type=parent_type,
        parent_id=parent_id,
        values={},
        created_time=now,
        last_edited_time=now,
        created_by=actor,
        last_edited_by=actor,
    )


def _fill_row(
    ws: Workspace, editor: SchemaEditor, parser: ValueParser, page: Page, requested: Any, path: str
) -> DataSource:
    """Give a new page of a data source its checked values and defaults; answers the data
    source as the operation leaves it (a working copy once options or unique ids changed)."""
    source_id = str(page.parent_id)
    page.values = parser.parse(source_id, requested, path)
    if _numbers_pages(ws.store.data_sources[source_id]):
        editor.edit(source_id)  # the unique id counter moves on in a working copy
    source = editor.working.get(source_id) or ws.store.data_sources[source_id]
    _fill_defaults(source, page)
    return source


def _check_open(ws: Workspace, source: DataSource) -> None:
    if source.in_trash or ws.store.databases[source.database_id].in_trash:
        raise errors.archived_block()


def _source_of(ws: Workspace, page: Page) -> DataSource | None:
    return ws.store.data_sources.get(str(page.parent_id)) if page.parent_type == "data_source" else None


def _numbers_pages(source: DataSource) -> bool:
    return any(prop.type == "unique_id" for prop in source.properties)


def _fill_defaults(source: DataSource, page: Page) -> None:
    """Give a new page the default status option and the next unique id number."""
    for prop in source.properties:
        if prop.type == "status" and prop.id not in page.values:
            groups = prop.config.get("groups") or [{}]
            option_ids = groups[0].get("option_ids") or [o["id"] for o in prop.config.get("options", [])]
            page.values[prop.id] = option_ids[0] if option_ids else None
        elif prop.type == "unique_id":
            page.values[prop.id] = source.next_unique_id
    if _numbers_pages(source):
        source.next_unique_id += 1


def _sync_relations(
    ws: Workspace, source: DataSource, page: Page, before: dict[str, Any], actor: str, now: int
) -> None:
    """Mirror changes of dual relations onto the synced property of the related pages."""
    for prop in source.properties:
        dual = prop.config.get("dual_property") if prop.type == "relation" else None
        if not dual:
            continue
        old, new = set(before.get(prop.id, [])), set(page.values.get(prop.id, []))
        synced = dual["synced_property_id"]
        for other_id in old ^ new:
            other = page if other_id == page.id else ws.store.pages.get(other_id)
            if other is None:
                continue
            linked: list[str] = list(other.values.get(synced, []))
            if other_id in new and page.id not in linked:
                linked.append(page.id)
            elif other_id not in new and page.id in linked:
                linked.remove(page.id)
            other.values[synced] = linked
            if other is not page:
                other.last_edited_time, other.last_edited_by = now, actor
            ws.store.put(other)


def _refuse_partial_relations(ws: Workspace, page: Page, requested: Any) -> None:
    """Refuse a relation value sent with ``"has_more": true`` (see the module docstring)."""
    source = _source_of(ws, page)
    if source is None or not isinstance(requested, dict):
        return
    for key, value in requested.items():
        prop = find_property(source, key)
        if (
            prop is not None
            and prop.type == "relation"
            and isinstance(value, dict)
            and value.get("has_more") is True
        ):
            raise errors.invalid_request(
                f"Can't update page because has_more is set to true for page property '{prop.name}'"
            )


def _item_cursor(kind: str, item: dict[str, Any], index: int) -> str:
    """A UUID cursor for an item of a listed property: its own id, or one made from the index."""
    if kind in ("relation", "people"):
        object_id = parse_id(item.get("id"))
        if object_id:
            return object_id
    return f"00000000-0000-4000-8000-{index:012x}"
