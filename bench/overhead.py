"""Engine overhead: ``syncfw plan`` over large Parquet files, each in a fresh process.

Two kinds of measurement (the emulator has no limit and no latency here, so the figures are the
engine's own cost; the Notion requests the plan makes are reported with what they would cost
at the 3/s budget):

* **re-plan** (the target's scenario): N pages that people imported into Notion (a CSV file of
  the same rows merged into the database an hour earlier, :meth:`ServedNotion.import_csv`), a
  real ``syncfw run`` in its own process that *adopts* them (each page already holds its sync key
  and the source's values, so syncfw records it in its state store without writing to Notion),
  then 1% of the rows changed in the file, then a plan. The setup is timed apart and checked:
  the adoption run must write nothing and leave a state store that knows every page. The state
  store is only ever built by that run.
* **first plan**: a target whose database exists but holds no page yet, over N records: every
  record is read, mapped and planned as a create, so the plan holds N creates.

Peak memory is the plan process's ``VmHWM`` (it includes the interpreter and imports, reported
apart as the baseline). A process that holds more than :data:`MEMORY_CEILING_MIB` is stopped, so
that a run of the suite never starves the machine it shares.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.common import BUDGET, FAST, TARGET, Workspace, log, write_csv, write_parquet
from syncfw.plugins import Registry
from syncfw.state import StateStore

CHILD = Path(__file__).with_name("plan_child.py")
MEMORY_CEILING_MIB = 8192
"""Resident memory at which a plan or run process is stopped (the machine runs other work too)."""


def first_plan(directory: Path, registry: Registry, size: int, timeout: float) -> dict[str, Any]:
    space = Workspace.create(directory, f"plan-{size}", "deals.parquet", registry, notion_like=False)
    try:
        write_parquet(space.data, size, changed=True)
        space.init()
        log(f"overhead: first plan over {size:,} records")
        result = child(space, size, timeout)
        return {"kind": "first plan", "records": size, **result}
    finally:
        space.close()


def replan(directory: Path, registry: Registry, size: int, timeout: float) -> dict[str, Any]:
    space = Workspace.create(directory, f"replan-{size}", "deals.parquet", registry, notion_like=False)
    notion = space.notion
    try:
        write_parquet(space.data, size, changed=False)
        data_source_id = space.init()
        log(
            f"overhead: setup, {size:,} pages imported by people, then adopted by a syncfw run (not measured)"
        )
        started = time.perf_counter()
        export = directory / "deals.csv"
        write_csv(export, size, changed=False)
        imported = notion.import_csv(data_source_id, export)
        export.unlink()
        import_seconds = time.perf_counter() - started
        emulator_rss = _rss_mib(Path("/proc/self/status"))
        if imported != size:
            raise RuntimeError(f"overhead: the import made {imported} pages, not {size}")
        requests, writes = notion.requests(), notion.writes(pages_only=True)
        adoption = child(space, size, timeout, apply=True)
        setup = {
            "import_seconds": round(import_seconds, 1),
            "emulator_rss_mib": round(emulator_rss),
            "adoption": adoption,
            "adoption_requests": notion.requests() - requests,
            "adoption_writes": notion.writes(pages_only=True) - writes,
            "seconds": round(time.perf_counter() - started, 1),
        }
        _check_adoption(space, size, setup)
        write_parquet(space.data, size, changed=True)
        log(f"overhead: re-plan over {size:,} records, 1% changed")
        result = child(space, size, timeout)
        changed = size // 100
        expected = {"created": 0, "updated": changed, "unchanged": size - changed, "archived": 0, "failed": 0}
        if result.get("finished"):
            planned = result["counts"]
            result["problems"] = [
                f"it planned {planned[k]} {k}, expected {v}" for k, v in expected.items() if planned[k] != v
            ]
            for problem in result["problems"]:
                log(f"overhead: the re-plan is wrong: {problem}")
        return {"kind": "re-plan, 1% changed", "records": size, "setup": setup, **result}
    finally:
        space.close()


def _check_adoption(space: Workspace, size: int, setup: dict[str, Any]) -> None:
    """The adoption run must have written nothing and left a state store that knows every page.

    Raises:
        RuntimeError: it did not finish, wrote, or planned anything but ``size`` unchanged pages.
    """
    adoption = setup["adoption"]
    if not adoption.get("finished"):
        raise RuntimeError(f"overhead: the adoption run failed: {adoption.get('error')}")
    done = adoption["counts"]
    expected = {"created": 0, "updated": 0, "unchanged": size, "archived": 0, "failed": 0}
    wrong = [f"{done[k]} {k} (expected {v})" for k, v in expected.items() if done[k] != v]
    if setup["adoption_writes"]:
        wrong.append(f"{setup['adoption_writes']} page writes reached Notion (expected none)")
    store = StateStore(space.recipe().state_path)
    try:
        known = store.page_count(TARGET)
    finally:
        store.close()
    if known != size:
        wrong.append(f"the state store knows {known:,} pages (expected {size:,})")
    if wrong:
        raise RuntimeError(f"overhead: the adoption run is wrong: {'; '.join(wrong)}")


def child(
    space: Workspace, size: int, timeout: float, *, apply: bool = False, max_writes: int | None = None
) -> dict[str, Any]:
    """:mod:`bench.plan_child` on the workspace: a plan (or with ``apply`` a run, capped at
    ``max_writes``) in a fresh process, stopped after ``timeout`` seconds or once it holds more
    than :data:`MEMORY_CEILING_MIB`."""
    env = {**os.environ, **space.notion.env}
    flags = [*(["--apply"] if apply else []), *([f"--max-writes={max_writes}"] if max_writes else [])]
    command = [sys.executable, str(CHILD), str(space.recipe_path), str(FAST), *flags]
    name = "run" if apply else "plan"
    out, err = space.directory / "child.out", space.directory / "child.err"
    with out.open("w") as stdout, err.open("w") as stderr:
        process = subprocess.Popen(command, cwd=space.directory, env=env, stdout=stdout, stderr=stderr)
        stopped = _watch(process, timeout)
    if stopped:
        return {"finished": False, "error": stopped}
    if process.returncode != 0:
        tail = " | ".join(err.read_text().strip().splitlines()[-3:])
        return {"finished": False, "error": f"the {name} process exited {process.returncode}: {tail}"}
    answer = json.loads(out.read_text().strip().splitlines()[-1])
    if answer["status"] != "success":
        return {"finished": False, "error": f"the {name} ended {answer['status']}: {answer['error']}"}
    seconds = answer["seconds"]
    engine = seconds - answer["notion_wait_seconds"]
    requests = sum(answer["notion_requests"].get(k, 0) for k in ("reads", "writes"))
    return {
        "finished": True,
        "seconds": round(seconds, 2),
        "records_per_second": round(size / seconds),
        "notion_wait_seconds": round(answer["notion_wait_seconds"], 2),
        "engine_seconds": round(engine, 2),
        "engine_records_per_second": round(size / engine) if engine > 0 else None,
        "peak_rss_mib": round(answer["peak_rss_mib"]),
        "baseline_rss_mib": round(answer["baseline_rss_mib"]),
        "notion_requests": requests,
        "notion_seconds_at_budget": round(requests / BUDGET, 1),
        "counts": answer["counts"],
        "warnings": answer["warnings"],
        "first_warning": answer["first_warning"],
        "backfill": answer["backfill"],
    }


def _watch(process: subprocess.Popen[bytes], timeout: float) -> str | None:
    """Wait for ``process``; kill it and say why when it runs out of time or memory."""
    deadline = time.monotonic() + timeout
    status = Path(f"/proc/{process.pid}/status")
    while True:
        try:
            process.wait(timeout=0.5)
            return None
        except subprocess.TimeoutExpired:
            pass
        rss = _rss_mib(status)
        if rss > MEMORY_CEILING_MIB:
            process.kill()
            process.wait()
            return (
                f"stopped at {rss:,.0f} MiB resident, over the suite's ceiling of {MEMORY_CEILING_MIB:,} MiB"
            )
        if time.monotonic() > deadline:
            process.kill()
            process.wait()
            return f"did not finish within {timeout:.0f} s (stopped)"


def _rss_mib(status: Path) -> float:
    """``VmRSS`` of a process from its ``/proc/PID/status`` (0 where there is none)."""
    try:
        for line in status.read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0
