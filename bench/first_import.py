"""A first import in bounded memory (issue 15): the peak memory of a first plan and of a first
run (the import itself) over N records, and of the adoption of N pages people imported.

``python bench/first_import.py KIND SIZE [SIZE ...]`` with KIND ``plan``, ``run`` or ``adopt``
prints one JSON object per size (progress on stderr). Each plan or run is a fresh
:mod:`bench.plan_child` process at an emulator with no limit and no latency (:data:`FAST`), so
its peak resident set (``VmHWM``) is the syncfw process's alone, not the emulator's. Issue 15's
targets: a first plan of 1,000,000 records at most 1 GiB; a first run of 200,000 records at most
1 GiB and within 20% of the peak of 20,000; the adoption of 1,000,000 pages at most 1 GiB with at
most 1.01 x ceil(pages / 100) query requests.
"""

from __future__ import annotations

import json
import math
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.common import Workspace, log, write_csv, write_parquet  # noqa: E402
from bench.overhead import child  # noqa: E402
from bench.report import has_figures, section_head  # noqa: E402
from syncfw.plugins import load_plugins  # noqa: E402

TIMEOUT = 3600.0
"""Seconds a plan or run process may take before it is stopped."""


def measure(kind: str, size: int, directory: Path) -> dict[str, Any]:
    """One first plan, first run or adoption of ``size`` records in ``directory``."""
    space = Workspace.create(directory, f"{kind}-{size}", "deals.parquet", load_plugins(), notion_like=False)
    try:
        write_parquet(space.data, size, changed=False)
        data_source_id = space.init()
        requests = space.notion.requests()
        queries = _queries(space)
        if kind == "adopt":
            export = directory / "deals.csv"
            write_csv(export, size, changed=False)
            space.notion.import_csv(data_source_id, export)
            export.unlink()
            requests = space.notion.requests()
            queries = _queries(space)
        log(f"first import: {kind} of {size:,} records")
        started = time.perf_counter()
        result = child(space, size, TIMEOUT, apply=kind != "plan")
        pages = size if kind == "plan" else len(space.notion.page_ids())
        return {
            "kind": kind,
            "records": size,
            "pages_after": pages,
            "requests": space.notion.requests() - requests,
            "query_requests": _queries(space) - queries,
            "wall_seconds": round(time.perf_counter() - started, 1),
            **result,
        }
    finally:
        space.close()


def _queries(space: Workspace) -> int:
    return sum(n for e, n in space.notion.stats()["by_endpoint"].items() if e.endswith("/query"))


KINDS = {"plan": "first plan", "run": "first run", "adopt": "adoption"}
MIB_LIMIT = 1024
GROWTH = 0.20
"""Issue 15: the peak at 200,000 records within 20% of the peak at 20,000 (plan and run alike)."""
SMALL, LARGE, HUGE = 20_000, 200_000, 1_000_000


def measure_all(directory: Path, sizes: dict[str, tuple[int, ...]]) -> dict[str, Any]:
    """Each kind at each of its sizes: ``{"plan": [result, ...], "run": [...], "adopt": [...]}``;
    a plan or run that fails is kept as ``{"records", "finished": False, "error"}``."""
    out: dict[str, Any] = {}
    for kind, counts in sizes.items():
        out[kind] = []
        for size in counts:
            try:
                out[kind].append(measure(kind, size, directory / f"{kind}-{size}"))
            except Exception as exc:
                log(f"first import: {kind} of {size:,} failed: {exc}")
                out[kind].append({"kind": kind, "records": size, "finished": False, "error": str(exc)})
    return out


def _at(result: dict[str, Any], kind: str, size: int) -> dict[str, Any] | None:
    return next((r for r in result.get(kind, []) if r["records"] == size), None)


def targets(result: Any) -> list[dict[str, Any]]:
    """Issue 15's first-import targets as rows of the targets table (``met`` None: not measured)."""
    rows: list[tuple[str, str, str, int, int | None]] = [
        (f"First plan of {HUGE:,} records", "≤ 1 GiB peak", "plan", HUGE, None),
        (f"First run of {LARGE:,} records", "≤ 1 GiB peak", "run", LARGE, None),
        (f"First plan, {LARGE:,} vs {SMALL:,} records", "peak within 20%", "plan", LARGE, SMALL),
        (f"First run, {LARGE:,} vs {SMALL:,} records", "peak within 20%", "run", LARGE, SMALL),
        (
            f"Adoption of {HUGE:,} pages",
            "≤ 1 GiB peak, ≤ 1.01 × ceil(pages / 100) query requests",
            "adopt",
            HUGE,
            None,
        ),
    ]
    out = []
    for name, target, kind, size, base in rows:
        row: dict[str, Any] = {"name": name, "target": target, "measured": "", "met": None}
        if not has_figures(result):
            reason = result["error"] if isinstance(result, dict) else "not run"
            out.append({**row, "measured": f"not measured: {reason}"})
            continue
        big = _at(result, kind, size)
        small = _at(result, kind, base) if base else None
        missing = [n for n, r in ((size, big), (base, small)) if n and r is None]
        failed = [r for r in (big, small) if r is not None and not r.get("finished")]
        if missing:
            out.append({**row, "measured": f"not measured at {', '.join(f'{n:,}' for n in missing)} records"})
        elif failed:
            out.append({**row, "measured": f"failed: {failed[0]['error']}", "met": False})
        elif big is not None and small is not None:
            growth = big["peak_rss_mib"] / small["peak_rss_mib"] - 1
            measured = (
                f"{big['peak_rss_mib']:,} MiB vs {small['peak_rss_mib']:,} MiB: {growth:+.0%} "
                f"(baselines {big['baseline_rss_mib']} / {small['baseline_rss_mib']} MiB)"
            )
            out.append({**row, "measured": measured, "met": growth <= GROWTH})
        elif big is not None:
            measured = f"peak {big['peak_rss_mib']:,} MiB in {big['seconds']:.0f} s"
            met = big["peak_rss_mib"] <= MIB_LIMIT
            if kind == "adopt":
                least = math.ceil(size / 100)
                measured += f", {big['query_requests']:,} query requests (ceil(pages / 100) = {least:,})"
                met = met and big["query_requests"] <= 1.01 * least
            out.append({**row, "measured": measured, "met": met})
    return out


def markdown(result: Any) -> list[str]:
    """The section of ``docs/benchmarks.md``."""
    lines = section_head("First import in bounded memory (issue 15)", __doc__, result)
    if not has_figures(result):
        return lines
    lines += [
        "| kind | records | wall time | peak RSS | baseline RSS | Notion requests | query requests | done |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for kind, runs in result.items():
        for r in runs:
            if not r.get("finished"):
                lines.append(f"| {KINDS[kind]} | {r['records']:,} | {r.get('error')} ||||||")
                continue
            done = ", ".join(f"{v:,} {k}" for k, v in r["counts"].items() if v) or "nothing"
            lines.append(
                f"| {KINDS[kind]} | {r['records']:,} | {r['seconds']} s | {r['peak_rss_mib']:,} MiB | "
                f"{r['baseline_rss_mib']} MiB | {r['requests']:,} | {r.get('query_requests', '')} | {done} |"
            )
    return [*lines, ""]


if __name__ == "__main__":
    kind, *sizes = sys.argv[1:]
    for size in map(int, sizes):
        with tempfile.TemporaryDirectory(prefix="syncfw-bench-") as tmp:
            print(json.dumps(measure(kind, size, Path(tmp))), flush=True)
