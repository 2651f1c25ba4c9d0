"""Property test: whatever sequence of source changes and human edits happens, after every run
Notion holds the projection of the sources on the properties they own (``on_drift: revert``),
human-owned values are untouched, no sync key has two pages, and the next run writes nothing."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from syncfw.mapping.transforms import domain
from syncfw.plugins import Registry, load_plugins
from syncfw.recipe import load_recipe
from syncfw.sandbox.runner import Sandbox
from syncfw.testing import copy_seed_data
from tests.engine.multi_source import SHEET_ROWS, write_csv, write_recipe
from tests.engine.test_ownership import value
from tests.engine.test_sync_end_to_end import bump, init, pages, seed, sync, text, write_seed

INDUSTRIES = ["Energy", "Retail", "Biotechnology", None]
TIERS = ["Gold", "Silver", "Bronze", None]

mutation = st.one_of(
    st.tuples(st.just("source"), st.integers(0, 11), st.sampled_from(INDUSTRIES)),
    st.tuples(st.just("sheet"), st.integers(0, 1), st.sampled_from(TIERS)),
    st.tuples(st.just("note"), st.integers(0, 11), st.sampled_from(["call back", "renewal risk", ""])),
    st.tuples(st.just("drift"), st.integers(0, 11), st.sampled_from(["Retail", "Chemicals"])),
    st.tuples(st.just("delete"), st.integers(0, 11), st.none()),
)
rounds = st.lists(st.lists(mutation, min_size=1, max_size=3), min_size=1, max_size=3)


@contextmanager
def environment(env: dict[str, str], cwd: Path) -> Iterator[None]:
    saved, here = dict(os.environ), Path.cwd()
    os.environ.update(env)
    os.chdir(cwd)
    try:
        yield
    finally:
        os.chdir(here)
        os.environ.clear()
        os.environ.update(saved)


_REGISTRY: list[Registry] = []


def registry() -> Registry:
    if not _REGISTRY:
        _REGISTRY.append(load_plugins())
    return _REGISTRY[0]


def projection(seed_dir: Path, sheet: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    accounts = [a for a in seed(seed_dir, "Account") if not a.get("IsDeleted")]
    domains: dict[str, list[str]] = {}
    for a in accounts:
        domains.setdefault(domain(a.get("Website")), []).append(a["Id"])
    out = {
        a["Id"]: {
            "Name": a["Name"],
            "Industry": a.get("Industry"),
            "Domain": domain(a.get("Website")),
            "Tier": None,
        }
        for a in accounts
    }
    for row in sheet:
        matched = domains.get(domain(row["domain"]), [])
        if len(matched) == 1:
            out[matched[0]]["Tier"] = row["tier"] or None
    return out


# an account deleted at the source while the sheet row matched to its page changes: the page is
# archived and takes no other write (Notion refuses edits of a page in trash)
@example(plan=[[("delete", 1, None), ("sheet", 1, "Gold")]])
# two accounts of one domain deleted: the sheet row that matched both (so neither) now matches the
# remaining one, though the row itself did not change (unmatched records are kept and retried)
@example(plan=[[("delete", 5, None), ("delete", 6, None)]])
# derandomized: the same examples on every run, so that CI never fails on a new example by chance
@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(rounds)
def test_runs_converge_to_the_projection_of_the_sources(plan: list[list[tuple[str, int, Any]]]) -> None:
    work = Path(tempfile.mkdtemp(prefix="syncfw-prop-"))
    seed_dir = copy_seed_data(registry().emulators.values(), work / "seed")
    box = Sandbox(work / "sandbox", registry(), data_dir=seed_dir)
    env = box.start()
    try:
        with environment(env, work):
            recipe = load_recipe(write_recipe(work), registry=registry())
            ds = init(recipe)["accounts"]
            assert box.notion is not None
            box.notion.human_update_schema(ds, {"Notes": {"rich_text": {}}})
            sheet = [dict(r) for r in SHEET_ROWS]
            notes: dict[str, str | None] = {}
            assert sync(recipe, registry(), allow_mass_change=True).exit_code == 0
            for mutations in plan:
                for kind, index, new in mutations:
                    accounts = seed(seed_dir, "Account")
                    record = accounts[index]
                    live_pages = {text(p["properties"]["Salesforce ID"]): p for p in pages(box, ds)}
                    if kind == "source":
                        record["Industry"] = new
                        bump(record)
                        write_seed(seed_dir, "Account", accounts)
                    elif kind == "sheet":
                        sheet[index]["tier"] = new or ""
                        write_csv(work / "sheet.csv", sheet)
                    elif kind == "delete":
                        record["IsDeleted"] = True
                        bump(record)
                        write_seed(seed_dir, "Account", accounts)
                    elif record["Id"] in live_pages:
                        page_id = live_pages[record["Id"]]["id"]
                        if kind == "note":
                            content = [{"text": {"content": new}}] if new else []
                            box.notion.human_edit(page_id, {"Notes": {"rich_text": content}})
                            notes[record["Id"]] = new or None
                        else:
                            box.notion.human_edit(page_id, {"Industry": {"select": {"name": new}}})
                report = sync(recipe, registry(), allow_mass_change=True)
                assert report.exit_code == 0, report.error
                live_pages_list = pages(box, ds)
                keys = [text(p["properties"]["Salesforce ID"]) for p in live_pages_list]
                assert len(keys) == len(set(keys)), "a sync key has two pages"
                expected = projection(seed_dir, sheet)
                by_key = dict(zip(keys, live_pages_list, strict=True))
                assert set(by_key) == set(expected)
                for key, props in expected.items():
                    got = {name: value(by_key[key], name) for name in props}
                    assert got == props, key
                    assert value(by_key[key], "Notes") == notes.get(key)
                assert sync(recipe, registry()).notion_requests["writes"] == 0
    finally:
        box.stop()
        shutil.rmtree(work, ignore_errors=True)
