"""Reading a whole sObject through a Bulk API 2.0 ``queryAll`` job, with the records REST gives.

A Bulk API 2.0 query job answers in CSV ("Get Results for a Query Job", Bulk API 2.0 Developer
Guide, https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/query_get_job_results.htm):
every value is text, a null is an empty value, datetimes end in ``Z`` and a relationship path is
one column (``Owner.Name``). :class:`BulkColumns` turns a row back into the record the REST API's
JSON gives for the same SOQL (without ``attributes``), by the field types of ``describe``:

* empty → None (Salesforce stores no empty text, so an empty value is always a null; ``#N/A`` is
  how *uploads* set a null, and in query results it is the text ``#N/A``);
* ``boolean`` → ``True``/``False``; ``int``/``long`` → int; ``double``/``currency``/``percent``
  → float (REST's JSON writes them as decimals, ``1.39E8``);
* ``datetime`` → ``2026-05-01T07:25:37.000+0000`` as REST writes it; other types stay text;
* ``Owner.Name`` → ``{"Owner": {"Name": ...}}``, and ``{"Owner": None}`` when the record has no
  owner. CSV cannot tell "no parent" from "a parent whose selected fields are null", so the job
  also selects each relationship's ``Id`` (``Owner.Id``) and drops it again unless asked for.

Bulk API 2.0 takes no compound fields (address, geolocation), no aggregates and no ``OFFSET``
("Understanding Bulk API 2.0 Query"); :func:`bulk_columns` returns None for a select list it
cannot carry, and the connector reads over REST instead.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from syncfw_salesforce.datetimes import format_datetime, parse_datetime

UNSUPPORTED_TYPES = frozenset({"address", "location", "base64"})
"""Field types a Bulk API 2.0 query cannot select (compound fields; binary content)."""
_INTEGERS = frozenset({"int", "long"})
_DECIMALS = frozenset({"double", "currency", "percent"})

Describe = Callable[[str], Mapping[str, Mapping[str, Any]]]
"""sObject name → its fields by lower-case name (``describe``'s field objects)."""


@dataclass(frozen=True)
class Column:
    """One CSV column: the field path as selected, as REST names it, its type, and whether the
    connector added it (a relationship's ``Id``)."""

    selected: str
    path: tuple[str, ...]
    type: str
    added: bool


@dataclass(frozen=True)
class BulkColumns:
    """The columns of a Bulk API 2.0 read and how to turn its CSV back into REST records."""

    columns: tuple[Column, ...]

    @property
    def select(self) -> list[str]:
        """The field paths to select, in order (those the caller asked for, then added Ids)."""
        return [column.selected for column in self.columns]

    def records(self, text: str) -> list[dict[str, Any]]:
        """The records of one set of CSV results, as the REST API gives them.

        Raises:
            ValueError: the CSV lacks a selected column or holds a value of the wrong type.
        """
        reader = csv.reader(io.StringIO(text, newline=""))
        header = next(reader, None)
        if header is None:
            return []
        positions = {name.lower(): index for index, name in enumerate(header)}
        missing = [c.selected for c in self.columns if c.selected.lower() not in positions]
        if missing:
            raise ValueError(f"the results have no column {', '.join(missing)}")
        where = [positions[c.selected.lower()] for c in self.columns]
        return [self._record(row, where) for row in reader if row]

    def _record(self, row: Sequence[str], where: Sequence[int]) -> dict[str, Any]:
        record: dict[str, Any] = {}
        for column, index in zip(self.columns, where, strict=True):
            node = record
            for part in column.path[:-1]:
                node = node.setdefault(part, {})
            node[column.path[-1]] = _value(row[index], column.type)
        for column in sorted(self._relationship_ids(), key=lambda c: -len(c.path)):
            parent = _walk(record, column.path[:-2])
            if parent is None or parent.get(column.path[-2]) is None:
                continue
            related = parent[column.path[-2]]
            if related["Id"] is None:
                parent[column.path[-2]] = None
            elif column.added:
                del related["Id"]
        return record

    def _relationship_ids(self) -> Iterable[Column]:
        return (c for c in self.columns if len(c.path) > 1 and c.path[-1] == "Id")


def bulk_columns(sobject: str, select: Sequence[str], describe: Describe) -> BulkColumns | None:
    """The columns of a Bulk API 2.0 read of ``select`` from ``sobject`` (paths as
    :func:`syncfw_salesforce.incremental.select_list` gives them), with ``<relationship>.Id``
    added for every relationship; None when a path cannot be resolved through ``describe`` or
    has a type Bulk API 2.0 cannot select (the read then goes over REST)."""
    columns: list[Column] = []
    seen: set[str] = set()
    wanted = [(path, False) for path in select]
    relationships = {
        tuple(path.split(".")[:depth]) for path in select for depth in range(1, path.count(".") + 1)
    }
    wanted += [(".".join((*parts, "Id")), True) for parts in sorted(relationships, key=len)]
    for path, added in wanted:
        if path.lower() in seen:
            continue
        seen.add(path.lower())
        resolved = _resolve(sobject, path.split("."), describe)
        if resolved is None:
            return None
        names, field_type = resolved
        columns.append(Column(path, names, field_type, added))
    return BulkColumns(tuple(columns))


def _resolve(sobject: str, parts: Sequence[str], describe: Describe) -> tuple[tuple[str, ...], str] | None:
    """The path as REST names it and the last field's type, or None."""
    names: list[str] = []
    current = sobject
    for part in parts[:-1]:
        lookup = next(
            (
                f
                for f in describe(current).values()
                if str(f.get("relationshipName") or "").lower() == part.lower() and f.get("referenceTo")
            ),
            None,
        )
        if lookup is None:
            return None
        names.append(str(lookup["relationshipName"]))
        current = str(lookup["referenceTo"][0])
    info = describe(current).get(parts[-1].lower())
    if info is None or info.get("type") in UNSUPPORTED_TYPES:
        return None
    return (*names, str(info["name"])), str(info.get("type"))


def _walk(record: dict[str, Any], path: Sequence[str]) -> dict[str, Any] | None:
    node: Any = record
    for part in path:
        node = node.get(part) if isinstance(node, dict) else None
    return node if isinstance(node, dict) else None


def _value(text: str, field_type: str) -> Any:
    if text == "":
        return None
    if field_type == "boolean":
        if text not in ("true", "false"):
            raise ValueError(f"{text!r} is not a boolean")
        return text == "true"
    if field_type in _INTEGERS:
        return int(text)
    if field_type in _DECIMALS:
        return float(text)
    if field_type == "datetime":
        return format_datetime(parse_datetime(text))
    return text
