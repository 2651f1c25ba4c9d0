"""Run syncfw's benchmark suite and write ``docs/benchmarks.json`` and ``docs/benchmarks.md``.

Usage::

    python bench/run.py            # every scenario at full sizes, over an hour on 2 cores
    python bench/run.py --quick    # smaller sizes
    python bench/run.py --only backfill --only startup   # those scenarios again, the others kept
    python bench/run.py --json     # also print this run's figures as one JSON object on stdout

Each scenario's figures are kept in ``docs/benchmarks.json`` with their own date, mode and
commit (:mod:`bench.doc`); every run rewrites the page from that file.

Scenarios (issue 5): budget saturation (:mod:`bench.saturation`), request minimality and the
lookup-and-update scripts (:mod:`bench.minimality`, :mod:`bench.scripts`), engine overhead
(:mod:`bench.overhead`); what reconciliation and long relations cost (issue 11,
:mod:`bench.costs`); one token shared by three processes through each budget backend (issue 14,
:mod:`bench.shared_budget`); a backfill in many runs capped by ``--max-writes`` (issue 15,
:mod:`bench.backfill`); start-up to the first request and the peak memory of a small run
(issue 16, :mod:`bench.startup`); syncfw beside notion2pandas at 300, 10,000 and 100,000 rows
(issue 16, :mod:`bench.peers`); a first plan, first run and adoption at growing sizes (issue 15,
:mod:`bench.first_import`); run history of a very large run (issue 15, :mod:`bench.history`);
state bytes per page (issue 15, :mod:`bench.state_size`). Progress goes to stderr. A scenario that fails is reported as such
(its targets "not measured") and the others still run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench import (  # noqa: E402
    backfill,
    costs,
    doc,
    first_import,
    minimality,
    overhead,
    peers,
    report,
    saturation,
    shared_budget,
    startup,
)
from bench.common import BUDGET, LATENCY, NOTION_BURST, NOTION_RATE, log  # noqa: E402
from syncfw import __version__  # noqa: E402
from syncfw.plugins import Registry, load_plugins  # noqa: E402

DOC = REPO / "docs" / "benchmarks.md"
FIGURES = REPO / "docs" / "benchmarks.json"


@dataclass(frozen=True)
class Sizes:
    """The sizes of one mode (all stated in the doc and the JSON)."""

    saturation_creates: int
    pages: int
    script_sample: int
    first_plan: tuple[int, ...]
    replan: int
    plan_timeout_seconds: float
    cost_pages: int
    backfill: tuple[int, int]
    """(records, --max-writes) of the backfill."""
    peers: tuple[int, ...]
    """Rows of the data source kept beside notion2pandas."""
    first_import: dict[str, tuple[int, ...]]
    """Records of each first plan, first run and adoption (:mod:`bench.first_import`)."""
    history_operations: int
    state_pages: int


QUICK = Sizes(
    150,
    10_000,
    60,
    (100_000,),
    100_000,
    600,
    2_000,
    (10_000, 1_000),
    (300, 10_000),
    {"plan": (2_000, 20_000), "run": (2_000, 20_000), "adopt": (20_000,)},
    100_000,
    10_000,
)
FULL = Sizes(
    600,
    10_000,
    200,
    (100_000, 1_000_000),
    1_000_000,
    1200,
    10_000,
    (100_000, 10_000),
    peers.SIZES,
    {"plan": (20_000, 200_000, 1_000_000), "run": (20_000, 200_000), "adopt": (1_000_000,)},
    3_000_000,
    100_000,
)


def machine() -> dict[str, Any]:
    """CPU count and model, memory, Python, platform, syncfw version and commit."""
    model = "unknown CPU"
    memory = 0.0
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (OSError, ValueError):
        pass
    try:
        commit = subprocess.run(
            ["git", "describe", "--always"], cwd=REPO, capture_output=True, text=True, check=True
        ).stdout.strip()
        # the figures' own files do not change what is measured
        changed = subprocess.run(
            [
                "git",
                "status",
                "--porcelain",
                "--",
                ".",
                f":!{DOC.relative_to(REPO)}",
                f":!{FIGURES.relative_to(REPO)}",
            ],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        commit += "-dirty" if changed else ""
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown"
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "memory_gib": round(memory, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "syncfw": __version__,
        "commit": commit,
    }


def script(name: str, *arguments: str) -> dict[str, Any]:
    """One of the bench scripts that measure their own process (``bench/NAME.py``), in a fresh
    process; its last JSON object on stdout."""
    done = subprocess.run(
        [sys.executable, str(REPO / "bench" / f"{name}.py"), *arguments],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        tail = " | ".join(done.stderr.strip().splitlines()[-3:])
        raise RuntimeError(f"bench/{name}.py exited {done.returncode}: {tail}")
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def attempt(name: str, measure: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Run one scenario; a failure becomes ``{"error": ...}`` and the suite goes on."""
    started = time.perf_counter()
    try:
        result = measure()
    except Exception as exc:
        traceback.print_exc(file=sys.stderr)
        log(f"{name} failed: {exc}")
        return {"error": f"{type(exc).__name__}: {exc}"}
    log(f"{name} done in {time.perf_counter() - started:.0f} s")
    return result


def _overhead(root: Path, registry: Registry, sizes: Sizes) -> dict[str, Any]:
    replan = attempt(
        f"re-plan {sizes.replan:,}",
        lambda: overhead.replan(
            root / f"replan-{sizes.replan}", registry, sizes.replan, sizes.plan_timeout_seconds
        ),
    )
    runs = [{"kind": "re-plan, 1% changed", "records": sizes.replan, **replan}]
    runs += [
        {
            "kind": "first plan",
            "records": size,
            **attempt(
                f"first plan {size:,}",
                lambda size=size: overhead.first_plan(  # type: ignore[misc]
                    root / f"plan-{size}", registry, size, sizes.plan_timeout_seconds
                ),
            ),
        }
        for size in sizes.first_plan
    ]
    return {"runs": runs}


def scenarios(root: Path, registry: Registry, sizes: Sizes) -> dict[str, Callable[[], dict[str, Any]]]:
    """Each scenario's measurement, by its key in :data:`bench.doc.SCENARIOS`, in the suite's order."""
    records, cap = sizes.backfill
    return {
        "saturation": lambda: saturation.measure(root / "saturation", registry, sizes.saturation_creates),
        "minimality": lambda: minimality.measure(
            root / "minimality", registry, sizes.pages, sizes.script_sample
        ),
        "overhead": lambda: _overhead(root, registry, sizes),
        "costs": lambda: costs.measure(root / "costs", registry, sizes.cost_pages),
        "shared_budget": lambda: shared_budget.measure(root / "shared-budget", sizes.saturation_creates),
        "startup": lambda: startup.measure(root / "startup", registry),
        "backfill": lambda: backfill.measure(
            root / "backfill", registry, records, cap, sizes.plan_timeout_seconds
        ),
        "peers": lambda: peers.measure(root / "peers", registry, sizes.peers),
        "first_import": lambda: first_import.measure_all(root / "first-import", sizes.first_import),
        "history": lambda: script("history", "--operations", str(sizes.history_operations)),
        "state_size": lambda: script("state_size", "--pages", str(sizes.state_pages)),
    }


def run(sizes: Sizes, only: set[str]) -> tuple[dict[str, Any], dict[str, int]]:
    """The figures of each scenario in ``only`` (keys of :data:`bench.doc.SCENARIOS`' values)
    and the seconds each took."""
    registry = load_plugins()
    results: dict[str, Any] = {}
    seconds: dict[str, int] = {}
    with tempfile.TemporaryDirectory(prefix="syncfw-bench-") as tmp:
        root = Path(tmp)
        os.chdir(root)
        # the shared rate budgets' files of the emulators' throwaway tokens stay in here
        os.environ["SYNCFW_BUDGET_DIR"] = str(root / "budgets")
        for key, measure in scenarios(root, registry, sizes).items():
            if key in only:
                started = time.perf_counter()
                results[key] = attempt(key, measure)
                seconds[key] = round(time.perf_counter() - started)
        os.chdir(REPO)
    return results, seconds


def parameters(sizes: Sizes) -> dict[str, Any]:
    """The sizes and settings a run's figures were taken with."""
    return {
        **asdict(sizes),
        "budget_per_second": BUDGET,
        "notion_rate_limit": NOTION_RATE,
        "notion_burst": NOTION_BURST,
        "latency_seconds": LATENCY,
        "script_pause_seconds": minimality.PAUSE,
        "cost_related_items": costs.ITEMS,
        "cost_long_relation": costs.LONG,
        "cost_short_relation": costs.SHORT,
        "memory_ceiling_mib": overhead.MEMORY_CEILING_MIB,
        "changed_share": 0.01,
        "human_edited_share": 0.005,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="smaller sizes")
    parser.add_argument(
        "--json", action="store_true", help="print this run's figures as one JSON object on stdout"
    )
    parser.add_argument(
        "--only",
        action="append",
        choices=list(doc.SCENARIOS),
        help="run only this scenario (repeatable); the other scenarios' figures are kept",
    )
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    mode = "quick" if args.quick else "full"
    only = {doc.SCENARIOS[name] for name in args.only or doc.SCENARIOS}
    # read before measuring: a figures file this suite cannot read stops it at once
    figures: dict[str, Any] = doc.load(FIGURES) if args.only else {"format": doc.FORMAT, "scenarios": {}}
    started = time.perf_counter()
    log(f"{mode} run of {', '.join(sorted(only))}: {sizes}")
    results, seconds = run(sizes, only)
    date = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    about = machine()
    for key, result in results.items():
        figures["scenarios"][key] = {
            "date": date,
            "mode": mode,
            "duration_seconds": seconds[key],
            "machine": about,
            "parameters": parameters(sizes),
            "result": result,
        }
    doc.save(FIGURES, figures)
    DOC.write_text(doc.markdown(figures, parameters(FULL)))
    log(f"wrote {FIGURES.relative_to(REPO)} and {DOC.relative_to(REPO)}")
    this_run: dict[str, Any] = {
        "date": date,
        "mode": mode,
        "duration_seconds": round(time.perf_counter() - started),
        "machine": about,
        "parameters": parameters(sizes),
        "results": results,
        "targets": [t for t in doc.targets(figures) if t["scenario"] in results],
    }
    if args.json:
        print(json.dumps(this_run))
    else:
        print(report.summary(this_run))
    return 0


if __name__ == "__main__":
    sys.exit(main())
