"""Engine overhead: ``syncfw plan`` over large Parquet files, each in a fresh process.

Two kinds of measurement (the emulator has no limit and no latency here, so the figures are the
engine's own cost; the Notion requests the plan makes are reported with what they would cost
at the 3/s budget):

* **first plan**: a target whose database exists but holds no page yet, over N records: every
  record is read, mapped and planned as a create. Needs no synced state, so it runs at 1,000,000.
* **re-plan**: N pages synced by a real run (through the API, the emulator's clock replaying it
  as a 3/s sync that ended an hour ago), then 1% of the rows changed in the file, then a plan: the
  scenario of the target, at the largest size whose setup fits the machine's time (100,000 pages
  take about two minutes to push through the API; 1,000,000 would take about twenty).

Peak memory is the plan process's ``ru_maxrss`` (it includes the interpreter and imports,
reported apart as the baseline).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.common import BUDGET, FAST, Workspace, counts, log, write_parquet
from syncfw.plugins import Registry

CHILD = Path(__file__).with_name("plan_child.py")


def first_plan(directory: Path, registry: Registry, size: int, timeout: float) -> dict[str, Any]:
    space = Workspace.create(directory, f"plan-{size}", "deals.parquet", registry, notion_like=False)
    try:
        write_parquet(space.data, size, changed=True)
        space.init()
        log(f"overhead: first plan over {size:,} records")
        result = _plan(space, size, timeout)
        return {"kind": "first plan", "records": size, **result}
    finally:
        space.close()


def replan(directory: Path, registry: Registry, size: int, timeout: float) -> dict[str, Any]:
    space = Workspace.create(directory, f"replan-{size}", "deals.parquet", registry, notion_like=False)
    notion = space.notion
    try:
        write_parquet(space.data, size, changed=False)
        first = notion.requests()
        notion.clock.replay(lambda: notion.requests() - first, expected=size + 8)
        space.init()
        log(f"overhead: setup, {size:,} pages through the API (not measured)")
        started = time.perf_counter()
        created = counts(space.sync(rate_limit=FAST))["created"]
        setup_seconds = time.perf_counter() - started
        notion.clock.real()
        if created != size:
            raise RuntimeError(f"overhead: the setup created {created} pages, not {size}")
        write_parquet(space.data, size, changed=True)
        log(f"overhead: re-plan over {size:,} records, 1% changed")
        result = _plan(space, size, timeout)
        expected = {"created": 0, "updated": size // 100, "archived": 0, "failed": 0}
        if result.get("finished"):
            planned = result["counts"]
            result["problems"] = [
                f"it planned {planned[k]} {k}, expected {v}" for k, v in expected.items() if planned[k] != v
            ]
            for problem in result["problems"]:
                log(f"overhead: the re-plan is wrong: {problem}")
        return {
            "kind": "re-plan, 1% changed",
            "records": size,
            "setup_seconds": round(setup_seconds, 1),
            **result,
        }
    finally:
        space.close()


def _plan(space: Workspace, size: int, timeout: float) -> dict[str, Any]:
    env = {**os.environ, **space.notion.env}
    try:
        done = subprocess.run(
            [sys.executable, str(CHILD), str(space.recipe_path), str(FAST)],
            cwd=space.directory,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return {"finished": False, "error": f"did not finish within {timeout:.0f} s (stopped)"}
    if done.returncode != 0:
        tail = " | ".join(done.stderr.strip().splitlines()[-3:])
        return {"finished": False, "error": f"the plan process exited {done.returncode}: {tail}"}
    child = json.loads(done.stdout.strip().splitlines()[-1])
    if child["status"] != "success":
        return {"finished": False, "error": f"the plan ended {child['status']}: {child['error']}"}
    seconds = child["seconds"]
    engine = seconds - child["notion_wait_seconds"]
    requests = sum(child["notion_requests"].get(k, 0) for k in ("reads", "writes"))
    return {
        "finished": True,
        "seconds": round(seconds, 2),
        "records_per_second": round(size / seconds),
        "notion_wait_seconds": round(child["notion_wait_seconds"], 2),
        "engine_seconds": round(engine, 2),
        "engine_records_per_second": round(size / engine) if engine > 0 else None,
        "peak_rss_mib": round(child["peak_rss_mib"]),
        "baseline_rss_mib": round(child["baseline_rss_mib"]),
        "notion_requests": requests,
        "notion_seconds_at_budget": round(requests / BUDGET, 1),
        "counts": child["counts"],
        "warnings": child["warnings"],
        "first_warning": child["first_warning"],
    }
