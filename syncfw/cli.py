"""The ``syncfw`` command line: parse options, call the engine, render the outcome.

Exit codes (DESIGN.md): 0 success; 1 run failed (state consistent); 2 usage or configuration
error; 3 completed with records that could not be synced; 4 stopped by a guard (mass change,
schema drift, an expired experimental recipe); 75 another run of the recipe holds its lock.
``syncfw status`` exits 1 when a recipe is unhealthy (stale, failing, never synced, expired, or
its last run failed or was stopped), so that a monitoring check can call it.
"""

from __future__ import annotations

import io
import json
import math
import os
import signal
import stat
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click
from dotenv import dotenv_values
from pydantic import BaseModel, ConfigDict, JsonValue, ValidationError
from rich.table import Table

from syncfw import __version__
from syncfw.engine.plan import Action
from syncfw.engine.run import Progress, RunObserver, RunOptions, RunReport, execute, notion_client_for
from syncfw.errors import ConfigError, GuardStop, PluginWarning, SyncfwError
from syncfw.plugins import Registry, load_plugins
from syncfw.recipe.schema import rate_problem
from syncfw.regular_files import DOCUMENT, SECRET, read_regular
from syncfw.render import (
    JsonLog,
    err,
    out,
    progress_bar,
    render_audit,
    render_plan,
    render_problems,
    render_runs,
    render_status,
    render_summary,
)

F = TypeVar("F", bound=Callable[..., Any])


def _registry() -> Registry:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", PluginWarning)
        registry = load_plugins()
    for w in caught:
        err.print(f"[yellow]warning:[/] plugin: {w.message}")
    return registry


def _load_env(env_file: Path | None) -> None:
    if env_file is None:
        return
    try:
        text = read_regular(env_file, SECRET).decode("utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"{env_file}: env file not found (start the sandbox with `syncfw sandbox serve`)"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "not UTF-8 text"
        raise ConfigError(f"{env_file}: cannot read the env file: {reason}") from None
    for key, value in dotenv_values(stream=io.StringIO(text)).items():
        if value is not None:
            os.environ[key] = value


def env_file_option(fn: F) -> F:
    return click.option(
        "--env-file",
        type=click.Path(path_type=Path, dir_okay=False),
        help="Read NAME=value lines into the environment first (e.g. the sandbox's env file).",
    )(fn)


def _load_recipe(path: Path, registry: Registry) -> Any:
    from syncfw.recipe import load_recipe

    return load_recipe(path, registry=registry)


def _finish(code: int) -> None:
    sys.exit(code)


# -- option types --------------------------------------------------------------------------


class _Rate(click.types.FloatParamType):
    """Requests per second: a finite number that :func:`~syncfw.recipe.schema.rate_problem` accepts
    (from one a day to 10,000 a second)."""

    name = "rate"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        rate = super().convert(value, param, ctx)
        problem = rate_problem(rate)
        if problem is not None:
            self.fail(problem, param, ctx)
        return rate


class _FiniteRange(click.FloatRange):
    """click's :class:`~click.FloatRange` without NaN (which compares false with both bounds)."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = super().convert(value, param, ctx)
        if math.isnan(number):
            self.fail(f"{value!r} is not a number", param, ctx)
        return number


RATE = _Rate()
NOTION_TIMEOUT = 60.0
"""Seconds notion-client waits for an answer by default (its ``timeout_ms`` is 60 000): a sandbox
latency above it would only make every request time out."""
MAX_BULK = 1_000_000
"""Generated records per source object the sandbox may add (the emulators hold them in memory)."""
MAX_RUNS_SHOWN = 100_000


# -- reviewed plans ------------------------------------------------------------------------

MAX_PLAN_BYTES = 256 * 2**20
"""The largest plan file ``syncfw run --plan`` reads (a plan of 200,000 changed pages fits)."""


class _PlannedOperation(BaseModel):
    model_config = ConfigDict(strict=True)
    action: Action
    sync_key: str
    page_id: str | None = None
    before: dict[str, JsonValue]
    after: dict[str, JsonValue]


class _PlannedTarget(BaseModel):
    model_config = ConfigDict(strict=True)
    operations: list[_PlannedOperation]


class ReviewedPlan(BaseModel):
    """What ``syncfw run --plan`` reads of a plan file written by ``syncfw plan --out`` (the report
    of :meth:`~syncfw.engine.run.RunReport.as_dict`; other keys are ignored). JSON nested more than
    pydantic's parser allows (200 levels) is refused, far above a plan's own depth."""

    model_config = ConfigDict(strict=True)
    recipe: str
    command: str
    targets: dict[str, _PlannedTarget]


def _reviewed_plan(path: Path, recipe: str) -> dict[str, Any]:
    """The plan file at ``path`` as :class:`ReviewedPlan` checked it, for ``RunOptions.reviewed_plan``.

    Raises:
        ConfigError: in one line naming the file: not a regular file, over :data:`MAX_PLAN_BYTES`,
            unreadable, not JSON (or nested too deep), not the shape of a plan, not a plan of
            ``recipe``.
    """

    def refuse(why: str) -> NoReturn:
        raise ConfigError(
            f"{path}: {why}; make a new plan with `syncfw plan RECIPE --out {path}` and review it"
        )

    try:
        if not stat.S_ISREG(path.stat().st_mode):  # a FIFO or device would block or never end
            refuse("not a plan file written by `syncfw plan --out` (not a regular file)")
        with path.open("rb") as file:
            text = file.read(MAX_PLAN_BYTES + 1)
    except OSError as exc:
        refuse(f"cannot read the plan file: {exc.strerror or exc}")
    if len(text) > MAX_PLAN_BYTES:
        refuse(f"larger than {MAX_PLAN_BYTES // 2**20} MiB, so not a plan file syncfw reads")
    try:
        plan = ReviewedPlan.model_validate_json(text)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(map(str, first["loc"]))[:120]
        refuse(
            f"not a plan file written by `syncfw plan --out` ({where + ': ' if where else ''}{first['msg']})"
        )
    if plan.command != "plan" or plan.recipe != recipe:
        refuse(f"not a plan of recipe {recipe} written by `syncfw plan --out`")
    return plan.model_dump(mode="json")


# -- commands ------------------------------------------------------------------------------


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="syncfw")
def cli() -> None:
    """syncfw: keep Notion data sources fed from the systems that own the data."""


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path, exists=True))
@env_file_option
@click.option(
    "--explain", is_flag=True, help="Show each target property with its owner and where its value comes from."
)
def validate(paths: tuple[Path, ...], env_file: Path | None, explain: bool) -> None:
    """Load and check recipes and mappings offline (nothing is read or written)."""
    from syncfw.recipe import explain as explain_recipe
    from syncfw.recipe import load_mapping

    _load_env(env_file)
    registry = _registry()
    problems: list[str] = []
    for path in paths:
        files = sorted(path.rglob("*.yaml")) + sorted(path.rglob("*.yml")) if path.is_dir() else [path]
        for file in files:
            try:
                head = read_regular(file, DOCUMENT).decode("utf-8", errors="replace")
            except OSError as exc:
                problems.append(f"{file}:1:1 cannot read the file: {exc.strerror or exc}")
                continue
            try:
                if any(line.startswith("mapping:") for line in head.splitlines()):
                    load_mapping(file)
                    out.print(f"ok  mapping {file}")
                else:
                    recipe = _load_recipe(file, registry)
                    out.print(f"ok  recipe {file}: {recipe.name}, targets {', '.join(recipe.targets)}")
                    try:
                        _check_runnable(recipe)
                    except GuardStop as exc:
                        err.print(f"[yellow]warning:[/] {exc}", markup=True, highlight=False)
                    if explain:
                        _print_explain(explain_recipe(recipe))
            except ConfigError as exc:
                problems.append(str(exc))
    if problems:
        for problem in problems:
            err.print(problem, markup=False, soft_wrap=True)
        _finish(2)


def _print_explain(rows: list[Any]) -> None:
    table = Table(title_justify="left", show_lines=False)
    for col in ("target", "property", "type", "owner", "value from", "defined at"):
        table.add_column(col, overflow="fold")
    for row in rows:
        table.add_row(row.target, row.property, row.type, row.owner, row.origin, row.where)
    out.print(table)


def _run_common(fn: F) -> F:
    fn = click.option(
        "--quiet", "-q", is_flag=True, help="Print only problems: failed records, warnings, the error."
    )(fn)
    fn = click.option(
        "--log-format",
        type=click.Choice(["auto", "text", "json"]),
        default="auto",
        show_default=True,
        help="text: progress bars and tables; json: one JSON object per line on stderr; "
        "auto: text on a terminal, json otherwise (cron, CI, containers) unless --json is given.",
    )(fn)
    fn = click.option(
        "--json", "as_json", is_flag=True, help="Print the report as one JSON object on stdout."
    )(fn)
    fn = click.option(
        "--notion-rate-limit",
        type=RATE,
        help="Notion requests per second (overrides the recipe's notion.rate_limit).",
    )(fn)
    fn = click.option(
        "--reconcile",
        is_flag=True,
        help="Scan every key at the sources and treat records that no longer exist as deleted "
        "(also done on one run in each target's reconcile_every).",
    )(fn)
    fn = click.option("--full-refresh", is_flag=True, help="Ignore stored cursors and read every record.")(fn)
    fn = env_file_option(fn)
    return click.argument("recipe", type=click.Path(path_type=Path, exists=True, dir_okay=False))(fn)


class _Output:
    """How a plan or run talks: rich progress and tables, or JSON lines, and the --json report."""

    def __init__(self, log_format: str, quiet: bool, as_json: bool) -> None:
        # with --json the report on stdout is the machine-readable output: auto adds no log lines
        json_lines = log_format == "json" or (log_format == "auto" and not err.is_terminal and not as_json)
        self.log = JsonLog(sys.stderr, quiet=quiet) if json_lines else None
        self.quiet = quiet
        self.as_json = as_json

    @property
    def observers(self) -> list[RunObserver]:
        return [self.log] if self.log is not None else []

    @contextmanager
    def progress(self) -> Iterator[Progress]:
        if self.log is not None:
            yield self.log
            return
        with progress_bar(not (self.as_json or self.quiet)) as bar:
            yield bar

    def report(self, report: RunReport, render: Callable[[RunReport], None]) -> None:
        if self.as_json:
            click.echo(json.dumps(report.as_dict(), indent=2))
        if self.log is not None:
            self.log.finished(report)
        elif self.quiet:
            render_problems(report)
        elif not self.as_json:
            render(report)


def _check_runnable(recipe: Any) -> None:
    from syncfw.recipe.governance import check_runnable

    check_runnable(recipe, date.today())


@cli.command()
@_run_common
@click.option(
    "--out", "out_file", type=click.Path(path_type=Path, dir_okay=False), help="Write the plan as JSON."
)
def plan(
    recipe: Path,
    env_file: Path | None,
    full_refresh: bool,
    reconcile: bool,
    notion_rate_limit: float | None,
    as_json: bool,
    log_format: str,
    quiet: bool,
    out_file: Path | None,
) -> None:
    """Read the sources and Notion and show the property-level diff; write nothing."""
    _load_env(env_file)
    registry = _registry()
    loaded = _load_recipe(recipe, registry)
    _check_runnable(loaded)
    output = _Output(log_format, quiet, as_json)
    options = RunOptions(
        apply=False, rate_limit=notion_rate_limit, full_refresh=full_refresh, reconcile=reconcile
    )
    with output.progress() as progress:
        report = execute(loaded, registry, options, progress)
    if out_file is not None:
        out_file.write_text(json.dumps(report.as_dict(), indent=2))
    output.report(report, render_plan)
    _finish(report.exit_code)


@cli.command()
@_run_common
@click.option(
    "--allow-mass-change", is_flag=True, help="Let this run archive or update more than the guard allows."
)
@click.option(
    "--plan",
    "plan_file",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help="Apply only if a fresh plan equals this reviewed plan (from `syncfw plan --out`).",
)
def run(
    recipe: Path,
    env_file: Path | None,
    full_refresh: bool,
    reconcile: bool,
    notion_rate_limit: float | None,
    as_json: bool,
    log_format: str,
    quiet: bool,
    allow_mass_change: bool,
    plan_file: Path | None,
) -> None:
    """Plan and apply: write the changes to Notion, the Sync Health rows and the alerts."""
    from syncfw.health import Alerts, HealthDashboard, record_context, run_context

    _load_env(env_file)
    registry = _registry()
    loaded = _load_recipe(recipe, registry)
    _check_runnable(loaded)
    reviewed = None
    if plan_file is not None:
        reviewed = _reviewed_plan(plan_file, loaded.name)
        allow_mass_change = True  # the changes were reviewed
    context = run_context(loaded, registry, sys.argv[1:])
    output = _Output(log_format, quiet, as_json)
    options = RunOptions(
        apply=True,
        rate_limit=notion_rate_limit,
        full_refresh=full_refresh,
        reconcile=reconcile,
        allow_mass_change=allow_mass_change,
        reviewed_plan=reviewed,
        observers=[
            *output.observers,
            HealthDashboard(loaded, started_by=context["started_by"]),
            Alerts(loaded),
        ],
    )
    with output.progress() as progress:
        report = execute(loaded, registry, options, progress)
    record_context(loaded, report, context)
    output.report(report, render_summary)
    _finish(report.exit_code)


def _recipes(path: Path) -> list[Any]:
    from syncfw.health.inventory import load_offline, recipe_paths

    return [load_offline(p) for p in recipe_paths(path)]


def _recipes_argument(fn: F) -> F:
    return click.argument(
        "path",
        required=False,
        default=Path("recipes"),
        type=click.Path(path_type=Path, exists=True),
    )(fn)


@cli.command()
@_recipes_argument
@env_file_option
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of tables.")
@click.option(
    "--publish",
    is_flag=True,
    help="Also write the Sync Health rows in Notion and send the alerts whose state changed "
    "(so a recipe whose scheduler stopped turns stale there too); needs the recipes' credentials.",
)
def status(path: Path, env_file: Path | None, as_json: bool, publish: bool) -> None:
    """Freshness of every source against stale_after, last runs, open quarantine and drift.

    PATH is a recipe file or a directory of recipes (default: recipes/). Exits 0 when every recipe
    is healthy, 1 when something is stale, failing, never synced or expired, or a last run failed
    or was stopped by a guard.
    """
    from syncfw.health import HealthDashboard, raise_alerts, recipe_status
    from syncfw.state import StateStore

    _load_env(env_file)
    if publish:
        from syncfw.health.inventory import recipe_paths

        registry = _registry()
        recipes = [_load_recipe(p, registry) for p in recipe_paths(path)]
    else:
        recipes = _recipes(path)
    statuses = [recipe_status(recipe) for recipe in recipes]
    problems: list[str] = []
    if publish:
        for recipe, health in zip(recipes, statuses, strict=True):
            client, store = notion_client_for(recipe), StateStore(recipe.state_path)
            try:
                HealthDashboard(recipe).publish(client, store, health)
                raise_alerts(recipe, store, health)
            except SyncfwError as exc:
                problems.append(f"{recipe.name}: {exc}")
            finally:
                client.close()
                store.close()
    code = max((s.exit_code for s in statuses), default=0)
    if as_json:
        # one recipe: its status object; a directory: every recipe's, under "recipes"
        shown = (
            {"exit_code": code, **statuses[0].as_dict()}
            if not path.is_dir()
            else {"exit_code": code, "recipes": [s.as_dict() for s in statuses]}
        )
        click.echo(json.dumps(shown, indent=2))
    else:
        render_status(statuses)
    for problem in problems:
        err.print(f"[yellow]warning:[/] publishing {problem}", markup=True, highlight=False)
    _finish(code)


@cli.command()
@_recipes_argument
@env_file_option
@click.option(
    "--limit",
    type=click.IntRange(1, MAX_RUNS_SHOWN),
    default=20,
    show_default=True,
    help="Runs shown per recipe.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of a table.")
def runs(path: Path, env_file: Path | None, limit: int, as_json: bool) -> None:
    """Run history: who or what started each run, versions, counts, Notion requests, duration,
    exit code and error; renewals too. PATH is a recipe or a directory of recipes (default: recipes/)."""
    from syncfw.health import run_history
    from syncfw.health.history import newest_first

    _load_env(env_file)
    entries = newest_first([e for recipe in _recipes(path) for e in run_history(recipe, limit)])
    if as_json:
        click.echo(json.dumps({"runs": [e.as_dict() for e in entries]}, indent=2))
    else:
        render_runs(entries)


@cli.command()
@_recipes_argument
@env_file_option
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of tables.")
def audit(path: Path, env_file: Path | None, as_json: bool) -> None:
    """Every recipe with owner, tier, expiry, last success and lineage: which source field feeds
    which Notion property of which data source, what people own, what holds personal data.
    PATH is a directory of recipes (default: recipes/) or one recipe."""
    from syncfw.health import audit_recipe

    _load_env(env_file)
    registry = _registry()
    audits = [audit_recipe(recipe, registry) for recipe in _recipes(path)]
    if as_json:
        click.echo(json.dumps({"recipes": [a.as_dict() for a in audits]}, indent=2))
    else:
        render_audit(audits)


@cli.command()
@click.argument("recipe", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option(
    "--days",
    type=click.IntRange(1, 30),
    default=30,
    show_default=True,
    help="Days from today until it expires.",
)
@env_file_option
def renew(recipe: Path, days: int, env_file: Path | None) -> None:
    """Move the expires date of an experimental recipe (edits the file, keeping its comments), and
    record the renewal in its run history."""
    from syncfw.health.history import record_renewal, run_context
    from syncfw.recipe.governance import renew as move_expiry

    _load_env(env_file)
    loaded = _recipes(recipe)[0]
    before, after = move_expiry(recipe, date.today(), days)
    run_id = record_renewal(loaded, before, after, run_context(loaded, Registry(), sys.argv[1:]))
    was = before.isoformat() if before else "unset"
    out.print(f"renewed {loaded.name}: expires {was} → {after.isoformat()} (recorded as {run_id})")


@cli.command()
@click.argument("run_id")
@click.option(
    "--recipe",
    "recipe_path",
    required=True,
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    help="The recipe the run belongs to.",
)
@env_file_option
@click.option("--dry-run", is_flag=True, help="Show what would be restored; change nothing.")
@click.option("--json", "as_json", is_flag=True)
def rollback(run_id: str, recipe_path: Path, env_file: Path | None, dry_run: bool, as_json: bool) -> None:
    """Undo a run: restore changed properties, unarchive, archive created pages, rewind cursors."""
    from syncfw.engine.rollback import rollback as undo

    _load_env(env_file)
    loaded = _load_recipe(recipe_path, _registry())
    report = undo(loaded, run_id, dry_run=dry_run)
    if as_json:
        click.echo(json.dumps(report.as_dict(), indent=2))
    else:
        verb = "would undo" if dry_run else "undid"
        out.print(f"rollback of run {run_id}: {verb} {len(report.steps)} journal entries")
        for step in report.steps:
            detail = ", ".join(f"{k} → {v!r}" for k, v in step.restored.items())
            out.print(f"  {step.action} {step.target} {step.sync_key}: {step.note or detail}", markup=False)
            for prop, why in step.refused.items():
                out.print(f"  [yellow]refused[/] {step.target} {step.sync_key} {prop!r}: {why}")
    _finish(3 if report.refused else 0)


@cli.group()
def notion() -> None:
    """Set up the Notion side of a recipe."""


@notion.command("init")
@click.argument("recipe", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@env_file_option
@click.option(
    "--no-health",
    is_flag=True,
    help="Do not create the Sync Health and Sync Runs databases; runs of the recipe then leave them alone.",
)
def notion_init(recipe: Path, env_file: Path | None, no_health: bool) -> None:
    """Create the target databases with the mapped property types, or add missing properties; and
    the Sync Health and Sync Runs databases under the same parent page (once per workspace page)."""
    from syncfw.errors import DashboardUnavailable
    from syncfw.health.dashboard import disable_dashboard, init_dashboard
    from syncfw.notion.schema import InitResult, init_target
    from syncfw.state import StateStore

    _load_env(env_file)
    loaded = _load_recipe(recipe, _registry())
    client = notion_client_for(loaded)
    store = StateStore(loaded.state_path)
    data_sources: dict[str, str] = {}
    problems = []
    try:
        results: list[InitResult] = []
        for target in loaded.targets_in_order():
            result = init_target(client, store, target, data_sources, loaded.name)
            data_sources[target.name] = result.data_source_id
            results.append(result)
        if no_health:
            disable_dashboard(store)
        else:
            try:
                results += init_dashboard(client, store, loaded)
            except DashboardUnavailable as exc:
                err.print(f"[yellow]warning:[/] {exc}", markup=True, highlight=False)
        for result in results:
            name = result.target.removeprefix("health: ")
            if result.created:
                out.print(
                    f"created  {name}: data source {result.data_source_id} ({len(result.added)} properties)"
                )
            elif result.added:
                out.print(f"extended {name}: added {', '.join(result.added)}")
            else:
                out.print(f"ok       {name}: data source {result.data_source_id} already fits")
            problems += result.problems
    finally:
        client.close()
        store.close()
    for problem in problems:
        err.print(f"[red]schema:[/] {problem}")
    if problems:
        _finish(4)


@cli.command()
@click.option("--json", "as_json", is_flag=True)
def plugins(as_json: bool) -> None:
    """Installed plugins: connectors, emulators and transforms, with versions."""
    registry = _registry()
    rows: list[dict[str, Any]] = [
        {
            "name": p.name,
            "distribution": p.distribution,
            "version": p.version,
            "connectors": p.connectors,
            "emulators": p.emulators,
            "transforms": p.transforms,
            "maturity": {c: registry.connectors[c].maturity for c in p.connectors},
        }
        for p in registry.plugins
    ]
    if as_json:
        click.echo(json.dumps({"plugins": rows, "problems": registry.problems}, indent=2))
        return
    table = Table(title="syncfw plugins", title_justify="left")
    for col in ("plugin", "distribution", "version", "provides"):
        table.add_column(col)
    for row in rows:
        provides = [f"connector {c} ({row['maturity'][c]})" for c in row["connectors"]]
        provides += [f"emulator {e}" for e in row["emulators"]]
        if row["transforms"]:
            provides.append(f"transforms: {', '.join(row['transforms'])}")
        table.add_row(row["name"], row["distribution"], row["version"], "\n".join(provides))
    out.print(table)


@cli.command("new-connector")
@click.argument("name")
@click.option(
    "--dest",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("."),
    show_default=True,
    help="Directory to create syncfw-NAME/ in.",
)
def new_connector(name: str, dest: Path) -> None:
    """Scaffold a connector distribution (entry point, config, stream, emulator, kit tests)."""
    from syncfw.scaffold import scaffold_connector

    path = scaffold_connector(name, dest)
    out.print(f"created {path}")
    out.print(f"next: pip install -e {path} && pytest {path}/tests   (see docs/connectors.md)")


@cli.group()
def sandbox() -> None:
    """Local emulators of Notion and of every installed connector's source."""


def _fault_plan(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    from syncfw.emulation.faults import FaultPlan

    if value:
        try:
            FaultPlan.parse(value)
        except ValueError as exc:
            raise click.BadParameter(str(exc)) from None
    return value


def _source_options(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> dict[str, str]:
    options: dict[str, str] = {}
    for item in values:
        name, sep, value = item.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise click.BadParameter(f"{item!r}: write NAME=VALUE, e.g. recycle_bin_days=15")
        options[name.strip()] = value.strip()
    return options


def _query_cap(ctx: click.Context, param: click.Parameter, value: int) -> int:
    from syncfw.sandbox.notion.controls import QUERY_CAP

    if value > QUERY_CAP:  # an emulator is at least as strict as Notion
        raise click.BadParameter(f"{value} is more than Notion's own cap of {QUERY_CAP} results")
    return value


@sandbox.command("serve")
@click.option(
    "--data",
    "data_dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Seed data root: DIR/<connector>/<Object>.json.",
)
@click.option(
    "--state-dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path(".syncfw/sandbox"),
    show_default=True,
)
@click.option(
    "--env-file",
    type=click.Path(path_type=Path, dir_okay=False),
    default=Path(".syncfw/sandbox.env"),
    show_default=True,
)
@click.option("--notion-rate-limit", type=RATE, help="Answer 429 above this many requests per second.")
@click.option(
    "--notion-latency",
    type=_FiniteRange(0, NOTION_TIMEOUT),
    default=0.0,
    help="Seconds added to every Notion response.",
)
@click.option(
    "--notion-query-cap",
    type=click.IntRange(min=1),
    callback=_query_cap,
    default=10_000,
    show_default=True,
    help="Results one Notion data source query returns at most (Notion's limit; past it "
    'responses carry request_status "incomplete").',
)
@click.option(
    "--bulk",
    type=click.IntRange(1, MAX_BULK),
    help="Add this many generated records per source object (e.g. 3000).",
)
@click.option(
    "--notion-faults",
    callback=_fault_plan,
    help="Random faults of the Notion emulator, e.g. "
    '"429=0.05,5xx=0.05,reset=0.02,lost=0.02,late_commit=0.01,late_commit_after=2,retry_after=0".',
)
@click.option(
    "--source-faults",
    callback=_fault_plan,
    help="Random faults of the source emulators that support them (same grammar).",
)
@click.option(
    "--source-option",
    "source_options",
    multiple=True,
    callback=_source_options,
    metavar="NAME=VALUE",
    help="An option of the source emulators, repeatable (e.g. recycle_bin_days=15, "
    "hubspot_search_lag=10, hubspot_archive_retention=90, zendesk_rate_limit=400; each "
    "connector's README lists its own).",
)
def sandbox_serve(
    data_dir: Path | None,
    state_dir: Path,
    env_file: Path,
    notion_rate_limit: float | None,
    notion_latency: float,
    notion_query_cap: int,
    bulk: int | None,
    notion_faults: str | None,
    source_faults: str | None,
    source_options: dict[str, str],
) -> None:
    """Start the emulators on 127.0.0.1 and run until stopped (Ctrl-C or SIGTERM)."""
    from syncfw.sandbox.runner import Sandbox

    options = dict(source_options)
    if bulk:
        options["bulk"] = str(bulk)
    if source_faults:
        options["faults"] = source_faults
    box = Sandbox(
        state_dir,
        _registry(),
        data_dir=data_dir,
        notion_rate_limit=notion_rate_limit,
        notion_latency=notion_latency,
        notion_faults=notion_faults,
        notion_query_cap=notion_query_cap,
        options=options,
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    box.start()
    box.write_env(env_file)
    out.print(f"sandbox running; env file: {env_file}")
    for key, value in sorted(box.env.items()):
        shown = value if "TOKEN" not in key and "SESSION" not in key else value[:12] + "…"
        out.print(f"  {key}={shown}")
    out.print("stop with Ctrl-C")
    try:
        while not stop.is_set():
            stop.wait(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        box.stop()


@sandbox.command("dump")
@click.option(
    "--env-file",
    type=click.Path(path_type=Path, dir_okay=False),
    default=Path(".syncfw/sandbox.env"),
    show_default=True,
)
def sandbox_dump(env_file: Path) -> None:
    """Print every Notion data source with its pages as JSON (Notion API response shapes)."""
    from syncfw.sandbox.dump import dump_workspace

    _load_env(env_file)
    click.echo(json.dumps(dump_workspace(), indent=2, ensure_ascii=False))


@sandbox.command("edit")
@click.argument("page_or_sync_key")
@click.argument("property_name", metavar="PROPERTY")
@click.argument("value")
@click.option(
    "--as", "as_user", default="Grace Hopper", show_default=True, help="The person making the edit."
)
@click.option(
    "--env-file",
    type=click.Path(path_type=Path, dir_okay=False),
    default=Path(".syncfw/sandbox.env"),
    show_default=True,
)
def sandbox_edit(page_or_sync_key: str, property_name: str, value: str, as_user: str, env_file: Path) -> None:
    """Edit a property in the sandbox's Notion as a person would (sets last_edited_by)."""
    from syncfw.sandbox.edit import human_edit

    _load_env(env_file)
    page = human_edit(page_or_sync_key, property_name, value, as_user)
    out.print(f"{as_user} set {property_name!r} of page {page['id']} to {value!r}")


@cli.command()
@click.option("--rate-limit", type=RATE, default=3.0, show_default=True, help="Notion requests per second.")
@click.option(
    "--keep", type=click.Path(path_type=Path, file_okay=False), help="Keep the sandbox in this directory."
)
def demo(rate_limit: float, keep: Path | None) -> None:
    """Run the main job end to end in the sandbox: Salesforce accounts and contacts into Notion."""
    from syncfw.sandbox.demo import run_demo

    workdir = keep or Path(tempfile.mkdtemp(prefix="syncfw-demo-"))
    started = time.monotonic()
    code = run_demo(workdir, _registry(), rate_limit=rate_limit, console=out, progress=progress_bar)
    out.print(f"demo finished in {time.monotonic() - started:.0f} s")
    _finish(code)


def main() -> None:
    """Entry point: run the CLI; expected failures print a message (no traceback) and exit."""
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        err.print("aborted")
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except ConfigError as exc:
        for line in str(exc).splitlines():
            err.print(line, markup=False, highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code)
    except SyncfwError as exc:
        err.print(f"error: {exc}", markup=False, soft_wrap=True)
        sys.exit(exc.exit_code)
    except SystemExit:
        raise


if __name__ == "__main__":
    main()
