"""Which recipe writes a data source: a claim syncfw keeps in the data source's description.

Each recipe has its own state store, so two recipes pointed at one data source cannot see each
other there; each would create every page. The claim therefore lives in Notion itself, as one
line of the data source's description (people see it in Notion, under the database title)::

    syncfw primary writer {"recipe": "salesforce-accounts", "target": "accounts", "mapping":
    "salesforce-account", "sync_key": "Salesforce ID", "sync_key_property_id": "a%3Fb"}

It names the recipe, its target and primary mapping, and the sync-key property with its property
id (Notion property ids survive renames, so a renamed sync key is recognised, and one deleted
and added again is told apart from the one syncfw's pages were keyed by). The first run (or
``syncfw notion init``) of a recipe writes its claim; a run or init of another recipe stops
(:class:`~syncfw.errors.GuardStop`, exit 4) before writing. Deleting the line hands the data
source over to the next recipe that runs.

A data source description is rich text, set with ``PATCH /v1/data_sources/{id}`` and
``description`` (developers.notion.com/reference/update-a-data-source; notion-client 3.1 does
not pass ``description`` through ``data_sources.update``, so the request goes through the
client's generic ``request``). Other text in the description is kept as it is.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

from syncfw.errors import GuardStop
from syncfw.notion.client import NotionClient
from syncfw.recipe import Target

MARKER = "syncfw primary writer "


@dataclass(frozen=True)
class Claim:
    """The recipe that writes a data source's pages (see the module docstring)."""

    recipe: str
    target: str
    mapping: str
    sync_key: str
    sync_key_property_id: str | None

    @classmethod
    def of(cls, recipe: str, target: Target, sync_key_property_id: str | None) -> Claim:
        assert target.sync_key is not None, "an update target (mode: update) claims nothing"
        return cls(recipe, target.name, target.primary_mapping.name, target.sync_key, sync_key_property_id)

    def text(self) -> str:
        return MARKER + json.dumps(asdict(self))


def read_claim(data_source: dict[str, Any]) -> Claim | None:
    """The claim in a data source object's ``description``, or None (absent or unreadable)."""
    for item in data_source.get("description") or []:
        plain = str(item.get("plain_text", ""))
        start = plain.find(MARKER)
        if start < 0:
            continue
        try:
            found, _ = json.JSONDecoder().raw_decode(plain, start + len(MARKER))
            return Claim(**found)
        except (ValueError, TypeError):
            return None
    return None


def check_claim(recipe: str, target: Target, data_source: dict[str, Any]) -> Claim | None:
    """The data source's claim when it is ``recipe``'s own (None when there is none).

    Raises:
        GuardStop: another recipe claims the data source; the message names both recipes and
            how to hand the data source over.
    """
    claim = read_claim(data_source)
    if claim is None or claim.recipe == recipe:
        return claim
    raise GuardStop(
        f"target {target.name}: data source {data_source['id']} is written by recipe {claim.recipe!r} "
        f"(target {claim.target}, primary mapping {claim.mapping}), so recipe {recipe!r} does not write "
        "it too (both would create every page); nothing was written. To hand it over, stop recipe "
        f"{claim.recipe!r} and delete the line starting {MARKER.strip()!r} from the data source's "
        "description in Notion; the next run of the other recipe claims it."
    )


def sync_key_property_id(target: Target, schema: dict[str, Any]) -> str | None:
    """The property id of the target's sync-key property in ``schema`` (None when it is missing)."""
    prop = schema.get(target.sync_key) if target.sync_key else None
    return str(prop["id"]) if prop and prop.get("id") else None


def write_claim(client: NotionClient, data_source_id: str, claim: Claim) -> dict[str, Any]:
    """Put ``claim`` in the data source's description, in place of any earlier claim, keeping the
    rest of the description as it is.

    Returns:
        Notion's answer: the data source object as updated, claim included
        (developers.notion.com/reference/update-a-data-source).
    """
    current = client.retrieve_data_source(data_source_id).get("description") or []
    kept = [
        {k: v for k, v in item.items() if k not in ("plain_text", "href")}
        for item in current
        if MARKER not in str(item.get("plain_text", ""))
    ]
    text = claim.text()
    if kept:
        text = "\n" + text
    return client.update_description(data_source_id, [*kept, {"type": "text", "text": {"content": text}}])
