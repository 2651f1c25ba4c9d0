"""The YAML shapes of recipes and mappings, as strict pydantic models (the JSON Schema source).

Models are strict (no silent ``"1"`` → 1 coercion) and forbid unknown keys. They check the shape
of one file; checks that need several files or the plugin registry (mapping ↔ source, ownership,
relations, connector configs) are done by :mod:`syncfw.recipe.loader`, which reports them with
the same positions.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    WithJsonSchema,
    model_validator,
)

from syncfw.durations import DURATION_SCHEMA, parse_duration
from syncfw.mapping.encoding import PropertyType
from syncfw.notion.budget import MAX_RATE, MIN_RATE, rate_problem
from syncfw.recipe.model import AggregateFunction, AlertEvent, OnDelete, OnDrift, PersonalData, Tier

_CONFIG = ConfigDict(strict=True, extra="forbid")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_RATE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(?:/\s*s)?\s*$")
_NOTION_ID = re.compile(r"^(?:[0-9a-fA-F]{32}|[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12})$")
_PERCENT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*%\s*$")
_CRON_FIELD = re.compile(r"^[0-9A-Za-z*/,\-?LW#]+$")
_CRON_MACROS = {"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"}
MAX_EVERY = 10_000
"""The most runs ``full_read_every`` and ``reconcile_every`` may count: a week of runs once a minute.
Rarer is never in practice (``reconcile_every: 0`` says so for reconciliation)."""


def _name(value: str) -> str:
    if not _NAME.match(value):
        raise ValueError("use letters, digits, '-', '_' or '.', starting with a letter or digit")
    return value


def _email(value: str) -> str:
    if not _EMAIL.match(value):
        raise ValueError("must be the email address of a named person who answers for it")
    return value


def _rate(value: Any) -> Any:
    if isinstance(value, str):
        match = _RATE.match(value)
        if not match:
            raise ValueError('write requests per second as a number or "N/s", e.g. 3/s')
        value = float(match.group(1))
    if isinstance(value, int | float) and not isinstance(value, bool):
        problem = rate_problem(float(value))
        if problem is not None:
            raise ValueError(problem)
        return float(value)
    return value


def _positive_duration(value: Any) -> Any:
    value = parse_duration(value)
    if isinstance(value, timedelta) and value <= timedelta(0):
        raise ValueError("must be longer than 0, e.g. 30m or 1h")
    return value


def _iso_date(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            raise ValueError("write a date as YYYY-MM-DD") from None
    return value


def _fraction(value: Any) -> Any:
    if isinstance(value, str):
        match = _PERCENT.match(value)
        if not match:
            raise ValueError("write a percentage such as 20% or a fraction such as 0.2")
        value = float(match.group(1)) / 100
    if isinstance(value, int | float) and not isinstance(value, bool):
        if not 0 <= value <= 1:
            raise ValueError("must be between 0% and 100%")
        return float(value)
    return value


def _notion_id(value: str) -> str:
    if not _NOTION_ID.match(value):
        raise ValueError(
            "not a Notion id: give the 32 hex digits that end its link, with or without dashes, "
            "e.g. 1f2e3d4c5b6a47988776655443322110"
        )
    return value


def _cron(value: str) -> str:
    fields = value.split()
    if value.strip() in _CRON_MACROS or (len(fields) == 5 and all(_CRON_FIELD.match(f) for f in fields)):
        return value
    raise ValueError('write a cron expression with five fields, e.g. "*/15 * * * *", or @hourly/@daily')


Name = Annotated[str, AfterValidator(_name)]
NonEmpty = Annotated[str, Field(min_length=1)]
NotionId = Annotated[str, AfterValidator(_notion_id)]
"""The id of a Notion page or data source: a UUID, 32 hex digits with or without dashes (Notion
accepts both in requests and answers with dashes; the id ends the object's link: developers.notion.com,
"Working with databases"). A ``${env:NAME}`` reference is checked once resolved."""
RequestsPerSecond = Annotated[
    float,
    BeforeValidator(_rate),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "number", "minimum": MIN_RATE, "maximum": MAX_RATE},
                {"type": "string", "pattern": r"^\d+(\.\d+)?/s$"},
            ]
        }
    ),
]
PositiveDuration = Annotated[timedelta, BeforeValidator(_positive_duration), DURATION_SCHEMA]
IsoDate = Annotated[date, BeforeValidator(_iso_date), WithJsonSchema({"type": "string", "format": "date"})]
Fraction = Annotated[
    float,
    BeforeValidator(_fraction),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "number", "minimum": 0, "maximum": 1},
                {"type": "string", "pattern": r"^\d+(\.\d+)?%$"},
            ]
        }
    ),
]


class NotionDocument(BaseModel):
    """``notion:`` — the integration token (a reference) and the request rate."""

    model_config = _CONFIG
    token: SecretStr = Field(description="Integration token; must be ${env:NAME} or ${file:PATH}.")
    rate_limit: RequestsPerSecond = Field(3.0, description='Requests per second: a number or "N/s".')


class SourceDocument(BaseModel):
    """``sources.<name>:`` — a source system read through a connector."""

    model_config = _CONFIG
    connector: NonEmpty = Field(description="Name of an installed connector, e.g. salesforce.")
    config: dict[str, Any] = Field(default_factory=dict, description="The connector's own settings.")
    stale_after: PositiveDuration | None = Field(
        None, description="Data older than this is reported stale, e.g. 1h."
    )


class DatabaseDocument(BaseModel):
    """``database:`` — a database found (or created) by title under a parent page."""

    model_config = _CONFIG
    title: NonEmpty
    parent_page: NotionId = Field(description="Id of the page the database is created under.")


class MappingRefDocument(BaseModel):
    """An entry of ``mappings:`` naming its source explicitly."""

    model_config = _CONFIG
    file: NonEmpty = Field(description="Mapping file, relative to the recipe file.")
    source: str | None = Field(
        None, description="The recipe source it reads (when several use its connector)."
    )


def _mapping_ref(value: Any) -> Any:
    return {"file": value} if isinstance(value, str) else value


MappingRef = Annotated[
    MappingRefDocument,
    BeforeValidator(_mapping_ref, json_schema_input_type=str | MappingRefDocument),
]


class GuardDocument(BaseModel):
    """``guard:`` — stop before writing when a run would change too much of a target."""

    model_config = _CONFIG
    max_change: Fraction = Field(0.2, description="Largest share of pages archived or overwritten, e.g. 20%.")


class TargetDocument(BaseModel):
    """``targets.<name>:`` — one Notion data source and the mappings that feed it."""

    model_config = _CONFIG
    data_source: NotionId | None = Field(None, description="Id of an existing data source.")
    database: DatabaseDocument | None = None
    sync_key: NonEmpty = Field(description="Property holding the primary source's key.")
    mappings: list[MappingRef] = Field(min_length=1)
    owners: dict[str, str] = Field(default_factory=dict, description='Property → "notion" or a source name.')
    on_delete: OnDelete = "archive"
    mark_property: NonEmpty | None = None
    on_drift: OnDrift = "revert"
    guard: GuardDocument = Field(default_factory=GuardDocument)
    full_read_every: int = Field(
        24,
        ge=1,
        le=MAX_EVERY,
        description="Read every page of the target on one run in this many (the others read only the "
        "pages edited since the previous run); 1 reads every page on every run.",
    )
    reconcile_every: int = Field(
        24,
        ge=0,
        le=MAX_EVERY,
        description="Reconcile on one run in this many: list every key that exists at the source (a "
        "key scan) and handle the pages and records whose key is gone as deletes (on_delete), catching "
        "deletes that leave no tombstone (a purged Recycle Bin, a hard delete, an expired archive); "
        "0 reconciles only when asked (`--reconcile`).",
    )
    personal_data: PersonalData = Field(
        "allow",
        description="forbid: refuse any property fed by a field its connector marks as personal data.",
    )

    @model_validator(mode="after")
    def _one_location(self) -> TargetDocument:
        if (self.data_source is None) == (self.database is None):
            raise ValueError("give exactly one of data_source or database")
        if (self.on_delete == "mark") != (self.mark_property is not None):
            raise ValueError("on_delete: mark needs mark_property (and mark_property needs on_delete: mark)")
        return self


class StateDocument(BaseModel):
    """``state:`` — where run state is kept."""

    model_config = _CONFIG
    path: NonEmpty = Field(description="SQLite file, relative to the recipe file.")


class AlertDocument(BaseModel):
    """An entry of ``alerts:`` that receives only some events."""

    model_config = _CONFIG
    url: SecretStr = Field(description="Notification URL (apprise syntax); must be a reference.")
    events: list[AlertEvent] = Field(min_length=1, description="The events sent to this URL.")


class RecipeDocument(BaseModel):
    """A recipe file."""

    model_config = ConfigDict(strict=True, extra="forbid", title="syncfw recipe")
    recipe: Name = Field(description="Recipe name (used for the state file and in reports).")
    owner: Annotated[str, AfterValidator(_email)] = Field(
        description="Email of the person who answers for it."
    )
    description: NonEmpty = Field(description="What it does, what triggers it, what breaks if it fails.")
    tier: Tier
    expires: IsoDate | None = Field(
        None, description="Required for experimental recipes: at most 30 days ahead."
    )
    schedule: Annotated[str, AfterValidator(_cron)] | None = None
    notion: NotionDocument
    sources: dict[str, SourceDocument] = Field(min_length=1)
    targets: dict[str, TargetDocument] = Field(min_length=1)
    state: StateDocument | None = None
    alerts: list[SecretStr | AlertDocument] = Field(
        default_factory=list,
        description="Alert URLs (apprise syntax, as references), or {url, events} for some events only.",
    )


def _transform(value: Any) -> Any:
    if isinstance(value, str) and value:
        return value
    if isinstance(value, dict) and len(value) == 1 and isinstance(next(iter(value)), str):
        return value
    raise ValueError("a transform is a name or {name: argument} / {name: [arguments]}")


TransformEntry = Annotated[
    Any,
    AfterValidator(_transform),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string"},
                {"type": "object", "minProperties": 1, "maxProperties": 1},
            ]
        }
    ),
]


def _given(model: BaseModel, names: tuple[str, ...]) -> list[str]:
    return [name for name in names if name in model.model_fields_set]


_FIELD_FUNCTIONS = ("sum", "min", "max", "latest")


class AggregateDocument(BaseModel):
    """``aggregate:`` — a value computed over every record that matches the page."""

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
    def _fields_fit(self) -> AggregateDocument:
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


class PropertyDocument(BaseModel):
    """``properties.<Notion property name>:`` — its type and where its value comes from."""

    model_config = _CONFIG
    type: PropertyType
    field: NonEmpty | None = Field(None, description="Dotted path into the record, e.g. Owner.Name.")
    template: str | None = Field(None, description="Jinja2 template over the record's fields.")
    value: Any = Field(None, description="A constant value.")
    aggregate: AggregateDocument | None = Field(
        None, description="Computed over every record matching the page (instead of field/template/value)."
    )
    transforms: list[TransformEntry] = Field(default_factory=list)
    map: dict[Any, Any] | None = Field(None, description="Value map; unmapped values pass through.")
    map_default: Any = Field(None, description="Value for anything the map does not list.")
    default: Any = Field(None, description="Value used when the result is empty.")
    target: NonEmpty | None = Field(None, description="For relation: the recipe target it points to.")
    via: NonEmpty | None = Field(
        None,
        description="For relation: a mapping (by name) that matches pages of target; the value holds "
        "keys of its records, and links the pages they matched (instead of the target's sync keys).",
    )

    @model_validator(mode="after")
    def _one_origin(self) -> PropertyDocument:
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


class MatchDocument(BaseModel):
    """``match:`` — how a secondary mapping's record finds the page it enriches."""

    model_config = ConfigDict(
        strict=True,
        extra="forbid",
        json_schema_extra={"oneOf": [{"required": ["property"]}, {"required": ["via"]}]},
    )
    property: NonEmpty | None = Field(
        None, description="The target's sync key, or a property another mapping of the target writes."
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
    transforms: list[TransformEntry] = Field(default_factory=list)

    @model_validator(mode="after")
    def _one_origin(self) -> MatchDocument:
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


class MappingDocument(BaseModel):
    """A mapping file: one source stream into Notion properties."""

    model_config = ConfigDict(strict=True, extra="forbid", title="syncfw mapping")
    mapping: Name = Field(description="Mapping name.")
    connector: NonEmpty = Field(description="The connector whose records it reads.")
    stream: NonEmpty = Field(description="The stream (e.g. Salesforce sObject) it reads.")
    sync_key: NonEmpty | None = Field(
        None, description="The property holding the record's primary key (primary mappings)."
    )
    match: MatchDocument | None = Field(
        None, description="Secondary mappings: how a record finds the page it enriches (never creates one)."
    )
    description: str | None = None
    properties: dict[str, PropertyDocument] = Field(min_length=1)


def recipe_json_schema() -> dict[str, Any]:
    """JSON Schema of recipe files (for editors, e.g. the YAML language server)."""
    return RecipeDocument.model_json_schema()


def mapping_json_schema() -> dict[str, Any]:
    """JSON Schema of mapping files."""
    return MappingDocument.model_json_schema()
