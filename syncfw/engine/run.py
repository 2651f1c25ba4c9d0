"""One run of a recipe: preflight, then plan (and apply) each target in dependency order.

:func:`execute` is what ``syncfw plan`` (``apply=False``) and ``syncfw run`` call. It returns a
:class:`RunReport` whose :meth:`RunReport.as_dict` is the JSON both commands print with ``--json``.
"""

from __future__ import annotations

import functools
import secrets
import signal
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from pydantic import BaseModel

from syncfw import __version__
from syncfw.clock import now_iso, today, utcnow
from syncfw.connector import Checkpoint, Connector, Record
from syncfw.engine.apply import Applier, inflight_grace
from syncfw.engine.plan import (
    Operation,
    StoredMatches,
    StreamRead,
    TargetPlan,
    jsonable,
    ordered_mappings,
    plan_target,
    read_stream,
    resolve_keys,
)
from syncfw.engine.reconcile import Reconciliation, reconcile_due, reconcile_stream, record_reconciled
from syncfw.engine.recover import settle_open_intents
from syncfw.engine.reviewed import mass_change_approved
from syncfw.engine.signals import StopSignal, stop_on_signals
from syncfw.errors import GuardStop, NotionNotFound, SyncfwError
from syncfw.mapping import compile_mapping, normalize
from syncfw.notion.budget import budget_for
from syncfw.notion.claim import Claim, write_claim
from syncfw.notion.client import NotionClient
from syncfw.notion.schema import preflight
from syncfw.plugins import Registry
from syncfw.recipe import BoundMapping, Recipe, Target
from syncfw.recipe.governance import check_runnable
from syncfw.secrets import hide
from syncfw.state import NotionRead, RunLock, StateStore

GUARD_MIN_PAGES = 10
READ_OVERLAP = timedelta(minutes=1)


@dataclass
class RunOptions:
    """Options of one run.

    Attributes:
        apply: False for a plan (dry run): read everything, write nothing.
        rate_limit: Notion requests per second, overriding the recipe's ``notion.rate_limit``.
        full_refresh: ignore stored cursors and read every source record.
        reconcile: scan every source key and handle records gone from the source as deletes, on
            every target (otherwise on one run in each target's ``reconcile_every``).
        allow_mass_change: let a run archive or update more than the target's guard allows.
        reviewed_plan: a plan file's JSON (``syncfw plan --out``); the run applies only when its
            fresh plan has exactly the same operations, before and after values.
    """

    apply: bool = True
    rate_limit: float | None = None
    full_refresh: bool = False
    reconcile: bool = False
    allow_mass_change: bool = False
    reviewed_plan: dict[str, Any] | None = None
    observers: list[RunObserver] = field(default_factory=list)


class RunObserver:
    """Watches runs (the health dashboard and alerts implement it). Errors it raises are kept as
    warnings of the run; they never fail a sync."""

    def run_started(self, report: RunReport, client: NotionClient, store: StateStore) -> None:
        """The run holds its lock and is about to read; ``report`` has its id and start time."""

    def run_finished(self, report: RunReport, client: NotionClient, store: StateStore) -> None:
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
    done: dict[str, int]
    notion_requests: dict[str, int]
    applied: bool
    reconciled: list[Reconciliation] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)
    """Sync keys whose create Notion did not answer and no lookup has found yet."""

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
            "pending_creates": self.pending,
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
        }


def new_run_id() -> str:
    """A sortable, unique run id such as ``20261121T210501Z-3f9a``."""
    return utcnow().strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(2)


def notion_client_for(recipe: Recipe, rate_limit: float | None = None) -> NotionClient:
    """A Notion client for the recipe's token, paced at its rate limit (requests per second)."""
    budget = budget_for(
        recipe.notion.token.get_secret_value(), rate_limit or recipe.notion.rate_limit, burst=3
    )
    return NotionClient(recipe.notion.token, budget)


def execute(
    recipe: Recipe,
    registry: Registry,
    options: RunOptions,
    progress: Progress | None = None,
) -> RunReport:
    """Plan, and with ``options.apply`` also apply, every target of ``recipe``.

    A run holds the recipe's run lock, settles the open intents of a crashed run first, and
    stops cleanly on SIGINT/SIGTERM (exit 130/143) when called from the main thread. Expected
    failures do not raise: they end up in the report (``status``, ``exit_code``, ``error``).

    Raises:
        GuardStop: the recipe is experimental and expired (exit 4); nothing was done.
        ConfigError: ``SYNCFW_INFLIGHT_GRACE`` is not a number of seconds (exit 2); nothing was done.
        LockHeld: another run of the recipe holds the lock (exit 75); nothing was done.
        StateError: the state store cannot be opened.
    """
    check_runnable(recipe, today())
    inflight_grace()  # a malformed SYNCFW_INFLIGHT_GRACE is refused before anything is read
    progress = progress or Progress()
    command = "run" if options.apply else "plan"
    report = RunReport(new_run_id(), recipe.name, command, now_iso())
    store = StateStore(recipe.state_path)
    try:
        if not options.apply:
            _guarded(recipe, registry, options, progress, report, store, threading.Event())
            return report
        with RunLock(recipe.state_path, recipe.name, command), stop_on_signals() as stop:
            with store.transaction() as tx:
                tx.end_unfinished_runs(report.started_at)
                tx.start_run(report.run_id, recipe.name, command, report.started_at)
            _guarded(recipe, registry, options, progress, report, store, stop)
            store.end_run(
                report.run_id,
                finished_at=report.finished_at,
                status=report.status,
                exit_code=report.exit_code,
                summary=report.as_dict(),
                error=report.error,
            )
        return report
    finally:
        store.close()


def _interrupted(report: RunReport, stop: StopSignal) -> None:
    done = sum(sum(t.done.values()) for t in report.targets.values())
    planned = sum(len(t.plan.operations) for t in report.targets.values())
    name = signal.Signals(stop.signum).name if stop.signum else "a signal"
    report.status = "interrupted"
    report.exit_code = 128 + (stop.signum or signal.SIGTERM)
    report.error = (
        f"stopped by {name}: {done} of {planned} planned writes done and committed; the rest, and any "
        "target not reached, are left for the next run"
    )


def _guarded(
    recipe: Recipe,
    registry: Registry,
    options: RunOptions,
    progress: Progress,
    report: RunReport,
    store: StateStore,
    stop: threading.Event,
) -> None:
    client = notion_client_for(recipe, options.rate_limit)
    connectors: dict[str, Connector] = {}
    observers = options.observers if options.apply else []
    for observer in observers:
        _observe(report, observer.run_started, client, store)
    try:
        _execute(recipe, registry, options, progress, report, store, client, connectors, stop)
    except SyncfwError as exc:
        report.error = str(exc)
        report.exit_code = exc.exit_code
        report.status = "stopped" if isinstance(exc, GuardStop) else "failed"
    finally:
        for connector in connectors.values():
            connector.close()
        report.finished_at = now_iso()
        report.notion_requests = client.stats.as_dict()
        if stop.is_set() and isinstance(stop, StopSignal):
            _interrupted(report, stop)
        _hide_secrets(report, recipe.secrets())
        for observer in observers:
            _observe(report, observer.run_finished, client, store)
        client.close()


def _hide_secrets(report: RunReport, secrets: set[str]) -> None:
    """Error messages are secret-free by contract; this second lock covers text that quotes what
    a library or a service said (an HTTP header, a URL) before it reaches output, state or a plan."""
    if report.error:
        report.error = hide(report.error, secrets)
    report.warnings = [hide(w, secrets) for w in report.warnings]
    for target in report.targets.values():
        target.plan.warnings = [hide(w, secrets) for w in target.plan.warnings]


def _observe(report: RunReport, hook: Any, client: NotionClient, store: StateStore) -> None:
    try:
        hook(report, client, store)
    except Exception as exc:  # a dashboard or an alert must never fail the sync itself
        report.warnings.append(f"{getattr(hook, '__qualname__', hook)}: {exc}")


def _execute(
    recipe: Recipe,
    registry: Registry,
    options: RunOptions,
    progress: Progress,
    report: RunReport,
    store: StateStore,
    client: NotionClient,
    connectors: dict[str, Connector],
    stop: threading.Event,
) -> None:
    for name, source in recipe.sources.items():
        assert isinstance(source.config, BaseModel), "recipes are loaded with the plugin registry"
        connector = registry.connector(source.connector)(source.config)
        connectors[name] = connector
        connector.check()
    resolved = preflight(client, store, recipe)
    if options.apply:
        data_sources = {name: r.data_source_id for name, r in resolved.items()}
        report.recovered = settle_open_intents(client, store, recipe, data_sources)

    @cache
    def user_name(user_id: str) -> str | None:
        try:
            name = client.retrieve_user(user_id).get("name")
            return str(name) if name else None
        except SyncfwError:
            return None

    plans: dict[str, TargetPlan] = {}
    for target in recipe.targets_in_order():
        if stop.is_set():
            break
        before = client.stats.copy()
        located = resolved[target.name]
        data_source_id, schema = located.data_source_id, located.schema
        claim = Claim.of(recipe.name, target, located.sync_key_property_id)
        if options.apply and located.claim is None:
            write_claim(client, data_source_id, claim)
        # the claim is out of date, mostly because the sync-key property was deleted and added
        # again: every page is read so that keys are refilled, then the claim is updated
        rekeyed = located.claim is not None and located.claim != claim
        compiled = {m.name: compile_mapping(m, registry.transforms) for m in target.mappings}
        first_run = store.page_count(target.name) == 0
        quarantined = store.quarantined(target.name)
        unmatched = store.unmatched(target.name)
        reads: dict[str, StreamRead] = {}
        reconciling = not first_run and reconcile_due(store, target, asked=options.reconcile)
        reconciled: list[Reconciliation] = []
        for mapping in ordered_mappings(target):
            cursor = None
            if not options.full_refresh and not first_run:
                cursor = store.cursor(target.name, mapping.source, mapping.stream)
            read = _read(
                store,
                target,
                mapping,
                connectors[mapping.source],
                cursor,
                compiled[mapping.name].fields,
                options,
                recipe.secrets(),
            )
            read.keep_records = options.apply
            read.retries = [
                Record(mapping.stream, q.record_key, q.data, q.deleted)
                for q in quarantined
                if q.mapping == mapping.name
            ]
            kept = [(key, data) for name, key, data in unmatched if name == mapping.name]
            read.retries += [Record(mapping.stream, key, data) for key, data in kept]
            read.unmatched_keys = {key for key, _ in kept}
            if reconciling:
                progress.phase(target.name, f"scanning the keys of {mapping.source} {mapping.stream}")
                found = reconcile_stream(store, target, mapping, connectors[mapping.source])
                reconciled.append(found)
                read.retries += found.deletes()  # last, so a gone record wins over a retry of it
            reads[mapping.name] = read
        progress.phase(target.name, "reading Notion")
        read_started = utcnow()
        watermark = _notion_watermark(store, target.name)
        complete = (
            options.full_refresh
            or first_run
            or rekeyed
            or watermark is None
            or watermark[1] >= target.full_read_every - 1
        )
        if complete or watermark is None:
            live = client.query_pages(data_source_id)
        else:
            # pages edited since the last read (Notion rounds last_edited_time down to the minute)
            since = watermark[0].replace(second=0, microsecond=0) - READ_OVERLAP
            edited = {"timestamp": "last_edited_time", "last_edited_time": {"on_or_after": since.isoformat()}}
            live = client.query_pages(data_source_id, filter=edited)
        mark_type = schema.get(target.mark_property or "", {}).get("type") if target.mark_property else None
        plan = plan_target(
            target=target,
            compiled=compiled,
            reads=reads,
            data_source_id=data_source_id,
            live_pages=live,
            store=store,
            user_name=user_name,
            retrieve_page=functools.partial(_retrieve, client),
            mark_type=mark_type,
            complete=complete,
            phase=functools.partial(progress.phase, target.name),
        )
        plans[target.name] = plan
        plan.warnings += [r.error for r in reconciled if r.error]
        target_report = TargetReport(
            plan, {"create": 0, "update": 0, "archive": 0}, {}, options.apply, reconciled
        )
        report.targets[target.name] = target_report
        if options.apply:
            if options.reviewed_plan is not None:
                _check_reviewed(options.reviewed_plan, target.name, plan)
            _guard(target, plan, plan.pages, options)
            applier = Applier(
                client,
                store,
                plan,
                report.run_id,
                stop=stop,
                on_done=functools.partial(progress.advance, target.name),
            )
            progress.writes(target.name, len(plan.operations))
            try:
                applier.apply()
            finally:
                target_report.done = applier.done
                target_report.pending = applier.pending_keys
            _advance_cursors(store, target, plan, report.run_id)
            runs_since_full = 0 if complete else (watermark[1] + 1 if watermark else 0)
            with store.transaction() as tx:
                tx.set_notion_read(target.name, NotionRead(read_started, runs_since_full))
            if not stop.is_set():
                done = reconciling and all(r.error is None for r in reconciled)
                record_reconciled(store, target, reconciled=done, at=read_started.isoformat())
                if rekeyed and not plan.problems:
                    write_claim(client, data_source_id, claim)
        target_report.notion_requests = client.stats.minus(before)
    if options.apply and not stop.is_set():
        _link_pending_relations(recipe, report, store, client)
    problems = sum(len(t.plan.problems) for t in report.targets.values())
    report.status = "success" if problems == 0 else "partial"
    report.exit_code = 0 if problems == 0 else 3


def _retrieve(client: NotionClient, page_id: str) -> dict[str, Any] | None:
    """One page by id, or None when Notion no longer has it (404)."""
    try:
        return client.retrieve_page(page_id)
    except NotionNotFound:
        return None


def _notion_watermark(store: StateStore, target: str) -> tuple[datetime, int] | None:
    """When the target's pages were last read, and how many incremental reads followed a full one."""
    read = store.notion_read(target)
    return None if read is None else (read.at, read.since_full)


def _read(
    store: StateStore,
    target: Target,
    mapping: BoundMapping,
    connector: Connector,
    cursor: str | None,
    fields: list[str],
    options: RunOptions,
    secrets: set[str],
) -> StreamRead:
    """One stream's read, consumed while the target is planned. For runs, its attempt and its
    success or error are recorded as it starts and ends (source freshness)."""
    read = read_stream(connector, mapping, cursor, fields)
    if options.apply:
        read.items = _recorded(store, target, mapping, read.items or iter(()), secrets)
    return read


def _recorded(
    store: StateStore,
    target: Target,
    mapping: BoundMapping,
    items: Iterator[Record | Checkpoint],
    secrets: set[str],
) -> Iterator[Record | Checkpoint]:
    with store.transaction() as tx:
        tx.read_attempted(target.name, mapping.source, mapping.stream, now_iso())
    try:
        yield from items
    except SyncfwError as exc:
        with store.transaction() as tx:
            error = hide(str(exc).splitlines()[0] if str(exc) else type(exc).__name__, secrets)
            tx.read_finished(target.name, mapping.source, mapping.stream, now_iso(), error)
        raise
    with store.transaction() as tx:
        tx.read_finished(target.name, mapping.source, mapping.stream, now_iso(), None)


def _check_reviewed(reviewed: dict[str, Any], target: str, plan: TargetPlan) -> None:
    """Refuse to apply when the fresh plan of ``target`` differs from the reviewed plan file.

    Raises:
        GuardStop: operations differ; the message names each one and what changed.
    """
    saved = {
        (op["action"], op["sync_key"]): op
        for op in reviewed.get("targets", {}).get(target, {}).get("operations", [])
    }
    fresh = {(op.action, op.sync_key): op for op in plan.operations}
    differences = []
    for key in sorted(set(saved) | set(fresh)):
        action, sync_key = key
        if key not in fresh:
            differences.append(
                f"{action} {sync_key}: in the reviewed plan, no longer needed (Notion or the source changed)"
            )
            continue
        if key not in saved:
            differences.append(f"{action} {sync_key}: needed now, not in the reviewed plan")
            continue
        op, old = fresh[key], saved[key]
        before = {k: jsonable(v) for k, v in op.before.items()}
        after = {k: jsonable(v) for k, v in op.after.items()}
        for prop in sorted(set(before) | set(old.get("before", {}))):
            if before.get(prop) != old.get("before", {}).get(prop):
                differences.append(
                    f"{action} {sync_key}: {prop!r} was {old.get('before', {}).get(prop)!r} when planned, "
                    f"is {before.get(prop)!r} in Notion now"
                )
        if after != old.get("after", {}):
            differences.append(f"{action} {sync_key}: the values to write changed since the plan")
    if differences:
        raise GuardStop(
            f"target {target}: the reviewed plan is stale; nothing was written:\n  "
            + "\n  ".join(differences)
            + "\nMake a new plan with `syncfw plan --out` and review it."
        )


def _advance_cursors(store: StateStore, target: Target, plan: TargetPlan, run_id: str) -> None:
    """Move each stream's cursor to its newest checkpoint before the first record not written,
    journaling the old cursor so that ``syncfw rollback`` can rewind it."""
    with store.transaction() as tx:
        for name, read in plan.reads.items():
            failed = plan.failed.get(name)
            cursor = read.cursor_before(min(failed) if failed else None)
            if cursor is None:
                continue
            old = store.cursor(target.name, read.source, read.stream)
            if old == cursor:
                continue
            seq = tx.open_intent(
                run_id,
                target.name,
                "cursor",
                f"{read.source}/{read.stream}",
                None,
                {"cursor": old},
                {"cursor": cursor},
                now_iso(),
            )
            tx.set_cursor(target.name, read.source, read.stream, cursor, now_iso())
            tx.settle(seq, "applied", now_iso())


def _link_pending_relations(
    recipe: Recipe, report: RunReport, store: StateStore, client: NotionClient
) -> None:
    """Second phase: relations to pages created later in this run (e.g. within one target)."""
    for target in recipe.targets_in_order():
        if target.name not in report.targets:
            continue
        plan = report.targets[target.name].plan
        if not plan.pending_relations:
            continue
        pending_keys = {item["sync_key"] for item in plan.pending_relations}
        identity = store.pages_for(target.name, pending_keys)
        written = store.written_for(target.name, pending_keys)
        stored = store.relation_keys_for(target.name, pending_keys)
        matches = functools.cache(functools.partial(StoredMatches, store))
        ops: dict[str, Operation] = {}
        still: list[dict[str, Any]] = []
        for item in plan.pending_relations:
            key, prop = item["sync_key"], item["property"]
            keys = stored.get(key, {}).get(prop, ())
            via = getattr(target.properties[prop], "via", None)
            ids, missing = resolve_keys(store.pages_for, matches, item["target"], via, keys)
            value = normalize("relation", tuple(sorted(set(ids))))
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
            applier = Applier(client, store, second, report.run_id)
            applier.apply()
            report.targets[target.name].done["update"] += applier.done["update"]
            plan.problems += second.problems


def _guard(target: Target, plan: TargetPlan, live_pages: int, options: RunOptions) -> None:
    """Stop before writing when a run would archive or overwrite too much of a target, or create
    pages in a target that holds pages the state store cannot identify (their sync keys emptied
    or edited while the state store was lost: creating would duplicate them). Refilling a sync
    key a page lost (the state store knows the page) overwrites nothing and is not counted."""
    if mass_change_approved(options.allow_mass_change, options.reviewed_plan):
        return
    creates = plan.count("create")
    if creates and plan.unidentified:
        examples = ", ".join(plan.unidentified[:3])
        raise GuardStop(
            f"target {target.name}: the state store knows no page of this target, and the data source "
            f"holds {plan.unidentified_count} pages whose {plan.sync_key_property} is empty or matches no "
            f"source record ({examples}); creating {creates} pages could duplicate them, so nothing was "
            f"written. Restore those keys in Notion (or the state store), or rerun with "
            "--allow-mass-change if the new pages are intended."
        )
    if live_pages < GUARD_MIN_PAGES:
        return
    limit = target.max_change
    changes = plan.count("archive") + plan.count("update") - plan.key_refills()
    if changes > limit * live_pages:
        raise GuardStop(
            f"target {target.name}: this run would archive or update {changes} of {live_pages} pages "
            f"(more than {limit:.0%}); nothing was written. Review it with `syncfw plan`, then rerun "
            "with --allow-mass-change if it is intended."
        )
