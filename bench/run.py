"""Run syncfw's benchmark suite and write ``docs/benchmarks.md``.

Usage::

    python bench/run.py            # full run, about 30 minutes on 2 cores
    python bench/run.py --quick    # smaller sizes, a few minutes
    python bench/run.py --json     # also print the figures as one JSON object on stdout

Scenarios (issue 5): budget saturation (:mod:`bench.saturation`), request minimality and the
lookup-and-update scripts (:mod:`bench.minimality`, :mod:`bench.scripts`), engine overhead
(:mod:`bench.overhead`); what reconciliation and long relations cost (issue 11,
:mod:`bench.costs`); one token shared by three processes through each budget backend (issue 14,
:mod:`bench.shared_budget`); a backfill in many runs capped by ``--max-writes`` (issue 15,
:mod:`bench.backfill`); start-up to the first request and the peak memory of a small run
(issue 16, :mod:`bench.startup`); syncfw beside notion2pandas at 300, 10,000 and 100,000 rows
(issue 16, :mod:`bench.peers`). Progress goes to stderr. A scenario that fails is reported as such
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
from syncfw.plugins import load_plugins  # noqa: E402

DOC = REPO / "docs" / "benchmarks.md"


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


QUICK = Sizes(150, 10_000, 60, (100_000,), 100_000, 600, 2_000, (10_000, 1_000), (300, 10_000))
FULL = Sizes(600, 10_000, 200, (100_000, 1_000_000), 1_000_000, 1200, 10_000, (100_000, 10_000), peers.SIZES)


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
            ["git", "describe", "--always", "--dirty"], cwd=REPO, capture_output=True, text=True, check=True
        ).stdout.strip()
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


def run(sizes: Sizes, only: set[str]) -> dict[str, Any]:
    registry = load_plugins()
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="syncfw-bench-") as tmp:
        root = Path(tmp)
        os.chdir(root)
        # the shared rate budgets' files of the emulators' throwaway tokens stay in here
        os.environ["SYNCFW_BUDGET_DIR"] = str(root / "budgets")
        if "saturation" in only:
            results["saturation"] = attempt(
                "saturation",
                lambda: saturation.measure(root / "saturation", registry, sizes.saturation_creates),
            )
        if "minimality" in only:
            results["minimality"] = attempt(
                "minimality",
                lambda: minimality.measure(root / "minimality", registry, sizes.pages, sizes.script_sample),
            )
        if "overhead" in only:
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
            results["overhead"] = {"runs": runs}
        if "costs" in only:
            results["costs"] = attempt(
                "costs", lambda: costs.measure(root / "costs", registry, sizes.cost_pages)
            )
        if "shared" in only:
            results["shared_budget"] = attempt(
                "shared budget",
                lambda: shared_budget.measure(root / "shared-budget", sizes.saturation_creates),
            )
        if "startup" in only:
            results["startup"] = attempt("startup", lambda: startup.measure(root / "startup", registry))
        if "backfill" in only:
            records, cap = sizes.backfill
            results["backfill"] = attempt(
                "backfill",
                lambda: backfill.measure(
                    root / "backfill", registry, records, cap, sizes.plan_timeout_seconds
                ),
            )
        if "peers" in only:
            results["peers"] = attempt("peers", lambda: peers.measure(root / "peers", registry, sizes.peers))
        os.chdir(REPO)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="smaller sizes: a few minutes")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object on stdout")
    parser.add_argument(
        "--only",
        action="append",
        choices=["saturation", "minimality", "overhead", "costs", "shared", "startup", "backfill", "peers"],
        help="run only this scenario (repeatable); docs/benchmarks.md is then left alone",
    )
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    only = set(
        args.only
        or ["saturation", "minimality", "overhead", "costs", "shared", "startup", "backfill", "peers"]
    )
    started = time.perf_counter()
    log(f"{'quick' if args.quick else 'full'} run: {sizes}")
    results = run(sizes, only)
    figures: dict[str, Any] = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "mode": "quick" if args.quick else "full",
        "duration_seconds": round(time.perf_counter() - started),
        "machine": machine(),
        "parameters": {
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
        },
        "results": results,
    }
    figures["targets"] = report.targets(results)
    if args.only:
        log("--only: docs/benchmarks.md not written")
    else:
        DOC.write_text(report.markdown(figures))
        log(f"wrote {DOC.relative_to(REPO)}")
    if args.json:
        print(json.dumps(figures))
    else:
        print(report.summary(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
