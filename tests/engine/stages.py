"""Planning without services, for stage tests: an in-memory connector, a recipe of one target
(a primary mapping and a secondary one matched by domain), Notion pages as the API returns them,
and :func:`plan` around :func:`~syncfw.engine.plan.plan_target` with a real state store."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel

from syncfw.connector import Checkpoint, Connector, Record, StreamSpec
from syncfw.engine.plan import PlannedTarget, plan_target
from syncfw.engine.reads import StreamRead, read_stream
from syncfw.mapping import compile_mapping
from syncfw.plugins import Registry
from syncfw.recipe import Recipe, Target, load_recipe
from syncfw.state import StateStore

ACCOUNTS = """\
mapping: accounts
connector: files
stream: rows
sync_key: Key
properties:
  Key: {type: rich_text, field: key}
  Name: {type: title, field: name}
  Employees: {type: number, field: employees}
  Domain: {type: rich_text, field: domain}
"""

RENEWALS = """\
mapping: renewals
connector: files
stream: rows
match: {property: Domain, field: domain}
properties:
  Tier: {type: select, field: tier}
"""

RECIPE = """\
recipe: stages
owner: ops-lead@example.com
description: >
  Loads accounts and their renewal tiers into Notion. Runs by hand for this test. If it fails,
  nothing breaks.
tier: production
notion: {{token: "${{env:NOTION_TOKEN}}", rate_limit: 3/s}}
sources:
  accounts: {{connector: files, config: {{path: "{path}", key: key}}}}
  renewals: {{connector: files, config: {{path: "{path}", key: domain}}}}
targets:
  accounts:
    data_source: "{data_source}"
    sync_key: Key
    mappings: [{{file: accounts.yaml, source: accounts}}, {{file: renewals.yaml, source: renewals}}]
    guard: {{max_change: 100%}}
"""
DATA_SOURCE = "0f5a1c2e-0000-4000-8000-000000000001"
TYPES = {"Key": "rich_text", "Name": "title", "Employees": "number", "Domain": "rich_text", "Tier": "select"}


class MemoryConfig(BaseModel):
    """No settings: the records are given to the connector."""


class MemoryConnector(Connector):
    """A source held in memory: ``streams`` maps a stream name to its records and checkpoints."""

    name: ClassVar[str] = "memory"
    config_model: ClassVar[type[BaseModel]] = MemoryConfig

    def __init__(self, streams: dict[str, list[Record | Checkpoint]]) -> None:
        super().__init__(MemoryConfig())
        self.streams = streams

    def check(self) -> None:
        """Always answers."""

    def stream(self, name: str) -> StreamSpec:
        return StreamSpec(name, "key", None)

    def read(self, stream: str, cursor: str | None, fields: Sequence[str]) -> Iterator[Record | Checkpoint]:
        yield from self.streams.get(stream, [])


def load(tmp_path: Path, registry: Registry) -> Recipe:
    (tmp_path / "accounts.yaml").write_text(ACCOUNTS)
    (tmp_path / "renewals.yaml").write_text(RENEWALS)
    (tmp_path / "rows.jsonl").write_text("")
    path = tmp_path / "stages.yaml"
    path.write_text(RECIPE.format(path=tmp_path / "rows.jsonl", data_source=DATA_SOURCE))
    return load_recipe(path, registry=registry, environ={"NOTION_TOKEN": "ntn_" + "a" * 40})


def account(key: str, name: str, employees: int | str = 10, domain: str | None = None) -> Record:
    return Record(
        "rows", key, {"key": key, "name": name, "employees": employees, "domain": domain or f"{key}.example"}
    )


def renewal(domain: str, tier: str) -> Record:
    return Record("rows", domain, {"domain": domain, "tier": tier})


def notion_page(page_id: str, values: dict[str, Any]) -> dict[str, Any]:
    """A page as Notion's query endpoint returns it, with ``values`` (canonical) as its properties."""

    def text(value: Any) -> list[dict[str, Any]]:
        return (
            []
            if value is None
            else [{"type": "text", "plain_text": str(value), "text": {"content": str(value)}}]
        )

    props: dict[str, Any] = {}
    for name, kind in TYPES.items():
        value = values.get(name)
        if kind in ("title", "rich_text"):
            props[name] = {"type": kind, kind: text(value)}
        elif kind == "select":
            props[name] = {"type": kind, kind: None if value is None else {"name": value}}
        else:
            props[name] = {"type": kind, kind: value}
    return {"id": page_id, "properties": props, "last_edited_by": {"type": "person", "name": "Ada"}}


def plan(
    recipe: Recipe,
    registry: Registry,
    store: StateStore,
    streams: dict[str, list[Record | Checkpoint]],
    live: list[dict[str, Any]] | None = None,
    retries: dict[str, list[Record]] | None = None,
) -> PlannedTarget:
    """Plan the recipe's one target, reading each mapping's stream from ``streams`` (by mapping name)."""
    target: Target = recipe.targets["accounts"]
    reads = {}
    for mapping in target.mappings:
        connector = MemoryConnector({mapping.stream: streams.get(mapping.name, [])})
        reads[mapping.name] = StreamRead(
            mapping.name,
            mapping.source,
            mapping.stream,
            True,
            read_stream(connector, mapping, None, []),
            tuple((retries or {}).get(mapping.name, [])),
        )
    return plan_target(
        target=target,
        compiled={m.name: compile_mapping(m, registry.transforms) for m in target.mappings},
        reads=reads,
        data_source_id=DATA_SOURCE,
        live_pages=live or [],
        store=store,
        user_name=lambda _user: None,
    )
