"""Finding each target's data source, checking its schema before a run, and creating it.

A target names a data source id, or a database title under a parent page. The resolved ids are
kept in the state store so later runs skip the search. Before any write, :func:`preflight`
compares the data source's properties with what the mappings write; a missing property or one of
another type stops the run (exit 4) with the mapping line that needs it.
``syncfw notion init`` (:func:`init_target`) creates the database, or adds missing properties.
Source: https://developers.notion.com/reference/create-a-database,
https://developers.notion.com/reference/update-a-data-source (API version 2025-09-03).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from syncfw.errors import GuardStop, NotionNotFound
from syncfw.mapping import schema_config
from syncfw.notion.client import NotionClient
from syncfw.recipe import Recipe, Target
from syncfw.state import StateStore


@dataclass(frozen=True)
class WantedProperty:
    """A property a target's mappings write: its Notion type and where a mapping asks for it."""

    name: str
    type: str
    relation_target: str | None
    where: str


def wanted_properties(target: Target) -> dict[str, WantedProperty]:
    """Every property the target's mappings write, by name."""
    out: dict[str, WantedProperty] = {}
    for mapping in target.mappings:
        for name, spec in mapping.properties.items():
            out[name] = WantedProperty(
                name, spec.type, getattr(spec, "target", None), f"{spec.file}:{spec.line}"
            )
    return out


def _plain(rich: list[dict[str, Any]]) -> str:
    return "".join(item.get("plain_text", "") for item in rich)


def _same_id(a: str | None, b: str | None) -> bool:
    return bool(a) and bool(b) and str(a).replace("-", "") == str(b).replace("-", "")


def find_data_source(
    client: NotionClient, store: StateStore, target: Target
) -> tuple[str | None, str, dict[str, Any]] | None:
    """The (database id, data source id, data source object) of ``target``, or None when its
    database does not exist. The object is fresh from Notion (its ``properties`` are the schema).

    Raises:
        NotionNotFound: a data source id named in the recipe is not found or not shared.
        GuardStop: several databases with the title exist under the parent page, or the
            database holds several data sources (the recipe must then name one by id).
    """
    if target.data_source:
        ds = client.retrieve_data_source(target.data_source)
        return ds.get("parent", {}).get("database_id"), ds["id"], ds
    assert target.database is not None
    known = store.target_ids(target.name)
    if known is not None:
        try:
            ds = client.retrieve_data_source(known[1])
            if not ds.get("in_trash"):
                return known[0], known[1], ds
        except NotionNotFound:
            pass
    title, parent = target.database.title, target.database.parent_page
    matches = [
        ds
        for ds in client.search_data_sources(title)
        if _plain(ds.get("title", [])) == title
        and _same_id(ds.get("database_parent", {}).get("page_id"), parent)
        and not ds.get("in_trash")
    ]
    if not matches:
        return None
    databases = {ds.get("parent", {}).get("database_id") for ds in matches}
    if len(databases) > 1:
        raise GuardStop(
            f"target {target.name}: {len(databases)} databases titled {title!r} exist under page {parent}; "
            "name the one to use with `data_source: <id>` in the recipe"
        )
    if len(matches) > 1:
        raise GuardStop(
            f"target {target.name}: database {title!r} has {len(matches)} data sources; name the one to use "
            "with `data_source: <id>` in the recipe"
        )
    ds = matches[0]
    database_id = ds.get("parent", {}).get("database_id")
    with store.transaction() as tx:
        tx.set_target_ids(target.name, database_id, ds["id"])
    if "properties" not in ds:
        ds = client.retrieve_data_source(ds["id"])
    return database_id, ds["id"], ds


def _config(prop: WantedProperty, data_sources: dict[str, str]) -> dict[str, Any]:
    if prop.type == "relation":
        related = data_sources.get(prop.relation_target or "")
        if related is None:
            raise GuardStop(
                f"{prop.where}: property {prop.name!r} relates to target {prop.relation_target!r}, "
                "whose data source does not exist yet"
            )
        return {"relation": {"data_source_id": related, "type": "single_property", "single_property": {}}}
    return schema_config(prop.type)


def schema_problems(target: Target, schema: dict[str, Any], data_sources: dict[str, str]) -> list[str]:
    """What is wrong with a data source's properties for ``target`` (empty when it fits)."""
    problems = []
    for prop in wanted_properties(target).values():
        have = schema.get(prop.name)
        if have is None:
            problems.append(f"{prop.where}: property {prop.name!r} ({prop.type}) is missing in Notion")
        elif have.get("type") != prop.type:
            problems.append(
                f"{prop.where}: property {prop.name!r} is {have.get('type')} in Notion, the mapping writes {prop.type}"
            )
        elif prop.type == "relation":
            related = data_sources.get(prop.relation_target or "")
            if related and not _same_id(have.get("relation", {}).get("data_source_id"), related):
                problems.append(
                    f"{prop.where}: relation {prop.name!r} points to another data source than target "
                    f"{prop.relation_target!r}"
                )
    return problems


def preflight(
    client: NotionClient, store: StateStore, recipe: Recipe
) -> dict[str, tuple[str | None, str, dict[str, Any]]]:
    """Resolve every target and check its schema, before anything is read or written.

    Returns:
        target name → (database id, data source id, property schema).

    Raises:
        GuardStop: a database is missing, or properties are missing or of another type; the
            message lists every problem and says to run ``syncfw notion init``.
    """
    resolved: dict[str, tuple[str | None, str, dict[str, Any]]] = {}
    problems: list[str] = []
    for target in recipe.targets_in_order():
        ids = find_data_source(client, store, target)
        if ids is None:
            assert target.database is not None
            problems.append(
                f"target {target.name}: no database titled {target.database.title!r} under page "
                f"{target.database.parent_page}"
            )
            continue
        resolved[target.name] = (ids[0], ids[1], ids[2].get("properties", {}))
        if target.database is not None and ids[0]:
            sources = client.retrieve_database(ids[0]).get("data_sources", [])
            if len(sources) > 1:
                problems.append(
                    f"target {target.name}: database {target.database.title!r} now holds {len(sources)} data "
                    "sources (someone added one); name the one to sync with `data_source: <id>` in the recipe"
                )
    data_sources = {name: r[1] for name, r in resolved.items()}
    for target in recipe.targets_in_order():
        if target.name in resolved:
            problems += schema_problems(target, resolved[target.name][2], data_sources)
    if problems:
        raise GuardStop(
            "the Notion schema does not fit the recipe; nothing was written:\n  "
            + "\n  ".join(problems)
            + f"\nRun `syncfw notion init {recipe.path}` to create or extend the databases."
        )
    return resolved


@dataclass
class InitResult:
    """What ``notion init`` did for one target."""

    target: str
    data_source_id: str
    created: bool
    added: list[str]
    problems: list[str]


def init_target(
    client: NotionClient, store: StateStore, target: Target, data_sources: dict[str, str]
) -> InitResult:
    """Create the target's database with every mapped property, or add the missing ones.

    A property that exists with another type is reported, not changed: retyping a property can
    destroy what people wrote in it.
    """
    wanted = wanted_properties(target)
    ids = find_data_source(client, store, target)
    if ids is None:
        assert target.database is not None
        properties = {p.name: _config(p, data_sources) for p in wanted.values()}
        if not any(p.type == "title" for p in wanted.values()):
            properties["Name"] = {"title": {}}
        db = client.create_database(target.database.parent_page, target.database.title, properties)
        ds_id = db["data_sources"][0]["id"]
        with store.transaction() as tx:
            tx.set_target_ids(target.name, db["id"], ds_id)
        return InitResult(target.name, ds_id, True, sorted(wanted), [])
    schema = ids[2].get("properties", {})
    missing = {name: p for name, p in wanted.items() if name not in schema}
    title_now = next((n for n, s in schema.items() if s.get("type") == "title"), None)
    changes: dict[str, Any] = {}
    for name, prop in missing.items():
        if prop.type == "title" and title_now is not None:
            changes[title_now] = {"name": name}  # a data source has one title property: rename it
        else:
            changes[name] = _config(prop, data_sources)
    if changes:
        client.update_data_source(ids[1], changes)
        schema = client.retrieve_data_source(ids[1]).get("properties", {})
    problems = schema_problems(target, schema, data_sources)
    return InitResult(target.name, ids[1], False, sorted(missing), problems)
