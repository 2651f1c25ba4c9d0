"""Issue 14's acceptance test: syncfw run from three machines at once.

Three workers, each with a working and a temporary directory of its own (nothing shared but the
PostgreSQL URL of the state and the URL of the rate budget), run twelve recipes over three Notion
integration tokens concurrently and repeatedly while the sources change, and some runs are killed
with SIGKILL. A worker is a slot that runs one ``syncfw run RECIPE --json`` process at a time, as a Kubernetes
CronJob of that pod would (forked from a server with syncfw imported: see
:mod:`tests.deploy.fleet_child`). In the end:

* no sync key has two pages, and every target equals its source;
* two runs of one recipe started at the same moment on two workers end with one exit 75 that
  names the holder of the run lock;
* each token's Notion (an emulator per integration, counting the requests that reach it) saw at
  most the configured rate over every 10-second window, and answered no 429.

Run once with the budget on PostgreSQL, once on Redis.
"""

from __future__ import annotations

import itertools
import json
import multiprocessing
import os
import random
import signal
import time
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from dataclasses import dataclass, field
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

import pytest

from syncfw.emulation import ServedApp
from syncfw.plugins import Registry
from syncfw.recipe import load_recipe
from syncfw.sandbox.notion import NotionEmulator
from tests.deploy.fleet_child import run_command
from tests.engine.test_ownership import value
from tests.engine.test_sync_end_to_end import init

TOKENS = 3
RECIPES = 12
ROWS = 20  # per recipe, at first
RATE = 8.0  # requests/second per token, in the recipes and at Notion: low enough to be reached
BURST = 3  # the budget's burst (syncfw.engine.run.notion_client_for)
WINDOW = 10.0  # seconds
ROUNDS = 2  # each recipe is started this many times, the source changing in between
PRELOAD = [
    "tests.deploy.fleet_child",
    "syncfw_files",
    "syncfw_hubspot",
    "syncfw_salesforce",
    "syncfw_zendesk",
]
"""Imported once by the forkserver, as a worker's interpreter has them imported (plugins load)."""
KILL_SHARE = 0.3  # of the runs, killed with SIGKILL at a random moment

RECIPE = """\
recipe: fleet-{n}
owner: ops-lead@example.com
description: >
  Loads one file into Notion. Runs from three workers at once for this test. If it fails,
  nothing breaks.
tier: production
notion: {{token: "${{env:NOTION_TOKEN_{token}}}", rate_limit: {rate}/s}}
sources:
  things: {{connector: files, config: {{path: "{path}", key: key}}}}
targets:
  things:
    database: {{title: Things {n}, parent_page: "${{env:NOTION_PARENT_PAGE_ID}}"}}
    sync_key: Key
    mappings: [{{file: things.yaml, source: things}}]
    guard: {{max_change: 100%}}
"""
THINGS = """\
mapping: things
connector: files
stream: rows
sync_key: Key
properties:
  Key: {type: rich_text, field: key}
  Name: {type: title, field: name}
"""
Scope = MutableMapping[str, Any]
Message = Callable[[], Awaitable[Scope]]
Send = Callable[[Scope], Awaitable[None]]


class Arrivals:
    """The ASGI app of one token's Notion, noting when each ``/v1/`` request arrives."""

    def __init__(self, app: Callable[[Scope, Message, Send], Awaitable[None]]) -> None:
        self.app = app
        self.times: list[float] = []

    async def __call__(self, scope: Scope, receive: Message, send: Send) -> None:
        if scope["type"] == "http" and str(scope["path"]).startswith("/v1/"):
            self.times.append(time.monotonic())
        await self.app(scope, receive, send)

    def busiest_window(self) -> int:
        """The most requests that arrived within any :data:`WINDOW` seconds."""
        times, most, start = sorted(self.times), 0, 0
        for end, at in enumerate(times):
            while at - times[start] >= WINDOW:
                start += 1
            most = max(most, end - start + 1)
        return most


@dataclass
class Token:
    """One integration: its token, its Notion and what reached it."""

    secret: str
    notion: NotionEmulator
    arrivals: Arrivals
    served: ServedApp

    def env(self) -> dict[str, str]:
        return {"NOTION_BASE_URL": self.served.url, "NOTION_PARENT_PAGE_ID": self.notion.parent_page_id}


@dataclass
class Fleet:
    """The three workers' directories, the recipes' sources and the environment they share."""

    root: Path
    tokens: list[Token]
    shared_env: dict[str, str]
    processes: Any  # a forkserver context with syncfw preloaded
    rows: dict[int, dict[str, str]] = field(default_factory=dict)  # recipe → key → name
    counter: Iterator[int] = field(default_factory=itertools.count)

    def worker(self, w: int) -> Path:
        return self.root / f"worker{w}"

    def token_of(self, n: int) -> Token:
        return self.tokens[n % TOKENS]

    def write_source(self, n: int) -> None:
        path = self.root / "source" / f"things-{n}.jsonl"
        temporary = path.with_suffix(".tmp")
        temporary.write_text(
            "".join(json.dumps({"key": k, "name": v}) + "\n" for k, v in self.rows[n].items())
        )
        os.replace(temporary, path)  # the source system changes atomically, as a file export does

    def start(self, w: int, n: int) -> Run:
        """``syncfw run fleet-n`` on worker ``w``, in its directory with its own ``TMPDIR``."""
        env = {**self.shared_env, **self.token_of(n).env(), "TMPDIR": str(self.worker(w) / "tmp")}
        log = self.worker(w) / f"run-{next(self.counter)}.log"
        process = self.processes.Process(
            target=run_command, args=(f"fleet-{n}.yaml", env, str(self.worker(w)), str(log))
        )
        process.start()
        return Run(process, log)


@dataclass
class Run:
    """One ``syncfw run`` process and the file its output goes to."""

    process: BaseProcess
    log: Path

    def output(self) -> str:
        return self.log.read_text() if self.log.exists() else ""


@pytest.fixture
def fleet(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, postgres_database: str, registry: Registry
) -> Iterator[Fleet]:
    """Three Notions (one per token), twelve recipes on each worker, their data sources made."""
    tokens = []
    for t in range(TOKENS):
        secret = f"ntn_fleet_{t}_{os.urandom(8).hex()}"
        notion = NotionEmulator(None, token=secret, burst=10)
        arrivals = Arrivals(notion.app)
        tokens.append(Token(secret, notion, arrivals, ServedApp(arrivals)))
    (tmp_path / "source").mkdir()
    env = {
        name: setting
        for name, setting in os.environ.items()
        if not name.startswith(("SYNCFW_BUDGET", "NOTION_")) and name not in ("TMPDIR", "PWD")
    }
    env.update({f"NOTION_TOKEN_{t}": token.secret for t, token in enumerate(tokens)})
    env["SYNCFW_STATE_URL"] = postgres_database
    env["SYNCFW_INFLIGHT_GRACE"] = "0.5"  # the emulators commit within milliseconds
    processes = multiprocessing.get_context("forkserver")
    processes.set_forkserver_preload(PRELOAD)
    fleet = Fleet(tmp_path, tokens, env, processes)
    for w in range(3):
        (fleet.worker(w) / "tmp").mkdir(parents=True)
    rng = random.Random(14)
    for n in range(RECIPES):
        fleet.rows[n] = {f"k{n}-{i}": f"Thing {rng.randrange(10**6)}" for i in range(ROWS)}
        fleet.write_source(n)
        recipe = RECIPE.format(
            n=n, token=n % TOKENS, rate=RATE, path=tmp_path / "source" / f"things-{n}.jsonl"
        )
        for w in range(3):
            (fleet.worker(w) / f"fleet-{n}.yaml").write_text(recipe)
            (fleet.worker(w) / "things.yaml").write_text(THINGS)
    monkeypatch.setenv("SYNCFW_STATE_URL", postgres_database)
    for n in range(RECIPES):  # `syncfw notion init`, once, before the workers start
        for name, setting in {**fleet.token_of(n).env(), **env}.items():
            monkeypatch.setenv(name, setting)
        init(load_recipe(fleet.worker(0) / f"fleet-{n}.yaml", registry=registry))
    for token in tokens:
        token.notion.configure(rate_limit=RATE)
        token.notion.reset_stats()
        token.arrivals.times.clear()
    yield fleet
    for token in tokens:
        token.served.stop()
        token.notion.close()


def change_sources(fleet: Fleet, rng: random.Random) -> None:
    """Rename a few rows of some recipes, add one and delete one."""
    for n in rng.sample(range(RECIPES), 4):
        rows = fleet.rows[n]
        for key in rng.sample(sorted(rows), 3):
            rows[key] = f"Thing {rng.randrange(10**6)}"
        rows[f"k{n}-new{rng.randrange(10**6)}"] = "A new thing"
        del rows[rng.choice(sorted(rows))]
        fleet.write_source(n)


def drive(fleet: Fleet, queue: list[int], rng: random.Random, kill_share: float) -> tuple[int, int]:
    """Run the recipes of ``queue`` on whichever worker is free, changing the sources now and
    then and killing ``kill_share`` of the runs at a random moment: (runs killed, runs ended 0).
    Exit 75 (another worker runs that recipe now) is the only failure allowed."""
    running: dict[int, tuple[Run, float | None]] = {}
    killed = finished = 0
    while queue or running:
        for w in range(3):
            if w not in running and queue:
                if kill_share and rng.random() < 0.3:
                    change_sources(fleet, rng)
                kill_at = time.monotonic() + rng.uniform(0.1, 1.5) if rng.random() < kill_share else None
                running[w] = (fleet.start(w, queue.pop()), kill_at)
        for w, (run, kill_at) in list(running.items()):
            if kill_at is not None and time.monotonic() >= kill_at and run.process.is_alive():
                run.process.kill()  # SIGKILL
            if run.process.is_alive():
                continue
            run.process.join()
            code = run.process.exitcode
            assert code in (0, 75, -signal.SIGKILL), run.output()
            killed += code == -signal.SIGKILL
            finished += code == 0
            del running[w]
        time.sleep(0.01)
    return killed, finished


def live_pages(token: Token, title: str) -> list[dict[str, Any]]:
    for source in token.notion.dump()["data_sources"]:
        if "".join(t["plain_text"] for t in source["title"]) == title:
            return [page for page in source["pages"] if not page.get("in_trash")]
    raise AssertionError(f"no data source {title!r}")


@pytest.mark.timeout(300)
@pytest.mark.parametrize("budget", ["postgresql", "redis"])
def test_three_workers_share_state_lock_and_budget(
    fleet: Fleet, budget: str, request: pytest.FixtureRequest
) -> None:
    url = request.getfixturevalue("postgres_url" if budget == "postgresql" else "redis_url")
    fleet.shared_env["SYNCFW_BUDGET_URL"] = url
    rng = random.Random(1414)

    # two workers start one recipe at the same moment: one runs, the other exits 75 naming it
    pair = [fleet.start(0, 0), fleet.start(1, 0)]
    for run in pair:
        run.process.join(120)
    assert sorted(run.process.exitcode or 0 for run in pair) == [0, 75], [run.output() for run in pair]
    holder = next(run for run in pair if run.process.exitcode == 0)
    refused = next(run.output() for run in pair if run.process.exitcode == 75)
    assert f"pid {holder.process.pid}" in refused, refused

    # then every recipe, ROUNDS times, on whichever worker is free; some runs are killed
    queue = [n for _ in range(ROUNDS) for n in rng.sample(range(RECIPES), RECIPES)]
    killed, finished = drive(fleet, queue, rng, KILL_SHARE)
    assert killed > 0
    # a last run of each recipe, none killed, converges everything
    assert drive(fleet, list(range(RECIPES)), rng, 0.0) == (0, RECIPES)

    for n in range(RECIPES):
        pages = live_pages(fleet.token_of(n), f"Things {n}")
        keys = [value(page, "Key") for page in pages]
        assert len(keys) == len(set(keys)), f"fleet-{n}: a sync key has two pages"
        assert {value(page, "Key"): value(page, "Name") for page in pages} == fleet.rows[n], f"fleet-{n}"
    for t, token in enumerate(fleet.tokens):
        assert token.notion.stats()["rate_limited"] == 0, f"token {t}"
        busiest = token.arrivals.busiest_window()
        assert busiest <= RATE * WINDOW + BURST, f"token {t}: {busiest} requests in {WINDOW:g} s"
    print(
        f"{budget}: {killed} runs killed, {finished} finished; busiest {WINDOW:g} s per token: "
        f"{[token.arrivals.busiest_window() for token in fleet.tokens]}"
    )
