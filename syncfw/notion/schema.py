"""Finding each target's data source, checking its schema before a run, and creating it.

A target names a data source id, or a database title under a parent page. The resolved ids are
kept in the state store so later runs skip the search. Before any write, :func:`preflight`
compares the data source's properties with what the mappings write; a missing property or one of
another type stops the run (exit 4) with the mapping line that needs it.

What a run pays for this is at most one request per target: ``GET /v1/data_sources/{id}``, whose
answer is the schema itself (names, property ids and types), the claim (the description) and the
data source's own ``in_trash``. The answer that passed is kept in the state store
(:func:`keep_data_source`), and so is Notion's answer to the claim a run writes (the data source
with its claim, as the next run would read it). A later run checks that copy instead and confirms
it with the pages its query returns (:mod:`syncfw.engine.schema_check`), reading the data source
again when they differ and before its first write, so a renamed, deleted or retyped property is
still seen before anything is written, and a run with nothing to write costs no schema read. The
database container (``GET /v1/databases/{id}``: its ``in_trash``, and how many data sources it
holds) is read when the target is found, and then again only when its last good check is older
than :data:`DATABASE_RECHECK`, when the data source moved to another database, or on a
``--full-refresh``; the last good check is kept in the state store (:func:`database_checked`).
A database in the trash found late costs nothing irreversible: Notion refuses writes to its
pages (``400``, "Can't edit block that is archived"), which the run reports.
Sources: https://developers.notion.com/reference/retrieve-a-data-source,
https://developers.notion.com/reference/retrieve-a-database.
``syncfw notion init`` (:func:`init_target`) creates the database, or adds missing properties.
Source: https://developers.notion.com/reference/create-a-database,
https://developers.notion.com/reference/update-a-data-source (API version 2025-09-03).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from syncfw.clock import Clock, iso, parse_time, utcnow
from syncfw.errors import GuardStop, NotionNotFound
from syncfw.mapping import schema_config
from syncfw.notion.claim import Claim, check_claim, read_claim, sync_key_property_id, write_claim
from syncfw.notion.client import NotionClient
from syncfw.notion.names import PropertyNames, follow, record_ids, recorded_ids
from syncfw.recipe import Recipe, Target
from syncfw.state import StateBackend


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


def followed_properties(target: Target) -> list[str]:
    """The properties followed by id when a person renames them: every property the target's
    mappings write, the ``mark_property`` of ``on_delete: mark``, and the properties people keep
    that an update target's records are matched by."""
    matched = [
        m.match.property for m in target.mappings if target.mode == "update" and m.match and m.match.property
    ]
    return [*wanted_properties(target), *_mark(target), *(name for name in matched if name is not None)]


MARK_TYPES = ("checkbox", "select", "status")
"""The property types ``on_delete: mark`` can write (:data:`syncfw.engine.model.MARK_VALUES`);
``syncfw notion init`` adds a missing mark property as a checkbox."""
MARK_OPTION = "Deleted at source"
"""The option a select or status mark property is set to. A select option is created by the
first write that names it; a status option must already exist, since the API cannot add one
("Invalid status option", developers.notion.com, "Update page properties")."""


def _mark(target: Target) -> list[str]:
    """The target's ``mark_property``, if it marks pages whose record was deleted."""
    return [target.mark_property] if target.on_delete == "mark" and target.mark_property else []


def _plain(rich: list[dict[str, Any]]) -> str:
    return "".join(item.get("plain_text", "") for item in rich)


def _same_id(a: str | None, b: str | None) -> bool:
    return bool(a) and bool(b) and str(a).replace("-", "") == str(b).replace("-", "")


DATABASE_RECHECK = timedelta(days=1)
"""How long a good check of a target's database container (not in the trash, one data source)
is trusted before a run reads the database again (see the module docstring)."""


def _checked_setting(target: str) -> str:
    return f"notion.database_checked.{target}"


def database_checked(store: StateBackend, target: str, database_id: str | None, now: datetime) -> bool:
    """Whether the state store holds a good check of ``database_id``, the database of ``target``'s
    data source, made less than :data:`DATABASE_RECHECK` before ``now``."""
    try:
        found = json.loads(store.setting(_checked_setting(target)) or "{}")
    except ValueError:
        return False
    at = parse_time(found.get("at")) if isinstance(found, dict) else None
    return (
        at is not None
        and database_id is not None
        and _same_id(found.get("database_id"), database_id)
        and timedelta(0) <= now - at < DATABASE_RECHECK
    )


def record_database_check(store: StateBackend, target: str, database_id: str, now: datetime) -> None:
    """Keep in the state store that ``target``'s database was found fine at ``now``."""
    with store.transaction() as tx:
        tx.set_setting(_checked_setting(target), json.dumps({"database_id": database_id, "at": iso(now)}))


class FoundDataSource(NamedTuple):
    """A target's data source as Notion holds it now (its ``properties`` are the schema), and the
    database object when finding it read that too (to see whether it is in the trash).
    ``database_checked``: the database was not read, a recent good check of it being on record
    (:func:`database_checked`)."""

    database_id: str | None
    data_source_id: str
    data_source: dict[str, Any]
    database: dict[str, Any] | None
    database_checked: bool = False
    cached: bool = False
    """``data_source`` is the copy the state store kept (:func:`keep_data_source`), not read now."""


def _kept_setting(target: str) -> str:
    return f"notion.data_source.{target}"


def keep_data_source(store: StateBackend, target: str, data_source: Mapping[str, Any]) -> None:
    """Keep ``data_source`` (a data source object that passed the preflight, or Notion's answer to
    the run's claim written into it: :func:`~syncfw.notion.claim.write_claim`) as ``target``'s, for
    :func:`find_data_source` to use instead of reading it again (``cached``); a partial object
    (without its ``properties``: notion-sdk-js types an update's answer as either) is not
    kept, leaving the copy kept before."""
    if "properties" not in data_source:
        return
    with store.transaction() as tx:
        tx.set_setting(_kept_setting(target), json.dumps(data_source, sort_keys=True))


def kept_data_source(store: StateBackend, target: str, data_source_id: str) -> dict[str, Any] | None:
    """The data source object of ``target`` kept by :func:`keep_data_source`, if it is
    ``data_source_id``'s."""
    try:
        found = json.loads(store.setting(_kept_setting(target)) or "null")
    except ValueError:
        return None
    if isinstance(found, dict) and _same_id(found.get("id"), data_source_id):
        return found
    return None


def find_data_source(
    client: NotionClient,
    store: StateBackend,
    target: Target,
    *,
    now: datetime | None = None,
    cached: bool = False,
) -> FoundDataSource | None:
    """The data source of ``target`` fresh from Notion, or None when its database does not exist.

    With ``now``, the database container is not read when the state store
    holds a good check of it younger than :data:`DATABASE_RECHECK` (:func:`database_checked`);
    without it, it always is. With ``cached`` too, the data source itself is not read either
    when the state store keeps a copy of it from a run that passed the preflight
    (:func:`kept_data_source`): the run confirms it with the pages its query returns, which carry
    every property's name, id and type (:class:`syncfw.engine.schema_check.SchemaCheck`).

    Raises:
        NotionNotFound: a data source id named in the recipe is not found or not shared.
        GuardStop: several databases with the title exist under the parent page, or the
            database holds several data sources (the recipe must then name one by id), or the
            target's data source (or its database) is in Notion's trash.
    """
    if cached and now is not None:
        known_id = target.data_source or (store.target_ids(target.name) or (None, None))[1]
        kept = kept_data_source(store, target.name, known_id) if known_id else None
        parent = (kept.get("parent") or {}).get("database_id") if kept is not None else None
        if kept is not None and database_checked(store, target.name, parent, now):
            return FoundDataSource(parent, str(kept["id"]), kept, None, database_checked=True, cached=True)
    if target.data_source:
        ds = client.retrieve_data_source(target.data_source)
        return _not_in_trash(client, store, target, ds.get("parent", {}).get("database_id"), ds, now)
    assert target.database is not None
    known = store.target_ids(target.name)
    if known is not None:
        try:
            ds = client.retrieve_data_source(known[1])
        except NotionNotFound:
            pass  # deleted for good (the trash emptied): look for the title again
        else:
            return _not_in_trash(client, store, target, known[0], ds, now)
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
    return _not_in_trash(client, store, target, database_id, ds, now)


def _not_in_trash(
    client: NotionClient,
    store: StateBackend,
    target: Target,
    database_id: str | None,
    ds: dict[str, Any],
    now: datetime | None,
) -> FoundDataSource:
    """``ds`` with its database, unless one of them is in Notion's trash (``in_trash``).

    A data source in the trash keeps its pages; syncfw must not take it for gone and create a
    new database (every page would be created again), so the run stops with the way to restore
    it. Source: developers.notion.com/reference/retrieve-a-data-source, .../retrieve-a-database
    (``in_trash``).

    The database is not read when ``now`` is given and a good check of it is on
    record (:func:`database_checked`).

    Raises:
        GuardStop: the data source or its database is in the trash.
    """
    parent = ds.get("parent", {}).get("database_id")
    trashed = "data source" if ds.get("in_trash") else None
    if (
        trashed is None
        and now is not None
        and _same_id(parent, database_id)
        and database_checked(store, target.name, parent, now)
    ):
        return FoundDataSource(database_id, ds["id"], ds, None, database_checked=True)
    database = client.retrieve_database(parent) if trashed is None and parent else None
    if database is not None and database.get("in_trash"):
        trashed = "database"
    if trashed is None:
        same = database is not None and _same_id(parent, database_id)
        return FoundDataSource(database_id, ds["id"], ds, database if same else None)
    title = _plain(ds.get("title", [])) or ds["id"]
    raise GuardStop(
        f"target {target.name}: its {trashed} {title!r} (data source {ds['id']}, database {parent}) "
        "is in Notion's trash; nothing was written. Restore it in Notion (Trash in the sidebar, "
        "then Restore) and run again; syncfw will not create a new one while it is there, so no page "
        "is created twice."
    )


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


def schema_problems(
    target: Target, schema: dict[str, Any], data_sources: dict[str, str], *, skip: str | None = None
) -> list[str]:
    """What is wrong with a data source's properties for ``target`` (empty when it fits); the
    property ``skip`` is left out (its problem is explained otherwise)."""
    problems = [
        f"{m.match.file}:{m.match.line}: property {m.match.property!r}, which records are matched by, "
        "is missing in Notion"
        for m in target.mappings
        if target.mode == "update" and m.match and m.match.property and m.match.property not in schema
    ]
    for mark in _mark(target):
        kind = schema.get(mark, {}).get("type")
        if kind not in MARK_TYPES:
            state = "missing in Notion" if kind is None else f"a {kind} property in Notion"
            problems.append(
                f"target {target.name}: mark_property {mark!r} (on_delete: mark) is {state}; it must be "
                f"a {', '.join(MARK_TYPES[:-1])} or {MARK_TYPES[-1]} property (`syncfw notion init` adds a "
                "missing one as a checkbox)"
            )
        options = schema.get(mark, {}).get("status", {}).get("options", []) if kind == "status" else None
        if options is not None and MARK_OPTION not in {o.get("name") for o in options}:
            problems.append(
                f"target {target.name}: mark_property {mark!r} (on_delete: mark) is a status property "
                f"without a {MARK_OPTION!r} option; add it in Notion (the API cannot add status options)"
            )
    for prop in wanted_properties(target).values():
        if prop.name == skip:
            continue
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


def _sync_key_problem(target: Target, schema: dict[str, Any], claim: Claim | None) -> str | None:
    """Why the sync-key property syncfw keyed the pages by is not there any more, or None.

    ``schema`` is keyed by the recipe's names: a sync key a person renamed is followed by the
    property id its claim recorded (:func:`property_names`), so only a deleted one is missing."""
    if claim is None or claim.sync_key != target.sync_key or target.sync_key in schema:
        return None
    return (
        f"target {target.name}: the sync-key property {target.sync_key!r} was deleted in Notion; "
        "`syncfw notion init` adds it again and the next run refills every page's key from the state "
        "store (which knows each page's key by page id)"
    )


def property_names(
    store: StateBackend, target: Target, schema: dict[str, Any], claim: Claim | None
) -> PropertyNames:
    """The target's owned properties a person renamed in Notion, followed by their recorded
    property ids: the sync key's from the data source's claim, the others' from the state store
    (:mod:`syncfw.notion.names`)."""
    recorded = recorded_ids(store, target.name)
    if claim is not None and claim.sync_key == target.sync_key and claim.sync_key_property_id:
        recorded[target.sync_key] = claim.sync_key_property_id
    return follow(schema, followed_properties(target), recorded)


class ResolvedTarget(NamedTuple):
    """A target's data source as the preflight found it.

    ``schema`` is keyed by the recipe's names (``names`` are the owned properties a person
    renamed, followed by property id). ``claim`` is the recipe's own claim in the data source's
    description (None when absent: the run writes it); ``sync_key_property_id`` the id of the
    sync-key property now. When both are known and differ, the property was deleted and added
    again since the claim was written: the pages' keys are to be refilled.
    """

    database_id: str | None
    data_source_id: str
    schema: dict[str, Any]
    claim: Claim | None
    sync_key_property_id: str | None
    names: PropertyNames
    cached: bool = False
    """The schema is the copy kept from an earlier run (:func:`kept_data_source`), to be confirmed."""


def preflight(
    client: NotionClient,
    store: StateBackend,
    recipe: Recipe,
    *,
    recheck: bool = False,
    cached: bool = False,
    clock: Clock = utcnow,
) -> dict[str, ResolvedTarget]:
    """Resolve every target and check its schema and its claim, before anything is read or written.

    A target found before costs one request, ``GET /v1/data_sources/{id}``; its database is read
    too when found for the first time, when ``recheck`` (``--full-refresh``), or when its last
    good check (kept in the state store) is older than :data:`DATABASE_RECHECK` by ``clock``
    (see the module docstring). With ``cached`` (and not ``recheck``), a target whose database
    check is recent and whose data source the state store keeps from a run that passed this
    preflight costs no request: its kept copy is checked instead (``ResolvedTarget.cached``), and
    the run confirms it before relying on it (:class:`syncfw.engine.schema_check.SchemaCheck`).

    An owned property a person renamed is followed by its recorded property id: ``client``
    reads and writes it under the recipe's name from now on (:meth:`NotionClient.follow`), and
    the property ids of every owned property found are recorded (:mod:`syncfw.notion.names`).

    Returns:
        target name → the resolved target.

    Raises:
        GuardStop: a database is missing or in the trash, another recipe claims a data source
            (:mod:`syncfw.notion.claim`), or properties are missing (the sync key deleted
            included) or of another type; the message lists every schema problem and says to
            run ``syncfw notion init``.
    """
    resolved: dict[str, ResolvedTarget] = {}
    problems: list[str] = []
    now = clock()
    looked_at: list[tuple[str, str]] = []  # targets whose database was read: (target, database id)
    fresh: list[tuple[str, dict[str, Any]]] = []  # data sources read now: kept once they pass
    for target in recipe.targets_in_order():
        ids = find_data_source(
            client, store, target, now=None if recheck else now, cached=cached and not recheck
        )
        if ids is None:
            assert target.database is not None
            problems.append(
                f"target {target.name}: no database titled {target.database.title!r} under page "
                f"{target.database.parent_page}"
            )
            continue
        claim = check_claim(recipe.name, target, ids[2]) if target.mode == "upsert" else None
        if ids.cached and claim is None and target.mode == "upsert":  # kept before the claim was written
            ids = find_data_source(client, store, target, now=now) or ids
            claim = check_claim(recipe.name, target, ids[2])
        names = property_names(store, target, ids[2].get("properties", {}), claim)
        schema = names.read(ids[2].get("properties", {}))
        client.follow(ids[1], names)
        record_ids(store, target.name, schema, followed_properties(target))
        resolved[target.name] = ResolvedTarget(
            ids[0], ids[1], schema, claim, sync_key_property_id(target, schema), names, ids.cached
        )
        if not ids.cached:
            fresh.append((target.name, ids.data_source))
        if ids.database_id and not ids.database_checked:
            looked_at.append((target.name, ids.database_id))
        if target.database is not None and ids.database_id and not ids.database_checked:
            database = ids.database or client.retrieve_database(ids.database_id)
            sources = database.get("data_sources", [])
            if len(sources) > 1:
                problems.append(
                    f"target {target.name}: database {target.database.title!r} now holds {len(sources)} data "
                    "sources (someone added one); name the one to sync with `data_source: <id>` in the recipe"
                )
    data_sources = {name: r.data_source_id for name, r in resolved.items()}
    for target in recipe.targets_in_order():
        if target.name in resolved:
            found = resolved[target.name]
            key_problem = _sync_key_problem(target, found.schema, found.claim)
            problems += [key_problem] if key_problem else []
            problems += schema_problems(
                target, found.schema, data_sources, skip=target.sync_key if key_problem else None
            )
    if problems:
        raise GuardStop(
            "the Notion schema does not fit the recipe; nothing was written:\n  "
            + "\n  ".join(problems)
            + f"\nRun `syncfw notion init {recipe.path}` to create or extend the databases."
        )
    for name, database_id in looked_at:
        record_database_check(store, name, database_id, now)
    for name, data_source in fresh:
        keep_data_source(store, name, data_source)
    return resolved


@dataclass
class InitResult:
    """What ``notion init`` did for one target."""

    target: str
    data_source_id: str
    created: bool
    added: list[str]
    problems: list[str]


EDITED_BY = "Last edited by"
"""The ``last_edited_by`` property ``syncfw notion init`` adds to a target (the name Notion's app
gives that property type): incremental reads leave out the pages syncfw edited last
(:func:`syncfw.engine.reads.notion_window`)."""


NUMBERED = "ID"
"""The ``unique_id`` property ``syncfw notion init`` adds to an upsert target that has none (the
name Notion's app gives the "ID" property type). Notion numbers every page of the data source,
existing ones included, and the numbers never change, so the consistency read can cover the
target one slice of numbers at a time (:func:`syncfw.engine.reads.notion_window`)."""


def init_target(
    client: NotionClient,
    store: StateBackend,
    target: Target,
    data_sources: dict[str, str],
    recipe: str | None = None,
) -> InitResult:
    """Create the target's database with every mapped property, or add the missing ones.

    A property that exists with another type is reported, not changed: retyping a property can
    destroy what people wrote in it. An owned property a person renamed is renamed back (found
    by its recorded property id: :func:`property_names`), keeping its values. The property ids of
    the owned properties are recorded (:mod:`syncfw.notion.names`). With ``recipe`` (a recipe
    name; the health databases have none) the data source is claimed for that recipe when no
    recipe claims it yet (:mod:`syncfw.notion.claim`).

    An update target's database (``mode: update``) is never created: it is the one people keep.

    Raises:
        GuardStop: another recipe claims the data source, or it is in Notion's trash, or an
            update target's database does not exist; nothing was changed.
    """
    wanted = wanted_properties(target)
    ids = find_data_source(client, store, target)
    if ids is None and target.mode == "update":
        assert target.database is not None
        raise GuardStop(
            f"target {target.name}: no database titled {target.database.title!r} under page "
            f"{target.database.parent_page}; an update target fills in a database people keep, so it "
            "creates none: check the title (or name the data source with `data_source: <id>`)"
        )
    if ids is None:
        assert target.database is not None
        properties = {p.name: _config(p, data_sources) for p in wanted.values()}
        properties.update({mark: {"checkbox": {}} for mark in _mark(target)})
        if not any(p.type == "title" for p in wanted.values()):
            properties["Name"] = {"title": {}}
        if recipe is not None:
            properties[EDITED_BY] = {"last_edited_by": {}}
            properties.setdefault(NUMBERED, {"unique_id": {"prefix": None}})
        db = client.create_database(target.database.parent_page, target.database.title, properties)
        ds_id = db["data_sources"][0]["id"]
        with store.transaction() as tx:
            tx.set_target_ids(target.name, db["id"], ds_id)
        if recipe is not None and target.mode == "upsert":
            schema = client.retrieve_data_source(ds_id).get("properties", {})
            write_claim(client, ds_id, Claim.of(recipe, target, sync_key_property_id(target, schema)))
            record_ids(store, target.name, schema, followed_properties(target))
        return InitResult(target.name, ds_id, True, sorted(wanted), [])
    schema = ids[2].get("properties", {})
    claim = check_claim(recipe, target, ids[2]) if recipe is not None else read_claim(ids[2])
    claim = claim if target.mode == "upsert" else None  # an update target claims nothing
    names = property_names(store, target, schema, claim)
    renamed, followed = names.renamed, names.read(schema)
    missing = {name: p for name, p in wanted.items() if name not in followed}
    title_now = next((n for n, s in schema.items() if s.get("type") == "title"), None)
    # a property people keep (an update target's match) keeps the name they gave it
    changes: dict[str, Any] = {
        r.notion_name: {"name": r.recipe_name}
        for r in renamed
        if r.recipe_name in wanted or r.recipe_name in _mark(target)
    }
    for name, prop in missing.items():
        if prop.type == "title" and title_now is not None:
            changes[title_now] = {"name": name}  # a data source has one title property: rename it
        else:
            changes[name] = _config(prop, data_sources)
    changes.update({mark: {"checkbox": {}} for mark in _mark(target) if mark not in followed})
    has_editor = any(p.get("type") == "last_edited_by" for p in schema.values())
    # an update target reads every page on every run: the filter on who edited last is not needed
    needed = recipe is not None and target.mode == "upsert"
    editor = [EDITED_BY] if needed and not has_editor and EDITED_BY not in schema else []
    changes.update({name: {"last_edited_by": {}} for name in editor})
    has_number = any(p.get("type") == "unique_id" for p in schema.values())
    numbered = [NUMBERED] if needed and not has_number and NUMBERED not in schema else []
    changes.update({name: {"unique_id": {"prefix": None}} for name in numbered})
    if changes:
        client.update_data_source(ids[1], changes)
        schema = client.retrieve_data_source(ids[1]).get("properties", {})
    if recipe is not None and claim is None and target.mode == "upsert":
        write_claim(client, ids[1], Claim.of(recipe, target, sync_key_property_id(target, schema)))
    record_ids(store, target.name, schema, followed_properties(target))
    problems = schema_problems(target, schema, data_sources)
    added = (
        sorted(missing)
        + editor
        + numbered
        + [
            f"{r.recipe_name} (renamed back from {r.notion_name!r})"
            for r in renamed
            if r.recipe_name in wanted
        ]
    )
    return InitResult(target.name, ids[1], False, added, problems)
