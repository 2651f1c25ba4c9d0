"""A backfill in many ordinary runs: ``--max-writes`` ends each run after that many page writes,
the next run continues where it stopped, and ``syncfw status`` shows how far it has gone.

A 1,000-record file into the Notion emulator (its rate limit raised so the test takes seconds):
ten runs capped at 100 writes create every page once, an eleventh writes nothing."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from syncfw.health.status import recipe_status
from syncfw.plugins import Registry
from syncfw.recipe import load_recipe
from tests.conftest import RECIPE as SALESFORCE_RECIPE
from tests.conftest import start_sandbox
from tests.engine.test_sync_end_to_end import init, pages, seed, sync, text

RECORDS = 1_000
CAP = 100
MAPPING = """\
mapping: rows
connector: files
stream: rows
sync_key: Key
properties:
  Key: {type: rich_text, field: key}
  Name: {type: title, field: name}
"""
RECIPE = """\
recipe: backfill
owner: ops-lead@example.com
description: >
  Imports a large file into Notion over many runs. Runs by hand for this test. If it fails, nothing breaks.
tier: production
notion: {{token: "${{env:NOTION_TOKEN}}", rate_limit: 2000/s}}
sources:
  file: {{connector: files, config: {{path: "{path}", key: key}}}}
targets:
  rows:
    database: {{title: Rows, parent_page: "${{env:NOTION_PARENT_PAGE_ID}}"}}
    sync_key: Key
    mappings: [rows.yaml]
"""


@pytest.mark.timeout(120)
def test_a_capped_backfill_finishes_in_ten_runs_without_a_duplicate_or_a_skipped_record(
    tmp_path: Path, registry: Registry, seed_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    box = start_sandbox(tmp_path, registry, seed_dir, monkeypatch, notion_rate_limit=5000.0)
    try:
        data = tmp_path / "rows.jsonl"
        data.write_text(
            "".join(json.dumps({"key": f"k{i:04d}", "name": f"Row {i}"}) + "\n" for i in range(RECORDS))
        )
        (tmp_path / "rows.yaml").write_text(MAPPING)
        recipe_file = tmp_path / "backfill.yaml"
        recipe_file.write_text(RECIPE.format(path=data))
        recipe = load_recipe(recipe_file, registry=registry)
        ids = init(recipe)

        first = subprocess.run(
            [
                sys.executable,
                "-m",
                "syncfw.cli",
                "run",
                str(recipe_file),
                "--max-writes",
                str(CAP),
                "--log-format",
                "text",
            ],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert first.returncode == 0, first.stderr  # a capped run is an ordinary backfill step
        assert "stopped after 100 writes (--max-writes 100); 900 remaining" in first.stdout
        for run in range(2, 11):
            report = sync(recipe, registry, max_writes=CAP)
            assert report.exit_code == 0, report.error
            assert report.notion_requests["writes"] == CAP
            assert report.backfill is not None and report.backfill.written == CAP
            assert report.backfill.remaining == RECORDS - run * CAP
            if run == 3:
                progress = recipe_status(recipe).as_dict()
                assert progress["backfill"]["total_written"] == 300
                assert progress["backfill"]["remaining"] == 700
                assert progress["backfill"]["eta_seconds"] == 0  # 700 writes at 2000 requests/s
                assert any("300 of 1,000 planned writes made over 3 runs" in n for n in progress["notes"])
        assert report.backfill.finished and report.backfill.runs == 10
        assert report.backfill.total_written == RECORDS

        keys = Counter(text(p["properties"]["Key"]) for p in pages(box, ids["rows"]))
        assert keys == Counter(f"k{i:04d}" for i in range(RECORDS))  # each record once, none skipped
        last = sync(recipe, registry, max_writes=CAP)
        assert last.exit_code == 0 and last.notion_requests["writes"] == 0
        assert last.backfill is None
    finally:
        box.stop()


@pytest.mark.timeout(120)
def test_a_capped_run_advances_a_paged_cursor_up_to_the_first_record_it_did_not_write(
    tmp_path: Path, registry: Registry, seed_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Salesforce checkpoints after each page of 2,000 records (ORDER BY SystemModstamp): writes in
    # read order let the cursor pass the first page, so the next run reads only what is left.
    # The seed accounts are read last (the generated ones are older) but their Ids sort first.
    box = start_sandbox(tmp_path, registry, seed_dir, monkeypatch, options={"bulk": "2100"})
    try:
        recipe_file = tmp_path / "accounts-only.yaml"
        shipped = SALESFORCE_RECIPE.read_text().split("  contacts:")[0]
        recipe_file.write_text(
            shipped.replace("../mappings/", f"{SALESFORCE_RECIPE.parent.parent}/mappings/")
        )
        recipe = load_recipe(recipe_file, registry=registry)
        init(recipe)
        accounts = 2100 + len(seed(seed_dir, "Account"))
        first = sync(recipe, registry, rate_limit=2000.0, max_writes=2000)
        assert first.exit_code == 0 and first.targets["accounts"].done["create"] == 2000
        second = sync(recipe, registry, rate_limit=2000.0, max_writes=2000)
        assert second.targets["accounts"].done["create"] == accounts - 2000
        read = sum(s.count for s in second.targets["accounts"].ledger.streams.values())
        assert read < 2000 < accounts  # the first page of records was not read again
        assert second.backfill is not None and second.backfill.finished
    finally:
        box.stop()
