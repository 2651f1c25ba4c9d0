"""Notion's limits against whole runs: relations longer than a page object lists (25) or a
request takes (100), and pages larger than Notion's 500 KB request body."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from notion_client import Client, collect_paginated_api

from syncfw.engine.run import RunReport
from syncfw.plugins import Registry
from syncfw.recipe import Recipe, load_recipe
from syncfw.sandbox.runner import Sandbox
from tests.engine.test_ownership import value
from tests.engine.test_sync_end_to_end import init, pages, sync

ITEMS = """\
mapping: items
connector: files
stream: rows
sync_key: Key
properties:
  Key: {type: rich_text, field: key}
  Name: {type: title, field: name}
"""

THINGS = """\
mapping: things
connector: files
stream: rows
sync_key: Key
properties:
  Key: {type: rich_text, field: key}
  Name: {type: title, field: name}
  Notes: {type: rich_text, field: notes}
  Summary: {type: rich_text, field: summary}
  Items: {type: relation, target: items, field: items}
"""

RECIPE = """\
recipe: limits
owner: ops-lead@example.com
description: >
  Loads two files into Notion. Runs by hand for this test. If it fails, nothing breaks.
tier: production
notion: {{token: "${{env:NOTION_TOKEN}}", rate_limit: 200/s}}
sources:
  items: {{connector: files, config: {{path: "{items}", key: key}}}}
  things: {{connector: files, config: {{path: "{things}", key: key}}}}
targets:
  items:
    database: {{title: Items, parent_page: "${{env:NOTION_PARENT_PAGE_ID}}"}}
    sync_key: Key
    mappings: [{{file: items.yaml, source: items}}]
    guard: {{max_change: 100%}}
  things:
    database: {{title: Things, parent_page: "${{env:NOTION_PARENT_PAGE_ID}}"}}
    sync_key: Key
    mappings: [{{file: things.yaml, source: things}}]
    guard: {{max_change: 100%}}
"""


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))


def setup(tmp_path: Path, registry: Registry, items: int, things: list[dict[str, Any]]) -> Recipe:
    (tmp_path / "items.yaml").write_text(ITEMS)
    (tmp_path / "things.yaml").write_text(THINGS)
    write_jsonl(tmp_path / "items.jsonl", [{"key": f"i{n:03}", "name": f"Item {n}"} for n in range(items)])
    empty = {"notes": None, "summary": None, "items": []}
    write_jsonl(tmp_path / "things.jsonl", [{**empty, **thing} for thing in things])
    path = tmp_path / "limits.yaml"
    path.write_text(RECIPE.format(items=tmp_path / "items.jsonl", things=tmp_path / "things.jsonl"))
    return load_recipe(path, registry=registry)


def by_key(box: Sandbox, data_source_id: str) -> dict[str, dict[str, Any]]:
    found = {value(p, "Key"): p for p in pages(box, data_source_id)}
    assert len(found) == len(pages(box, data_source_id)), "a sync key has two pages"
    return found


def writes(report: RunReport) -> int:
    return report.notion_requests["writes"]


def test_relations_of_60_and_120_pages_round_trip_with_no_write_on_the_rerun(
    sandbox: Sandbox, registry: Registry, tmp_path: Path
) -> None:
    things = [
        {"key": "t60", "name": "Sixty", "items": [f"i{n:03}" for n in range(60)]},
        {"key": "t120", "name": "All", "items": [f"i{n:03}" for n in range(120)]},
    ]
    recipe = setup(tmp_path, registry, 120, things)
    ids = init(recipe)
    first = sync(recipe, registry)
    assert first.exit_code == 0, first.error
    item_pages = by_key(sandbox, ids["items"])
    live = by_key(sandbox, ids["things"])
    related = {key: sorted(r["id"] for r in _relation(live[key]["id"], "Items")) for key in ("t60", "t120")}
    assert related["t60"] == sorted(item_pages[f"i{n:03}"]["id"] for n in range(60))
    assert len(related["t120"]) == 100  # Notion takes 100 related pages per request
    warnings = " ".join(first.targets["things"].plan.warnings)
    assert "t120" in warnings and "120 related pages" in warnings

    for rerun in (sync(recipe, registry), sync(recipe, registry, full_refresh=True)):
        assert rerun.exit_code == 0, rerun.error
        assert writes(rerun) == 0
        assert rerun.targets["things"].plan.drift == ()


def _relation(page_id: str, name: str) -> list[dict[str, Any]]:
    """Every related page of ``name``, read with notion-client's own pagination helper."""
    notion = Client(auth=os.environ["NOTION_TOKEN"], base_url=os.environ["NOTION_BASE_URL"], retry=False)
    prop = notion.pages.retrieve(page_id=page_id)["properties"][name]["id"]
    items = collect_paginated_api(notion.pages.properties.retrieve, page_id=page_id, property_id=prop)
    return [item["relation"] for item in items]


CJK = "漢字仮名交じり文"  # 3 bytes each in UTF-8


@pytest.mark.timeout(300)
def test_a_page_over_500_kb_is_split_or_refused_and_the_rest_of_the_target_syncs(
    sandbox: Sandbox, registry: Registry, tmp_path: Path
) -> None:
    huge = (CJK * 25_000)[:200_000]  # 100 text objects of 2000 characters: about 600 KB alone
    half = (CJK * 25_000)[:120_000]  # about 360 KB: two of them exceed 500 KB only together
    things = [
        {"key": "big", "name": "Too big", "notes": huge},
        {"key": "wide", "name": "Split", "notes": half, "summary": half},
        *({"key": f"ok{n}", "name": f"Fine {n}", "notes": "small"} for n in range(5)),
    ]
    recipe = setup(tmp_path, registry, 1, things)
    ids = init(recipe)
    assert sandbox.notion is not None
    sandbox.notion.reset_stats()
    first = sync(recipe, registry)
    assert first.exit_code == 3, first.error
    problems = [(p.source, p.stream, p.key, p.property) for p in first.targets["things"].plan.problems]
    assert problems == [("things", "rows", "big", "Notes")]
    reason = first.targets["things"].plan.problems[0].reason
    assert "500,000 bytes" in reason
    sent = [r for r in sandbox.notion.requests() if r.get("body") is not None]
    assert sent and max(len(json.dumps(r["body"], ensure_ascii=False).encode()) for r in sent) <= 500_000

    live = by_key(sandbox, ids["things"])
    assert set(live) == {"wide", *(f"ok{n}" for n in range(5))}
    assert value(live["wide"], "Notes") == half and value(live["wide"], "Summary") == half

    rerun = sync(recipe, registry)
    assert rerun.exit_code == 3  # the refused record stays quarantined, retried every run
    assert writes(rerun) == 0
    assert by_key(sandbox, ids["things"]).keys() == live.keys()
