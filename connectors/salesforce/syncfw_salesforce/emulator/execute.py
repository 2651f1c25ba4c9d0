"""Running a parsed SOQL query against the emulated org's records.

Semantics follow Salesforce where clients can tell the difference: text comparisons ignore case;
``!=`` and ``NOT IN`` match null values; nulls sort first unless ``NULLS LAST``; 15- and
18-character Ids compare equal; a filter value of the wrong type (a quoted datetime) is refused
with ``INVALID_FIELD``; records keep the SELECT order of fields, with relationship fields as
nested objects carrying their own ``attributes`` (null when the lookup is empty).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

from syncfw_salesforce.datetimes import format_datetime, parse_datetime
from syncfw_salesforce.emulator.schema import FieldType, Relationship, SObjectSchema
from syncfw_salesforce.emulator.soql import (
    BoolOp,
    Comparison,
    Condition,
    Constant,
    FieldRef,
    Not,
    Query,
    SoqlError,
)

_NO_SUCH_COLUMN = (
    "No such column '{field}' on entity '{entity}'. If you are attempting to use a custom field, be "
    "sure to append the '__c' after the custom field name. Please reference your WSDL or the "
    "describe call for the appropriate names."
)
_NO_SUCH_RELATIONSHIP = (
    "Didn't understand relationship '{name}' in field path. If you are attempting to use a custom "
    "relationship, be sure to append the '__r' after the custom relationship name. Please reference "
    "your WSDL or the describe call for the appropriate names."
)
_NO_SUCH_TYPE = (
    "sObject type '{name}' is not supported. If you are attempting to use a custom object, be sure "
    "to append the '__c' after the entity name. Please reference your WSDL or the describe call for "
    "the appropriate names."
)
# field type -> (literal kind the filter value must have, the type name Salesforce's message uses)
_FILTER_TYPES: dict[FieldType, tuple[str, str]] = {
    "datetime": ("datetime", "dateTime"),
    "date": ("date", "date"),
    "boolean": ("boolean", "boolean"),
    "int": ("number", "int"),
    "double": ("number", "double"),
    "id": ("string", "id"),
    "reference": ("string", "reference"),
    "string": ("string", "string"),
}


class Tables(Protocol):
    """The records a query runs against."""

    def schema(self, name: str) -> SObjectSchema | None:
        """The schema of sObject ``name`` (any case), or None when the org has no such sObject."""

    def records(self, name: str) -> Sequence[Mapping[str, Any]]:
        """Every record of sObject ``name`` (the canonical name), deleted ones included."""

    def get(self, name: str, record_id: str) -> Mapping[str, Any] | None:
        """The record of sObject ``name`` with Id ``record_id`` (15 or 18 characters), or None."""


@dataclass(frozen=True)
class _Path:
    """A field path resolved against the schemas: relationships to walk, then the field."""

    relationships: tuple[Relationship, ...]
    name: str
    type: FieldType | None  # None: the parent sObject is not in the org, the type is unknown


def execute(query: Query, tables: Tables, *, include_deleted: bool, version: str) -> list[dict[str, Any]]:
    """The records ``query`` selects, in REST shape, after WHERE, ORDER BY, OFFSET and LIMIT.

    Args:
        include_deleted: True for ``queryAll`` (rows with ``IsDeleted = true`` included).
        version: the API version of the request, for ``attributes.url`` (``59.0``).

    Raises:
        SoqlError: ``INVALID_TYPE`` for an unknown sObject, ``INVALID_FIELD`` for an unknown field
            or relationship or a filter value of the wrong type, ``MALFORMED_QUERY`` for a field
            selected twice.
    """
    schema = tables.schema(query.sobject)
    if schema is None:
        raise SoqlError("INVALID_TYPE", _NO_SUCH_TYPE.format(name=query.sobject), query.sobject_position)
    paths: dict[FieldRef, _Path] = {}
    selected: set[tuple[str, ...]] = set()
    for ref in query.fields:
        path = _resolve(schema, ref, tables)
        canonical = (*(r.name.lower() for r in path.relationships), path.name.lower())
        if canonical in selected:
            raise SoqlError("MALFORMED_QUERY", f"duplicate field selected: {ref.text}", ref.position)
        selected.add(canonical)
        paths[ref] = path
    matches = _compile(query.where, schema, tables) if query.where else None
    rows = [
        record
        for record in tables.records(schema.name)
        if (include_deleted or not record.get("IsDeleted")) and (matches is None or matches(record))
    ]
    for item in reversed(query.order_by):
        path = _resolve(schema, item.field, tables)
        rows.sort(key=_sort_key(path, tables, item.nulls_last != item.descending), reverse=item.descending)
    start = query.offset or 0
    end = start + query.limit if query.limit is not None else None
    return [_project(record, schema.name, query.fields, paths, tables, version) for record in rows[start:end]]


def column_types(query: Query, tables: Tables) -> list[tuple[str, FieldType | None]]:
    """The selected field paths as written and their types (None where the type is unknown).

    Raises:
        SoqlError: as :func:`execute`.
    """
    schema = tables.schema(query.sobject)
    if schema is None:
        raise SoqlError("INVALID_TYPE", _NO_SUCH_TYPE.format(name=query.sobject), query.sobject_position)
    return [(ref.text, _resolve(schema, ref, tables).type) for ref in query.fields]


def _resolve(schema: SObjectSchema, ref: FieldRef, tables: Tables) -> _Path:
    current: SObjectSchema | None = schema
    walked: list[Relationship] = []
    for part in ref.path[:-1]:
        if current is None:
            walked.append(Relationship(part, None, None))
            continue
        relationship = current.relationship(part)
        if relationship is None:
            raise SoqlError("INVALID_FIELD", _NO_SUCH_RELATIONSHIP.format(name=part), ref.position)
        walked.append(relationship)
        current = tables.schema(relationship.target) if relationship.target else None
    last = ref.path[-1]
    if current is None:
        return _Path(tuple(walked), last, None)
    info = current.field(last)
    if info is None:
        raise SoqlError(
            "INVALID_FIELD", _NO_SUCH_COLUMN.format(field=last, entity=current.name), ref.position
        )
    return _Path(tuple(walked), info.name, info.type)


def _parent(record: Mapping[str, Any] | None, rel: Relationship, tables: Tables) -> Mapping[str, Any] | None:
    """The parent record through ``rel``: the lookup's record overlaid with a nested seed object."""
    if record is None:
        return None
    nested = record.get(rel.name)
    lookup_id = record.get(rel.field) if rel.field else None
    looked_up = tables.get(rel.target, lookup_id) if rel.target and isinstance(lookup_id, str) else None
    if looked_up is None and not isinstance(nested, Mapping):
        return None
    merged = dict(looked_up or {})
    if isinstance(nested, Mapping):
        merged.update(nested)
    if "Id" not in merged and isinstance(lookup_id, str):
        merged["Id"] = lookup_id
    return merged


def _value(record: Mapping[str, Any], path: _Path, tables: Tables) -> Any:
    current: Mapping[str, Any] | None = record
    for rel in path.relationships:
        current = _parent(current, rel, tables)
    return None if current is None else current.get(path.name)


def _domain(field_type: FieldType | None, literal_kind: str) -> str:
    """How two values are compared: as datetimes, dates, numbers, booleans, Ids or text."""
    if field_type in ("datetime", "date", "boolean"):
        return field_type
    if field_type in ("int", "double"):
        return "number"
    if field_type in ("id", "reference"):
        return "id"
    if field_type is None and literal_kind in ("datetime", "date", "boolean", "number"):
        return literal_kind
    return "text"


def _comparable(value: Any, domain: str) -> Any:
    if value is None:
        return None
    if domain == "datetime":
        return parse_datetime(value) if isinstance(value, str) else value
    if domain == "date":
        return date.fromisoformat(value) if isinstance(value, str) else value
    if domain == "number":
        return float(value)
    if domain == "boolean":
        return bool(value)
    if domain == "id":
        return str(value)[:15]
    return str(value).casefold()


def _check_filter_value(path: _Path, ref: FieldRef, constant: Constant) -> None:
    if path.type is None or constant.kind == "null":
        return
    if path.type == "address":
        raise SoqlError(
            "INVALID_FIELD", f"field '{path.name}' can not be filtered in a query call", ref.position
        )
    kind, type_name = _FILTER_TYPES[path.type]
    if constant.kind != kind:
        quoting = "should be enclosed in quotes" if kind == "string" else "should not be enclosed in quotes"
        raise SoqlError(
            "INVALID_FIELD",
            f"value of filter criterion for field '{path.name}' must be of type {type_name} and {quoting}",
            constant.position,
        )


def _like(pattern: str) -> re.Pattern[str]:
    parts: list[str] = []
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\" and pattern[index + 1 : index + 2] in ("%", "_"):
            parts.append(re.escape(pattern[index + 1]))
            index += 2
            continue
        parts.append(".*" if char == "%" else "." if char == "_" else re.escape(char))
        index += 1
    return re.compile("".join(parts), re.IGNORECASE | re.DOTALL)


Predicate = Callable[[Mapping[str, Any]], bool]
_ORDERINGS: dict[str, Callable[[Any, Any], bool]] = {
    "<": lambda a, b: bool(a < b),
    "<=": lambda a, b: bool(a <= b),
    ">": lambda a, b: bool(a > b),
    ">=": lambda a, b: bool(a >= b),
}


def _compile(condition: Condition, schema: SObjectSchema, tables: Tables) -> Predicate:
    """A predicate for ``condition``, after checking its fields and value types."""
    if isinstance(condition, Not):
        inner = _compile(condition.operand, schema, tables)
        return lambda record: not inner(record)
    if isinstance(condition, BoolOp):
        operands = [_compile(operand, schema, tables) for operand in condition.operands]
        if condition.operator == "AND":
            return lambda record: all(p(record) for p in operands)
        return lambda record: any(p(record) for p in operands)
    return _comparison(condition, schema, tables)


def _comparison(comparison: Comparison, schema: SObjectSchema, tables: Tables) -> Predicate:
    path = _resolve(schema, comparison.field, tables)
    for constant in comparison.values:
        _check_filter_value(path, comparison.field, constant)
    operator = comparison.operator
    kinds = {c.kind for c in comparison.values if c.kind != "null"}
    domain = _domain(path.type, next(iter(kinds), "string"))
    targets = [_comparable(c.value, domain) for c in comparison.values]

    def get(record: Mapping[str, Any]) -> Any:
        return _comparable(_value(record, path, tables), domain)

    if operator == "LIKE":
        regex = _like(str(comparison.values[0].value))
        return lambda record: (
            (value := _value(record, path, tables)) is not None and bool(regex.fullmatch(str(value)))
        )
    if operator in ("IN", "NOT IN"):
        wanted = set(targets)
        if operator == "IN":
            return lambda record: (value := get(record)) is not None and value in wanted
        return lambda record: (value := get(record)) is None or value not in wanted
    target = targets[0]
    if operator == "=":
        return lambda record: get(record) == target
    if operator == "!=":
        return lambda record: get(record) != target
    if target is None:
        return lambda record: False
    compare = _ORDERINGS[operator]
    return lambda record: (value := get(record)) is not None and compare(value, target)


def _sort_key(
    path: _Path, tables: Tables, nulls_high: bool
) -> Callable[[Mapping[str, Any]], tuple[Any, ...]]:
    domain = _domain(path.type, "string")
    null_rank = 1 if nulls_high else 0

    def key(record: Mapping[str, Any]) -> tuple[Any, ...]:
        value = _comparable(_value(record, path, tables), domain)
        return (null_rank,) if value is None else (1 - null_rank, value)

    return key


def _attributes(sobject: str, record_id: Any, version: str) -> dict[str, str]:
    return {"type": sobject, "url": f"/services/data/v{version}/sobjects/{sobject}/{record_id}"}


def _output(value: Any, field_type: FieldType | None) -> Any:
    """A value as the REST API's JSON has it: datetimes with ``+0000``, double fields as
    decimals (Salesforce writes ``1.39E8``), int fields as integers."""
    if field_type == "datetime" and isinstance(value, str):
        return format_datetime(parse_datetime(value))
    if field_type == "double" and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def _project(
    record: Mapping[str, Any],
    sobject: str,
    fields: Sequence[FieldRef],
    paths: Mapping[FieldRef, _Path],
    tables: Tables,
    version: str,
) -> dict[str, Any]:
    out: dict[str, Any] = {"attributes": _attributes(sobject, record.get("Id"), version)}
    for ref in fields:
        path = paths[ref]
        node: dict[str, Any] | None = out
        current: Mapping[str, Any] | None = record
        for rel in path.relationships:
            current = _parent(current, rel, tables)
            assert node is not None
            if rel.name not in node:
                node[rel.name] = (
                    None
                    if current is None
                    else {"attributes": _attributes(_parent_type(rel, current), current.get("Id"), version)}
                )
            node = node[rel.name]
            if node is None:
                break
        if node is not None and current is not None:
            node[path.name] = _output(current.get(path.name), path.type)
    return out


def _parent_type(rel: Relationship, parent: Mapping[str, Any]) -> str:
    attributes = parent.get("attributes")
    if isinstance(attributes, Mapping) and attributes.get("type"):
        return str(attributes["type"])
    return rel.target or rel.name
