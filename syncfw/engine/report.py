"""What a run reports: :class:`RunReport` (one per run, with a :class:`TargetReport` per target),
and the hooks that watch a run (:class:`RunObserver`, :class:`Progress`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from syncfw import __version__
from syncfw.engine.backfill import Backfill
from syncfw.engine.model import TargetPlan, jsonable
from syncfw.engine.reads import ReadLedger
from syncfw.engine.reconcile import Reconciliation
from syncfw.notion.client import NotionClient
from syncfw.state import StateBackend


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
            "pending_relation_keys": list(p.pending_relations),
            "pending_creates": self.pending,
            "unmatched": list(p.unmatched),
            "drift_findings": [d.as_dict() for d in p.drift],
            "problems": [
                {
                    "source": x.source,
                    "stream": x.stream,
                    "key": x.key,
                    "property": x.property,
                    "reason": x.reason,
                }
                for x in p.problems
            ],
            "warnings": list(p.warnings),
            "operations": [
                {
                    "action": op.action,
                    "sync_key": op.sync_key,
                    "page_id": op.page_id,
                    "before": {k: jsonable(v) for k, v in op.before.items()},
                    "after": {k: jsonable(v) for k, v in op.after.items()},
                }
                for op in p.operations
            ],
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
            "targets": {name: t.as_dict() for name, t in self.targets.items()},
            "notion_requests": self.notion_requests,
            "recovered_intents": self.recovered,
            "warnings": self.warnings,
            "backfill": None if self.backfill is None else self.backfill.as_dict(),
        }
