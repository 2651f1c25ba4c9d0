"""A mapping compiled for evaluation: source record in, desired property values out."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from syncfw.errors import ConfigError, Problem
from syncfw.mapping.encoding import canonical, relation_keys
from syncfw.mapping.expressions import Template, TemplateError, get_path

if TYPE_CHECKING:
    from syncfw.recipe.model import BoundMapping, PropertySpec

Transform = Callable[..., Any]
_EMPTY: tuple[Any, ...] = (None, "", [], ())


@dataclasses.dataclass(frozen=True)
class PropertyError:
    """One property of one record could not be evaluated; ``reason`` says why."""

    property: str
    reason: str

    def __str__(self) -> str:
        return f"{self.property}: {self.reason}"


class _CompiledProperty:
    def __init__(self, spec: PropertySpec, transforms: Mapping[str, Transform]) -> None:
        self.spec = spec
        self.template = Template(spec.template) if spec.template is not None else None
        self.steps = [(call.name, transforms[call.name], call.args) for call in spec.transforms]

    @property
    def fields(self) -> list[str]:
        if self.template is not None:
            return self.template.fields
        return [self.spec.field] if self.spec.field is not None else []

    def evaluate(self, data: Mapping[str, Any]) -> Any:
        spec = self.spec
        if self.template is not None:
            value = self.template.render(data)
        elif spec.field is not None:
            value = get_path(data, spec.field)
        else:
            value = spec.value
        for name, function, args in self.steps:
            try:
                value = function(value, *args)
            except Exception as exc:  # a plugin's transform may raise anything for one bad value
                raise ValueError(f"transform {name!r} failed: {exc}") from None
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


class CompiledMapping:
    """A :class:`~syncfw.recipe.model.BoundMapping` ready to evaluate records.

    Attributes:
        mapping: the bound mapping it was compiled from.
        fields: every source field path the mapping reads, in order, without duplicates,
            including the dotted paths templates use (``{{ Owner.Name }}`` → ``Owner.Name``).
    """

    def __init__(self, mapping: BoundMapping, properties: dict[str, _CompiledProperty]) -> None:
        self.mapping = mapping
        self._properties = properties
        self.fields: list[str] = list(dict.fromkeys(f for p in properties.values() for f in p.fields))

    def evaluate(self, data: Mapping[str, Any]) -> tuple[dict[str, Any], list[PropertyError]]:
        """Desired value of every property for one record (in the source API's own shape).

        Values are canonical (see :mod:`syncfw.mapping.encoding`) but not yet cut to Notion's
        size caps, so that :func:`~syncfw.mapping.encoding.encode` can report a truncation;
        compare ``normalize(type, value)`` with the decoded Notion value. A relation's value is
        the tuple of the related records' source keys, not page ids. A property that fails
        (transform error, value of the wrong type) is left out of the values and reported as a
        :class:`PropertyError`; the other properties are still evaluated.
        """
        values: dict[str, Any] = {}
        errors: list[PropertyError] = []
        for name, compiled in self._properties.items():
            try:
                values[name] = compiled.evaluate(data)
            except ValueError as exc:
                errors.append(PropertyError(name, str(exc)))
        return values, errors


def compile_mapping(mapping: BoundMapping, transforms: Mapping[str, Transform]) -> CompiledMapping:
    """Compile a bound mapping's templates and look up its transforms.

    Args:
        mapping: a mapping from a loaded recipe.
        transforms: transform functions by name, usually ``load_plugins().transforms``.

    Raises:
        ConfigError: a template does not compile or a transform is not in ``transforms``
            (each problem at the property's ``file:line``). A recipe loaded with a registry has
            already been checked for both.
    """
    problems: list[Problem] = []
    compiled: dict[str, _CompiledProperty] = {}
    for name, spec in mapping.properties.items():
        unknown = [call.name for call in spec.transforms if call.name not in transforms]
        if unknown:
            problems.append(_problem(spec, f"unknown transform {unknown[0]!r}"))
            continue
        try:
            compiled[name] = _CompiledProperty(spec, transforms)
        except TemplateError as exc:
            problems.append(_problem(spec, str(exc)))
    if problems:
        raise ConfigError(problems)
    return CompiledMapping(mapping, compiled)


def _problem(spec: PropertySpec, message: str) -> Problem:
    return Problem(str(spec.file), spec.line, spec.column, f"properties.{spec.name}", message)
