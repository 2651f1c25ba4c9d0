"""``docs/benchmarks.md`` written from ``docs/benchmarks.json``, scenario by scenario.

The JSON file keeps each scenario's latest figures with their own date, mode (full or quick),
duration, machine, syncfw version, commit and parameters::

    {"format": 1, "scenarios": {"backfill": {"date": "2026-12-05 00:10 UTC", "mode": "full",
     "duration_seconds": 240, "machine": {...}, "parameters": {...}, "result": {...}}, ...}}

``python bench/run.py --only NAME`` replaces the entries of the scenarios it ran and rewrites the
whole page from the file; a run without ``--only`` replaces every entry. Each section of the page
says when, in which mode and at which commit its figures were taken, and so does each row of the
targets table. Nothing here measures anything: a scenario without an entry is "not measured".
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import backfill, first_import, history, peers, report, startup, state_size

FORMAT = 1
SCENARIOS = {
    "saturation": "saturation",
    "minimality": "minimality",
    "overhead": "overhead",
    "costs": "costs",
    "shared": "shared_budget",
    "startup": "startup",
    "backfill": "backfill",
    "peers": "peers",
    "first_import": "first_import",
    "history": "history",
    "state_size": "state_size",
}
"""``--only`` name → the key of its entry in the JSON file (and of its figures in ``results``)."""

NO_CHANGE_REQUESTS = 2
"""Issue 16: a no-change run, averaged over 24, costs at most 2 requests per target."""
FIRST_CHANGE_ROWS = 100_000
FIRST_CHANGE_RATIO = 1.05
"""Issue 16: the first change after an import of 100,000 records costs ≤ 1.05 × (changes + 1)."""


def load(path: Path) -> dict[str, Any]:
    """The figures file, or an empty one when it does not exist yet.

    Raises:
        ValueError: the file is not one this module wrote (another ``format``).
    """
    if not path.exists():
        return {"format": FORMAT, "scenarios": {}}
    data = json.loads(path.read_text())
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ValueError(
            f"{path} is not a figures file of format {FORMAT}: remove it and run the whole suite"
        )
    return data


def save(path: Path, figures: dict[str, Any]) -> None:
    """Write the figures file (scenarios in the page's order, so diffs stay small)."""
    ordered = {key: figures["scenarios"][key] for key in SCENARIOS.values() if key in figures["scenarios"]}
    path.write_text(json.dumps({"format": FORMAT, "scenarios": ordered}, indent=1, ensure_ascii=False) + "\n")


def _peer_targets(result: Any) -> list[dict[str, Any]]:
    """Issue 16's peer targets, plus its no-change and first-change targets from the same runs."""
    out = peers.targets(result)
    average = f"≤ {NO_CHANGE_REQUESTS} requests per target, health included"
    first = f"≤ {FIRST_CHANGE_RATIO} × (changes + 1) requests"
    first_name = f"First change after an import of {FIRST_CHANGE_ROWS:,} records, 1% changed"
    if not isinstance(result, dict) or "error" in result:
        reason = result["error"] if isinstance(result, dict) else "not run"
        return [
            *out,
            {
                "name": "No-change run, average of 24",
                "target": average,
                "measured": f"not measured: {reason}",
                "met": None,
            },
            {"name": first_name, "target": first, "measured": f"not measured: {reason}", "met": None},
        ]
    for rows, both in result.items():
        runs = both["syncfw"]["no_change"]
        out.append(
            {
                "name": f"No-change run, average of {runs['runs']}, {int(rows):,} rows (1 target)",
                "target": average,
                "measured": f"{runs['average']:g} requests (most {runs['most']})",
                "met": runs["average"] <= NO_CHANGE_REQUESTS,
            }
        )
    at = next((both for rows, both in result.items() if int(rows) == FIRST_CHANGE_ROWS), None)
    if at is None:
        out.append(
            {"name": first_name, "target": first, "measured": "not measured in this mode", "met": None}
        )
    else:
        requests, changes = (
            at["syncfw"]["first_change_after_import"]["requests"],
            at["syncfw"]["changed_rows"],
        )
        limit = FIRST_CHANGE_RATIO * (changes + 1)
        measured = (
            f"{requests:,} requests for {changes:,} changes ({requests / (changes + 1):.3f} × (changes + 1))"
        )
        out.append({"name": first_name, "target": first, "measured": measured, "met": requests <= limit})
    return out


TARGETS: dict[str, Callable[[Any], list[dict[str, Any]]]] = {
    "saturation": report.saturation_targets,
    "shared_budget": report.shared_targets,
    "startup": startup.targets,
    "peers": _peer_targets,
    "minimality": report.minimality_targets,
    "overhead": report.plan_targets,
    "first_import": first_import.targets,
    "backfill": lambda result: [backfill.target_row(result)],
    "history": lambda result: [history.target_row(result)],
    "state_size": lambda result: [state_size.target_row(result)],
}
"""Each scenario's targets (issues 5, 14, 15 and 16), in the table's order."""


def results(figures: dict[str, Any]) -> dict[str, Any]:
    """Each scenario's result, by its key."""
    return {key: entry["result"] for key, entry in figures["scenarios"].items()}


def targets(figures: dict[str, Any]) -> list[dict[str, Any]]:
    """Every target, each with the ``scenario`` key of the figures it was judged on."""
    found = results(figures)
    return [{**row, "scenario": key} for key, judge in TARGETS.items() for row in judge(found.get(key))]


def stamp(entry: dict[str, Any] | None, name: str) -> str:
    """When, in which mode and at which commit a scenario's figures were taken."""
    if entry is None:
        return (
            f"*No figures in `docs/benchmarks.json` yet: `python bench/run.py --only {name}` measures them "
            "(figures taken before that file existed are in this page's git history).*"
        )
    minutes = entry["duration_seconds"] / 60
    return (
        f"*Figures of {entry['date']} ({entry['mode']} run of this scenario, {minutes:.1f} minutes), syncfw "
        f"{entry['machine']['syncfw']} at commit `{entry['machine']['commit']}`.*"
    )


def _taken(entry: dict[str, Any] | None) -> str:
    if entry is None:
        return "not run"
    return f"{entry['date'][:10]}, {entry['mode']}, `{entry['machine']['commit']}`"


def markdown(figures: dict[str, Any], defaults: dict[str, Any]) -> str:
    """The whole page. ``defaults`` are the full run's parameters, used to describe a scenario
    that has no entry yet."""
    entries: dict[str, dict[str, Any]] = figures["scenarios"]
    names = {key: name for name, key in SCENARIOS.items()}
    rows = targets(figures)
    latest = max(entries.values(), key=lambda e: e["date"], default=None)

    def section(key: str, lines: list[str]) -> list[str]:
        return [*lines[:2], stamp(entries.get(key), names[key]), "", *lines[2:]]

    def params(key: str) -> dict[str, Any]:
        entry = entries.get(key)
        return entry["parameters"] if entry else defaults

    found = results(figures)
    parts = [
        "# Benchmarks",
        "",
        "Written by `python bench/run.py` from `docs/benchmarks.json`, which keeps each scenario's latest "
        "figures with their own date, mode and commit: do not edit either by hand. `make bench` (full "
        "sizes, over an hour on 2 cores) or `make bench-quick` (smaller sizes) measures every scenario; "
        "`python bench/run.py [--quick] --only NAME [--only NAME ...]` measures those scenarios again and "
        f"rewrites this page with the others' figures unchanged. Scenarios: {', '.join(SCENARIOS)}.",
        "",
    ]
    if latest is not None:
        m = latest["machine"]
        parts += [
            f"Machine of the latest figures ({latest['date']}): {m['cpus']} CPUs ({m['cpu_model']}), "
            f"{m['memory_gib']} GiB memory, Python {m['python']}, {m['platform']}.",
            "",
        ]
    parts += [
        "## Targets (issues 5, 14, 15 and 16)",
        "",
        "| target | required | measured | | figures of |",
        "|---|---|---|---|---|",
        *(
            f"| {t['name']} | {t['target']} | {t['measured']} | **{report.verdict(t['met'])}** | "
            f"{_taken(entries.get(t['scenario']))} |"
            for t in rows
        ),
        "",
        *report.shortfalls({"targets": rows, "results": found}),
        *section("saturation", report.saturation_section(found.get("saturation"), params("saturation"))),
        *section("minimality", report.minimality_section(found.get("minimality"), params("minimality"))),
        *section("minimality", report.scripts_section(found.get("minimality"), params("minimality"))),
        *section("overhead", report.overhead_section(found.get("overhead"), params("overhead"))),
        *section("costs", report.costs_section(found.get("costs"), params("costs"))),
        *section("shared_budget", report.shared_budget_section(found.get("shared_budget"))),
        *section("first_import", first_import.markdown(found.get("first_import"))),
        *section("backfill", backfill.markdown(found.get("backfill"))),
        *section("history", history.markdown(found.get("history"))),
        *section("state_size", state_size.markdown(found.get("state_size"))),
        *section("peers", peers.markdown(found.get("peers"))),
        *report.sandbox_section(),
        "Each scenario's parameters (sizes, budgets, emulator settings) are in `docs/benchmarks.json`.",
        "",
    ]
    return "\n".join(parts)
