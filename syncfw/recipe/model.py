"""Recipes as pydantic models: the YAML shape, the JSON Schema and the model the engine runs, in one.

Models are strict (no silent ``"1"`` → 1 coercion), forbid unknown keys and are frozen. Validating
a recipe file checks the shape of one file; what spans files or needs the plugin registry (mapping
↔ source, ownership, relations, connector configs) is checked by :mod:`syncfw.recipe.loader`,
which then attaches what YAML cannot say, as Dagster attaches source positions: the recipe's path,
each source's and target's name (its key), each target's bound mappings and the lines of its
``owners:`` entries (:meth:`Target.bind`, :meth:`Source.named`, :meth:`Recipe.at`). A loaded
recipe is built only by :func:`syncfw.recipe.load_recipe`. Secrets are
:class:`~pydantic.SecretStr` and connector configs are kept out of ``repr``. The mapping models
are :mod:`syncfw.mapping.spec`.
"""

from __future__ import annotations

import builtins
import itertools
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetPydanticSchema,
    PrivateAttr,
    SecretStr,
    model_validator,
)
from pydantic_core import core_schema

from syncfw.errors import ConfigError, Problem
from syncfw.mapping.spec import BoundMapping, MappingFile, Name, NonEmpty, PropertySpec
from syncfw.recipe.schema import (
    MAX_EVERY,
    UNRESOLVED,
    Cron,
    Email,
    Fraction,
    IsoDate,
    NotionId,
    PositiveDuration,
    RequestsPerSecond,
)
from syncfw.recipe.state import STATE_URL_VARIABLE, SqliteState, StateLocation, parse_state_url
from syncfw.secrets import secret_values

Tier = Literal["production", "experimental"]
OnDelete = Literal["archive", "mark", "ignore"]
OnDrift = Literal["revert", "flag"]
Mode = Literal["upsert", "update"]
"""How a target's pages come to be: ``upsert`` (one mapping creates them, keyed by the sync key,
and archives them) or ``update`` (pages people keep are only filled in: found by each mapping's
``match``, never created, never archived; Hightouch's "update" sync mode)."""
AlertEvent = Literal["run_failed", "run_recovered", "source_stale", "guard_stopped", "drift", "expiring"]
"""What an alert is about (:mod:`syncfw.health.alerts`); ``run_recovered`` follows a failed or
stopped run, and ``source_stale`` also announces the source is fresh again."""
PersonalData = Literal["allow", "forbid"]
NOTION_OWNER = "notion"
"""The owner name of properties edited by people in Notion (``owners: {Notes: notion}``)."""
_CONFIG = ConfigDict(strict=True, extra="forbid", frozen=True)


def _connector_config(source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
    # a plain mapping in YAML; the connector's config_model once loaded (Source.named)
    return core_schema.no_info_wrap_validator_function(
        lambda value, validate: value if isinstance(value, BaseModel) else validate(value),
        handler(dict[str, Any]),
    )


def _listed_events(source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
    # YAML lists the events; None (every event) is what a bare URL gets, never written
    return handler(Annotated[list[AlertEvent], Field(min_length=1)])


ConnectorConfig = Annotated[BaseModel | dict[str, Any], GetPydanticSchema(_connector_config)]


class NotionOAuth(BaseModel):
    """``notion.oauth:`` — a public (OAuth) connection: its client and a refresh token.

    syncfw exchanges the refresh token for an access token at ``POST /v1/oauth/token``
    (developers.notion.com/reference/refresh-a-token) and keeps the rotated refresh token that
    Notion answers in the state store; the one written here is used again only when it changes
    (a new authorization).
    """

    model_config = _CONFIG
    client_id: NonEmpty = Field(description="The public connection's OAuth client ID.")
    client_secret: SecretStr = Field(description="OAuth client secret; must be ${env:NAME} or ${file:PATH}.")
    refresh_token: SecretStr = Field(
        description="A refresh token of the connection (from its authorization); must be a reference."
    )


class NotionSettings(BaseModel):
    """``notion:`` — how syncfw authenticates (an integration ``token``, or ``oauth``; secrets as
    references) and the request rate (requests per second).

    A ``token`` written as ``${file:PATH}`` is read again when Notion refuses it (401), so a
    rotated token mounted as a file (a Kubernetes or Vault secret) is picked up mid-run.
    """

    model_config = _CONFIG
    token: SecretStr | None = Field(
        None, description="Integration token; must be ${env:NAME} or ${file:PATH}."
    )
    oauth: NotionOAuth | None = Field(
        None, description="A public connection's client and refresh token, instead of a token."
    )
    rate_limit: RequestsPerSecond = Field(3.0, description='Requests per second: a number or "N/s".')
    _token_file: Path | None = PrivateAttr(None)

    @model_validator(mode="after")
    def _one_credential(self) -> NotionSettings:
        if (self.token is None) == (self.oauth is None):
            raise ValueError(
                "give exactly one of token (an integration token) or oauth (a public connection)"
            )
        return self

    @property
    def token_file(self) -> Path | None:
        """The file ``token`` is read from (written as exactly one ``${file:PATH}``), or None."""
        return self._token_file

    def reading_token_from(self, path: Path | None) -> NotionSettings:
        """A copy whose :attr:`token_file` is ``path``."""
        copy = self.model_copy()
        copy._token_file = path
        return copy


class Source(BaseModel):
    """``sources.<name>:`` — a source system: connector name, config, and freshness expectation.

    ``config`` is the plain ``config`` mapping as written; a recipe loaded with a plugin registry
    holds an instance of the connector's ``config_model`` instead (:meth:`named`). It is left out
    of ``repr``. ``name`` is the source's key under ``sources:``.
    """

    model_config = _CONFIG
    connector: NonEmpty = Field(description="Name of an installed connector, e.g. salesforce.")
    config: ConnectorConfig = Field(
        default_factory=dict, repr=False, description="The connector's own settings."
    )
    stale_after: PositiveDuration | None = Field(
        None, description="Data older than this is reported stale, e.g. 1h."
    )
    _name: str = ""

    def named(self, name: str, config: BaseModel | dict[str, Any]) -> Source:
        """A copy named ``name`` whose config is ``config`` (the connector's validated model)."""
        named = self.model_copy(update={"config": config})
        named._name = name
        return named

    @property
    def name(self) -> str:
        """The source's key under ``sources:``."""
        return self._name


class DatabaseRef(BaseModel):
    """``database:`` — a Notion database found (or created) by title under a parent page."""

    model_config = _CONFIG
    title: NonEmpty
    parent_page: NotionId = Field(description="Id of the page the database is created under.")


class MappingRef(BaseModel):
    """An entry of ``mappings:``: a mapping file (relative to the recipe), and the recipe source it
    reads when several use its connector. YAML may give the file alone."""

    model_config = _CONFIG
    file: NonEmpty = Field(description="Mapping file, relative to the recipe file.")
    source: str | None = Field(
        None, description="The recipe source it reads (when several use its connector)."
    )


def _file_alone(value: Any) -> Any:
    return {"file": value} if isinstance(value, str) else value


class Guard(BaseModel):
    """``guard:`` — stop before writing when a run would change too much of a target."""

    model_config = _CONFIG
    max_change: Fraction = Field(0.2, description="Largest share of pages archived or overwritten, e.g. 20%.")


class Target(BaseModel):
    """``targets.<name>:`` — a Notion data source fed by one or more mappings.

    Either ``data_source`` (an existing data source id) or ``database`` is set. ``owners`` maps
    property names to ``"notion"`` or a source name; ``owner_lines`` gives the line of each of its
    entries in the recipe file. ``max_change`` is the mass-change guard as a fraction of the
    target's pages (0.2 = 20%). ``full_read_every``: the runs over which every page of the target is
    read back (a slice of the pages by number each run, at most ``full_read_pages`` pages; or one
    complete read in this many runs while the pages' numbers are not known); besides that a run
    reads only pages edited since the previous read. ``reconcile_every``: one
    run in this many compares the keys of the records syncfw keeps state for with a key scan of the
    source and treats the missing ones as deleted (0: only on ``--reconcile``). ``max_writes``: the
    most page writes to the target in one run (the next runs continue). ``entries`` are the
    ``mappings:`` as written; ``mappings`` the mapping files bound to their sources (:meth:`bind`):
    exactly one is primary, the others have a ``match``. With ``mode: update`` there is no sync
    key and no primary mapping: every mapping has a ``match`` and the pages are people's, found,
    filled in and never created or archived; each run reads every page (its match needs every
    page's value), so ``full_read_every`` is 1.
    """

    model_config = _CONFIG
    data_source: NotionId | None = Field(None, description="Id of an existing data source.")
    database: DatabaseRef | None = None
    mode: Mode = Field(
        "upsert",
        description="upsert: one mapping creates (and archives) the pages, keyed by sync_key; update: "
        "fill in pages people keep, found by each mapping's match, never created or archived.",
    )
    sync_key: NonEmpty | None = Field(
        None, description="Property holding the primary source's key (upsert targets; required there)."
    )
    entries: list[
        Annotated[MappingRef, BeforeValidator(_file_alone, json_schema_input_type=str | MappingRef)]
    ] = Field(alias="mappings", min_length=1)
    owners: dict[str, str] = Field(default_factory=dict, description='Property → "notion" or a source name.')
    on_delete: OnDelete = "archive"
    mark_property: NonEmpty | None = Field(
        default=None,
        description=(
            "on_delete: mark: the checkbox, select or status property that marks pages whose record was "
            "deleted at the source (`syncfw notion init` adds a missing one as a checkbox; a rename is "
            "followed by property id; a run stops with exit 4 while it is missing, or while a status one "
            "lacks the option 'Deleted at source', which only a person can add)."
        ),
    )
    on_drift: OnDrift = "revert"
    guard: Guard = Field(default_factory=Guard)
    full_read_every: int = Field(
        24,
        ge=1,
        le=MAX_EVERY,
        description="Read back every page of the target over this many runs, a slice of its pages each "
        "run (besides the pages edited since the previous run); 1 reads every page on every run.",
    )
    full_read_pages: int = Field(
        90,
        ge=1,
        le=100_000,
        description="The most pages one run reads back for full_read_every (besides the edited pages): "
        "a target over full_read_every x full_read_pages pages is read back over more runs. 90 keeps a "
        "run with a few edits to one query request of 100 pages.",
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
    max_writes: int | None = Field(
        None,
        ge=1,
        description="The most page writes (creates, updates, archives) to this target in one run; the "
        "rest is left to the next runs, which continue where it stopped (a backfill in many runs).",
    )
    personal_data: PersonalData = Field(
        "allow",
        description="forbid: refuse any property fed by a field its connector marks as personal data.",
    )
    _name: str = ""
    _mappings: tuple[BoundMapping, ...] = ()
    _owner_lines: Mapping[str, int] = {}

    @model_validator(mode="before")
    @classmethod
    def _update_reads_all(cls, data: Any) -> Any:
        # an update target's records are matched against every page's (people's) values
        if isinstance(data, dict) and data.get("mode") == "update" and "full_read_every" not in data:
            return {**data, "full_read_every": 1}
        return data

    @model_validator(mode="after")
    def _one_location(self) -> Target:
        if self.mode == "upsert" and self.sync_key is None:
            raise ValueError("give sync_key: the property holding the primary source's key (or mode: update)")
        if self.mode == "update":
            if self.sync_key is not None:
                raise ValueError(
                    "an update target (mode: update) creates no pages, so it has no sync_key: its mappings "
                    "find people's pages with match"
                )
            given: list[str] = [k for k in ("on_delete", "mark_property") if k in self.model_fields_set]
            if self.full_read_every != 1:
                given.append("full_read_every")
            if given:
                raise ValueError(
                    "an update target (mode: update) reads every page on every run and never archives or "
                    f"marks a page: remove {', '.join(given)}"
                )
        if (self.data_source is None) == (self.database is None):
            raise ValueError("give exactly one of data_source or database")
        if (self.on_delete == "mark") != (self.mark_property is not None):
            raise ValueError("on_delete: mark needs mark_property (and mark_property needs on_delete: mark)")
        return self

    def bind(self, name: str, mappings: list[BoundMapping], owner_lines: Mapping[str, int]) -> Target:
        """A copy named ``name`` (its key under ``targets:``) fed by ``mappings``, whose ``owners:``
        entries are at ``owner_lines`` of the recipe file."""
        bound = self.model_copy()
        bound._name, bound._mappings, bound._owner_lines = name, tuple(mappings), dict(owner_lines)
        return bound

    @builtins.property
    def name(self) -> str:
        """The target's key under ``targets:``."""
        return self._name

    @builtins.property
    def mappings(self) -> list[BoundMapping]:
        """The mapping files of ``mappings:``, bound to their sources, in recipe order."""
        return list(self._mappings)

    @builtins.property
    def owner_lines(self) -> dict[str, int]:
        """The line of each ``owners:`` entry in the recipe file."""
        return dict(self._owner_lines)

    @builtins.property
    def max_change(self) -> float:
        """The mass-change guard: the largest share of pages a run may archive or overwrite."""
        return self.guard.max_change

    @builtins.property
    def primary_mapping(self) -> BoundMapping:
        """The mapping that writes the sync key and creates the target's pages.

        Raises:
            ValueError: every mapping has a ``match`` (a loaded recipe never has this).
        """
        for mapping in self._mappings:
            if mapping.is_primary:
                return mapping
        raise ValueError(f"target {self.name!r} has no primary mapping (every mapping has a match)")

    @builtins.property
    def secondary_mappings(self) -> list[BoundMapping]:
        """The mappings that enrich existing pages through their ``match``, in recipe order."""
        return [mapping for mapping in self._mappings if not mapping.is_primary]

    @builtins.property
    def properties(self) -> dict[str, PropertySpec]:
        """Every property a mapping of this target writes (each has exactly one writer)."""
        return {name: spec for mapping in self._mappings for name, spec in mapping.properties.items()}

    def related_targets(self) -> dict[str, PropertySpec]:
        """The first relation property pointing at each other target, by target name."""
        related: dict[str, PropertySpec] = {}
        for spec in self.properties.values():
            if spec.type == "relation" and spec.target and spec.target != self.name:
                related.setdefault(spec.target, spec)
        return related


def _state_url(value: SecretStr) -> SecretStr:
    if value.get_secret_value() not in UNRESOLVED.get():
        parse_state_url(value.get_secret_value(), Path("."))
    return value


class StateSettings(BaseModel):
    """``state:`` — where run state is kept: a SQLite file (``path``) or a state URL (``url``,
    :mod:`syncfw.recipe.state`), one of the two."""

    model_config = _CONFIG
    path: NonEmpty | None = Field(None, description="SQLite file, relative to the recipe file.")
    url: Annotated[SecretStr, AfterValidator(_state_url)] | None = Field(
        None,
        description="sqlite:///PATH (relative to the recipe file) or postgresql://…; must be a reference.",
    )

    @model_validator(mode="after")
    def _one_place(self) -> StateSettings:
        if (self.path is None) == (self.url is None):
            raise ValueError("give either path (a SQLite file) or url (sqlite:///PATH or postgresql://…)")
        return self


class Retention(BaseModel):
    """``retention:`` — how much the state store keeps, pruned at the end of each run that completes:
    the newest ``history_runs`` rows of run history (with their operations), and the settled
    journal entries of the last ``journal_days`` days (open intents are always kept). The journal
    is what ``syncfw rollback`` undoes, so it reaches back ``journal_days``. The defaults follow
    Notion: pages in the trash are deleted for good after 30 days (Notion Help Center, "Delete &
    restore content", https://www.notion.com/help/duplicate-delete-and-restore-content), after
    which a rollback could not restore them anyway; and ``sync_runs``, the rows the health
    dashboard's Sync Runs database keeps for the recipe, is by default as many as ``history_runs`` so that
    every row's run is still in ``syncfw runs`` (:mod:`syncfw.health.dashboard`)."""

    model_config = _CONFIG
    history_runs: int = Field(
        200, ge=1, le=1_000_000, description="Runs kept in the run history, with their operations."
    )
    journal_days: int = Field(
        30,
        ge=1,
        le=36_500,
        description="Days settled journal entries are kept; `syncfw rollback` reaches back this far.",
    )
    sync_runs: int = Field(
        200,
        ge=1,
        le=10_000,
        description="Rows the health dashboard's Sync Runs database keeps for the recipe (its newest runs).",
    )


class AlertRoute(BaseModel):
    """An entry of ``alerts:`` that receives only some events.

    A notification URL (apprise syntax) and its events; a bare URL in ``alerts:`` receives every
    event (``events`` is None)."""

    model_config = _CONFIG
    url: SecretStr = Field(description="Notification URL (apprise syntax); must be a reference.")
    events: Annotated[list[AlertEvent] | None, GetPydanticSchema(_listed_events)] = Field(
        description="The events sent to this URL."
    )


class Recipe(BaseModel):
    """A recipe file.

    Once loaded (:func:`syncfw.recipe.load_recipe`) it is fully checked. ``path`` is the recipe file; ``state_path`` the SQLite state file (default
    ``.syncfw/<name>.sqlite`` relative to the current directory); ``alerts`` where alerts go;
    ``expires`` is required for the experimental tier; ``max_writes`` caps the page writes of each
    run (as ``syncfw run --max-writes``).
    """

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True, title="syncfw recipe")
    name: Name = Field(alias="recipe", description="Recipe name (used for the state file and in reports).")
    owner: Email = Field(description="Email of the person who answers for it.")
    description: Annotated[str, Field(min_length=1), AfterValidator(str.strip)] = Field(
        description="What it does, what triggers it, what breaks if it fails."
    )
    tier: Tier
    expires: IsoDate | None = Field(
        None, description="Required for experimental recipes: at most 30 days ahead."
    )
    schedule: Cron | None = Field(
        None, description="When the recipe is due (cron, UTC), for `syncfw run DIR --due`."
    )
    tags: list[Name] = Field(
        default_factory=list, description="Labels to select recipes by: `syncfw run DIR --select tag:T`."
    )
    notion: NotionSettings
    sources: dict[str, Source] = Field(min_length=1)
    targets: dict[str, Target] = Field(min_length=1)
    state: StateSettings | None = None
    retention: Retention = Field(default_factory=Retention)
    max_writes: int | None = Field(
        None,
        ge=1,
        description="The most page writes (creates, updates, archives) of one run, over all targets; "
        "the rest is left to the next runs (`syncfw run --max-writes` overrides it).",
    )
    routes: list[SecretStr | AlertRoute] = Field(
        alias="alerts",
        default_factory=list,
        description="Alert URLs (apprise syntax, as references), or {url, events} for some events only.",
    )
    _path: Path = Path("<recipe>")

    def at(self, path: Path, sources: dict[str, Source], targets: dict[str, Target]) -> Recipe:
        """A copy read from ``path`` with its named ``sources`` and bound ``targets``."""
        loaded = self.model_copy(update={"sources": sources, "targets": targets})
        loaded._path = path
        return loaded

    @property
    def path(self) -> Path:
        """The recipe file."""
        return self._path

    @property
    def state_path(self) -> Path:
        """The SQLite state file: ``state.path`` relative to the recipe file, or
        ``.syncfw/<name>.sqlite`` relative to the current directory."""
        if self.state is not None and self.state.path is not None:
            return self.path.parent / Path(self.state.path).expanduser()
        return Path(".syncfw") / f"{self.name}.sqlite"

    def state_location(self, environ: Mapping[str, str]) -> StateLocation:
        """Where the state is (:mod:`syncfw.recipe.state`): ``state.url``, else ``state.path``,
        else ``SYNCFW_STATE_URL`` in ``environ`` (a ``sqlite:///`` one names the directory of
        ``<name>.sqlite``), else :attr:`state_path`.

        Raises:
            ConfigError: ``SYNCFW_STATE_URL`` is malformed (one line, no password).
        """
        if self.state is not None and self.state.url is not None:
            return parse_state_url(self.state.url.get_secret_value(), self.path.parent)
        variable = environ.get(STATE_URL_VARIABLE, "")
        if (self.state is not None and self.state.path is not None) or not variable:
            return SqliteState(self.state_path)
        try:
            location = parse_state_url(variable, Path("."))
        except ValueError as exc:
            raise ConfigError(f"{STATE_URL_VARIABLE}: {exc}") from None
        if isinstance(location, SqliteState):
            return SqliteState(location.path / f"{self.name}.sqlite")
        return location

    @property
    def alerts(self) -> list[AlertRoute]:
        """Where alerts go: each URL with the events it receives (None: every event)."""
        return [
            AlertRoute.model_construct(url=route, events=None) if isinstance(route, SecretStr) else route
            for route in self.routes
        ]

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
        found = {*secret_values(self.notion), *(a.url.get_secret_value() for a in self.alerts)}
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


def recipe_json_schema() -> dict[str, Any]:
    """JSON Schema of recipe files (for editors, e.g. the YAML language server)."""
    return _for_editors(Recipe.model_json_schema())


def mapping_json_schema() -> dict[str, Any]:
    """JSON Schema of mapping files."""
    return _for_editors(MappingFile.model_json_schema())


def _for_editors(schema: dict[str, Any]) -> dict[str, Any]:
    """Each model's description cut to its docstring's first paragraph: what the key is for. The
    rest of a docstring is about the loaded model (its attributes and methods), not the YAML."""
    for described in (schema, *schema.get("$defs", {}).values()):
        if "description" in described:
            described["description"] = " ".join(described["description"].split("\n\n")[0].split())
    return schema
