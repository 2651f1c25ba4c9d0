"""``syncfw plan`` and ``syncfw run``: read the sources and Notion, show or apply the diff."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from syncfw.cli.console import err, out
from syncfw.cli.logs import log_as_json
from syncfw.cli.options import RATE, F, env_file_option, load_env, load_recipe, registry
from syncfw.cli.render import (
    JsonLog,
    progress_bar,
    render_batch,
    render_notices,
    render_plan,
    render_plan_markdown,
    render_problems,
    render_summary,
)
from syncfw.clock import utcnow
from syncfw.engine.batch import BatchReport, run_batch
from syncfw.engine.reviewed import read_reviewed_plan, write_plan_file
from syncfw.engine.run import Progress, RunObserver, RunOptions, RunReport, execute
from syncfw.errors import SyncfwError
from syncfw.health.inventory import load_offline, recipe_paths
from syncfw.plugins import Registry
from syncfw.recipe import Recipe


def _run_options(fn: F) -> F:
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
    fn = click.option(
        "--due",
        is_flag=True,
        help="Only the recipes whose schedule: has fired since their last run (or that never ran).",
    )(fn)
    fn = click.option(
        "--select",
        "-s",
        "selected",
        multiple=True,
        metavar="NAME|tag:T|source:S|PATH",
        help="With a directory: only these recipes (repeatable; values add up, as in dbt).",
    )(fn)
    fn = env_file_option(fn)
    return click.argument("recipe", type=click.Path(path_type=Path, exists=True))(fn)


class _Output:
    """How a plan or run talks: rich progress and tables, or JSON lines, and the --json report.

    A plan's text goes to stdout wherever stdout goes (a terminal, a pipe, a file, CI), as
    Terraform prints its plan; only its logs follow ``--log-format`` (JSON lines on stderr off a
    terminal). A run's text is for a terminal (``--log-format text`` elsewhere).
    """

    def __init__(self, log_format: str, quiet: bool, as_json: bool, *, text_anywhere: bool = False) -> None:
        # with --json the report on stdout is the machine-readable output: auto adds no log lines
        json_lines = log_format == "json" or (log_format == "auto" and not err.is_terminal and not as_json)
        self.log = JsonLog(sys.stderr, quiet=quiet) if json_lines else None
        if self.log is not None:
            log_as_json(self.log)
        self.quiet = quiet
        self.as_json = as_json
        self.text_anywhere = text_anywhere
        self.batch = False

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

    def report(self, report: RunReport, render: Callable[..., None]) -> None:
        if self.as_json and not self.batch:
            click.echo(json.dumps(report.as_dict(), indent=2))
        if self.log is not None:
            self.log.finished(report)
            if report.backfill is not None:
                self.log.emit("backfill", message=report.backfill.message(), **report.backfill.as_dict())
        elif self.quiet:
            render_problems(report)
        if self.as_json or self.quiet or (self.log is not None and not self.text_anywhere):
            return
        render(report, notices=self.log is None)  # JSON lines carry the notices otherwise
        if self.log is None and report.backfill is not None:
            out.print(report.backfill.message(), markup=False, soft_wrap=True)

    def wrote(self, path: Path) -> None:
        """Say where ``plan --out`` wrote the plan file (on stderr: stdout holds the plan)."""
        if self.log is not None:
            self.log.emit("plan_written", path=str(path.resolve()))
        elif not self.quiet:
            err.print(
                f"plan written to {path} (apply it with `syncfw run RECIPE --plan {path}`)",
                markup=False,
                soft_wrap=True,
            )

    def many(self, batch: BatchReport) -> None:
        """The end of a command over several recipes: one summary, or one JSON object."""
        if self.as_json:
            click.echo(json.dumps(batch.as_dict(), indent=2))
        if self.log is not None:
            self.log.batch_finished(batch)
        if not self.as_json and (self.log is None or self.text_anywhere):
            render_batch(batch, problems_only=self.quiet)


def _each(
    command: str,
    recipe: Path,
    selected: tuple[str, ...],
    due: bool,
    plugins: Registry,
    output: _Output,
    one: Callable[[Recipe], RunReport],
) -> BatchReport | None:
    """Run ``one`` on each recipe of the directory ``recipe`` that ``selected`` and ``due``
    select, and print the summary; None for one recipe file named alone (the usual run)."""
    if recipe.is_file() and not selected and not due:
        return None
    output.batch = True
    batch = run_batch(
        command,
        recipe_paths(recipe),
        selected,
        due=due,
        now=utcnow(),
        offline=load_offline,
        load=functools.partial(load_recipe, plugins=plugins),
        one=one,
    )
    output.many(batch)
    return batch


DETAILED_EXIT = {"no changes": 0, "changes": 2, "error": 1}
"""``plan --detailed-exitcode``: Terraform's exit codes (developer.hashicorp.com/terraform/cli/commands/plan,
``-detailed-exitcode``): 0 no changes, 2 changes present, 1 anything else."""


def _detailed(exit_code: int, reports: list[RunReport]) -> int:
    """The ``--detailed-exitcode`` of plans whose plain exit code is ``exit_code``: 1 unless it
    is 0, else 2 when any plan has an operation, else 0."""
    if exit_code != 0:
        return DETAILED_EXIT["error"]
    changes = any(t.plan.operations for r in reports for t in r.targets.values())
    return DETAILED_EXIT["changes" if changes else "no changes"]


class _PlanCommand(click.Command):
    """``syncfw plan``: with ``--detailed-exitcode`` every failure exits 1, since 2 (syncfw's
    usage and configuration errors) means "changes" there."""

    def make_context(
        self, info_name: str | None, args: list[str], parent: click.Context | None = None, **extra: Any
    ) -> click.Context:
        detailed = "--detailed-exitcode" in args  # the parser consumes ``args``
        try:
            return super().make_context(info_name, args, parent, **extra)
        except click.ClickException as exc:
            if not detailed:
                raise
            exc.show()  # as syncfw's main() does, with the exit code of an error
            sys.exit(DETAILED_EXIT["error"])

    def invoke(self, ctx: click.Context) -> Any:
        detailed = bool(ctx.params.get("detailed_exitcode"))
        try:
            return super().invoke(ctx)
        except click.ClickException as exc:
            if not detailed:
                raise
            exc.show()
            sys.exit(DETAILED_EXIT["error"])
        except SyncfwError as exc:
            if detailed:
                exc.exit_code = DETAILED_EXIT["error"]
            raise


@click.command(cls=_PlanCommand)
@_run_options
@click.option(
    "--out",
    "out_file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Also write the plan file (JSON, with its format version and the recipe's digest) for "
    "`syncfw run --plan`.",
)
@click.option(
    "--format",
    "text_format",
    type=click.Choice(["text", "markdown"]),
    default="text",
    show_default=True,
    help="markdown: the plan as a pull request comment, personal data redacted (the properties "
    "fed by fields the connectors mark as personal).",
)
@click.option(
    "--detailed-exitcode",
    is_flag=True,
    help="Exit 0 when there are no changes, 2 when there are changes, 1 on any error (Terraform's "
    "convention; docs/operations.md).",
)
def plan(
    recipe: Path,
    env_file: Path | None,
    selected: tuple[str, ...],
    due: bool,
    full_refresh: bool,
    reconcile: bool,
    notion_rate_limit: float | None,
    as_json: bool,
    log_format: str,
    quiet: bool,
    out_file: Path | None,
    text_format: str,
    detailed_exitcode: bool,
) -> None:
    """Read the sources and Notion and show the property-level diff; write nothing.

    The plan goes to stdout wherever stdout goes (a terminal, a pipe, a file); logs go to
    stderr. RECIPE is a recipe file, or a directory of recipes (with --select and --due, as
    `syncfw run`).
    """
    if as_json and text_format != "text":
        raise click.UsageError("--json and --format markdown both print the plan: choose one")
    load_env(env_file)
    plugins = registry()
    output = _Output(log_format, quiet, as_json, text_anywhere=True)
    options = RunOptions(
        apply=False, rate_limit=notion_rate_limit, full_refresh=full_refresh, reconcile=reconcile
    )
    reports: list[RunReport] = []

    def plan(loaded: Recipe) -> RunReport:
        with output.progress() as progress:
            report = execute(loaded, plugins, options, progress)
        if text_format == "markdown":
            output.report(report, functools.partial(_markdown, loaded, plugins))
        else:
            output.report(report, render_plan)
        reports.append(report)
        return report

    if out_file is not None and (recipe.is_dir() or selected or due):
        raise click.UsageError(
            "--out writes the plan of one recipe: name its file, without --select or --due"
        )
    batch = _each("plan", recipe, selected, due, plugins, output, plan)
    if batch is not None:
        sys.exit(_detailed(batch.exit_code, reports) if detailed_exitcode else batch.exit_code)
    loaded = load_recipe(recipe, plugins)
    report = plan(loaded)
    if out_file is not None:
        write_plan_file(out_file, report, loaded)
        output.wrote(out_file)
    sys.exit(_detailed(report.exit_code, reports) if detailed_exitcode else report.exit_code)


def _markdown(recipe: Recipe, plugins: Registry, report: RunReport, *, notices: bool = True) -> None:
    """Print the plan as Markdown: personal data redacted, secrets scrubbed."""
    from syncfw.health.redaction import scrub
    from syncfw.recipe.governance import personal_fields

    personal = {
        name: {prop for mapping in target.mappings for prop in personal_fields(mapping, plugins)}
        for name, target in recipe.targets.items()
    }
    click.echo(scrub(render_plan_markdown(report, personal), recipe))
    if notices:
        render_notices(report)


@click.command()
@_run_options
@click.option(
    "--allow-mass-change", is_flag=True, help="Let this run archive or update more than the guard allows."
)
@click.option(
    "--max-writes",
    type=click.IntRange(min=1),
    help="End the run after this many page writes (creates, updates, archives), exit 0; the next "
    "runs continue where it stopped (a backfill in many runs). Overrides the recipe's max_writes.",
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
    selected: tuple[str, ...],
    due: bool,
    full_refresh: bool,
    reconcile: bool,
    notion_rate_limit: float | None,
    as_json: bool,
    log_format: str,
    quiet: bool,
    allow_mass_change: bool,
    max_writes: int | None,
    plan_file: Path | None,
) -> None:
    """Plan and apply: write the changes to Notion, the Sync Health rows and the alerts.

    RECIPE is a recipe file, or a directory of recipes: each selected one (--select, --due) runs
    in turn, then one summary and the worst exit code (docs/operations.md, "One cron line for
    every recipe").
    """
    from syncfw.health import Alerts, HealthDashboard, record_context, run_context

    load_env(env_file)
    plugins = registry()
    output = _Output(log_format, quiet, as_json)

    def run(loaded: Recipe) -> RunReport:
        reviewed = read_reviewed_plan(plan_file, loaded) if plan_file is not None else None
        context = run_context(loaded, plugins, sys.argv[1:])
        options = RunOptions(
            apply=True,
            rate_limit=notion_rate_limit,
            full_refresh=full_refresh,
            reconcile=reconcile,
            allow_mass_change=allow_mass_change,
            reviewed_plan=reviewed,
            max_writes=max_writes,
            observers=[
                *output.observers,
                HealthDashboard(loaded, started_by=context["started_by"]),
                Alerts(loaded),
            ],
        )
        with output.progress() as progress:
            report = execute(loaded, plugins, options, progress)
        record_context(loaded, report, context)
        output.report(report, render_summary)
        return report

    if plan_file is not None and (recipe.is_dir() or selected or due):
        raise click.UsageError(
            "--plan applies the plan of one recipe: name its file, without --select or --due"
        )
    batch = _each("run", recipe, selected, due, plugins, output, run)
    if batch is not None:
        sys.exit(batch.exit_code)
    sys.exit(run(load_recipe(recipe, plugins)).exit_code)
