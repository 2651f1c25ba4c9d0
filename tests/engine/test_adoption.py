"""Adopting the pages people imported into Notion before syncfw, with what planning holds per
page on disk (:class:`~syncfw.engine.spill.SpillDict`, forced past its threshold at 40 pages and
read back 7 at a time) and in memory: every page is adopted without a write, and the duplicates,
the strays and the pages with no sync key are reported the same way."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from syncfw.engine import spill
from syncfw.plugins import Registry
from syncfw.recipe import load_recipe
from syncfw.sandbox.runner import Sandbox
from syncfw.state import StateStore
from tests.engine.test_notion_limits import write_jsonl, writes
from tests.engine.test_sync_end_to_end import init, pages, sync

PAGES = 300

MAPPING = """\
mapping: things
connector: files
stream: rows
sync_key: Key
properties:
  Key: {type: rich_text, field: key}
  Name: {type: title, field: name}
"""

RECIPE = """\
recipe: adoption
owner: ops-lead@example.com
description: >
  Loads a file into a database a team imported by hand. Runs by hand for this test. If it fails, nothing breaks.
tier: production
notion: {{token: "${{env:NOTION_TOKEN}}", rate_limit: 200/s}}
sources:
  things: {{connector: files, config: {{path: "{things}", key: key}}}}
targets:
  things:
    database: {{title: Things, parent_page: "${{env:NOTION_PARENT_PAGE_ID}}"}}
    sync_key: Key
    mappings: [{{file: things.yaml, source: things}}]
    guard: {{max_change: 100%}}
"""


def row(key: str | None, name: str) -> dict[str, Any]:
    """A page as a person's CSV import makes it (request shape)."""
    props: dict[str, Any] = {"Name": {"title": [{"text": {"content": name}}]}}
    if key is not None:
        props["Key"] = {"rich_text": [{"text": {"content": key}}]}
    return props


@pytest.mark.parametrize("held", [40, spill.SPILL_KEYS], ids=["on-disk", "in-memory"])
def test_an_adoption_adopts_every_page_and_writes_nothing(
    sandbox: Sandbox, registry: Registry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, held: int
) -> None:
    monkeypatch.setattr(spill, "SPILL_KEYS", held)
    monkeypatch.setattr(spill, "PAGE", 7)
    keys = [f"k{n:03}" for n in range(PAGES)]
    (tmp_path / "things.yaml").write_text(MAPPING)
    write_jsonl(tmp_path / "things.jsonl", [{"key": k, "name": f"Thing {k}"} for k in keys])
    path = tmp_path / "adoption.yaml"
    path.write_text(RECIPE.format(things=tmp_path / "things.jsonl"))
    recipe = load_recipe(path, registry=registry)
    ids = init(recipe)
    assert sandbox.notion is not None
    imported = [row(k, f"Thing {k}") for k in keys]
    imported += [row("k007", "Thing k007 again"), row("retired", "An old thing"), row(None, "A note")]
    sandbox.notion.human_import(ids["things"], imported)
    first_of = {}
    for page in sorted(pages(sandbox, ids["things"]), key=lambda p: p["created_time"]):
        key = "".join(t["plain_text"] for t in page["properties"]["Key"]["rich_text"])
        first_of.setdefault(key, page["id"])

    first = sync(recipe, registry)
    assert first.exit_code == 0, first.error
    assert writes(first) == 0
    plan = first.targets["things"].plan
    assert plan.pages == PAGES + 1 and plan.unchanged == PAGES + 1
    assert any("2 pages in Notion carry Key = 'k007'" in w for w in plan.warnings)
    assert plan.unidentified_count == 2
    assert any("'retired' (page" in u for u in plan.unidentified)
    assert any("(no Key)" in u for u in plan.unidentified)
    store = StateStore(recipe.state_path)
    try:
        adopted = {e.sync_key: e.page_id for batch in store.iter_pages("things") for e in batch}
        assert adopted == {k: first_of[k] for k in keys}  # the first of the two k007 pages
        written = store.last_written_for("things", keys)
        assert all(written[k].get("Name") == f"Thing {k}" for k in keys)
    finally:
        store.close()

    rerun = sync(recipe, registry, full_refresh=True)
    assert rerun.exit_code == 0, rerun.error
    assert writes(rerun) == 0
    assert rerun.targets["things"].plan.unchanged == PAGES + 1
