"""The rate budget on a server (``SYNCFW_BUDGET_URL``, issue 14): processes that share nothing but
the URL share one token's budget, as Notion sees it; a bad or unreachable URL is one clear line
without its password."""

from __future__ import annotations

import json
import multiprocessing
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import redis
from pydantic import SecretStr

from syncfw.emulation import ServedApp
from syncfw.notion.budget_shared import ServerRateBudget
from syncfw.notion.budgets import budget_for
from syncfw.notion.client import NotionClient
from syncfw.plugins import Registry
from syncfw.recipe import load_recipe
from syncfw.sandbox.notion import NotionEmulator
from syncfw.sandbox.runner import Sandbox
from tests.conftest import RECIPE
from tests.engine.test_sync_end_to_end import init, pages
from tests.hostile.support import assert_refused, syncfw
from tests.notion.conftest import Backend
from tests.servers import PASSWORD, free_port

RATE = 10.0  # requests per second
PROCESSES = 3
REQUESTS = 8  # per process


def _recorded(app: Any, arrivals: list[float]) -> Any:
    """``app``, noting when each ``/v1/`` request arrives (the emulator's own view of the rate)."""

    async def wrapper(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/v1/"):
            arrivals.append(time.monotonic())
        await app(scope, receive, send)

    return wrapper


@pytest.fixture
def emulator() -> Iterator[tuple[NotionEmulator, str, list[float]]]:
    # the emulator allows the budget's rate with a little burst for the jitter of arrival times
    notion = NotionEmulator(None, token="secret_shared_budget", rate_limit=RATE, burst=3)
    arrivals: list[float] = []
    server = ServedApp(_recorded(notion.app, arrivals))
    yield notion, server.url, arrivals
    server.stop()
    notion.close()


def _worker(env: dict[str, str], home: Path, url: str) -> None:
    """A process of another machine: its own working and temporary directory, the shared URL."""
    home.mkdir()
    os.chdir(home)
    os.environ.pop("SYNCFW_BUDGET_URL", None)
    os.environ.update({**env, "TMPDIR": str(home)})
    tempfile.tempdir = None
    client = NotionClient(
        SecretStr("secret_shared_budget"), budget_for("secret_shared_budget", RATE, 1), base_url=url
    )
    for _ in range(REQUESTS):
        list(client.search_data_sources("accounts"))
    client.close()


def test_three_processes_sharing_a_token_stay_within_its_rate_at_notion(
    budget_backend: Backend, emulator: tuple[NotionEmulator, str, list[float]], tmp_path: Path
) -> None:
    notion, url, arrivals = emulator
    ctx = multiprocessing.get_context("fork")
    workers = [
        ctx.Process(target=_worker, args=(budget_backend.env, tmp_path / f"machine-{n}", url))
        for n in range(PROCESSES)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    assert [w.exitcode for w in workers] == [0] * PROCESSES
    assert notion.stats()["rate_limited"] == 0
    assert len(arrivals) == PROCESSES * REQUESTS
    busiest = max(sum(1 for t in arrivals if start <= t < start + 1.0) for start in arrivals)
    # one token a 0.1 s and the burst of 1, plus one for the jitter of arrival times; three
    # budgets of their own would send about 30 in the first second
    assert busiest <= RATE + 2, busiest


@pytest.mark.parametrize("server", ["postgres_url", "redis_url"])
def test_the_server_keeps_a_digest_of_the_token_never_the_token(
    server: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = request.getfixturevalue(server)
    token = f"ntn_secret_token_kept_off_{server}"
    monkeypatch.setenv("SYNCFW_BUDGET_URL", url)
    budget = budget_for(token, 3.0)
    budget.acquire()
    assert isinstance(budget, ServerRateBudget) and budget is budget_for(token, 3.0)
    if server == "redis_url":
        client = redis.Redis.from_url(url)
        stored = [(name, client.get(name)) for name in client.scan_iter("syncfw:budget:*")]
    else:
        with psycopg.connect(url) as connection:
            stored = connection.execute("SELECT key, state::text FROM syncfw_rate_budget").fetchall()
    assert any(budget.key in str(name) for name, _ in stored)
    assert token not in repr(stored) and "ntn_secret" not in repr(stored)


@pytest.mark.parametrize(
    ("url", "says"),
    [
        (f"mysql://syncfw:{PASSWORD}@db.example.com/budget", "give a postgresql:// or a redis:// URL"),
        (f"postgresql://syncfw:{PASSWORD}@db.example.com:fivefour/syncfw", "Port could not be cast"),
        (f"postgresql://syncfw:{PASSWORD}@db.example.com/syncfw?colour=blue", "invalid URI query parameter"),
        (f"redis://:{PASSWORD}@cache.example.com:99999/0", "Port out of range"),
    ],
)
def test_a_malformed_budget_url_is_refused_in_one_line_without_its_password(
    sandbox: Sandbox, registry: Registry, tmp_path: Path, url: str, says: str
) -> None:
    ids = init(load_recipe(RECIPE, registry=registry))
    run = ("run", RECIPE, "--env-file", tmp_path / "sandbox.env", "--notion-rate-limit", "500")
    done = syncfw(*run, cwd=tmp_path, env={"SYNCFW_BUDGET_URL": url})
    assert_refused(done, 2, says=f"SYNCFW_BUDGET_URL {url.split('://')[0]}://", secrets=[PASSWORD])
    assert says in done.output and "***" in done.output, done.output
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert pages(sandbox, ids["accounts"]) == []


@pytest.mark.parametrize("scheme", ["postgresql://syncfw", "redis://"])
def test_an_unreachable_budget_server_fails_the_run_before_any_request(
    sandbox: Sandbox, registry: Registry, tmp_path: Path, scheme: str
) -> None:
    ids = init(load_recipe(RECIPE, registry=registry))
    url = f"{scheme}:{PASSWORD}@127.0.0.1:{free_port()}/0"
    run = ("run", RECIPE, "--env-file", tmp_path / "sandbox.env", "--notion-rate-limit", "500", "--json")
    done = syncfw(*run, cwd=tmp_path, env={"SYNCFW_BUDGET_URL": url})
    shown = url.replace(PASSWORD, "***")
    assert_refused(done, 1, says=f"the rate budget server {shown} cannot be used: ", secrets=[PASSWORD])
    report = json.loads(done.stdout)
    assert report["status"] == "failed" and "Check SYNCFW_BUDGET_URL" in report["error"]
    assert pages(sandbox, ids["accounts"]) == []
