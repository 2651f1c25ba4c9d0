"""The Notion read of a target, counted in the requests the emulator receives: a run does not read
back the pages syncfw wrote, yet every edit a person makes (even while a run is going on) is read
by the next run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from syncfw.engine.run import Progress, RunOptions, execute
from syncfw.plugins import Registry
from syncfw.sandbox.runner import Sandbox
from tests.engine.test_notion_limits import by_key, setup, write_jsonl
from tests.engine.test_sync_end_to_end import FAST, init, sync

QUERY = "POST /v1/data_sources/{id}/query"
THINGS = [{"key": "t1", "name": "Thing"}]


def queries(box: Sandbox, data_source_id: str) -> list[dict[str, Any]]:
    assert box.notion is not None
    return [
        r
        for r in box.notion.requests()
        if r["endpoint"] == QUERY and r["params"].get("data_source_id") == data_source_id
    ]


def test_the_run_after_an_import_reads_one_page_of_results_not_the_pages_it_wrote(
    sandbox: Sandbox, registry: Registry, tmp_path: Path
) -> None:
    """150 records imported (two pages of query results); the next run asks for the pages edited
    since, leaving out those syncfw edited last: one query, nothing written."""
    recipe = setup(tmp_path, registry, 150, THINGS)
    ids = init(recipe)
    first = sync(recipe, registry)
    assert first.exit_code == 0, first.error
    assert sandbox.notion is not None
    sandbox.notion.reset_stats()

    report = sync(recipe, registry)

    assert report.exit_code == 0, report.error
    assert report.targets["items"].plan.operations == ()
    asked = queries(sandbox, ids["items"])
    assert len(asked) == 1
    assert "filter" in (asked[0]["body"] or {})
    # the bot user the filter leaves out was learnt from the import's own writes, not asked for
    assert not [e for e in sandbox.notion.stats()["by_endpoint"] if e.startswith("GET /v1/users")]


class EditWhileWriting(Progress):
    """A person edits a page of ``target`` as the run's writes begin (after its Notion read)."""

    def __init__(self, box: Sandbox, target: str, page_id: str, properties: dict[str, Any]) -> None:
        self.box, self.target, self.page_id, self.properties = box, target, page_id, properties

    def writes(self, target: str, total: int) -> None:
        if target == self.target:
            assert self.box.notion is not None
            self.box.notion.human_edit(self.page_id, self.properties)


def test_a_person_editing_during_a_run_is_read_by_the_next_run(
    sandbox: Sandbox, registry: Registry, tmp_path: Path
) -> None:
    """While a run writes one changed record, a person renames another page: the next run reads
    that page (and only it) and reverts the source-owned title (``on_drift: revert``)."""
    recipe = setup(tmp_path, registry, 150, THINGS)
    ids = init(recipe)
    assert sync(recipe, registry).exit_code == 0
    rows = [{"key": f"i{n:03}", "name": f"Item {n}"} for n in range(150)]
    rows[3]["name"] = "Item three"
    write_jsonl(tmp_path / "items.jsonl", rows)
    pages = by_key(sandbox, ids["items"])
    person = EditWhileWriting(
        sandbox, "items", pages["i007"]["id"], {"Name": {"title": [{"text": {"content": "Mine"}}]}}
    )
    report = execute(recipe, registry, RunOptions(rate_limit=FAST), person)
    assert report.exit_code == 0, report.error
    assert [op.sync_key for op in report.targets["items"].plan.operations] == ["i003"]
    assert sandbox.notion is not None
    sandbox.notion.reset_stats()

    report = sync(recipe, registry)

    assert report.exit_code == 0, report.error
    plan = report.targets["items"].plan
    assert [(d.sync_key, d.live, d.action) for d in plan.drift] == [("i007", "Mine", "reverted")]
    assert [(op.sync_key, op.after) for op in plan.operations] == [("i007", {"Name": "Item 7"})]
    assert len(queries(sandbox, ids["items"])) == 1


def test_a_person_editing_a_page_right_after_syncfw_wrote_it_is_read_by_the_next_run(
    sandbox: Sandbox, registry: Registry, tmp_path: Path
) -> None:
    """syncfw updates a page and a person edits it moments later, mostly within the same minute
    (Notion then shows one ``last_edited_time`` for both, so that time alone cannot tell them
    apart): the person, its last editor, is read and the page is reverted."""
    recipe = setup(tmp_path, registry, 150, THINGS)
    ids = init(recipe)
    assert sync(recipe, registry).exit_code == 0
    rows = [{"key": f"i{n:03}", "name": f"Item {n}"} for n in range(150)]
    rows[3]["name"] = "Item three"
    write_jsonl(tmp_path / "items.jsonl", rows)
    assert [op.sync_key for op in sync(recipe, registry).targets["items"].plan.operations] == ["i003"]
    assert sandbox.notion is not None
    page = by_key(sandbox, ids["items"])["i003"]
    sandbox.notion.human_edit(page["id"], {"Name": {"title": [{"text": {"content": "Mine"}}]}})

    report = sync(recipe, registry)

    assert report.exit_code == 0, report.error
    plan = report.targets["items"].plan
    assert [(d.sync_key, d.live, d.action) for d in plan.drift] == [("i003", "Mine", "reverted")]
