"""The health dashboard in Notion: a **Sync Health** and a **Sync Runs** database.

Both live under one parent page per workspace, shared by every recipe that syncs under it: the
parent page of the recipe's first ``database:`` target, or, when every target names a
``data_source:``, the page holding the first target's database. ``syncfw notion init`` creates
them (:func:`init_dashboard`); every run then writes, through :class:`HealthDashboard`:

* **Sync Health**, one row per recipe and source (title ``<recipe> · <source>``): owner, tier,
  status (``ok``/``stale``/``failing``/``never`` as in :mod:`syncfw.health.status`), last
  attempt, last success, freshness and ``stale_after`` in minutes, pages created/updated/archived
  and drift on behalf of the source, open quarantine, the last error (one line, secrets
  removed), the run's id and status, and the progress of a backfill (``run --max-writes``:
  :meth:`syncfw.engine.backfill.Backfill.progress`);
* **Sync Runs**, one row per run that did something or did not succeed (title: the run id) with
  its recipe, times, status, exit code, counts, Notion requests, duration, who started it and its
  error; the newest ``retention.sync_runs`` rows (default 200) per recipe are kept.

A run writes them as it ends, and only what says something new (:class:`HealthDashboard`): a
run that changed nothing, whose sources keep their state and freshness band, makes no request
for the dashboard; otherwise one per Sync Health row that changed and one for its Sync Runs row.
The requests use the run's rate budget, ahead of the sync's writes, and are counted in the run's
``notion_requests``. ``syncfw status --publish`` rewrites the Sync Health rows that changed
between runs, so that a recipe whose scheduler stopped turns ``stale`` in Notion too. The ids of
both databases and of the recipe's rows, and the values last written, are cached in the
recipe's state store.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from syncfw.clock import Clock, iso, parse_time, utcnow
from syncfw.engine.run import RunObserver, RunReport
from syncfw.errors import DashboardUnavailable, NotionNotFound, NotionRejected
from syncfw.health.history import entry, record_of, started_by
from syncfw.health.redaction import one_line
from syncfw.health.status import RecipeStatus, SourceCounts, recipe_status
from syncfw.mapping import decode, encode
from syncfw.mapping.encoding import PropertyType
from syncfw.mapping.spec import MappingFile, Position, PropertySpec
from syncfw.notion.client import NotionClient
from syncfw.notion.schema import DATABASE_RECHECK, InitResult, find_data_source, init_target
from syncfw.recipe import DatabaseRef, Recipe, Target
from syncfw.state import RunRecord, StateBackend

HEALTH_TITLE = "Sync Health"
RUNS_TITLE = "Sync Runs"
SETTING = "health.dashboard"
"""``off`` after ``syncfw notion init --no-health``: runs then leave the dashboard alone."""
RUNS_SETTING = f"{SETTING}.runs"
ABSENT_SETTING = f"{SETTING}.absent"
PROPERTIES_SETTING = f"{SETTING}.properties"
"""The dashboard properties (:func:`properties_digest`) the databases were last given: a
dashboard made by an older syncfw gets the properties it lacks before this run's first write
to it (:meth:`HealthDashboard.publish`), once, rather than having every write refused."""
"""When the dashboard's databases were last looked for and not found: runs do not search for them
again (two ``POST /v1/search`` requests) for :data:`~syncfw.notion.schema.DATABASE_RECHECK`;
``syncfw notion init`` creating them records their ids, which are used at once."""
"""The page ids of the recipe's Sync Runs rows, oldest first (a JSON list)."""

HEALTH_PROPERTIES: dict[str, PropertyType] = {
    "Sync": "title",
    "Recipe": "rich_text",
    "Source": "rich_text",
    "Owner": "email",
    "Tier": "select",
    "Status": "select",
    "Last attempt": "date",
    "Last success": "date",
    "Freshness (min)": "number",
    "Stale after (min)": "number",
    "Created": "number",
    "Updated": "number",
    "Archived": "number",
    "Quarantined": "number",
    "Drift": "number",
    "Last error": "rich_text",
    "Last run": "rich_text",
    "Run status": "select",
    "Checked": "date",
    "Backfill": "rich_text",
}
RUNS_PROPERTIES: dict[str, PropertyType] = {
    "Run": "title",
    "Recipe": "rich_text",
    "Command": "select",
    "Started": "date",
    "Finished": "date",
    "Status": "select",
    "Exit code": "number",
    "Created": "number",
    "Updated": "number",
    "Archived": "number",
    "Failed": "number",
    "Drift": "number",
    "Notion reads": "number",
    "Notion writes": "number",
    "Duration (s)": "number",
    "Started by": "rich_text",
    "Error": "rich_text",
}


def _target(title: str, parent_page: str, properties: dict[str, PropertyType]) -> Target:
    """A dashboard database described as a target, so that finding, creating and extending it is
    the same code as for a recipe's own databases. Its name cannot clash with a recipe target's."""
    where = Position(Path(f"<{title}>"))
    specs = {
        name: PropertySpec(type=kind, value=None).named(name, where) for name, kind in properties.items()
    }
    # built, not read: the title is no mapping name and the parent page no recipe value
    mapping = MappingFile.model_construct(name=title, connector="syncfw", stream="health", properties=specs)
    database = DatabaseRef.model_construct(title=title, parent_page=parent_page)
    target = Target.model_construct(database=database, sync_key=next(iter(properties)), entries=[])
    return target.bind(f"health: {title}", [mapping.at(where).bind("syncfw", 1)], {})


def health_parent_page(client: NotionClient, recipe: Recipe) -> str | None:
    """The page the dashboard databases live under (see the module docstring), or None."""
    for target in recipe.targets.values():
        if target.database is not None:
            return target.database.parent_page
    for target in recipe.targets.values():
        if target.data_source is not None:
            database_id = client.retrieve_data_source(target.data_source).get("parent", {}).get("database_id")
            if database_id:
                parent = client.retrieve_database(database_id).get("parent", {})
                if parent.get("type") == "page_id":
                    return str(parent["page_id"])
    return None


def _targets(client: NotionClient, recipe: Recipe) -> tuple[Target, Target]:
    parent = health_parent_page(client, recipe)
    if parent is None:
        raise DashboardUnavailable(
            f"recipe {recipe.name}: no parent page for the {HEALTH_TITLE} database (the recipe's data "
            "sources are not in a database under a page)"
        )
    return _target(HEALTH_TITLE, parent, HEALTH_PROPERTIES), _target(RUNS_TITLE, parent, RUNS_PROPERTIES)


def init_dashboard(client: NotionClient, store: StateBackend, recipe: Recipe) -> list[InitResult]:
    """Create the Sync Health and Sync Runs databases under the recipe's parent page, or add the
    properties they miss (as :func:`syncfw.notion.schema.init_target` does for targets).

    Raises:
        DashboardUnavailable: no parent page is known for the recipe.
        NotionError: Notion refused a request.
    """
    results = [init_target(client, store, target, {}) for target in _targets(client, recipe)]
    with store.transaction() as tx:
        tx.set_setting(SETTING, "on")
        tx.set_setting(PROPERTIES_SETTING, properties_digest())
    return results


def properties_digest() -> str:
    """16 hex digits of SHA-256 of the two databases' property names and types."""
    described = json.dumps([HEALTH_PROPERTIES, RUNS_PROPERTIES], sort_keys=True)
    return hashlib.sha256(described.encode()).hexdigest()[:16]


def disable_dashboard(store: StateBackend) -> None:
    """Runs of this recipe no longer write the dashboard (``notion init --no-health``)."""
    with store.transaction() as tx:
        tx.set_setting(SETTING, "off")


@dataclasses.dataclass(frozen=True)
class DashboardIds:
    """Data source ids of the two databases."""

    health: str
    runs: str


def find_dashboard(
    client: NotionClient, store: StateBackend, recipe: Recipe, clock: Clock = utcnow
) -> DashboardIds:
    """The dashboard's data sources: from the state store, else searched under the parent page,
    unless a search found none less than :data:`DATABASE_RECHECK` ago by ``clock``.

    Raises:
        DashboardUnavailable: they do not exist (``syncfw notion init`` creates them).
    """
    cached = [store.target_ids(f"health: {title}") for title in (HEALTH_TITLE, RUNS_TITLE)]
    if cached[0] is not None and cached[1] is not None:
        return DashboardIds(cached[0][1], cached[1][1])
    missing = (
        f"no {HEALTH_TITLE} and {RUNS_TITLE} databases under the recipe's parent page; create them "
        f"with `syncfw notion init {recipe.path}` (or turn them off with --no-health)"
    )
    looked = parse_time(store.setting(ABSENT_SETTING))
    now = clock()
    if looked is not None and timedelta(0) <= now - looked < DATABASE_RECHECK:
        raise DashboardUnavailable(f"{missing}; looked for them at {iso(looked)}")
    found = [find_data_source(client, store, target) for target in _targets(client, recipe)]
    if found[0] is None or found[1] is None:
        with store.transaction() as tx:
            tx.set_setting(ABSENT_SETTING, iso(now) or "")
        raise DashboardUnavailable(missing)
    return DashboardIds(found[0][1], found[1][1])


def _values(properties: dict[str, PropertyType], values: dict[str, Any]) -> dict[str, Any]:
    return {name: encode(properties[name], value)[0] for name, value in values.items()}


def _minutes(seconds: float | None) -> int | None:
    return None if seconds is None else round(seconds / 60)


def health_rows(status: RecipeStatus) -> dict[str, dict[str, Any]]:
    """The Sync Health rows of a recipe: source name → property values (canonical values)."""
    recipe, run, backfill = status.recipe, status.last_run, status.backfill
    rows = {}
    for source in status.sources:
        counts = status.counts.get(source.source, SourceCounts())
        error = source.last_error or (
            run.error if run is not None and run.status in ("failed", "stopped") else None
        )
        rows[source.source] = {
            "Sync": f"{recipe.name} · {source.source}",
            "Recipe": recipe.name,
            "Source": f"{source.source} ({source.connector})",
            "Owner": recipe.owner,
            "Tier": recipe.tier,
            "Status": source.state,
            "Last attempt": iso(source.last_attempt),
            "Last success": iso(source.last_success),
            "Freshness (min)": _minutes(source.freshness.total_seconds() if source.freshness else None),
            "Stale after (min)": _minutes(source.stale_after.total_seconds() if source.stale_after else None),
            "Created": counts.created,
            "Updated": counts.updated,
            "Archived": counts.archived,
            "Quarantined": source.quarantined,
            "Drift": counts.drift,
            "Last error": one_line(error, recipe),
            "Last run": run.run_id if run is not None else "",
            "Run status": run.status if run is not None else None,
            "Checked": iso(status.checked_at),
            "Backfill": "" if backfill is None else backfill.progress(recipe.notion.rate_limit),
        }
    return rows


def run_row(record: RunRecord, recipe: Recipe, who: str | None) -> dict[str, Any]:
    """The Sync Runs row of one run (canonical values)."""
    run = entry(record)
    duration = run.duration
    return {
        "Run": run.run_id,
        "Recipe": run.recipe,
        "Command": run.command,
        "Started": run.started_at,
        "Finished": run.finished_at,
        "Status": run.status,
        "Exit code": run.exit_code,
        "Created": run.counts["created"],
        "Updated": run.counts["updated"],
        "Archived": run.counts["archived"],
        "Failed": run.counts["failed"],
        "Drift": run.counts["drift"],
        "Notion reads": run.notion_requests.get("reads"),
        "Notion writes": run.notion_requests.get("writes"),
        "Duration (s)": None if duration is None else round(duration.total_seconds(), 1),
        "Started by": who or run.started_by or "",
        "Error": one_line(run.error, recipe),
    }


MOMENTS = ("Last attempt", "Last success", "Checked", "Last run", "Freshness (min)")
"""Sync Health properties that move on every run; a row is not rewritten for them alone."""
COUNTS = ("Created", "Updated", "Archived", "Drift")


def _band(values: dict[str, Any], now: datetime) -> bool | None:
    """The freshness band a Sync Health row shows at ``now``: True when its ``Last success`` is
    older than its ``Stale after``, False when not, None when either is unknown."""
    success, stale_after = parse_time(values.get("Last success")), values.get("Stale after (min)")
    if success is None or stale_after is None:
        return None
    return now - success > timedelta(minutes=stale_after)


def row_changed(values: dict[str, Any], written: dict[str, Any] | None, now: datetime) -> bool:
    """Whether the Sync Health row ``written`` (the values last written, None when none are on
    record) says something else than ``values`` at ``now``: its status, run status, error, open
    quarantine, owner, tier or ``stale_after``; its freshness band (:func:`_band`: a row whose
    ``Last success`` grew older than ``stale_after`` is rewritten, so that an ``ok`` row never
    shows a stale time); or its counts, when ``values`` has any (a run that did nothing on behalf
    of the source leaves the counts of the last one that did). The times and the run id alone
    never make a row change: a row not rewritten still describes its ``Last run``."""
    if written is None:
        return True
    done = any(values.get(name) for name in COUNTS)
    ignored = MOMENTS if done else MOMENTS + COUNTS
    said = {k: v for k, v in values.items() if k not in ignored}
    if said != {k: written.get(k) for k in said}:
        return True
    return _band(values, now) != _band(written, now)


def run_worth_a_row(row: dict[str, Any]) -> bool:
    """Whether a run gets a Sync Runs row (:func:`run_row`): it did not succeed, or it created,
    updated, archived or failed a page, or found drift. A run that changed nothing has none."""
    return row["Status"] != "success" or any(row[name] for name in (*COUNTS, "Failed"))


class HealthDashboard(RunObserver):
    """Writes a recipe's Sync Health rows and its Sync Runs row when a run ends.

    Each write is made only when it says something new: a Sync Health row when
    :func:`row_changed`, a Sync Runs row for a run :func:`run_worth_a_row`; so a run that changed
    nothing, and whose sources keep their state and freshness band, makes no request here. Sync
    Runs keeps the recipe's newest ``retention.sync_runs`` rows: once that many exist, the oldest
    row is rewritten as the new run's (one ``PATCH``, where creating a page and moving the oldest
    to the trash would cost two). The page ids are kept, oldest first, in the state store; a
    dashboard without them on record (made by an older syncfw) has its rows read once.
    Every request is added to the run's ``notion_requests`` (the ``--json`` report, run history).

    Args:
        recipe: the recipe being run.
        clock: the current time (freshness is measured against it); default the real clock.
        started_by: who started the run, for the Sync Runs row (default ``user@host``).

    A failure here never fails the run: :func:`~syncfw.engine.run.execute` keeps it as a warning
    of the run (one per run when the databases do not exist).
    """

    def __init__(self, recipe: Recipe, *, clock: Clock = utcnow, started_by: str | None = None) -> None:
        self.recipe = recipe
        self.clock = clock
        self.started_by = started_by
        self._ids: DashboardIds | None = None

    def run_finished(self, report: RunReport, client: NotionClient, store: StateBackend) -> None:
        if store.setting(SETTING) == "off":
            return
        # the run's budget (one per token), but a client of its own: ahead of the sync's writes
        # waiting on that budget (DESIGN.md rule 6); its requests are added to the run's below
        notion = NotionClient(client.credentials, client.budget, base_url=client.base_url, priority="high")
        try:
            record = record_of(report, self.recipe)
            self.publish(notion, store, recipe_status(self.recipe, store, now=self.clock(), last_run=record))
            row = run_row(record, self.recipe, self.started_by or started_by())
            if run_worth_a_row(row):
                self._extend(notion, store)
                self._record_run(notion, store, _values(RUNS_PROPERTIES, row))
        finally:
            for name, count in notion.stats.as_dict().items():
                report.notion_requests[name] = report.notion_requests.get(name, 0) + count
            notion.close()
            self._ids = None

    def publish(self, client: NotionClient, store: StateBackend, status: RecipeStatus | None = None) -> int:
        """Write the Sync Health rows of the recipe that :func:`row_changed` from ``status``
        (default: its status now, by the dashboard's clock). Returns the number of rows written.

        Raises:
            DashboardUnavailable: the databases do not exist.
            NotionError: Notion refused a request.
        """
        if self._ids is None:
            self._ids = find_dashboard(client, store, self.recipe, self.clock)
        now = self.clock()
        status = status or recipe_status(self.recipe, store, now=now)
        written = 0
        for source, values in health_rows(status).items():
            key = f"{SETTING}.row.{source}"
            if row_changed(values, _json(store.setting(f"{key}.values")), now):
                self._extend(client, store)
                self._upsert(client, store, self._ids.health, source, values)
                with store.transaction() as tx:
                    tx.set_setting(f"{key}.values", json.dumps(values, sort_keys=True))
                written += 1
        return written

    def _extend(self, client: NotionClient, store: StateBackend) -> None:
        """Give the databases the properties they lack, when they were last given others
        (:data:`PROPERTIES_SETTING`): a few requests once after an upgrade, none otherwise."""
        if store.setting(PROPERTIES_SETTING) == properties_digest():
            return
        for target in _targets(client, self.recipe):
            init_target(client, store, target, {})
        with store.transaction() as tx:
            tx.set_setting(PROPERTIES_SETTING, properties_digest())

    def _upsert(
        self,
        client: NotionClient,
        store: StateBackend,
        data_source_id: str,
        source: str,
        values: dict[str, Any],
    ) -> None:
        """Update the row of ``source`` (its page id cached in the state store), or create it."""
        properties = _values(HEALTH_PROPERTIES, values)
        key = f"{SETTING}.row.{source}"
        page_id = store.setting(key)
        if page_id:
            try:
                client.update_page(page_id, properties=properties)
                return
            except (NotionNotFound, NotionRejected):  # deleted, or moved to the trash by someone
                pass
        title = f"{self.recipe.name} · {source}"
        found = [
            p
            for p in client.query_pages(
                data_source_id, filter={"property": "Sync", "title": {"equals": title}}
            )
            if not p.get("in_trash")
        ]
        if found:
            page_id = str(found[0]["id"])
            client.update_page(page_id, properties=properties)
        else:
            page_id = str(
                client.create_page(
                    data_source_id, {**properties, **_values(HEALTH_PROPERTIES, {"Sync": title})}
                )["id"]
            )
        with store.transaction() as tx:
            tx.set_setting(key, page_id)

    def _record_run(self, client: NotionClient, store: StateBackend, properties: dict[str, Any]) -> None:
        """Add the run's Sync Runs row, rewriting the oldest when ``retention.sync_runs`` are kept
        (see the class docstring); rows beyond the retention (lowered since) go to the trash."""
        assert self._ids is not None
        keep = self.recipe.retention.sync_runs
        rows = _json(store.setting(RUNS_SETTING))
        kept = [str(i) for i in rows] if isinstance(rows, list) else self._rows_in_notion(client)
        while len(kept) > keep - 1:
            oldest = kept.pop(0)
            reuse = len(kept) == keep - 1
            try:
                if reuse:
                    client.update_page(oldest, properties=properties)
                else:
                    client.update_page(oldest, in_trash=True)
            except (NotionNotFound, NotionRejected):  # deleted, or moved to the trash by someone
                continue
            if reuse:
                kept.append(oldest)
                break
        else:
            kept.append(str(client.create_page(self._ids.runs, properties)["id"]))
        with store.transaction() as tx:
            tx.set_setting(RUNS_SETTING, json.dumps(kept))

    def _rows_in_notion(self, client: NotionClient) -> list[str]:
        """This recipe's Sync Runs rows in Notion, oldest first (a dashboard whose rows are not on
        record in the state store)."""
        assert self._ids is not None
        pages = list(
            client.query_pages(
                self._ids.runs, filter={"property": "Recipe", "rich_text": {"equals": self.recipe.name}}
            )
        )

        def started(page: dict[str, Any]) -> str:
            value = decode("date", page["properties"].get("Started", {"type": "date", "date": None}))
            moment = parse_time(str(value)) if value else None
            return iso(moment) or ""

        # rows started in the same second keep their creation order (the query's)
        order = sorted(enumerate(pages), key=lambda item: (started(item[1]), item[0]))
        return [str(page["id"]) for _, page in order]


def _json(text: str | None) -> Any:
    """A JSON value kept in the state store; None when absent or unreadable."""
    try:
        return json.loads(text) if text else None
    except ValueError:
        return None
