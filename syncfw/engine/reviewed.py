"""Reviewed plans: the plan file ``syncfw plan --out`` writes, read back by ``syncfw run --plan``.

A person reviews a plan file before it is applied, so a run with a reviewed plan may archive or
overwrite more than the target's guard allows (:func:`mass_change_approved`); it applies only while
a fresh plan still equals the reviewed one (checked target by target in :mod:`syncfw.engine.run`).
"""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any, NoReturn

from pydantic import BaseModel, ConfigDict, JsonValue, ValidationError

from syncfw.engine.plan import Action
from syncfw.errors import ConfigError

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
    created: int | None = None
    creates_digest: str | None = None


class ReviewedPlan(BaseModel):
    """What ``syncfw run --plan`` reads of a plan file written by ``syncfw plan --out`` (the report
    of :meth:`~syncfw.engine.run.RunReport.as_dict`; other keys are ignored). JSON nested more than
    pydantic's parser allows (200 levels) is refused, far above a plan's own depth."""

    model_config = ConfigDict(strict=True)
    recipe: str
    command: str
    targets: dict[str, _PlannedTarget]


def read_reviewed_plan(path: Path, recipe: str) -> dict[str, Any]:
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


def mass_change_approved(allow_mass_change: bool, reviewed_plan: dict[str, Any] | None) -> bool:
    """True when a run may archive or overwrite more than a target's guard allows: the operator
    said so (``--allow-mass-change``), or the changes are those of a reviewed plan."""
    return allow_mass_change or reviewed_plan is not None
