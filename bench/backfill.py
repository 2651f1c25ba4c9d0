"""A backfill in many runs (issue 15): N records into a target that holds no page yet, each run a
fresh ``syncfw run --max-writes CAP`` process (:func:`bench.overhead.child`) against an emulator
with no limit and no latency, until a run leaves nothing for later; then one more run, which must
write nothing.

Checked, not only timed: every record has exactly one page (no duplicate, none skipped), each
run wrote exactly CAP pages but the last, and the run after the last wrote nothing; after each
run, ``syncfw status RECIPE --json`` (what an operator watches) must show the backfill's writes
so far, the records remaining and an ETA of remaining / budget. Each run's
peak memory is its process's ``VmHWM``: a capped run still plans every remaining record (the
writes it leaves are planned again by the next run), so it shows what a re-plan of the rest costs.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from bench.common import BUDGET, KEY_PROPERTY, Workspace, log, write_parquet
from bench.overhead import child
from bench.report import has_figures, section_head
from syncfw.plugins import Registry


def measure(directory: Path, registry: Registry, records: int, cap: int, timeout: float) -> dict[str, Any]:
    space = Workspace.create(directory, f"backfill-{records}", "deals.parquet", registry, notion_like=False)
    try:
        # the unlimited emulator creates pages far faster than Notion's 3/s (180 a minute): one
        # minute of last_edited_time would hold more pages than a query returns
        space.notion.emulator.configure(query_cap=records + cap)
        write_parquet(space.data, records, changed=False)
        space.init()
        started = time.perf_counter()
        runs: list[dict[str, Any]] = []
        problems: list[str] = []
        while not runs or not runs[-1]["backfill"]["finished"]:
            if len(runs) > math.ceil(records / cap):
                raise RuntimeError(f"backfill: not finished after {len(runs)} runs")
            result = _run(space, records, cap, timeout)
            backfill = result["backfill"]
            log(
                f"backfill: run {len(runs) + 1}: {backfill['written']:,} writes, "
                f"{backfill['remaining']:,} remaining, {result['seconds']:.0f} s, {result['peak_rss_mib']} MiB"
            )
            runs.append({**result, "backfill": {**backfill, "finished": _finished(backfill)}})
            runs[-1]["status"] = _status(space, runs, problems)
        seconds = time.perf_counter() - started
        rerun = _run(space, records, cap, timeout, last=True)
        keys = Counter(page.get(KEY_PROPERTY) for page in space.notion.pages())
        return {
            "records": records,
            "max_writes": cap,
            "runs": len(runs),
            "seconds": round(seconds, 1),
            "writes_per_run": [r["backfill"]["written"] for r in runs],
            "seconds_per_run": [r["seconds"] for r in runs],
            "peak_rss_mib_per_run": [r["peak_rss_mib"] for r in runs],
            "baseline_rss_mib": runs[0]["baseline_rss_mib"],
            "notion_requests_per_run": [r["notion_requests"] for r in runs],
            "pages": sum(keys.values()),
            "duplicates": sum(n - 1 for n in keys.values() if n > 1),
            "missing": records - len(keys),
            "rerun_writes": rerun["counts"]["created"]
            + rerun["counts"]["updated"]
            + rerun["counts"]["archived"],
            "rerun_seconds": rerun["seconds"],
            "status_per_run": [r["status"] for r in runs],
            "problems": problems,
        }
    finally:
        space.close()


def _run(space: Workspace, records: int, cap: int, timeout: float, *, last: bool = False) -> dict[str, Any]:
    result = child(space, records, timeout, apply=True, max_writes=cap)
    if not result["finished"]:
        raise RuntimeError(f"backfill: {result['error']}")
    if not last and result["backfill"] is None:
        raise RuntimeError("backfill: a run ended with no backfill (nothing was capped)")
    return result


def _status(space: Workspace, runs: list[dict[str, Any]], problems: list[str]) -> dict[str, Any]:
    """What ``syncfw status --json`` shows of the backfill after the last of ``runs``; a figure
    that disagrees with the runs is added to ``problems``."""
    done = subprocess.run(
        [sys.executable, "-m", "syncfw.cli", "status", str(space.recipe_path), "--json"],
        cwd=space.directory,
        env={**os.environ, **space.notion.env},
        capture_output=True,
        text=True,
        check=False,
    )
    try:
        shown = json.loads(done.stdout)["backfill"] or {}
    except (ValueError, KeyError, TypeError):
        problems.append(
            f"run {len(runs)}: `syncfw status --json` printed no backfill ({done.stderr.strip()[-200:]})"
        )
        return {}
    last = runs[-1]["backfill"]
    written = sum(r["backfill"]["written"] for r in runs)
    expected = {
        "total_written": written,
        "remaining": last["remaining"],
        "runs": len(runs),
        "eta_seconds": int(last["remaining"] / BUDGET),
    }
    for name, value in expected.items():
        if shown.get(name) != value:
            problems.append(f"run {len(runs)}: status shows {name} {shown.get(name)!r}, expected {value!r}")
    return {name: shown.get(name) for name in expected}


def _finished(backfill: dict[str, Any]) -> bool:
    return backfill["remaining"] == 0 and not backfill["not_reached"]


TARGET = "ten runs, no duplicate, none skipped, rerun writes nothing"


def target_row(result: Any) -> dict[str, Any]:
    """The issue 15 target as a row of the targets table (``met`` None: not measured)."""
    name = "Backfill with --max-writes"
    if not has_figures(result):
        reason = result["error"] if isinstance(result, dict) else "not run"
        return {"name": name, "target": TARGET, "measured": f"not measured: {reason}", "met": None}
    expected = math.ceil(result["records"] / result["max_writes"])
    measured = (
        f"{result['records']:,} records at {result['max_writes']:,} writes per run: {result['runs']} runs, "
        f"{result['duplicates']} duplicates, {result['missing']} skipped, rerun {result['rerun_writes']} writes"
    )
    met = result["runs"] == expected and not result["duplicates"] and not result["missing"]
    if result.get("problems"):
        measured += f"; but {'; '.join(result['problems'])}"
    met = met and result["rerun_writes"] == 0 and not result.get("problems")
    return {"name": name, "target": TARGET, "measured": measured, "met": met}


def markdown(result: Any) -> list[str]:
    """The section of ``docs/benchmarks.md``."""
    lines = section_head("Backfill in many runs (issue 15)", __doc__, result)
    if not has_figures(result):
        return lines
    lines += [
        f"{result['records']:,} records, `--max-writes {result['max_writes']:,}`: {result['runs']} runs in "
        f"{result['seconds']:.0f} s, {result['pages']:,} pages, {result['duplicates']} duplicates, "
        f"{result['missing']} skipped; the run after the last wrote {result['rerun_writes']} pages "
        f"in {result['rerun_seconds']:.0f} s. Baseline memory (interpreter and imports) "
        f"{result['baseline_rss_mib']} MiB.",
        "",
        "| run | writes | seconds | Notion requests | peak memory | `syncfw status`: written so far, remaining, ETA |",
        "|---|---|---|---|---|---|",
    ]
    for i, row in enumerate(
        zip(
            result["writes_per_run"],
            result["seconds_per_run"],
            result["notion_requests_per_run"],
            result["peak_rss_mib_per_run"],
            result.get("status_per_run") or [{}] * result["runs"],
            strict=True,
        ),
        start=1,
    ):
        writes, seconds, requests, peak, status = row
        shown = (
            f"{status['total_written']:,}, {status['remaining']:,}, {status['eta_seconds']:,} s"
            if status.get("eta_seconds") is not None
            else "not shown"
        )
        lines.append(f"| {i} | {writes:,} | {seconds:.0f} | {requests:,} | {peak} MiB | {shown} |")
    lines += [f"**Wrong**: {problem}." for problem in result.get("problems", [])]
    return [*lines, ""]
