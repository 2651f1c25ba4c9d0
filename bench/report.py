"""The issue's targets judged against the figures, and the sections of ``docs/benchmarks.md``
(:mod:`bench.doc` puts them together).

Nothing here is measured or assumed: every sentence with a number takes it from the figures of
the run, and a target whose scenario failed or was not run is "not measured", never "met".
"""

from __future__ import annotations

import math
from typing import Any, TypeGuard

MIB_LIMIT = 1024
"""The memory target, 1 GB, read as 1 GiB of peak resident set size."""
PLAN_SECONDS_LIMIT = 60
PLAN_TARGET_RECORDS = 1_000_000


def _ok(section: Any) -> TypeGuard[dict[str, Any]]:
    return isinstance(section, dict) and "error" not in section


def has_figures(result: Any) -> TypeGuard[dict[str, Any]]:
    """Whether a scenario's ``result`` holds figures (not an error, not missing)."""
    return _ok(result)


def section_head(title: str, module_doc: str | None, result: Any) -> list[str]:
    """The start of a scenario's section of ``docs/benchmarks.md``: its ``## title``, the first
    paragraph of its module's docstring, and, when ``result`` holds no figures, why."""
    lines = [f"## {title}", "", (module_doc or "").split("\n\n")[0].replace("\n", " "), ""]
    return lines if _ok(result) else [*lines, *_error(result)]


def saturation_targets(sat: Any) -> list[dict[str, Any]]:
    """Issue 5's saturation target (≥ 0.95) and issue 16's (≥ 0.98), both with zero 429s."""
    out: list[dict[str, Any]] = []
    for name, least in (("Budget saturation", 0.95), ("Budget saturation (issue 16)", 0.98)):
        target = f"≥ {least} of 3/s, zero 429s, 400 ms latency"
        if not _ok(sat):
            out.append(_missing(name, target, sat))
            continue
        n429 = sat["rate_limited_emulator"]
        measured = (
            f"{sat['saturation']:.3f} ({sat['achieved_per_second']:.2f} requests/s over "
            f"{sat['apply_seconds']:.0f} s, {sat['creates']} creates), {n429} 429s"
        )
        if sat["saturation"] > 1.05:
            measured += " — above the budget"
        out.append(_row(name, target, measured, least <= sat["saturation"] <= 1.05 and n429 == 0))
    return out


def minimality_targets(mini: Any) -> list[dict[str, Any]]:
    """Issue 5's request targets: the changed run, the no-change rerun, lookup-and-update."""
    if not _ok(mini):
        return [
            _missing(name, target, mini)
            for name, target in (
                ("Requests on the changed run", "≤ 1.05 × minimum"),
                ("No-change rerun", "≤ 5 requests per target"),
                ("Fewer requests than lookup-and-update", "≥ 100 ×"),
            )
        ]
    run, rerun = mini["changed_run"], mini["rerun"]
    out = [
        _judged(
            "Requests on the changed run",
            "≤ 1.05 × minimum",
            f"{run['requests']} requests, minimum {run['minimum']}: {run['ratio_to_minimum']:.2f} ×",
            run["ratio_to_minimum"] <= 1.05,
            run["problems"],
        ),
        _judged(
            f"No-change rerun of {mini['pages']:,} pages",
            "≤ 5 requests per target",
            f"{rerun['requests_per_target']} requests (1 target)",
            rerun["requests_per_target"] <= 5,
            rerun["problems"],
        ),
    ]
    plain = mini["scripts"].get("lookup_and_update", {})
    if "requests_ratio" in plain:
        out.append(
            _judged(
                "Fewer requests than lookup-and-update",
                "≥ 100 ×",
                f"{plain['requests_ratio']:.1f} × ({plain['requests']:,} vs {run['requests']})",
                plain["requests_ratio"] >= 100,
                run["problems"],
            )
        )
    else:
        out.append(_missing("Fewer requests than lookup-and-update", "≥ 100 ×", plain))
    return out


def plan_targets(over: Any) -> list[dict[str, Any]]:
    """Issue 5's re-plan target: 1,000,000 records, 1% changed."""
    name = f"Plan of {PLAN_TARGET_RECORDS:,} records, 1% changed"
    target = f"≤ {PLAN_SECONDS_LIMIT} s, ≤ 1 GiB"
    if not _ok(over):
        return [_missing(name, target, over)]
    plan = target_plan({"overhead": over})
    if plan is None:
        smaller = [
            f"{p['records']:,} records: {p['seconds']:.1f} s, peak {p['peak_rss_mib']:,} MiB"
            for p in over.get("runs", [])
            if p["kind"].startswith("re-plan") and p.get("finished")
        ]
        hint = f" (re-plan of {smaller[0]})" if smaller else ""
        return [_row(name, target, f"not measured in this mode{hint}", None)]
    if "finished" not in plan:
        return [_missing(name, target, plan)]
    if not plan["finished"]:
        return [_row(name, target, plan.get("error", "did not finish"), False)]
    met = plan["seconds"] <= PLAN_SECONDS_LIMIT and plan["peak_rss_mib"] <= MIB_LIMIT
    measured = f"{plan['seconds']:.1f} s, peak {plan['peak_rss_mib']:,} MiB"
    return [_judged(name, target, measured, met, plan.get("problems", []), "the plan is wrong")]


SHARED_TARGET = "≥ 0.95 of 3/s, zero 429s, 3 processes"
BACKEND_NAMES = {"file": "file", "postgresql": "PostgreSQL", "redis": "Redis"}


def shared_targets(shared: Any) -> list[dict[str, Any]]:
    """Issue 14: one token shared by three processes, a row per budget backend."""
    if not _ok(shared):
        return [_missing("Shared budget saturation", SHARED_TARGET, shared)]
    out = []
    for backend, run in shared["backends"].items():
        n429 = run["rate_limited_emulator"]
        measured = (
            f"{run['saturation']:.3f} ({run['achieved_per_second']:.2f} requests/s over {run['seconds']:.0f} s, "
            f"{run['requests']} creates), {n429} 429s"
        )
        met = 0.95 <= run["saturation"] <= 1.05 and n429 == 0
        out.append(_row(f"Shared budget saturation ({BACKEND_NAMES[backend]})", SHARED_TARGET, measured, met))
    return out


def shared_cost_line(shared: dict[str, Any]) -> str:
    """What each budget backend costs per Notion request, in one sentence."""
    costs = ", ".join(f"{BACKEND_NAMES[k]} {v:g} ms" for k, v in shared["cost_ms_per_request"].items())
    return f"Rate budget cost per request (one process, token always ready): {costs}"


def target_plan(results: dict[str, Any]) -> dict[str, Any] | None:
    """The run that measures the plan target: the re-plan of 1,000,000 records, 1% changed."""
    runs = results.get("overhead", {}).get("runs", [])
    return next(
        (p for p in runs if p.get("records") == PLAN_TARGET_RECORDS and p["kind"].startswith("re-plan")), None
    )


def _row(name: str, target: str, measured: str, met: bool | None) -> dict[str, Any]:
    return {"name": name, "target": target, "measured": measured, "met": met}


def _judged(
    name: str,
    target: str,
    measured: str,
    met: bool,
    problems: list[str],
    wrong: str = "Notion is wrong after the run",
) -> dict[str, Any]:
    """A figure only counts when the run was right: a wrong run never meets a target."""
    if problems:
        return _row(name, target, f"{measured}, but {wrong}: {'; '.join(problems)}", False)
    return _row(name, target, measured, met)


def _missing(name: str, target: str, section: Any) -> dict[str, Any]:
    reason = section["error"] if isinstance(section, dict) and "error" in section else "not run"
    return _row(name, target, f"not measured: {reason}", None)


def verdict(met: bool | None) -> str:
    return {True: "MET", False: "NOT MET", None: "not measured"}[met]


def summary(figures: dict[str, Any]) -> str:
    """The targets as plain text lines, for the terminal."""
    lines = [f"syncfw benchmarks ({figures['mode']}, {figures['duration_seconds'] / 60:.1f} min)"]
    for row in figures["targets"]:
        lines.append(
            f"  {verdict(row['met']):>12}  {row['name']}: {row['measured']} (target {row['target']})"
        )
    cost = figures["results"].get("costs")
    if _ok(cost):
        lines += [f"  {'measured':>12}  {line}" for line in cost_lines(cost)]
    shared = figures["results"].get("shared_budget")
    if _ok(shared):
        lines.append(f"  {'measured':>12}  {shared_cost_line(shared)}")
    return "\n".join(lines)


def cost_lines(cost: dict[str, Any]) -> list[str]:
    """Issue 11's costs per 10,000 pages in one sentence each (a wrong run says so)."""
    rec, rel = cost["reconciliation"], cost["relations"]
    scan, long = rec["per_10k"], rel["per_10k"]
    wrong = [
        f"{name}: {'; '.join(run['problems'])}"
        for name, run in [
            *rec["runs"].items(),
            *((f"{k} {m}", rel[k][m]) for k in ("long", "short") for m in ("incremental", "full_read")),
        ]
        if run["problems"]
    ]
    lines = [
        f"Reconciliation per 10,000 pages: {scan['key_scan_source_requests']:g} Salesforce requests, "
        f"{scan['key_scan_notion_requests']:g} Notion requests, key scan {scan['key_scan_seconds']:g} s; "
        f"{scan['archive_notion_requests']:g} Notion requests to archive 1% hard-deleted",
        f"Relations over 25 per 10,000 pages: {long['full_read_requests']:,g} more Notion requests on a full "
        f"read, {long['incremental_requests']:g} on a no-change incremental run",
    ]
    return lines + [f"WRONG: {w}" for w in wrong]


# -- docs/benchmarks.md ------------------------------------------------------------------------


def shared_budget_section(shared: Any) -> list[str]:
    lines = [
        "## Shared budget (issue 14)",
        "",
        "One integration token used by three processes at once, each in its own working and "
        "temporary directory, sharing the budget through the file budget of one machine, "
        "PostgreSQL (`SYNCFW_BUDGET_URL=postgresql://…`) or Redis (`redis://…`), the servers on "
        "loopback. Every process creates pages one at a time against the emulator playing Notion.",
        "",
    ]
    if not _ok(shared):
        return lines + _error(shared)
    emulator = shared["emulator"]
    lines += [
        f"Emulator: {emulator['rate_limit']} requests/s, burst {emulator['burst']}, "
        f"{emulator['latency_seconds'] * 1000:.0f} ms latency; budget {shared['budget_per_second']:g}/s.",
        "",
        "| backend | creates | seconds | achieved | saturation | 429s (emulator / client) | cost per request |",
        "|---|---|---|---|---|---|---|",
    ]
    for backend, run in shared["backends"].items():
        lines.append(
            f"| {BACKEND_NAMES[backend]} | {run['requests']} | {run['seconds']} s | "
            f"{run['achieved_per_second']}/s | **{run['saturation']}** | {run['rate_limited_emulator']} / "
            f"{run['rate_limited_client']} | {shared['cost_ms_per_request'][backend]} ms |"
        )
    lines += [
        "",
        "The cost per request is the time one `acquire()` takes when a token is ready, in one "
        "process: what the backend adds to every Notion request.",
        "",
    ]
    return lines


def _error(section: Any) -> list[str]:
    reason = section.get("error") if isinstance(section, dict) else "not run"
    return [f"Not measured: {reason}", ""]


def shortfalls(figures: dict[str, Any]) -> list[str]:
    """Where the engine misses a target, decomposed from the figures."""
    missed = [t for t in figures["targets"] if t["met"] is False]
    if not missed:
        return []
    lines = ["### Where the engine falls short", ""]
    r = figures["results"]
    for t in missed:
        lines.append(f"* **{t['name']}**: {t['measured']}.")
        if t["name"].startswith(("Requests on", "No-change")) and _ok(r.get("minimality")):
            mini = r["minimality"]
            run = mini["changed_run"] if t["name"].startswith("Requests") else mini["rerun"]
            lines.append(f"  {_decompose(run, mini['pages'])}")
        plan = target_plan(r) if _ok(r.get("overhead")) else None
        if t["name"].startswith("Plan of") and plan is not None and plan.get("finished"):
            held = plan["peak_rss_mib"] - plan["baseline_rss_mib"]
            lines.append(
                f"  The plan process's baseline (interpreter, imports) is {plan['baseline_rss_mib']} MiB; "
                f"the plan itself adds {held:,} MiB for {plan['records']:,} records, about "
                f"{held * 1024 * 1024 / plan['records']:,.0f} bytes per record held at once. Of its "
                f"{plan['seconds']} s, {plan['notion_wait_seconds']} s were spent waiting for Notion's "
                f"answers and {plan['engine_seconds']} s in the engine."
            )
        if t["name"] == "Budget saturation" and _ok(r.get("saturation")):
            sat = r["saturation"]
            latency = sat["emulator"]["latency_seconds"]
            lines.append(
                f"  {sat['apply_requests']} requests in {sat['apply_seconds']} s of apply phase. With "
                f"{latency * 1000:.0f} ms per answer, {sat['budget_per_second']:g} requests/s needs "
                f"{sat['budget_per_second'] * latency:.1f} requests in flight on average: one at a time "
                f"reaches at most {1 / latency:.1f}/s."
            )
    lines.append("")
    return lines


def _decompose(run: dict[str, Any], pages: int) -> str:
    by, least = run["by_endpoint"], run["minimum_parts"]
    queries = sum(n for e, n in by.items() if e.endswith("/query"))
    writes = sum(n for e, n in by.items() if e.startswith(("PATCH /v1/pages", "POST /v1/pages")))
    other = run["requests"] - queries - writes
    text = (
        f"Of its {run['requests']} requests, page writes: {writes} (minimum {least['writes']}); query "
        f"requests: {queries} (minimum {least['query_requests']}; a full read of {pages:,} pages is "
        f"{math.ceil(pages / 100)}); other requests: {other} (minimum {least['schema_reads']}, the schema "
        "read). By endpoint: " + ", ".join(f"`{e}` × {n}" for e, n in by.items())
    )
    if run["repeated_requests"]:
        text += f"; {run['repeated_requests']} of them repeat an earlier request of the same run"
    if run["rate_limited"]:
        text += f"; {run['rate_limited']} answered 429"
    return text + "."


def saturation_section(sat: Any, p: dict[str, Any]) -> list[str]:
    lines = [
        "## 1. Budget saturation",
        "",
        f"{p['saturation_creates']} rows of a CSV file (files connector) become {p['saturation_creates']} "
        f"pages. The Notion emulator answers after {p['latency_seconds'] * 1000:.0f} ms and allows "
        f"{p['notion_rate_limit']} requests/s with bursts of {p['notion_burst']} (a little above Notion's "
        f"average, so an engine that keeps its budget never meets a 429 and one that overshoots it by "
        f"more than 5% does); the recipe's budget is `rate_limit: {p['budget_per_second']:g}/s`. The apply "
        "phase runs from the run's first `writes` progress event to its last finished write; the "
        "requests are those the emulator received in that window (all of them, 429 answers included). "
        "Saturation = requests / duration / budget.",
        "",
    ]
    if not _ok(sat):
        return lines + _error(sat)
    return [
        *lines,
        "| creates | apply phase | requests | achieved | saturation | 429s (emulator / client) | whole run |",
        "|---|---|---|---|---|---|---|",
        f"| {sat['creates']} | {sat['apply_seconds']} s | {sat['apply_requests']} | "
        f"{sat['achieved_per_second']}/s | **{sat['saturation']}** | {sat['rate_limited_emulator']} / "
        f"{sat['rate_limited_client']} | {sat['run_seconds']} s, {sat['run_requests']} requests |",
        "",
    ]


def minimality_section(mini: Any, p: dict[str, Any]) -> list[str]:
    lines = [
        "## 2. Request minimality",
        "",
        f"Setup (not measured): {p['pages']:,} rows of a CSV file synced through the API into an "
        "unlimited emulator whose clock stamps them as a sync at 3 requests/s that ended an hour "
        "earlier, so that a run reading *pages edited since the previous run* sees what it would in "
        f"production rather than {p['pages']:,} pages edited a second ago. People add a `Notes` column "
        "(owned by people in the recipe). Then 1% of the rows change at the source (`Amount`, one "
        "property each) and people edit `Notes` on 0.5% of the pages (not the changed ones), as "
        "`human_edit` on the emulator. The measured runs go against the emulator playing Notion (as "
        "in scenario 1) with the recipe's 3/s budget: the *changed run*, then a *no-change rerun*. "
        "After the changed run every page is checked against its row and the people's notes.",
        "",
        "**The minimum** is what any correct engine must send:",
        "",
        "    minimum = W + max(1, ceil(E / 100)) + 1 per target",
        "",
        "* W: pages whose owned values differ from the source (one `PATCH` each; here 1% of the pages);",
        "* E: pages edited since the previous run, by anyone: they must be read, 100 to a query "
        "request, and at least one query is needed to learn that nothing was edited. E is counted in "
        "the emulator at Notion's resolution: pages whose `last_edited_time` (rounded down to the "
        "minute) is in or after the minute the previous run started. For the changed run that is the "
        "0.5% human edits; for the rerun, the pages the changed run wrote, plus the human edits when "
        "they fell in the minute the changed run started (a page edited in that minute cannot be told "
        "from one edited just after the run read it);",
        "* 1 schema read per target: people can rename, retype or delete a property at any time, and "
        "writing without checking would fail or write the wrong property.",
        "",
        "Reading the whole data source is `ceil(pages / 100)` query requests; the rest of a run "
        "(recipe, state, source) costs no Notion request.",
        "",
    ]
    if not _ok(mini):
        return lines + _error(mini)
    wrong: list[str] = []
    lines += [
        "| run | requests | E | minimum (W + queries + schema) | ratio | by endpoint | repeated | 429s | "
        "wall time |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, run in (("changed run", mini["changed_run"]), ("no-change rerun", mini["rerun"])):
        endpoints = "<br>".join(f"`{e}` {n}" for e, n in run["by_endpoint"].items())
        parts = run["minimum_parts"]
        lines.append(
            f"| {name} | {run['requests']} | {run['edited_since_previous_run']} | {run['minimum']} = "
            f"{parts['writes']} + {parts['query_requests']} + {parts['schema_reads']} | "
            f"**{run['ratio_to_minimum']}** | {endpoints} | {run['repeated_requests']} | {run['rate_limited']} | "
            f"{run['seconds']} s |"
        )
        if run["problems"]:
            wrong.append(f"**Notion is wrong after the {name}**: {'; '.join(run['problems'])}.")
    setup, done = mini["setup"], mini["changed_run"]["counts"]
    lines += ["", *(f"{line}\n" for line in wrong)]
    lines += [
        f"Changed run: {mini['changed_rows']} rows changed, {mini['human_edits']} pages edited by people; it "
        f"created {done['created']} and updated {done['updated']} pages. The setup took {setup['seconds']} s "
        f"({setup['requests']:,} requests, not part of any figure). *Repeated* counts requests identical "
        "to an earlier one of the same run (endpoint, ids and body).",
        "",
    ]
    return lines


def scripts_section(mini: Any, p: dict[str, Any]) -> list[str]:
    lines = [
        "## 3. Against what people do today",
        "",
        "Two notion-client scripts written the usual way: for each row of the (changed) CSV file, query "
        "the data source by `Key`, then update the page found with every property (or create it), one "
        f"request at a time, with the client's default retries; the second sleeps {p['script_pause_seconds']} s "
        "after every request, as Notion sync libraries pace themselves. Each runs on its own copy of the "
        "workspace as it was just before syncfw's changed run, against the same emulator settings. "
        f"Both cost the same two requests per row whatever changed, so each runs over the first "
        f"{p['script_sample']} rows and its figures for all {p['pages']:,} rows are the sample's scaled by "
        f"{p['pages']:,}/{p['script_sample']} (a full run of the paced script would take hours). After "
        "each script, the sample's pages must pass the same check as syncfw's changed run (each holds "
        "its row's values and the people's notes) and Notion must still hold one page per row.",
        "",
    ]
    if not _ok(mini):
        return lines + _error(mini)
    run = mini["changed_run"]
    lines += [
        f"| tool | requests ({mini['pages']:,} rows) | wall time | requests vs syncfw | time vs syncfw | measured |",
        "|---|---|---|---|---|---|",
        f"| syncfw, changed run | {run['requests']} | {run['seconds']} s | 1 | 1 | whole run |",
    ]
    names = {"lookup_and_update": "lookup-and-update", "lookup_and_update_paced": "lookup-and-update, paced"}
    for key, label in names.items():
        s = mini["scripts"][key]
        if not _ok(s):
            lines.append(f"| {label} | not measured: {s['error']} |||||")
            continue
        lines.append(
            f"| {label} | {s['requests']:,} | {_duration(s['seconds'])} | **{s['requests_ratio']} ×** | "
            f"**{s['seconds_ratio']} ×** | {s['sample_rows']} rows ({s['sample_changed_rows']} changed): "
            f"{s['sample_requests']} requests, {s['sample_seconds']} s, {s['sample_rate_limited']} 429s |"
        )
    lines.append("")
    return lines


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 600 else f"{seconds / 3600:.1f} h ({seconds:,.0f} s)"


def overhead_section(over: Any, p: dict[str, Any]) -> list[str]:
    lines = [
        "## 4. Engine overhead",
        "",
        "`syncfw plan` (`RunOptions(apply=False)`) over a Parquet file (files connector), each in a fresh "
        "process, whose peak resident set size is its `VmHWM` (`/proc/self/status`); `ru_maxrss` is not "
        "used because Linux carries it over `exec` from the parent, so a plan process would report the "
        "benchmark's own size. *Baseline* is the peak after the imports and the recipe load, before the "
        "plan. The emulator runs in the "
        "benchmark's process with no limit and no latency, so the times are the engine's. *Notion wait* "
        "is the part of the plan spent waiting for HTTP answers (timed around `httpx.Client.send`); "
        "*engine* is the rest. *At 3/s* is what the plan's Notion requests alone would take at the "
        f"budget. A plan or run process that holds more than {p['memory_ceiling_mib']:,} MiB is stopped "
        "(the machine runs other work).",
        "",
        f"* **re-plan, 1% changed** (the target's scenario{_measured_at(p)}): the pages exist in Notion "
        "before syncfw, as when a team has imported a CSV file into the database: the rows of the same "
        "table, merged by a person in an import that ended an hour earlier (`human_import` on the emulator, "
        "which creates 100 pages a second, checks every row like `POST /v1/pages` and sends no API "
        "request). A real `syncfw run`, in its own "
        "process, then *adopts* them: each page already holds its sync key and the source's values, so "
        "the run reads every page (query requests of 100) and records each page and its values in its "
        "state store without writing to Notion. The setup stops unless that run wrote nothing, found "
        "every page unchanged and left a state store that knows every page; the benchmark never writes "
        "the state store itself. Then 1% of the rows change in the file (`Amount`) and the plan is "
        "measured: an incremental plan (Notion is asked for the pages edited since the adoption run, "
        "none), which must plan exactly the 1% updates and no create.",
        "* **first plan** (a secondary figure): the database exists and holds no page; every record is "
        "read, mapped and planned as a create. There is nothing to compare with, so every record is a "
        "change and the plan's memory grows with the number of records.",
        "",
    ]
    if not _ok(over):
        return lines + _error(over)
    lines += [
        "| plan | records | wall time | records/s | engine | Notion wait | Notion requests (at 3/s) | "
        "peak RSS | baseline RSS | planned |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for plan in over["runs"]:
        if not plan.get("finished"):
            lines.append(f"| {plan['kind']} | {plan['records']:,} | {plan.get('error')} ||||||||")
            continue
        c = plan["counts"]
        planned = ", ".join(f"{v:,} {k}" for k, v in c.items() if v) or "nothing"
        if plan.get("warnings"):
            planned += f"; {plan['warnings']:,} warnings"
        lines.append(
            f"| {plan['kind']} | {plan['records']:,} | {plan['seconds']} s | {plan['records_per_second']:,} | "
            f"{plan['engine_seconds']} s | {plan['notion_wait_seconds']} s | {plan['notion_requests']:,} "
            f"({plan['notion_seconds_at_budget']} s) | {plan['peak_rss_mib']:,} MiB | {plan['baseline_rss_mib']} MiB | "
            f"{planned} |"
        )
    lines.append("")
    for plan in over["runs"]:
        if plan.get("problems"):
            first = f" The first warning: {plan['first_warning']}" if plan.get("first_warning") else ""
            lines += [
                f"**The {plan['kind']} of {plan['records']:,} is wrong**: {'; '.join(plan['problems'])}.{first}",
                "",
            ]
    for plan in over["runs"]:
        setup = plan.get("setup")
        if not setup:
            continue
        adoption = setup["adoption"]
        lines += [
            f"Setup of the {plan['records']:,}-page re-plan (not measured, {setup['seconds']} s in all): the "
            f"import took {setup['import_seconds']} s (writing the CSV file included), after which the "
            f"benchmark's process, which serves the emulator, held {setup['emulator_rss_mib']:,} MiB; the "
            f"adoption run took {adoption['seconds']} s ({adoption['notion_wait_seconds']} s of it waiting "
            f"for Notion) and {setup['adoption_requests']:,} requests, {setup['adoption_writes']} of them "
            f"writes, with a peak of {adoption['peak_rss_mib']:,} MiB, and found "
            f"{adoption['counts']['unchanged']:,} pages unchanged.",
            "",
        ]
    return lines


def _measured_at(p: dict[str, Any]) -> str:
    if p["replan"] == PLAN_TARGET_RECORDS:
        return ", and the measurement of the plan target"
    return f", here at {p['replan']:,} records; the full run measures it at {PLAN_TARGET_RECORDS:,}"


def costs_section(cost: Any, p: dict[str, Any]) -> list[str]:
    pages = p["cost_pages"]
    scaled = (
        "" if pages == 10_000 else f" (measured at {pages:,} pages and scaled; the full run measures 10,000)"
    )
    lines = [
        "## 5. What reconciliation and long relations cost (issue 11)",
        "",
        f"**Reconciliation** (deletes that leave no tombstone). Setup (not measured): {pages:,} accounts "
        "generated by the Salesforce emulator (`bulk`), read by simple-salesforce over HTTPS and synced "
        "into one target against an unlimited Notion emulator whose clock stamps them as a sync that "
        "ended an hour earlier (as in scenario 2). Then three runs against the emulator playing Notion "
        "(as in scenario 1) with the recipe's 3/s budget, nothing changed at the source before the "
        "third: (a) an ordinary incremental run; (b) the same with `--reconcile`; (c) `--reconcile` "
        "after 1% of the accounts were hard-deleted (`SalesforceOrg.hard_delete`: no `queryAll` returns "
        "them again). Salesforce requests are what the org counts against its daily allowance; the "
        "key scan's time runs from the run's *scanning the keys* progress event to its next one, against "
        "an emulator that answers without latency (a real org adds its round trip to each of the scan's "
        "requests). Checked: (a) scans nothing, (b) scans every account and archives nothing, (c) "
        "archives exactly the deleted accounts' pages and leaves every other page live.",
        "",
    ]
    if not _ok(cost):
        return lines + _error(cost)
    rec, rel = cost["reconciliation"], cost["relations"]
    lines += [
        "| run | Notion requests | by endpoint | Salesforce requests | queries + queryMore | records returned | "
        "keys scanned | archived | key scan | wall time | 429s |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    names = {
        "incremental": "(a) incremental",
        "reconcile": "(b) `--reconcile`",
        "reconcile_after_deletes": f"(c) `--reconcile`, {rec['deleted']} hard-deleted",
    }
    for key, label in names.items():
        run = rec["runs"][key]
        endpoints = "<br>".join(f"`{e}` {n}" for e, n in run["notion_by_endpoint"].items())
        lines.append(
            f"| {label} | {run['notion_requests']} | {endpoints} | {run['source_requests']} | "
            f"{run['source_queries']} + {run['source_query_more']} | {run['source_records']:,} | "
            f"{run['keys_scanned']:,} | {run['counts']['archived']} | {run['key_scan_seconds']} s | "
            f"{run['seconds']} s | {run['rate_limited']} |"
        )
    c, k = rec["cost"], rec["per_10k"]
    lines += [
        "",
        f"Per 10,000 pages{scaled}: a key scan costs **{k['key_scan_source_requests']:g} Salesforce "
        f"requests** ((b) − (a): {c['key_scan_source_requests']}; one query per 2,000 Ids), "
        f"**{k['key_scan_notion_requests']:g} Notion requests** and {k['key_scan_seconds']:g} s; "
        f"archiving the 1% found gone costs {k['archive_notion_requests']:g} Notion requests ((c) − (a): "
        f"{c['archive_notion_requests']}, one `PATCH` per page), the same as a delete the source reports. "
        "A target reconciles on one run in its `reconcile_every` (24 by default).",
        "",
        f"**Relation reads.** Two recipes over JSON Lines files (files connector, no source request): a "
        f"target of {p['cost_related_items']} pages and a target of {pages:,} pages, each relating to "
        f"{p['cost_long_relation']} of them (over the 25 a page object lists: every page's relation says "
        "`has_more`, and the engine reads the rest through `GET /v1/pages/{id}/properties/{property_id}`, "
        f"100 items a request) or, as the baseline, to {p['cost_short_relation']}. Setup as above, against "
        "the unlimited emulator. Measured against the unlimited emulator (the request counts do not depend "
        "on the speed; *at 3/s* is what they take at the budget): a no-change incremental run, then a "
        "no-change full read (`--full-refresh`). Both targets are read, so each run has two schema reads "
        "and at least two queries. Checked: neither run writes or reports drift, and the full read of the "
        "long relations reads each page's relation exactly once through the item endpoint.",
        "",
        "| related pages per page | run | Notion requests | by endpoint | item reads | wall time | at 3/s |",
        "|---|---|---|---|---|---|---|",
    ]
    for kind in ("short", "long"):
        for key, label in (("incremental", "no-change incremental"), ("full_read", "full read")):
            run = rel[kind][key]
            endpoints = "<br>".join(f"`{e}` {n}" for e, n in run["by_endpoint"].items())
            lines.append(
                f"| {rel[kind]['related']} | {label} | {run['requests']:,} | {endpoints} | "
                f"{run['relation_item_reads']:,} | {run['seconds']} s | {_duration(run['seconds_at_budget'])} |"
            )
    c, k = rel["cost"], rel["per_10k"]
    lines += [
        "",
        f"Per 10,000 pages{scaled}, relations longer than 25 cost **{k['full_read_requests']:,g} more Notion "
        f"requests on a full read** ({c['full_read_requests']:,} measured: one item read per page, "
        f"{_duration(k['full_read_requests'] / p['budget_per_second'])} at 3/s) and "
        f"**{k['incremental_requests']:g} on an incremental run** that finds no page edited; an incremental "
        "run pays one item read for each edited page whose relation is longer than 25. A target reads "
        "every page on one run in its `full_read_every` (24 by default).",
        "",
    ]
    wrong = [line for line in cost_lines(cost) if line.startswith("WRONG")]
    return lines + [f"**{line}**" for line in wrong] + ([""] if wrong else [])


def sandbox_section() -> list[str]:
    return [
        "## Watching the budget in the sandbox",
        "",
        "The sandbox's Notion emulator takes the same settings, so the saturation can be watched live:",
        "",
        "```sh",
        "# terminal 1: the emulators, Notion answering after 400 ms, limited a little above 3/s,",
        "# with 600 generated Salesforce accounts and contacts",
        "syncfw sandbox serve --notion-latency 0.4 --notion-rate-limit 3.15 --bulk 600",
        "",
        "# terminal 2: create the databases, then sync at the recipe's 3 requests/s",
        "syncfw notion init recipes/salesforce-accounts.yaml --env-file .syncfw/sandbox.env",
        "syncfw run recipes/salesforce-accounts.yaml --env-file .syncfw/sandbox.env",
        "",
        "# terminal 3: the emulator's counters once a second; `requests` grows by 3 a second and",
        "# `rate_limited` stays 0 while the writes go out",
        "set -a; . .syncfw/sandbox.env; set +a",
        "watch -n1 \"curl -s -H 'Authorization: Bearer $NOTION_TOKEN' $NOTION_BASE_URL/_emulator/stats\"",
        "```",
        "",
    ]
