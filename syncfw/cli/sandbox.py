"""``syncfw sandbox``: local emulators of Notion and of every installed connector's source."""

from __future__ import annotations

import json
import math
import signal
import threading
from pathlib import Path
from typing import Any

import click

from syncfw.cli.console import out
from syncfw.cli.options import RATE, load_env, registry, sandbox_env_file_option

MAX_BULK = 1_000_000
"""Generated records per source object the sandbox may add (the emulators hold them in memory)."""
NOTION_TIMEOUT = 60.0
"""Seconds notion-client waits for an answer by default (its ``timeout_ms`` is 60 000): a sandbox
latency above it would only make every request time out."""
NEW_PROPERTY_TYPES = (
    "rich_text",
    "number",
    "select",
    "multi_select",
    "date",
    "checkbox",
    "url",
    "email",
    "phone_number",
)
"""The types ``sandbox edit --type`` gives a property it adds (what a person picks for a new
column; ``rich_text``, Notion's "Text", by default)."""


class FiniteRange(click.FloatRange):
    """click's :class:`~click.FloatRange` without NaN (which compares false with both bounds)."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = super().convert(value, param, ctx)
        if math.isnan(number):
            self.fail(f"{value!r} is not a number", param, ctx)
        return number


@click.group()
def sandbox() -> None:
    """Local emulators of Notion and of every installed connector's source."""


def _fault_plan(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    from syncfw.emulation.faults import FaultPlan

    if value:
        try:
            FaultPlan.parse(value)
        except ValueError as exc:
            raise click.BadParameter(str(exc)) from None
    return value


def _source_options(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> dict[str, str]:
    options: dict[str, str] = {}
    for item in values:
        name, sep, value = item.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise click.BadParameter(f"{item!r}: write NAME=VALUE, e.g. recycle_bin_days=15")
        options[name.strip()] = value.strip()
    return options


def _query_cap(ctx: click.Context, param: click.Parameter, value: int) -> int:
    from syncfw.sandbox.notion.controls import QUERY_CAP

    if value > QUERY_CAP:  # an emulator is at least as strict as Notion
        raise click.BadParameter(f"{value} is more than Notion's own cap of {QUERY_CAP} results")
    return value


@sandbox.command("serve")
@click.option(
    "--data",
    "data_dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Seed data root: DIR/<connector>/<Object>.json.",
)
@click.option(
    "--state-dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path(".syncfw/sandbox"),
    show_default=True,
)
@sandbox_env_file_option
@click.option("--notion-rate-limit", type=RATE, help="Answer 429 above this many requests per second.")
@click.option(
    "--notion-latency",
    type=FiniteRange(0, NOTION_TIMEOUT),
    default=0.0,
    help="Seconds added to every Notion response.",
)
@click.option(
    "--notion-query-cap",
    type=click.IntRange(min=1),
    callback=_query_cap,
    default=10_000,
    show_default=True,
    help="Results one Notion data source query returns at most (Notion's limit; past it "
    'responses carry request_status "incomplete").',
)
@click.option(
    "--bulk",
    type=click.IntRange(1, MAX_BULK),
    help="Add this many generated records per source object (e.g. 3000).",
)
@click.option(
    "--notion-faults",
    callback=_fault_plan,
    help="Random faults of the Notion emulator, e.g. "
    '"429=0.05,5xx=0.05,reset=0.02,lost=0.02,late_commit=0.01,late_commit_after=2,retry_after=0".',
)
@click.option(
    "--source-faults",
    callback=_fault_plan,
    help="Random faults of the source emulators that support them (same grammar).",
)
@click.option(
    "--source-option",
    "source_options",
    multiple=True,
    callback=_source_options,
    metavar="NAME=VALUE",
    help="An option of the source emulators, repeatable (e.g. recycle_bin_days=15, "
    "hubspot_search_lag=10, hubspot_archive_retention=90, zendesk_rate_limit=400; each "
    "connector's README lists its own).",
)
def sandbox_serve(
    data_dir: Path | None,
    state_dir: Path,
    env_file: Path,
    notion_rate_limit: float | None,
    notion_latency: float,
    notion_query_cap: int,
    bulk: int | None,
    notion_faults: str | None,
    source_faults: str | None,
    source_options: dict[str, str],
) -> None:
    """Start the emulators on 127.0.0.1 and run until stopped (Ctrl-C or SIGTERM)."""
    from syncfw.sandbox.runner import Sandbox

    options = dict(source_options)
    if bulk:
        options["bulk"] = str(bulk)
    if source_faults:
        options["faults"] = source_faults
    box = Sandbox(
        state_dir,
        registry(),
        data_dir=data_dir,
        notion_rate_limit=notion_rate_limit,
        notion_latency=notion_latency,
        notion_faults=notion_faults,
        notion_query_cap=notion_query_cap,
        options=options,
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    box.start()
    box.write_env(env_file)
    out.print(f"sandbox running; env file: {env_file.resolve()}", markup=False)
    out.print(f"  for every command of a shell: export SYNCFW_ENV_FILE={env_file.resolve()}", markup=False)
    for key, value in sorted(box.env.items()):
        shown = value if "TOKEN" not in key and "SESSION" not in key else value[:12] + "…"
        out.print(f"  {key}={shown}")
    out.print("stop with Ctrl-C")
    try:
        while not stop.is_set():
            stop.wait(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        box.stop()


@sandbox.command("dump")
@sandbox_env_file_option
def sandbox_dump(env_file: Path) -> None:
    """Print every Notion data source with its pages as JSON (Notion API response shapes)."""
    from syncfw.sandbox.dump import dump_workspace

    load_env(env_file)
    click.echo(json.dumps(dump_workspace(), indent=2, ensure_ascii=False))


@sandbox.command("edit")
@click.argument("page_or_sync_key")
@click.argument("property_name", metavar="PROPERTY")
@click.argument("value")
@click.option(
    "--as", "as_user", default="Grace Hopper", show_default=True, help="The person making the edit."
)
@click.option(
    "--type",
    "new_type",
    type=click.Choice(NEW_PROPERTY_TYPES),
    default="rich_text",
    show_default=True,
    help="The type of PROPERTY when the data source lacks it and the person adds it first "
    "(a people-owned property such as Notes).",
)
@sandbox_env_file_option
def sandbox_edit(
    page_or_sync_key: str, property_name: str, value: str, as_user: str, new_type: str, env_file: Path
) -> None:
    """Edit a property in the sandbox's Notion as a person would (sets last_edited_by); a
    property the data source lacks is added first, as a person adds a column."""
    from syncfw.sandbox.edit import human_edit

    load_env(env_file)
    page, added = human_edit(page_or_sync_key, property_name, value, as_user, new_type=new_type)
    if added:
        out.print(f"{as_user} added the property {property_name!r} ({new_type})", markup=False)
    out.print(f"{as_user} set {property_name!r} of page {page['id']} to {value!r}", markup=False)


@sandbox.command("rename")
@click.argument("data_source", metavar="DATA_SOURCE_OR_TITLE")
@click.argument("old")
@click.argument("new")
@click.option("--as", "as_user", default="Grace Hopper", show_default=True, help="The person renaming it.")
@sandbox_env_file_option
def sandbox_rename(data_source: str, old: str, new: str, as_user: str, env_file: Path) -> None:
    """Rename a property in the sandbox's Notion as a person would (it keeps its id and values)."""
    from syncfw.sandbox.edit import human_rename

    load_env(env_file)
    human_rename(data_source, old, new, as_user)
    out.print(f"{as_user} renamed property {old!r} of {data_source} to {new!r}")


@sandbox.command("seed-hand-kept")
@click.option("--as", "as_user", default="Grace Hopper", show_default=True, help="The person keeping it.")
@sandbox_env_file_option
def sandbox_seed_hand_kept(as_user: str, env_file: Path) -> None:
    """Add the "Accounts (hand kept)" database of people's pages (recipes/hand-kept-accounts.yaml fills it)."""
    from syncfw.sandbox.edit import HAND_KEPT_TITLE, seed_hand_kept_accounts

    load_env(env_file)
    ds_id, made = seed_hand_kept_accounts(as_user)
    out.print(f"{HAND_KEPT_TITLE}: data source {ds_id}, {made} pages made by {as_user}")
