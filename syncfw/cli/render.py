"""Rendering runs and plans: summary tables and property-level diffs for people, progress bars,
and JSON lines for machines.

Everything goes to the terminal through :mod:`syncfw.cli.console`; progress and logs go to stderr so
that stdout can be piped. The health commands render in :mod:`syncfw.cli.render_health`.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from functools import partial
from typing import Any, TextIO

from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from syncfw.cli.console import err, out, print_table
from syncfw.clock import now_iso, parse_time
from syncfw.engine.batch import BatchReport
from syncfw.engine.model import Operation
from syncfw.engine.run import Progress as EngineProgress
from syncfw.engine.run import RunObserver, RunReport
from syncfw.errors import RecordProblem
from syncfw.notion.client import NotionClient
from syncfw.state import StateBackend


def _fmt(value: Any) -> str:
    if value is None:
        return "∅"
    if isinstance(value, tuple | list):
        return "[" + ", ".join(_fmt(v) for v in value) + "]"
    text = json.dumps(value, ensure_ascii=False) if isinstance(value, str) else str(value)
    return text if len(text) <= 60 else text[:57] + '…"'


SHOWN = 20
"""Findings of one kind printed per target in text output (all of them are in ``--json``)."""

_DRIFT = {  # DriftFinding.action → what a run did, and what the run of a plan will do
    "reverted": ("reverted", "the run will revert it"),
    "overwritten": (
        "overwritten with the source's value",
        "the run will overwrite it with the source's value",
    ),
    "flagged": ("left as edited (on_drift: flag)", "the run will leave it as edited (on_drift: flag)"),
}


def _line(text: str) -> None:
    """One line of stdout, never wrapped to the terminal's width (a pipe shows what a terminal does)."""
    out.print(text, soft_wrap=True)


def _some(name: str, kind: str, items: list[str]) -> None:
    for item in items[:SHOWN]:
        _line(f"{kind} {escape(name)}: {escape(item)}")
    if len(items) > SHOWN:
        _line(f"{kind} {escape(name)}: … and {len(items) - SHOWN} more (see --json)")


def render_summary(report: RunReport, *, notices: bool = True) -> None:
    """The table of what a run (or plan) does per target, then its findings: drift, failed and
    unmatched records, reconciliations, warnings; with ``notices`` the run's own warnings and
    error on stderr (:func:`render_notices`)."""
    title = f"{report.command} {report.recipe} · run {report.run_id} · {report.status}"
    table = Table(title=title, title_justify="left")
    for col in (
        "target",
        "created",
        "updated",
        "unchanged",
        "archived",
        "failed",
        "unmatched",
        "drift",
        "reads/writes",
    ):
        table.add_column(col, justify="left" if col == "target" else "right", no_wrap=True)
    for name, target in report.targets.items():
        d = target.as_dict()
        req = d["notion_requests"]
        table.add_row(
            escape(name),
            str(d["created"]),
            str(d["updated"]),
            str(d["unchanged"]),
            str(d["archived"]),
            str(d["failed"]),
            str(len(target.plan.unmatched)),
            str(d["drift"]),
            f"{req.get('reads', 0)}/{req.get('writes', 0)}",
        )
    print_table(table)
    n = report.notion_requests
    _line(
        f"Notion requests: {n.get('reads', 0)} reads, {n.get('writes', 0)} writes, "
        f"{n.get('retries', 0)} retries, {n.get('rate_limited', 0)} rate limited"
    )
    planned = report.command == "plan"
    for name, target in report.targets.items():
        p = target.plan
        for finding in p.drift:
            who = f" by {finding.editor}" if finding.editor else ""
            did, will = _DRIFT.get(finding.action, (finding.action, finding.action))
            change = f"{_fmt(finding.live)} → {_fmt(finding.desired)}"
            if finding.action == "flagged":
                change = f"{_fmt(finding.live)}; syncfw wrote {_fmt(finding.synced)}"
            _line(
                f"[yellow]drift[/] {escape(name)} {escape(p.sync_key_property)} {escape(finding.sync_key)}: "
                f"{escape(repr(finding.property))} edited in Notion{escape(who)}; "
                f"{will if planned else did} ({escape(change)})"
            )
        _some(name, "[red]failed[/]", [str(problem) for problem in p.problems])
        _some(name, "[yellow]unmatched[/]", [unmatched_text(u) for u in p.unmatched])
        for found in target.reconciled:
            if found.error is None:
                _line(
                    f"reconciled {escape(name)}: {found.scanned} keys scanned in {found.source}/{found.stream}, "
                    f"{len(found.gone)} gone from the source (handled as deletes)"
                )
        _some(name, "[yellow]warning[/]", list(p.warnings))
    if notices:
        render_notices(report)


def unmatched_text(unmatched: Mapping[str, Any]) -> str:
    """A secondary record that matched no page or several (``TargetPlan.unmatched``), for people:
    ``zendesk/organizations key 361: matches no page (Domain = 'acme.com'); retried every run``."""
    return (
        f"{unmatched.get('source')}/{unmatched.get('stream')} key {unmatched.get('key')}: "
        f"{unmatched.get('reason')}; retried every run"
    )


def render_notices(report: RunReport) -> None:
    """The run's own warnings and its error, on stderr (for people: JSON lines carry them otherwise)."""
    for warning in report.warnings:
        err.print(f"[yellow]warning:[/] {escape(warning)}")
    if report.error:
        err.print(f"[red]error:[/] {escape(report.error)}")


def render_problems(report: RunReport) -> None:
    """Only what needs a person (``--quiet``): records that failed, warnings, the error."""
    for name, target in report.targets.items():
        for problem in target.plan.problems:
            err.print(f"failed {name}: {problem}", markup=False)
        for warning in target.plan.warnings:
            err.print(f"warning {name}: {warning}", markup=False)
    for warning in report.warnings:
        err.print(f"warning: {warning}", markup=False)
    if report.error:
        err.print(f"error: {report.error}", markup=False)


def render_plan(report: RunReport, *, notices: bool = True) -> None:
    """Every operation of the plan with its property values (``before → after`` for updates),
    the relations the run links once their pages exist, then :func:`render_summary`."""
    for name, target in report.targets.items():
        p = target.plan
        key = escape(p.sync_key_property)
        _line(f"[bold]{escape(name)}[/] (data source {p.data_source_id})")
        if not p.operations:
            _line("  no changes")
        for op in p.operations:
            sync_key = escape(op.sync_key)
            if op.action == "create":
                _line(f"  [green]+ create[/] {key} {sync_key}")
                for prop, value in op.after.items():
                    _line(f"      {escape(prop)}: {escape(_fmt(value))}")
            elif op.action == "update":
                known_as = escape(_matched_by(op)) or f"{key} {sync_key}"
                _line(f"  [yellow]~ update[/] {known_as} (page {op.page_id})")
                for prop, value in op.after.items():
                    _line(
                        f"      {escape(prop)}: {escape(_fmt(op.before.get(prop)))} → {escape(_fmt(value))}"
                    )
            else:
                _line(f"  [red]- archive[/] {key} {sync_key} (page {op.page_id})")
        for item in p.pending_relations[:SHOWN]:
            keys = ", ".join(map(str, item["keys"]))
            _line(
                f"  [cyan]pending relation[/] {key} {escape(str(item['sync_key']))} "
                f"{escape(repr(item['property']))}: no page in {escape(str(item['target']))} for {escape(keys)} "
                "yet (linked once there is one)"
            )
        if len(p.pending_relations) > SHOWN:
            _line(f"  … and {len(p.pending_relations) - SHOWN} more pending relations (see --json)")
    render_summary(report, notices=notices)


def _matched_by(op: Operation, show: Callable[[str, Any], str] = lambda _, value: _fmt(value)) -> str:
    """How a person knows the page an update target's ``op`` writes (its sync key is a page id):
    the values it was matched by, each shown by ``show(property, value)``
    (``Domain "acme.com"``); ``""`` for other targets' operations."""
    return ", ".join(f"{name} {show(name, value)}" for name, value in op.matched.items())


MARKDOWN_OPERATIONS = 100
"""Operations listed per target in ``plan --format markdown`` (a pull request comment holds at most
65,536 characters: docs.github.com, "REST API endpoints for issue comments"); the counts stay whole."""

REDACTED = "(personal data)"


def _cell(text: str) -> str:
    """``text`` as one Markdown table cell: pipes escaped, on one line."""
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ").replace("\r", " ")


def _failed(problem: RecordProblem, personal: set[str]) -> str:
    """A failed record for the Markdown plan: the reason of a failure of a personal property
    (which may quote the value: "expected an email, got int 4155550123") is left out."""
    if problem.property in personal:
        problem = dataclasses.replace(problem, reason=f"{REDACTED}: the reason is in `syncfw plan --json`")
    return str(problem)


def render_plan_markdown(report: RunReport, personal: Mapping[str, set[str]]) -> str:
    """The plan as GitHub-flavoured Markdown for a pull request comment: a summary table, then
    each target's operations (at most :data:`MARKDOWN_OPERATIONS`) in a collapsed section, with
    the values of ``personal`` properties (target → property names fed by personal data) shown as
    ``(personal data)``, and the findings (drift, failed and unmatched records, warnings; the
    reason a personal property failed is left out too, since it may quote the value)."""

    def value(target: str, prop: str, raw: Any) -> str:
        return REDACTED if prop in personal.get(target, ()) and raw not in (None, "", ()) else _fmt(raw)

    lines = [
        f"### syncfw plan: {report.recipe}",
        "",
        f"Run `{report.run_id}` · {report.status} (exit {report.exit_code})",
        "",
        "| target | create | update | archive | unchanged | failed | unmatched | drift |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, target in report.targets.items():
        p = target.plan
        lines.append(
            f"| {_cell(name)} | {p.count('create')} | {p.count('update')} | {p.count('archive')} | "
            f"{p.unchanged} | {len(p.problems)} | {len(p.unmatched)} | {len(p.drift)} |"
        )
    if report.error:
        lines += ["", f"**Error:** {_cell(report.error)}"]
    for name, target in report.targets.items():
        p = target.plan
        if not (p.operations or p.drift or p.problems or p.unmatched or p.warnings):
            continue
        lines += ["", f"<details><summary>{_cell(name)}: {len(p.operations)} operations</summary>", ""]
        if p.operations:
            lines += [
                f"| | {_cell(p.sync_key_property or 'page')} | property | before | after |",
                "|---|---|---|---|---|",
            ]
        for op in itertools.islice(p.operations, MARKDOWN_OPERATIONS):
            known_as = _matched_by(op, partial(value, name)) or op.sync_key
            sign = {"create": "+ create", "update": "~ update", "archive": "- archive"}[op.action]
            rows = [(prop, op.before.get(prop), after) for prop, after in op.after.items()] or [
                ("", None, None)
            ]
            for i, (prop, before, after) in enumerate(rows):
                head = f"| {sign} | `{_cell(known_as)}` |" if i == 0 else "| | |"
                old = value(name, prop, before) if op.action == "update" else ""
                lines.append(
                    f"{head} {_cell(prop)} | {_cell(old)} | {_cell(value(name, prop, after) if prop else '')} |"
                )
        if len(p.operations) > MARKDOWN_OPERATIONS:
            lines += [
                "",
                f"… and {len(p.operations) - MARKDOWN_OPERATIONS} more operations (`syncfw plan --json`).",
            ]
        findings = [
            *(
                f"drift: {d.sync_key} {d.property!r} edited in Notion"
                f"{' by ' + d.editor if d.editor else ''}; {_DRIFT.get(d.action, (d.action, d.action))[1]}"
                for d in p.drift
            ),
            *(f"failed: {_failed(problem, personal.get(name, set()))}" for problem in p.problems),
            *(  # the reason quotes the match value (an email, a domain): left out here
                f"unmatched: {u.get('source')}/{u.get('stream')} key {u.get('key')}: "
                f"{str(u.get('reason')).split(' (', 1)[0]}"
                for u in p.unmatched
            ),
            *(f"warning: {w}" for w in p.warnings),
        ]
        if findings:
            lines += [""] if lines[-1] else []
            lines += [f"- {_cell(f)}" for f in findings[:SHOWN]]
            if len(findings) > SHOWN:
                lines.append(f"- … and {len(findings) - SHOWN} more (`syncfw plan --json`)")
        lines += ["", "</details>"]
    return "\n".join(lines)


class BarProgress(EngineProgress):
    """Draws the engine's progress with rich (on stderr, so stdout stays clean)."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.tasks: dict[str, Any] = {}

    def _task(self, target: str) -> Any:
        if target not in self.tasks:
            self.tasks[target] = self.progress.add_task(target, total=None, status="")
        return self.tasks[target]

    def phase(self, target: str, text: str) -> None:
        self.progress.update(self._task(target), status=text)

    def writes(self, target: str, total: int) -> None:
        self.progress.update(self._task(target), total=total, completed=0, status="writing")

    def advance(self, target: str) -> None:
        self.progress.advance(self._task(target))


@contextmanager
def progress_bar(enabled: bool) -> Iterator[EngineProgress]:
    if not enabled:
        yield EngineProgress()
        return
    bar = Progress(
        TextColumn("{task.description:<12}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[status]}"),
        TimeElapsedColumn(),
        console=err,
        transient=False,
    )
    with bar:
        yield BarProgress(bar)


def render_batch(batch: BatchReport, *, problems_only: bool = False) -> None:
    """The summary of a command over several recipes: one row each (writes as ``+created
    ~updated -archived``), then the exit code (``problems_only``: only the recipes whose exit
    code is not 0)."""
    rows = [o for o in batch.outcomes if o.exit_code != 0 or not problems_only]
    if not rows:
        return
    title = f"{batch.command}: {len(batch.outcomes)} recipes · exit {batch.exit_code}"
    table = Table(title=title, title_justify="left")
    table.add_column("recipe", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("exit", justify="right")
    table.add_column("writes", no_wrap=True)
    table.add_column("failed", justify="right")
    table.add_column("note", overflow="fold")
    for o in rows:
        writes = failed = ""
        if o.report is not None:
            totals = [t.as_dict() for t in o.report.targets.values()]
            n = {k: sum(t[k] for t in totals) for k in ("created", "updated", "archived", "failed")}
            writes, failed = f"+{n['created']} ~{n['updated']} -{n['archived']}", str(n["failed"])
        table.add_row(
            o.recipe or str(o.path), o.status, str(o.exit_code), writes, failed, escape(o.note or "")
        )
    print_table(table, err if problems_only else out)


# -- logs for machines ---------------------------------------------------------------------


class JsonLog(EngineProgress, RunObserver):
    """One JSON object per line (for cron, systemd, CI, Kubernetes log collectors)::

        {"time": "2026-11-21T21:05:01Z", "level": "info", "event": "run_started",
         "run_id": "20261121T210501Z-3f9a", "recipe": "salesforce-accounts", ...}

    Events: ``run_started``, ``phase`` (a target's step), ``writing`` (writes about to be sent),
    ``target_finished`` (counts), ``drift``, ``record_failed`` and ``warning`` (level warning),
    ``run_finished`` (level error when the exit code is not 0 or 3). With ``quiet`` only lines of
    level warning or error are written. Values come from the run report: no secret is in them.
    """

    def __init__(self, stream: TextIO | None = None, *, quiet: bool = False) -> None:
        self.stream = stream or sys.stderr
        self.quiet = quiet
        self.run_id: str | None = None
        self.recipe: str | None = None

    def emit(self, event: str, level: str = "info", **fields: Any) -> None:
        if self.quiet and level == "info":
            return
        line = {
            "time": now_iso(),
            "level": level,
            "event": event,
            "run_id": self.run_id,
            "recipe": self.recipe,
        }
        self.stream.write(json.dumps({**line, **fields}, ensure_ascii=False, default=str) + "\n")
        self.stream.flush()

    def run_started(self, report: RunReport, client: NotionClient, store: StateBackend) -> None:
        self.run_id, self.recipe = report.run_id, report.recipe
        self.emit("run_started", command=report.command, started_at=report.started_at)

    def phase(self, target: str, text: str) -> None:
        self.emit("phase", target=target, step=text)

    def writes(self, target: str, total: int) -> None:
        self.emit("writing", target=target, writes=total)

    def finished(self, report: RunReport) -> None:
        """Log what the run did, target by target, then its outcome."""
        self.run_id, self.recipe = report.run_id, report.recipe
        totals = dict.fromkeys(("created", "updated", "unchanged", "archived", "failed", "drift"), 0)
        for name, target in report.targets.items():
            d = target.as_dict()
            counts = {k: d[k] for k in totals}
            for k in totals:
                totals[k] += d[k]
            self.emit("target_finished", target=name, **counts, notion_requests=d["notion_requests"])
            for finding in target.plan.drift:
                self.emit(
                    "drift",
                    target=name,
                    sync_key=finding.sync_key,
                    property=finding.property,
                    editor=finding.editor,
                    action=finding.action,
                )
            for problem in target.plan.problems:
                self.emit(
                    "record_failed",
                    "warning",
                    target=name,
                    source=problem.source,
                    stream=problem.stream,
                    key=problem.key,
                    property=problem.property,
                    reason=problem.reason,
                )
            for found in target.reconciled:
                if found.error is None:
                    self.emit(
                        "reconciled",
                        target=name,
                        source=found.source,
                        stream=found.stream,
                        keys_scanned=found.scanned,
                        gone=len(found.gone),
                    )
            for warning in target.plan.warnings:
                self.emit("warning", "warning", target=name, message=warning)
        for warning in report.warnings:
            self.emit("warning", "warning", message=warning)
        start, end = parse_time(report.started_at), parse_time(report.finished_at)
        self.emit(
            "run_finished",
            "info" if report.exit_code in (0, 3) else "error",
            command=report.command,
            status=report.status,
            exit_code=report.exit_code,
            error=report.error,
            **totals,
            notion_requests=report.notion_requests,
            duration_seconds=(end - start).total_seconds() if start and end else None,
        )

    def batch_finished(self, batch: BatchReport) -> None:
        """Log each recipe that did not run (``recipe_not_run``: skipped, invalid, locked), then
        ``batch_finished`` with every recipe's status and the command's exit code."""
        self.run_id = None
        for o in batch.outcomes:
            if o.report is None:
                self.recipe = o.recipe
                level = "info" if o.exit_code in (0, 75) else "error"
                self.emit(
                    "recipe_not_run",
                    level,
                    path=str(o.path),
                    status=o.status,
                    exit_code=o.exit_code,
                    note=o.note,
                )
        self.recipe = None
        self.emit(
            "batch_finished",
            "info" if batch.exit_code in (0, 3, 75) else "error",
            command=batch.command,
            exit_code=batch.exit_code,
            recipes={o.recipe or str(o.path): o.status for o in batch.outcomes},
        )
