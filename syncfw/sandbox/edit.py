"""``syncfw sandbox edit``: make a person's edit in the sandbox's Notion, as a demo or test would.

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
    token = os.environ.get("NOTION_TOKEN")
    base = os.environ.get("NOTION_BASE_URL")
    if not token or not base:
        raise ConfigError("NOTION_TOKEN and NOTION_BASE_URL are not set: pass the sandbox's --env-file")
    client = NotionClient(SecretStr(token), RateBudget(50, burst=10), base_url=base)
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
        body: dict[str, Any] = {"properties": {prop: {new_type: {}}}, "user_name": user_name}
        _emulator_post(f"{base}/_emulator/data_sources/{ds['id']}/human-schema", body, token)
    value = typed_value(new_type if added else schema[prop]["type"], text)
    page = _emulator_post(
        f"{base}/_emulator/pages/{page['id']}/human-edit",
        {"properties": {prop: value}, "user_name": user_name},
        token,
    )
    return page, added


def _emulator_post(url: str, body: dict[str, Any], token: str) -> dict[str, Any]:
    # httpx trusts the CA that SSL_CERT_FILE names (the sandbox's env file sets it)
    response = httpx.post(url, json=body, headers={"Authorization": f"Bearer {token}"}, timeout=30)
    if response.status_code != 200:
        raise ConfigError(f"the sandbox refused the edit: {response.json().get('message', response.text)}")
    result: dict[str, Any] = response.json()
    return result
