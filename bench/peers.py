"""syncfw beside notion2pandas, the library people would otherwise install (issue 16).

Each tool keeps one Notion data source of ``rows`` generated deals (:mod:`bench.common`) up to
date with a CSV file, on its own emulator (no limit, no latency: requests are counted, not timed;
the emulator's clock is the wall clock throughout, never moved). Counted: every request the
emulator receives during a run (schema reads, queries, page writes, health writes, everything).

1. Import: the file's ``rows`` rows land in an empty data source (not measured). syncfw runs
   ``syncfw notion init`` then its first run; notion2pandas's pages are merged in by a person (a
   CSV import in the Notion app, no API request): its later runs read every page whoever made it.
2. *First change after the import*: 1% of the rows change (``Amount``), the next run.
3. *Change run*: the same 1% change again, the next run (the steady state).
4. *No-change runs*: :data:`NO_CHANGE_RUNS` runs with nothing changed; the average and the most
   any one of them sent (a consistency read of the whole target is one of them).

notion2pandas (PyPI ``notion2pandas``, installed by the ``bench`` extra, never a runtime
dependency) is driven as its README shows: ``Notion2PandasClient(auth=...)``,
``get_dataframe(database_id)`` (``bypass_query_limit=True`` past Notion's 10,000 query results),
rows changed in the ``NotionDataFrame`` and ``sync_to_notion(ndf)``, which writes the changed rows
only. Its no-change runs cost the same every time (it reads every page); past
:data:`PEER_NO_CHANGE_ROWS` rows :data:`PEER_NO_CHANGE_SAMPLE` of them are run and averaged.
"""

from __future__ import annotations

import csv
import statistics
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.common import FAST, KEY_PROPERTY, Workspace, is_changed, log, properties, row
from syncfw.engine.run import notion_client_for
from syncfw.health.dashboard import HealthDashboard, init_dashboard
from syncfw.plugins import Registry
from syncfw.state import StateStore

SIZES = (300, 10_000, 100_000)
NO_CHANGE_RUNS = 24
"""No-change runs averaged: the default ``full_read_every``, so one consistency read is among them."""
PEER_NO_CHANGE_ROWS = 10_000
PEER_NO_CHANGE_SAMPLE = 3
QUERY_CAP = 10_000
"""Results one Notion query answers at most (developers.notion.com, "Query a data source")."""
IMPORT_RATE = 150.0
"""Requests/second of syncfw's import run: as fast as the unlimited emulator goes, yet fewer pages
created in one minute than one query answers (at Notion's 3/s no minute ever holds that many;
past it, a consistency read of the data source cannot be done in ``created_time`` windows)."""


def write_rows(path: Path, count: int, version: int) -> None:
    """The deals file at ``version``: 0 as imported; each later version adds 1,000 more to the
    ``Amount`` of the changed rows (:func:`bench.common.is_changed`, 1%)."""
    with path.open("w", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=list(row(0, False)))
        writer.writeheader()
        for i in range(count):
            item = row(i, False)
            if version and is_changed(i):
                item["amount"] = round(item["amount"] + 1000 * version, 2)
            writer.writerow(item)


def measure(
    directory: Path,
    registry: Registry,
    sizes: tuple[int, ...] = SIZES,
    tools: tuple[str, ...] = ("syncfw", "notion2pandas"),
) -> dict[str, Any]:
    """Each tool of ``tools`` at each size: ``{"<rows>": {"syncfw": {...}, "notion2pandas": {...}}}``."""
    kinds = {"syncfw": _SyncfwRuns, "notion2pandas": _PeerRuns}
    return {
        str(rows): {
            tool: _scenario(directory / f"{tool}-{rows}", registry, rows, kinds[tool]) for tool in tools
        }
        for rows in sizes
    }


class _SyncfwRuns:
    """``syncfw run`` of the benchmark recipe, in this process, writing its health dashboard
    (Sync Health and Sync Runs) as ``syncfw run`` does after ``syncfw notion init``."""

    name = "syncfw"

    def __init__(self, space: Workspace) -> None:
        self.space = space

    def imported(self, rows: int) -> None:
        self.space.init_targets()
        recipe = self.space.recipe()
        client = notion_client_for(recipe, FAST)
        store = StateStore(recipe.state_path)
        try:
            init_dashboard(client, store, recipe)
        finally:
            client.close()
            store.close()
        self.run(IMPORT_RATE)

    def run(self, rate: float = FAST) -> None:
        self.space.sync(rate_limit=rate, observers=[HealthDashboard(self.space.recipe())])

    def no_change_runs(self, rows: int) -> int:
        return NO_CHANGE_RUNS


class _PeerRuns:
    """notion2pandas keeping the data source equal to the file, as its README shows."""

    name = "notion2pandas"

    def __init__(self, space: Workspace) -> None:
        from notion2pandas import Notion2PandasClient  # type: ignore[import-untyped]

        self.space = space
        env = space.notion.env
        self.client = Notion2PandasClient(auth=env["NOTION_TOKEN"], base_url=env["NOTION_BASE_URL"])
        self.database_id = ""
        self.rows = 0

    def imported(self, rows: int) -> None:
        self.rows = rows
        data_source_id = self.space.init_targets()["rows"]
        store = StateStore(self.space.recipe().state_path)
        ids = store.target_ids("rows")
        store.close()
        assert ids is not None and ids[0] is not None
        self.database_id = ids[0]
        with self.space.data.open(newline="") as data:
            self.space.notion.emulator.human_import(
                data_source_id, (properties(line) for line in csv.DictReader(data)), user_name="Dana Reyes"
            )

    def run(self) -> None:
        ndf = self.client.get_dataframe(self.database_id, bypass_query_limit=self.rows > QUERY_CAP)
        position = {str(key): i for i, key in enumerate(ndf[KEY_PROPERTY])}
        column = ndf.columns.get_loc("Amount")
        with self.space.data.open(newline="") as data:
            for line in csv.DictReader(data):
                i = position[line["key"]]
                amount = float(line["amount"])
                if ndf.iat[i, column] != amount:
                    ndf.iat[i, column] = amount
        self.client.sync_to_notion(ndf)

    def no_change_runs(self, rows: int) -> int:
        return NO_CHANGE_RUNS if rows <= PEER_NO_CHANGE_ROWS else PEER_NO_CHANGE_SAMPLE


def _scenario(
    directory: Path, registry: Registry, rows: int, kind: Callable[[Workspace], Any]
) -> dict[str, Any]:
    space = Workspace.create(directory, "peers", "deals.csv", registry, notion_like=False)
    try:
        tool = kind(space)
        write_rows(space.data, rows, 0)
        log(f"peers: {tool.name}, import of {rows:,} rows (not measured)")
        tool.imported(rows)

        def counted() -> dict[str, Any]:
            before = space.notion.stats()["by_endpoint"]
            tool.run()
            after = space.notion.stats()["by_endpoint"]
            by_endpoint = {e: n - before.get(e, 0) for e, n in after.items() if n - before.get(e, 0)}
            return {"requests": sum(by_endpoint.values()), "by_endpoint": by_endpoint}

        write_rows(space.data, rows, 1)
        log(f"peers: {tool.name}, first change after the import ({rows // 100:,} rows)")
        first_change = counted()
        write_rows(space.data, rows, 2)
        log(f"peers: {tool.name}, change run")
        change = counted()
        runs = tool.no_change_runs(rows)
        log(f"peers: {tool.name}, {runs} no-change runs")
        no_change = [counted()["requests"] for _ in range(runs)]
        return {
            "rows": rows,
            "changed_rows": rows // 100,
            "first_change_after_import": first_change,
            "change_run": change,
            "no_change": {
                "runs": runs,
                "average": round(statistics.mean(no_change), 2),
                "most": max(no_change),
                "requests": no_change,
            },
        }
    finally:
        space.close()


_RUNS = (
    ("first_change_after_import", "First change after the import, 1% changed"),
    ("change_run", "Change run, 1% changed"),
)


def _no_change(side: dict[str, Any]) -> float:
    return float(side["no_change"]["average"])


def targets(result: Any) -> list[dict[str, Any]]:
    """Issue 16's peer targets as rows of :func:`bench.report.targets`: at each size, no more
    requests than notion2pandas on each run."""
    if not isinstance(result, dict) or "error" in result:
        reason = result["error"] if isinstance(result, dict) else "not run"
        return [
            {
                "name": "Requests beside notion2pandas",
                "target": "≤ notion2pandas",
                "measured": f"not measured: {reason}",
                "met": None,
            }
        ]
    out = []
    for rows, both in result.items():
        ours, peer = both["syncfw"], both["notion2pandas"]
        pairs = [(label, ours[key]["requests"], peer[key]["requests"]) for key, label in _RUNS]
        pairs.append((f"No-change run, average of {NO_CHANGE_RUNS}", _no_change(ours), _no_change(peer)))
        for label, mine, theirs in pairs:
            out.append(
                {
                    "name": f"{label}, {int(rows):,} rows",
                    "target": "≤ notion2pandas",
                    "measured": f"{mine:g} requests (notion2pandas {theirs:g})",
                    "met": mine <= theirs,
                }
            )
    return out


def markdown(result: Any) -> list[str]:
    """The section of docs/benchmarks.md: requests per run of both tools at each size."""
    lines = ["## Beside notion2pandas (issue 16)", ""]
    if not isinstance(result, dict) or "error" in result:
        reason = result["error"] if isinstance(result, dict) else "not run"
        return [*lines, f"Not measured: {reason}", ""]
    lines += [
        "Every request the Notion emulator received, per run; the emulator's clock is never moved.",
        "",
        "| rows | run | syncfw | notion2pandas |",
        "|---|---|---|---|",
    ]
    for rows, both in result.items():
        ours, peer = both["syncfw"], both["notion2pandas"]
        for key, label in _RUNS:
            lines.append(f"| {int(rows):,} | {label} | {ours[key]['requests']} | {peer[key]['requests']} |")
        lines.append(
            f"| {int(rows):,} | no change (average of {ours['no_change']['runs']} / "
            f"{peer['no_change']['runs']}; most) | {_no_change(ours):g}; {ours['no_change']['most']} | "
            f"{_no_change(peer):g}; {peer['no_change']['most']} |"
        )
    return [*lines, ""]
