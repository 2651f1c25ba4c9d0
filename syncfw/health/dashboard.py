"""The health dashboard in Notion: a **Sync Health** and a **Sync Runs** database.

Both live under one parent page per workspace, shared by every recipe that syncs under it: the
parent page of the recipe's first ``database:`` target, or, when every target names a
``data_source:``, the page holding the first target's database. ``syncfw notion init`` creates
them (:func:`init_dashboard`); every run then writes, through :class:`HealthDashboard`:

* **Sync Health**, one row per recipe and source (title ``<recipe> · <source>``): owner, tier,
  status (``running`` while a run is on, then ``ok``/``stale``/``failing``/``never`` as in
  :mod:`syncfw.health.status`), last attempt, last success, freshness and ``stale_after`` in
  minutes, pages created/updated/archived and drift in the last run on behalf of the source, open
  quarantine, the last error (one line, secrets removed), the last run's id and status;
* **Sync Runs**, one row per run (title: the run id) with its recipe, times, status, exit code,
  counts, Notion requests, duration, who started it and its error; the newest ``keep_runs`` (200)
  rows per recipe are kept, older ones are moved to the trash.

Rows are written at the start of a run (status ``running``) and at its end. The dashboard uses
the run's rate budget but a client of its own, so its requests are not counted as the sync's.
``syncfw status --publish`` rewrites the Sync Health rows between runs, so that a recipe whose
scheduler stopped turns ``stale`` in Notion too. The ids of both databases and of the recipe's
rows are cached in the recipe's state store.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from syncfw.clock import Clock, iso, parse_time, utcnow
from syncfw.engine.run import RunObserver, RunReport
from syncfw.errors import DashboardUnavailable, NotionNotFound, NotionRejected, SyncfwError
from syncfw.health.history import entry, record_of, started_by
from syncfw.health.redaction import one_line
from syncfw.health.status import RecipeStatus, SourceCounts, recipe_status
from syncfw.mapping import decode, encode
from syncfw.mapping.encoding import PropertyType
from syncfw.mapping.spec import MappingFile, Position, PropertySpec
from syncfw.notion.client import NotionClient
from syncfw.notion.schema import InitResult, find_data_source, init_target
from syncfw.recipe import DatabaseRef, Recipe, Target
from syncfw.state import RunRecord, StateBackend

HEALTH_TITLE = "Sync Health"
RUNS_TITLE = "Sync Runs"
KEEP_RUNS = 200
SETTING = "health.dashboard"
"""``off`` after ``syncfw notion init --no-health``: runs then leave the dashboard alone."""

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
    return results


def disable_dashboard(store: StateBackend) -> None:
    """Runs of this recipe no longer write the dashboard (``notion init --no-health``)."""
    with store.transaction() as tx:
        tx.set_setting(SETTING, "off")


@dataclasses.dataclass(frozen=True)
class DashboardIds:
    """Data source ids of the two databases."""

    health: str
    runs: str


def find_dashboard(client: NotionClient, store: StateBackend, recipe: Recipe) -> DashboardIds:
    """The dashboard's data sources: from the state store, else searched under the parent page.

    Raises:
        DashboardUnavailable: they do not exist (``syncfw notion init`` creates them).
    """
    cached = [store.target_ids(f"health: {title}") for title in (HEALTH_TITLE, RUNS_TITLE)]
    if cached[0] is not None and cached[1] is not None:
        return DashboardIds(cached[0][1], cached[1][1])
    found = [find_data_source(client, store, target) for target in _targets(client, recipe)]
    if found[0] is None or found[1] is None:
        raise DashboardUnavailable(
            f"no {HEALTH_TITLE} and {RUNS_TITLE} databases under the recipe's parent page; create them "
            f"with `syncfw notion init {recipe.path}` (or turn them off with --no-health)"
        )
    return DashboardIds(found[0][1], found[1][1])


def _values(properties: dict[str, PropertyType], values: dict[str, Any]) -> dict[str, Any]:
    return {name: encode(properties[name], value)[0] for name, value in values.items()}


def _minutes(seconds: float | None) -> int | None:
    return None if seconds is None else round(seconds / 60)


def health_rows(status: RecipeStatus) -> dict[str, dict[str, Any]]:
    """The Sync Health rows of a recipe: source name → property values (canonical values)."""
    recipe, run = status.recipe, status.last_run
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


class HealthDashboard(RunObserver):
    """Writes a recipe's Sync Health rows and its Sync Runs row around each run.

    Args:
        recipe: the recipe being run.
        clock: the current time (freshness is measured against it); default the real clock.
        started_by: who started the run, for the Sync Runs row (default ``user@host``).
        keep_runs: Sync Runs rows kept per recipe; older ones go to the trash.

    A failure here never fails the run: :func:`~syncfw.engine.run.execute` keeps it as a warning
    of the run (one per run when the databases do not exist).
    """

    def __init__(
        self,
        recipe: Recipe,
        *,
        clock: Clock = utcnow,
        started_by: str | None = None,
        keep_runs: int = KEEP_RUNS,
    ) -> None:
        self.recipe = recipe
        self.clock = clock
        self.started_by = started_by
        self.keep_runs = keep_runs
        self._client: NotionClient | None = None
        self._ids: DashboardIds | None = None
        self._off = False

    def _open(self, client: NotionClient, store: StateBackend) -> tuple[NotionClient, DashboardIds] | None:
        if self._off or store.setting(SETTING) == "off":
            return None
        if self._client is None:
            # the run's budget (one per token), but requests of its own: not counted as the sync's,
            # and ahead of the sync's writes waiting on that budget (DESIGN.md rule 6)
            self._client = NotionClient(
                client.credentials, client.budget, base_url=client.base_url, priority="high"
            )
        if self._ids is None:
            try:
                self._ids = find_dashboard(self._client, store, self.recipe)
            except SyncfwError:
                self._off = True  # say it once per run, not at the start and again at the end
                raise
        return self._client, self._ids

    def _close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def run_started(self, report: RunReport, client: NotionClient, store: StateBackend) -> None:
        opened = self._open(client, store)
        if opened is None:
            return
        notion, ids = opened
        for source in self.recipe.sources:
            values = {
                "Sync": f"{self.recipe.name} · {source}",
                "Recipe": self.recipe.name,
                "Status": "running",
                "Last attempt": report.started_at,
                "Last run": report.run_id,
                "Run status": "running",
            }
            self._upsert(notion, store, ids.health, source, values)

    def run_finished(self, report: RunReport, client: NotionClient, store: StateBackend) -> None:
        try:
            opened = self._open(client, store)
            if opened is None:
                return
            notion, ids = opened
            record = record_of(report, self.recipe)
            self.publish(notion, store, recipe_status(self.recipe, store, now=self.clock(), last_run=record))
            values = _values(RUNS_PROPERTIES, run_row(record, self.recipe, self.started_by or started_by()))
            notion.create_page(ids.runs, values)
            if len(store.runs(self.keep_runs + 1)) > self.keep_runs:
                self._prune(notion, ids.runs)
        finally:
            self._close()
            self._ids, self._off = None, False

    def publish(self, client: NotionClient, store: StateBackend, status: RecipeStatus | None = None) -> int:
        """Write every Sync Health row of the recipe from ``status`` (default: its status now, by
        the dashboard's clock). Returns the number of rows written.

        Raises:
            DashboardUnavailable: the databases do not exist.
            NotionError: Notion refused a request.
        """
        if self._ids is None:
            self._ids = find_dashboard(client, store, self.recipe)
        status = status or recipe_status(self.recipe, store, now=self.clock())
        rows = health_rows(status)
        for source, values in rows.items():
            self._upsert(client, store, self._ids.health, source, values)
        return len(rows)

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

    def _prune(self, client: NotionClient, data_source_id: str) -> None:
        """Move this recipe's Sync Runs rows beyond the newest ``keep_runs`` to the trash."""
        pages = list(
            client.query_pages(
                data_source_id, filter={"property": "Recipe", "rich_text": {"equals": self.recipe.name}}
            )
        )

        def started(page: dict[str, Any]) -> str:
            value = decode("date", page["properties"].get("Started", {"type": "date", "date": None}))
            moment = parse_time(str(value)) if value else None
            return iso(moment) or ""

        # newest first; rows started in the same second keep their creation order (the query's)
        order = sorted(enumerate(pages), key=lambda item: (started(item[1]), item[0]), reverse=True)
        for _, page in order[self.keep_runs :]:
            client.update_page(page["id"], in_trash=True)
