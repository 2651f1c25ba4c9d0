"""Request minimality, and the same work done the way people do it today.

1. Setup (not measured): N pages synced through the API against an unlimited emulator, on the
   wall clock (never moved: the changed run is the first change after that import, as on a real
   first day). People add a ``Notes`` column to the database.
2. 1% of the rows change at the source (one property each); people edit ``Notes`` on 0.5% of
   the pages (other pages than the changed ones). The workspace is copied here for step 5.
3. The emulator plays Notion (3.15/s, burst 6, 400 ms latency); syncfw runs with the recipe's
   budget of 3/s: the *changed run*. Measured: every request the emulator received, by endpoint,
   repeated requests, wall time; then Notion is checked: one page per row, each holding its row's
   values and the people's notes (a wrong result is reported with the figures, never hidden).
4. syncfw runs again with nothing changed: the *no-change rerun*.
5. Each lookup-and-update script runs on its own copy of the step-2 workspace, under the same
   emulator settings, over the first ``sample`` rows of the changed file; afterwards those pages
   must pass the same check as syncfw's changed run, and no page may have been added. The
   scripts cost the same requests and time for every row whatever changed, so their figures for
   N rows are the sample's times N/sample (a full run of the paced one would take hours).

The minimum (:func:`minimum`) is what any correct engine must send: one write per page whose
owned values differ from the source, the pages edited since the previous run read in query pages
of 100 (at least one query, to learn that nothing was edited), and one read of the data source's
schema per target (people can rename or retype a property at any time; writing without checking
would fail or write the wrong column). "Edited since the previous run" is counted in Notion, at
its resolution: pages whose ``last_edited_time`` (rounded down to the minute by Notion) is in or
after the minute the previous run started and whose ``last_edited_by`` is not the integration
(its own writes need not be read back: Notion can leave them out of a query, see
:func:`syncfw.engine.reads.notion_window`).
"""

from __future__ import annotations

import math
import shutil
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.common import (
    FAST,
    KEY_PROPERTY,
    ServedNotion,
    Workspace,
    counts,
    is_changed,
    is_human_edited,
    log,
    row,
    write_csv,
)
from bench.scripts import lookup_and_update, read_rows
from syncfw.plugins import Registry

SCHEMA_READS = 1
"""Requests per target any correct run makes besides writes and query pages: one schema read."""
QUERY_PAGE = 100
"""Pages per query request (Notion's maximum ``page_size``)."""
PAUSE = 0.35
"""Seconds the paced script sleeps after every request."""
NOTE = "Called the buyer; wants a second quote"


def minimum(writes: int, edited: int, targets: int = 1) -> dict[str, int]:
    """The requests of a correct run, by kind, and their ``total``:
    ``writes + max(1, ceil(edited / 100)) + 1 per target``."""
    parts = {
        "writes": writes,
        "query_requests": max(1, math.ceil(edited / QUERY_PAGE)),
        "schema_reads": SCHEMA_READS * targets,
    }
    return {**parts, "total": sum(parts.values())}


def edited_since(notion: ServedNotion, moment: float) -> int:
    """Pages whose ``last_edited_time`` is in or after the minute of ``moment`` (epoch seconds),
    last edited by someone other than the integration."""
    minute = datetime.fromtimestamp(moment - moment % 60, UTC)
    bot = notion.emulator.bot_user_id
    return sum(
        1
        for entry in notion.emulator.dump()["data_sources"]
        for page in entry["pages"]
        if not page.get("in_trash")
        and datetime.fromisoformat(page["last_edited_time"]) >= minute
        and page["last_edited_by"]["id"] != bot
    )


def measure(directory: Path, registry: Registry, pages: int, sample: int) -> dict[str, Any]:
    space = Workspace.create(directory / "syncfw", "minimality", "deals.csv", registry, notion_like=False)
    notion = space.notion
    try:
        setup, data_source_id = _setup(space, pages)
        changed = [i for i in range(pages) if is_changed(i)]
        edited = [i for i in range(pages) if is_human_edited(i)]
        write_csv(space.data, pages, changed=True)
        ids = notion.page_ids()
        for i in edited:
            notion.emulator.human_edit(
                ids[row(i, False)["key"]],
                {"Notes": {"rich_text": [{"text": {"content": NOTE}}]}},
                user_name="Dana Reyes",
            )
        before = notion.snapshot(directory / "before-changed-run")
        notion.configure(notion_like=True)

        log(f"minimality: changed run ({len(changed)} changed rows, {len(edited)} human edits)")
        expected = {"created": 0, "updated": len(changed), "archived": 0, "failed": 0}
        changed_run = _measured_run(space, pages, expected, len(changed), setup["started"])
        log("minimality: no-change rerun")
        rerun = _measured_run(space, pages, dict.fromkeys(expected, 0), 0, changed_run["started"])
        rerun["requests_per_target"] = rerun["requests"]
        for name, run in (("changed run", changed_run), ("rerun", rerun)):
            for problem in run["problems"]:
                log(f"minimality: the {name} is wrong: {problem}")

        scripts: dict[str, dict[str, Any]] = {}
        for name, pause in (("lookup_and_update", 0.0), ("lookup_and_update_paced", PAUSE)):
            try:
                scripts[name] = _script(
                    directory / name, before, space.data, data_source_id, sample, pause, pages, changed_run
                )
            except Exception as exc:  # one script failing must not hide syncfw's figures
                log(f"scripts: {name} failed: {exc}")
                scripts[name] = {"error": f"{type(exc).__name__}: {exc}"}
        return {
            "pages": pages,
            "changed_rows": len(changed),
            "human_edits": len(edited),
            "setup": setup,
            "changed_run": changed_run,
            "rerun": rerun,
            "scripts": scripts,
        }
    finally:
        space.close()


def _setup(space: Workspace, pages: int) -> tuple[dict[str, Any], str]:
    notion = space.notion
    write_csv(space.data, pages, changed=False)
    first = notion.requests()
    data_source_id = space.init()
    log(f"minimality: setup, {pages:,} pages through the API (not measured)")
    wall = time.time()
    started = time.perf_counter()
    report = space.sync(rate_limit=FAST)
    seconds = time.perf_counter() - started
    if counts(report)["created"] != pages:
        raise RuntimeError(f"minimality: the setup created {counts(report)['created']} pages, not {pages}")
    return {
        "started": wall,
        "seconds": round(seconds, 1),
        "requests": notion.requests() - first,
    }, data_source_id


def _measured_run(
    space: Workspace, pages: int, expected: dict[str, int], writes: int, previous: float
) -> dict[str, Any]:
    """One run against the emulator playing Notion: its requests, time and correctness, and the
    minimum for ``writes`` needed writes and the run before it started at ``previous``."""
    edited = edited_since(space.notion, previous)
    least = minimum(writes, edited)
    emulator = space.notion.emulator
    emulator.reset_stats()
    wall = time.time()
    started = time.perf_counter()
    report = space.sync()
    seconds = time.perf_counter() - started
    stats = emulator.stats()
    seen: set[str] = set()
    repeated = 0
    for request in emulator.requests():
        identity = repr((request["endpoint"], sorted(request["params"].items()), request["body"]))
        repeated += identity in seen
        seen.add(identity)
    done = counts(report)
    problems = [f"it {k} {done[k]} pages, expected {v}" for k, v in expected.items() if done[k] != v]
    problems += _problems(space.notion, pages, range(pages))
    requests = int(stats["requests"])
    return {
        "started": wall,
        "requests": requests,
        "minimum": least["total"],
        "minimum_parts": {k: v for k, v in least.items() if k != "total"},
        "edited_since_previous_run": edited,
        "ratio_to_minimum": round(requests / least["total"], 3),
        "by_endpoint": dict(sorted(stats["by_endpoint"].items())),
        "repeated_requests": repeated,
        "rate_limited": int(stats["rate_limited"]),
        "client_counts": report.notion_requests,
        "seconds": round(seconds, 2),
        "counts": done,
        "problems": problems,
    }


def _expected(i: int) -> dict[str, Any]:
    """What page ``i`` must hold after the changed run: its row's new values, people's notes."""
    source = row(i, is_changed(i))
    return {
        KEY_PROPERTY: source["key"],
        "Name": source["name"],
        "Email": source["email"],
        "Amount": source["amount"],
        "Stage": source["stage"],
        "Close Date": source["close_date"],
        "Notes": NOTE if is_human_edited(i) else "",
    }


def _problems(notion: ServedNotion, pages: int, rows: Iterable[int]) -> list[str]:
    """What is wrong in Notion: a page count other than ``pages`` (missing or duplicate pages),
    or a page of ``rows`` that does not hold :func:`_expected`."""
    live = notion.pages()
    by_key = {str(values.get(KEY_PROPERTY)): values for values in live}
    problems = []
    if len(live) != pages:
        problems.append(f"Notion holds {len(live)} pages for {pages} rows ({len(by_key)} distinct keys)")
    # the properties the rows give and people's notes; others (the ID numbering, who edited last)
    # are Notion's own
    wrong = [
        i
        for i in rows
        if any(
            (by_key.get(row(i, False)["key"]) or {}).get(name) != value
            for name, value in _expected(i).items()
        )
    ]
    if wrong:
        key, want = row(wrong[0], False)["key"], _expected(wrong[0])
        have = by_key.get(key) or {}
        differ = ", ".join(
            f"{name} {have.get(name)!r} instead of {want[name]!r}"
            for name in want
            if have.get(name) != want[name]
        )
        problems.append(f"{len(wrong)} pages hold other values than their row, e.g. {key}: {differ}")
    return problems


def _script(
    directory: Path,
    before: Path,
    data: Path,
    data_source_id: str,
    sample: int,
    pause: float,
    pages: int,
    syncfw_run: dict[str, Any],
) -> dict[str, Any]:
    shutil.copytree(before, directory)
    notion = ServedNotion(directory, notion_like=True)
    try:
        lines = read_rows(data, sample)
        log(f"scripts: lookup-and-update over {len(lines)} rows, {pause:g} s pause")
        started = time.perf_counter()
        lookup_and_update(notion.url, notion.token, data_source_id, lines, pause)
        seconds = time.perf_counter() - started
        stats = notion.stats()
        problems = _problems(notion, pages, range(len(lines)))
        if problems:
            raise RuntimeError(f"scripts: the script left Notion wrong: {'; '.join(problems)}")
        scale = pages / len(lines)
        requests = int(stats["requests"])
        return {
            "pause_seconds": pause,
            "sample_rows": len(lines),
            "sample_changed_rows": sum(1 for i in range(len(lines)) if is_changed(i)),
            "sample_requests": requests,
            "sample_rate_limited": int(stats["rate_limited"]),
            "sample_seconds": round(seconds, 2),
            "requests": round(requests * scale),
            "seconds": round(seconds * scale, 1),
            "requests_ratio": round(requests * scale / syncfw_run["requests"], 1),
            "seconds_ratio": round(seconds * scale / syncfw_run["seconds"], 1),
        }
    finally:
        notion.close()
