"""A loaded recipe: references resolved, mappings read and bound to sources and targets.

These are the objects the engine works with. They are built only by
:func:`syncfw.recipe.load_recipe` and :func:`syncfw.recipe.load_mapping` after every check passed;
the YAML shapes they come from are the pydantic models in :mod:`syncfw.recipe.schema`.
Secrets are :class:`~pydantic.SecretStr` and connector configs are kept out of ``repr``.
"""

from __future__ import annotations

import builtins
import dataclasses
import itertools
from collections.abc import Mapping
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, SecretStr

from syncfw.errors import ConfigError, Problem
from syncfw.mapping.encoding import PropertyType
from syncfw.secrets import secret_values

Tier = Literal["production", "experimental"]
OnDelete = Literal["archive", "mark", "ignore"]
OnDrift = Literal["revert", "flag"]
AggregateFunction = Literal["count", "sum", "min", "max", "latest"]
AlertEvent = Literal["run_failed", "run_recovered", "source_stale", "guard_stopped", "drift", "expiring"]
"""What an alert is about (:mod:`syncfw.health.alerts`); ``run_recovered`` follows a failed or
stopped run, and ``source_stale`` also announces the source is fresh again."""
PersonalData = Literal["allow", "forbid"]
NOTION_OWNER = "notion"
"""The owner name of properties edited by people in Notion (``owners: {Notes: notion}``)."""


@dataclasses.dataclass(frozen=True)
class TransformCall:
    """One entry of a property's ``transforms``: the transform name and its arguments."""

    name: str
    args: tuple[Any, ...] = ()


@dataclasses.dataclass(frozen=True)
class Aggregate:
    """A property computed over every record of a stream that matches a page.

    ``count`` counts the records; ``sum``, ``min`` and ``max`` combine their ``field`` values
    (None values are ignored); ``latest`` is the ``field`` value of the record with the greatest
    ``by`` value (a number or an ISO 8601 date). ``where`` is a sandboxed Jinja2 expression over
    the record's fields; records for which it is false are left out.
    """

    function: AggregateFunction
    field: str | None = None
    by: str | None = None
    where: str | None = None


@dataclasses.dataclass(frozen=True)
class MatchSpec:
    """How a secondary mapping's record finds the page it enriches.

    The record's match value comes from ``field`` (dotted path) or ``template``, then
    ``transforms``. Exactly one of ``property`` and ``via`` is set:

    * ``property``: the value is compared with that property of the target's pages, which is the
      target's sync key (matched through the identity map in the state store) or a property
      another mapping of the target writes. ``type`` is that property's type: the loader sets it
      when the mapping is bound to a target (a mapping file read alone has ``rich_text``).
    * ``via``: the value is the record key of a record of mapping ``via`` (by its ``mapping:``
      name), a secondary mapping of the same target listed earlier in its ``mappings:``; the page
      is the one that record matched (the state store's matches of ``via``). ``type`` stays
      ``rich_text``: the value is a key string (see :func:`~syncfw.mapping.encoding.record_key`).

    ``file``/``line``/``column`` locate the ``match`` key in the mapping file.
    """

    property: str | None = None
    type: PropertyType = "rich_text"
    field: str | None = None
    template: str | None = None
    transforms: tuple[TransformCall, ...] = ()
    file: Path = Path("<mapping>")
    line: int = 1
    column: int = 1
    via: str | None = None

    def __post_init__(self) -> None:
        if (self.property is None) == (self.via is None):
            raise ValueError("a match has exactly one of property and via")

    @builtins.property  # ``property`` is a field here
    def label(self) -> str:
        """What the record is matched by, for messages: ``Domain`` or ``via zendesk-organization``."""
        return f"via {self.via}" if self.via is not None else str(self.property)


@dataclasses.dataclass(frozen=True)
class PropertySpec:
    """How one Notion property gets its value from a source record.

    Exactly one of ``field`` (dotted path), ``template`` (Jinja2 source) or ``value`` (constant)
    is the value's origin; ``value`` is used when the other two are None. Then, in order:
    ``transforms``, ``map`` (unmapped values pass through unless ``has_map_default``), and
    ``default`` (used when the value is None or empty). ``target`` is the recipe target a
    ``relation`` points to; its value is the related record's key (or a list of keys): the sync
    key of a page of ``target``, or with ``via`` the record key of a record of mapping ``via``
    (a secondary mapping of ``target``), whose page is the one that record matched.
    With ``aggregate`` the value is computed over many records instead (``field``, ``template``
    and ``value`` are None); ``transforms`` then apply to each record's ``aggregate.field`` value,
    and ``default`` to an empty result.
    ``file``/``line``/``column`` locate the property's key in its mapping file (1-based).
    """

    name: str
    type: PropertyType
    field: str | None = None
    template: str | None = None
    value: Any = None
    transforms: tuple[TransformCall, ...] = ()
    map: Mapping[Any, Any] | None = None
    map_default: Any = None
    has_map_default: bool = False
    default: Any = None
    target: str | None = None
    via: str | None = None
    aggregate: Aggregate | None = None
    file: Path = Path("<mapping>")
    line: int = 1
    column: int = 1

    @property
    def where(self) -> str:
        """``file:line`` of the property, for messages."""
        return f"{self.file}:{self.line}"


@dataclasses.dataclass(frozen=True)
class MappingFile:
    """A mapping file as read, before it is bound to a recipe source and target.

    ``match`` is None for a primary mapping (its records create pages) and says how each record
    finds its page for a secondary one.
    """

    name: str
    path: Path
    connector: str
    stream: str
    sync_key: str | None
    description: str | None
    properties: dict[str, PropertySpec]
    match: MatchSpec | None = None


@dataclasses.dataclass(frozen=True)
class BoundMapping:
    """A mapping file bound to one source of a recipe, inside one target.

    ``file`` is the mapping file; ``line`` is the line of its entry in the recipe's
    ``mappings:`` list. ``source`` is the recipe source name the records come from.
    The primary mapping (``match`` is None) writes the target's sync key and creates its pages;
    a secondary mapping only updates the page its ``match`` finds. When its properties are
    aggregates, many records contribute to one page.
    """

    name: str
    file: Path
    line: int
    source: str
    connector: str
    stream: str
    sync_key: str | None
    properties: dict[str, PropertySpec]
    match: MatchSpec | None = None

    @property
    def is_primary(self) -> bool:
        """True for the mapping whose records create the target's pages (it has no ``match``)."""
        return self.match is None

    @property
    def is_aggregate(self) -> bool:
        """True when every property is an aggregate over the records matching a page."""
        return any(spec.aggregate is not None for spec in self.properties.values())


@dataclasses.dataclass(frozen=True)
class NotionSettings:
    """The Notion integration: its token and the request rate (requests per second)."""

    token: SecretStr
    rate_limit: float = 3.0


@dataclasses.dataclass(frozen=True)
class Source:
    """A source system: connector name, validated config, and freshness expectation.

    ``config`` is an instance of the connector's ``config_model`` when the recipe was loaded with
    a plugin registry, else the plain ``config`` mapping. It is left out of ``repr``.
    """

    name: str
    connector: str
    config: BaseModel | dict[str, Any] = dataclasses.field(repr=False)
    stale_after: timedelta | None = None


@dataclasses.dataclass(frozen=True)
class DatabaseRef:
    """A Notion database found or created by title under a parent page."""

    title: str
    parent_page: str


@dataclasses.dataclass(frozen=True)
class Target:
    """A Notion data source fed by one or more mappings.

    Either ``data_source`` (an existing data source id) or ``database`` is set. ``owners`` maps
    property names to ``"notion"`` or a source name; ``owner_lines`` gives the line of each of its
    entries in the recipe file. ``max_change`` is the mass-change guard as a fraction of the
    target's pages (0.2 = 20%). ``full_read_every``: one run in this many reads every page of the
    target; the others read only pages edited since the previous read. ``reconcile_every``: one
    run in this many compares the keys of the records syncfw keeps state for with a key scan of the
    source and treats the missing ones as deleted (0: only on ``--reconcile``). Exactly one mapping is
    primary; the others have a ``match``.
    """

    name: str
    data_source: str | None
    database: DatabaseRef | None
    sync_key: str
    mappings: list[BoundMapping]
    owners: dict[str, str] = dataclasses.field(default_factory=dict)
    on_delete: OnDelete = "archive"
    mark_property: str | None = None
    on_drift: OnDrift = "revert"
    max_change: float = 0.2
    full_read_every: int = 24
    reconcile_every: int = 24
    owner_lines: dict[str, int] = dataclasses.field(default_factory=dict)

    @property
    def primary_mapping(self) -> BoundMapping:
        """The mapping that writes the sync key and creates the target's pages.

        Raises:
            ValueError: every mapping has a ``match`` (a loaded recipe never has this).
        """
        for mapping in self.mappings:
            if mapping.is_primary:
                return mapping
        raise ValueError(f"target {self.name!r} has no primary mapping (every mapping has a match)")

    @property
    def secondary_mappings(self) -> list[BoundMapping]:
        """The mappings that enrich existing pages through their ``match``, in recipe order."""
        return [mapping for mapping in self.mappings if not mapping.is_primary]

    @property
    def properties(self) -> dict[str, PropertySpec]:
        """Every property a mapping of this target writes (each has exactly one writer)."""
        return {name: spec for mapping in self.mappings for name, spec in mapping.properties.items()}

    def related_targets(self) -> dict[str, PropertySpec]:
        """The first relation property pointing at each other target, by target name."""
        related: dict[str, PropertySpec] = {}
        for spec in self.properties.values():
            if spec.type == "relation" and spec.target and spec.target != self.name:
                related.setdefault(spec.target, spec)
        return related


@dataclasses.dataclass(frozen=True)
class AlertRoute:
    """An entry of ``alerts:``: a notification URL (apprise syntax) and the events it receives
    (None: every event)."""

    url: SecretStr
    events: frozenset[AlertEvent] | None = None


@dataclasses.dataclass(frozen=True)
class Recipe:
    """A loaded, fully checked recipe.

    ``path`` is the recipe file; ``state_path`` the SQLite state file (default
    ``.syncfw/<name>.sqlite`` relative to the current directory); ``alerts`` where alerts go;
    ``expires`` is required for the experimental tier.
    """

    name: str
    owner: str
    description: str
    tier: Tier
    expires: date | None
    schedule: str | None
    path: Path
    notion: NotionSettings
    state_path: Path
    alerts: list[AlertRoute]
    sources: dict[str, Source]
    targets: dict[str, Target]

    def targets_in_order(self) -> list[Target]:
        """Targets ordered so that each comes after the targets its relations point to.

        Ties keep the recipe's order; a relation of a target to itself is allowed.

        Raises:
            ConfigError: relations between targets form a cycle; one problem per relation in it.
        """
        return [self.targets[name] for name in relation_order(self.targets)]

    def secrets(self) -> set[str]:
        """Every secret value the recipe holds: the Notion token, alert URLs and connector
        secrets (a connector config loaded without the plugin registry is a plain dict whose
        secret fields are unknown: all its text values count); :func:`syncfw.secrets.hide`
        hides them."""
        found = {self.notion.token.get_secret_value(), *(a.url.get_secret_value() for a in self.alerts)}
        for source in self.sources.values():
            found.update(secret_values(source.config, plain=isinstance(source.config, dict)))
        return found


def relation_order(targets: Mapping[str, Target]) -> list[str]:
    """Target names in relation-dependency order (see :meth:`Recipe.targets_in_order`).

    Raises:
        ConfigError: a cycle; each problem is at a relation property of the cycle.
    """
    order: list[str] = []
    state: dict[str, str] = {}
    stack: list[str] = []

    def visit(name: str) -> None:
        state[name] = "open"
        stack.append(name)
        for related in targets[name].related_targets():
            if related not in targets:
                continue
            if state.get(related) == "open":
                raise ConfigError(_cycle_problems(targets, [*stack[stack.index(related) :], related]))
            if related not in state:
                visit(related)
        stack.pop()
        state[name] = "done"
        order.append(name)

    for name in targets:
        if name not in state:
            visit(name)
    return order


def _cycle_problems(targets: Mapping[str, Target], cycle: list[str]) -> list[Problem]:
    shown = " → ".join(cycle)
    problems = []
    for here, there in itertools.pairwise(cycle):
        spec = targets[here].related_targets()[there]
        problems.append(
            Problem(
                str(spec.file),
                spec.line,
                spec.column,
                f"properties.{spec.name}",
                f"relations form a cycle ({shown}); targets must be syncable in some order, "
                "so drop one of these relations or point it the other way",
            )
        )
    return problems
