"""Shared budget (issue 14): one integration token used by three processes at once, each with its
own working and temporary directory, sharing the budget through each backend (the file budget of
one machine, PostgreSQL, Redis); and what the budget itself costs per request.

Saturation: every process creates pages one at a time, as fast as the budget lets it, against the
emulator playing Notion (400 ms latency, a limit a little above 3 requests/second). Measured: the
requests the emulator received from the first request sent to the last answered, divided by that
time and by the budget of 3 requests/second; and the 429 answers.

Cost per request: the milliseconds one ``acquire()`` takes when a token is always ready (a budget of
:data:`~syncfw.notion.budget.MAX_RATE`), in one process: the overhead each backend adds to every
Notion request.

PostgreSQL and Redis are the test suite's throwaway servers on loopback (``tests/servers.py``).
"""

from __future__ import annotations

import multiprocessing
import os
import tempfile
import time
from collections.abc import Callable
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from bench.common import BUDGET, FAST, LATENCY, NOTION_BURST, NOTION_RATE, ServedNotion, log
from syncfw.notion.budget import RateBudget
from syncfw.notion.budgets import budget_for
from syncfw.notion.client import NotionClient
from syncfw.recipe.schema import MAX_RATE
from tests.servers import Server, start_postgres, start_redis

PROCESSES = 3
COST_SAMPLES = 2_000
"""``acquire()`` calls timed per backend for the cost per request."""


def _worker(
    env: dict[str, str],
    home: Path,
    url: str,
    token: str,
    data_source: str,
    count: int,
    go: Event,
    out: Queue[Any],
) -> None:
    """One process of one machine: its own directories, the shared budget, ``count`` creates."""
    home.mkdir(parents=True)
    os.chdir(home)
    os.environ.pop("SYNCFW_BUDGET_URL", None)
    os.environ.update({**env, "TMPDIR": str(home)})
    tempfile.tempdir = None
    client = NotionClient(SecretStr(token), budget_for(token, BUDGET, burst=3), base_url=url)
    go.wait()
    started = time.monotonic()
    for i in range(count):
        client.create_page(data_source, {"Name": {"title": [{"text": {"content": f"{home.name} {i}"}}]}})
    out.put((started, time.monotonic(), client.stats.rate_limited))
    client.close()


def saturation(directory: Path, env: dict[str, str], requests: int) -> dict[str, Any]:
    """Three processes sharing one token through the backend that ``env`` selects."""
    notion = ServedNotion(directory / "notion", notion_like=False)
    try:
        setup = NotionClient(SecretStr(notion.token), RateBudget(FAST, burst=100), base_url=notion.url)
        database = setup.create_database(
            notion.emulator.parent_page_id, "Shared budget", {"Name": {"title": {}}}
        )
        setup.close()
        data_source = database["data_sources"][0]["id"]
        notion.configure(notion_like=True)
        before = notion.stats()
        ctx = multiprocessing.get_context("fork")
        go, out = ctx.Event(), ctx.Queue()
        share = requests // PROCESSES
        workers = [
            ctx.Process(
                target=_worker,
                args=(env, directory / f"machine-{n}", notion.url, notion.token, data_source, share, go, out),
            )
            for n in range(PROCESSES)
        ]
        for worker in workers:
            worker.start()
        time.sleep(1.0)  # every process is up and waiting
        go.set()
        ends = [out.get(timeout=requests / BUDGET * 3 + 60) for _ in workers]
        for worker in workers:
            worker.join(30)
        if any(w.exitcode != 0 for w in workers):
            raise RuntimeError(f"shared budget: a process failed ({[w.exitcode for w in workers]})")
        seconds = max(end for _, end, _ in ends) - min(start for start, _, _ in ends)
        received = notion.requests() - int(before["requests"])
        achieved = received / seconds
        return {
            "requests": share * PROCESSES,
            "seconds": round(seconds, 2),
            "received": received,
            "achieved_per_second": round(achieved, 3),
            "saturation": round(achieved / BUDGET, 3),
            "rate_limited_emulator": int(notion.stats()["rate_limited"]) - int(before["rate_limited"]),
            "rate_limited_client": sum(n for _, _, n in ends),
        }
    finally:
        notion.close()


def cost_ms(env: dict[str, str], token: str) -> float:
    """Milliseconds per ``acquire()`` of the backend that ``env`` selects, a token always ready."""
    saved = {name: os.environ.get(name) for name in env}
    os.environ.pop("SYNCFW_BUDGET_URL", None)
    os.environ.update(env)
    try:
        budget = budget_for(token, MAX_RATE, burst=COST_SAMPLES)
        budget.acquire()  # connects and creates the row or key
        started = time.perf_counter()
        for _ in range(COST_SAMPLES - 1):
            budget.acquire()
        return round((time.perf_counter() - started) / (COST_SAMPLES - 1) * 1000, 3)
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def measure(directory: Path, requests: int) -> dict[str, Any]:
    """Saturation and cost per request for the file, PostgreSQL and Redis budgets."""
    starts: dict[str, Callable[[], Server] | None] = {
        "file": None,
        "postgresql": start_postgres,
        "redis": start_redis,
    }
    backends: dict[str, Any] = {}
    costs: dict[str, float] = {}
    for name, start in starts.items():
        server = None if start is None else start()
        try:
            env = (
                {"SYNCFW_BUDGET_DIR": str(directory / name / "budgets")}
                if server is None
                else {"SYNCFW_BUDGET_URL": server.url}
            )
            log(f"shared budget ({name}): {requests} creates by {PROCESSES} processes at {BUDGET:g}/s")
            backends[name] = saturation(directory / name, env, requests)
            costs[name] = cost_ms(env, f"secret_bench_cost_{name}")
        finally:
            if server is not None:
                server.stop()
    return {
        "processes": PROCESSES,
        "budget_per_second": BUDGET,
        "emulator": {"rate_limit": NOTION_RATE, "burst": NOTION_BURST, "latency_seconds": LATENCY},
        "backends": backends,
        "cost_ms_per_request": costs,
    }
