"""Rendering runs and plans: summary tables and property-level diffs for people, progress bars,
and JSON lines for machines.

Everything goes to the terminal through :mod:`syncfw.cli.console`; progress and logs go to stderr so
that stdout can be piped. The health commands render in :mod:`syncfw.cli.render_health`.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TextIO

from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from syncfw.cli.console import err, out
from syncfw.clock import now_iso, parse_time
from syncfw.engine.batch import BatchReport
from syncfw.engine.run import Progress as EngineProgress
from syncfw.engine.run import RunObserver, RunReport
from syncfw.notion.client import NotionClient
from syncfw.state import StateBackend


def _fmt(value: Any) -> str:
    if value is None:
        return "∅"
    if isinstance(value, tuple | list):
        return "[" + ", ".join(_fmt(v) for v in value) + "]"
    text = json.dumps(value, ensure_ascii=False) if isinstance(value, str) else str(value)
    return text if len(text) <= 60 else text[:57] + '…"'


def render_summary(report: RunReport) -> None:
    title = f"{report.command} {report.recipe} · run {report.run_id} · {report.status}"
    table = Table(title=title, title_justify="left")
    for col in (
        "target",
        "created",
        "updated",
        "unchanged",
        "archived",
        "failed",
        "drift",
        "reads/writes",
    ):
        table.add_column(col, justify="left" if col == "target" else "right")
    for name, target in report.targets.items():
        d = target.as_dict()
        req = d["notion_requests"]
        table.add_row(
            name,
            str(d["created"]),
            str(d["updated"]),
            str(d["unchanged"]),
            str(d["archived"]),
            str(d["failed"]),
            str(d["drift"]),
            f"{req.get('reads', 0)}/{req.get('writes', 0)}",
        )
    out.print(table)
    n = report.notion_requests
    out.print(
        f"Notion requests: {n.get('reads', 0)} reads, {n.get('writes', 0)} writes, "
        f"{n.get('retries', 0)} retries, {n.get('rate_limited', 0)} rate limited"
    )
    for name, target in report.targets.items():
        p = target.plan
        for finding in p.drift:
            who = f" by {finding.editor}" if finding.editor else ""
            out.print(
                f"[yellow]drift[/] {name} {p.sync_key_property} {finding.sync_key}: {finding.property!r} "
                f"edited{who} ({_fmt(finding.synced)} → {_fmt(finding.live)}), {finding.action}"
            )
        for problem in p.problems:
            out.print(f"[red]failed[/] {name}: {problem}")
        for found in target.reconciled:
            if found.error is None:
                out.print(
                    f"reconciled {name}: {found.scanned} keys scanned in {found.source}/{found.stream}, "
                    f"{len(found.gone)} gone from the source (handled as deletes)"
                )
        for warning in p.warnings[:20]:
            out.print(f"[yellow]warning[/] {name}: {warning}")
        if len(p.warnings) > 20:
            out.print(f"[yellow]warning[/] {name}: … and {len(p.warnings) - 20} more (see --json)")
    for warning in report.warnings:
        err.print(f"[yellow]warning:[/] {escape(warning)}")
    if report.error:
        err.print(f"[red]error:[/] {report.error}")


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


def render_plan(report: RunReport) -> None:
    for name, target in report.targets.items():
        p = target.plan
        out.print(f"[bold]{name}[/] (data source {p.data_source_id})")
        if not p.operations:
            out.print("  no changes")
        for op in p.operations:
            if op.action == "create":
                out.print(f"  [green]+ create[/] {p.sync_key_property} {op.sync_key}")
                for prop, value in op.after.items():
                    out.print(f"      {prop}: {_fmt(value)}")
            elif op.action == "update":
                out.print(f"  [yellow]~ update[/] {p.sync_key_property} {op.sync_key} (page {op.page_id})")
                for prop, value in op.after.items():
                    out.print(f"      {prop}: {_fmt(op.before.get(prop))} → {_fmt(value)}")
            else:
                out.print(f"  [red]- archive[/] {p.sync_key_property} {op.sync_key} (page {op.page_id})")
    render_summary(report)


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
    (err if problems_only else out).print(table)


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
