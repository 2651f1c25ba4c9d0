"""Run history for audit: who or what started each run, with which versions, and what it did.

Every run is a row of the state store's ``runs`` table (written by :func:`syncfw.engine.run.execute`);
its ``summary`` JSON is the run report as history keeps it (:meth:`RunReport.summary`: counts and
a sample of operations; every operation is in the ``run_operations`` table, read with
:func:`run_operations`), to which :func:`record_context` adds a ``context``::

    {"started_by": "ada@ops-host", "trigger": "cron or a script (no terminal)",
     "command_line": "syncfw run recipes/customer-360.yaml",
     "connectors": {"salesforce": "salesforce 0.1.0 (syncfw-salesforce)"}}

``syncfw renew`` adds a row of its own (command ``renew``) with the old and new expiry date, and
``syncfw state reset`` one (command ``reset``) with the cursors it cleared, and ``syncfw state
migrate`` one (command ``migrate``, in the destination) with where the state came from and went.
"""

from __future__ import annotations

import dataclasses
import getpass
import os
import secrets
import shlex
import socket
import sys
from collections.abc import Iterator, Sequence
from datetime import date, timedelta
from typing import Any

from syncfw import __version__
from syncfw.clock import iso, parse_time, utcnow
from syncfw.engine.run import RunReport
from syncfw.plugins import Registry
from syncfw.recipe import Recipe
from syncfw.state import HistoryTransaction, OperationRecord, RunRecord, existing_state, open_state

COUNTS = ("created", "updated", "archived", "failed", "drift")


def started_by() -> str:
    """``user@host`` of this process."""
    try:
        user = getpass.getuser()
    except (OSError, KeyError):  # a container without a passwd entry for its uid
        user = f"uid {os.getuid()}" if hasattr(os, "getuid") else "unknown"
    return f"{user}@{socket.gethostname()}"


def trigger() -> str:
    """What started this process, as far as its environment tells."""
    if os.environ.get("GITHUB_ACTIONS"):
        return f"GitHub Actions run {os.environ.get('GITHUB_RUN_ID', '?')} ({os.environ.get('GITHUB_WORKFLOW', '')})"
    if os.environ.get("KUBERNETES_SERVICE_HOST"):
        return f"Kubernetes pod {socket.gethostname()}"
    if os.environ.get("INVOCATION_ID"):
        return "systemd unit"
    if os.environ.get("CI"):
        return "CI job"
    return "terminal" if sys.stdin.isatty() else "cron or a script (no terminal)"


def run_context(recipe: Recipe, registry: Registry, argv: Sequence[str]) -> dict[str, Any]:
    """Who and what starts a run of ``recipe`` now: user, trigger, command line, connector versions."""
    versions = {
        connector: f"{connector} {plugin.version} ({plugin.distribution})"
        for plugin in registry.plugins
        for connector in plugin.connectors
    }
    return {
        "started_by": started_by(),
        "trigger": trigger(),
        "command_line": shlex.join(["syncfw", *argv]),
        "connectors": {
            name: versions.get(source.connector, source.connector) for name, source in recipe.sources.items()
        },
    }


def record_context(recipe: Recipe, report: RunReport, context: dict[str, Any]) -> None:
    """Add ``context`` to the history row of a finished run (nothing for a run that made no row)."""
    store = open_state(recipe)
    try:
        if not any(r.run_id == report.run_id for r in store.runs(5)):
            return
        with store.transaction() as tx:
            tx.finish_run(
                report.run_id,
                finished_at=report.finished_at,
                status=report.status,
                exit_code=report.exit_code,
                summary={**report.summary(recipe), "context": context},
                error=report.error,
            )
    finally:
        store.close()


def record_command(tx: HistoryTransaction, recipe: str, command: str, summary: dict[str, Any]) -> str:
    """Record, in ``tx``, a command that changed a recipe without running it (``renew``,
    ``reset``) as a finished row of its run history; ``summary`` gets ``command`` and
    ``syncfw_version``. Returns the row's id."""
    now = utcnow()
    run_id = now.strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(2)
    summary = {"command": command, **summary, "syncfw_version": __version__}
    tx.start_run(run_id, recipe, command, iso(now) or "")
    tx.finish_run(
        run_id, finished_at=iso(now) or "", status="success", exit_code=0, summary=summary, error=None
    )
    return run_id


def record_renewal(recipe: Recipe, before: date | None, after: date, context: dict[str, Any]) -> str:
    """Record ``syncfw renew`` in the recipe's run history; returns the row's id."""
    summary = {
        "expires_before": before.isoformat() if before else None,
        "expires_after": after.isoformat(),
        "context": context,
    }
    store = open_state(recipe)
    try:
        with store.transaction() as tx:
            return record_command(tx, recipe.name, "renew", summary)
    finally:
        store.close()


@dataclasses.dataclass(frozen=True)
class RunEntry:
    """One row of ``syncfw runs``."""

    run_id: str
    recipe: str
    command: str
    started_at: str
    finished_at: str | None
    status: str
    exit_code: int | None
    error: str | None
    started_by: str | None
    trigger: str | None
    command_line: str | None
    syncfw_version: str | None
    connectors: dict[str, str]
    counts: dict[str, int]
    notion_requests: dict[str, int]
    detail: str | None
    operations: int = 0
    """Operations of the run kept in history (``syncfw runs --operations RUN_ID`` lists them)."""

    @property
    def duration(self) -> timedelta | None:
        start, end = parse_time(self.started_at), parse_time(self.finished_at)
        return end - start if start is not None and end is not None else None

    def as_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        duration = self.duration
        data["duration_seconds"] = None if duration is None else duration.total_seconds()
        return data


def entry(record: RunRecord, operations: int = 0) -> RunEntry:
    """A history row as :class:`RunEntry` (rows of older versions simply lack some fields)."""
    summary = record.summary or {}
    context = summary.get("context", {})
    counts = dict.fromkeys(COUNTS, 0)
    for target in summary.get("targets", {}).values():
        for name in COUNTS:
            counts[name] += int(target.get(name, 0))
    detail = None
    if record.command == "renew":
        detail = f"expires {summary.get('expires_before')} → {summary.get('expires_after')}"
    elif record.command == "reset":
        detail = "cursors cleared: " + (", ".join(summary.get("cleared", [])) or "none")
    elif record.command == "migrate":
        copied = summary.get("copied", {})
        rows = sum(int(n) for n in copied.values()) if isinstance(copied, dict) else 0
        detail = f"state moved from {summary.get('from')} to {summary.get('to')} ({rows:,} rows)"
    return RunEntry(
        run_id=record.run_id,
        recipe=record.recipe,
        command=record.command,
        started_at=record.started_at,
        finished_at=record.finished_at,
        status=record.status,
        exit_code=record.exit_code,
        error=record.error,
        started_by=context.get("started_by"),
        trigger=context.get("trigger"),
        command_line=context.get("command_line"),
        syncfw_version=summary.get("syncfw_version"),
        connectors=dict(context.get("connectors", {})),
        counts=counts,
        notion_requests=dict(summary.get("notion_requests", {})),
        detail=detail,
        operations=operations,
    )


def run_history(recipe: Recipe, limit: int = 20) -> list[RunEntry]:
    """The recipe's most recent runs and renewals, newest first (none when it never ran here)."""
    store = existing_state(recipe)
    if store is None:
        return []
    try:
        records = store.runs(limit)
        kept = store.operation_counts(r.run_id for r in records)
        return [entry(r, kept.get(r.run_id, 0)) for r in records]
    finally:
        store.close()


def run_operations(recipe: Recipe, run_id: str) -> Iterator[OperationRecord]:
    """Every operation run ``run_id`` of ``recipe`` made or planned, in order, read in batches
    from run history (none for a run pruned by ``retention.history_runs`` or that wrote nothing);
    their before and after values come from the journal, empty once ``retention.journal_days``
    pruned the run's entries."""
    store = existing_state(recipe)
    if store is None:
        return
    try:
        yield from store.all_operations(run_id)
    finally:
        store.close()


def newest_first(entries: list[RunEntry]) -> list[RunEntry]:
    """Entries of several recipes merged, newest first."""
    return sorted(entries, key=lambda e: e.started_at, reverse=True)  # ISO 8601 UTC sorts as text


def record_of(report: RunReport, recipe: Recipe) -> RunRecord:
    """The history row a run of ``recipe`` will have, from its report (before ``execute`` writes it)."""
    return RunRecord(
        report.run_id,
        report.recipe,
        report.command,
        report.started_at,
        report.finished_at or None,
        report.status,
        report.exit_code,
        report.summary(recipe),
        report.error,
    )
