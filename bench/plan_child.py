"""One ``syncfw plan`` (or, with ``--apply``, one ``syncfw run``) in a fresh process, so that its
peak memory is its own.

``python bench/plan_child.py RECIPE RATE [--apply [--max-writes=N]]`` (the environment points
the recipe at a served emulator) prints one JSON object: the wall time, the part of it spent waiting for Notion
answers (every HTTP request the notion-client sends, timed around ``httpx.Client.send``), the
peak resident set size before and after (:func:`peak_rss_mib`), and the counts (planned, or
done for a run), and the run's backfill when ``--max-writes`` stopped it or it finished one.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path
from typing import Any, Literal

import httpx

from syncfw.engine.run import RunOptions, execute
from syncfw.plugins import load_plugins
from syncfw.recipe import load_recipe


def peak_rss_mib() -> float:
    """The peak resident set size of this process in MiB.

    On Linux it is ``VmHWM`` of ``/proc/self/status``: ``ru_maxrss`` cannot be used there, because
    the kernel carries it over ``exec`` from the process that started this one (a plan process
    would report the benchmark's own size). Elsewhere, ``ru_maxrss`` (KiB, bytes on macOS).
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def main(
    recipe_path: Path, rate_limit: float, apply: bool = False, max_writes: int | None = None
) -> dict[str, Any]:
    registry = load_plugins()
    recipe = load_recipe(recipe_path, registry=registry)
    waiting = [0.0]
    send = httpx.Client.send

    def timed_send(self: httpx.Client, request: httpx.Request, **kwargs: Any) -> httpx.Response:
        started = time.perf_counter()
        try:
            return send(self, request, **kwargs)
        finally:
            waiting[0] += time.perf_counter() - started

    httpx.Client.send = timed_send  # type: ignore[method-assign]
    baseline = peak_rss_mib()
    started = time.perf_counter()
    report = execute(recipe, registry, RunOptions(apply=apply, rate_limit=rate_limit, max_writes=max_writes))
    seconds = time.perf_counter() - started
    peak = peak_rss_mib()
    plans = [t.plan for t in report.targets.values()]

    def count(action: Literal["create", "update", "archive"]) -> int:
        return sum(t.done[action] if t.applied else t.plan.count(action) for t in report.targets.values())

    return {
        "status": report.status,
        "error": report.error,
        "seconds": seconds,
        "notion_wait_seconds": waiting[0],
        "baseline_rss_mib": baseline,
        "peak_rss_mib": peak,
        "notion_requests": report.notion_requests,
        "counts": {
            "created": count("create"),
            "updated": count("update"),
            "unchanged": sum(p.unchanged for p in plans),
            "archived": count("archive"),
            "failed": sum(len(p.problems) for p in plans),
        },
        "warnings": sum(len(p.warnings) for p in plans),
        "first_warning": next((w for p in plans for w in p.warnings), None),
        "backfill": None if report.backfill is None else report.backfill.as_dict(),
    }


if __name__ == "__main__":
    flags = sys.argv[3:]
    cap = next((int(f.split("=", 1)[1]) for f in flags if f.startswith("--max-writes=")), None)
    print(json.dumps(main(Path(sys.argv[1]), float(sys.argv[2]), "--apply" in flags, cap)))
