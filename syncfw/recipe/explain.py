"""Lineage of a loaded recipe: every property of every target, who owns it and where it comes from.

``syncfw validate --explain RECIPE`` prints these rows, so that a reviewer can answer "why does
this page say that?" without reading every mapping file.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

from syncfw.mapping.encoding import PropertyType
from syncfw.mapping.spec import BoundMapping, PropertySpec, TransformCall
from syncfw.recipe.model import NOTION_OWNER, Recipe, Target


@dataclasses.dataclass(frozen=True)
class ExplainRow:
    """One line of lineage.

    ``owner`` is the recipe source that writes the property, or ``notion`` for a property people
    edit (an ``owners:`` entry). ``origin`` says in a few words how the value is made, e.g.
    ``field Owner.Name``, ``template "{{ FirstName }} {{ LastName }}"``, ``constant 'x'``,
    ``relation → accounts by AccountId``, ``count of tickets where status == 'open'``; the sync
    key's row starts with ``sync key:`` and a secondary mapping has a row ``match key: …`` for
    the property it finds pages by (ending in ``(identity map)`` when that is the sync key), or
    ``match via zendesk-organization: organization_id`` (under the sync key) when it follows the
    matches of another mapping; a relation through a mapping's matches reads
    ``relation → accounts by organization_id via zendesk-organization``.
    ``where`` is the ``file:line`` that says so. ``type`` is None for properties owned by people
    (their type is whatever Notion has).
    """

    target: str
    property: str
    type: PropertyType | None
    owner: str
    origin: str
    where: str


def explain(recipe: Recipe, renamed: Mapping[str, Mapping[str, str]] | None = None) -> list[ExplainRow]:
    """Rows for every target of a loaded recipe, in recipe order.

    Per target: the sync key first, then each mapping's match key (secondary mappings) and
    properties in file order, then the properties people own in Notion. ``renamed`` gives, per
    target, the owned properties a person renamed in Notion (recipe name → name in Notion, as
    the last run found them: :func:`syncfw.notion.names.recorded_renames`); their rows say so.
    """
    renamed = renamed or {}
    return [
        _renamed(row, renamed.get(target.name, {}))
        for target in recipe.targets.values()
        for row in _target_rows(recipe, target)
    ]


def _renamed(row: ExplainRow, renamed: Mapping[str, str]) -> ExplainRow:
    now = renamed.get(row.property)
    if now is None:
        return row
    origin = (
        f"{row.origin}; named {now!r} in Notion since a person renamed it (followed by property id; "
        "`syncfw notion rename` writes that name into the mapping)"
    )
    return dataclasses.replace(row, origin=origin)


def _target_rows(recipe: Recipe, target: Target) -> list[ExplainRow]:
    rows: list[ExplainRow] = []
    primary = next((m for m in target.mappings if m.is_primary), None)
    sync_key = primary.properties.get(target.sync_key) if primary is not None and target.sync_key else None
    if primary is not None and sync_key is not None:
        rows.append(_row(target, sync_key, primary, f"sync key: {_origin(sync_key, primary)}"))
    for mapping in target.mappings:
        match = mapping.match
        if match is not None:
            reads = _reads(match.field, match.template, match.transforms)
            where = f"{match.file}:{match.line}"
            if match.via is not None:
                # the page is the one the via mapping's record matched: known by its sync key
                key_type = sync_key.type if sync_key is not None else None
                origin = f"match via {match.via}: {reads}"
                shown = target.sync_key or "(page)"  # an update target's pages have no sync key
                rows.append(ExplainRow(target.name, shown, key_type, mapping.source, origin, where))
            else:
                assert match.property is not None
                origin = f"match key: {reads}"
                origin += " (identity map)" if match.property == target.sync_key else ""
                origin += " (pages people keep: never created)" if target.mode == "update" else ""
                rows.append(
                    ExplainRow(target.name, match.property, match.type, mapping.source, origin, where)
                )
        for spec in mapping.properties.values():
            if spec is not sync_key:
                rows.append(_row(target, spec, mapping, _origin(spec, mapping)))
    for name, owner in target.owners.items():
        if owner == NOTION_OWNER:
            where = f"{recipe.path}:{target.owner_lines.get(name, 1)}"
            rows.append(
                ExplainRow(target.name, name, None, NOTION_OWNER, "edited by people in Notion", where)
            )
    return rows


def _row(target: Target, spec: PropertySpec, mapping: BoundMapping, origin: str) -> ExplainRow:
    return ExplainRow(target.name, spec.name, spec.type, mapping.source, origin, spec.where)


def _call(call: TransformCall) -> str:
    return call.name + (f"({', '.join(map(repr, call.args))})" if call.args else "")


def _pipes(transforms: Sequence[TransformCall]) -> str:
    return "".join(f" | {_call(call)}" for call in transforms)


def _reads(field: str | None, template: str | None, transforms: Sequence[TransformCall]) -> str:
    """``Website | url`` or ``template "{{ A }} {{ B }}"``: what a value is read from."""
    return (field if field is not None else f'template "{template}"') + _pipes(transforms)


def _origin(spec: PropertySpec, mapping: BoundMapping) -> str:
    aggregate = spec.aggregate
    text: str
    if aggregate is not None:
        text = aggregate.function
        if aggregate.field is not None:
            text += f" of {aggregate.field}{_pipes(spec.transforms)}"
        if aggregate.by is not None:
            text += f" by {aggregate.by}"
        text += f" of {mapping.stream}" if aggregate.field is None else f" over {mapping.stream}"
        if aggregate.where is not None:
            text += f" where {aggregate.where}"
    elif spec.field is None and spec.template is None:
        text = f"constant {spec.value!r}{_pipes(spec.transforms)}"
    else:
        text = _reads(spec.field, spec.template, spec.transforms)
    if spec.type == "relation":
        text = f"relation → {spec.target} by {text}" + (f" via {spec.via}" if spec.via else "")
    elif spec.field is not None and aggregate is None:
        text = f"field {text}"
    if spec.map is not None:
        otherwise = f", else {spec.map_default!r}" if spec.has_map_default else ""
        text += f" | map ({len(spec.map)} values{otherwise})"
    if spec.default is not None:
        text += f" (default {spec.default!r})"
    return text
