"""What ``syncfw demo`` does: the main job end to end in the sandbox, for a newcomer.

:func:`run_demo` starts the sandbox in a work directory, creates the Notion databases
(``notion init``), runs ``recipes/customer-360.yaml`` (Salesforce, HubSpot and Zendesk into
Accounts, Contacts and Tickets) on the sample data at Notion's real budget, shows a few synced
rows, runs again to show that nothing is written, lets a person edit Notion (a people-owned note,
and a drifted Industry), runs once more to show the drift reverted and the note untouched, shows
the Sync Health rows, and says where to go next.
"""

from __future__ import annotations

import itertools
import os
from pathlib import Path

from rich.table import Table

from syncfw.cli.console import out, print_table
from syncfw.cli.render import progress_bar, render_summary
from syncfw.engine.run import RunOptions, RunReport, execute, notion_client_for
from syncfw.health import Alerts, HealthDashboard, init_dashboard
from syncfw.mapping import decode
from syncfw.notion.setup import init_targets
from syncfw.plugins import Registry
from syncfw.recipe import Recipe, load_recipe
from syncfw.sandbox.runner import Sandbox
from syncfw.state import open_state

DEMO_RECIPE = "customer-360.yaml"


def demo_recipe() -> Path:
    """The demo recipe: from the source tree, or the copy bundled in the wheel."""
    here = Path(__file__).resolve()
    for root in (here.parents[2], here.parents[1] / "_bundled"):
        candidate = root / "recipes" / DEMO_RECIPE
        if candidate.exists():
            return candidate
    raise FileNotFoundError(f"recipes/{DEMO_RECIPE} is not installed with syncfw")


COLUMNS = {
    "accounts": ("Name", "Industry", "Lifecycle Stage", "Support SLA", "Open Tickets"),
    "contacts": ("Name", "Email", "Title", "HubSpot Lifecycle"),
    "tickets": ("Subject", "Status", "Priority", "Account"),
}


def _rows(report: RunReport, recipe: Recipe, limit: int) -> list[Table]:
    """A few pages of each target as Notion holds them, relations shown by the related title."""
    client = notion_client_for(recipe, 50)
    titles: dict[str, str] = {}
    tables = []
    try:
        for target in recipe.targets_in_order():
            specs = target.properties
            names = [n for n in COLUMNS.get(target.name, tuple(specs)[:5]) if n in specs]
            table = Table(title=f"{target.name}: first {limit} pages in Notion", title_justify="left")
            for name in names:
                # a preview: a long value is cut with an ellipsis rather than wrapped mid-word
                table.add_column(
                    f"{name} ({specs[name].file.parent.name})",
                    overflow="ellipsis",
                    no_wrap=True,
                    max_width=26,
                )
            pages = list(client.query_pages(report.targets[target.name].plan.data_source_id))
            for page in pages:
                title = next((p for p in page["properties"].values() if p["type"] == "title"), None)
                titles[page["id"]] = "".join(t["plain_text"] for t in title["title"]) if title else page["id"]
            for page in itertools.islice(pages, limit):
                cells = []
                for name in names:
                    raw = page["properties"].get(name)
                    value = decode(specs[name].type, raw) if raw else None
                    if specs[name].type == "relation":
                        value = ", ".join(titles.get(i, i) for i in value or ())
                    cells.append("" if value in (None, "") else str(value))
                table.add_row(*cells)
            tables.append(table)
    finally:
        client.close()
    return tables


def run_demo(workdir: Path, plugins: Registry, *, rate_limit: float) -> int:
    """Run the demo in ``workdir``, printing each step; return the exit code (0 when every run
    behaved as the demo says)."""
    workdir.mkdir(parents=True, exist_ok=True)
    box = Sandbox(workdir / "sandbox", plugins)
    env = box.start()
    try:
        box.write_env(workdir / "sandbox.env")
        os.environ.update(env)
        os.chdir(workdir)
        recipe_path = demo_recipe()
        out.rule("[bold]syncfw demo")
        out.print(
            "Sandbox started on 127.0.0.1: a Notion emulator, and emulators of Salesforce, HubSpot and "
            "Zendesk seeded with Salesforce's developer-org sample companies (the same companies in "
            "all three).\n"
            f"Recipe: {recipe_path}\nWork directory: {workdir}\n"
        )
        recipe = load_recipe(recipe_path, registry=plugins)
        out.print(
            "[bold]1. syncfw notion init[/]: create the Accounts, Contacts and Tickets databases, and the "
            "Sync Health and Sync Runs databases operators watch"
        )
        client = notion_client_for(recipe)
        store = open_state(recipe)
        try:
            for result in init_targets(client, store, recipe):
                out.print(f"   {result.target}: data source {result.data_source_id}")
            for health in init_dashboard(client, store, recipe):
                out.print(f"   {health.target.removeprefix('health: ')}: data source {health.data_source_id}")
        finally:
            client.close()
            store.close()

        out.print(
            f"\n[bold]2. syncfw run[/] at Notion's budget of {rate_limit:g} requests/second: Salesforce creates "
            "the pages; HubSpot and Zendesk fill in their own properties in the same request. Records "
            "that match no account, or several (three accounts share uos.com), are reported, not guessed."
        )
        first = _run(recipe, plugins, rate_limit)
        render_summary(first)
        for table in _rows(first, recipe, 4):
            print_table(table)

        out.print(
            "\n[bold]3. syncfw run[/] again: nothing changed at the source or in Notion, so nothing is written"
        )
        second = _run(recipe, plugins, rate_limit)
        render_summary(second)
        writes = second.notion_requests.get("writes", 0)
        out.print(f"   second run: {writes} writes to Notion")

        out.print(
            "\n[bold]4. A person works in Notion[/]: Grace adds a [italic]Notes[/] column (people own it) and "
            "writes a note on one account, and changes the [italic]Industry[/] of another, a property "
            "Salesforce owns (drift)"
        )
        noted, drifted = _human_edits(box, first)
        out.print(f"   note on {noted}; Industry of {drifted} changed to 'Retail'")

        out.print(
            "\n[bold]5. syncfw run[/]: the drifted Industry is put back (on_drift: revert) and reported; "
            "the note is never touched"
        )
        third = _run(recipe, plugins, rate_limit)
        render_summary(third)
        assert box.notion is not None
        notes_written = [
            r
            for r in box.notion.requests()
            if r["endpoint"].startswith("PATCH") and "Notes" in str(r["body"])
        ]
        out.print(f"   requests that wrote Notes: {len(notes_written)}")

        print_table(_health_rows(recipe))
        out.print(
            "\n[bold]Where next[/]\n"
            f"  • read the recipe: {recipe_path} and its mappings\n"
            "  • keep a sandbox running: syncfw sandbox serve, then\n"
            "      syncfw run recipes/customer-360.yaml --env-file .syncfw/sandbox.env\n"
            "  • see who owns which property: syncfw validate --explain recipes/customer-360.yaml\n"
            "  • change a record in the seed data and run again: one property is updated\n"
            "  • see what a run would do first: syncfw plan RECIPE"
        )
        reverted = sum(len(t.plan.drift) for t in third.targets.values())
        ok = (
            all(r.exit_code == 0 for r in (first, second, third))
            and reverted == 1
            and not notes_written
            and writes == 0
        )
        return 0 if ok else 1
    finally:
        box.stop()


def _health_rows(recipe: Recipe) -> Table:
    """The Sync Health database as Notion holds it: one row per recipe and source."""
    store = open_state(recipe)
    ids = store.target_ids("health: Sync Health")
    store.close()
    table = Table(title="Sync Health (in Notion)", title_justify="left")
    columns = ("Sync", "Status", "Last success", "Freshness (min)", "Stale after (min)", "Drift", "Last run")
    for name in columns:
        table.add_column(name, no_wrap=True)
    if ids is None:
        return table
    client = notion_client_for(recipe, 50)
    try:
        for page in client.query_pages(ids[1]):
            cells = []
            for name in columns:
                prop = page["properties"].get(name)
                value = decode(prop["type"], prop) if prop and prop["type"] != "relation" else None
                cells.append("" if value is None else str(value))
            table.add_row(*cells)
    finally:
        client.close()
    return table


def _human_edits(box: Sandbox, report: RunReport) -> tuple[str, str]:
    """Grace's edits: a Notes column with a note, and a drifted Industry."""
    assert box.notion is not None
    plan = report.targets["accounts"].plan
    pages = {op.after.get("Name"): op.page_id for op in plan.operations if op.page_id}
    noted, drifted = "Edge Communications", "Burlington Textiles Corp of America"
    box.notion.human_update_schema(
        plan.data_source_id, {"Notes": {"rich_text": {}}}, user_name="Grace Hopper"
    )
    box.notion.human_edit(
        str(pages[noted]),
        {
            "Notes": {
                "rich_text": [{"text": {"content": "Renewal call on Friday; ask about the Austin site."}}]
            }
        },
        user_name="Grace Hopper",
    )
    box.notion.human_edit(
        str(pages[drifted]), {"Industry": {"select": {"name": "Retail"}}}, user_name="Grace Hopper"
    )
    return noted, drifted


def _run(recipe: Recipe, plugins: Registry, rate_limit: float) -> RunReport:
    with progress_bar(True) as bar:
        options = RunOptions(
            apply=True, rate_limit=rate_limit, observers=[HealthDashboard(recipe), Alerts(recipe)]
        )
        return execute(recipe, plugins, options, bar)
