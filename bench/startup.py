"""Start-up (issue 16): what a small run costs before it does any work.

* **``syncfw --version``**: seconds from starting the process to its exit.
* **Start-up to the first request**: a no-change ``syncfw run`` in a fresh process: seconds from
  starting the process to the first request the Notion emulator receives. The run is given a
  budget that never makes it wait (the budget's waits are not start-up). Two recipes of
  :data:`ROWS` rows, all already synced: the benchmark recipe (a CSV file read by the files
  connector, unchanged since the last run) and ``recipes/salesforce-accounts.yaml`` against the
  sandbox's Salesforce emulator (:data:`ROWS` accounts, no contact).
* **Peak memory of that run**: the process's peak resident set (``VmHWM``, read every millisecond
  while it runs: ``ru_maxrss`` of a child keeps the resident set of the parent it was forked
  from), interpreter and imports included.

The measured processes run from compiled bytecode, as an installed syncfw does (pip compiles
``.pyc`` files when it installs a wheel): :func:`compile_bytecode` writes them for syncfw and its
connectors first, since an editable checkout run with ``PYTHONDONTWRITEBYTECODE`` (CI, this
sandbox) would otherwise compile a hundred modules from source on every start.

Each is measured :data:`RUNS` times on fresh processes; the median is the figure, the minimum and
maximum give the spread. These are wall-clock times on a machine that is usually shared (other
benchmarks, test suites): the load average before and after each scenario is recorded beside its
figures, and a loaded machine shows as a wide spread and a high median, not as a lower one. The
emulator has no limit and no latency.

For scale, the client library the Salesforce recipe's connector loads before Notion's first
request (its ``check`` asks the org's limits first) is imported alone the same way: time to exit
and peak memory of ``python -c "import simple_salesforce"`` (:data:`LIBRARIES`). The CSV run
loads no pandas: the file is unchanged since the last run (its digest is in the cursor) and the
names check that passed is remembered (:mod:`syncfw.engine.sources`).
"""

from __future__ import annotations

import compileall
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import syncfw_files
import syncfw_salesforce
from syncfw_salesforce.emulator.ids import make_id

import syncfw
from bench.common import FAST, Workspace, log, write_csv
from syncfw.plugins import Registry
from syncfw.sandbox.runner import Sandbox

REPO = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-m", "syncfw.cli"]
UNLIMITED = ["--notion-rate-limit", f"{FAST:g}"]

ROWS = 300
RUNS = 7
FIRST_REQUEST_SECONDS = 0.5
"""Issue 16's target for start-up to the first request."""
PEAK_MIB = 100
"""Issue 16's target for the peak memory of a no-change run on :data:`ROWS` rows."""
VERSION_SECONDS = 0.3
"""Issue 16's target for ``syncfw --version``."""
LIBRARIES = ("simple_salesforce",)
"""Libraries imported alone for scale (see the module's docstring)."""


def compile_bytecode() -> None:
    """Write the ``.pyc`` files of syncfw and the connectors the scenarios load, as ``pip install``
    does (a no-op for files already compiled)."""
    for package in (syncfw, syncfw_files, syncfw_salesforce):
        compileall.compile_dir(Path(package.__file__ or "").parent, quiet=1)


def measure(directory: Path, registry: Registry) -> dict[str, Any]:
    compile_bytecode()
    space = Workspace.create(directory / "files", "startup", "deals.csv", registry, notion_like=False)
    try:
        write_csv(space.data, ROWS, changed=False)
        space.init()
        space.sync(rate_limit=FAST)
        env = {**os.environ, **space.notion.env}
        log(f"startup: {RUNS} × syncfw --version")
        load = _load()
        version = [_version(env) for _ in range(RUNS)]
        log(f"startup: {RUNS} × a no-change run of {ROWS} rows from a CSV file")
        command = [*CLI, "run", str(space.recipe_path), "--quiet", *UNLIMITED]
        files = [_run(command, space.directory, env, space.notion.requests) for _ in range(RUNS)]
        load += _load()
    finally:
        space.close()
    return {
        "rows": ROWS,
        "runs": RUNS,
        "load_average": load,
        "version_seconds": _figures(version),
        **_summary(files),
        "salesforce": _salesforce(directory / "salesforce", registry),
        "imports": {name: _import(name, directory) for name in LIBRARIES},
    }


def _import(library: str, directory: Path) -> dict[str, Any]:
    """Seconds to exit and peak MiB of ``python -c "import LIBRARY"``."""
    log(f"startup: {RUNS} × import {library}")
    runs = [
        _run([sys.executable, "-c", f"import {library}"], directory, dict(os.environ), None)
        for _ in range(RUNS)
    ]
    return {
        "seconds": _figures([r["seconds"] for r in runs]),
        "peak_mib": _figures([r["peak_mib"] for r in runs]),
    }


def _load() -> list[float]:
    """The machine's 1-minute load average now, as a list of one (see ``os.getloadavg``)."""
    return [round(os.getloadavg()[0], 2)]


def _salesforce(directory: Path, registry: Registry) -> dict[str, Any]:
    """No-change runs of ``recipes/salesforce-accounts.yaml`` over :data:`ROWS` accounts: their
    figures (:func:`_summary`) and the load average around them."""
    seed = directory / "seed" / "salesforce"
    seed.mkdir(parents=True)
    shipped = Path(syncfw_salesforce.__file__).parent / "seed"
    sample = json.loads((shipped / "Account.json").read_text())[0]
    accounts = []
    for i in range(ROWS):
        record_id = make_id("001", "Sx", i + 1)
        url = f"/services/data/v59.0/sobjects/Account/{record_id}"
        accounts.append(
            {**sample, "attributes": {"type": "Account", "url": url}, "Id": record_id, "Name": f"Account {i}"}
        )
    (seed / "Account.json").write_text(json.dumps(accounts))
    (seed / "Contact.json").write_text("[]")
    shutil.copy(shipped / "User.json", seed / "User.json")
    recipe = directory / "recipe.yaml"
    text = (REPO / "recipes" / "salesforce-accounts.yaml").read_text()
    recipe.write_text(text.replace("../mappings/", f"{REPO / 'mappings'}/"))
    sandbox = Sandbox(
        directory / "sandbox",
        Registry(emulators={"salesforce": registry.emulators["salesforce"]}),
        data_dir=directory / "seed",
    )
    env = {**os.environ, **sandbox.start()}
    try:
        notion = sandbox.notion
        assert notion is not None
        for setup in (["notion", "init", str(recipe)], ["run", str(recipe), "--quiet", *UNLIMITED]):
            subprocess.run([*CLI, *setup], cwd=directory, env=env, check=True, capture_output=True)
        log(f"startup: {RUNS} × a no-change run of {ROWS} Salesforce accounts")
        command = [*CLI, "run", str(recipe), "--quiet", *UNLIMITED]
        load = _load()
        runs = [_run(command, directory, env, lambda: int(notion.stats()["requests"])) for _ in range(RUNS)]
        return {**_summary(runs), "load_average": load + _load()}
    finally:
        sandbox.stop()


def _summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "first_request_seconds": _figures([r["first_request_seconds"] for r in runs]),
        "peak_mib": _figures([r["peak_mib"] for r in runs]),
        "requests_per_run": runs[-1]["requests"],
    }


def _figures(values: list[float]) -> dict[str, float]:
    return {
        "median": round(statistics.median(values), 3),
        "min": round(min(values), 3),
        "max": round(max(values), 3),
    }


def _version(env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "syncfw.cli", "--version"], env=env, check=True, capture_output=True
    )
    return time.perf_counter() - started


def _run(
    command: list[str], cwd: Path, env: dict[str, str], requests: Callable[[], int] | None
) -> dict[str, Any]:
    """One no-change run (``command``) in a fresh process, watched from here; ``requests`` counts
    the Notion emulator's requests (None: a command that makes none, timed to its exit).

    Raises:
        RuntimeError: the run did not exit 0 or made no request.
    """
    before = requests() if requests is not None else 0
    first: float | None = None
    peak = 0
    log_path = cwd / "run.log"
    with log_path.open("wb") as output:
        started = time.perf_counter()
        process = subprocess.Popen(command, cwd=cwd, env=env, stdout=output, stderr=output)
        while True:
            if first is None and requests is not None and requests() > before:
                first = time.perf_counter() - started
            peak = max(peak, _peak_kib(process.pid))
            pid, status = os.waitpid(process.pid, os.WNOHANG)
            if pid:
                break
            time.sleep(0.001)
    seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0 or (first is None and requests is not None):
        raise RuntimeError(
            f"startup: the no-change run exited {process.returncode}: {log_path.read_text()[-2000:]}"
        )
    if requests is None:
        return {"seconds": seconds, "peak_mib": peak / 1024}
    return {"first_request_seconds": first, "peak_mib": peak / 1024, "requests": requests() - before}


def _peak_kib(pid: int) -> int:
    """``VmHWM`` of a running process, in KiB (0 once it has exited)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    line = next((x for x in status.splitlines() if x.startswith("VmHWM:")), "VmHWM: 0 kB")
    return int(line.split()[1])


def targets(result: Any) -> list[dict[str, Any]]:
    """Issue 16's start-up targets as rows of :func:`bench.report.targets`; a row of a run also
    gives its connector's library imported alone (:data:`LIBRARIES`)."""
    csv_rows, accounts = f"{ROWS} rows from an unchanged CSV file", f"{ROWS} Salesforce accounts"
    first, peak = "first_request_seconds", "peak_mib"
    rows = [
        ("syncfw --version", None, "version_seconds", VERSION_SECONDS, "s", None),
        (f"Start-up to the first request, {csv_rows}", None, first, FIRST_REQUEST_SECONDS, "s", None),
        (f"Peak memory of a no-change run, {csv_rows}", None, peak, PEAK_MIB, "MiB", None),
        (
            f"Start-up to the first request, {accounts}",
            "salesforce",
            first,
            FIRST_REQUEST_SECONDS,
            "s",
            "simple_salesforce",
        ),
        (
            f"Peak memory of a no-change run, {accounts}",
            "salesforce",
            peak,
            PEAK_MIB,
            "MiB",
            "simple_salesforce",
        ),
    ]
    if not isinstance(result, dict) or "error" in result:
        reason = result["error"] if isinstance(result, dict) else "not run"
        return [
            {"name": name, "target": f"≤ {limit} {unit}", "measured": f"not measured: {reason}", "met": None}
            for name, _, _, limit, unit, _ in rows
        ]
    out = []
    for name, section, key, limit, unit, library in rows:
        scenario = result[section] if section else result
        figures = scenario[key]
        load = "–".join(f"{x:g}" for x in scenario["load_average"])
        measured = (
            f"{figures['median']:g} {unit} (median of {result['runs']}; min {figures['min']:g}, "
            f"max {figures['max']:g} {unit}; load average {load} on {os.cpu_count()} cores)"
        )
        if library is not None:
            alone = result["imports"][library]["seconds" if key == first else peak]
            measured += f"; import {library} alone: {alone['median']:g} {unit}"
        out.append(
            {
                "name": name,
                "target": f"≤ {limit} {unit}",
                "measured": measured,
                "met": figures["median"] <= limit,
            }
        )
    return out
