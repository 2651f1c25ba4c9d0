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
{templates}"""

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


def _write(tmp_path: Path, templates: dict[str, str], rows: list[dict[str, Any]]) -> Path:
    """The recipe and its data: one rich text property per template (Key and Name on lines 6, 7,
    the templates from line 8 of things.yaml)."""
    lines = "".join(
        f'  {name}: {{type: rich_text, template: "{template}"}}\n' for name, template in templates.items()
    )
    data = tmp_path / "things.jsonl"
    data.write_text("".join(json.dumps(row) + "\n" for row in rows))
    (tmp_path / "things.yaml").write_text(MAPPING.format(templates=lines))
    recipe = tmp_path / "templates.yaml"
    recipe.write_text(RECIPE.format(path=data))
    return recipe


# a template over a limit whatever the record: refused by `validate`, at the template's line
OVER_A_LIMIT = [
    ("{{ 9**999999999 }}", "an integer of more than 4300 digits"),
    ("{{ name }} {{ 'x' * 3000000000 }}", "more than 1000000 characters or items"),
    ("{{ name|center(3000000000) }}", "a width or count over 1000000"),
    ("{{ 'x'.ljust(3000000000) }}", "a width or count over 1000000"),
    ("{{ '%3000000000d' % 1 }}", "a width or count over 1000000"),
    ("{{ range(1000000)|list }}", "range"),
    ("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}", "second"),
    ("{% if name %}{{ 2 ** 99999999 }}{% endif %}", "an integer of more than 4300 digits"),
]


def test_a_template_over_a_limit_is_a_recipe_error_at_validate(tmp_path: Path) -> None:
    """Every template of OVER_A_LIMIT in one mapping (one `validate`, which lists every error):
    each is one line of its own, at the template's line, saying which limit."""
    templates = {f"T{n}": template for n, (template, _) in enumerate(OVER_A_LIMIT)}
    recipe = _write(tmp_path, templates, [])
    env = {"NOTION_TOKEN": "secret_dummy", "NOTION_PARENT_PAGE_ID": "0" * 32}
    outcome = syncfw("validate", recipe, cwd=tmp_path, env=env, timeout=HANG)
    for n, (_, says) in enumerate(OVER_A_LIMIT):
        assert_refused(outcome, 2, says=says, where=f"things.yaml:{8 + n}:")
        (line,) = [line for line in outcome.stderr.splitlines() if f"things.yaml:{8 + n}:" in line]
        assert says in line and f"properties.T{n}.template" in line, outcome.stderr
    assert len(outcome.stderr.strip().splitlines()) == len(OVER_A_LIMIT), outcome.stderr


HOSTILE = {
    "Stars": "{{ '*' * stars }}",
    "Loops": "{% for i in range(n) %}{% for j in range(n) %}{% endfor %}{% endfor %}{{ name }}",
    "Power": "{{ base ** exponent }}",
}
GOOD = {"stars": 3, "n": 10, "base": 2, "exponent": 10}
BAD = {"stars": 3_000_000_000, "n": 100_000, "base": 9, "exponent": 999_999_999}
FIELD = {"Stars": "stars", "Loops": "n", "Power": "exponent"}


@pytest.mark.timeout(300)
def test_a_record_that_takes_a_template_over_a_limit_is_quarantined_and_the_rest_is_synced(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """Every kind of runaway template in one run (one sandbox, one recipe): records k1, k2 and k3
    each take one template of their own over a limit, k0 and k4 take none."""
    good = [{"key": f"k{i}", "name": f"Thing {i}", **GOOD} for i in range(5)]
    rows = [
        good[0],
        *({**good[i], FIELD[kind]: BAD[FIELD[kind]]} for i, kind in enumerate(HOSTILE, 1)),
        good[4],
    ]
    recipe = _write(tmp_path, HOSTILE, rows)
    env_file = ("--env-file", tmp_path / "sandbox.env")
    assert syncfw("validate", recipe, cwd=tmp_path, timeout=HANG).exit_code == 0
    assert syncfw("notion", "init", recipe, *env_file, cwd=tmp_path, timeout=HANG).exit_code == 0

    first = syncfw("run", recipe, *env_file, "--json", cwd=tmp_path, timeout=HANG)
    assert_refused(first, 3, says="over a limit")
    report = json.loads(first.stdout)["targets"]["things"]
    problems = sorted((p["source"], p["key"], p["property"]) for p in report["problems"])
    assert problems == [("file", f"k{i}", kind) for i, kind in enumerate(HOSTILE, 1)]
    for problem in report["problems"]:
        assert problem["reason"].startswith("template over a limit: ") and "\n" not in problem["reason"]
    ds = report["data_source_id"]
    assert _shown(sandbox, ds) == {f"k{i}": _expected(i) for i in (0, 4)}

    _write(tmp_path, HOSTILE, good)  # the source fixes the records: the next run converges
    second = syncfw("run", recipe, *env_file, cwd=tmp_path, timeout=HANG)
    assert second.exit_code == 0, second.output[-2000:]
    assert _shown(sandbox, ds) == {f"k{i}": _expected(i) for i in range(5)}


def _expected(i: int) -> dict[str, str]:
    return {"Stars": "***", "Loops": f"Thing {i}", "Power": "1024"}


def _shown(box: Sandbox, ds: str) -> dict[str, dict[str, str]]:
    return {
        text(p["properties"]["Key"]): {kind: text(p["properties"][kind]) for kind in HOSTILE}
        for p in pages(box, ds)
    }
