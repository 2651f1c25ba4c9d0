"""A mapping compiled for evaluation: source record in, desired property values out.

A per-record mapping gives each record's property values (:meth:`CompiledMapping.evaluate`).
An aggregating mapping gives, for each record, the small JSON-serialisable *member* entry its
aggregates need (:meth:`CompiledMapping.member`); the engine keeps the entries of the records that
match a page and combines them into the page's values (:meth:`CompiledMapping.aggregate`).
A secondary mapping also gives each record's match value (:meth:`CompiledMapping.match_value`).
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from syncfw.errors import ConfigError, Problem
from syncfw.mapping.encoding import PropertyValueError, canonical, normalize, record_key, relation_keys
from syncfw.mapping.expressions import Expression, Template, TemplateError, compile_expression, get_path
from syncfw.mapping.spec import Aggregate, BoundMapping, MatchSpec, PropertySpec, TransformCall

Transform = Callable[..., Any]
_EMPTY: tuple[Any, ...] = (None, "", [], ())


@dataclasses.dataclass(frozen=True)
class PropertyError:
    """One property of one record could not be evaluated; ``reason`` says why."""

    property: str
    reason: str

    def __str__(self) -> str:
        return f"{self.property}: {self.reason}"


class _Reader:
    """A record's value: a field path, a template or a constant, then transforms."""

    def __init__(
        self,
        field: str | None,
        template: str | None,
        value: Any,
        calls: Sequence[TransformCall],
        transforms: Mapping[str, Transform],
    ) -> None:
        self.field = field
        self.template = Template(template) if template is not None else None
        self.value = value
        self.steps = [(call.name, transforms[call.name], call.args) for call in calls]

    @property
    def fields(self) -> list[str]:
        if self.template is not None:
            return self.template.fields
        return [self.field] if self.field is not None else []

    def read(self, data: Mapping[str, Any]) -> Any:
        if self.template is not None:
            value = self.template.render(data)
        elif self.field is not None:
            value = get_path(data, self.field)
        else:
            value = self.value
        for name, function, args in self.steps:
            try:
                value = function(value, *args)
            except Exception as exc:  # a plugin's transform may raise anything for one bad value
                raise ValueError(f"transform {name!r} failed: {exc}") from None
        return value


class _CompiledProperty:
    def __init__(self, spec: PropertySpec, transforms: Mapping[str, Transform]) -> None:
        self.spec = spec
        self.reader = _Reader(spec.field, spec.template, spec.value, spec.transforms, transforms)

    @property
    def fields(self) -> list[str]:
        return self.reader.fields

    def evaluate(self, data: Mapping[str, Any]) -> Any:
        spec = self.spec
        value = self.reader.read(data)
        if spec.map is not None:
            value = (
                [self._mapped(v) for v in value] if isinstance(value, list | tuple) else self._mapped(value)
            )
        if value in _EMPTY and spec.default is not None:
            value = spec.default
        if spec.type == "relation":
            return relation_keys(value)
        return canonical(spec.type, value)

    def _mapped(self, value: Any) -> Any:
        table = self.spec.map
        assert table is not None
        for key in (value, None if value is None else str(value)):
            try:
                if key in table:
                    return table[key]
            except TypeError:  # unhashable values are never map keys
                break
        if value is None or not self.spec.has_map_default:
            return value
        return self.spec.map_default


def _order_key(value: Any) -> tuple[int, Any]:
    """Sort key of a canonical number or date: dates compare as instants (a date is its UTC midnight)."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"expected a number or a date, got {value!r}")
    if not isinstance(value, str):
        return (0, value)
    moment = datetime.fromisoformat(value)  # canonical: YYYY-MM-DD or a UTC date-time
    return (1, moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC))


def _tie_key(value: Any) -> str:
    # equal sort keys (2026-05-01 and 2026-05-01T00:00Z) must not let member order pick the result
    return json.dumps(value, sort_keys=True)


def _ordering(value: Any) -> Any:
    """A ``by`` value as a canonical number or date, or None when it is empty."""
    if not isinstance(value, bool) and isinstance(value, int | float | str):
        try:
            return canonical("number", value)
        except PropertyValueError:
            pass
    try:
        return canonical("date", value)
    except PropertyValueError as exc:
        raise ValueError(f"not a number or an ISO 8601 date: {exc}") from None


class _CompiledAggregate:
    def __init__(self, spec: PropertySpec, transforms: Mapping[str, Transform]) -> None:
        assert spec.aggregate is not None
        self.spec = spec
        self.aggregate: Aggregate = spec.aggregate
        field = self.aggregate.field
        self.reader = None if field is None else _Reader(field, None, None, spec.transforms, transforms)
        where = self.aggregate.where
        self.where: Expression | None = None if where is None else compile_expression(where)

    @property
    def fields(self) -> list[str]:
        return [
            *(self.reader.fields if self.reader is not None else []),
            *([self.aggregate.by] if self.aggregate.by is not None else []),
            *(self.where.fields if self.where is not None else []),
        ]

    def member(self, data: Mapping[str, Any]) -> Any:
        """What one record contributes (JSON-serialisable), or None when it does not count."""
        if self.where is not None:
            try:
                counted = self.where(data)
            except ValueError as exc:
                raise ValueError(f"where {self.where.source!r}: {exc}") from None
            if not counted:
                return None
        if self.reader is None:
            return True
        value = canonical(self.spec.type, self.reader.read(data))
        if self.aggregate.by is None:
            return None if value in _EMPTY else value
        try:
            by = _ordering(get_path(data, self.aggregate.by))
        except ValueError as exc:
            raise ValueError(f"by {self.aggregate.by}: {exc}") from None
        return None if by is None else [by, value]

    def combine(self, entries: list[Any]) -> Any:
        """The property's canonical value over the member entries of the records it counts."""
        function = self.aggregate.function
        result: Any
        if function == "count":
            result = len(entries)
        elif function == "sum":
            numbers = [canonical("number", entry) for entry in entries]
            numbers = [number for number in numbers if number is not None]
            exact = all(isinstance(number, int) for number in numbers)
            # fsum is exact, so the total does not depend on the order records were stored in
            result = sum(numbers) if exact else math.fsum(numbers)
        elif function == "latest":
            result = self._latest(entries)
        else:
            values = [canonical(self.spec.type, entry) for entry in entries]
            values = [value for value in values if value is not None]
            pick = min if function == "min" else max
            result = pick(values, key=lambda v: (_order_key(v), _tie_key(v))) if values else None
        if result in _EMPTY and self.spec.default is not None:
            result = self.spec.default
        return canonical(self.spec.type, result)

    def _latest(self, entries: list[Any]) -> Any:
        pairs = []
        for entry in entries:
            if not isinstance(entry, list | tuple) or len(entry) != 2:
                raise ValueError(f"a stored entry {entry!r} is not a [by, value] pair")
            pairs.append((_order_key(entry[0]), canonical(self.spec.type, entry[1])))
        if not pairs:
            return None
        return max(pairs, key=lambda pair: (pair[0], _tie_key(pair[1])))[1]


class _CompiledMatch:
    def __init__(self, match: MatchSpec, transforms: Mapping[str, Transform]) -> None:
        self.match = match
        self.reader = _Reader(match.field, match.template, None, match.transforms, transforms)

    def value(self, data: Mapping[str, Any]) -> Any:
        match = self.match
        try:
            if match.via is not None:
                return record_key(self.reader.read(data))
            value = normalize(match.type, self.reader.read(data))
        except ValueError as exc:
            on = f"via {match.via!r}" if match.via is not None else f"on {match.property!r}"
            raise ValueError(f"match {on}: {exc}") from None
        return None if value in _EMPTY else value


class CompiledMapping:
    """A :class:`~syncfw.mapping.spec.BoundMapping` ready to evaluate records.

    Attributes:
        mapping: the bound mapping it was compiled from.
        fields: every source field path the mapping reads, in order, without duplicates:
            the match's, then the properties' (with the dotted paths templates and ``where``
            expressions use, ``{{ Owner.Name }}`` → ``Owner.Name``), and aggregates' ``by``.
        is_aggregate: its properties are aggregates: use :meth:`member` and :meth:`aggregate`
            (and :meth:`evaluate` gives no values).
    """

    def __init__(
        self,
        mapping: BoundMapping,
        properties: dict[str, _CompiledProperty],
        aggregates: dict[str, _CompiledAggregate],
        match: _CompiledMatch | None,
    ) -> None:
        self.mapping = mapping
        self._properties = properties
        self._aggregates = aggregates
        self._match = match
        self.is_aggregate = bool(aggregates)
        fields = [
            *(match.reader.fields if match is not None else []),
            *(f for p in properties.values() for f in p.fields),
            *(f for a in aggregates.values() for f in a.fields),
        ]
        self.fields: list[str] = list(dict.fromkeys(fields))

    def evaluate(self, data: Mapping[str, Any]) -> tuple[dict[str, Any], list[PropertyError]]:
        """Desired value of every property for one record (in the source API's own shape).

        Values are canonical (see :mod:`syncfw.mapping.encoding`) but not yet cut to Notion's
        size caps, so that :func:`~syncfw.mapping.encoding.encode` can report a truncation;
        compare ``normalize(type, value)`` with the decoded Notion value. A relation's value is
        the tuple of the related records' source keys (strings, see
        :func:`~syncfw.mapping.encoding.record_key`), not page ids: sync keys of the related
        target, or with ``via`` keys of records of that mapping. A property that fails
        (transform error, value of the wrong type) is left out of the values and reported as a
        :class:`PropertyError`; the other properties are still evaluated. Aggregates are not
        evaluated here (see :meth:`aggregate`).
        """
        values: dict[str, Any] = {}
        errors: list[PropertyError] = []
        for name, compiled in self._properties.items():
            try:
                values[name] = compiled.evaluate(data)
            except ValueError as exc:
                errors.append(PropertyError(name, str(exc)))
        return values, errors

    def match_value(self, data: Mapping[str, Any]) -> Any:
        """The value a secondary mapping's record finds its page by, or None when it is empty.

        With ``match.property`` it is canonical and capped (``normalize(match.type, …)``), so it
        compares with ``==`` to the decoded value of the match property (or to the sync key in the
        identity map). With ``match.via`` it is the key of a record of mapping ``via`` as a string
        (:func:`~syncfw.mapping.encoding.record_key`: ``123``, ``"123"`` and ``123.0`` all give
        ``"123"``), to look up in that mapping's matches.

        Raises:
            ValueError: the match template or a transform failed, or the value does not fit the
                match property's type (or is not a record key, for ``via``); the message names the
                property (or the ``via`` mapping) and the reason.
            TypeError: the mapping is a primary mapping (it has no match).
        """
        if self._match is None:
            raise TypeError(f"mapping {self.mapping.name!r} creates pages: it has no match")
        return self._match.value(data)

    def member(self, data: Mapping[str, Any]) -> dict[str, Any]:
        """What one record contributes to the aggregates of the page it matches.

        A JSON-serialisable dict with an entry per aggregate property the record counts for:
        ``True`` for ``count``; the canonical ``field`` value for ``sum``, ``min`` and ``max``
        (a date as ``YYYY-MM-DD`` or a UTC date-time); ``[by, value]`` for ``latest``. A property
        is absent when ``where`` is false or the value (or ``by``) is empty. Store it per record
        and give the entries of a page's records to :meth:`aggregate`.

        Raises:
            ValueError: ``where``, a transform or ``by`` failed, or a value does not fit the
                property's type; the message starts with the property name.
        """
        entry: dict[str, Any] = {}
        for name, compiled in self._aggregates.items():
            try:
                contribution = compiled.member(data)
            except ValueError as exc:
                raise ValueError(f"{name}: {exc}") from None
            if contribution is not None:
                entry[name] = contribution
        return entry

    def aggregate(self, members: Sequence[Mapping[str, Any]]) -> tuple[dict[str, Any], list[PropertyError]]:
        """Desired value of every aggregate property over the member entries of one page.

        ``members`` are :meth:`member` results (also after a JSON round trip), in any order: the
        result does not depend on it. With no entries, ``count`` and ``sum`` give 0 and ``min``,
        ``max`` and ``latest`` give None, unless the property has a ``default``. Values are
        canonical, like :meth:`evaluate`'s. An entry that no longer fits the property (stored
        by an earlier version of the mapping) makes that property a :class:`PropertyError`.
        """
        values: dict[str, Any] = {}
        errors: list[PropertyError] = []
        for name, compiled in self._aggregates.items():
            entries = [member[name] for member in members if member.get(name) is not None]
            try:
                values[name] = compiled.combine(entries)
            except ValueError as exc:
                errors.append(PropertyError(name, f"cannot combine the records' values: {exc}"))
        return values, errors


def compile_mapping(mapping: BoundMapping, transforms: Mapping[str, Transform]) -> CompiledMapping:
    """Compile a bound mapping's templates and expressions and look up its transforms.

    Args:
        mapping: a mapping from a loaded recipe.
        transforms: transform functions by name, usually ``load_plugins().transforms``.

    Raises:
        ConfigError: a template or ``where`` expression does not compile or a transform is not
            in ``transforms`` (each problem at the property's or the match's ``file:line``).
            A recipe loaded with a registry has already been checked for all of them.
    """
    problems: list[Problem] = []
    properties: dict[str, _CompiledProperty] = {}
    aggregates: dict[str, _CompiledAggregate] = {}
    for name, spec in mapping.properties.items():
        unknown = _unknown(spec.transforms, transforms)
        if unknown:
            problems.append(_problem(spec, unknown))
            continue
        try:
            if spec.aggregate is not None:
                aggregates[name] = _CompiledAggregate(spec, transforms)
            else:
                properties[name] = _CompiledProperty(spec, transforms)
        except TemplateError as exc:
            problems.append(_problem(spec, str(exc)))
    match: _CompiledMatch | None = None
    spec_match = mapping.match
    if spec_match is not None:
        message = _unknown(spec_match.transforms, transforms)
        if message is None:
            try:
                match = _CompiledMatch(spec_match, transforms)
            except TemplateError as exc:
                message = str(exc)
        if message is not None:
            problems.append(
                Problem(str(spec_match.file), spec_match.line, spec_match.column, "match", message)
            )
    if problems:
        raise ConfigError(problems)
    return CompiledMapping(mapping, properties, aggregates, match)


def _unknown(calls: Sequence[TransformCall], transforms: Mapping[str, Transform]) -> str | None:
    names = [call.name for call in calls if call.name not in transforms]
    return f"unknown transform {names[0]!r}" if names else None


def _problem(spec: PropertySpec, message: str) -> Problem:
    return Problem(str(spec.file), spec.line, spec.column, f"properties.{spec.name}", message)
