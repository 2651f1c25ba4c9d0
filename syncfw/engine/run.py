"""One run of a recipe: preflight, then plan (and apply) each target in dependency order.

:func:`execute` is what ``syncfw plan`` (``apply=False``) and ``syncfw run`` call. It returns a
:class:`RunReport` whose :meth:`RunReport.as_dict` is the JSON both commands print with ``--json``.
"""

from __future__ import annotations

import functools
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from typing import Any

from pydantic import BaseModel

from syncfw import __version__
from syncfw.connector import Connector
from syncfw.engine.apply import Applier
from syncfw.engine.plan import (
    Operation,
    StreamRead,
    TargetPlan,
    jsonable,
    ordered_mappings,
    plan_target,
    read_stream,
)
from syncfw.errors import GuardStop, SyncfwError
from syncfw.mapping import compile_mapping, normalize
from syncfw.notion.budget import RateBudget
from syncfw.notion.client import NotionClient
from syncfw.notion.schema import preflight
from syncfw.plugins import Registry
from syncfw.recipe import Recipe, Target
from syncfw.state import StateStore

GUARD_MIN_PAGES = 10


@dataclass
class RunOptions:
    """Options of one run.

    Attributes:
        apply: False for a plan (dry run): read everything, write nothing.
        rate_limit: Notion requests per second, overriding the recipe's ``notion.rate_limit``.
        full_refresh: ignore stored cursors and read every source record.
        allow_mass_change: let a run archive or update more than the target's guard allows.
    """

    apply: bool = True
    rate_limit: float | None = None
    full_refresh: bool = False
    allow_mass_change: bool = False


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
    done: dict[str, int]
    notion_requests: dict[str, int]
    applied: bool

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
            "pending_relation_keys": p.pending_relations,
            "unmatched": p.unmatched,
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
        }


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def new_run_id() -> str:
    """A sortable, unique run id such as ``20261121T210501Z-3f9a``."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(2)


def notion_client_for(recipe: Recipe, rate_limit: float | None = None) -> NotionClient:
    """A Notion client for the recipe's token, paced at its rate limit (requests per second)."""
    budget = RateBudget(rate_limit or recipe.notion.rate_limit, burst=3)
    return NotionClient(recipe.notion.token, budget)


def execute(
    recipe: Recipe,
    registry: Registry,
    options: RunOptions,
    progress: Progress | None = None,
) -> RunReport:
    """Plan, and with ``options.apply`` also apply, every target of ``recipe``.

    Expected failures do not raise: they end up in the report (``status``, ``exit_code``,
    ``error``). A :class:`~syncfw.errors.StateError` still ends the run (exit 1).
    """
    progress = progress or Progress()
    command = "run" if options.apply else "plan"
    report = RunReport(new_run_id(), recipe.name, command, _now())
    store = StateStore(recipe.state_path)
    client = notion_client_for(recipe, options.rate_limit)
    connectors: dict[str, Connector] = {}
    if options.apply:
        with store.transaction() as tx:
            tx.start_run(report.run_id, recipe.name, command, report.started_at)
    try:
        _execute(recipe, registry, options, progress, report, store, client, connectors)
    except SyncfwError as exc:
        report.error = str(exc)
        report.exit_code = exc.exit_code
        report.status = "stopped" if isinstance(exc, GuardStop) else "failed"
    finally:
        for connector in connectors.values():
            connector.close()
        client.close()
        report.finished_at = _now()
        report.notion_requests = client.stats.as_dict()
        if options.apply:
            with store.transaction() as tx:
                tx.finish_run(
                    report.run_id,
                    finished_at=report.finished_at,
                    status=report.status,
                    exit_code=report.exit_code,
                    summary=report.as_dict(),
                    error=report.error,
                )
        store.close()
    return report


def _execute(
    recipe: Recipe,
    registry: Registry,
    options: RunOptions,
    progress: Progress,
    report: RunReport,
    store: StateStore,
    client: NotionClient,
    connectors: dict[str, Connector],
) -> None:
    for name, source in recipe.sources.items():
        assert isinstance(source.config, BaseModel), "recipes are loaded with the plugin registry"
        connector = registry.connector(source.connector)(source.config)
        connectors[name] = connector
        connector.check()
    resolved = preflight(client, store, recipe)

    @cache
    def user_name(user_id: str) -> str | None:
        try:
            name = client.retrieve_user(user_id).get("name")
            return str(name) if name else None
        except SyncfwError:
            return None

    for target in recipe.targets_in_order():
        before = client.stats.copy()
        _, data_source_id, schema = resolved[target.name]
        compiled = {m.name: compile_mapping(m, registry.transforms) for m in target.mappings}
        first_run = not store.pages(target.name)
        reads: dict[str, StreamRead] = {}
        for mapping in ordered_mappings(target):
            cursor = None
            if not options.full_refresh and not first_run:
                cursor = store.cursor(target.name, mapping.source, mapping.stream)
            progress.phase(target.name, f"reading {mapping.source} {mapping.stream}")
            reads[mapping.name] = read_stream(
                connectors[mapping.source], mapping, cursor, compiled[mapping.name].fields
            )
        progress.phase(target.name, "reading Notion")
        live = list(client.query_pages(data_source_id))
        mark_type = schema.get(target.mark_property or "", {}).get("type") if target.mark_property else None
        plan = plan_target(
            target=target,
            compiled=compiled,
            reads=reads,
            data_source_id=data_source_id,
            live_pages=live,
            store=store,
            related_pages=store.pages,
            user_name=user_name,
            mark_type=mark_type,
        )
        target_report = TargetReport(plan, {"create": 0, "update": 0, "archive": 0}, {}, options.apply)
        report.targets[target.name] = target_report
        if options.apply:
            _guard(target, plan, len(live), options)
            applier = Applier(client, store, plan, functools.partial(progress.advance, target.name))
            progress.writes(target.name, len(plan.operations))
            try:
                applier.apply()
            finally:
                target_report.done = applier.done
            _advance_cursors(store, target, plan)
        target_report.notion_requests = client.stats.minus(before)
    if options.apply:
        _link_pending_relations(recipe, report, store, client)
    problems = sum(len(t.plan.problems) for t in report.targets.values())
    report.status = "success" if problems == 0 else "partial"
    report.exit_code = 0 if problems == 0 else 3


def _advance_cursors(store: StateStore, target: Target, plan: TargetPlan) -> None:
    """Move each stream's cursor to its newest checkpoint before the first record that failed."""
    with store.transaction() as tx:
        for name, read in plan.reads.items():
            failed = plan.failed.get(name)
            cursor = read.cursor_before(min(failed) if failed else None)
            if cursor is not None:
                tx.set_cursor(target.name, read.source, read.stream, cursor, _now())


def _link_pending_relations(
    recipe: Recipe, report: RunReport, store: StateStore, client: NotionClient
) -> None:
    """Second phase: relations to pages created later in this run (e.g. within one target)."""
    for target in recipe.targets_in_order():
        plan = report.targets[target.name].plan
        if not plan.pending_relations:
            continue
        identity = store.pages(target.name)
        written = store.written(target.name)
        stored = store.relation_keys(target.name)
        ops: dict[str, Operation] = {}
        still: list[dict[str, Any]] = []
        for item in plan.pending_relations:
            key, prop = item["sync_key"], item["property"]
            related = store.pages(item["target"])
            keys = stored.get(key, {}).get(prop, ())
            ids = [related[k].page_id for k in keys if k in related and not related[k].archived]
            value = normalize("relation", tuple(sorted(set(ids))))
            missing = [k for k in keys if k not in related or related[k].archived]
            if missing:
                still.append({**item, "keys": missing})
            entry = identity.get(key)
            if entry is None or entry.archived or written.get(key, {}).get(prop) == value:
                continue
            op = ops.setdefault(key, Operation("update", key, entry.page_id))
            op.before[prop] = written.get(key, {}).get(prop)
            op.after[prop] = value
        plan.pending_relations = still
        if ops:
            second = TargetPlan(target.name, plan.data_source_id, plan.sync_key_property, types=plan.types)
            second.operations = list(ops.values())
            applier = Applier(client, store, second)
            applier.apply()
            report.targets[target.name].done["update"] += applier.done["update"]
            plan.problems += second.problems


def _guard(target: Target, plan: TargetPlan, live_pages: int, options: RunOptions) -> None:
    """Stop before writing when a run would archive or overwrite too much of a target."""
    if options.allow_mass_change or live_pages < GUARD_MIN_PAGES:
        return
    limit = target.max_change
    changes = plan.count("archive") + plan.count("update")
    if changes > limit * live_pages:
        raise GuardStop(
            f"target {target.name}: this run would archive or update {changes} of {live_pages} pages "
            f"(more than {limit:.0%}); nothing was written. Review it with `syncfw plan`, then rerun "
            "with --allow-mass-change if it is intended."
        )
