"""Freshness and health of a recipe, from its state store: what ``syncfw status`` shows, the Sync
Health rows in Notion hold, and alerts are raised from.

Freshness of a source is the time since the last read of each of its streams that reached the end
of the stream (``source_reads.last_success``, recorded by every run); the stalest stream counts.
A source is:

* ``ok``: every stream was read successfully, within ``stale_after`` when the recipe sets it;
* ``stale``: the oldest successful read is older than ``stale_after``;
* ``failing``: the last read of a stream failed (``last_error`` says why);
* ``never``: a stream has never been read to its end.

A recipe is healthy when every source is ``ok`` and its last run did not fail or stop on a guard,
and an experimental recipe has not expired; :attr:`RecipeStatus.exit_code` is then 0, else 1.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from datetime import date, datetime, timedelta
from typing import Any, Literal

from syncfw.clock import iso, parse_time, short, utcnow
from syncfw.engine.backfill import RECENT_RUNS, Backfill, latest_backfill
from syncfw.recipe import Recipe
from syncfw.state import QuarantinedRecord, RunRecord, StateBackend, existing_state

SourceState = Literal["ok", "stale", "failing", "never"]
EXPIRY_NOTICE = timedelta(days=7)
"""An experimental recipe this close to its ``expires`` date is reported (and alerted) as expiring."""
FAILED_RUNS = ("failed", "stopped")


@dataclasses.dataclass(frozen=True)
class SourceStatus:
    """The freshness of one source of a recipe; times are aware UTC datetimes."""

    source: str
    connector: str
    state: SourceState
    last_attempt: datetime | None
    last_success: datetime | None
    stale_after: timedelta | None
    freshness: timedelta | None
    last_error: str | None
    quarantined: int
    streams: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "connector": self.connector,
            "state": self.state,
            "last_attempt": iso(self.last_attempt),
            "last_success": iso(self.last_success),
            "freshness_seconds": None if self.freshness is None else int(self.freshness.total_seconds()),
            "stale_after_seconds": None
            if self.stale_after is None
            else int(self.stale_after.total_seconds()),
            "last_error": self.last_error,
            "quarantined": self.quarantined,
            "streams": list(self.streams),
        }


@dataclasses.dataclass(frozen=True)
class SourceCounts:
    """What the last run did on behalf of one source: pages created and archived by the targets it
    creates pages for, updates that changed a property it owns, drift on properties it owns."""

    created: int = 0
    updated: int = 0
    archived: int = 0
    drift: int = 0


@dataclasses.dataclass(frozen=True)
class RecipeStatus:
    """The health of one recipe at ``checked_at``.

    ``problems`` make the recipe unhealthy (exit code 1); ``notes`` are worth knowing (an
    experimental recipe expiring soon, a run still in progress).
    """

    recipe: Recipe
    checked_at: datetime
    last_run: RunRecord | None
    sources: list[SourceStatus]
    counts: dict[str, SourceCounts]
    quarantine: list[QuarantinedRecord]
    problems: list[str]
    notes: list[str]
    backfill: Backfill | None = None
    """The backfill the last run stopped at its write cap in, or finished (``syncfw run --max-writes``)."""

    @property
    def exit_code(self) -> int:
        """0 when healthy, 1 when something is stale, failing, never synced, expired, or the last run
        failed or was stopped by a guard."""
        return 1 if self.problems else 0

    def as_dict(self) -> dict[str, Any]:
        run = self.last_run
        recipe = self.recipe
        return {
            "recipe": recipe.name,
            "path": str(recipe.path),
            "owner": recipe.owner,
            "tier": recipe.tier,
            "expires": recipe.expires.isoformat() if recipe.expires else None,
            "checked_at": iso(self.checked_at),
            "healthy": not self.problems,
            "problems": self.problems,
            "notes": self.notes,
            "last_run": None
            if run is None
            else {
                "run_id": run.run_id,
                "status": run.status,
                "exit_code": run.exit_code,
                "started_at": run.started_at,
                "finished_at": run.finished_at,
                "error": run.error,
            },
            "sources": [
                {**s.as_dict(), **dataclasses.asdict(self.counts.get(s.source, SourceCounts()))}
                for s in self.sources
            ],
            "backfill": None
            if self.backfill is None
            else {
                **self.backfill.as_dict(),
                "eta_seconds": int(self.backfill.eta(recipe.notion.rate_limit).total_seconds()),
            },
            "quarantine": [
                {
                    "target": q.target,
                    "source": q.source,
                    "stream": q.stream,
                    "key": q.record_key,
                    "property": q.property,
                    "reason": q.reason,
                    "first_seen": q.first_seen,
                    "attempts": q.attempts,
                }
                for q in self.quarantine
            ],
        }


def source_counts(recipe: Recipe, summary: dict[str, Any] | None) -> dict[str, SourceCounts]:
    """Per source, what a run did (``summary`` is a run report's
    :meth:`~syncfw.engine.report.RunReport.summary`, as stored in run history); see
    :class:`SourceCounts`. Rows of syncfw before schema 7 count no updates or drift per source."""
    if not summary:
        return {}
    counts: dict[str, Counter[str]] = {name: Counter() for name in recipe.sources}
    for name, result in summary.get("targets", {}).items():
        target = recipe.targets.get(name)
        if target is None:
            continue
        if target.mode == "upsert":  # an update target creates and archives nothing
            primary = target.primary_mapping.source
            counts[primary]["created"] += int(result.get("created", 0))
            counts[primary]["archived"] += int(result.get("archived", 0))
        done = int(result.get("updated", 0))
        for source, n in result.get("updated_by_source", {}).items():
            if source in counts:
                counts[source]["updated"] += min(int(n), done)  # a run stopped midway did fewer than planned
        for source, n in result.get("drift_by_source", {}).items():
            if source in counts:
                counts[source]["drift"] += int(n)
    return {name: SourceCounts(**c) for name, c in counts.items()}


def last_run_of(store: StateBackend) -> RunRecord | None:
    """The most recent ``run`` in the history (renewals and other records left out)."""
    return next((r for r in store.runs(50) if r.command == "run"), None)


def recipe_status(
    recipe: Recipe,
    store: StateBackend | None = None,
    *,
    now: datetime | None = None,
    last_run: RunRecord | None = None,
) -> RecipeStatus:
    """The health of ``recipe`` at ``now`` (default: the real time).

    Args:
        store: the recipe's state store; default: the recipe's state where it is, when it exists (a recipe that never ran has none, and nothing is created).
        now: the time to measure freshness against (an aware datetime; tests freeze it).
        last_run: the run to judge instead of the last one in history (a run reporting on itself
            before its history row is final).
    """
    now = now or utcnow()
    if store is None:
        opened = existing_state(recipe)
        if opened is None:
            return _status(recipe, now, [], [], last_run, None)
        try:
            return recipe_status(recipe, opened, now=now, last_run=last_run)
        finally:
            opened.close()
    if last_run is None:
        run, backfill = last_run_of(store), latest_backfill(store.runs(RECENT_RUNS))
    else:
        run, backfill = last_run, Backfill.from_summary(last_run.summary)
    return _status(recipe, now, store.source_reads(), store.quarantined(), run, backfill)


def _status(
    recipe: Recipe,
    now: datetime,
    reads: list[tuple[str, str, str, str, str | None, str | None]],
    quarantine: list[QuarantinedRecord],
    run: RunRecord | None,
    backfill: Backfill | None,
) -> RecipeStatus:
    wanted = {
        (target.name, mapping.source, mapping.stream)
        for target in recipe.targets.values()
        for mapping in target.mappings
    }
    recorded = {(r[0], r[1], r[2]): r for r in reads}
    sources = []
    problems: list[str] = []
    for name, source in recipe.sources.items():
        streams = sorted(w for w in wanted if w[1] == name)
        rows = [recorded.get(w) for w in streams]
        status = _source(name, source.connector, source.stale_after, streams, rows, now)
        status = dataclasses.replace(status, quarantined=sum(1 for q in quarantine if q.source == name))
        sources.append(status)
        if status.state == "stale":
            problems.append(
                f"source {name} is stale: last successful read {short(status.freshness)} ago, "
                f"more than stale_after {short(status.stale_after)}"
            )
        elif status.state == "failing":
            problems.append(f"source {name} is failing: {status.last_error}")
        elif status.state == "never":
            problems.append(f"source {name} has never been read to the end of its streams")
    notes: list[str] = []
    if run is not None and run.status in FAILED_RUNS:
        what = "failed" if run.status == "failed" else "was stopped by a guard"
        problems.append(
            f"the last run {run.run_id} {what} (exit {run.exit_code}): {run.error or 'no error given'}"
        )
    elif run is not None and run.status == "running":
        notes.append(f"run {run.run_id} started at {run.started_at} has not finished (running, or killed)")
    problems += _expiry(recipe, now.date(), notes)
    if backfill is not None:
        notes.append(backfill.progress(recipe.notion.rate_limit))
    return RecipeStatus(
        recipe,
        now,
        run,
        sources,
        source_counts(recipe, run.summary if run is not None else None),
        quarantine,
        problems,
        notes,
        backfill,
    )


def _source(
    name: str,
    connector: str,
    stale_after: timedelta | None,
    streams: list[tuple[str, str, str]],
    rows: list[tuple[str, str, str, str, str | None, str | None] | None],
    now: datetime,
) -> SourceStatus:
    attempts = [parse_time(r[3]) for r in rows if r is not None]
    successes = [parse_time(r[4]) for r in rows if r is not None]
    errors = [r[5] for r in rows if r is not None and r[5]]
    last_attempt = max((a for a in attempts if a is not None), default=None)
    never = not rows or any(r is None or r[4] is None for r in rows)
    last_success = None if never else min(s for s in successes if s is not None)
    freshness = None if last_success is None else now - last_success
    state: SourceState
    if errors:
        state = "failing"
    elif last_success is None or freshness is None:
        state = "never"
    elif stale_after is not None and freshness > stale_after:
        state = "stale"
    else:
        state = "ok"
    return SourceStatus(
        source=name,
        connector=connector,
        state=state,
        last_attempt=last_attempt,
        last_success=last_success,
        stale_after=stale_after,
        freshness=freshness,
        last_error=errors[0] if errors else None,
        quarantined=0,
        streams=tuple(f"{target} ← {stream}" for target, _, stream in streams),
    )


def _expiry(recipe: Recipe, today: date, notes: list[str]) -> list[str]:
    if recipe.tier != "experimental" or recipe.expires is None:
        return []
    if today > recipe.expires:
        return [
            f"experimental recipe expired on {recipe.expires.isoformat()}: its runs stop (exit 4) until "
            f"`syncfw renew {recipe.path}`"
        ]
    if recipe.expires - today <= EXPIRY_NOTICE:
        notes.append(
            f"experimental recipe expires on {recipe.expires.isoformat()}; renew it with "
            f"`syncfw renew {recipe.path}` or promote it to production"
        )
    return []
