"""Update targets (``mode: update``): Salesforce fills columns of a database people keep by hand,
with the real simple-salesforce and notion-client against the emulators."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from syncfw.errors import ConfigError, GuardStop
from syncfw.plugins import Registry
from syncfw.recipe import load_recipe
from syncfw.sandbox.edit import human_rename, seed_hand_kept_accounts
from syncfw.sandbox.runner import Sandbox
from tests.conftest import REPO
from tests.engine.test_sync_end_to_end import init, pages, sync, text

RECIPE = REPO / "recipes" / "hand-kept-accounts.yaml"
WRITES = ("POST /v1/pages", "PATCH /v1/pages")


def by_account(items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {text(p["properties"]["Account"]): p["properties"] for p in items}


def test_an_update_target_fills_peoples_pages_and_creates_and_archives_nothing(
    sandbox: Sandbox, registry: Registry
) -> None:
    recipe = load_recipe(RECIPE, registry=registry)
    with pytest.raises(GuardStop, match="an update target fills in a database people keep"):
        init(recipe)  # never creates the people's database
    ds, made = seed_hand_kept_accounts("Grace Hopper")
    assert init(recipe) == {"accounts": ds}  # adds the three filled columns to the people's database
    before = by_account(pages(sandbox, ds))
    assert sandbox.notion is not None
    sandbox.notion.reset_stats()

    report = sync(recipe, registry)
    assert report.exit_code == 0, report.error
    after = by_account(pages(sandbox, ds))
    assert len(pages(sandbox, ds)) == made == len(after)  # nothing created, nothing archived
    assert not any(p["in_trash"] for p in pages(sandbox, ds))
    assert not [r for r in sandbox.notion.requests() if r["endpoint"].startswith("POST /v1/pages")]
    edge = after["Edge Communications"]
    assert edge["Industry"]["select"]["name"] == "Electronics"
    assert edge["Annual Revenue"]["number"] == 139000000
    assert text(edge["Account Owner"]) != ""
    assert text(after["GenePoint"]["Notes"]) == "Champion: Dr. Lee"  # people's columns untouched
    for name in ("Grand Hotels (Americas)", "Grand Hotels (Europe)", "Acme Widgets"):
        assert after[name] == before[name]  # a domain on two pages, and a page Salesforce never had
    plan = report.targets["accounts"].plan
    assert {op.action for op in plan.operations} == {"update"} and len(plan.operations) == 4
    reasons = [u["reason"] for u in plan.unmatched]
    assert any(r.startswith("matches 2 pages (Domain = 'grandhotels.com')") for r in reasons)
    assert any(r == "matches no page (Domain = 'dickenson-consulting.com')" for r in reasons)

    sandbox.notion.reset_stats()
    again = sync(recipe, registry)
    assert again.exit_code == 0, again.error
    assert again.targets["accounts"].plan.operations == ()
    assert not [r for r in sandbox.notion.requests() if r["endpoint"].startswith(WRITES)]
    assert by_account(pages(sandbox, ds)) == after

    human_rename(ds, "Domain", "Web domain", "Grace Hopper")  # the property records are matched by
    followed = sync(recipe, registry)
    assert followed.exit_code == 0, followed.error
    renamed = followed.targets["accounts"].plan
    assert renamed.operations == ()
    assert {u["key"] for u in renamed.unmatched} == {u["key"] for u in plan.unmatched}  # the rest still match
    assert len([w for w in renamed.warnings if "'Domain' was renamed to 'Web domain'" in w]) == 1


def _recipe(tmp_path: Path, target: str) -> Path:
    path = tmp_path / "update.yaml"
    path.write_text(
        RECIPE.read_text().split("targets:")[0].replace("../mappings", str(REPO / "mappings"))
        + "targets:\n  accounts:\n"
        + target.replace("MAPPINGS", str(REPO / "mappings" / "salesforce"))
    )
    return path


@pytest.mark.parametrize(
    ("target", "where", "message"),
    [
        (
            "    mode: update\n    data_source: 0123456789abcdef0123456789abcdef\n"
            "    mappings: [MAPPINGS/account.yaml]\n",
            ":23:16 targets.accounts.mappings[0]",
            "is an update target (mode: update): it creates no pages, so",
        ),
        (
            "    mode: update\n    sync_key: Salesforce ID\n    data_source: 0123456789abcdef0123456789abcdef\n"
            "    mappings: [MAPPINGS/account-fill.yaml]\n",
            ":20:3 targets.accounts:",
            "creates no pages, so it has no sync_key",
        ),
        (
            "    mode: update\n    on_delete: archive\n    data_source: 0123456789abcdef0123456789abcdef\n"
            "    mappings: [MAPPINGS/account-fill.yaml]\n",
            ":20:3 targets.accounts:",
            "never archives or marks a page: remove on_delete",
        ),
    ],
)
def test_an_update_target_is_refused_at_its_line_without_a_match_or_with_a_sync_key(
    tmp_path: Path, registry: Registry, target: str, where: str, message: str
) -> None:
    environ = {
        "NOTION_TOKEN": "ntn_x",
        "SALESFORCE_INSTANCE_URL": "https://login.example.com",
        "SALESFORCE_SESSION_ID": "x",
    }
    with pytest.raises(ConfigError) as raised:
        load_recipe(_recipe(tmp_path, target), registry=registry, environ=environ)
    problems = [str(p) for p in raised.value.problems]
    assert any(where in p and message in p for p in problems), problems


def test_a_plan_of_an_update_target_names_each_page_by_the_value_it_was_matched_by(
    sandbox: Sandbox, registry: Registry, capsys: pytest.CaptureFixture[str]
) -> None:
    """The pages of an update target are known by page id (no sync key): the text and Markdown
    plans show the page's Domain, as a person knows it, not an empty key column. About 3 s."""
    from syncfw.cli.render import render_plan, render_plan_markdown

    recipe = load_recipe(RECIPE, registry=registry)
    seed_hand_kept_accounts("Grace Hopper")
    init(recipe)
    report = sync(recipe, registry, apply=False)
    edge = next(
        op for op in report.targets["accounts"].plan.operations if op.after.get("Industry") == "Electronics"
    )

    render_plan(report, notices=False)
    shown = capsys.readouterr().out
    assert f'~ update Domain "edgecomm.com" (page {edge.page_id})' in shown, shown
    markdown = render_plan_markdown(report, {})
    assert '| ~ update | `Domain "edgecomm.com"` | Industry |' in markdown, markdown
    assert "| | page | property | before | after |" in markdown
