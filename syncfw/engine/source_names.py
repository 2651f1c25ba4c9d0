"""Stream and field names checked against the source before anything is read.

A mapping that names a stream or field the source does not have would fail in the middle of a
read, with the source's words and no place in the recipe. :func:`check_source_names` asks each
connector (:meth:`~syncfw.connector.Connector.unknown_names`: Salesforce ``describe``, a file's
header) and raises every wrong name at once, each at its ``file:line:col`` in the mapping file,
with exit code 2 like any other recipe mistake. ``syncfw validate --online`` calls it; ``plan``
and ``run`` call it through :class:`syncfw.engine.sources.Sources`, which remembers a check that
passed.
"""

from __future__ import annotations

from collections.abc import Mapping

from syncfw.connector import Connector
from syncfw.errors import ConfigError, Problem
from syncfw.mapping.expressions import Template, TemplateError
from syncfw.mapping.spec import BoundMapping, MatchSpec
from syncfw.recipe import Recipe
from syncfw.recipe.document import KeyPath, YamlDocument, read_yaml
from syncfw.recipe.governance import property_fields

_ORIGINS = ("field", "template", "aggregate")
"""The keys of a property (or ``match``) that name fields, in the order a problem points at them."""


def check_source_names(recipe: Recipe, connectors: Mapping[str, Connector]) -> None:
    """Ask each source whether the streams and fields the recipe's mappings read exist.

    Args:
        recipe: a loaded recipe.
        connectors: recipe source name → its connector, built from the recipe's config.

    Raises:
        ConfigError: one problem per wrong stream or field, at its place in the mapping file.
        syncfw.errors.SourceError: a source could not be asked.
    """
    problems = [p for m in mappings_of(recipe) for p in mapping_problems(m, connectors[m.source])]
    if problems:
        raise ConfigError(problems)


def mappings_of(recipe: Recipe) -> list[BoundMapping]:
    """The recipe's mappings, one per mapping file, in target order."""
    found: dict[str, BoundMapping] = {}
    for target in recipe.targets_in_order():
        for mapping in target.mappings:
            found.setdefault(str(mapping.file), mapping)
    return list(found.values())


def read_fields(mapping: BoundMapping) -> list[str]:
    """The field paths ``mapping`` reads (properties, then ``match``), each once."""
    return list(dict.fromkeys(f for fields in _places(mapping).values() for f in fields))


def mapping_problems(mapping: BoundMapping, connector: Connector) -> list[Problem]:
    """The wrong stream or field names of ``mapping``, each at its place in the mapping file
    (:meth:`~syncfw.connector.Connector.unknown_names`).

    Raises:
        syncfw.errors.SourceError: the source could not be asked.
    """
    places = _places(mapping)
    unknown = connector.unknown_names(mapping.stream, read_fields(mapping))
    if unknown.stream is None and not unknown.fields:
        return []
    document, problems = read_yaml(mapping.file, str(mapping.file))
    if document is None:
        return problems
    if unknown.stream is not None:
        return [document.problem(("stream",), unknown.stream)]
    return [
        document.problem(_origin(document, at), f"{path!r}: {unknown.fields[path]}")
        for at, fields in places.items()
        for path in fields
        if path in unknown.fields
    ]


def _places(mapping: BoundMapping) -> dict[KeyPath, list[str]]:
    places: dict[KeyPath, list[str]] = {
        ("properties", name): property_fields(spec) for name, spec in mapping.properties.items()
    }
    if mapping.match is not None:
        places[("match",)] = _match_fields(mapping.match)
    return places


def _match_fields(match: MatchSpec) -> list[str]:
    if match.field is not None:
        return [match.field]
    try:
        return Template(match.template or "").fields
    except TemplateError:
        return []  # reported when the mapping is loaded


def _origin(document: YamlDocument, at: KeyPath) -> KeyPath:
    """The key of ``at`` that names the fields (``field:``, ``template:``), or ``at`` itself."""
    for key in _ORIGINS:
        if document.locate((*at, key)) == (*at, key):
            return (*at, key)
    return at
