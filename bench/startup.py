"""Start-up (issue 16): what a small run costs before it does any work.

* **``syncfw --version``**: seconds from starting the process to its exit.
* **Start-up to the first request**: a no-change ``syncfw run`` of the benchmark recipe (a CSV file
  of :data:`ROWS` rows, read by the files connector, all already synced) in a fresh process:
  seconds from starting the process to the first request the Notion emulator receives. The run is
  given a budget that never makes it wait (the budget's waits are not start-up).
* **Peak memory of that run**: the process's peak resident set (``VmHWM``, read every millisecond
  while it runs: ``ru_maxrss`` of a child keeps the resident set of the parent it was forked
  from), interpreter and imports included.

Each is measured :data:`RUNS` times on fresh processes; the median is the figure (the machine may
be busy with other work: the minimum is reported too). The emulator has no limit and no latency.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.common import FAST, Workspace, log, write_csv
from syncfw.plugins import Registry

ROWS = 300
RUNS = 5
FIRST_REQUEST_SECONDS = 0.5
"""Issue 16's target for start-up to the first request."""
PEAK_MIB = 100
"""Issue 16's target for the peak memory of a no-change run on :data:`ROWS` rows."""
VERSION_SECONDS = 0.3
"""Issue 16's target for ``syncfw --version``."""


def measure(directory: Path, registry: Registry) -> dict[str, Any]:
    space = Workspace.create(directory, "startup", "deals.csv", registry, notion_like=False)
    try:
        write_csv(space.data, ROWS, changed=False)
        space.init()
        space.sync(rate_limit=FAST)
        log(f"startup: {RUNS} × syncfw --version, {RUNS} × a no-change run of {ROWS} rows")
        env = {**os.environ, **space.notion.env}
        version = [_version(env) for _ in range(RUNS)]
        runs = [_run(space, env) for _ in range(RUNS)]
    finally:
        space.close()
    first = [r["first_request_seconds"] for r in runs]
    peak = [r["peak_mib"] for r in runs]
    return {
        "rows": ROWS,
        "runs": RUNS,
        "version_seconds": _figures(version),
        "first_request_seconds": _figures(first),
        "peak_mib": _figures(peak),
        "requests_per_run": runs[-1]["requests"],
    }


def _figures(values: list[float]) -> dict[str, float]:
    return {"median": round(statistics.median(values), 3), "min": round(min(values), 3)}


def _version(env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "syncfw.cli", "--version"], env=env, check=True, capture_output=True
    )
    return time.perf_counter() - started


def _run(space: Workspace, env: dict[str, str]) -> dict[str, Any]:
    """One no-change ``syncfw run`` in a fresh process, watched from here.

    Raises:
        RuntimeError: the run did not exit 0 or made no request.
    """
    command = [sys.executable, "-m", "syncfw.cli", "run", str(space.recipe_path), "--quiet"]
    command += ["--notion-rate-limit", f"{FAST:g}"]
    before = space.notion.requests()
    first: float | None = None
    peak = 0
    log_path = space.directory / "run.log"
    with log_path.open("wb") as output:
        started = time.perf_counter()
        process = subprocess.Popen(command, cwd=space.directory, env=env, stdout=output, stderr=output)
        while True:
            if first is None and space.notion.requests() > before:
                first = time.perf_counter() - started
            peak = max(peak, _peak_kib(process.pid))
            pid, status = os.waitpid(process.pid, os.WNOHANG)
            if pid:
                break
            time.sleep(0.001)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0 or first is None:
        raise RuntimeError(
            f"startup: the no-change run exited {process.returncode}: {log_path.read_text()[-2000:]}"
        )
    return {
        "first_request_seconds": first,
        "peak_mib": peak / 1024,
        "requests": space.notion.requests() - before,
    }


def _peak_kib(pid: int) -> int:
    """``VmHWM`` of a running process, in KiB (0 once it has exited)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    line = next((x for x in status.splitlines() if x.startswith("VmHWM:")), "VmHWM: 0 kB")
    return int(line.split()[1])


def targets(result: Any) -> list[dict[str, Any]]:
    """Issue 16's start-up targets as rows of :func:`bench.report.targets`."""
    rows = [
        ("syncfw --version", f"≤ {VERSION_SECONDS} s", "version_seconds", VERSION_SECONDS, " s"),
        (
            "Start-up to the first request",
            f"≤ {FIRST_REQUEST_SECONDS} s",
            "first_request_seconds",
            FIRST_REQUEST_SECONDS,
            " s",
        ),
        (f"Peak memory of a no-change run on {ROWS} rows", f"≤ {PEAK_MIB} MiB", "peak_mib", PEAK_MIB, " MiB"),
    ]
    if not isinstance(result, dict) or "error" in result:
        reason = result["error"] if isinstance(result, dict) else "not run"
        return [
            {"name": name, "target": target, "measured": f"not measured: {reason}", "met": None}
            for name, target, *_ in rows
        ]
    return [
        {
            "name": name,
            "target": target,
            "measured": f"{result[key]['median']:g}{unit} (median of {result['runs']}; min {result[key]['min']:g}{unit})",
            "met": result[key]["median"] <= limit,
        }
        for name, target, key, limit, unit in rows
    ]
