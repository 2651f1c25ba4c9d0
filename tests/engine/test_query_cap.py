"""Full reads of a target larger than Notion's per-query result cap (10,000; set small here with
the emulator's ``query_cap``): every page is read, in ``created_time`` windows, and a read that
cannot be completed fails the target before anything is written."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from syncfw.plugins import Registry
from syncfw.sandbox.runner import Sandbox
from tests.engine.test_notion_limits import by_key, setup, write_jsonl, writes
from tests.engine.test_sync_end_to_end import init, sync

PAGES = 90
CAP = 40


def imported(key: str) -> dict[str, Any]:
    return {
        "Key": {"rich_text": [{"text": {"content": key}}]},
        "Name": {"title": [{"text": {"content": f"Imported {key}"}}]},
    }


def test_a_full_read_past_the_query_cap_adopts_and_updates_every_page_once(
    sandbox: Sandbox, registry: Registry, tmp_path: Path
) -> None:
    keys = [f"k{n:03}" for n in range(PAGES)]
    recipe = setup(tmp_path, registry, 1, [{"key": k, "name": f"Synced {k}"} for k in keys])
    ids = init(recipe)
    assert sandbox.notion is not None
    # a person imported the pages over three minutes (30 a minute): windows of one minute fit the cap
    sandbox.notion.human_import(ids["things"], [imported(k) for k in keys], rows_per_second=0.5)
    sandbox.notion.configure(query_cap=CAP)

    first = sync(recipe, registry)
    assert first.exit_code == 0, first.error
    things = first.targets["things"]
    assert things.done == {"create": 0, "update": PAGES, "archive": 0}
    assert not any("no longer in Notion" in w for w in things.plan.warnings)
    live = by_key(sandbox, ids["things"])  # no key has two pages
    assert sorted(live) == keys
    assert all(p["properties"]["Name"]["title"][0]["plain_text"] == f"Synced {k}" for k, p in live.items())

    rerun = sync(recipe, registry, full_refresh=True)
    assert rerun.exit_code == 0, rerun.error
    assert writes(rerun) == 0


def test_a_read_that_stays_capped_within_one_minute_fails_before_writing_and_loses_nothing(
    sandbox: Sandbox, registry: Registry, tmp_path: Path
) -> None:
    keys = [f"k{n:03}" for n in range(60)]
    rows = [{"key": k, "name": f"Synced {k}"} for k in keys]
    recipe = setup(tmp_path, registry, 1, rows)
    ids = init(recipe)
    assert sync(recipe, registry).exit_code == 0  # 60 pages created within one minute
    assert sandbox.notion is not None
    # without an ID (unique_id) property to read in number order, created_time windows are all
    # there is (tests/notion/test_client_reads.py reads such a minute by number)
    sandbox.notion.human_update_schema(ids["things"], {"ID": None})
    sandbox.notion.configure(query_cap=CAP)
    rows[-1]["name"] = "Changed"
    write_jsonl(tmp_path / "things.jsonl", [{"notes": None, "summary": None, "items": [], **r} for r in rows])

    capped = sync(recipe, registry, full_refresh=True)
    assert capped.exit_code == 1 and capped.status == "failed"
    assert "created at" in (capped.error or "") and "cannot read them all" in (capped.error or "")
    assert writes(capped) == 0
    assert "things" not in capped.targets or not capped.targets["things"].plan.warnings

    sandbox.notion.configure(query_cap=10_000)
    after = sync(recipe, registry)
    assert after.exit_code == 0, after.error
    assert after.targets["things"].done["update"] == 1  # the change was not skipped past
    live = by_key(sandbox, ids["things"])
    assert (
        sorted(live) == keys and live[keys[-1]]["properties"]["Name"]["title"][0]["plain_text"] == "Changed"
    )
