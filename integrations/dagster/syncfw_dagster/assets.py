"""A recipe as Dagster assets, and a directory of recipes as Dagster definitions.

Shapes, as dagster-dbt and dagster-dlt draw theirs:

* each target of a recipe is an asset keyed ``["notion", RECIPE, TARGET]`` (kind ``notion``,
  group RECIPE, owner the recipe's ``owner``); all targets of a recipe form one multi-asset,
  because one run of the recipe plans and writes every target in relation order under one run
  lock (``syncfw run``), so they materialise together (not subsettable);
* each source stream a target's mappings read is an external asset keyed
  ``[SOURCE, RECIPE, STREAM]`` (e.g. ``["salesforce", "salesforce-accounts", "Account"]``, kind the
  connector), upstream of the target; a target is also downstream of the targets its relation
  properties point to;
* each target has two asset checks evaluated by every materialisation: ``quarantine`` (records
  set aside this run, exit 3; severity ERROR) and ``drift`` (properties syncfw owns that someone
  edited in Notion; severity WARN), from the run report;
* a freshness check per target (Dagster's ``build_last_update_freshness_checks``): it fails when
  the target was last materialised longer ago than the smallest ``stale_after`` of the sources it
  reads, and one sensor evaluates them all;
* a job and, when the recipe has ``schedule:``, a schedule on that cron expression (UTC);
* the multi-asset runs in the concurrency pool ``notion-token-<12 hex digits>`` named after the
  SHA-256 of the recipe's Notion token (never the token), so Dagster runs at most as many
  recipes of one integration token at once as the pool allows (``dagster instance
  concurrency set POOL 1``), on top of the rate budget the token's runs share.
"""

import re
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import dagster as dg

from syncfw.errors import ConfigError
from syncfw.notion.credentials import budget_key
from syncfw.plugins import Registry, load_plugins
from syncfw.recipe import Recipe, Target, load_recipe
from syncfw_dagster.resource import DRIFT_CHECK, QUARANTINE_CHECK, RECIPE_TAG, SyncfwResource, target_key

RESOURCE_KEY = "syncfw"
"""The key :func:`build_syncfw_definitions` binds :class:`SyncfwResource` to."""
FRESHNESS_SENSOR = "syncfw_freshness_checks_sensor"


def dagster_name(recipe: Recipe) -> str:
    """``syncfw_<recipe>`` with every character Dagster refuses in a name (``-``, ``.``) as ``_``:
    the multi-asset's op, the asset group (without the prefix) and the job (``…_job``)."""
    return "syncfw_" + re.sub(r"[^A-Za-z0-9_]", "_", recipe.name)


def token_pool(recipe: Recipe) -> str:
    """The concurrency pool of the recipe's Notion integration: ``notion-token-`` and the first 12
    hex digits of its rate budget's name (:func:`syncfw.notion.credentials.budget_key`: of the
    token's SHA-256, never the token)."""
    return f"notion-token-{budget_key(recipe.notion)[:12]}"


def stream_key(recipe: Recipe, source: str, stream: str) -> dg.AssetKey:
    """``[SOURCE, RECIPE, STREAM]``: a stream of one of the recipe's sources."""
    return dg.AssetKey([source, recipe.name, stream])


def stream_specs(recipe: Recipe) -> list[dg.AssetSpec]:
    """The external assets of the source streams the recipe's mappings read."""
    group = dagster_name(recipe).removeprefix("syncfw_")
    streams = {
        (m.source, m.stream): recipe.sources[m.source].connector
        for target in recipe.targets.values()
        for m in target.mappings
    }
    return [
        dg.AssetSpec(
            stream_key(recipe, source, stream),
            description=f"{stream} of the source {source!r} ({connector}), read by recipe {recipe.name}.",
            group_name=group,
            kinds={connector},
        )
        for (source, stream), connector in streams.items()
    ]


def stale_after(recipe: Recipe, target: Target) -> timedelta | None:
    """The smallest ``stale_after`` of the sources ``target`` reads (None: none has one)."""
    limits = [recipe.sources[m.source].stale_after for m in target.mappings]
    known = [limit for limit in limits if limit is not None]
    return min(known) if known else None


def _target_spec(recipe: Recipe, target: Target) -> dg.AssetSpec:
    where = target.database.title if target.database is not None else target.data_source
    deps = [stream_key(recipe, m.source, m.stream) for m in target.mappings]
    deps += [target_key(recipe.name, other) for other in target.related_targets()]
    return dg.AssetSpec(
        target_key(recipe.name, target.name),
        deps=list(dict.fromkeys(deps)),
        description=f"Notion data source {where!r}, fed by recipe {recipe.name}: {recipe.description}",
        group_name=dagster_name(recipe).removeprefix("syncfw_"),
        kinds={"notion"},
        owners=[recipe.owner],
        tags={"syncfw/tier": recipe.tier},
        metadata={"sync_key": target.sync_key, "on_delete": target.on_delete, "on_drift": target.on_drift},
    )


def _check_specs(recipe: Recipe, target: Target) -> list[dg.AssetCheckSpec]:
    key = target_key(recipe.name, target.name)
    return [
        dg.AssetCheckSpec(
            QUARANTINE_CHECK,
            asset=key,
            description="No record was quarantined by the run (a record that cannot be synced is set "
            "aside with its problem and retried on the next run; `syncfw run` exits 3).",
        ),
        dg.AssetCheckSpec(
            DRIFT_CHECK,
            asset=key,
            description="No property syncfw owns was edited in Notion since the last run (drift is "
            "reverted or flagged as the target's on_drift says).",
        ),
    ]


def syncfw_assets(
    recipe_file: Path | str, *, registry: Registry | None = None
) -> Callable[[Callable[..., Any]], dg.AssetsDefinition]:
    """Decorate a function that materialises the targets of ``recipe_file``, dagster-dlt style::

        @syncfw_assets("recipes/salesforce-accounts.yaml")
        def accounts(context: dg.AssetExecutionContext, syncfw: SyncfwResource):
            yield from syncfw.run(context)

    The recipe is loaded (and checked) now, with the environment of the code location: its
    ``${env:…}`` references must resolve here as they do for ``syncfw run``.

    Raises:
        ConfigError: the recipe or one of its mapping files is invalid.
    """
    return _multi_asset(load_recipe(Path(recipe_file), registry=registry or load_plugins()))


def _multi_asset(recipe: Recipe) -> Callable[[Callable[..., Any]], dg.AssetsDefinition]:
    targets = recipe.targets_in_order()
    return dg.multi_asset(
        name=dagster_name(recipe),
        specs=[_target_spec(recipe, target) for target in targets],
        check_specs=[spec for target in targets for spec in _check_specs(recipe, target)],
        description=recipe.description,
        op_tags={RECIPE_TAG: str(recipe.path.resolve())},
        pool=token_pool(recipe),
        can_subset=False,
    )


def _recipe_assets(recipe: Recipe) -> dg.AssetsDefinition:
    @_multi_asset(recipe)
    def _materialise(
        context: dg.AssetExecutionContext, syncfw: SyncfwResource
    ) -> Iterator[dg.MaterializeResult[None]]:
        yield from syncfw.run(context)

    return _materialise


def freshness_checks(recipe: Recipe) -> Sequence[dg.AssetChecksDefinition]:
    """One last-update freshness check per target whose sources have a ``stale_after``."""
    by_limit: dict[timedelta, list[dg.AssetKey]] = {}
    for target in recipe.targets.values():
        limit = stale_after(recipe, target)
        if limit is not None:
            by_limit.setdefault(limit, []).append(target_key(recipe.name, target.name))
    with _superseded():
        return [
            check
            for limit, keys in by_limit.items()
            for check in dg.build_last_update_freshness_checks(
                assets=keys, lower_bound_delta=limit, severity=dg.AssetCheckSeverity.ERROR
            )
        ]


@contextmanager
def _superseded() -> Iterator[None]:
    """Silence Dagster 1.13's warning that freshness checks are superseded by ``FreshnessPolicy``
    (not deprecated): a policy is evaluated by Dagster's freshness daemon only, while a check runs
    in any run or sensor and passes or fails as ``stale_after`` means."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.SupersessionWarning)
        yield


def _schedule(recipe: Recipe, cron: str, job: "dg.UnresolvedAssetJobDefinition") -> dg.ScheduleDefinition:
    """The recipe's ``schedule:`` for ``job``, in UTC.

    Raises:
        ConfigError: Dagster's cron parser refuses the expression: syncfw's (cronsim) also takes
            ``5L`` (the last Friday of the month) and ``LW`` (its last weekday); Dagster does not.
    """
    try:
        return dg.ScheduleDefinition(
            name=f"{dagster_name(recipe)}_schedule", cron_schedule=cron, job=job, execution_timezone="UTC"
        )
    except dg.DagsterInvalidDefinitionError:
        raise ConfigError(
            f"{recipe.path}: schedule {cron!r} is a cron expression Dagster cannot schedule "
            "(it has no last weekday of the month: 5L, LW)"
        ) from None


def recipe_files(recipes_dir: Path) -> list[Path]:
    """The recipe files of a directory (``*.yaml`` and ``*.yml``, not its subdirectories), by name."""
    return sorted(p for p in recipes_dir.iterdir() if p.suffix in {".yaml", ".yml"} and p.is_file())


def build_syncfw_definitions(
    recipes_dir: Path | str,
    *,
    registry: Registry | None = None,
    resource: SyncfwResource | None = None,
) -> dg.Definitions:
    """Every recipe of ``recipes_dir`` as Dagster definitions (see the module's docstring).

    A ``definitions.py`` of a code location is one line::

        defs = build_syncfw_definitions("recipes/")

    Args:
        recipes_dir: a directory of recipe files.
        registry: the installed plugins (default: ``load_plugins()``).
        resource: the :class:`SyncfwResource` bound as ``syncfw`` (default: its defaults).

    Raises:
        ConfigError: a recipe is invalid, or ``recipes_dir`` holds no recipe file.
    """
    directory = Path(recipes_dir)
    files = recipe_files(directory) if directory.is_dir() else []
    if not files:
        raise ConfigError(f"{directory}: no recipe file (*.yaml, *.yml) in this directory")
    registry = registry or load_plugins()
    assets: list[dg.AssetsDefinition | dg.AssetSpec] = []
    jobs: list[dg.UnresolvedAssetJobDefinition] = []
    schedules: list[dg.ScheduleDefinition] = []
    checks: list[dg.AssetChecksDefinition] = []
    for path in files:
        recipe = load_recipe(path, registry=registry)
        targets = _recipe_assets(recipe)
        job = dg.define_asset_job(
            f"{dagster_name(recipe)}_job", selection=[targets], description=recipe.description
        )
        assets += [targets, *stream_specs(recipe)]
        jobs.append(job)
        checks += freshness_checks(recipe)
        if recipe.schedule is not None:
            schedules.append(_schedule(recipe, recipe.schedule, job))
    with _superseded():
        sensors = (
            [dg.build_sensor_for_freshness_checks(freshness_checks=checks, name=FRESHNESS_SENSOR)]
            if checks
            else []
        )
    return dg.Definitions(
        assets=assets,
        asset_checks=checks,
        jobs=jobs,
        schedules=schedules,
        sensors=sensors,
        resources={RESOURCE_KEY: resource or SyncfwResource()},
    )
