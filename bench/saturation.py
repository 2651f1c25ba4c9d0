"""Budget saturation: N creates against the emulator playing Notion (400 ms latency, a limit a
little above 3 requests/second) with the recipe's budget of 3 requests/second.

Measured: the requests the emulator received during the apply phase (from the first write sent
to the last write finished, timed through the run's progress events) divided by that phase's
duration and by the budget; and the 429 answers (emulator and client counts).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from bench.common import (
    BUDGET,
    LATENCY,
    NOTION_BURST,
    NOTION_RATE,
    ApplyWindow,
    Workspace,
    counts,
    log,
    write_csv,
)
from syncfw.plugins import Registry


def measure(directory: Path, registry: Registry, creates: int) -> dict[str, Any]:
    space = Workspace.create(directory, "saturation", "deals.csv", registry, notion_like=True)
    try:
        write_csv(space.data, creates, changed=False)
        space.init()
        stats_before = space.notion.stats()
        window = ApplyWindow(space.notion.requests)
        log(f"saturation: {creates} creates at {BUDGET:g}/s with {LATENCY * 1000:.0f} ms latency")
        started = time.perf_counter()
        report = space.sync(progress=window)
        elapsed = time.perf_counter() - started
        stats = space.notion.stats()
        created = counts(report)["created"]
        if created != creates:
            raise RuntimeError(f"saturation: the run created {created} pages, not {creates}")
        pages = len(space.notion.pages())
        if pages != creates:
            raise RuntimeError(f"saturation: Notion holds {pages} pages after the run, not {creates}")
        achieved = window.requests / window.seconds if window.seconds else 0.0
        return {
            "creates": creates,
            "budget_per_second": BUDGET,
            "emulator": {"rate_limit": NOTION_RATE, "burst": NOTION_BURST, "latency_seconds": LATENCY},
            "apply_seconds": round(window.seconds, 2),
            "apply_requests": window.requests,
            "achieved_per_second": round(achieved, 3),
            "saturation": round(achieved / BUDGET, 3),
            "rate_limited_emulator": int(stats["rate_limited"]) - int(stats_before["rate_limited"]),
            "rate_limited_client": report.notion_requests.get("rate_limited", 0),
            "run_seconds": round(elapsed, 2),
            "run_requests": space.notion.requests() - int(stats_before["requests"]),
        }
    finally:
        space.close()
