"""Run history of a very large run (issue 15): a run of N operations (default 3,000,000) is
recorded as :func:`syncfw.engine.run.execute` records it, and its history row must end ``success``.

Usage::

    python bench/history.py                      # 3,000,000 operations, SQLite in a temporary dir
    python bench/history.py --operations 100000  # smaller
    python bench/history.py --state-url postgresql://…  # a PostgreSQL state store instead

What is measured is the history path alone, with the engine's own functions in the engine's
order: the history row started, every operation kept (:func:`~syncfw.engine.report.record_operations`),
retention applied, the run ended with its bounded summary (:meth:`RunReport.summary`). No Notion
request is made: the report's plan holds N operations that are references to 1,000 distinct
operations of the demo's accounts mapping (each row as large as a real one, about 400 bytes), so
the process's own memory is the history path's, not N operations'. Prints one JSON object:
seconds per step, peak RSS (MiB) before and after, the summary's size and the rows kept.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.report import has_figures, section_head  # noqa: E402
from syncfw.clock import now_iso  # noqa: E402
from syncfw.engine.model import Operation, Operations, TargetPlan  # noqa: E402
from syncfw.engine.report import RunReport, TargetReport, apply_retention, record_operations  # noqa: E402
from syncfw.engine.run import new_run_id  # noqa: E402
from syncfw.recipe import Recipe, load_recipe  # noqa: E402
from syncfw.state import StateBackend, StateStore  # noqa: E402

RECIPE = REPO / "recipes" / "salesforce-accounts.yaml"
DISTINCT = 1000
ENVIRONMENT = {
    "NOTION_TOKEN": "secret_bench",
    "NOTION_PARENT_PAGE_ID": "0" * 32,
    "SALESFORCE_INSTANCE_URL": "https://bench.invalid",
    "SALESFORCE_SESSION_ID": "bench",
}


def peak_mib() -> float:
    """Peak resident memory of this process so far (``ru_maxrss`` is KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def operations(count: int) -> tuple[Operation, ...]:
    """``count`` operations: creates, updates and archives of accounts, 1,000 distinct ones."""
    pool = []
    for n in range(DISTINCT):
        key = f"001Sx{n:010}IAA"
        after = {
            "Name": f"Account {n} Holdings and Partners",
            "Salesforce ID": key,
            "Industry": "Biotechnology",
            "Annual Revenue": 1_250_000.0 + n,
            "Website": f"https://account-{n}.example.com",
            "Domain": f"account-{n}.example.com",
            "Account Owner": "Ada Lovelace",
        }
        page = f"{n:08}-0000-4000-8000-000000000000"
        if n % 3 == 0:
            pool.append(Operation("create", key, page, after))
        elif n % 3 == 1:
            pool.append(
                Operation("update", key, page, after, {"Industry": "Shipping", "Annual Revenue": 1.0})
            )
        else:
            pool.append(Operation("archive", key, page))
    return tuple(pool[i % DISTINCT] for i in range(count))


def report_of(recipe: Recipe, count: int) -> RunReport:
    plan = TargetPlan("accounts", "ds", "Salesforce ID", {}, operations=Operations(operations(count)))
    report = RunReport(new_run_id(), recipe.name, "run", now_iso())
    done = {"create": plan.count("create"), "update": plan.count("update"), "archive": plan.count("archive")}
    report.targets["accounts"] = TargetReport(plan, done, {}, applied=True)
    return report


def measure(store: StateBackend, recipe: Recipe, count: int) -> dict[str, Any]:
    report = report_of(recipe, count)
    figures: dict[str, Any] = {"operations": count, "peak_mib_before": round(peak_mib(), 1)}
    started = time.monotonic()
    with store.transaction() as tx:
        tx.end_unfinished_runs(report.started_at)
        tx.start_run(report.run_id, recipe.name, "run", report.started_at)
    kept = record_operations(store, report)
    figures["record_operations_seconds"] = round(time.monotonic() - started, 1)
    report.status, report.exit_code, report.finished_at = "success", 0, now_iso()
    mark = time.monotonic()
    apply_retention(store, recipe, report)
    figures["retention_seconds"] = round(time.monotonic() - mark, 2)
    mark = time.monotonic()
    summary = report.summary(recipe)
    store.end_run(
        report.run_id,
        finished_at=report.finished_at,
        status=report.status,
        exit_code=report.exit_code,
        summary=summary,
        error=report.error,
    )
    figures["end_run_seconds"] = round(time.monotonic() - mark, 2)
    figures["total_seconds"] = round(time.monotonic() - started, 1)
    figures["peak_mib_after"] = round(peak_mib(), 1)
    figures["summary_bytes"] = len(json.dumps(summary))
    (row,) = [r for r in store.runs(5) if r.run_id == report.run_id]
    figures["history_status"] = row.status
    figures["operations_kept"] = kept
    figures["operations_counted"] = store.operation_counts([report.run_id]).get(report.run_id, 0)
    figures["warnings"] = report.warnings
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--operations", type=int, default=3_000_000)
    parser.add_argument(
        "--state-url", help="postgresql://… (default: a SQLite file in a temporary directory)"
    )
    args = parser.parse_args()
    os.environ.update({k: os.environ.get(k, v) for k, v in ENVIRONMENT.items()})
    recipe = load_recipe(RECIPE)
    with tempfile.TemporaryDirectory() as tmp:
        if args.state_url:
            from syncfw.recipe.state import PostgresState
            from syncfw.state.postgres import PostgresStore

            store: StateBackend = PostgresStore(PostgresState(args.state_url, args.state_url), recipe.name)
        else:
            store = StateStore(Path(tmp) / "state.sqlite")
        try:
            figures = measure(store, recipe, args.operations)
        finally:
            store.close()
        if not args.state_url:
            figures["state_file_mib"] = round(sum(p.stat().st_size for p in Path(tmp).iterdir()) / 2**20, 1)
    print(json.dumps(figures, indent=2))


TARGET_OPERATIONS = 3_000_000


def target_row(result: Any) -> dict[str, Any]:
    """Issue 15's history target as a row of the targets table (``met`` None: not measured)."""
    row = {"name": f"Run history of {TARGET_OPERATIONS:,} operations", "target": "history row `success`"}
    if not has_figures(result):
        reason = result["error"] if isinstance(result, dict) else "not run"
        return {**row, "measured": f"not measured: {reason}", "met": None}
    measured = (
        f"{result['operations']:,} operations: `{result['history_status']}` in {result['total_seconds']} s, "
        f"summary {result['summary_bytes']:,} bytes, peak {result['peak_mib_after']:,.0f} MiB"
    )
    if result["operations"] < TARGET_OPERATIONS:
        return {**row, "measured": f"not measured in this mode ({measured})", "met": None}
    return {**row, "measured": measured, "met": result["history_status"] == "success"}


def markdown(result: Any) -> list[str]:
    """The section of ``docs/benchmarks.md``."""
    lines = section_head("Run history of a very large run (issue 15)", __doc__, result)
    if not has_figures(result):
        return lines
    return [
        *lines,
        "| operations | history row | operations kept | record_operations | retention | end_run | total | "
        "summary | peak RSS before / after | state file |",
        "|---|---|---|---|---|---|---|---|---|---|",
        f"| {result['operations']:,} | `{result['history_status']}` | {result['operations_kept']:,} | "
        f"{result['record_operations_seconds']} s | {result['retention_seconds']} s | {result['end_run_seconds']} s | "
        f"{result['total_seconds']} s | {result['summary_bytes']:,} bytes | {result['peak_mib_before']:,.0f} / "
        f"{result['peak_mib_after']:,.0f} MiB | {result.get('state_file_mib', '?')} MiB |",
        "",
    ]


if __name__ == "__main__":
    main()
