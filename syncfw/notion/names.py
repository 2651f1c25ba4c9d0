"""Owned properties followed by property id, so that a property a person renames in Notion keeps
being synced under the recipe's name.

Notion gives every property of a data source an id that survives renames; the schema and page
objects key properties by their name now, each value carrying its ``id``. Page writes and query
filters accept a property's name or its id: "The keys are the names or IDs of the property"
(developers.notion.com/reference/patch-page, .../post-page), and a filter's or sort's
``property`` is "the name or ID of the property" (.../filter-data-source-entries,
.../sort-data-source-entries).

A target's owned property ids are recorded by ``syncfw notion init`` and by every run: the sync
key's in the data source's claim (:mod:`syncfw.notion.claim`, in Notion itself, so that it
survives the loss of the state store, when a lost key would mean duplicates), the others in the
state store (setting ``property ids:<target>``; losing them only means a rename stops the run
again, exit 4, and the claim line people see in Notion stays one short line). The preflight
resolves them into a :class:`PropertyNames` for the target; :class:`~syncfw.notion.client.NotionClient`
applies it at the Notion boundary (pages read, page writes, query filters), so the engine only
ever sees the recipe's names. A run reports each rename once, as a warning naming the old and
the new name (:func:`rename_warnings`), and keeps the renames it found in the state store, where
``syncfw validate --explain`` shows them and ``syncfw notion rename`` takes them into the mapping
files (:func:`recorded_renames`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from syncfw.recipe import Recipe
from syncfw.state import StateBackend, existing_state


@dataclass(frozen=True)
class Renamed:
    """An owned property a person renamed in Notion: the recipe's name, its id, its name now."""

    recipe_name: str
    property_id: str
    notion_name: str


@dataclass(frozen=True)
class PropertyNames:
    """The owned properties of one data source whose name in Notion is not the recipe's.

    Empty (nothing renamed) it changes nothing: properties keep going by name, as the recipe
    names them.
    """

    renamed: tuple[Renamed, ...] = ()

    def read(self, properties: Mapping[str, Any]) -> dict[str, Any]:
        """``properties`` of a page or a schema (name now → object with ``id``) keyed by the
        recipe's names: a renamed property under the recipe's name; a property that took a
        renamed property's recipe name (made since the rename) is left out."""
        if not self.renamed:
            return dict(properties)
        by_id = {r.property_id: r.recipe_name for r in self.renamed}
        out: dict[str, Any] = {}
        for name, value in properties.items():
            followed = by_id.get(str(value.get("id")))
            if followed is not None:
                out[followed] = value
            elif name not in by_id.values():
                out[name] = value
        return out

    def page(self, page: dict[str, Any]) -> dict[str, Any]:
        """``page`` (a page object) with its properties keyed by the recipe's names (:meth:`read`)."""
        if not self.renamed or "properties" not in page:
            return page
        return {**page, "properties": self.read(page["properties"])}

    def write(self, properties: Mapping[str, Any]) -> dict[str, Any]:
        """Page property values keyed by the recipe's names, as a request sends them: a renamed
        property by its id."""
        ids = {r.recipe_name: r.property_id for r in self.renamed}
        return {ids.get(name, name): value for name, value in properties.items()}

    def filter(self, condition: dict[str, Any]) -> dict[str, Any]:
        """A query filter naming properties by the recipe's names, with each renamed property
        named by its id (compound ``and``/``or`` filters included)."""
        ids = {r.recipe_name: r.property_id for r in self.renamed}
        out: dict[str, Any] = {}
        for key, value in condition.items():
            if key in ("and", "or") and isinstance(value, list):
                out[key] = [self.filter(part) for part in value]
            elif key == "property" and isinstance(value, str):
                out[key] = ids.get(value, value)
            else:
                out[key] = value
        return out

    def warnings(self, target: str) -> list[str]:
        """One line per renamed property, naming the old and the new name."""
        return [
            f"target {target}: property {r.recipe_name!r} was renamed to {r.notion_name!r} in Notion "
            f"(property id {r.property_id}); syncfw follows it by id. Rename it back in Notion (or run "
            f"`syncfw notion init`), or name it {r.notion_name!r} in the recipe"
            for r in self.renamed
        ]


def follow(schema: Mapping[str, Any], wanted: Iterable[str], recorded: Mapping[str, str]) -> PropertyNames:
    """The owned properties (``wanted``, by the recipe's names) that a person renamed: those whose
    ``recorded`` property id names a property of ``schema`` (name → property object) now called
    otherwise. A recorded id no longer in the schema is not followed (the property was deleted)."""
    by_id = {str(prop.get("id")): name for name, prop in schema.items()}
    renamed = []
    for name in wanted:
        pid = recorded.get(name)
        now = by_id.get(pid) if pid else None
        if pid and now is not None and now != name:
            renamed.append(Renamed(name, pid, now))
    return PropertyNames(tuple(renamed))


def _setting(target: str) -> str:
    return f"property ids:{target}"


def _renames_setting(target: str) -> str:
    return f"renamed properties:{target}"


def recorded_renames(store: StateBackend, target: str) -> dict[str, str]:
    """The renames of ``target``'s owned properties as the last run found them, recipe name →
    name in Notion (empty when none, or unreadable): what ``syncfw validate --explain`` shows
    and ``syncfw notion rename`` writes into the mapping files."""
    return _json_setting(store, _renames_setting(target))


def renames_of(recipe: Recipe) -> dict[str, dict[str, str]]:
    """Per target of ``recipe``, the renames its last run found (:func:`recorded_renames`);
    empty when the recipe never ran with this state store (nothing is created).

    Raises:
        ConfigError, StateError: the state store cannot be opened.
    """
    store = existing_state(recipe)
    if store is None:
        return {}
    try:
        return {name: found for name in recipe.targets if (found := recorded_renames(store, name))}
    finally:
        store.close()


def rename_warnings(store: StateBackend, target: str, names: PropertyNames, *, remember: bool) -> list[str]:
    """The warnings (:meth:`PropertyNames.warnings`) of the renames not reported before.

    A rename is reported once: the renames found are kept in the state store (setting
    ``renamed properties:<target>``, with ``remember``: a run that applies, not a plan), and a
    rename already kept is not reported again. A property renamed back (or named in the recipe
    as in Notion) leaves the setting, so renaming it again is reported again; a lost state store
    reports each rename once more.
    """
    reported = recorded_renames(store, target)
    now = {r.recipe_name: r.notion_name for r in names.renamed}
    if remember and now != reported:
        with store.transaction() as tx:
            tx.set_setting(_renames_setting(target), json.dumps(now, sort_keys=True))
    fresh = tuple(r for r in names.renamed if reported.get(r.recipe_name) != r.notion_name)
    return PropertyNames(fresh).warnings(target)


def recorded_ids(store: StateBackend, target: str) -> dict[str, str]:
    """The property ids the state store recorded for ``target``'s owned properties, by the
    recipe's names (empty when none, or unreadable)."""
    return _json_setting(store, _setting(target))


def _json_setting(store: StateBackend, name: str) -> dict[str, str]:
    text = store.setting(name)
    try:
        found = json.loads(text) if text else {}
    except ValueError:
        return {}
    return {str(k): str(v) for k, v in found.items()} if isinstance(found, dict) else {}


def record_ids(store: StateBackend, target: str, schema: Mapping[str, Any], wanted: Iterable[str]) -> None:
    """Record the property ids of ``target``'s owned properties (``wanted``) found in ``schema``
    (keyed by the recipe's names), when they differ from what is recorded."""
    ids = {name: str(schema[name]["id"]) for name in wanted if schema.get(name, {}).get("id")}
    if ids and ids != recorded_ids(store, target):
        with store.transaction() as tx:
            tx.set_setting(_setting(target), json.dumps(ids, sort_keys=True))
