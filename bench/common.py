"""What every scenario shares: a served Notion emulator with a controllable clock, the benchmark
recipe and its generated data, and a few measuring helpers.

The data is one table of generated deals, synced into one target (``rows``) whose sync key is
``Key``. Row ``i`` is the same in every scenario; a *changed* row has a new ``Amount`` (one
property, so one ``PATCH`` brings its page up to date). ``Notes`` is owned by people (declared
``owners: {Notes: notion}``): a human edit of it must be read, never written.
"""

from __future__ import annotations

import csv
import os
import secrets
import shutil
import sqlite3
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]

from syncfw.emulation import ServedApp
from syncfw.engine.run import Progress, RunOptions, RunReport, execute, notion_client_for
from syncfw.notion.schema import init_target
from syncfw.plugins import Registry
from syncfw.recipe import Recipe, load_recipe
from syncfw.sandbox.notion import NotionEmulator
from syncfw.state import StateStore

BUDGET = 3.0
"""The recipe's ``notion.rate_limit`` (requests/second): Notion's documented average."""
NOTION_RATE = 3.15
"""The emulator's limit when it plays Notion: a little above the budget, so an engine that keeps
its budget never sees a 429 while one that overshoots it by more than 5% does."""
NOTION_BURST = 6
"""Requests the emulator takes at once before its average applies (Notion allows bursts)."""
LATENCY = 0.4
"""Seconds the emulator waits before answering each request when it plays Notion."""
FAST = 2000.0
"""Requests/second given to setup runs against an unlimited emulator (never measured)."""
TARGET = "rows"
KEY_PROPERTY = "Key"
STAGES = ("Lead", "Qualified", "Proposal", "Won", "Lost")

MAPPING = """\
mapping: rows
connector: files
stream: rows
sync_key: Key
properties:
  Key: {type: rich_text, field: key}
  Name: {type: title, field: name}
  Email: {type: email, field: email}
  Amount: {type: number, field: amount}
  Stage: {type: select, field: stage}
  Close Date: {type: date, field: close_date}
"""

RECIPE = """\
recipe: bench-{name}
owner: bench@example.com
description: >
  syncfw benchmark: syncs a generated file of deals into Notion. Runs by hand from bench/run.py.
  If it fails, nothing breaks.
tier: production
notion: {{token: "${{env:NOTION_TOKEN}}", rate_limit: {budget}/s}}
sources:
  deals: {{connector: files, config: {{path: "{data}", key: key}}}}
state: {{path: state.sqlite}}
targets:
  rows:
    database: {{title: Deals, parent_page: "${{env:NOTION_PARENT_PAGE_ID}}"}}
    sync_key: Key
    mappings: [rows.yaml]
    owners: {{Notes: notion}}
    guard: {{max_change: 100%}}
"""


def log(message: str) -> None:
    """Progress for the person running the suite (stderr: stdout carries ``--json``)."""
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# -- data ----------------------------------------------------------------------------------


def is_changed(i: int) -> bool:
    """1% of the rows change at the source between the runs that are compared."""
    return i % 100 == 0


def is_human_edited(i: int) -> bool:
    """0.5% of the pages get a human edit of ``Notes``; none of them is a changed row."""
    return i % 200 == 50


def row(i: int, changed: bool) -> dict[str, Any]:
    """Row ``i`` of the table; ``changed`` gives it its new ``amount``."""
    amount = round(100 + (i * 37) % 9000 + 0.25 * (i % 4), 2)
    return {
        "key": f"D{i:07d}",
        "name": f"Deal {i} with Customer {i % 997}",
        "email": f"buyer{i}@customer{i % 997}.example.com",
        "amount": amount + 1000 if changed else amount,
        "stage": STAGES[i % len(STAGES)],
        "close_date": f"2026-{1 + i % 12:02d}-{1 + i % 28:02d}",
    }


def rows(count: int, *, changed: bool) -> Iterator[dict[str, Any]]:
    """The table of ``count`` rows, before (``changed=False``) or after the source changes."""
    for i in range(count):
        yield row(i, changed and is_changed(i))


def write_csv(path: Path, count: int, *, changed: bool) -> None:
    with path.open("w", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=list(row(0, False)))
        writer.writeheader()
        writer.writerows(rows(count, changed=changed))


def properties(line: dict[str, str]) -> dict[str, Any]:
    """Every property of one row of the CSV file in Notion's request shapes."""
    return {
        KEY_PROPERTY: {"rich_text": [{"text": {"content": line["key"]}}]},
        "Name": {"title": [{"text": {"content": line["name"]}}]},
        "Email": {"email": line["email"] or None},
        "Amount": {"number": float(line["amount"]) if line["amount"] else None},
        "Stage": {"select": {"name": line["stage"]} if line["stage"] else None},
        "Close Date": {"date": {"start": line["close_date"]} if line["close_date"] else None},
    }


def write_parquet(path: Path, count: int, *, changed: bool) -> None:
    columns: dict[str, list[Any]] = {name: [] for name in row(0, False)}
    for item in rows(count, changed=changed):
        for name, value in item.items():
            columns[name].append(value)
    pq.write_table(pa.table(columns), path)
    columns.clear()


# -- Notion ---------------------------------------------------------------------------------


class Clock:
    """The emulator's clock (seconds since the epoch): real time, or a replay of the past.

    Setups push thousands of pages through the API in seconds; a real previous sync at 3
    requests/second would have spread them over hours. :meth:`replay` stamps the setup's
    requests as if they had been sent at ``rate`` and had ended ``ago`` seconds before now, so a
    later run that reads "pages edited since the previous run" sees what it would see in
    production, neither more nor less. :meth:`hold` stops it in the past for something people
    did at one moment (an import). :meth:`real` goes back to the wall clock.
    """

    def __init__(self) -> None:
        self._now: Callable[[], float] = time.time

    def __call__(self) -> float:
        return self._now()

    def replay(
        self, requests: Callable[[], int], expected: int, rate: float = BUDGET, ago: float = 3600
    ) -> None:
        start = time.time() - ago - expected / rate
        self._now = lambda: start + min(requests(), expected) / rate

    def hold(self, ago: float = 3600) -> None:
        """Stop the clock at ``ago`` seconds before now."""
        moment = time.time() - ago
        self._now = lambda: moment

    def real(self) -> None:
        self._now = time.time


class ServedNotion:
    """A :class:`NotionEmulator` served on 127.0.0.1, with its knobs and counters.

    Args:
        state_dir: the emulator's workspace directory (``notion.sqlite``); reused when it holds
            one (see :meth:`snapshot`).
        notion_like: play Notion (:data:`NOTION_RATE`, :data:`NOTION_BURST`, :data:`LATENCY`);
            otherwise no limit and no latency.
    """

    def __init__(self, state_dir: Path, *, notion_like: bool, token: str | None = None) -> None:
        self.state_dir = state_dir
        self.token = token or "secret_bench_" + secrets.token_hex(8)
        self.clock = Clock()
        self.emulator = NotionEmulator(state_dir, token=self.token, clock=self.clock)
        self.served = ServedApp(self.emulator.app)
        self.url = self.served.url
        self.configure(notion_like=notion_like)

    def configure(self, *, notion_like: bool) -> None:
        if notion_like:
            self.emulator.configure(rate_limit=NOTION_RATE, burst=NOTION_BURST, latency=LATENCY)
        else:
            self.emulator.configure(rate_limit=None, latency=0.0)

    @property
    def env(self) -> dict[str, str]:
        """What a recipe needs to reach this emulator."""
        return {
            "NOTION_TOKEN": self.token,
            "NOTION_BASE_URL": self.url,
            "NOTION_PARENT_PAGE_ID": self.emulator.parent_page_id,
        }

    def import_csv(self, data_source_id: str, path: Path, *, ago: float = 3600) -> int:
        """People merge the CSV file ``path`` into the data source in the Notion app, the import
        ending ``ago`` seconds before now: one page per row, created and last edited by a person
        one after the other at the emulator's import pace (100 a second, so 1,000,000 rows take
        under three hours and no minute holds more pages than one query returns;
        :meth:`NotionEmulator.human_import`, no API request). Answers how many pages."""
        self.clock.hold(ago)
        try:
            with path.open(newline="") as data:
                return self.emulator.human_import(
                    data_source_id,
                    (properties(line) for line in csv.DictReader(data)),
                    user_name="Dana Reyes",
                )
        finally:
            self.clock.real()

    def writes(self, *, pages_only: bool = False) -> int:
        """Page, database and data source writes received so far (every ``POST``, ``PATCH`` and
        ``DELETE`` past the limiter, except queries and search); with ``pages_only``, page writes
        only (not the recipe's claim written into a data source's description by its first run)."""
        return sum(
            n
            for endpoint, n in self.stats()["by_endpoint"].items()
            if endpoint.startswith(("POST", "PATCH", "DELETE"))
            and not endpoint.endswith(("/query", "/search"))
            and (not pages_only or "/pages" in endpoint)
        )

    def requests(self) -> int:
        """``/v1/`` requests received so far (429 answers included)."""
        return int(self.emulator.stats()["requests"])

    def stats(self) -> dict[str, Any]:
        return self.emulator.stats()

    def pages(self) -> list[dict[str, Any]]:
        """Every page not in the trash, as property → plain value (duplicates included)."""
        return [
            {name: plain(prop) for name, prop in page["properties"].items()}
            for entry in self.emulator.dump()["data_sources"]
            for page in entry["pages"]
            if not page.get("in_trash")
        ]

    def page_ids(self) -> dict[str, str]:
        """The live pages of the target: sync key → page id."""
        out: dict[str, str] = {}
        for entry in self.emulator.dump()["data_sources"]:
            for page in entry["pages"]:
                if page.get("in_trash"):
                    continue
                key = plain(page["properties"].get(KEY_PROPERTY, {}))
                if key:
                    out[str(key)] = str(page["id"])
        return out

    def snapshot(self, directory: Path) -> Path:
        """Copy the workspace (a consistent SQLite backup) into ``directory``; a
        :class:`ServedNotion` on it starts from exactly this state."""
        directory.mkdir(parents=True, exist_ok=True)
        source = sqlite3.connect(self.state_dir / "notion.sqlite")
        copy = sqlite3.connect(directory / "notion.sqlite")
        try:
            source.backup(copy)
        finally:
            copy.close()
            source.close()
        return directory

    def close(self) -> None:
        self.served.stop()
        self.emulator.close()


def plain(prop: dict[str, Any]) -> Any:
    """A property value of a page object as plain Python (text, number, name, ISO date)."""
    kind = prop.get("type")
    value = prop.get(kind) if kind else None
    if kind in ("title", "rich_text"):
        return "".join(part.get("plain_text", "") for part in value or [])
    if kind in ("select", "status"):
        return value.get("name") if value else None
    if kind == "date":
        return value.get("start") if value else None
    return value


# -- recipes and runs ----------------------------------------------------------------------


@dataclass
class Workspace:
    """One scenario's recipe, data file and state, against one served emulator."""

    directory: Path
    data: Path
    notion: ServedNotion
    registry: Registry

    @classmethod
    def create(
        cls, directory: Path, name: str, data_file: str, registry: Registry, *, notion_like: bool
    ) -> Workspace:
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "rows.yaml").write_text(MAPPING)
        data = directory / data_file
        (directory / "recipe.yaml").write_text(RECIPE.format(name=name, data=data, budget=f"{BUDGET:g}"))
        notion = ServedNotion(directory / "notion", notion_like=notion_like)
        return cls(directory, data, notion, registry)

    @property
    def recipe_path(self) -> Path:
        return self.directory / "recipe.yaml"

    def recipe(self) -> Recipe:
        os.environ.update(self.notion.env)
        return load_recipe(self.recipe_path, registry=self.registry)

    def init(self) -> str:
        """``syncfw notion init``: create the databases; people then add their own ``Notes``
        column to the target ``rows``. Answers its data source id."""
        data_source_id = self.init_targets()[TARGET]
        self.notion.emulator.human_update_schema(data_source_id, {"Notes": {"rich_text": {}}})
        return data_source_id

    def init_targets(self) -> dict[str, str]:
        """``syncfw notion init``: create every target's database, related targets first.
        Answers target name → data source id."""
        recipe = self.recipe()
        client = notion_client_for(recipe, FAST)
        store = StateStore(recipe.state_path)
        ids: dict[str, str] = {}
        try:
            for target in recipe.targets_in_order():
                ids[target.name] = init_target(client, store, target, ids, recipe.name).data_source_id
        finally:
            client.close()
            store.close()
        return ids

    def sync(
        self, *, rate_limit: float | None = None, progress: Progress | None = None, **options: Any
    ) -> RunReport:
        """One ``syncfw run`` in this process (the real notion-client against the emulator);
        ``options`` are further :class:`RunOptions` (``full_refresh``, ``reconcile``)."""
        run_options = RunOptions(rate_limit=rate_limit, **options)
        report = execute(self.recipe(), self.registry, run_options, progress)
        if report.status != "success":
            raise RuntimeError(f"the run of {self.recipe_path} ended {report.status}: {report.error}")
        return report

    def close(self) -> None:
        self.notion.close()


def counts(report: RunReport) -> dict[str, int]:
    """created / updated / unchanged / archived / failed of the target, from a run report."""
    summary = report.targets[TARGET].as_dict()
    return {name: int(summary[name]) for name in ("created", "updated", "unchanged", "archived", "failed")}


class ApplyWindow(Progress):
    """Times the apply phase of a run: from the first ``writes`` event to the last finished
    write, with the emulator's request count at both ends."""

    def __init__(self, requests: Callable[[], int]) -> None:
        self._requests = requests
        self._lock = threading.Lock()
        self.started: float | None = None
        self.ended: float | None = None
        self.requests_at_start = 0
        self.requests_at_end = 0
        self.writes_done = 0

    def writes(self, target: str, total: int) -> None:
        with self._lock:
            if self.started is None:
                self.started = time.perf_counter()
                self.requests_at_start = self._requests()

    def advance(self, target: str) -> None:
        with self._lock:
            self.writes_done += 1
            self.ended = time.perf_counter()
            self.requests_at_end = self._requests()

    @property
    def seconds(self) -> float:
        if self.started is None or self.ended is None:
            return 0.0
        return self.ended - self.started

    @property
    def requests(self) -> int:
        return self.requests_at_end - self.requests_at_start


def remove(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
