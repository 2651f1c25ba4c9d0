"""Data source query: filters, sorts and cursor pagination.

Filters (DOC filter-data-source-entries; API-FACTS §5.1):

* property filters ``{"property": "<name or id>", "<type>": {"<condition>": value}}`` for title,
  rich_text, url, email, phone_number (equals, does_not_equal, contains, does_not_contain,
  starts_with, ends_with, is_empty, is_not_empty), number and unique_id (equals, does_not_equal,
  greater_than, less_than, greater_than_or_equal_to, less_than_or_equal_to, empties), checkbox
  (equals, does_not_equal), select and status (equals, does_not_equal, empties), multi_select
  (contains, does_not_contain, empties), date, created_time and last_edited_time properties
  (equals, before, after, on_or_before, on_or_after with an ISO 8601 value or ``today``,
  ``tomorrow``, ``yesterday``, ``one_week_ago``, ``one_week_from_now``, ``one_month_ago``,
  ``one_month_from_now``; ``past_week``, ``past_month``, ``past_year``, ``this_week``,
  ``next_week``, ``next_month``, ``next_year`` with ``{}``; empties), people, created_by,
  last_edited_by (contains, does_not_contain a user id; empties), relation (contains,
  does_not_contain a page id; empties), files (empties);
* timestamp filters ``{"timestamp": "last_edited_time"|"created_time", "<timestamp>": {...}}``
  with the date conditions, compared with the minute-truncated timestamps pages show;
* compounds ``{"and": [...]}`` / ``{"or": [...]}`` nested at most two levels deep.

Text ``equals`` is exact; ``contains``, ``starts_with`` and ``ends_with`` ignore case. A date
without time matches by calendar day (UTC); with a time, by instant. ``does_not_equal`` and
``does_not_contain`` match empty values. Exactly one condition per filter.

Sorts ``[{"property"|"timestamp": ..., "direction": "ascending"|"descending"}]``, earlier sorts
first; empty values sort last either way; select and status sort by option order; timestamps
sort by the instant (creation order for ``created_time``), not the minute shown. Without sorts
(and after them) pages come newest first.

Pagination: ``page_size`` 1-100 (default 100); ``next_cursor`` is the id of the first item of the
next page (as recorded for block children), ``start_cursor`` resumes from that item. A data
source query pages through at most ``query_cap`` results (:class:`ResultCap`).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar

from . import errors
from .ids import parse_id
from .model import DataSource, Page, PropertySchema
from .richtext import plain_text
from .schema import find_property
from .store import Store
from .timestamps import IsoValue, parse_iso, truncate_minute

Predicate = Callable[[Page], bool]
T = TypeVar("T")

MAX_PAGE_SIZE = 100
_TEXT = ("title", "rich_text", "url", "email", "phone_number")
_NUMBER = ("number", "unique_id")
_DATE = ("date", "created_time", "last_edited_time")
_PEOPLE = ("people", "created_by", "last_edited_by")
_CONDITIONS: dict[str, tuple[str, ...]] = {
    "text": ("equals", "does_not_equal", "contains", "does_not_contain", "starts_with", "ends_with"),
    "number": (
        "equals",
        "does_not_equal",
        "greater_than",
        "less_than",
        "greater_than_or_equal_to",
        "less_than_or_equal_to",
    ),
    "checkbox": ("equals", "does_not_equal"),
    "select": ("equals", "does_not_equal"),
    "multi_select": ("contains", "does_not_contain"),
    "date": ("equals", "before", "after", "on_or_before", "on_or_after"),
    "people": ("contains", "does_not_contain"),
    "relation": ("contains", "does_not_contain"),
    "files": (),
}
_RANGES = ("past_week", "past_month", "past_year", "this_week", "next_week", "next_month", "next_year")
_RELATIVE = {
    "today": 0,
    "tomorrow": 1,
    "yesterday": -1,
    "one_week_ago": -7,
    "one_week_from_now": 7,
    "one_month_ago": -30,
    "one_month_from_now": 30,
}
_EMPTIES = ("is_empty", "is_not_empty")


def _family(kind: str) -> str:
    if kind in _TEXT:
        return "text"
    if kind in _NUMBER:
        return "number"
    if kind in _DATE:
        return "date"
    if kind in _PEOPLE:
        return "people"
    if kind == "status":
        return "select"
    return kind


def _accepted_filter_types(prop_type: str) -> tuple[str, ...]:
    if prop_type in ("created_time", "last_edited_time"):
        return (prop_type, "date")
    if prop_type in ("created_by", "last_edited_by"):
        return (prop_type, "people")
    return (prop_type,)


class Query:
    """Filters and sorts compiled for one data source, evaluated at one moment.

    Raises (from the constructor):
        NotionAPIError: ``validation_error`` for an unknown property, a filter type that does
            not match the property, a malformed condition, a compound nested too deep, or an
            unknown sort property (messages from API-FACTS §2.4 where recorded).
    """

    def __init__(self, store: Store, source: DataSource, filter_: Any, sorts: Any, now_ms: int) -> None:
        self._store = store
        self._source = source
        self._now = datetime.fromtimestamp(now_ms / 1000, UTC)
        self.matches: Predicate = (
            (lambda page: True) if filter_ is None else self._compile(filter_, "body.filter", 0)
        )
        self.key = self._sort_key(sorts)

    def _compile(self, spec: Any, path: str, depth: int) -> Predicate:
        if not isinstance(spec, dict):
            raise errors.body_invalid(path, "an object", spec)
        for joiner in ("and", "or"):
            if joiner in spec:
                if depth >= 2:
                    raise errors.body_invalid(f"{path}.{joiner}", "not present", spec[joiner])
                items = spec[joiner]
                if not isinstance(items, list):
                    raise errors.body_invalid(f"{path}.{joiner}", "an array", items)
                parts = [
                    self._compile(item, f"{path}.{joiner}[{i}]", depth + 1) for i, item in enumerate(items)
                ]
                if joiner == "and":
                    return lambda page: all(part(page) for part in parts)
                return lambda page: any(part(page) for part in parts)
        if "timestamp" in spec:
            return self._timestamp_filter(spec, path)
        if "property" not in spec:
            raise errors.body_invalid(f"{path}.property", "defined", errors.UNDEFINED)
        key = spec["property"]
        prop = find_property(self._source, key) if isinstance(key, str) else None
        if prop is None:
            raise errors.validation(f"Could not find property with name or id: {key}")
        kinds = [k for k in spec if k not in ("property", "type")]
        if len(kinds) != 1:
            raise errors.body_invalid(path, "an object with exactly one filter type", spec)
        kind = kinds[0]
        if kind not in _accepted_filter_types(prop.type):
            raise errors.validation(
                "The property type in the database does not match the property type of the filter provided: "
                f"database property {prop.type} does not match filter {kind}"
            )
        family = _family(prop.type)
        if family not in _CONDITIONS:
            raise errors.validation(f"Filtering on {prop.type} properties is not supported by the emulator.")
        condition, value = _condition(spec[kind], f"{path}.{kind}", family)
        return self._property_test(prop, family, condition, value, f"{path}.{kind}.{condition}")

    def _timestamp_filter(self, spec: dict[str, Any], path: str) -> Predicate:
        if "property" in spec:
            raise errors.body_invalid(f"{path}.property", "not present", spec["property"])
        stamp = spec["timestamp"]
        if stamp not in ("created_time", "last_edited_time"):
            raise errors.body_invalid(f"{path}.timestamp", '`"created_time"` or `"last_edited_time"`', stamp)
        condition, value = _condition(spec.get(stamp, errors.UNDEFINED), f"{path}.{stamp}", "date")
        prop = PropertySchema(id=stamp, name=stamp, type=stamp)
        return self._property_test(prop, "date", condition, value, f"{path}.{stamp}.{condition}")

    def _property_test(
        self, prop: PropertySchema, family: str, condition: str, value: Any, path: str
    ) -> Predicate:
        read = self._reader(prop, family)
        if condition in _EMPTIES:
            wanted = condition == "is_empty"
            return lambda page: _is_empty(read(page)) == wanted
        if family == "text":
            return _text_test(read, condition, _typed(value, str, path, "a string"))
        if family == "number":
            number = value if isinstance(value, int | float) and not isinstance(value, bool) else None
            if number is None:
                raise errors.body_invalid(path, "a number", value)
            return _number_test(read, condition, number)
        if family == "checkbox":
            flag = _typed(value, bool, path, "a boolean")
            return (
                (lambda page: read(page) == flag)
                if condition == "equals"
                else (lambda page: read(page) != flag)
            )
        if family in ("select", "multi_select"):
            name = _typed(value, str, path, "a string")
            positive = condition in ("equals", "contains")
            return lambda page: (name in read(page)) == positive
        if family == "date":
            return self._date_test(read, condition, value, path)
        target = value if family == "people" and value == "me" else parse_id(value)
        if target is None:
            raise errors.body_invalid(path, "a valid uuid", value)
        if target == "me":
            target = self._store.meta.get("bot_user_id", "")
        return (
            (lambda page: target in read(page))
            if condition == "contains"
            else (lambda page: target not in read(page))
        )

    def _date_test(self, read: Callable[[Page], Any], condition: str, value: Any, path: str) -> Predicate:
        if condition in _RANGES:
            low, high = self._range(condition)
            return lambda page: (d := read(page)) is not None and low <= d.moment <= high
        if isinstance(value, str) and value in _RELATIVE:
            value = (self._now.date() + timedelta(days=_RELATIVE[value])).isoformat()
        bound = parse_iso(value)
        if bound is None:
            raise errors.body_invalid(path, "a valid ISO 8601 date string", value)
        compare = _COMPARISONS[condition]
        if bound.has_time:
            return lambda page: (d := read(page)) is not None and compare(d.moment, bound.moment)
        return lambda page: (d := read(page)) is not None and compare(_utc_day(d), bound.day)

    def _range(self, condition: str) -> tuple[datetime, datetime]:
        now = self._now
        if condition == "this_week":
            monday = datetime.combine(now.date() - timedelta(days=now.weekday()), datetime.min.time(), UTC)
            return monday, monday + timedelta(days=7) - timedelta(microseconds=1)
        days = {"week": 7, "month": 30, "year": 365}[condition.split("_")[1]]
        if condition.startswith("past"):
            return now - timedelta(days=days), now
        return now, now + timedelta(days=days)

    def _reader(self, prop: PropertySchema, family: str) -> Callable[[Page], Any]:
        kind = prop.type
        if kind in ("created_time", "last_edited_time"):
            minutes: dict[int, IsoValue] = {}  # one value per minute, not per page: scans stay cheap

            def minute(page: Page) -> IsoValue:
                ms = truncate_minute(page.created_time if kind == "created_time" else page.last_edited_time)
                value = minutes.get(ms)
                if value is None:
                    value = minutes[ms] = _minute_value(ms)
                return value

            return minute
        if kind in ("created_by", "last_edited_by"):
            return lambda page: [page.created_by if kind == "created_by" else page.last_edited_by]
        if kind in ("title", "rich_text"):
            return lambda page: plain_text(page.values.get(prop.id) or [])
        if family == "text":
            return lambda page: page.values.get(prop.id) or ""
        if kind in ("select", "status", "multi_select"):
            names = {option["id"]: option["name"] for option in prop.config.get("options", [])}

            def option_names(page: Page) -> list[str]:
                stored = page.values.get(prop.id)
                ids = stored if isinstance(stored, list) else [] if stored is None else [stored]
                return [names[option_id] for option_id in ids if option_id in names]

            return option_names
        if kind == "date":
            return lambda page: parse_iso((page.values.get(prop.id) or {}).get("start"))
        if kind == "checkbox":
            return lambda page: bool(page.values.get(prop.id, False))
        if kind in ("people", "relation", "files"):
            return lambda page: page.values.get(prop.id) or []
        return lambda page: page.values.get(prop.id)

    def _sort_key(self, sorts: Any) -> Callable[[Page], tuple[Any, ...]]:
        if sorts is None:
            sorts = []
        if not isinstance(sorts, list):
            raise errors.body_invalid("body.sorts", "an array", sorts)
        parts: list[tuple[Callable[[Page], Any], bool]] = []
        for index, sort in enumerate(sorts):
            path = f"body.sorts[{index}]"
            if not isinstance(sort, dict):
                raise errors.body_invalid(path, "an object", sort)
            direction = sort.get("direction", "ascending")
            if direction not in ("ascending", "descending"):
                raise errors.body_invalid(f"{path}.direction", '`"ascending"` or `"descending"`', direction)
            if "timestamp" in sort:
                stamp = sort["timestamp"]
                if stamp not in ("created_time", "last_edited_time"):
                    raise errors.body_invalid(
                        f"{path}.timestamp", '`"created_time"` or `"last_edited_time"`', stamp
                    )
                prop: PropertySchema | None = PropertySchema(id=stamp, name=stamp, type=stamp)
            else:
                name = sort.get("property", errors.UNDEFINED)
                prop = find_property(self._source, name) if isinstance(name, str) else None
                if prop is None:
                    raise errors.validation(f"Could not find sort property with name or id: {name}")
            assert prop is not None
            parts.append((self._sort_value(prop), direction == "descending"))

        def key(page: Page) -> tuple[Any, ...]:
            values: list[Any] = []
            for read, descending in parts:
                value = read(page)
                if value is None:
                    values.append((1, 0))
                else:
                    values.append((0, _Descending(value) if descending else value))
            values.append(-page.seq)
            return tuple(values)

        return key

    def _sort_value(self, prop: PropertySchema) -> Callable[[Page], Any]:
        kind = prop.type
        if kind in ("select", "status", "multi_select"):
            order = {option["id"]: i for i, option in enumerate(prop.config.get("options", []))}

            def option_rank(page: Page) -> Any:
                stored = page.values.get(prop.id)
                ids = stored if isinstance(stored, list) else [] if stored is None else [stored]
                ranks = tuple(order[i] for i in ids if i in order)
                return ranks or None

            return option_rank
        if kind == "created_time":
            return lambda page: page.seq
        if kind == "last_edited_time":
            # Sorting sees the edit instant, not the minute shown, so equal minutes keep edit order.
            return lambda page: (page.last_edited_time, page.seq)
        read = self._reader(prop, _family(kind))
        if kind in _TEXT:
            return lambda page: read(page).casefold() or None
        if kind in _DATE:
            return lambda page: None if (d := read(page)) is None else d.moment
        if kind in _PEOPLE:
            users = self._store.users
            return lambda page: tuple(users[u].name if u in users else u for u in read(page)) or None
        if kind in ("relation", "files"):
            return lambda page: len(read(page)) or None
        return read


class _Descending:
    """Reverses the order of a sort value."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __lt__(self, other: _Descending) -> bool:
        return bool(other.value < self.value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Descending) and bool(self.value == other.value)

    __hash__ = None  # type: ignore[assignment]


def _condition(spec: Any, path: str, family: str) -> tuple[str, Any]:
    if not isinstance(spec, dict):
        raise errors.body_invalid(path, "an object", spec)
    if len(spec) != 1:
        raise errors.body_invalid(path, "an object with exactly one condition", spec)
    ((condition, value),) = spec.items()
    allowed = _CONDITIONS[family] + (_EMPTIES if family != "checkbox" else ())
    if family == "date":
        allowed += _RANGES
    if condition not in allowed:
        raise errors.body_invalid(f"{path}.{condition}", "not present", value)
    if condition in _EMPTIES and value is not True:
        raise errors.body_invalid(f"{path}.{condition}", "`true`", value)
    if condition in _RANGES and value != {}:
        raise errors.body_invalid(f"{path}.{condition}", "an empty object", value)
    return str(condition), value


def _typed(value: Any, kind: type[T], path: str, expectation: str) -> T:
    if not isinstance(value, kind):
        raise errors.body_invalid(path, expectation, value)
    return value


def _is_empty(value: Any) -> bool:
    return value is None or value == "" or value == []


def _text_test(read: Callable[[Page], str], condition: str, wanted: str) -> Predicate:
    folded = wanted.casefold()
    if condition == "equals":
        return lambda page: read(page) == wanted
    if condition == "does_not_equal":
        return lambda page: read(page) != wanted
    if condition == "contains":
        return lambda page: folded in read(page).casefold()
    if condition == "does_not_contain":
        return lambda page: folded not in read(page).casefold()
    if condition == "starts_with":
        return lambda page: read(page).casefold().startswith(folded)
    return lambda page: read(page).casefold().endswith(folded)


def _number_test(read: Callable[[Page], Any], condition: str, number: float) -> Predicate:
    if condition == "does_not_equal":
        return lambda page: read(page) != number
    compare: Callable[[Any, Any], bool] = {
        "equals": lambda a, b: a == b,
        "greater_than": lambda a, b: a > b,
        "less_than": lambda a, b: a < b,
        "greater_than_or_equal_to": lambda a, b: a >= b,
        "less_than_or_equal_to": lambda a, b: a <= b,
    }[condition]
    return lambda page: (v := read(page)) is not None and compare(v, number)


_COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    "equals": lambda a, b: a == b,
    "before": lambda a, b: a < b,
    "after": lambda a, b: a > b,
    "on_or_before": lambda a, b: a <= b,
    "on_or_after": lambda a, b: a >= b,
}


def _utc_day(value: IsoValue) -> date:
    return value.moment.date() if value.has_time else value.day


def _minute_value(ms: int) -> IsoValue:
    moment = datetime.fromtimestamp(ms / 1000, UTC)
    return IsoValue(moment.date(), moment, has_time=True, local=moment.replace(tzinfo=None))


def page_size_of(value: Any, path: str = "body.page_size") -> int:
    """Check ``page_size`` (1-100, default 100); ``path`` is ``body.page_size`` or ``query.page_size``."""
    part = path.split(".")[0]
    if value is None:
        return MAX_PAGE_SIZE
    if isinstance(value, bool) or not isinstance(value, int):
        raise errors.body_invalid(path, "a number or `undefined`", value, part=part)
    if value > MAX_PAGE_SIZE:
        raise errors.body_invalid(path, f"≤ `{MAX_PAGE_SIZE}` or `undefined`", value, part=part)
    if value < 1:
        raise errors.body_invalid(path, "≥ `1` or `undefined`", value, part=part)
    return value


def query_page_size(value: str | None) -> int:
    """Check a ``page_size`` query-string parameter of a GET endpoint."""
    parsed: Any = value
    if value is not None:
        try:
            parsed = int(value)
        except ValueError:
            parsed = value
    return page_size_of(parsed, "query.page_size")


def paginate(
    ordered: Sequence[T],
    id_of: Callable[[T], str],
    keep: Callable[[T], bool],
    start_cursor: Any,
    page_size: int,
    path: str = "body.start_cursor",
    positions: Mapping[str, int] | None = None,
) -> tuple[list[T], str | None]:
    """One page of the items of ``ordered`` that ``keep`` accepts, and the next cursor.

    ``ordered`` holds every candidate, also those ``keep`` rejects, so a cursor naming an item
    that stopped matching (trashed, edited) since the previous page still resumes in place.
    ``positions`` (item id → index in ``ordered``) finds the cursor without a scan.

    Raises:
        NotionAPIError: the cursor is not a UUID, or names no item of ``ordered``.
    """
    start = cursor_index(ordered, id_of, start_cursor, path, positions)
    results, following = _collect(ordered, keep, start, page_size)
    return results, None if following is None else id_of(ordered[following])


def cursor_index(
    ordered: Sequence[T],
    id_of: Callable[[T], str],
    start_cursor: Any,
    path: str = "body.start_cursor",
    positions: Mapping[str, int] | None = None,
) -> int:
    """Where ``start_cursor`` (the id of the first item of a page) resumes in ``ordered``; 0
    without a cursor.

    Raises:
        NotionAPIError: the cursor is not a UUID, or names no item of ``ordered``.
    """
    if start_cursor is None:
        return 0
    cursor = parse_id(start_cursor)
    if cursor is None:
        raise errors.body_invalid(path, "a valid uuid or `undefined`", start_cursor, part=path.split(".")[0])
    if positions is not None:
        start = positions.get(cursor, -1)
    else:
        start = next((i for i, item in enumerate(ordered) if id_of(item) == cursor), -1)
    if start < 0:
        raise errors.validation(f"The start_cursor provided is invalid: {start_cursor}")
    return start


def _collect(
    ordered: Sequence[T], keep: Callable[[T], bool], start: int, page_size: int
) -> tuple[list[T], int | None]:
    """Up to ``page_size`` kept items from ``start`` on, and the index of the next kept item."""
    results: list[T] = []
    for index in range(start, len(ordered)):
        if keep(ordered[index]):
            if len(results) == page_size:
                return results, index
            results.append(ordered[index])
    return results, None


def _more_than(ordered: Sequence[T], keep: Callable[[T], bool], start: int, count: int) -> bool:
    """Whether more than ``count`` items from ``start`` on are kept (stops at the first extra)."""
    found = 0
    for index in range(start, len(ordered)):
        if keep(ordered[index]):
            found += 1
            if found > count:
                return True
    return False


INCOMPLETE = {"type": "incomplete", "incomplete_reason": "query_result_limit_reached"}
"""``request_status`` of every page of a query whose results were capped."""


class ResultCap:
    """Notion's limit on the results one data source query returns, and each query's progress.

    A query is its data source, filter, sorts and trash flag (developers.notion.com, "Query a
    data source", "Pagination limit": *"a query is defined by its filter and sort"*). When more
    than ``cap`` results match, pagination stops at the ``cap``-th result (``has_more: false``,
    ``next_cursor: null``) and every page of that query carries :data:`INCOMPLETE`, from the
    first page on. Whether a query is capped is decided when its first page is served and kept
    with the cursor handed out, with the number of results served so far, for the pages that
    follow. A cursor the emulator no longer remembers (after a restart) is placed by counting
    the results before it.
    """

    _REMEMBERED = 1000

    def __init__(self) -> None:
        self._progress: OrderedDict[tuple[str, str], tuple[int, bool]] = OrderedDict()

    def page(
        self,
        query: str,
        ordered: Sequence[T],
        id_of: Callable[[T], str],
        keep: Callable[[T], bool],
        start_cursor: Any,
        page_size: int,
        cap: int,
        positions: Mapping[str, int] | None = None,
    ) -> tuple[list[T], str | None, bool]:
        """Like :func:`paginate`, within the cap; also answers whether the query is capped.

        ``query`` names the query (the same name must mean the same data source, filter,
        sorts and trash flag).

        Raises:
            NotionAPIError: as :func:`paginate`.
        """
        start = cursor_index(ordered, id_of, start_cursor, positions=positions)
        served: int = 0
        capped: bool | None = None
        if start_cursor is not None:
            known = self._progress.get((query, id_of(ordered[start])))
            if known is None:
                served = sum(1 for item in ordered[:start] if keep(item))
            else:
                served, capped = known
        room = max(cap - served, 0)
        results, following = _collect(ordered, keep, start, min(page_size, room))
        if capped is None:
            capped = _more_than(ordered, keep, start, room)
        if capped and served + len(results) >= cap:
            following = None
        if following is None:
            return results, None, capped
        next_cursor = id_of(ordered[following])
        self._progress[(query, next_cursor)] = (served + len(results), capped)
        while len(self._progress) > self._REMEMBERED:
            self._progress.popitem(last=False)
        return results, next_cursor, capped
