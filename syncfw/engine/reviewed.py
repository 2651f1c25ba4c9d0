"""Reviewed plans: the plan file ``syncfw plan --out`` writes, read back by ``syncfw run --plan``.

A person reviews a plan file before it is applied, so a run with a reviewed plan may archive or
overwrite more than the target's guard allows (:func:`mass_change_approved`); it applies only while
a fresh plan still equals the reviewed one (checked target by target in :mod:`syncfw.engine.run`).

A plan file is the plan's report (:meth:`~syncfw.engine.report.RunReport.as_dict`) with two more
keys: ``plan_format`` (:data:`PLAN_FORMAT`) and ``recipe_digest`` (:func:`recipe_digest`). A run
refuses a plan file of another format, or made from another version of the recipe or its mappings,
as Terraform refuses a saved plan made by another version or from other configuration.
"""

from __future__ import annotations

import hashlib
import json
import stat
from pathlib import Path
from typing import Any, NoReturn

from pydantic import BaseModel, ConfigDict, JsonValue, ValidationError

from syncfw.engine.plan import Action
from syncfw.engine.report import RunReport
from syncfw.errors import ConfigError
from syncfw.recipe import Recipe

MAX_PLAN_BYTES = 256 * 2**20
"""The largest plan file ``syncfw run --plan`` reads (a plan of 200,000 changed pages fits)."""

PLAN_FORMAT = 1
"""The version of the plan file's shape; a change to it that an older syncfw would misread adds one."""


def recipe_digest(recipe: Recipe) -> str:
    """``sha256:`` and the hex SHA-256 of the recipe file's bytes and, in order, of each mapping
    file it binds (a changed mapping changes what a plan means as much as a changed recipe)."""
    digest = hashlib.sha256()
    files = [recipe.path, *dict.fromkeys(m.file for t in recipe.targets.values() for m in t.mappings)]
    for path in files:
        content = path.read_bytes()
        digest.update(f"{len(content)}:".encode())
        digest.update(content)
    return f"sha256:{digest.hexdigest()}"


def write_plan_file(path: Path, report: RunReport, recipe: Recipe) -> None:
    """Write the plan file of ``report`` (a plan of ``recipe``) to ``path``.

    Raises:
        ConfigError: ``path`` cannot be written (one line naming it).
    """
    content = {"plan_format": PLAN_FORMAT, "recipe_digest": recipe_digest(recipe), **report.as_dict()}
    try:
        path.write_text(json.dumps(content, indent=2), encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot write the plan file: {exc.strerror or exc}") from None


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
    created: int | None = None
    creates_digest: str | None = None


class _Header(BaseModel):
    """The keys read before the rest, so that a plan file of another format is named as such."""

    model_config = ConfigDict(strict=True)
    plan_format: int | None = None
    recipe_digest: str | None = None


class ReviewedPlan(BaseModel):
    """What ``syncfw run --plan`` reads of a plan file written by ``syncfw plan --out`` (the report
    of :meth:`~syncfw.engine.run.RunReport.as_dict`; other keys are ignored). JSON nested more than
    pydantic's parser allows (200 levels) is refused, far above a plan's own depth."""

    model_config = ConfigDict(strict=True)
    recipe: str
    command: str
    targets: dict[str, _PlannedTarget]


def read_reviewed_plan(path: Path, recipe: Recipe) -> dict[str, Any]:
    """The plan file at ``path`` as :class:`ReviewedPlan` checked it, for ``RunOptions.reviewed_plan``.

    Raises:
        ConfigError: in one line naming the file: not a regular file, over :data:`MAX_PLAN_BYTES`,
            unreadable, not JSON (or nested too deep), of another :data:`PLAN_FORMAT`, not the
            shape of a plan, not a plan of ``recipe``, or made from another version of it
            (:func:`recipe_digest`).
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
        header = _Header.model_validate_json(text)
        if header.plan_format != PLAN_FORMAT:
            written = "no format version" if header.plan_format is None else f"format {header.plan_format}"
            refuse(f"a plan file of {written}; this syncfw reads plan format {PLAN_FORMAT}")
        plan = ReviewedPlan.model_validate_json(text)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(map(str, first["loc"]))[:120]
        refuse(
            f"not a plan file written by `syncfw plan --out` ({where + ': ' if where else ''}{first['msg']})"
        )
    if plan.command != "plan" or plan.recipe != recipe.name:
        refuse(f"not a plan of recipe {recipe.name} written by `syncfw plan --out`")
    if header.recipe_digest != recipe_digest(recipe):
        refuse(
            f"planned from another version of {recipe.path.name} or its mappings (the recipe digest differs)"
        )
    return plan.model_dump(mode="json")


def mass_change_approved(allow_mass_change: bool, reviewed_plan: dict[str, Any] | None) -> bool:
    """True when a run may archive or overwrite more than a target's guard allows: the operator
    said so (``--allow-mass-change``), or the changes are those of a reviewed plan."""
    return allow_mass_change or reviewed_plan is not None
