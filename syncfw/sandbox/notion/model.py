"""The emulated workspace's objects, as the store keeps them.

These are the emulator's internal records, not API shapes: :mod:`.render` turns them into the
JSON the API answers. Times are integer milliseconds since the epoch (UTC); users are referred to
by id.

Page property values are kept per property id (so a rename in the schema costs nothing), in
these forms:

==================  =====================================================================
type                stored value
==================  =====================================================================
title, rich_text    list of rich text items in response shape
number              int, float or None
select, status      option id or None (name and color come from the schema)
multi_select        list of option ids
date                ``{"start", "end", "time_zone"}`` (response forms) or None
people              list of user ids
files               list of file objects in response shape
checkbox            bool
url, email, phone   str or None
relation            list of page ids
unique_id           int (the number; the prefix comes from the schema)
==================  =====================================================================
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Json = Any
"""A JSON value as ``json.loads`` gives it."""


@dataclass
class User:
    """A workspace member (``type="person"``) or the integration's bot (``type="bot"``)."""

    id: str
    name: str
    type: Literal["person", "bot"]
    email: str | None = None


@dataclass
class PropertySchema:
    """One property of a data source: ``{"id","name","description","type","<type>": config}``.

    ``config`` is the response-shaped configuration object (``{}`` for most types; options for
    select, multi_select and status; ``database_id``/``data_source_id`` for relation, ...).
    """

    id: str
    name: str
    type: str
    config: dict[str, Json] = field(default_factory=dict)
    description: str | None = None


@dataclass
class Database:
    """A database container: title, parent page and its data sources (2025-09-03 model)."""

    id: str
    seq: int
    title: list[Json]
    parent_page_id: str
    created_time: int
    last_edited_time: int
    created_by: str
    last_edited_by: str
    data_source_ids: list[str] = field(default_factory=list)
    description: list[Json] = field(default_factory=list)
    is_inline: bool = False
    is_locked: bool = False
    in_trash: bool = False
    icon: Json = None
    cover: Json = None


@dataclass
class DataSource:
    """A data source: the schema and the pages of one table of a database."""

    id: str
    seq: int
    database_id: str
    title: list[Json]
    properties: list[PropertySchema]
    created_time: int
    last_edited_time: int
    created_by: str
    last_edited_by: str
    description: list[Json] = field(default_factory=list)
    in_trash: bool = False
    icon: Json = None
    next_unique_id: int = 1


@dataclass
class Page:
    """A page: a row of a data source (``parent_type="data_source"``), a child page of a page
    (``"page"``), or the seeded top-level page (``"workspace"``)."""

    id: str
    seq: int
    parent_type: Literal["data_source", "page", "workspace"]
    parent_id: str | None
    values: dict[str, Json]
    created_time: int
    last_edited_time: int
    created_by: str
    last_edited_by: str
    in_trash: bool = False
    is_locked: bool = False
    icon: Json = None
    cover: Json = None


def schema_to_json(prop: PropertySchema) -> dict[str, Json]:
    """Serialise a schema entry for the store."""
    return {
        "id": prop.id,
        "name": prop.name,
        "type": prop.type,
        "config": prop.config,
        "description": prop.description,
    }


def data_source_to_json(source: DataSource) -> dict[str, Json]:
    """Serialise a data source for the store."""
    record = dict(vars(source))
    record["properties"] = [schema_to_json(prop) for prop in source.properties]
    return record


def data_source_from_json(record: dict[str, Json]) -> DataSource:
    """Rebuild a data source from the store."""
    fields = dict(record)
    fields["properties"] = [PropertySchema(**prop) for prop in record["properties"]]
    return DataSource(**fields)
