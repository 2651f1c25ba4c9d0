"""Rendering runs and plans for people: summary tables, property-level diffs, progress bars.

Everything goes to the terminal through rich; progress goes to stderr so that stdout can be piped.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from syncfw.engine.run import Progress as EngineProgress
from syncfw.engine.run import RunReport

out = Console(highlight=False)
err = Console(stderr=True, highlight=False)


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
        for warning in p.warnings[:20]:
            out.print(f"[yellow]warning[/] {name}: {warning}")
        if len(p.warnings) > 20:
            out.print(f"[yellow]warning[/] {name}: … and {len(p.warnings) - 20} more (see --json)")
    if report.error:
        err.print(f"[red]error:[/] {report.error}")


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
