"""Thirty hostile records: each is synced within Notion's limits or quarantined with a one-line
cause naming its source, key and property; never a traceback, and a record that fails leaves its
page exactly as it was."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from syncfw.plugins import Registry
from syncfw.sandbox.runner import Sandbox
from tests.engine.test_ownership import value

MAPPING = """\
mapping: things
connector: files
stream: rows
sync_key: Key
properties:
  Key: {type: rich_text, field: key}
  Name: {type: title, field: name}
  Count: {type: number, field: count}
  Tags: {type: multi_select, field: tags}
  When: {type: date, field: when}
  Flag: {type: checkbox, field: flag}
  Link: {type: url, field: link}
  Mail: {type: email, field: mail}
  Phone: {type: phone_number, field: phone}
  Notes: {type: rich_text, field: notes}
  Stage: {type: select, field: stage}
"""

RECIPE = """\
recipe: hostile
owner: ops-lead@example.com
description: >
  Loads a file of records into Notion. Runs by hand for this test. If it fails, nothing breaks.
tier: production
notion: {{token: "${{env:NOTION_TOKEN}}", rate_limit: 200/s}}
sources:
  file: {{connector: files, config: {{path: "{path}", key: key}}}}
targets:
  things:
    database: {{title: Things, parent_page: "${{env:NOTION_PARENT_PAGE_ID}}"}}
    sync_key: Key
    mappings: [things.yaml]
    guard: {{max_change: 100%}}
"""

GOOD: dict[str, Any] = {
    "name": "Baseline",
    "count": 7,
    "tags": ["a", "b"],
    "when": "2026-05-01",
    "flag": True,
    "link": "https://example.com",
    "mail": "a@example.com",
    "phone": "+1 512 555 0100",
    "notes": "fine",
    "stage": "Open",
}

# key → (changed fields, expected outcome: "ok" or the property that must be quarantined)
HOSTILE: dict[str, tuple[dict[str, Any], str]] = {
    "h01": ({"count": "42"}, "ok"),
    "h02": ({"count": "forty"}, "Count"),
    "h03": ({"count": True}, "Count"),
    "h04": ({"count": float("nan")}, "ok"),
    "h05": ({"count": float("inf")}, "ok"),
    "h06": ({"name": ""}, "ok"),
    "h07": ({"name": None}, "ok"),
    "h08": ({"name": "bell \x07 and tab \t and nul \x00"}, "ok"),
    "h09": ({"name": "🚀 Launch 👩‍👩‍👧 ünïcödé"}, "ok"),
    "h10": ({"notes": "x" * 5000}, "ok"),
    "h11": ({"notes": "y" * 250_000}, "ok"),
    "h12": ({"tags": [f"t{i}" for i in range(1000)]}, "ok"),
    "h13": ({"tags": ["a,b", "c"]}, "ok"),
    "h14": ({"tags": "single"}, "ok"),
    "h15": ({"when": "2026-05-01T10:00:00"}, "When"),
    "h16": ({"when": "yesterday"}, "When"),
    "h17": ({"when": "2026-13-45"}, "When"),
    "h18": ({"when": "2026-05-01T10:00:00+02:00"}, "ok"),
    "h19": ({"flag": None}, "ok"),
    "h20": ({"flag": "maybe"}, "Flag"),
    "h21": ({"link": "not a url at all"}, "ok"),
    "h22": ({"link": "https://e.com/" + "p" * 3000}, "Link"),
    "h23": ({"mail": "m" * 300 + "@example.com"}, "Mail"),
    "h24": ({"phone": "5" * 250}, "Phone"),
    "h25": ({"stage": "High, really"}, "ok"),
    "h26": ({"stage": "s" * 150}, "Stage"),
    "h27": ({"stage": {"nested": 1}}, "Stage"),
    "h28": ({"count": None, "name": None, "tags": None, "when": None, "notes": None}, "ok"),
    "h29": ({"notes": "line\nbreaks\r\nand \u2028 separators"}, "ok"),
    "h30": ({"count": -0.0, "tags": []}, "ok"),
}


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(r, allow_nan=True) + "\n" for r in rows))


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "syncfw.cli", *args, "--env-file", str(cwd / "sandbox.env")],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.timeout(600)
def test_hostile_records_are_synced_within_limits_or_quarantined_with_their_cause(
    sandbox: Sandbox, registry: Registry, tmp_path: Path
) -> None:
    data = tmp_path / "things.jsonl"
    (tmp_path / "things.yaml").write_text(MAPPING)
    recipe = tmp_path / "hostile.yaml"
    recipe.write_text(RECIPE.format(path=data))
    write_jsonl(data, [{"key": key, **GOOD} for key in HOSTILE])
    assert cli("notion", "init", str(recipe), cwd=tmp_path).returncode == 0
    first = cli("run", str(recipe), "--json", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    ds = json.loads(first.stdout)["targets"]["things"]["data_source_id"]
    assert sandbox.notion is not None
    baseline = {p["properties"]["Key"]["rich_text"][0]["plain_text"]: p for p in _pages(sandbox, ds)}

    write_jsonl(data, [{"key": key, **GOOD, **fields} for key, (fields, _) in HOSTILE.items()])
    second = cli("run", str(recipe), "--json", cwd=tmp_path)
    assert second.returncode == 3, second.stderr
    assert "Traceback" not in second.stderr + second.stdout
    report = json.loads(second.stdout)["targets"]["things"]
    quarantined = {(p["key"], p["property"]) for p in report["problems"]}
    expected = {(key, prop) for key, (_, prop) in HOSTILE.items() if prop != "ok"}
    assert quarantined == expected
    for problem in report["problems"]:
        assert problem["source"] == "file" and problem["stream"] == "rows"
        assert "\n" not in problem["reason"] and len(problem["reason"]) < 300

    now = {p["properties"]["Key"]["rich_text"][0]["plain_text"]: p for p in _pages(sandbox, ds)}
    assert set(now) == set(HOSTILE)  # no page lost or duplicated
    for key, (_fields, outcome) in HOSTILE.items():
        if outcome != "ok":
            assert now[key]["properties"] == baseline[key]["properties"], (
                f"{key}: a failed record changed its page"
            )
    assert value(now["h01"], "Count") == 42
    assert value(now["h04"], "Count") is None and value(now["h05"], "Count") is None
    assert value(now["h09"], "Name") == HOSTILE["h09"][0]["name"]
    assert value(now["h10"], "Notes") == "x" * 5000
    assert len(now["h11"]["properties"]["Notes"]["rich_text"]) == 100
    assert len(now["h12"]["properties"]["Tags"]["multi_select"]) == 100
    assert "," not in "".join(t["name"] for t in now["h13"]["properties"]["Tags"]["multi_select"])
    assert value(now["h18"], "When").startswith("2026-05-01T08:00:00")
    assert "," not in value(now["h25"], "Stage")
    warnings = " ".join(report["warnings"])
    assert "h11" in warnings and "h12" in warnings  # truncations are reported

    status = cli("status", str(recipe), "--json", cwd=tmp_path)
    assert {(q["key"], q["property"]) for q in json.loads(status.stdout)["quarantine"]} == expected


def _pages(box: Sandbox, ds: str) -> list[dict[str, Any]]:
    from tests.engine.test_sync_end_to_end import pages

    return pages(box, ds)
