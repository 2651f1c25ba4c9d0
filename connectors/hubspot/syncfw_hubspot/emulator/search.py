"""CRM search semantics: parsing a search request, matching filters, sorting.

From HubSpot's CRM search guide (https://developers.hubspot.com/docs/api-reference/search/guide):
filter groups are OR-ed and the filters of a group AND-ed; at most 5 groups, 10 filters per group
and 25 in all (changelog of 2024-08-26, "Expanded filtering capabilities"); ``limit`` defaults to
10 and is at most 200; ``after`` is an offset; a query pages through at most 10,000 results.
``EQ`` and ``NEQ`` compare text case-insensitively; ``IN`` and ``NOT_IN`` lowercase the stored
value; ranges compare numbers as numbers and datetimes (ISO 8601 or epoch milliseconds) as
instants. Only the first sort applies; ties and unsorted results come by id.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from syncfw_hubspot.datetimes import parse_instant

MAX_LIMIT = 200
DEFAULT_LIMIT = 10
MAX_GROUPS = 5
MAX_FILTERS_PER_GROUP = 10
MAX_FILTERS = 25
OPERATORS = frozenset(
    {
        "EQ",
        "NEQ",
        "LT",
        "LTE",
        "GT",
        "GTE",
        "BETWEEN",
        "IN",
        "NOT_IN",
        "HAS_PROPERTY",
        "NOT_HAS_PROPERTY",
        "CONTAINS_TOKEN",
        "NOT_CONTAINS_TOKEN",
    }
)

Properties = Mapping[str, str | None]


class SearchError(ValueError):
    """The request is not a valid search (HubSpot answers 400 ``VALIDATION_ERROR``)."""


@dataclass(frozen=True)
class Filter:
    """One filter: ``{"propertyName", "operator", "value" | "values" | "highValue"}``."""

    property: str
    operator: str
    value: str | None = None
    values: tuple[str, ...] = ()
    high_value: str | None = None

    def matches(self, properties: Properties) -> bool:
        """Whether a record with these property values passes the filter."""
        stored = properties.get(self.property)
        present = stored is not None and stored != ""
        op = self.operator
        if op == "HAS_PROPERTY":
            return present
        if op == "NOT_HAS_PROPERTY":
            return not present
        if not present:
            return op in ("NEQ", "NOT_IN", "NOT_CONTAINS_TOKEN")
        assert stored is not None
        if op in ("IN", "NOT_IN"):
            return (stored.lower() in self.values) == (op == "IN")
        if op in ("CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"):
            token = (self.value or "").replace("*", "").lower()
            return (token in stored.lower()) == (op == "CONTAINS_TOKEN")
        if op == "BETWEEN":
            return _compare(stored, self.value) >= 0 and _compare(stored, self.high_value) <= 0
        order = _compare(stored, self.value)
        return {
            "EQ": order == 0,
            "NEQ": order != 0,
            "LT": order < 0,
            "LTE": order <= 0,
            "GT": order > 0,
            "GTE": order >= 0,
        }[op]


@dataclass(frozen=True)
class SearchRequest:
    """A parsed ``POST /crm/v3/objects/{type}/search`` body.

    Attributes:
        groups: filter groups (OR of ANDs); empty matches everything.
        sort: ``(property, descending)`` of the first sort, or None (by id).
        properties: requested properties, or None for the type's defaults.
        limit: page size, 1-200.
        after: offset of the page's first result.
        query: free text matched against every property value, or None.
    """

    groups: tuple[tuple[Filter, ...], ...]
    sort: tuple[str, bool] | None
    properties: tuple[str, ...] | None
    limit: int
    after: int
    query: str | None

    @classmethod
    def parse(cls, body: Any) -> SearchRequest:
        """Read a request body.

        Raises:
            SearchError: the body breaks one of the rules in the module docstring.
        """
        if not isinstance(body, dict):
            raise SearchError("Invalid input JSON: expected an object")
        groups = tuple(_group(group) for group in body.get("filterGroups") or [])
        if len(groups) > MAX_GROUPS:
            raise SearchError(f"Too many filter groups: {len(groups)} (at most {MAX_GROUPS})")
        if sum(len(group) for group in groups) > MAX_FILTERS:
            raise SearchError(f"Too many filters in the search request (at most {MAX_FILTERS})")
        limit = _integer(body.get("limit"), "limit", DEFAULT_LIMIT)
        if not 1 <= limit <= MAX_LIMIT:
            raise SearchError(f"limit must be between 1 and {MAX_LIMIT}, was {limit}")
        properties = body.get("properties")
        if properties is not None and not (
            isinstance(properties, list) and all(isinstance(p, str) for p in properties)
        ):
            raise SearchError("Invalid input JSON: properties must be a list of strings")
        query = body.get("query")
        return cls(
            groups=groups,
            sort=_sort(body.get("sorts") or []),
            properties=tuple(properties) if properties is not None else None,
            limit=limit,
            after=_integer(body.get("after"), "after", 0),
            query=str(query).lower() if query else None,
        )

    def matches(self, properties: Properties) -> bool:
        """Whether a record with these property values is a result."""
        if self.query is not None and not any(
            v is not None and self.query in v.lower() for v in properties.values()
        ):
            return False
        return not self.groups or any(all(f.matches(properties) for f in group) for group in self.groups)

    def order(self, records: Sequence[Any], properties_of: Callable[[Any], Properties]) -> list[Any]:
        """``records`` (already sorted by id) in the request's sort order, ties by id."""
        if self.sort is None:
            return list(records)
        prop, descending = self.sort
        present = [r for r in records if properties_of(r).get(prop) not in (None, "")]
        absent = [r for r in records if properties_of(r).get(prop) in (None, "")]
        present.sort(key=lambda r: _sort_key(properties_of(r).get(prop)), reverse=descending)
        return present + absent


def _group(group: Any) -> tuple[Filter, ...]:
    filters = group.get("filters") if isinstance(group, dict) else None
    if not isinstance(filters, list):
        raise SearchError("Invalid input JSON: each filter group needs a list of filters")
    if len(filters) > MAX_FILTERS_PER_GROUP:
        raise SearchError(
            f"Too many filters in a filter group: {len(filters)} (at most {MAX_FILTERS_PER_GROUP})"
        )
    return tuple(_filter(f) for f in filters)


def _filter(data: Any) -> Filter:
    if not isinstance(data, dict) or not isinstance(data.get("propertyName"), str):
        raise SearchError("Invalid input JSON: a filter needs a propertyName")
    operator = str(data.get("operator", "EQ"))
    if operator not in OPERATORS:
        raise SearchError(f"Invalid input JSON: unknown filter operator {operator!r}")
    value = data.get("value")
    values = data.get("values") or []
    return Filter(
        property=str(data["propertyName"]),
        operator=operator,
        value=None if value is None else str(value),
        values=tuple(str(v) for v in values),
        high_value=None if data.get("highValue") is None else str(data["highValue"]),
    )


def _sort(sorts: Any) -> tuple[str, bool] | None:
    if not isinstance(sorts, list) or not sorts:
        return None
    first = sorts[0]
    if isinstance(first, str):
        return (first.lstrip("-"), first.startswith("-"))
    if isinstance(first, dict) and isinstance(first.get("propertyName"), str):
        return (first["propertyName"], str(first.get("direction", "ASCENDING")).upper() == "DESCENDING")
    raise SearchError("Invalid input JSON: a sort needs a propertyName")


def _integer(value: Any, name: str, default: int) -> int:
    if value is None or value == "":
        return default
    try:
        return int(str(value))
    except ValueError:
        raise SearchError(f"Invalid input JSON: {name} must be a whole number, was {value!r}") from None


@functools.lru_cache(maxsize=65536)
def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


@functools.lru_cache(maxsize=65536)
def _instant(text: str) -> int | None:
    try:
        return parse_instant(text)
    except ValueError:
        return None


def _compare(stored: str, given: str | None) -> int:
    """-1, 0 or 1: ``stored`` against ``given`` as numbers, instants, or text ignoring case."""
    if given is None:
        return 1
    pairs: tuple[tuple[Any, Any], ...] = (
        (_number(stored), _number(given)),
        (_instant(stored), _instant(given)),
        (stored.lower(), given.lower()),
    )
    for left, right in pairs:
        if left is not None and right is not None:
            return int(left > right) - int(left < right)
    return 1


def _sort_key(value: str | None) -> tuple[int, Any]:
    assert value is not None
    number = _number(value)
    if number is not None:
        return (0, number)
    instant = _instant(value)
    if instant is not None:
        return (1, instant)
    return (2, value.lower())
