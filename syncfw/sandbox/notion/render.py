"""Response shapes of pages, data sources, databases and blocks (Notion-Version 2025-09-03).

Key order and value types follow the recordings in ``shared/reference/notion/cassettes``:

* page (``test_pages_create.yaml``): ``object, id, created_time, last_edited_time, created_by,
  last_edited_by, cover, icon, parent, in_trash, is_archived, is_locked, properties, url,
  public_url, archived``; a page of a data source has parent
  ``{"type": "data_source_id", "data_source_id", "database_id"}`` (API-FACTS §1.2);
* data source (``test_data_sources_retrieve.yaml``): ``object, id, cover, icon, created_time,
  created_by, last_edited_by, last_edited_time, title, description, is_inline, properties,
  parent, database_parent, url, public_url, in_trash, archived``;
* database (``test_databases_create.yaml``): ``object, id, title, description, parent, is_inline,
  in_trash, is_locked, created_time, last_edited_time, data_sources, icon, cover, url,
  public_url, archived`` with millisecond ``+00:00`` times;
* block (the ``DELETE /v1/blocks`` answers in every cassette) for a trashed page or database.

``archived`` mirrors ``in_trash`` (deprecated alias until 2026-03-11); ``is_archived`` is a
separate newer flag that stays ``false``.
"""

from __future__ import annotations

from typing import Any

from .ids import object_url, page_url
from .model import Database, DataSource, Page
from .richtext import plain_text
from .schema import schema_json
from .store import Store
from .timestamps import millis_iso, minute_iso
from .values import ValueRenderer


class Renderer:
    """Turns stored objects into API responses (without ``request_id``; the app adds it)."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self.values = ValueRenderer(store)

    def page_title(self, page: Page) -> str:
        """The plain text of a page's title property."""
        if page.parent_type != "data_source":
            return plain_text(page.values.get("title", []))
        source = self._store.data_sources.get(str(page.parent_id))
        title_id = (
            next((p.id for p in source.properties if p.type == "title"), "title") if source else "title"
        )
        return plain_text(page.values.get(title_id, []))

    def mention_text(self, kind: str, target: str) -> str:
        """The ``plain_text`` of a mention of a user, page or database."""
        if kind == "user":
            user = self._store.users.get(target)
            return f"@{user.name}" if user else "@Anonymous"
        if kind == "page" and target in self._store.pages:
            return self.page_title(self._store.pages[target]) or "Untitled"
        database = self._store.databases.get(target)
        return plain_text(database.title) if database else "Untitled"

    def page(self, page: Page, only: set[str] | None = None) -> dict[str, Any]:
        """A page object; ``only`` limits the properties to those ids (``filter_properties``)."""
        source = (
            self._store.data_sources.get(str(page.parent_id)) if page.parent_type == "data_source" else None
        )
        if source is not None:
            properties = self.values.page_properties(source, page, only)
            parent: dict[str, Any] = {
                "type": "data_source_id",
                "data_source_id": source.id,
                "database_id": source.database_id,
            }
        else:
            title = page.values.get("title", [])
            properties = (
                {}
                if only is not None and "title" not in only
                else {"title": {"id": "title", "type": "title", "title": title}}
            )
            parent = (
                {"type": "page_id", "page_id": page.parent_id}
                if page.parent_type == "page"
                else {"type": "workspace", "workspace": True}
            )
        return {
            "object": "page",
            "id": page.id,
            "created_time": minute_iso(page.created_time),
            "last_edited_time": minute_iso(page.last_edited_time),
            "created_by": {"object": "user", "id": page.created_by},
            "last_edited_by": {"object": "user", "id": page.last_edited_by},
            "cover": page.cover,
            "icon": page.icon,
            "parent": parent,
            "in_trash": page.in_trash,
            "is_archived": False,
            "is_locked": page.is_locked,
            "properties": properties,
            "url": page_url(self.page_title(page), page.id),
            "public_url": None,
            "archived": page.in_trash,
        }

    def data_source(self, source: DataSource) -> dict[str, Any]:
        """A data source object with its schema."""
        database = self._store.databases[source.database_id]
        return {
            "object": "data_source",
            "id": source.id,
            "cover": None,
            "icon": source.icon,
            "created_time": minute_iso(source.created_time),
            "created_by": {"object": "user", "id": source.created_by},
            "last_edited_by": {"object": "user", "id": source.last_edited_by},
            "last_edited_time": minute_iso(source.last_edited_time),
            "title": source.title,
            "description": source.description,
            "is_inline": database.is_inline,
            "properties": {prop.name: schema_json(prop) for prop in source.properties},
            "parent": {"type": "database_id", "database_id": database.id},
            "database_parent": {"type": "page_id", "page_id": database.parent_page_id},
            "url": object_url(database.id),
            "public_url": None,
            "in_trash": source.in_trash,
            "archived": source.in_trash,
        }

    def database(self, database: Database) -> dict[str, Any]:
        """A database container object (no schema in 2025-09-03)."""
        sources = [self._store.data_sources[source_id] for source_id in database.data_source_ids]
        return {
            "object": "database",
            "id": database.id,
            "title": database.title,
            "description": database.description,
            "parent": {"type": "page_id", "page_id": database.parent_page_id},
            "is_inline": database.is_inline,
            "in_trash": database.in_trash,
            "is_locked": database.is_locked,
            "created_time": millis_iso(database.created_time),
            "last_edited_time": millis_iso(database.last_edited_time),
            "data_sources": [{"id": source.id, "name": plain_text(source.title)} for source in sources],
            "icon": database.icon,
            "cover": database.cover,
            "url": object_url(database.id),
            "public_url": None,
            "archived": database.in_trash,
        }

    def block(self, obj: Page | Database) -> dict[str, Any]:
        """The block object of a page or database, as ``DELETE /v1/blocks/{id}`` answers."""
        if isinstance(obj, Database):
            kind, title, parent = (
                "child_database",
                plain_text(obj.title),
                {"type": "page_id", "page_id": obj.parent_page_id},
            )
            has_children = False
        else:
            page_json = self.page(obj)
            kind, title, parent = "child_page", self.page_title(obj), page_json["parent"]
            has_children = any(p.parent_id == obj.id for p in self._store.pages.values()) or any(
                d.parent_page_id == obj.id for d in self._store.databases.values()
            )
        return {
            "object": "block",
            "id": obj.id,
            "parent": parent,
            "created_time": minute_iso(obj.created_time),
            "last_edited_time": minute_iso(obj.last_edited_time),
            "created_by": {"object": "user", "id": obj.created_by},
            "last_edited_by": {"object": "user", "id": obj.last_edited_by},
            "has_children": has_children,
            "in_trash": obj.in_trash,
            "type": kind,
            kind: {"title": title},
            "archived": obj.in_trash,
        }
