"""Alerts: one notification per change of state, sent with apprise to the recipe's ``alerts:``.

Events (the names ``alerts: [{url: ..., events: [...]}]`` filters on):

==================  ==========================================  =====================================
event               fires when                                  clears (and notifies) when
==================  ==========================================  =====================================
``run_failed``      a run fails (exit 1)                        a run succeeds: ``run_recovered``
``guard_stopped``   a guard stops a run (exit 4)                a run succeeds: ``run_recovered``
``source_stale``    a source is older than its ``stale_after``  it is fresh again (notified)
``drift``           a run finds more than ``drift_above``       a run finds fewer (silently)
                    (10) human edits of source-owned properties
``expiring``        an experimental recipe expires within       it is renewed or promoted (silently)
                    7 days
==================  ==========================================  =====================================

The state of each (event, subject) is kept in the state store's ``alerts`` table: a cron job failing
every 15 minutes sends one alert, then one recovery. A notification that could not be delivered
leaves the state unchanged, so the next run tries again. Bodies name the recipe, its owner, what
happened and the first thing to try; every secret value of the recipe is removed from them.
Interrupted runs change nothing. URLs use apprise's syntax (``slack://``, ``msteams://``,
``mailto://``, ``json://`` for a generic webhook, ...): https://github.com/caronc/apprise/wiki.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Literal

from syncfw.clock import Clock, iso, short, utcnow
from syncfw.engine.run import RunObserver, RunReport
from syncfw.errors import AlertNotDelivered
from syncfw.health.history import record_of
from syncfw.health.redaction import one_line, scrub
from syncfw.health.status import EXPIRY_NOTICE, RecipeStatus, recipe_status
from syncfw.notion.client import NotionClient
from syncfw.recipe import Recipe
from syncfw.recipe.model import AlertEvent
from syncfw.state import StateBackend

DRIFT_ABOVE = 10
Severity = Literal["failure", "warning", "success"]
_SEVERITY: dict[AlertEvent, Severity] = {
    "run_failed": "failure",
    "guard_stopped": "failure",
    "source_stale": "warning",
    "drift": "warning",
    "expiring": "warning",
    "run_recovered": "success",
}
_SUCCEEDED = ("success", "partial")


@dataclasses.dataclass(frozen=True)
class Alert:
    """One notification: its event (for filters), severity, title and body."""

    event: AlertEvent
    severity: Severity
    title: str
    body: str


@dataclasses.dataclass(frozen=True)
class _Condition:
    """The state one check found: firing or not, what happened and the first thing to try."""

    event: AlertEvent
    subject: str
    firing: bool
    what: str
    hint: str


def _conditions(status: RecipeStatus, drift_above: int) -> list[_Condition]:
    recipe, run = status.recipe, status.last_run
    path = recipe.path
    found: list[_Condition] = []
    if run is not None:
        error = one_line(run.error, recipe)
        # a failure clears only on a run that succeeds, not on a run that stops another way
        if run.status in ("failed", *_SUCCEEDED):
            found.append(
                _Condition(
                    "run_failed",
                    recipe.name,
                    run.status == "failed",
                    f"run {run.run_id} failed (exit {run.exit_code}) at {run.finished_at}: {error}",
                    f"The error says what to do: fix it, then run `syncfw run {path}` by hand to check. If "
                    f"the run wrote wrong values, `syncfw rollback {run.run_id} --recipe {path}` undoes it.",
                )
            )
        if run.status in ("stopped", *_SUCCEEDED):
            found.append(
                _Condition(
                    "guard_stopped",
                    recipe.name,
                    run.status == "stopped",
                    f"a guard stopped run {run.run_id} before it wrote anything (exit 4): {error}",
                    f"See what the run wanted to do with `syncfw plan {path}`. If it is right, run `syncfw "
                    f"run {path} --allow-mass-change`; if the Notion schema changed, run `syncfw notion init "
                    f"{path}`.",
                )
            )
        drift = sum(c.drift for c in status.counts.values())
        if run.status in _SUCCEEDED:
            found.append(
                _Condition(
                    "drift",
                    recipe.name,
                    drift > drift_above,
                    f"run {run.run_id} found {drift} edits made in Notion to properties the sources own "
                    f"(more than {drift_above})",
                    f"See who edited what with `syncfw runs {path} --json`; make those changes in the source "
                    "system, or hand the property to people with `owners: {Property: notion}`.",
                )
            )
    for source in status.sources:
        if source.state in ("ok", "stale"):
            found.append(
                _Condition(
                    "source_stale",
                    f"{recipe.name}/{source.source}",
                    source.state == "stale",
                    f"source {source.source} was last read {short(source.freshness)} ago "
                    f"(at {iso(source.last_success)}), more than its stale_after of {short(source.stale_after)}",
                    f"Check that the scheduled job still runs (cron, systemd timer, CI schedule) and read "
                    f"the source's last error with `syncfw status {path}`.",
                )
            )
    if recipe.tier == "experimental" and recipe.expires is not None:
        days = (recipe.expires - status.checked_at.date()).days
        found.append(
            _Condition(
                "expiring",
                recipe.name,
                days <= EXPIRY_NOTICE.days,
                f"this experimental recipe expires on {recipe.expires.isoformat()} (in {days} days); "
                "after that its runs stop with exit 4",
                f"Renew it with `syncfw renew {path}` (at most 30 days), or promote it to tier: production.",
            )
        )
    return found


def _recovery(condition: _Condition, status: RecipeStatus) -> tuple[AlertEvent, str, str] | None:
    """What clearing a firing condition announces (event, what, hint), or None to clear silently."""
    run = status.last_run
    if condition.event in ("run_failed", "guard_stopped") and run is not None:
        what = f"run {run.run_id} succeeded (exit {run.exit_code}) after a failed or stopped run"
        return "run_recovered", what, "Nothing to do."
    if condition.event == "source_stale":
        return "source_stale", f"source {condition.subject} is fresh again", "Nothing to do."
    return None


def _alert(recipe: Recipe, event: AlertEvent, what: str, hint: str, recovered: bool) -> Alert:
    severity = "success" if recovered else _SEVERITY[event]
    headline = "recovered" if recovered else event.replace("_", " ")
    body = "\n".join(
        [
            f"Recipe: {recipe.name} ({recipe.path}, {recipe.tier})",
            f"Owner: {recipe.owner}",
            f"What happened: {what}",
            f"First thing to try: {hint}",
            f"More: `syncfw status {recipe.path}` and `syncfw runs {recipe.path}`",
        ]
    )
    return Alert(event, severity, scrub(f"syncfw {recipe.name}: {headline}", recipe), scrub(body, recipe))


@dataclasses.dataclass(frozen=True)
class Change:
    """A change of state of one (event, subject): the state to store once ``alert`` (None: a
    silent clearing) is delivered."""

    event: AlertEvent
    subject: str
    state: Literal["firing", "ok"]
    alert: Alert | None


def changes(
    status: RecipeStatus, states: dict[tuple[str, str], tuple[str, str]], drift_above: int = DRIFT_ABOVE
) -> list[Change]:
    """The changes of state ``status`` shows against the stored alert ``states``; conditions whose
    state did not change are left out."""
    found = []
    for c in _conditions(status, drift_above):
        stored = states.get((c.event, c.subject), ("ok", ""))[0]
        if c.firing and stored != "firing":
            found.append(
                Change(c.event, c.subject, "firing", _alert(status.recipe, c.event, c.what, c.hint, False))
            )
        elif not c.firing and stored == "firing":
            recovery = _recovery(c, status)
            alert = None if recovery is None else _alert(status.recipe, *recovery, True)
            if alert is not None and any(f.alert is not None and f.alert == alert for f in found):
                alert = None  # a run that ends a failure and a guard stop recovers once
            found.append(Change(c.event, c.subject, "ok", alert))
    return found


def deliver(recipe: Recipe, alert: Alert) -> bool:
    """Send ``alert`` to every URL of ``recipe.alerts`` that takes its event; True when all accepted
    it (or none takes it). apprise's own log is captured, never printed: it may show URLs."""
    urls = [r.url.get_secret_value() for r in recipe.alerts if r.events is None or alert.event in r.events]
    if not urls:
        return True
    import apprise  # 0.2 s of CPU and 16 MiB to import: only a run that sends an alert pays for them

    sender = apprise.Apprise()
    with apprise.LogCapture(level=logging.WARNING):  # type: ignore[no-untyped-call]
        if not all(sender.add(url) for url in urls):
            return False
        return bool(
            sender.notify(body=alert.body, title=alert.title, notify_type=apprise.NotifyType(alert.severity))
        )


def raise_alerts(
    recipe: Recipe, store: StateBackend, status: RecipeStatus, drift_above: int = DRIFT_ABOVE
) -> list[Alert]:
    """Send the notifications ``status`` calls for and store the new states; returns those sent.

    Raises:
        AlertNotDelivered: some could not be delivered (their state is unchanged: retried next time).
    """
    sent, failed = [], []
    for change in changes(status, store.alert_states(), drift_above):
        if change.alert is not None:
            if not deliver(recipe, change.alert):
                failed.append(change.alert)
                continue
            sent.append(change.alert)
        with store.transaction() as tx:
            tx.set_alert_state(change.event, change.subject, change.state, iso(status.checked_at) or "")
    if failed:
        raise AlertNotDelivered(
            f"{len(failed)} alert(s) of recipe {recipe.name} could not be delivered "
            f"({'; '.join(a.title for a in failed)}); check the alert URLs. They are sent again on the next run."
        )
    return sent


class Alerts(RunObserver):
    """Raises the recipe's alerts at the end of each run (see the module docstring).

    Args:
        recipe: the recipe being run.
        clock: the current time; default the real clock.
        drift_above: drift findings in one run above which ``drift`` fires.
    """

    def __init__(self, recipe: Recipe, *, clock: Clock = utcnow, drift_above: int = DRIFT_ABOVE) -> None:
        self.recipe = recipe
        self.clock = clock
        self.drift_above = drift_above

    def run_finished(self, report: RunReport, client: NotionClient, store: StateBackend) -> None:
        status = recipe_status(self.recipe, store, now=self.clock(), last_run=record_of(report, self.recipe))
        raise_alerts(self.recipe, store, status, self.drift_above)
