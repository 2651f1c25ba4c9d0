"""``syncfw sandbox edit``, ``rename`` and ``seed-hand-kept``: what a person does in the sandbox's
Notion, as a demo or test would (edit a property, rename one, keep a database by hand).

The edit goes through the Notion emulator's ``/_emulator/pages/{id}/human-edit`` route, so the
page's ``last_edited_by`` becomes a person user and ``last_edited_time`` moves: exactly what a
sync sees after someone typed into Notion. VALUE is written the way a person types it and turned
into the property's value shape from the data source's schema.
"""

from __future__ import annotations

import difflib
import os
import re
from typing import Any

import httpx
from pydantic import SecretStr

from syncfw.errors import ConfigError
from syncfw.notion.budget import RateBudget
from syncfw.notion.client import NotionClient

_UUID = re.compile(r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$")
_TRUE = {"true", "yes", "y", "1", "on", "checked", "x"}
_FALSE = {"false", "no", "n", "0", "off", "unchecked", ""}


def typed_value(prop_type: str, text: str) -> dict[str, Any]:
    """The Notion request value for ``text`` typed into a property of ``prop_type``.

    Raises:
        ConfigError: the text does not fit the type (e.g. a word for a number).
    """
    text = text.strip()
    if prop_type in ("title", "rich_text"):
        return {prop_type: [{"type": "text", "text": {"content": text}}] if text else []}
    if prop_type == "number":
        if not text:
            return {"number": None}
        try:
            number = float(text.replace(",", ""))
        except ValueError:
            raise ConfigError(f"{text!r} is not a number") from None
        return {"number": int(number) if number.is_integer() else number}
    if prop_type in ("select", "status"):
        return {prop_type: {"name": text} if text else None}
    if prop_type == "multi_select":
        return {"multi_select": [{"name": n.strip()} for n in text.split(",") if n.strip()]}
    if prop_type == "date":
        return {"date": {"start": text} if text else None}
    if prop_type == "checkbox":
        if text.lower() not in _TRUE | _FALSE:
            raise ConfigError(f"{text!r} is not true or false")
        return {"checkbox": text.lower() in _TRUE}
    if prop_type in ("url", "email", "phone_number"):
        return {prop_type: text or None}
    if prop_type == "relation":
        return {"relation": [{"id": i.strip()} for i in text.split(",") if i.strip()]}
    raise ConfigError(f"properties of type {prop_type} cannot be edited from the command line")


def _plain(value: dict[str, Any]) -> str | None:
    kind = value.get("type")
    if kind in ("title", "rich_text"):
        return "".join(item.get("plain_text", "") for item in value.get(kind) or [])
    return None


def find_page(client: NotionClient, page_or_key: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The page (by id, or by a title or text property equal to a sync key) and its data source.

    Raises:
        ConfigError: no page, or several pages, carry that key.
    """
    if _UUID.match(page_or_key):
        page = client.retrieve_page(page_or_key)
        ds = client.retrieve_data_source(page["parent"]["data_source_id"])
        return page, ds
    found = []
    for ds in client.search_data_sources(""):
        for page in client.query_pages(ds["id"]):
            if any(_plain(v) == page_or_key for v in page["properties"].values()):
                found.append((page, ds))
    if len(found) != 1:
        what = "no page" if not found else f"{len(found)} pages"
        raise ConfigError(f"{what} in the sandbox carry {page_or_key!r}; give the page id instead")
    return found[0]


def _sandbox() -> tuple[str, str]:
    """The sandbox's ``NOTION_BASE_URL`` and ``NOTION_TOKEN`` from the environment (its env file).

    Raises:
        ConfigError: either is not set.
    """
    token = os.environ.get("NOTION_TOKEN")
    base = os.environ.get("NOTION_BASE_URL")
    if not token or not base:
        raise ConfigError("NOTION_TOKEN and NOTION_BASE_URL are not set: pass the sandbox's --env-file")
    return base, token


def _client() -> NotionClient:
    base, token = _sandbox()
    return NotionClient(SecretStr(token), RateBudget(50, burst=10), base_url=base)


def _as_person(route: str, body: dict[str, Any]) -> dict[str, Any]:
    """POST ``body`` to the Notion emulator's ``/_emulator/`` ``route`` (an act of a person).

    Raises:
        ConfigError: the emulator refused it (its message says why).
    """
    base, token = _sandbox()
    response = httpx.post(
        f"{base}/_emulator/{route}", json=body, headers={"Authorization": f"Bearer {token}"}, timeout=30
    )
    if response.status_code != 200:
        raise ConfigError(f"the sandbox refused it: {response.json().get('message', response.text)}")
    result: dict[str, Any] = response.json()
    return result


def human_edit(
    page_or_key: str, prop: str, text: str, user_name: str, *, new_type: str = "rich_text"
) -> tuple[dict[str, Any], bool]:
    """Edit one property of a page as the person ``user_name``; return the page afterwards and
    whether the property was added.

    A property the data source lacks is added first, of type ``new_type``, as a person adds a
    column in Notion: that is how people-owned properties (``owners: {Notes: notion}``, which no
    mapping writes and ``notion init`` does not create) come to exist. A name close to an existing
    property is taken for a typo instead.

    Reads ``NOTION_TOKEN`` and ``NOTION_BASE_URL`` from the environment (the sandbox env file).

    Raises:
        ConfigError: no such page; a missing property whose name is close to an existing one; a
            value that does not fit the property.
    """
    client = _client()
    try:
        page, ds = find_page(client, page_or_key)
    finally:
        client.close()
    schema = ds.get("properties", {})
    added = prop not in schema
    if added:
        close = difflib.get_close_matches(prop, list(schema), n=1)
        if close:
            raise ConfigError(
                f"the data source has no property {prop!r}: did you mean {close[0]!r}? "
                f"(it has: {', '.join(sorted(schema))})"
            )
        _as_person(
            f"data_sources/{ds['id']}/human-schema",
            {"properties": {prop: {new_type: {}}}, "user_name": user_name},
        )
    value = typed_value(new_type if added else schema[prop]["type"], text)
    page = _as_person(f"pages/{page['id']}/human-edit", {"properties": {prop: value}, "user_name": user_name})
    return page, added


def data_source_named(client: NotionClient, id_or_title: str) -> dict[str, Any]:
    """The data source with this id, or the only one whose database has this title.

    Raises:
        ConfigError: none, or several, have that title.
    """
    if _UUID.match(id_or_title):
        return client.retrieve_data_source(id_or_title)
    found = [
        ds
        for ds in client.search_data_sources(id_or_title)
        if "".join(t.get("plain_text", "") for t in ds.get("title", [])) == id_or_title
    ]
    if len(found) != 1:
        what = "no data source" if not found else f"{len(found)} data sources"
        raise ConfigError(f"{what} in the sandbox titled {id_or_title!r}; give the data source id instead")
    return client.retrieve_data_source(found[0]["id"])


def human_rename(id_or_title: str, old: str, new: str, user_name: str) -> dict[str, Any]:
    """Rename property ``old`` of a data source (by id or title) to ``new`` as the person
    ``user_name``, as in the Notion app (the property keeps its id and values); return the
    data source afterwards.

    Raises:
        ConfigError: no such data source or property, or Notion refuses the name.
    """
    client = _client()
    try:
        ds = data_source_named(client, id_or_title)
    finally:
        client.close()
    if old not in ds.get("properties", {}):
        have = ", ".join(sorted(ds.get("properties", {})))
        raise ConfigError(f"the data source has no property {old!r} (it has: {have})")
    body = {"properties": {old: {"name": new}}, "user_name": user_name}
    return _as_person(f"data_sources/{ds['id']}/human-schema", body)


HAND_KEPT_TITLE = "Accounts (hand kept)"
"""The title of the database people keep by hand that ``recipes/hand-kept-accounts.yaml`` fills in."""
_HAND_KEPT = (
    # (Account, Domain, Notes): a few of the sample Salesforce accounts as people would write them,
    # two pages sharing a domain (a record matching both is reported), one Salesforce never had
    ("Edge Communications", "edgecomm.com", "Renewal talk in May"),
    ("Burlington Textiles", "burlington.com", "Asked for a volume discount"),
    ("Pyramid Construction", "pyramid.com", ""),
    ("GenePoint", "genepoint.com", "Champion: Dr. Lee"),
    ("Grand Hotels (Americas)", "grandhotels.com", "Split by region"),
    ("Grand Hotels (Europe)", "grandhotels.com", "Split by region"),
    ("Acme Widgets", "acme.example", "Prospect from the fair, not in Salesforce"),
)


def seed_hand_kept_accounts(user_name: str) -> tuple[str, int]:
    """Create the database :data:`HAND_KEPT_TITLE` under the sandbox's parent page
    (``NOTION_PARENT_PAGE_ID``) with the title ``Account`` and the text properties ``Domain`` and
    ``Notes``, holding pages the person ``user_name`` made; return its data source id and the
    pages made (0 when it exists already: it is left as it is).

    Raises:
        ConfigError: the sandbox's variables are not set.
    """
    parent = os.environ.get("NOTION_PARENT_PAGE_ID")
    if not parent:
        raise ConfigError("NOTION_PARENT_PAGE_ID is not set: pass the sandbox's --env-file")
    client = _client()
    try:
        try:
            return data_source_named(client, HAND_KEPT_TITLE)["id"], 0
        except ConfigError:
            pass
        schema: dict[str, Any] = {
            "Account": {"title": {}},
            "Domain": {"rich_text": {}},
            "Notes": {"rich_text": {}},
        }
        ds_id = str(client.create_database(parent, HAND_KEPT_TITLE, schema)["data_sources"][0]["id"])
    finally:
        client.close()
    rows = [
        {
            "Account": typed_value("title", name),
            "Domain": typed_value("rich_text", domain),
            "Notes": typed_value("rich_text", notes),
        }
        for name, domain, notes in _HAND_KEPT
    ]
    created = _as_person(f"data_sources/{ds_id}/human-import", {"rows": rows, "user_name": user_name})
    return ds_id, int(created["created"])
