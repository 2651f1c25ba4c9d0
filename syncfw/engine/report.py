"""What a run reports: :class:`RunReport` (one per run, with a :class:`TargetReport` per target),
and the hooks that watch a run (:class:`RunObserver`, :class:`Progress`).

:meth:`RunReport.as_dict` is the whole report (``--json``, plan files). What run history keeps is
:meth:`RunReport.summary`, bounded whatever the run's size: the counts, at most :data:`SAMPLE`
operations of each action and :data:`SAMPLE` entries of every other list, and the number of
updates and drift findings per source; :func:`record_operations` keeps every operation in the
history's own table (:class:`~syncfw.state.OperationRecord`), in batches.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from itertools import islice
from typing import Any

from more_itertools import chunked

from syncfw import __version__
from syncfw.clock import iso, utcnow
from syncfw.engine.backfill import Backfill
from syncfw.engine.model import LISTED_CREATES, Operation, TargetPlan, jsonable
from syncfw.engine.reads import ReadLedger
from syncfw.engine.reconcile import Reconciliation
from syncfw.errors import StateError
from syncfw.notion.client import NotionClient
from syncfw.recipe import Recipe, Target
from syncfw.state import OperationRecord, StateBackend

SAMPLE = 100
"""Entries a history summary keeps of each list (of operations: per action); counts stay whole."""
OPERATIONS_PER_TRANSACTION = 10_000
"""Operations :func:`record_operations` writes per state transaction."""


class RunObserver:
    """Watches runs (the health dashboard and alerts implement it). Errors it raises are kept as
    warnings of the run; they never fail a sync."""

    def run_started(self, report: RunReport, client: NotionClient, store: StateBackend) -> None:
        """The run holds its lock and is about to read; ``report`` has its id and start time."""

    def run_finished(self, report: RunReport, client: NotionClient, store: StateBackend) -> None:
        """The run ended (any status); ``report`` is complete."""


class Progress:
    """Receives progress events; the CLI draws them, the default ignores them."""

    def phase(self, target: str, text: str) -> None:
        """A new step of a target began (reading, planning, writing)."""

    def writes(self, target: str, total: int) -> None:
        """``total`` writes are about to be sent for ``target``."""

    def advance(self, target: str) -> None:
        """One write finished."""


@dataclass
class TargetReport:
    """The outcome of one target in a run or plan."""

    plan: TargetPlan
    """The plan as made, or once applied as carried out (created pages' ids, rejected writes)."""
    done: dict[str, int]
    notion_requests: dict[str, int]
    applied: bool
    reconciled: list[Reconciliation] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)
    """Sync keys whose create Notion did not answer and no lookup has found yet."""
    ledger: ReadLedger = field(default_factory=ReadLedger)
    """What the target's mappings read (checkpoints, and the records behind the writes)."""

    def as_dict(self) -> dict[str, Any]:
        """The whole report of the target: every operation and finding, but of a plan that creates
        more than :data:`~syncfw.engine.model.LISTED_CREATES` pages only the first creates, with
        ``creates_listed`` and ``creates_digest`` (every create's key and values, which
        ``syncfw run --plan`` checks)."""
        operations = self.plan.operations
        creates = operations.count("create")
        out = {**self._counts(None), "operations": list(_listed(operations, LISTED_CREATES))}
        if creates > LISTED_CREATES:
            out.update(creates_listed=LISTED_CREATES, creates_digest=operations.creates_digest())
        return out

    def summary(self, owners: Mapping[str, str]) -> dict[str, Any]:
        """:meth:`as_dict` bounded for run history: at most :data:`SAMPLE` operations of each
        action and :data:`SAMPLE` entries of every other list (counts stay whole), with
        ``operations_total``, and ``updated_by_source`` / ``drift_by_source``: source → updates
        that write a property it owns (``owners``: property → source) / drift findings on one."""
        p = self.plan
        updated: Counter[str] = Counter()
        for op in p.operations.of("update"):
            updated.update({owners[name] for name in op.after if name in owners})
        drifted = Counter(owners[d.property] for d in p.drift if d.property in owners)
        return {
            **self._counts(SAMPLE),
            "operations": [_operation(op) for op in _first_of_each_action(p.operations, SAMPLE)],
            "operations_total": len(p.operations),
            "updated_by_source": dict(updated),
            "drift_by_source": dict(drifted),
        }

    def _counts(self, limit: int | None) -> dict[str, Any]:
        """Everything but the operations; lists cut to ``limit`` entries (None: whole)."""
        p = self.plan
        counts = (
            self.done
            if self.applied
            else {"create": p.count("create"), "update": p.count("update"), "archive": p.count("archive")}
        )
        return {
            "data_source_id": p.data_source_id,
            "created": counts["create"],
            "updated": counts["update"],
            "unchanged": p.unchanged,
            "archived": counts["archive"],
            "failed": len(p.problems),
            "drift": len(p.drift),
            "pending_relations": len(p.pending_relations),
            "pending_relation_keys": list(islice(p.pending_relations, limit)),
            "pending_creates": self.pending[:limit],
            "unmatched": list(islice(p.unmatched, limit)),
            "drift_findings": [d.as_dict() for d in islice(p.drift, limit)],
            "problems": [
                {
                    "source": x.source,
                    "stream": x.stream,
                    "key": x.key,
                    "property": x.property,
                    "reason": x.reason,
                }
                for x in islice(p.problems, limit)
            ],
            "warnings": list(islice(p.warnings, limit)),
            "notion_requests": self.notion_requests,
            "reconciled": [r.as_dict() for r in self.reconciled],
        }


@dataclass
class RunReport:
    """What a run did. ``exit_code`` follows DESIGN.md: 0, 1, 3 (quarantined records) or 4 (guard)."""

    run_id: str
    recipe: str
    command: str
    started_at: str
    finished_at: str = ""
    status: str = "running"
    exit_code: int = 0
    error: str | None = None
    targets: dict[str, TargetReport] = field(default_factory=dict)
    notion_requests: dict[str, int] = field(default_factory=dict)
    recovered: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    backfill: Backfill | None = None
    """Set when the run stopped at its write cap, or carried on a backfill that an earlier one left."""

    def as_dict(self) -> dict[str, Any]:
        """The whole report (every target's :meth:`TargetReport.as_dict`)."""
        return {**self._head(), "targets": {name: t.as_dict() for name, t in self.targets.items()}}

    def _head(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "recipe": self.recipe,
            "command": self.command,
            "status": self.status,
            "exit_code": self.exit_code,
            "error": self.error,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "syncfw_version": __version__,
            "notion_requests": self.notion_requests,
            "recovered_intents": self.recovered,
            "warnings": self.warnings,
            "backfill": None if self.backfill is None else self.backfill.as_dict(),
        }

    def summary(self, recipe: Recipe) -> dict[str, Any]:
        """What run history keeps of the run (see the module docstring): :meth:`as_dict` with
        each target's :meth:`TargetReport.summary` and at most :data:`SAMPLE` recovered intents
        and warnings. Its size does not grow with the number of operations."""
        return {
            **self._head(),
            "operations_in": "run_operations",
            "targets": {
                name: t.summary(property_sources(recipe.targets[name])) for name, t in self.targets.items()
            },
            "recovered_intents": self.recovered[:SAMPLE],
            "warnings": self.warnings[:SAMPLE],
        }


def property_sources(target: Target) -> dict[str, str]:
    """Property → the recipe source whose mapping writes it, for one target."""
    return {name: mapping.source for mapping in target.mappings for name in mapping.properties}


def _operation(op: Operation) -> dict[str, Any]:
    return {
        "action": op.action,
        "sync_key": op.sync_key,
        "page_id": op.page_id,
        "before": {k: jsonable(v) for k, v in op.before.items()},
        "after": {k: jsonable(v) for k, v in op.after.items()},
    }


def _listed(operations: Iterable[Operation], creates: int) -> Iterator[dict[str, Any]]:
    """Every operation as JSON, but of the creates only the first ``creates``."""
    for op in operations:
        if op.action == "create":
            if creates == 0:
                continue
            creates -= 1
        yield _operation(op)


def _first_of_each_action(operations: Iterable[Operation], limit: int) -> list[Operation]:
    """The first ``limit`` operations of each action, in their order."""
    seen: Counter[str] = Counter()
    kept = []
    for op in operations:
        if seen[op.action] < limit:
            seen[op.action] += 1
            kept.append(op)
    return kept


def _operation_records(report: RunReport) -> Iterator[OperationRecord]:
    """Every operation of the run's targets, numbered from 1, as run history keeps them."""
    numbered = enumerate(
        ((name, op) for name, target in report.targets.items() for op in target.plan.operations), start=1
    )
    for seq, (name, op) in numbered:  # canonical values: the store writes tuples as JSON lists
        yield OperationRecord(seq, name, op.action, op.sync_key, op.page_id, dict(op.before), dict(op.after))


def record_operations(store: StateBackend, report: RunReport) -> int:
    """Keep every operation of the run in the history's own table (``run_operations``),
    :data:`OPERATIONS_PER_TRANSACTION` per transaction, so that neither memory nor one statement
    grows with the run. Returns how many were kept. A store that refuses them does not fail the
    run (its writes are made and journaled): the reason becomes a warning of ``report``."""
    kept = 0
    try:
        for batch in chunked(_operation_records(report), OPERATIONS_PER_TRANSACTION):
            with store.transaction() as tx:
                kept += tx.add_operations(report.run_id, batch)
    except StateError as exc:
        report.warnings.append(f"run history keeps {kept} of the run's operations: {exc}")
    return kept


def apply_retention(store: StateBackend, recipe: Recipe, report: RunReport) -> None:
    """Prune the state store as ``recipe.retention`` says (call it at the end of a run that
    completed, with or without quarantined records): run history beyond ``history_runs`` runs, with their operations, and settled journal
    entries older than ``journal_days`` (:meth:`~syncfw.state.HistoryTransaction.prune`). A store
    that refuses does not fail the run: the reason becomes a warning of ``report``."""
    kept = recipe.retention
    # a whole second: the journal records some entries to the second, others to the millisecond
    since = iso((utcnow() - timedelta(days=kept.journal_days)).replace(microsecond=0), "milliseconds") or ""
    try:
        with store.transaction() as tx:
            tx.prune(keep_runs=kept.history_runs, journal_before=since)
    except StateError as exc:
        report.warnings.append(f"retention could not prune the state store: {exc}")
