"""``syncfw audit``: every recipe with its owner, tier, expiry and last success, and its lineage:
which source field feeds which Notion property of which data source, which properties people own,
and which carry personal data.

Personal data comes from the connectors' declarations (:attr:`syncfw.connector.Connector.personal_data`),
read without calling any source; a property is flagged when a field it is made from (a field path,
a template's variables, an aggregate's fields) is declared personal.
"""

from __future__ import annotations

import builtins
import dataclasses
from typing import Any

from syncfw.clock import iso, parse_time
from syncfw.plugins import Registry
from syncfw.recipe import Recipe, Target, explain
from syncfw.recipe.governance import personal_fields
from syncfw.recipe.model import NOTION_OWNER
from syncfw.state import RunRecord, existing_state


@dataclasses.dataclass(frozen=True)
class LineageRow:
    """One Notion property of one target: its owner (a recipe source, or ``notion`` for people), how
    its value is made (as in ``syncfw validate --explain``), where that is written, and the
    personal fields feeding it (``salesforce Contact: Email``)."""

    target: str
    data_source: str
    property: str
    type: str | None
    owner: str
    origin: str
    where: str
    personal: tuple[str, ...]

    @builtins.property  # ``property`` is a field here
    def human_owned(self) -> bool:
        return self.owner == NOTION_OWNER


@dataclasses.dataclass(frozen=True)
class RecipeAudit:
    """The audit of one recipe; ``last_success`` is when its last successful run finished."""

    recipe: Recipe
    last_success: str | None
    last_run: RunRecord | None
    rows: list[LineageRow]

    @property
    def personal_properties(self) -> list[LineageRow]:
        return [row for row in self.rows if row.personal]

    def as_dict(self) -> dict[str, Any]:
        recipe = self.recipe
        return {
            "recipe": recipe.name,
            "path": str(recipe.path),
            "owner": recipe.owner,
            "description": recipe.description,
            "tier": recipe.tier,
            "expires": recipe.expires.isoformat() if recipe.expires else None,
            "schedule": recipe.schedule,
            "sources": {name: s.connector for name, s in recipe.sources.items()},
            "last_success": self.last_success,
            "last_run": None
            if self.last_run is None
            else {
                "run_id": self.last_run.run_id,
                "status": self.last_run.status,
                "exit_code": self.last_run.exit_code,
            },
            "lineage": [
                {**dataclasses.asdict(row), "personal": list(row.personal), "human_owned": row.human_owned}
                for row in self.rows
            ],
        }


def data_source_label(target: Target, resolved: tuple[str | None, str] | None = None) -> str:
    """How a target's data source is named: ``data source <id>`` or ``database 'Accounts' under
    page <id>`` (with the data source id a run resolved, when known)."""
    if target.data_source is not None:
        return f"data source {target.data_source}"
    assert target.database is not None
    label = f"database {target.database.title!r} under page {target.database.parent_page}"
    return label + (f" (data source {resolved[1]})" if resolved is not None else "")


def audit_recipe(recipe: Recipe, registry: Registry) -> RecipeAudit:
    """Lineage and history of a loaded recipe; ``registry`` gives the connectors' personal data."""
    personal: dict[tuple[str, str], tuple[str, ...]] = {}
    for target in recipe.targets.values():
        for mapping in target.mappings:
            for prop, fields in personal_fields(mapping, registry).items():
                personal[(target.name, prop)] = tuple(
                    f"{mapping.source} {mapping.stream}: {f}" for f in fields
                )
    runs: list[RunRecord] = []
    resolved: dict[str, tuple[str | None, str] | None] = {}
    store = existing_state(recipe)
    if store is not None:
        try:
            runs = [r for r in store.runs(200) if r.command == "run"]
            resolved = {name: store.target_ids(name) for name in recipe.targets}
        finally:
            store.close()
    rows = [
        LineageRow(
            target=row.target,
            data_source=data_source_label(recipe.targets[row.target], resolved.get(row.target)),
            property=row.property,
            type=row.type,
            owner=row.owner,
            origin=row.origin,
            where=row.where,
            # a match key only finds the page; the property's own row says what writes it
            personal=() if row.origin.startswith("match") else personal.get((row.target, row.property), ()),
        )
        for row in explain(recipe)
    ]
    success = next((r for r in runs if r.status in ("success", "partial")), None)
    last_success = iso(parse_time(success.finished_at)) if success is not None else None
    return RecipeAudit(recipe, last_success, runs[0] if runs else None, rows)
