"""One run of a recipe: preflight, then plan (and apply) each target in dependency order.

:func:`execute` is what ``syncfw plan`` (``apply=False``) and ``syncfw run`` call. It returns a
:class:`RunReport` whose :meth:`RunReport.as_dict` is the JSON both commands print with ``--json``.
"""

from __future__ import annotations

import dataclasses
import functools
import secrets
import signal
import threading
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from syncfw.clock import now_iso, today, utcnow
from syncfw.engine.apply import Applier, inflight_grace
from syncfw.engine.backfill import RECENT_RUNS, WriteCap, latest_backfill
from syncfw.engine.commit import commit_target
from syncfw.engine.guards import check_reviewed, guard
from syncfw.engine.model import ApplyResult, TargetPlan
from syncfw.engine.plan import PlannedTarget, plan_target
from syncfw.engine.reads import stream_reads, target_window
from syncfw.engine.reconcile import reconcile_due, record_reconciled
from syncfw.engine.recover import settle_open_intents
from syncfw.engine.relations import PlannedPages, link_pending_relations, new_page
from syncfw.engine.report import (
    Progress,
    RunObserver,
    RunReport,
    TargetReport,
    apply_retention,
    record_operations,
)
from syncfw.engine.reviewed import mass_change_approved
from syncfw.engine.schema_check import SchemaCheck
from syncfw.engine.signals import StopSignal, stop_on_signals
from syncfw.engine.sources import Sources
from syncfw.errors import GuardStop, NotionNotFound, SyncfwError
from syncfw.mapping import compile_mapping
from syncfw.notion.budgets import shared_budget
from syncfw.notion.claim import Claim, write_claim
from syncfw.notion.client import NotionClient
from syncfw.notion.credentials import credentials_for
from syncfw.notion.names import rename_warnings
from syncfw.notion.schema import keep_data_source, preflight
from syncfw.plugins import Registry
from syncfw.recipe import Recipe
from syncfw.recipe.governance import check_runnable
from syncfw.secrets import hide
from syncfw.state import NotionRead, StateBackend, open_state, run_lock

__all__ = [
    "Progress",
    "RunObserver",
    "RunOptions",
    "RunReport",
    "TargetReport",
    "execute",
    "notion_client_for",
]


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
        max_writes: the most page writes the run sends (``--max-writes``; None: the recipe's
            ``max_writes``, if any). The rest is left to the next runs (:mod:`syncfw.engine.backfill`).
    """

    apply: bool = True
    rate_limit: float | None = None
    full_refresh: bool = False
    reconcile: bool = False
    allow_mass_change: bool = False
    reviewed_plan: dict[str, Any] | None = None
    max_writes: int | None = None
    observers: list[RunObserver] = field(default_factory=list)


def new_run_id() -> str:
    """A sortable, unique run id such as ``20261121T210501Z-3f9a``."""
    return utcnow().strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(2)


def notion_client_for(
    recipe: Recipe, rate_limit: float | None = None, store: StateBackend | None = None
) -> NotionClient:
    """A Notion client for the recipe's credentials (:mod:`syncfw.notion.credentials`: a token,
    a token file read again on a 401, or an OAuth connection whose tokens ``store`` keeps), paced
    at its rate limit (requests per second) on the integration's budget.

    Raises:
        ConfigError: ``notion.oauth`` without ``store``; a token that cannot be sent.
        NotionAuthError: an OAuth connection could not obtain an access token.
    """
    credentials = credentials_for(recipe.notion, store)
    budget = shared_budget(credentials.budget_key, rate_limit or recipe.notion.rate_limit, burst=3)
    return NotionClient(credentials, budget)


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
    store = open_state(recipe)
    try:
        if not options.apply:
            _guarded(recipe, registry, options, progress, report, store, threading.Event(), WriteCap())
            return report
        with run_lock(recipe, command), stop_on_signals() as stop:
            cap = WriteCap(options.max_writes or recipe.max_writes, latest_backfill(store.runs(RECENT_RUNS)))
            with store.transaction() as tx:
                tx.end_unfinished_runs(report.started_at)
                tx.start_run(report.run_id, recipe.name, command, report.started_at)
            _guarded(recipe, registry, options, progress, report, store, stop, cap)
            record_operations(store, report)
            if report.status in ("success", "partial"):  # completed: not failed, stopped or interrupted
                apply_retention(store, recipe, report)
            store.end_run(
                report.run_id,
                finished_at=report.finished_at,
                status=report.status,
                exit_code=report.exit_code,
                summary=report.summary(recipe),
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
    store: StateBackend,
    stop: threading.Event,
    cap: WriteCap,
) -> None:
    client = notion_client_for(recipe, options.rate_limit, store)
    sources = Sources(recipe, registry, store)
    observers = options.observers if options.apply else []
    for observer in observers:
        _observe(report, observer.run_started, client, store)
    try:
        _execute(recipe, options, progress, report, store, client, sources, stop, cap)
    except SyncfwError as raised:
        exc = sources.explain(raised)  # a field gone at the source, under a remembered names check
        report.backfill = cap.previous  # a failed run's count is unknown: the next run carries on
        report.error = str(exc)
        report.exit_code = exc.exit_code
        report.status = "stopped" if isinstance(exc, GuardStop) else "failed"
    finally:
        sources.close()
        report.finished_at = now_iso()
        report.notion_requests = client.stats.as_dict()
        if stop.is_set() and isinstance(stop, StopSignal):
            _interrupted(report, stop)
        _hide_secrets(report, {*recipe.secrets(), *client.credentials.secrets()})
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
        warnings = tuple(hide(w, secrets) for w in target.plan.warnings)
        target.plan = dataclasses.replace(target.plan, warnings=warnings)


def _observe(report: RunReport, hook: Any, client: NotionClient, store: StateBackend) -> None:
    try:
        hook(report, client, store)
    except Exception as exc:  # a dashboard or an alert must never fail the sync itself
        report.warnings.append(f"{getattr(hook, '__qualname__', hook)}: {exc}")


def _execute(
    recipe: Recipe,
    options: RunOptions,
    progress: Progress,
    report: RunReport,
    store: StateBackend,
    client: NotionClient,
    sources: Sources,
    stop: threading.Event,
    cap: WriteCap,
) -> None:
    sources.open(recheck=options.full_refresh)
    connectors = sources.connectors
    resolved = preflight(client, store, recipe, recheck=options.full_refresh, cached=True)
    check = SchemaCheck(resolved, functools.partial(preflight, client, store, recipe))
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

    planned_pages = None if options.apply else PlannedPages()
    for target in check.targets(recipe.targets_in_order()):
        if stop.is_set():
            break
        if cap.spent:
            cap.not_reached.append(target.name)
            continue
        before = client.stats.copy()
        located = check.resolved[target.name]
        data_source_id = located.data_source_id
        # an update target creates no page, so it claims no data source (:mod:`syncfw.notion.claim`)
        claim = (
            Claim.of(recipe.name, target, located.sync_key_property_id) if target.mode == "upsert" else None
        )
        if options.apply and located.claim is None and claim is not None:
            keep_data_source(store, target.name, write_claim(client, data_source_id, claim))
        # the claim is out of date, mostly because the sync-key property was deleted and added
        # again: every page is read so that keys are refilled, then the claim is updated
        rekeyed = claim is not None and located.claim is not None and located.claim != claim
        compiled = {m.name: compile_mapping(m, sources.registry.transforms) for m in target.mappings}
        first_run = store.page_count(target.name) == 0
        reconciling = not first_run and reconcile_due(store, target, asked=options.reconcile)
        reads, reconciled = stream_reads(
            store,
            target,
            compiled,
            connectors,
            from_start=options.full_refresh or first_run,
            recorded=options.apply,
            reconciling=reconciling,
            phase=functools.partial(progress.phase, target.name),
            secrets=recipe.secrets(),
        )
        progress.phase(target.name, "reading Notion")
        read_started = utcnow()
        full = options.full_refresh or first_run
        window = target_window(client, store, target, located.schema, full=full or rekeyed)
        live = check.pages(
            target.name,
            functools.partial(
                client.query_pages, data_source_id, filter=window.filter, numbered_by=window.numbered_by
            ),
        )
        if live is None:  # the schema kept from the last run changed: read again with Notion's now
            located = check.resolved[target.name]
            data_source_id = located.data_source_id
            claim = Claim.of(recipe.name, target, located.sync_key_property_id) if claim is not None else None
            rekeyed = claim is not None and located.claim is not None and located.claim != claim
            window = target_window(client, store, target, located.schema, full=full or rekeyed)
            live = client.query_pages(data_source_id, filter=window.filter, numbered_by=window.numbered_by)
        schema, complete = located.schema, window.complete
        mark_type = schema.get(target.mark_property or "", {}).get("type") if target.mark_property else None
        planned = plan_target(
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
            covered=window.slice.keys if window.slice is not None else frozenset(),
            keep_records=options.apply,
            phase=functools.partial(progress.phase, target.name),
            planned=planned_pages,
        )
        if planned.plan.operations and not check.before_writes(target.name):
            continue  # planned with a kept schema the data source read now contradicts: planned again
        if planned_pages is not None:
            planned_pages.add(planned.plan, planned.delta)
        renamed = rename_warnings(store, target.name, located.names, remember=options.apply)
        warnings = (*renamed, *(r.error for r in reconciled if r.error))
        plan = dataclasses.replace(planned.plan, warnings=planned.plan.warnings + warnings)
        target_report = TargetReport(
            plan,
            {"create": 0, "update": 0, "archive": 0},
            {},
            options.apply,
            reconciled,
            ledger=planned.ledger,
        )
        report.targets[target.name] = target_report
        if options.apply:
            if options.reviewed_plan is not None:
                check_reviewed(options.reviewed_plan, target.name, plan, _created_in(report))
            guard(
                target,
                plan,
                plan.pages,
                allow_mass_change=mass_change_approved(options.allow_mass_change, options.reviewed_plan),
            )
            limit = cap.allowance(target.max_writes)
            result = _apply(client, store, report.run_id, target_report, planned, stop, progress, limit)
            cap.count(result.sent, result.capped)
            with store.transaction() as tx:
                commit_target(
                    tx,
                    store,
                    target=target.name,
                    run_id=report.run_id,
                    delta=planned.delta,
                    result=result,
                    ledger=planned.ledger,
                )
                tx.set_notion_read(
                    target.name, NotionRead(read_started, window.since_full, window.slice_from)
                )
                if not stop.is_set():
                    done = reconciling and all(r.error is None for r in reconciled)
                    record_reconciled(tx, store, target, reconciled=done, at=read_started.isoformat())
            if not stop.is_set() and claim is not None and rekeyed and not target_report.plan.problems:
                keep_data_source(store, target.name, write_claim(client, data_source_id, claim))
        target_report.notion_requests = client.stats.minus(before)
    if options.apply and not stop.is_set() and not cap.spent:
        link_pending_relations(recipe, report, store, client, cap)
    report.backfill = cap.backfill(report.started_at) if options.apply else None
    problems = sum(len(t.plan.problems) for t in report.targets.values())
    report.status = "success" if problems == 0 else "partial"
    report.exit_code = 0 if problems == 0 else 3


def _apply(
    client: NotionClient,
    store: StateBackend,
    run_id: str,
    target_report: TargetReport,
    planned: PlannedTarget,
    stop: threading.Event,
    progress: Progress,
    limit: int | None,
) -> ApplyResult:
    """Write the target's plan; its report learns what was done even when a write fails fatally."""
    plan = target_report.plan
    applier = Applier(
        client,
        store,
        plan,
        run_id,
        ledger=planned.ledger,
        stop=stop,
        on_done=functools.partial(progress.advance, plan.target),
        limit=limit,
    )
    progress.writes(plan.target, len(plan.operations) if limit is None else min(limit, len(plan.operations)))
    try:
        result = applier.apply()
    except BaseException:
        _carried_out(target_report, plan, applier.result())
        raise
    _carried_out(target_report, plan, result)  # not a second applier.result(): it copies every created id
    return result


def _carried_out(target_report: TargetReport, plan: TargetPlan, result: ApplyResult) -> None:
    target_report.done = dict(result.done)
    target_report.pending = list(result.pending)
    target_report.plan = plan.carried_out(result)


def _retrieve(client: NotionClient, page_id: str) -> dict[str, Any] | None:
    """One page by id, or None when Notion no longer has it (404)."""
    try:
        return client.retrieve_page(page_id)
    except NotionNotFound:
        return None


def _created_in(report: RunReport) -> dict[str, str]:
    """Page id → how a plan made before this run named it, for every page this run created."""
    return {
        op.page_id: new_page(name, op.sync_key)
        for name, done in report.targets.items()
        for op in done.plan.operations.of("create")
        if op.page_id is not None
    }
