"""Rendering the health commands for people: ``syncfw status``, ``runs`` and ``audit``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich import box
from rich.markup import escape
from rich.table import Table

from syncfw.cli.console import out, print_table
from syncfw.clock import iso, parse_time, short

if TYPE_CHECKING:
    from syncfw.health.audit import RecipeAudit
    from syncfw.health.history import RunEntry
    from syncfw.health.status import RecipeStatus

_STATE_STYLE = {"ok": "green", "stale": "yellow", "failing": "red", "never": "yellow"}


def _when(text: str | None) -> str:
    moment = parse_time(text)
    return moment.strftime("%Y-%m-%d %H:%M") if moment else "-"


def render_status(statuses: list[RecipeStatus]) -> None:
    for status in statuses:
        recipe, run = status.recipe, status.last_run
        head = f"[bold]{recipe.name}[/] ({recipe.tier}"
        head += f", expires {recipe.expires.isoformat()}" if recipe.expires else ""
        head += f") · owner {recipe.owner} · "
        head += (
            f"last run {run.run_id} {run.status} (exit {run.exit_code}) at {_when(run.finished_at or run.started_at)}"
            if run
            else "never run here"
        )
        out.print(head)
        table = Table(title_justify="left")
        for col in ("source", "state", "last attempt", "last success", "freshness", "quarantined", "drift"):
            table.add_column(col, no_wrap=True)
        for source in status.sources:
            style = _STATE_STYLE[source.state]
            fresh = short(source.freshness) + (
                f" / {short(source.stale_after)}" if source.stale_after else ""
            )
            counts = status.counts.get(source.source)
            table.add_row(
                source.source,
                f"[{style}]{source.state}[/]",
                _when(iso(source.last_attempt)),
                _when(iso(source.last_success)),
                fresh,
                str(source.quarantined),
                str(counts.drift if counts else 0),
            )
        print_table(table)
        for problem in status.problems:
            out.print(f"  [red]problem[/] {escape(problem)}")
        for note in status.notes:
            out.print(f"  [yellow]note[/] {escape(note)}")
        for line in _unmatched(run.summary if run else None):
            out.print(f"  unmatched {line}", markup=False, soft_wrap=True)
        for q in status.quarantine:
            prop = f" property {q.property!r}" if q.property else ""
            out.print(
                f"  quarantined {q.target} ← {q.source}/{q.stream} key {q.record_key}{prop}: {q.reason} "
                f"(since {q.first_seen}, {q.attempts} attempts)",
                markup=False,
                soft_wrap=True,
            )


def _unmatched(summary: dict[str, Any] | None) -> list[str]:
    """The records the last run found matching no page or several (its history summary keeps the
    first :data:`~syncfw.engine.report.SAMPLE` of each target), for people."""
    lines = []
    for target, result in ((summary or {}).get("targets") or {}).items():
        for found in result.get("unmatched") or []:
            lines.append(
                f"{target} ← {found.get('source')}/{found.get('stream')} key {found.get('key')}: "
                f"{found.get('reason')} (retried every run)"
            )
    return lines


def render_runs(entries: list[RunEntry]) -> None:
    """A table of runs (the run id starts with its UTC start time); errors below it."""
    several = len({e.recipe for e in entries}) > 1
    table = Table(title_justify="left", box=None, header_style="bold")
    table.add_column("run", no_wrap=True)
    columns = ["recipe"] if several else []
    for col in (*columns, "took", "result", "c/u/a/failed", "notion r/w"):
        table.add_column(col, no_wrap=True)
    table.add_column("by", overflow="fold")
    notes = []
    for e in entries:
        c, n = e.counts, e.notion_requests
        result = e.command if e.command != "run" else f"{e.status} ({e.exit_code})"
        counts = f"{c['created']}/{c['updated']}/{c['archived']}/{c['failed']}" if e.command == "run" else ""
        row = [e.run_id, *([e.recipe] if several else []), short(e.duration), result, counts]
        table.add_row(*row, f"{n.get('reads', 0)}/{n.get('writes', 0)}" if n else "", e.started_by or "")
        text = e.error or e.detail
        if text:
            notes.append(f"{e.run_id}: {text.splitlines()[0]}")
    print_table(table)
    for note in notes:
        out.print(f"  {note}", markup=False)


def _relative(where: str) -> str:
    """``file:line`` with the file relative to the working directory when it is under it."""
    path = Path(where.rsplit(":", 1)[0])
    try:
        return str(path.relative_to(Path.cwd())) + where[len(str(path)) :]
    except ValueError:
        return where


def render_audit(audits: list[RecipeAudit]) -> None:
    """Each recipe's header, then one line per property (columns that hold one token each are
    never wrapped: only ``value from`` folds on a narrow terminal)."""
    for audit in audits:
        recipe = audit.recipe
        expires = f", expires {recipe.expires.isoformat()}" if recipe.expires else ""
        out.print(
            f"[bold]{recipe.name}[/] ({recipe.path}) · {recipe.tier}{expires} · owner {recipe.owner} · "
            f"last success {_when(audit.last_success)}"
        )
        out.print(f"  {escape(recipe.description)}")
        table = Table(title_justify="left", box=box.SIMPLE_HEAD, show_edge=False)
        for col in ("target", "property", "type", "owner", "personal data", "defined at"):
            table.add_column(col, no_wrap=True)
        table.add_column("value from", overflow="fold")
        data_sources: dict[str, str] = {}
        for row in audit.rows:
            target = "" if row.target in data_sources else row.target
            data_sources.setdefault(row.target, str(row.data_source))
            owner = "people (notion)" if row.human_owned else row.owner
            table.add_row(
                escape(target),
                escape(row.property),
                row.type or "",
                owner,
                "[magenta]" + escape(", ".join(row.personal)) + "[/]" if row.personal else "",
                escape(_relative(row.where)),
                escape(row.origin),
            )
        print_table(table)
        for name, data_source in data_sources.items():
            out.print(f"  {escape(name)}: {escape(data_source)}")
        if audit.personal_properties:
            names = ", ".join(f"{r.target}.{r.property}" for r in audit.personal_properties)
            out.print(f"  [magenta]personal data[/] in {escape(names)}")
