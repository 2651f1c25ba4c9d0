"""Issue 12, case 7: templates without limits. A template that would run for ever, build a string
of gigabytes or an integer of a billion digits is a recipe error at validate time when the
mapping alone shows it, and otherwise quarantines the one record that makes it so; never a hang,
never a traceback (see syncfw/mapping/sandbox.py for the limits)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from syncfw.sandbox.runner import Sandbox
from tests.engine.test_sync_end_to_end import pages, text
from tests.hostile.support import assert_refused, syncfw

HANG = 60  # seconds: far beyond the per-evaluation budget, far below "for ever"

MAPPING = """\
mapping: things
connector: files
stream: rows
sync_key: Key
properties:
  Key: {{type: rich_text, field: key}}
  Name: {{type: title, field: name}}
  Shown: {{type: rich_text, template: "{template}"}}
"""

RECIPE = """\
recipe: templates
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
"""


def _write(tmp_path: Path, template: str, rows: list[dict[str, Any]]) -> Path:
    data = tmp_path / "things.jsonl"
    data.write_text("".join(json.dumps(row) + "\n" for row in rows))
    (tmp_path / "things.yaml").write_text(MAPPING.format(template=template))
    recipe = tmp_path / "templates.yaml"
    recipe.write_text(RECIPE.format(path=data))
    return recipe


# a template over a limit whatever the record: refused by `validate`, at the template's line
@pytest.mark.parametrize(
    ("template", "says"),
    [
        ("{{ 9**999999999 }}", "an integer of more than 4300 digits"),
        ("{{ name }} {{ 'x' * 3000000000 }}", "more than 1000000 characters or items"),
        ("{{ name|center(3000000000) }}", "a width or count over 1000000"),
        ("{{ 'x'.ljust(3000000000) }}", "a width or count over 1000000"),
        ("{{ '%3000000000d' % 1 }}", "a width or count over 1000000"),
        ("{{ range(1000000)|list }}", "range"),
        ("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}", "second"),
        ("{% if name %}{{ 2 ** 99999999 }}{% endif %}", "an integer of more than 4300 digits"),
    ],
)
def test_a_template_over_a_limit_is_a_recipe_error_at_validate(
    tmp_path: Path, template: str, says: str
) -> None:
    recipe = _write(tmp_path, template, [])
    env = {"NOTION_TOKEN": "secret_dummy", "NOTION_PARENT_PAGE_ID": "0" * 32}
    outcome = syncfw("validate", recipe, cwd=tmp_path, env=env, timeout=HANG)
    assert_refused(outcome, 2, says=says, where="things.yaml:8:")
    assert len(outcome.stderr.strip().splitlines()) == 1, outcome.stderr


HOSTILE = {
    "stars": "{{ '*' * stars }}",
    "loops": "{% for i in range(n) %}{% for j in range(n) %}{% endfor %}{% endfor %}{{ name }}",
    "power": "{{ base ** exponent }}",
}
GOOD = {"stars": 3, "n": 10, "base": 2, "exponent": 10}
BAD = {"stars": 3_000_000_000, "n": 100_000, "base": 9, "exponent": 999_999_999}


@pytest.mark.timeout(300)
@pytest.mark.parametrize("kind", list(HOSTILE))
def test_a_record_that_takes_a_template_over_a_limit_is_quarantined_and_the_rest_is_synced(
    sandbox: Sandbox, tmp_path: Path, kind: str
) -> None:
    field = {"stars": "stars", "loops": "n", "power": "exponent"}[kind]
    good = [{"key": f"k{i}", "name": f"Thing {i}", **GOOD} for i in range(3)]
    hostile = {**good[1], field: BAD[field]}
    recipe = _write(tmp_path, HOSTILE[kind], [good[0], hostile, good[2]])
    env_file = ("--env-file", tmp_path / "sandbox.env")
    assert syncfw("validate", recipe, cwd=tmp_path, timeout=HANG).exit_code == 0
    assert syncfw("notion", "init", recipe, *env_file, cwd=tmp_path, timeout=HANG).exit_code == 0

    first = syncfw("run", recipe, *env_file, "--json", cwd=tmp_path, timeout=HANG)
    assert_refused(first, 3, says="over a limit")
    report = json.loads(first.stdout)["targets"]["things"]
    (problem,) = report["problems"]
    assert (problem["source"], problem["key"], problem["property"]) == ("file", "k1", "Shown")
    assert problem["reason"].startswith("template over a limit: ") and "\n" not in problem["reason"]
    ds = report["data_source_id"]
    assert _shown(sandbox, ds) == {"k0": _expected(kind, 0), "k2": _expected(kind, 2)}

    _write(tmp_path, HOSTILE[kind], good)  # the source fixes the record: the next run converges
    second = syncfw("run", recipe, *env_file, cwd=tmp_path, timeout=HANG)
    assert second.exit_code == 0, second.output[-2000:]
    assert _shown(sandbox, ds) == {f"k{i}": _expected(kind, i) for i in range(3)}


def _expected(kind: str, i: int) -> str:
    return {"stars": "***", "loops": f"Thing {i}", "power": "1024"}[kind]


def _shown(box: Sandbox, ds: str) -> dict[str, str]:
    return {text(p["properties"]["Key"]): text(p["properties"]["Shown"]) for p in pages(box, ds)}
