"""The checks that stop a run before it writes: a reviewed plan that no longer matches, and the
mass-change guard.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from syncfw.engine.model import LISTED_CREATES, Operation, TargetPlan, jsonable
from syncfw.errors import GuardStop
from syncfw.recipe import Target

GUARD_MIN_PAGES = 10
"""Targets with fewer pages in Notion are not guarded against mass changes."""


def as_planned(values: Mapping[str, Any], created: Mapping[str, str]) -> dict[str, Any]:
    """``values`` as a plan made before this run shows them: in a relation (sorted page ids), the
    id of each page this run created is replaced by what the plan showed for it (``created``:
    page id → :func:`~syncfw.engine.relations.new_page` text)."""
    out = dict(values)
    for prop, value in values.items():
        if created and isinstance(value, tuple) and any(isinstance(v, str) and v in created for v in value):
            out[prop] = tuple(sorted(created.get(v, v) for v in value))
    return out


def check_reviewed(
    reviewed: dict[str, Any], target: str, plan: TargetPlan, created: Mapping[str, str] | None = None
) -> None:
    """Refuse to apply when the fresh plan of ``target`` differs from the reviewed plan file.

    Operations are compared one by one; a plan file that lists only some of its creates
    (``creates_digest``, see :meth:`~syncfw.engine.report.TargetReport.as_dict`) has its creates
    compared by their number and digest. ``created`` (page id → how the plan named it) holds the
    pages this run created in earlier targets: a relation to one of them was a placeholder when
    the plan was made (:func:`as_planned`).

    Raises:
        GuardStop: operations differ; the message names each one and what changed.
    """
    planned = reviewed.get("targets", {}).get(target, {})
    digest = planned.get("creates_digest")
    creates = plan.count("create")
    whole = digest is None and creates <= LISTED_CREATES  # every create is compared one by one
    saved = {
        (op["action"], op["sync_key"]): op
        for op in planned.get("operations", [])
        if whole or op["action"] != "create"
    }
    fresh = {(op.action, op.sync_key): op for op in (plan.operations if whole else _not_creates(plan))}
    differences = []
    created = created or {}
    shown = (lambda after: as_planned(after, created)) if created else None
    if not whole and (creates != planned.get("created") or digest != plan.operations.creates_digest(shown)):
        differences.append(
            f"create: {creates} pages to create now, {planned.get('created')} in the reviewed plan, "
            "or the keys or values to write changed since the plan"
        )
    for key in sorted(set(saved) | set(fresh)):
        action, sync_key = key
        if key not in fresh:
            differences.append(
                f"{action} {sync_key}: in the reviewed plan, no longer needed (Notion or the source changed)"
            )
            continue
        if key not in saved:
            differences.append(f"{action} {sync_key}: needed now, not in the reviewed plan")
            continue
        op, old = fresh[key], saved[key]
        before = {k: jsonable(v) for k, v in op.before.items()}
        after = {k: jsonable(v) for k, v in as_planned(op.after, created).items()}
        for prop in sorted(set(before) | set(old.get("before", {}))):
            if before.get(prop) != old.get("before", {}).get(prop):
                differences.append(
                    f"{action} {sync_key}: {prop!r} was {old.get('before', {}).get(prop)!r} when planned, "
                    f"is {before.get(prop)!r} in Notion now"
                )
        if after != old.get("after", {}):
            differences.append(f"{action} {sync_key}: the values to write changed since the plan")
    if differences:
        raise GuardStop(
            f"target {target}: the reviewed plan is stale; nothing was written:\n  "
            + "\n  ".join(differences)
            + "\nMake a new plan with `syncfw plan --out` and review it."
        )


def _not_creates(plan: TargetPlan) -> list[Operation]:
    return [*plan.operations.of("update"), *plan.operations.of("archive")]


def guard(target: Target, plan: TargetPlan, live_pages: int, *, allow_mass_change: bool) -> None:
    """Stop before writing when a run would archive or overwrite too much of a target, or create
    pages in a target that holds pages the state store cannot identify (their sync keys emptied
    or edited while the state store was lost: creating would duplicate them). Refilling a sync
    key a page lost (the state store knows the page) overwrites nothing and is not counted."""
    if allow_mass_change:
        return
    creates = plan.count("create")
    if creates and plan.unidentified:
        examples = ", ".join(plan.unidentified[:3])
        raise GuardStop(
            f"target {target.name}: the state store knows no page of this target, and the data source "
            f"holds {plan.unidentified_count} pages whose {plan.sync_key_property} is empty or matches no "
            f"source record ({examples}); creating {creates} pages could duplicate them, so nothing was "
            f"written. Restore those keys in Notion (or the state store), or rerun with "
            "--allow-mass-change if the new pages are intended."
        )
    if live_pages < GUARD_MIN_PAGES:
        return
    limit = target.max_change
    changes = plan.count("archive") + plan.count("update") - plan.key_refills()
    if changes > limit * live_pages:
        raise GuardStop(
            f"target {target.name}: this run would archive or update {changes} of {live_pages} pages "
            f"(more than {limit:.0%}); nothing was written. Review it with `syncfw plan`, then rerun "
            "with --allow-mass-change if it is intended."
        )
