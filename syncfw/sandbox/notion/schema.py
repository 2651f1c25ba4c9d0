"""Data source schemas: property configurations, options, and schema changes.

A schema entry in responses is ``{"id","name","description","type","<type>": config}`` (recorded in
``test_data_sources_retrieve.yaml``; API-FACTS §4.3). Requests (``POST /v1/databases``
``initial_data_source.properties``, ``POST /v1/data_sources``, ``PATCH /v1/data_sources/{id}``)
give ``{"<type>": config}`` with optional ``type``, ``name`` (rename) and ``description``; ``null``
removes a property. Configs:

* ``number``: ``{"format": "number" | "dollar" | ...}``
* ``select`` / ``multi_select``: ``{"options": [{"id","name","color","description"}]}``; names may
  not contain commas; options written to pages by name are created on the fly with a color. An
  update's ``options`` list replaces the old one; options matched by id or name keep their ids.
* ``status``: options and groups; defaults to Not started / In progress / Done in the groups
  To-do / In progress / Complete, as a new status property in Notion has.
* ``relation``: request ``{"data_source_id", "type": "single_property"|"dual_property", ...}``,
  response adds ``database_id``; a dual relation adds the synced property to the related data
  source (named ``synced_property_name`` if given).
* ``rollup``: ``{"function", "relation_property_name"|id, "rollup_property_name"|id}``;
  ``formula``: ``{"expression"}``; ``unique_id``: ``{"prefix"}``; every other type ``{}``.

The title property always has id ``"title"``; other ids are short URL-encoded strings. Errors are
:class:`~.errors.NotionAPIError` ``validation_error``; messages for schema mistakes the
recordings do not cover are written in the validator's style.
"""

from __future__ import annotations

import copy
import random
from dataclasses import dataclass, field
from typing import Any

from . import errors
from .ids import new_id, new_property_id, parse_id, same_property_id
from .model import DataSource, PropertySchema
from .richtext import COLORS
from .store import Store

WRITABLE_TYPES = (
    "title",
    "rich_text",
    "number",
    "url",
    "select",
    "multi_select",
    "people",
    "email",
    "phone_number",
    "date",
    "checkbox",
    "relation",
    "files",
    "status",
)
"""Types a page property value can be written as, in the order Notion's "Fix one" message lists them."""
READ_ONLY_TYPES = (
    "formula",
    "rollup",
    "created_time",
    "created_by",
    "last_edited_time",
    "last_edited_by",
    "unique_id",
    "button",
)
"""Types computed by Notion: writing one is rejected (DOC post-page)."""
TYPES = WRITABLE_TYPES + READ_ONLY_TYPES
OPTION_COLORS = COLORS[1:]
"""Colors given in turn to options created on the fly (``default`` is left for explicit use)."""
_ROLLUP_FUNCTIONS = (
    "count",
    "count_values",
    "empty",
    "not_empty",
    "unique",
    "show_unique",
    "percent_empty",
    "percent_not_empty",
    "sum",
    "average",
    "median",
    "min",
    "max",
    "range",
    "earliest_date",
    "latest_date",
    "date_range",
    "checked",
    "unchecked",
    "percent_checked",
    "percent_unchecked",
    "count_per_group",
    "percent_per_group",
    "show_original",
)


@dataclass
class SchemaChange:
    """What a schema update did that pages must follow.

    Attributes:
        cleared: ids of properties whose page values are dropped (removed or retyped).
        numbered: ids of new ``unique_id`` properties whose numbers existing pages need.
    """

    cleared: set[str] = field(default_factory=set)
    numbered: set[str] = field(default_factory=set)


class SchemaEditor:
    """Builds and changes data source schemas on working copies, for one operation.

    Nothing in the store changes until the caller puts :attr:`working` back, so a request
    rejected halfway leaves the schema as it was.

    Attributes:
        working: the edited copies by id (the data source being changed, and the related data
            sources a dual relation changes as a side effect).
    """

    def __init__(self, store: Store, rng: random.Random) -> None:
        self._store = store
        self._rng = rng
        self.working: dict[str, DataSource] = {}

    def edit(self, source_id: str) -> DataSource | None:
        """A working copy of a data source (the same copy on every call), or ``None``."""
        if source_id not in self.working:
            original = self._store.data_sources.get(source_id)
            if original is None:
                return None
            self.working[source_id] = copy.deepcopy(original)
        return self.working[source_id]

    def build(self, source: DataSource, requested: Any, path: str, *, require_title: bool) -> SchemaChange:
        """Give a new data source the properties of a create request.

        Raises:
            NotionAPIError: a malformed entry, more or fewer than one title property.
        """
        self.working[source.id] = source
        if requested is None:
            requested = {"Name": {"title": {}}}
        if not isinstance(requested, dict):
            raise errors.body_invalid(path, "an object", requested)
        change = SchemaChange()
        for name, entry in requested.items():
            if not isinstance(entry, dict):
                raise errors.body_invalid(f"{path}.{name}", "an object", entry)
            self._add(source, str(entry.get("name", name)), entry, f"{path}.{name}", change)
        titles = sum(1 for prop in source.properties if prop.type == "title")
        if titles > 1 or (require_title and titles == 0):
            raise errors.validation("A data source must have exactly one title property.")
        return change

    def update(self, source: DataSource, requested: Any, path: str) -> SchemaChange:
        """Apply a ``PATCH /v1/data_sources/{id}`` ``properties`` object to ``source``.

        Keys name existing properties by name or id; ``null`` removes one, ``{"name"}`` renames it,
        a type config adds a property or changes one's type or options.

        Raises:
            NotionAPIError: unknown property, removing the title, a name clash, a bad config.
        """
        if not isinstance(requested, dict):
            raise errors.body_invalid(path, "an object", requested)
        change = SchemaChange()
        for key, entry in requested.items():
            existing = find_property(source, key)
            entry_path = f"{path}.{key}"
            if entry is None:
                if existing is None:
                    raise errors.validation(f"{key} is not a property that exists.")
                if existing.type == "title":
                    raise errors.validation("Cannot delete the title property of a data source.")
                self._remove(source, existing, change)
                continue
            if not isinstance(entry, dict):
                raise errors.body_invalid(entry_path, "an object or `null`", entry)
            if existing is None:
                self._add(source, str(entry.get("name", key)), entry, entry_path, change)
                continue
            if "description" in entry:
                existing.description = entry["description"]
            if "name" in entry and entry["name"] != existing.name:
                self._check_name(source, entry["name"], entry_path)
                existing.name = entry["name"]
            kind = _requested_type(entry, entry_path, required=False)
            if kind is not None:
                self._reconfigure(source, existing, kind, entry[kind], f"{entry_path}.{kind}", change)
        return change

    def _check_name(self, source: DataSource, name: Any, path: str) -> None:
        if not isinstance(name, str) or not name.strip():
            raise errors.body_invalid(f"{path}.name", "a non-empty string", name)
        if any(prop.name == name for prop in source.properties):
            raise errors.validation(f"A property named {name} already exists in this data source.")

    def _add(
        self, source: DataSource, name: str, entry: dict[str, Any], path: str, change: SchemaChange
    ) -> None:
        self._check_name(source, name, path)
        kind = _requested_type(entry, path, required=True)
        assert kind is not None
        if kind == "title" and any(prop.type == "title" for prop in source.properties):
            raise errors.validation("A data source must have exactly one title property.")
        prop_id = (
            "title" if kind == "title" else new_property_id({p.id for p in source.properties}, self._rng)
        )
        prop = PropertySchema(id=prop_id, name=name, type=kind, description=entry.get("description"))
        source.properties.append(prop)
        self._reconfigure(source, prop, kind, entry[kind], f"{path}.{kind}", change, new=True)

    def _remove(self, source: DataSource, prop: PropertySchema, change: SchemaChange) -> None:
        source.properties.remove(prop)
        change.cleared.add(prop.id)
        if prop.type == "relation":
            self._unsync(prop)

    def _reconfigure(
        self,
        source: DataSource,
        prop: PropertySchema,
        kind: str,
        config: Any,
        path: str,
        change: SchemaChange,
        *,
        new: bool = False,
    ) -> None:
        if not isinstance(config, dict):
            raise errors.body_invalid(path, "an object", config)
        if kind != prop.type:
            if prop.type == "title" or kind == "title":
                raise errors.validation("The title property's type cannot be changed.")
            if prop.type == "relation":
                self._unsync(prop)
            change.cleared.add(prop.id)
            prop.type = kind
            prop.config = {}
            new = True
        if kind == "unique_id" and new:
            change.numbered.add(prop.id)
        if kind in ("select", "multi_select"):
            prop.config = {"options": self._options(prop, config.get("options"), f"{path}.options", new=new)}
        elif kind == "status":
            prop.config = self._status(prop, config, path, new=new)
        elif kind == "relation":
            if new:
                prop.config = self._relation(source, prop, config, path, change)
        elif kind == "rollup":
            prop.config = self._rollup(source, config, path)
        elif kind == "number":
            number_format = config.get("format", prop.config.get("format", "number"))
            if not isinstance(number_format, str):
                raise errors.body_invalid(f"{path}.format", "a string", number_format)
            prop.config = {"format": number_format}
        elif kind == "formula":
            expression = config.get("expression", errors.UNDEFINED)
            if not isinstance(expression, str):
                raise errors.body_invalid(f"{path}.expression", "a string", expression)
            prop.config = {"expression": expression}
        elif kind == "unique_id":
            prefix = config.get("prefix", prop.config.get("prefix"))
            if prefix is not None and not isinstance(prefix, str):
                raise errors.body_invalid(f"{path}.prefix", "a string or `null`", prefix)
            prop.config = {"prefix": prefix}
        else:
            prop.config = {}

    def _options(self, prop: PropertySchema, given: Any, path: str, *, new: bool) -> list[dict[str, Any]]:
        current: list[dict[str, Any]] = [] if new else list(prop.config.get("options", []))
        if given is None:
            return current
        if not isinstance(given, list):
            raise errors.body_invalid(path, "an array", given)
        options = []
        for index, option in enumerate(given):
            item_path = f"{path}[{index}]"
            if not isinstance(option, dict):
                raise errors.body_invalid(item_path, "an object", option)
            known = next(
                (o for o in current if o["id"] == option.get("id") or o["name"] == option.get("name")),
                None,
            )
            name = option.get("name", known["name"] if known else errors.UNDEFINED)
            if not isinstance(name, str) or not name:
                raise errors.body_invalid(f"{item_path}.name", "a non-empty string", name)
            check_option_name(name)
            color = option.get(
                "color", known["color"] if known else OPTION_COLORS[index % len(OPTION_COLORS)]
            )
            if color not in COLORS:
                raise errors.body_invalid(f"{item_path}.color", "a valid color", color)
            options.append(
                {
                    "id": known["id"] if known else new_id(),
                    "name": name,
                    "color": color,
                    "description": option.get("description", known["description"] if known else None),
                }
            )
        return options

    def _status(
        self, prop: PropertySchema, config: dict[str, Any], path: str, *, new: bool
    ) -> dict[str, Any]:
        if not new and "options" not in config:
            return prop.config
        given = config.get("options")
        if given is None:
            options = [
                {"id": new_id(), "name": name, "color": color, "description": None}
                for name, color in (("Not started", "default"), ("In progress", "blue"), ("Done", "green"))
            ]
            members = [[options[0]["id"]], [options[1]["id"]], [options[2]["id"]]]
        else:
            options = self._options(prop, given, f"{path}.options", new=new)
            members = [[option["id"] for option in options], [], []]
        groups = [
            {"id": new_id(), "name": name, "color": color, "option_ids": ids}
            for (name, color), ids in zip(
                (("To-do", "gray"), ("In progress", "blue"), ("Complete", "green")), members, strict=True
            )
        ]
        return {"options": options, "groups": groups}

    def _relation(
        self,
        source: DataSource,
        prop: PropertySchema,
        config: dict[str, Any],
        path: str,
        change: SchemaChange,
    ) -> dict[str, Any]:
        target_id = parse_id(config.get("data_source_id"))
        if target_id is None:
            raise errors.body_invalid(
                f"{path}.data_source_id", "a valid uuid", config.get("data_source_id", errors.UNDEFINED)
            )
        target = self.edit(target_id)
        if target is None:
            raise errors.not_found("data_source", target_id)
        kind = config.get("type", "dual_property" if "dual_property" in config else "single_property")
        if kind not in ("single_property", "dual_property"):
            raise errors.body_invalid(f"{path}.type", '`"single_property"` or `"dual_property"`', kind)
        result: dict[str, Any] = {
            "database_id": target.database_id,
            "data_source_id": target.id,
            "type": kind,
        }
        if kind == "single_property":
            result["single_property"] = {}
            return result
        dual = config.get("dual_property") or {}
        synced_name = dual.get("synced_property_name") or f"Related to {_title_of(source)} ({prop.name})"
        if any(p.name == synced_name for p in target.properties):
            raise errors.validation(f"A property named {synced_name} already exists in this data source.")
        synced = PropertySchema(
            id=new_property_id({p.id for p in target.properties} | {prop.id}, self._rng),
            name=synced_name,
            type="relation",
            config={
                "database_id": source.database_id,
                "data_source_id": source.id,
                "type": "dual_property",
                "dual_property": {"synced_property_id": prop.id, "synced_property_name": prop.name},
            },
        )
        target.properties.append(synced)
        result["dual_property"] = {"synced_property_id": synced.id, "synced_property_name": synced.name}
        return result

    def _unsync(self, prop: PropertySchema) -> None:
        """Turn the other side of a removed or retyped dual relation into a one-way relation."""
        dual = prop.config.get("dual_property")
        target = self.edit(str(prop.config.get("data_source_id")))
        if not dual or target is None:
            return
        for other in target.properties:
            if other.id == dual["synced_property_id"] and other.type == "relation":
                other.config = {key: value for key, value in other.config.items() if key != "dual_property"}
                other.config.update(type="single_property", single_property={})

    def _rollup(self, source: DataSource, config: dict[str, Any], path: str) -> dict[str, Any]:
        relation_key = config.get("relation_property_name", config.get("relation_property_id"))
        relation = find_property(source, relation_key) if isinstance(relation_key, str) else None
        if relation is None or relation.type != "relation":
            raise errors.body_invalid(
                f"{path}.relation_property_name", "the name of a relation property", relation_key
            )
        target = self.edit(str(relation.config.get("data_source_id")))
        rollup_key = config.get("rollup_property_name", config.get("rollup_property_id"))
        rolled = find_property(target, rollup_key) if target and isinstance(rollup_key, str) else None
        if rolled is None:
            raise errors.body_invalid(
                f"{path}.rollup_property_name", "a property of the related data source", rollup_key
            )
        function = config.get("function", errors.UNDEFINED)
        if function not in _ROLLUP_FUNCTIONS:
            raise errors.body_invalid(f"{path}.function", "a rollup function", function)
        return {
            "function": function,
            "relation_property_name": relation.name,
            "relation_property_id": relation.id,
            "rollup_property_name": rolled.name,
            "rollup_property_id": rolled.id,
        }


def _requested_type(entry: dict[str, Any], path: str, *, required: bool) -> str | None:
    kind = entry.get("type")
    if kind is None:
        kind = next((key for key in entry if key in TYPES), None)
    elif kind not in TYPES:
        raise errors.body_invalid(f"{path}.type", "a supported property type", kind)
    if kind is None:
        if required:
            raise errors.body_invalid(path, "an object with one property type configuration", entry)
        return None
    if kind not in entry:
        # `{"type": "date"}` without `{"date": {}}` is refused (API-FACTS §4.3).
        raise errors.body_invalid(f"{path}.{kind}", "defined", errors.UNDEFINED)
    return str(kind)


def _title_of(source: DataSource) -> str:
    return "".join(item["plain_text"] for item in source.title) or "Untitled"


def find_property(source: DataSource | None, key: str) -> PropertySchema | None:
    """The property of ``source`` named ``key``, or whose id is ``key`` (encoded or not)."""
    if source is None:
        return None
    for prop in source.properties:
        if prop.name == key:
            return prop
    return next((prop for prop in source.properties if same_property_id(prop.id, key)), None)


def check_option_name(name: str) -> None:
    """Refuse a select option name with a comma (API-FACTS §2.4, exact message)."""
    if "," in name:
        raise errors.validation(f"Invalid select option, commas not allowed: {name}")


def add_option(prop: PropertySchema, name: str, color: str | None) -> dict[str, Any]:
    """Append an option created by a page write, coloring it in turn unless ``color`` is given."""
    options: list[dict[str, Any]] = prop.config.setdefault("options", [])
    option = {
        "id": new_id(),
        "name": name,
        "color": color or OPTION_COLORS[len(options) % len(OPTION_COLORS)],
        "description": None,
    }
    options.append(option)
    return option


def schema_json(prop: PropertySchema) -> dict[str, Any]:
    """A schema entry in response shape."""
    return {
        "id": prop.id,
        "name": prop.name,
        "description": prop.description,
        "type": prop.type,
        prop.type: prop.config,
    }
