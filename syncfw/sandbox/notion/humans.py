"""Edits made "by a person in the Notion app", for drift and ownership tests.

The real API cannot act as a person, so these bypass HTTP: they run the same validation and
write paths as the API endpoints but record a person user (created on first use, with an
``example.com`` email) as ``last_edited_by``/``created_by``. They take request value shapes and
answer the API's response shapes, and raise :class:`~.errors.NotionAPIError` like the endpoints.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from . import databases, pages
from .workspace import DEFAULT_PERSON, Workspace


def edit_page(
    ws: Workspace, page_id: str, properties: dict[str, Any], user_name: str = DEFAULT_PERSON
) -> dict[str, Any]:
    """Update page properties as ``user_name``; answers the page object."""
    return pages.update(ws, page_id, {"properties": properties}, ws.person(user_name).id)


def create_page(
    ws: Workspace, data_source_id: str, properties: dict[str, Any], user_name: str = DEFAULT_PERSON
) -> dict[str, Any]:
    """Create a page in a data source as ``user_name``; answers the page object."""
    body = {"parent": {"type": "data_source_id", "data_source_id": data_source_id}, "properties": properties}
    return pages.create(ws, body, ws.person(user_name).id)


def import_rows(
    ws: Workspace,
    data_source_id: str,
    rows: Iterable[dict[str, Any]],
    user_name: str = DEFAULT_PERSON,
    rows_per_second: float = pages.IMPORT_ROWS_PER_SECOND,
) -> int:
    """Import rows (``properties`` objects) into a data source as ``user_name``, as a person merging
    a CSV file into it in the Notion app, one page after the other at ``rows_per_second`` until
    now; answers how many pages were created."""
    return pages.import_rows(ws, data_source_id, rows, ws.person(user_name).id, rows_per_second)


def trash_page(ws: Workspace, page_id: str, user_name: str = DEFAULT_PERSON) -> dict[str, Any]:
    """Move a page to the trash as ``user_name``; answers the page object."""
    return pages.update(ws, page_id, {"in_trash": True}, ws.person(user_name).id)


def update_schema(
    ws: Workspace, data_source_id: str, properties: dict[str, Any], user_name: str = DEFAULT_PERSON
) -> dict[str, Any]:
    """Rename, remove, add or retype properties as ``user_name`` (``PATCH /v1/data_sources`` shapes)."""
    return databases.update_data_source(
        ws, data_source_id, {"properties": properties}, ws.person(user_name).id
    )
