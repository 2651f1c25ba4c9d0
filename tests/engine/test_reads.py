"""The Notion read of a target, counted in the requests the emulator receives: a run does not read
back the pages syncfw wrote, yet every edit a person makes (even while a run is going on) is read
by the next run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from syncfw.engine.report import RunReport
from syncfw.engine.run import Progress, RunOptions, execute, notion_client_for
from syncfw.plugins import Registry
from syncfw.recipe import Recipe, load_recipe
from syncfw.sandbox.runner import Sandbox
from tests.engine.test_notion_limits import by_key, setup, write_jsonl
from tests.engine.test_sync_end_to_end import FAST, init, sync

QUERY = "POST /v1/data_sources/{id}/query"


def rerun(sandbox: Sandbox, recipe: Recipe, registry: Registry) -> tuple[RunReport, dict[str, int]]:
    """A run of ``recipe`` (which must succeed) and the requests Notion saw of it, by endpoint."""
    assert sandbox.notion is not None
    sandbox.notion.reset_stats()
    report = sync(recipe, registry)
    assert report.exit_code == 0, report.error
    return report, dict(sandbox.notion.stats()["by_endpoint"])


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


def every_third_run(tmp_path: Path, registry: Registry) -> Recipe:
    """The 150 items read back over three runs (``full_read_every: 3``: 50 pages a run)."""
    recipe = setup(tmp_path, registry, 150, THINGS)
    path = tmp_path / "limits.yaml"
    path.write_text(
        path.read_text().replace(
            "    guard: {max_change: 100%}\n  things:",
            "    guard: {max_change: 100%}\n    full_read_every: 3\n  things:",
        )
    )
    recipe = load_recipe(path, registry=registry)
    assert recipe.targets["items"].full_read_every == 3
    return recipe


def rename_row(tmp_path: Path, key: str, name: str) -> None:
    rows = [{"key": f"i{n:03}", "name": f"Item {n}"} for n in range(150)]
    rows[int(key[1:])]["name"] = name
    write_jsonl(tmp_path / "items.jsonl", rows)


def gone_warnings(report: RunReport) -> list[str]:
    return [w for w in report.targets["items"].plan.warnings if "no longer in Notion" in w]


def test_the_consistency_read_covers_the_target_a_slice_a_run_in_the_edited_pages_query(
    sandbox: Sandbox, registry: Registry, tmp_path: Path
) -> None:
    """150 pages read back over three runs: each run after the import makes one query request
    (the edited pages, none, or-ed with the next 50 pages by their ``ID`` number). A page a person
    moved to the trash is found missing by the run whose slice holds it: when its record then
    changes, syncfw says so instead of writing to a page in the trash."""
    recipe = every_third_run(tmp_path, registry)
    ids = init(recipe)
    assert sync(recipe, registry).exit_code == 0
    assert sandbox.notion is not None
    pages = by_key(sandbox, ids["items"])
    numbers = {key: page["properties"]["ID"]["unique_id"]["number"] for key, page in pages.items()}
    assert sorted(numbers.values()) == list(range(1, 151))  # Notion numbers pages as they are made
    victim = max(numbers, key=numbers.__getitem__)  # in the third slice
    sandbox.notion.human_trash_page(pages[victim]["id"])

    planned: list[list[tuple[str, str]]] = []
    for run in range(4):
        if run == 2:  # its slice holds the victim (pages numbered 101 to 150)
            rename_row(tmp_path, victim, "Renamed at the source")
        sandbox.notion.reset_stats()
        report = sync(recipe, registry)
        assert report.exit_code == 0, report.error
        asked = queries(sandbox, ids["items"])
        assert len(asked) == 1
        assert "unique_id" in json.dumps(asked[0]["body"]["filter"])
        planned.append([(op.action, op.sync_key) for op in report.targets["items"].plan.operations])
        assert len(gone_warnings(report)) == (run == 2), report.targets["items"].plan.warnings
    assert planned == [[], [], [], []]
    assert sandbox.notion.stats()["by_endpoint"].get("PATCH /v1/pages/{id}", 0) == 0


def test_without_page_numbers_one_run_in_full_read_every_reads_every_page(
    sandbox: Sandbox, registry: Registry, tmp_path: Path
) -> None:
    """People removed the ``ID`` property (or the data source predates it): the consistency read
    falls back to a complete read on one run in ``full_read_every``, which finds a page a person
    moved to the trash as well."""
    recipe = every_third_run(tmp_path, registry)
    ids = init(recipe)
    assert sync(recipe, registry).exit_code == 0
    assert sandbox.notion is not None
    sandbox.notion.human_update_schema(ids["items"], {"ID": None})
    sandbox.notion.human_trash_page(by_key(sandbox, ids["items"])["i003"]["id"])

    complete: list[bool] = []
    for run in range(3):
        if run == 2:
            rename_row(tmp_path, "i003", "Item three")
        sandbox.notion.reset_stats()
        report = sync(recipe, registry)
        assert report.exit_code == 0, report.error
        complete.append(all("filter" not in (r["body"] or {}) for r in queries(sandbox, ids["items"])))
        assert report.targets["items"].plan.operations == ()
        assert len(gone_warnings(report)) == (run == 2)
    assert complete == [False, False, True]


def test_a_run_with_nothing_new_makes_one_request_per_target(
    sandbox: Sandbox, registry: Registry, tmp_path: Path
) -> None:
    """After an import, a run with nothing new sends Notion one query per target and nothing else:
    the schema is the copy kept from the last run, confirmed by the pages the query returns."""
    recipe = setup(tmp_path, registry, 150, THINGS)
    init(recipe)
    assert sync(recipe, registry).exit_code == 0

    report, requests = rerun(sandbox, recipe, registry)

    assert requests == {QUERY: 2}
    assert report.notion_requests["reads"] + report.notion_requests["writes"] == 2


def test_a_property_people_renamed_since_the_last_run_is_read_again_and_followed(
    sandbox: Sandbox, registry: Registry, tmp_path: Path
) -> None:
    """People rename an owned property between runs: the query's pages do not fit the kept schema,
    so the run reads the data sources again, follows the property by id and says so."""
    recipe = setup(tmp_path, registry, 150, THINGS)
    ids = init(recipe)
    assert sync(recipe, registry).exit_code == 0
    assert sandbox.notion is not None
    sandbox.notion.human_update_schema(ids["items"], {"Name": {"name": "Item name"}})
    rename_row(tmp_path, "i005", "Item five")
    sandbox.notion.reset_stats()

    report = sync(recipe, registry)

    assert report.exit_code == 0, report.error
    assert sandbox.notion.stats()["by_endpoint"]["GET /v1/data_sources/{id}"] == 2
    assert any("Item name" in w for w in report.targets["items"].plan.warnings)
    assert (
        by_key(sandbox, ids["items"])["i005"]["properties"]["Item name"]["title"][0]["plain_text"]
        == "Item five"
    )


def test_a_property_people_deleted_since_the_last_run_stops_the_run_before_any_write(
    sandbox: Sandbox, registry: Registry, tmp_path: Path
) -> None:
    """The first target has a change to write and the second target's ``Summary`` property was
    deleted: the run reads every kept schema again before its first write and stops (exit 4)
    without writing anything."""
    recipe = setup(tmp_path, registry, 150, THINGS)
    ids = init(recipe)
    assert sync(recipe, registry).exit_code == 0
    assert sandbox.notion is not None
    sandbox.notion.human_update_schema(ids["things"], {"Summary": None})
    rename_row(tmp_path, "i005", "Item five")
    sandbox.notion.reset_stats()

    report = sync(recipe, registry)

    assert report.exit_code == 4
    assert "Summary" in (report.error or "")
    assert not [e for e in sandbox.notion.stats()["by_endpoint"] if e.startswith(("PATCH", "POST /v1/pages"))]


def test_a_data_source_moved_to_the_trash_stops_the_first_write_of_a_run(
    sandbox: Sandbox, registry: Registry, tmp_path: Path
) -> None:
    """People moved the second target's data source to the trash; the first target has a change
    to write: before writing it the run reads every data source (its kept copies cannot show the
    trash) and stops (exit 4) naming it, with nothing written."""
    recipe = setup(tmp_path, registry, 150, THINGS)
    ids = init(recipe)
    assert sync(recipe, registry).exit_code == 0
    assert sandbox.notion is not None
    client = notion_client_for(recipe, 100)
    client._api.data_sources.update(data_source_id=ids["things"], in_trash=True)
    client.close()
    rename_row(tmp_path, "i005", "Item five")
    sandbox.notion.reset_stats()

    report = sync(recipe, registry)

    assert report.exit_code == 4
    assert "trash" in (report.error or "") and ids["things"] in (report.error or "")
    assert not [e for e in sandbox.notion.stats()["by_endpoint"] if e.startswith(("PATCH", "POST /v1/pages"))]
