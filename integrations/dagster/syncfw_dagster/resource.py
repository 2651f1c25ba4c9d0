""":class:`SyncfwResource`: runs a recipe in-process, as ``syncfw run`` does, for a Dagster step."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
from pydantic import Field

from syncfw.engine.run import Progress, RunOptions, RunReport, execute
from syncfw.errors import SyncfwError
from syncfw.health import Alerts, HealthDashboard, record_context, run_context
from syncfw.plugins import load_plugins
from syncfw.recipe import load_recipe

RECIPE_TAG = "syncfw/recipe"
"""The op tag holding the recipe file a multi-asset materialises (an absolute path)."""
QUARANTINE_CHECK = "quarantine"
DRIFT_CHECK = "drift"
LISTED = 20
"""Quarantined records and drift findings listed in a check's metadata at most (the counts are whole)."""


def target_key(recipe: str, target: str) -> dg.AssetKey:
    """``["notion", RECIPE, TARGET]``: the asset of a recipe's target."""
    return dg.AssetKey(["notion", recipe, target])


class _LogProgress(Progress):
    """A run's phases as lines of the Dagster step's log."""

    def __init__(self, log: Any) -> None:
        self.log = log

    def phase(self, target: str, text: str) -> None:
        self.log.info(f"{target}: {text}")

    def writes(self, target: str, total: int) -> None:
        self.log.info(f"{target}: {total} writes to send")


class SyncfwResource(dg.ConfigurableResource):  # type: ignore[type-arg]  # the resource is its own value
    """Runs the recipe of a ``syncfw_assets`` multi-asset with :func:`syncfw.engine.run.execute`,
    in-process, as ``syncfw run RECIPE`` would: the same run lock, rate budget, Sync Health rows,
    alerts and run history (whose ``context.trigger`` names the Dagster run).

    The fields are the ``syncfw run`` options; set them in a run's launchpad config for one run
    (``resources: {syncfw: {config: {allow_mass_change: true}}}``).
    """

    notion_rate_limit: float | None = Field(
        default=None, description="Notion requests per second (overrides the recipe's notion.rate_limit)."
    )
    full_refresh: bool = Field(default=False, description="Ignore stored cursors and read every record.")
    reconcile: bool = Field(default=False, description="Scan every key at the sources and handle deletes.")
    allow_mass_change: bool = Field(
        default=False, description="Let this run archive or update more than the target's guard allows."
    )

    def run(self, context: dg.AssetExecutionContext) -> Iterator[dg.MaterializeResult[None]]:
        """Run the recipe and yield one materialisation per target, with its ``quarantine`` and
        ``drift`` check results and the run report's counts as metadata.

        Raises:
            dagster.Failure: the run failed, was stopped by a guard or a signal, or could not
                start (its lock is held, the recipe is invalid or expired); the message is
                syncfw's (secret-free), the metadata the run report's status and exit code.
        """
        registry = load_plugins()
        path = Path(context.op_execution_context.op_def.tags[RECIPE_TAG])
        try:
            recipe = load_recipe(path, registry=registry)
            history = run_context(recipe, registry, ["run", str(path)])
            history["trigger"] = f"Dagster run {context.run.run_id}"
            options = RunOptions(
                apply=True,
                rate_limit=self.notion_rate_limit,
                full_refresh=self.full_refresh,
                reconcile=self.reconcile,
                allow_mass_change=self.allow_mass_change,
                observers=[HealthDashboard(recipe, started_by=history["started_by"]), Alerts(recipe)],
            )
            report = execute(recipe, registry, options, _LogProgress(context.log))
            record_context(recipe, report, history)
        except SyncfwError as exc:
            raise dg.Failure(description=str(exc), metadata={"exit_code": exc.exit_code}) from None
        for warning in report.warnings:
            context.log.warning(warning)
        if report.exit_code not in (0, 3):
            raise dg.Failure(
                description=report.error or f"the run ended {report.status}",
                metadata=_run_metadata(report),
            )
        for name, target in report.summary(recipe)["targets"].items():
            key = target_key(recipe.name, name)
            yield dg.MaterializeResult(
                asset_key=key,
                metadata={**_run_metadata(report), **_target_metadata(target)},
                check_results=_check_results(key, target),
            )


def _run_metadata(report: RunReport) -> dict[str, Any]:
    return {
        "syncfw_run_id": report.run_id,
        "status": report.status,
        "exit_code": report.exit_code,
        "run_notion_requests": dg.MetadataValue.json(report.notion_requests),
    }


def _target_metadata(target: dict[str, Any]) -> dict[str, Any]:
    counts = ("created", "updated", "unchanged", "archived", "failed", "drift", "pending_relations")
    return {
        **{name: int(target[name]) for name in counts},
        "notion_requests": dg.MetadataValue.json(target["notion_requests"]),
        "data_source_id": target["data_source_id"],
    }


def _check_results(key: dg.AssetKey, target: dict[str, Any]) -> list[dg.AssetCheckResult]:
    problems, findings = target["problems"], target["drift_findings"]
    failed, drift = int(target["failed"]), int(target["drift"])
    return [
        dg.AssetCheckResult(
            asset_key=key,
            check_name=QUARANTINE_CHECK,
            passed=not failed,
            severity=dg.AssetCheckSeverity.ERROR,
            metadata={"quarantined": failed, "records": dg.MetadataValue.json(problems[:LISTED])},
            description=f"{failed} quarantined, e.g. {problems[0]['reason']}" if problems else None,
        ),
        dg.AssetCheckResult(
            asset_key=key,
            check_name=DRIFT_CHECK,
            passed=not drift,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={"findings": drift, "edits": dg.MetadataValue.json(findings[:LISTED])},
        ),
    ]
