"""Mapping files as pydantic models: the YAML shape and the model the engine evaluates, in one.

A mapping file reads one source stream into Notion properties (:class:`MappingFile`); bound to a
recipe source inside a target it is a :class:`BoundMapping`. Models are strict (no silent
``"1"`` → 1 coercion), forbid unknown keys and are frozen. What YAML cannot say is attached after
validation, the way Dagster attaches source positions to its pydantic models
(``dagster._utils.source_position``): each :class:`Located` model keeps the ``file:line:col`` of
its key (:meth:`Located.at`), a property its name, a match the type of the property it compares
with. These models live in :mod:`syncfw.mapping` because the mapping stage evaluates them;
:mod:`syncfw.recipe` reads and checks them.
"""

from __future__ import annotations

import builtins
import re
from pathlib import Path
from typing import Annotated, Any, Literal, NamedTuple, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    WithJsonSchema,
    model_validator,
)

from syncfw.mapping.encoding import PropertyType

AggregateFunction = Literal["count", "sum", "min", "max", "latest"]
_CONFIG = ConfigDict(strict=True, extra="forbid", frozen=True)
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_FIELD_FUNCTIONS = ("sum", "min", "max", "latest")


def _name(value: str) -> str:
    if not _NAME.match(value):
        raise ValueError("use letters, digits, '-', '_' or '.', starting with a letter or digit")
    return value


Name = Annotated[str, AfterValidator(_name)]
"""A recipe, mapping or source name: letters, digits, ``-``, ``_`` or ``.``."""
NonEmpty = Annotated[str, Field(min_length=1)]


class Position(NamedTuple):
    """Where a key is written: its file and 1-based line and column."""

    file: Path
    line: int = 1
    column: int = 1


class Located(BaseModel):
    """A model that knows the ``file:line:col`` of the YAML key it was read from.

    The position is not a key of the YAML: the loader attaches it after validation
    (:meth:`at`); a model built in code sits at ``<mapping>:1:1``.
    """

    model_config = _CONFIG
    _position: Position = Position(Path("<mapping>"))

    def at(self, position: Position) -> Self:
        """A copy of this model read at ``position``."""
        located = self.model_copy()
        located._position = position
        return located

    @builtins.property
    def file(self) -> Path:
        """The file the model was read from."""
        return self._position.file

    @builtins.property
    def line(self) -> int:
        """The 1-based line of its key."""
        return self._position.line

    @builtins.property
    def column(self) -> int:
        """The 1-based column of its key."""
        return self._position.column


class TransformCall(BaseModel):
    """One entry of ``transforms``: the transform name and its arguments.

    YAML writes a name (``upper``) or ``{name: argument}`` / ``{name: [arguments]}``.
    """

    model_config = _CONFIG
    name: str
    args: tuple[Any, ...] = ()


def _transform_call(value: Any) -> Any:
    if isinstance(value, TransformCall):
        return value
    if isinstance(value, str) and value:
        return TransformCall(name=value)
    if isinstance(value, dict) and len(value) == 1 and isinstance(next(iter(value)), str):
        name, args = next(iter(value.items()))
        return TransformCall(name=name, args=tuple(args) if isinstance(args, list) else (args,))
    raise ValueError("a transform is a name or {name: argument} / {name: [arguments]}")


def _as_tuple(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


Transforms = Annotated[
    tuple[
        Annotated[
            TransformCall,
            BeforeValidator(_transform_call),
            WithJsonSchema(
                {"anyOf": [{"type": "string"}, {"type": "object", "minProperties": 1, "maxProperties": 1}]}
            ),
        ],
        ...,
    ],
    BeforeValidator(_as_tuple),
]


def _given(model: BaseModel, names: tuple[str, ...]) -> list[str]:
    return [name for name in names if name in model.model_fields_set]


class Aggregate(BaseModel):
    """``aggregate:`` — a value computed over every record of a stream that matches a page.

    ``count`` counts the records; ``sum``, ``min`` and ``max`` combine their ``field`` values
    (None values are ignored); ``latest`` is the ``field`` value of the record with the greatest
    ``by`` value (a number or an ISO 8601 date). ``where`` is a sandboxed Jinja2 expression over
    the record's fields; records for which it is false are left out.
    """

    model_config = _CONFIG
    function: AggregateFunction = Field(
        description="count records; sum, min or max of field; latest: field of the record with the greatest by."
    )
    field: NonEmpty | None = Field(None, description="Dotted path of the value (not for count).")
    by: NonEmpty | None = Field(
        None, description="For latest: the field that orders records, e.g. updated_at."
    )
    where: NonEmpty | None = Field(
        None, description="Jinja2 expression; records for which it is false are left out."
    )

    @model_validator(mode="after")
    def _fields_fit(self) -> Aggregate:
        if self.function in _FIELD_FUNCTIONS and self.field is None:
            raise ValueError(f"{self.function} needs field: the record field it combines")
        if self.function == "count" and self.field is not None:
            raise ValueError("count counts records and takes no field (filter them with where)")
        if (self.function == "latest") != (self.by is not None):
            raise ValueError(
                "latest needs by: the field whose greatest value picks the record, e.g. updated_at"
                if self.function == "latest"
                else f"by is only for latest, not {self.function}"
            )
        return self


class PropertySpec(Located):
    """``properties.<Notion property name>:`` — its type and where its value comes from.

    Exactly one of ``field`` (dotted path), ``template`` (Jinja2 source) or ``value`` (constant)
    is the value's origin. Then, in order: ``transforms``, ``map`` (unmapped values pass through
    unless ``has_map_default``), and ``default`` (used when the value is None or empty).
    ``target`` is the recipe target a ``relation`` points to; its value is the related record's
    key (or a list of keys): the sync key of a page of ``target``, or with ``via`` the record key
    of a record of mapping ``via`` (a secondary mapping of ``target``), whose page is the one that
    record matched. With ``aggregate`` the value is computed over many records instead;
    ``transforms`` then apply to each record's ``aggregate.field`` value, and ``default`` to an
    empty result. ``name`` (the YAML key) and the position are attached by :meth:`named`.
    """

    type: PropertyType
    field: NonEmpty | None = Field(None, description="Dotted path into the record, e.g. Owner.Name.")
    template: str | None = Field(None, description="Jinja2 template over the record's fields.")
    value: Any = Field(None, description="A constant value.")
    aggregate: Aggregate | None = Field(
        None, description="Computed over every record matching the page (instead of field/template/value)."
    )
    transforms: Transforms = ()
    map: dict[Any, Any] | None = Field(None, description="Value map; unmapped values pass through.")
    map_default: Any = Field(None, description="Value for anything the map does not list.")
    default: Any = Field(None, description="Value used when the result is empty.")
    target: NonEmpty | None = Field(None, description="For relation: the recipe target it points to.")
    via: NonEmpty | None = Field(
        None,
        description="For relation: a mapping (by name) that matches pages of target; the value holds "
        "keys of its records, and links the pages they matched (instead of the target's sync keys).",
    )
    _name: str = ""

    def named(self, name: str, position: Position) -> PropertySpec:
        """A copy named ``name`` (its key under ``properties:``), read at ``position``."""
        named = self.at(position)
        named._name = name
        return named

    @builtins.property
    def name(self) -> str:
        """The Notion property name (its key under ``properties:``)."""
        return self._name

    @builtins.property
    def has_map_default(self) -> bool:
        """True when ``map_default`` is given (even as null): unmapped values take it."""
        return "map_default" in self.model_fields_set

    @builtins.property
    def where(self) -> str:
        """``file:line`` of the property, for messages."""
        return f"{self.file}:{self.line}"

    @model_validator(mode="after")
    def _one_origin(self) -> PropertySpec:
        given = _given(self, ("field", "template", "value"))
        if self.aggregate is not None:
            if given:
                raise ValueError(f"aggregate replaces field, template and value (found {', '.join(given)})")
            if self.map is not None:
                raise ValueError("map is not used with aggregate")
            if self.transforms and self.aggregate.field is None:
                raise ValueError("transforms apply to the aggregate's field, and count has none")
        elif len(given) != 1:
            raise ValueError(
                "give exactly one of field, template or value"
                + (f" (found {', '.join(given)})" if given else "")
            )
        if self.type == "relation" and self.target is None:
            raise ValueError("a relation needs target: the recipe target whose pages it links to")
        if self.type != "relation" and self.target is not None:
            raise ValueError("target is only for relation properties")
        if "map_default" in self.model_fields_set and self.map is None:
            raise ValueError("map_default needs map")
        return self


class MatchSpec(Located):
    """``match:`` — how a secondary mapping's record finds the page it enriches.

    The record's match value comes from ``field`` (dotted path) or ``template``, then
    ``transforms``. Exactly one of ``property`` and ``via`` is set:

    * ``property``: the value is compared with that property of the target's pages, which is the
      target's sync key (matched through the identity map in the state store) or a property
      another mapping of the target writes, or in an update target (``mode: update``) any
      property of its pages. ``type`` is that property's type: the loader sets it (:meth:`typed`)
      when the mapping is bound to a target (a mapping file read alone, or a match on a property
      people keep, has ``rich_text``: the page's value, decoded as its own type, is compared as
      text).
    * ``via``: the value is the record key of a record of mapping ``via`` (by its ``mapping:``
      name), a secondary mapping of the same target listed earlier in its ``mappings:``; the page
      is the one that record matched (the state store's matches of ``via``). ``type`` stays
      ``rich_text``: the value is a key string (see :func:`~syncfw.mapping.encoding.record_key`).

    The position is that of the ``match`` key in the mapping file.
    """

    model_config = ConfigDict(
        strict=True,
        extra="forbid",
        frozen=True,
        json_schema_extra={"oneOf": [{"required": ["property"]}, {"required": ["via"]}]},
    )
    property: NonEmpty | None = Field(
        None,
        description="The target's sync key, or a property another mapping of the target writes; in an "
        "update target (mode: update), any property of its pages.",
    )
    via: NonEmpty | None = Field(
        None,
        description="Instead of property: a mapping (by name) of the same target, listed before this one; "
        "the value is the key of one of its records, and the page is the one that record matched.",
    )
    field: NonEmpty | None = Field(
        None, description="Dotted path of the record's value, e.g. properties.domain."
    )
    template: str | None = Field(None, description="Jinja2 template over the record's fields.")
    transforms: Transforms = ()
    _type: PropertyType = "rich_text"

    def typed(self, type_: PropertyType) -> MatchSpec:
        """A copy comparing with a property of type ``type_``."""
        typed = self.model_copy()
        typed._type = type_
        return typed

    @builtins.property
    def type(self) -> PropertyType:
        """The type of the property the match value is compared with (``rich_text`` for via)."""
        return self._type

    @builtins.property
    def label(self) -> str:
        """What the record is matched by, for messages: ``Domain`` or ``via zendesk-organization``."""
        return f"via {self.via}" if self.via is not None else str(self.property)

    @model_validator(mode="after")
    def _one_origin(self) -> MatchSpec:
        found = [name for name in ("property", "via") if getattr(self, name) is not None]
        if len(found) != 1:
            raise ValueError(
                "give exactly one of property (a property of the target's pages) or via (a mapping of "
                "the target whose records' matches it follows)"
                + (f" (found {', '.join(found)})" if found else "")
            )
        given = _given(self, ("field", "template"))
        if len(given) != 1:
            raise ValueError(
                "give exactly one of field or template" + (f" (found {', '.join(given)})" if given else "")
            )
        return self


class MappingFile(Located):
    """A mapping file: one source stream into Notion properties, before it is bound to a recipe.

    ``match`` is None for a primary mapping (its records create pages) and says how each record
    finds its page for a secondary one. ``path`` is the file (its position).
    """

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True, title="syncfw mapping")
    name: Name = Field(alias="mapping", description="Mapping name.")
    connector: NonEmpty = Field(description="The connector whose records it reads.")
    stream: NonEmpty = Field(description="The stream (e.g. Salesforce sObject) it reads.")
    sync_key: NonEmpty | None = Field(
        None, description="The property holding the record's primary key (primary mappings)."
    )
    match: MatchSpec | None = Field(
        None, description="Secondary mappings: how a record finds the page it enriches (never creates one)."
    )
    description: str | None = None
    properties: dict[str, PropertySpec] = Field(min_length=1)

    @builtins.property
    def path(self) -> Path:
        """The mapping file."""
        return self.file

    def bind(self, source: str, line: int, match_type: PropertyType = "rich_text") -> BoundMapping:
        """This mapping reading recipe source ``source``, listed at ``line`` of the recipe's
        ``mappings:``; its match compares with a property of type ``match_type``."""
        match = None if self.match is None else self.match.typed(match_type)
        return BoundMapping(definition=self, source=source, line=line, match=match)


class BoundMapping(BaseModel):
    """A mapping file bound to one source of a recipe, inside one target.

    ``file`` is the mapping file; ``line`` is the line of its entry in the recipe's
    ``mappings:`` list. ``source`` is the recipe source name the records come from.
    The primary mapping (``match`` is None) writes the target's sync key and creates its pages;
    a secondary mapping only updates the page its ``match`` finds (``match`` carries the type of
    the property it compares with). When its properties are aggregates, many records contribute
    to one page.
    """

    model_config = ConfigDict(frozen=True)
    definition: MappingFile
    source: str
    line: int
    match: MatchSpec | None

    @property
    def name(self) -> str:
        """The mapping's name (``mapping:``)."""
        return self.definition.name

    @property
    def file(self) -> Path:
        """The mapping file."""
        return self.definition.path

    @property
    def connector(self) -> str:
        """The connector whose records it reads."""
        return self.definition.connector

    @property
    def stream(self) -> str:
        """The stream it reads."""
        return self.definition.stream

    @property
    def sync_key(self) -> str | None:
        """The property holding the record's primary key (primary mappings)."""
        return self.definition.sync_key

    @property
    def properties(self) -> dict[str, PropertySpec]:
        """The properties it writes, by Notion property name."""
        return self.definition.properties

    @property
    def is_primary(self) -> bool:
        """True for the mapping whose records create the target's pages (it has no ``match``)."""
        return self.match is None

    @property
    def is_aggregate(self) -> bool:
        """True when every property is an aggregate over the records matching a page."""
        return any(spec.aggregate is not None for spec in self.properties.values())
