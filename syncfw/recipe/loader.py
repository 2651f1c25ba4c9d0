"""Loading recipes and mappings: every mistake found, each at its ``file:line:col key.path``.

Loading reads the recipe, resolves references, validates it against :mod:`syncfw.recipe.schema`,
reads every mapping file it names and checks what spans files: mapping ↔ source binding,
connector configs (with a plugin registry), transforms, relation targets, sync keys, that every
property has one owner, and that each target has one primary mapping (it writes the sync key and
creates pages) while every other mapping has a ``match`` naming the property it finds pages by, or
the mapping whose matches it follows (``via``, also on relations: a matching mapping of the right
target, listed before the mappings that follow it). Governance is checked too
(:mod:`syncfw.recipe.governance`: the description, alpha connectors, personal data, experiments
writing production data sources).
All problems of the recipe and its mapping files are raised together in one
:class:`~syncfw.errors.ConfigError`; nothing else is read or written, and no message contains a
secret value.
"""

from __future__ import annotations

import dataclasses
import difflib
import inspect
import os
import types
import typing
from collections.abc import Callable, Collection, Mapping
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, NamedTuple, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel, SecretStr, ValidationError
from pydantic_core import ErrorDetails

from syncfw.clock import today
from syncfw.errors import ConfigError, Problem
from syncfw.mapping.encoding import PropertyValueError, canonical
from syncfw.mapping.expressions import FIELD_PATH, Template, TemplateError, compile_expression
from syncfw.plugins import Registry
from syncfw.recipe import schema
from syncfw.recipe.document import KeyPath, YamlDocument, read_yaml
from syncfw.recipe.governance import governance_problems
from syncfw.recipe.model import (
    NOTION_OWNER,
    Aggregate,
    AlertRoute,
    BoundMapping,
    DatabaseRef,
    MappingFile,
    MatchSpec,
    NotionSettings,
    PropertySpec,
    Recipe,
    Source,
    Target,
    TransformCall,
    relation_order,
)
from syncfw.recipe.references import (
    literal_secrets,
    redact,
    resolve_references,
    secret_patterns,
    unusable_secrets,
)
from syncfw.regular_files import DOCUMENT, check_regular

EXPIRY_WINDOW = timedelta(days=30)
"""How far ahead an experimental recipe may expire."""
AGGREGATE_TYPES: dict[str, tuple[str, ...]] = {
    "count": ("number",),
    "sum": ("number",),
    "min": ("number", "date"),
    "max": ("number", "date"),
}
"""The property types each aggregate function can fill (``latest``: any type but relation)."""

M = TypeVar("M", bound=BaseModel)


def _keys_at(model: type[BaseModel], loc: KeyPath) -> list[str]:
    """The keys a model accepts at ``loc`` (for "did you mean"), or none when it is not a model."""
    current: Any = model
    for part in loc:
        while get_origin(current) in (Annotated, Union, types.UnionType):
            args = [a for a in get_args(current) if a is not type(None)]
            current = args[0]
        origin = get_origin(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            fields = {info.alias or name: info for name, info in current.model_fields.items()}
            if part not in fields:
                return []
            current = fields[part].annotation
        elif origin in (dict, list):
            current = get_args(current)[-1]
        else:
            return []
    if isinstance(current, type) and issubclass(current, BaseModel):
        return [info.alias or name for name, info in current.model_fields.items()]
    return []


def _message(error: ErrorDetails, model: type[BaseModel]) -> str:
    kind = error["type"]
    if kind == "missing":
        return "required key is missing"
    if kind == "extra_forbidden":
        *parent, key = error["loc"]
        close = difflib.get_close_matches(str(key), _keys_at(model, tuple(parent)), n=1)
        return "unknown key" + (f" (did you mean {close[0]!r}?)" if close else "")
    message = error["msg"]
    for prefix in ("Value error, ", "Assertion failed, "):
        message = message.removeprefix(prefix)
    return message


def validation_problems(
    document: YamlDocument,
    error: ValidationError,
    model: type[BaseModel],
    prefix: KeyPath = (),
    referenced: Collection[KeyPath] = (),
) -> list[Problem]:
    """Map each pydantic error of validating ``model`` back to the YAML node it is about.

    ``prefix`` is where the validated data sits in the document (e.g. a connector's config).
    A missing key is reported at the mapping that lacks it, an unknown key at the key itself,
    anything else at the offending value. A value at one of the ``referenced`` paths came from a
    reference: the message names the reference as written (never the value it gave).
    """
    problems = []
    for detail in error.errors():
        loc = (*prefix, *(part for part in detail["loc"] if part != "[key]"))
        message = _message(detail, model)
        if detail["type"] == "missing":
            found = document.locate(loc[:-1])
            problems.append(document.problem(found, message, at_key=True, shown=(*found, loc[-1])))
        else:
            at_key = detail["type"] == "extra_forbidden" or "[key]" in detail["loc"]
            if loc in referenced:
                message += f"; the value comes from {document.get(loc)}"
            problems.append(document.problem(loc, message, at_key=at_key))
    return problems


def _validate(model: type[M], data: Any) -> M | None:
    try:
        return model.model_validate(data)
    except ValidationError:
        return None


class _Loader:
    """Collects problems across the files of one load."""

    def __init__(self, registry: Registry | None) -> None:
        self.registry = registry
        self.problems: list[Problem] = []
        self.secrets: set[str] = set()
        self.mappings: dict[Path, _MappingRead] = {}

    def fail_if_problems(self) -> None:
        if not self.problems:
            return
        order: dict[str, int] = {}
        for problem in self.problems:
            order.setdefault(problem.file, len(order))
        # one problem per place: the first is the cause (an unknown tag, then "not a string")
        first = {(p.file, p.line, p.column, p.path): p for p in reversed(self.problems)}
        unique = sorted(first.values(), key=lambda p: (order[p.file], p.line, p.column))
        raise ConfigError(redact(unique, self.secrets))

    # -- mapping files -------------------------------------------------------------------

    def mapping(self, path: Path) -> _MappingRead:
        if path not in self.mappings:
            self.mappings[path] = self._read_mapping(path)
        return self.mappings[path]

    def _read_mapping(self, path: Path) -> _MappingRead:
        before = len(self.problems)
        document, problems = read_yaml(path, str(path))
        self.problems += problems
        if document is None:
            return _MappingRead(None, None, complete=False, has_match=False)
        if _foreign(document.data, schema.MappingDocument):
            # an env file or a password file named by mistake: its lines must not become
            # "unknown key" errors; whoever named the file reports it
            return _MappingRead(None, None, complete=False, has_match=False, foreign=True)
        raw = document.data if isinstance(document.data, dict) else {}
        try:
            parsed = schema.MappingDocument.model_validate(document.data)
            properties, match = parsed.properties, parsed.match
        except ValidationError as exc:
            self.problems += validation_problems(document, exc, schema.MappingDocument)
            properties = _valid_properties(document.data)
            match = _validate(schema.MatchDocument, raw.get("match"))
        self._check_properties(document, properties)
        header = {key: raw.get(key) if isinstance(raw.get(key), str) else None for key in _MAPPING_HEADER}
        if match is not None:
            self._check_origin(document, ("match",), match.field, match.template)
            self._check_transforms(document, ("match",), match.transforms)
            if match.via is not None and match.via == (header["mapping"] or path.stem):
                self.problems.append(
                    document.problem(
                        ("match", "via"),
                        "a mapping cannot match via itself: via names another mapping of the target, "
                        "listed before this one, whose records' matches this one follows",
                    )
                )
        sync_key = header["sync_key"]
        if sync_key is not None and sync_key not in (raw.get("properties") or {}):
            self.problems.append(
                document.problem(("sync_key",), f"sync_key {sync_key!r} is not one of the properties")
            )
        self._check_role(document, raw, properties)
        if header["connector"] is None:
            return _MappingRead(document, None, complete=False, has_match="match" in raw)
        # a mapping with mistakes is still bound (with its valid properties) so that its
        # ownership conflicts are reported in the same run as its other mistakes
        mapping = MappingFile(
            name=header["mapping"] or path.stem,
            path=path,
            connector=header["connector"],
            stream=header["stream"] or "",
            sync_key=sync_key,
            description=header["description"],
            properties={name: _spec(document, path, name, prop) for name, prop in properties.items()},
            match=None if match is None else _match_spec(document, path, match),
        )
        return _MappingRead(document, mapping, len(self.problems) == before, "match" in raw)

    def _check_role(
        self, document: YamlDocument, raw: dict[Any, Any], properties: Mapping[str, schema.PropertyDocument]
    ) -> None:
        """A mapping with ``match`` has no sync key; aggregates fill a whole mapping and need ``match``."""
        if "match" in raw and "sync_key" in raw:
            self.problems.append(
                document.problem(
                    ("sync_key",),
                    "a mapping with match enriches the pages it matches and never creates one, so it has "
                    "no sync_key: remove sync_key, or remove match to make it the mapping that creates pages",
                )
            )
        aggregates = [name for name, prop in properties.items() if prop.aggregate is not None]
        if not aggregates:
            return
        for name, prop in properties.items():
            if prop.aggregate is None:
                self.problems.append(
                    document.problem(
                        ("properties", name),
                        f"the other properties of this mapping are aggregates ({', '.join(aggregates)}); "
                        f"a mapping is all aggregates or none: move {name!r} to a mapping of its own",
                        at_key=True,
                    )
                )
        if "match" not in raw:
            self.problems.append(
                document.problem(
                    (),
                    "aggregates combine the records that match a page, so this mapping needs match, "
                    "e.g. match: {property: Domain, field: organization.domain, transforms: [domain]}",
                    at_key=True,
                    shown=("match",),
                )
            )

    def _check_origin(
        self, document: YamlDocument, at: KeyPath, field: str | None, template: str | None
    ) -> None:
        if field is not None:
            self._check_field_path(document, (*at, "field"), field)
        if template is not None:
            try:
                Template(template)
            except TemplateError as exc:
                self.problems.append(document.problem((*at, "template"), str(exc)))

    def _check_field_path(self, document: YamlDocument, path: KeyPath, field: str) -> None:
        if not FIELD_PATH.match(field):
            self.problems.append(
                document.problem(path, "a field path is names separated by dots, e.g. Owner.Name")
            )

    def _check_aggregate(self, document: YamlDocument, at: KeyPath, prop: schema.PropertyDocument) -> None:
        aggregate = prop.aggregate
        assert aggregate is not None
        at = (*at, "aggregate")
        for key in ("field", "by"):
            field = getattr(aggregate, key)
            if field is not None:
                self._check_field_path(document, (*at, key), field)
        if aggregate.where is not None:
            try:
                compile_expression(aggregate.where)
            except TemplateError as exc:
                self.problems.append(document.problem((*at, "where"), str(exc)))
        fits = AGGREGATE_TYPES.get(aggregate.function)
        if fits is not None and prop.type not in fits:
            message = (
                f"{aggregate.function} gives a {' or '.join(fits)}, so the property cannot be a {prop.type}"
            )
            self.problems.append(document.problem((*at, "function"), message))
        elif prop.type == "relation":
            message = "an aggregate cannot fill a relation (relations link the pages of record keys)"
            self.problems.append(document.problem((*at, "function"), message))

    def _check_properties(
        self, document: YamlDocument, properties: Mapping[str, schema.PropertyDocument]
    ) -> None:
        for name, prop in properties.items():
            at = ("properties", name)
            self._check_origin(document, at, prop.field, prop.template)
            if prop.aggregate is not None:
                self._check_aggregate(document, at, prop)
            if prop.via is not None and prop.type != "relation":
                self.problems.append(
                    document.problem(
                        (*at, "via"),
                        "via is only for relation properties (it names the mapping whose records' "
                        "matches link the related pages)",
                    )
                )
            if prop.type != "relation":
                # a constant is checked where it is final: ``value`` only when nothing changes it
                final = ["default", "map_default"] + ([] if prop.transforms or prop.map else ["value"])
                for key in final:
                    if key in prop.model_fields_set:
                        self._check_constant(document, (*at, key), prop.type, getattr(prop, key))
                for key, mapped in (prop.map or {}).items():
                    self._check_constant(document, (*at, "map", key), prop.type, mapped)
            self._check_transforms(document, at, prop.transforms)

    def _check_constant(self, document: YamlDocument, path: KeyPath, prop_type: str, value: Any) -> None:
        try:
            canonical(prop_type, value)
        except PropertyValueError as exc:
            self.problems.append(document.problem(path, f"not a valid {prop_type} value: {exc}"))

    def _check_transforms(self, document: YamlDocument, at: KeyPath, entries: list[Any]) -> None:
        if self.registry is None:
            return
        known = self.registry.transforms
        for index, entry in enumerate(entries):
            call = _transform_call(entry)
            path = (*at, "transforms", index)
            function = known.get(call.name)
            if function is None:
                close = difflib.get_close_matches(call.name, known, n=1)
                hint = f"did you mean {close[0]!r}? " if close else ""
                self.problems.append(
                    document.problem(
                        path, f"unknown transform {call.name!r} ({hint}installed: {', '.join(sorted(known))})"
                    )
                )
                continue
            problem = _arguments_problem(call, function)
            if problem:
                self.problems.append(document.problem(path, problem))

    # -- the recipe ----------------------------------------------------------------------

    def recipe(self, path: Path, environ: Mapping[str, str]) -> Recipe:
        document, problems = read_yaml(path, str(path))
        self.problems += problems
        # (a bare value or a list is reported as such: it cannot hold a key to echo)
        if (
            document is not None
            and isinstance(document.data, dict)
            and _foreign(document.data, schema.RecipeDocument)
        ):
            self.problems.append(
                Problem(str(path), 1, 1, "", _not_a("recipe", str(path), schema.RecipeDocument))
            )
            document = None
        if document is None:
            self.fail_if_problems()
        assert document is not None
        resolution = resolve_references(document, path.parent, environ)
        self.problems += resolution.problems
        self.secrets |= resolution.sensitive
        data = resolution.data
        try:
            parsed: schema.RecipeDocument | None = schema.RecipeDocument.model_validate(data)
        except ValidationError as exc:
            self.problems += validation_problems(
                document, exc, schema.RecipeDocument, referenced=resolution.referenced
            )
            parsed = None
        raw = data if isinstance(data, dict) else {}
        configs, config_secrets = self._connector_configs(document, raw)
        patterns = [*secret_patterns(schema.RecipeDocument), *config_secrets]
        secret_problems, literals = literal_secrets(document, resolution, patterns)
        self.problems += secret_problems
        self.problems += unusable_secrets(document, resolution, patterns, headers=[("notion", "token")])
        self.secrets |= literals
        self._check_tier(document, raw)
        targets = self._targets(document, path, raw)
        self.problems += governance_problems(document, path, raw, targets, self.registry, environ)
        try:
            relation_order(targets)
        except ConfigError as exc:
            self.problems += exc.problems
        self.fail_if_problems()
        assert parsed is not None
        return _build_recipe(parsed, path, configs, targets)

    def _connector_configs(
        self, document: YamlDocument, raw: dict[Any, Any]
    ) -> tuple[dict[str, BaseModel], list[KeyPath]]:
        """Validated configs by source name, and the key paths of their secret fields."""
        sources = raw.get("sources")
        configs: dict[str, BaseModel] = {}
        patterns: list[KeyPath] = []
        if self.registry is None or not isinstance(sources, dict):
            return configs, patterns
        for name, source in sources.items():
            if not isinstance(source, dict) or not isinstance(source.get("connector"), str):
                continue
            at = ("sources", name)
            connector = self.registry.connectors.get(source["connector"])
            if connector is None:
                installed = ", ".join(sorted(self.registry.connectors)) or "none"
                self.problems.append(
                    document.problem(
                        (*at, "connector"),
                        f"no connector named {source['connector']!r} is installed (installed: {installed}); "
                        f"install its distribution, e.g. `pip install syncfw-{source['connector']}`",
                    )
                )
                continue
            patterns += [(*at, "config", *p) for p in secret_patterns(connector.config_model)]
            config = source.get("config", {})
            try:
                configs[name] = connector.config_model.model_validate(config)
            except ValidationError as exc:
                self.problems += validation_problems(document, exc, connector.config_model, (*at, "config"))
        return configs, patterns

    def _check_tier(self, document: YamlDocument, raw: dict[Any, Any]) -> None:
        expires = raw.get("expires")
        if isinstance(expires, str):
            expires = _validate_date(expires)
        if raw.get("tier") == "experimental" and raw.get("expires") is None:
            self.problems.append(
                document.problem(
                    ("tier",),
                    f"an experimental recipe needs expires: a date at most {EXPIRY_WINDOW.days} days ahead",
                )
            )
        if isinstance(expires, date) and not isinstance(expires, datetime):
            latest = today() + EXPIRY_WINDOW
            if expires > latest:
                self.problems.append(
                    document.problem(
                        ("expires",),
                        f"expires {expires.isoformat()} is more than {EXPIRY_WINDOW.days} days ahead "
                        f"(latest allowed today: {latest.isoformat()}); renew it when it is due instead",
                    )
                )

    def _targets(self, document: YamlDocument, path: Path, raw: dict[Any, Any]) -> dict[str, Target]:
        raw_targets = raw.get("targets") if isinstance(raw.get("targets"), dict) else {}
        raw_sources = raw.get("sources") if isinstance(raw.get("sources"), dict) else {}
        assert isinstance(raw_targets, dict) and isinstance(raw_sources, dict)
        connectors = {
            name: source["connector"]
            for name, source in raw_sources.items()
            if isinstance(source, dict) and isinstance(source.get("connector"), str)
        }
        targets: dict[str, Target] = {}
        layouts: dict[str, _Layout] = {}
        for name, raw_target in raw_targets.items():
            if not isinstance(raw_target, dict):
                continue
            entries: list[_Entry] = []
            refs = _mapping_refs(raw_target)
            # "nobody writes X" is only said when every mapping of the target was read cleanly
            complete = True
            for index, file, source in refs:
                mapping_path = Path(os.path.normpath(path.parent / file))
                at = ("targets", name, "mappings", index)
                unreadable = _unreadable_mapping(file, mapping_path)
                if unreadable is not None:
                    self.problems.append(document.problem(at, unreadable))
                    complete = False
                    continue
                read = self.mapping(mapping_path)
                complete = complete and read.complete
                if read.foreign:
                    self.problems.append(
                        document.problem(at, _not_a("mapping", file, schema.MappingDocument))
                    )
                if read.document is not None:
                    self._check_relations(read.document, raw_targets)
                if read.mapping is None or read.document is None:
                    continue
                source_name = self._bind(document, at, read.mapping, source, connectors)
                if source_name is None:
                    complete = False
                else:
                    mapping = _bind_mapping(read.mapping, source_name, document.mark(at).line)
                    entries.append(_Entry(at, read.document, mapping, file, read.has_match))
            layouts[name] = _Layout(entries, complete)
            claims = _Claims.of(raw_target)
            bound = self._check_matches(document, name, claims, entries, complete)
            self._check_ownership(document, name, claims, bound, set(connectors), complete)
            target = _validate(schema.TargetDocument, raw_target)
            if target is not None:
                targets[name] = _build_target(document, name, target, bound)
        self._check_vias(document, layouts)
        return targets

    def _check_matches(
        self, document: YamlDocument, name: str, target: _Claims, entries: list[_Entry], complete: bool
    ) -> list[BoundMapping]:
        """Check that one mapping creates the target's pages and every other one matches them.

        Returns the bound mappings, each ``match`` with the type of the property it compares with.
        """
        sync_key = target.sync_key
        writers: dict[str, tuple[int, PropertySpec]] = {}
        for index, entry in enumerate(entries):
            for prop_name, spec in entry.mapping.properties.items():
                writers.setdefault(prop_name, (index, spec))
        has_primary = any(e.mapping.is_primary and sync_key in e.mapping.properties for e in entries)
        if entries and complete and not any(e.mapping.is_primary for e in entries):
            self.problems.append(
                document.problem(
                    ("targets", name, "mappings"),
                    f"every mapping of target {name!r} has a match, so none creates its pages: "
                    f"one mapping must have no match and write the sync key {sync_key!r}",
                )
            )
        bound: list[BoundMapping] = []
        for index, (at, mapping_document, mapping, _, has_match) in enumerate(entries):
            match = mapping.match
            if match is None:
                if has_primary and sync_key not in mapping.properties and not has_match:
                    self.problems.append(
                        document.problem(
                            at,
                            f"{mapping.file} does not write the sync key {sync_key!r}, so its records cannot "
                            f"create pages of target {name!r}: add a match to it (match: {{property: <property "
                            "of the target>, field: <record field>}) so that they enrich the pages they match",
                        )
                    )
                bound.append(mapping)
                continue
            if sync_key in mapping.properties:
                self.problems.append(
                    _spec_problem(
                        mapping.properties[sync_key],
                        f"this mapping enriches the pages its match finds, so it must not write the sync "
                        f"key {sync_key!r}: only the mapping that creates the pages of {name!r} writes it",
                    )
                )
            if match.via is not None:  # checked with the other targets' mappings (_check_vias)
                bound.append(mapping)
                continue
            assert match.property is not None
            others = {prop: spec for prop, (i, spec) in writers.items() if i != index}
            compared = others.get(match.property)
            if compared is None and match.property != sync_key and complete:
                available = [sync_key] if sync_key is not None else []
                available += sorted(prop for prop in others if prop != sync_key)
                self.problems.append(
                    mapping_document.problem(
                        ("match", "property"),
                        f"match property {match.property!r} is neither the sync key nor written by another "
                        f"mapping of target {name!r}; match on one of: {', '.join(available) or 'none'}",
                    )
                )
            elif compared is not None and compared.type == "relation":
                self.problems.append(
                    mapping_document.problem(
                        ("match", "property"),
                        f"{match.property!r} is a relation; match on a property holding one value instead",
                    )
                )
            typed = dataclasses.replace(match, type=compared.type if compared else match.type)
            bound.append(dataclasses.replace(mapping, match=typed))
        return bound

    def _bind(
        self,
        document: YamlDocument,
        at: KeyPath,
        mapping: MappingFile,
        source: str | None,
        connectors: dict[str, str],
    ) -> str | None:
        if source is not None:
            if source not in connectors:
                self.problems.append(
                    document.problem(
                        (*at, "source"),
                        f"no source named {source!r} in this recipe (sources: {', '.join(connectors) or 'none'})",
                    )
                )
                return None
            if connectors[source] != mapping.connector:
                self.problems.append(
                    document.problem(
                        (*at, "source"),
                        f"source {source!r} uses connector {connectors[source]!r} but {mapping.path} "
                        f"reads connector {mapping.connector!r}",
                    )
                )
                return None
            return source
        candidates = [name for name, connector in connectors.items() if connector == mapping.connector]
        if len(candidates) == 1:
            return candidates[0]
        if candidates:
            message = (
                f"sources {', '.join(candidates)} all use connector {mapping.connector!r}: "
                "write {file: ..., source: <name>} to say which one this mapping reads"
            )
        else:
            message = (
                f"{mapping.path} reads connector {mapping.connector!r} but no source of this recipe uses it "
                f"(sources: {', '.join(f'{n} ({c})' for n, c in connectors.items()) or 'none'})"
            )
        self.problems.append(document.problem(at, message))
        return None

    def _check_relations(self, document: YamlDocument, targets: dict[Any, Any]) -> None:
        properties = document.data.get("properties") if isinstance(document.data, dict) else None
        if not isinstance(properties, dict):
            return
        for name, prop in properties.items():
            if not isinstance(prop, dict) or prop.get("type") != "relation":
                continue
            target = prop.get("target")
            if isinstance(target, str) and target not in targets:
                self.problems.append(
                    document.problem(
                        ("properties", name, "target"),
                        f"relation target {target!r} is not a target of the recipe "
                        f"(targets: {', '.join(map(str, targets))})",
                    )
                )

    def _check_vias(self, document: YamlDocument, layouts: dict[str, _Layout]) -> None:
        """Check every ``match.via`` and relation ``via`` against the mappings of its target."""
        for name, layout in layouts.items():
            for index, entry in enumerate(layout.entries):
                mapping = entry.mapping
                via = mapping.match.via if mapping.match is not None else None
                if via is not None and via != mapping.name:
                    hint = "match on the sync key instead: match: {property: <sync key>, field: ...}"
                    problem = self._via_problem(via, name, layouts, hint)
                    if problem is not None:
                        message = f"match via {via!r}: {problem}"
                        self.problems.append(entry.document.problem(("match", "via"), message))
                    else:
                        self._check_via_order(document, name, layout.entries[index + 1 :], entry, via)
                for spec in mapping.properties.values():
                    if spec.type != "relation" or spec.via is None or spec.target not in layouts:
                        continue
                    assert spec.target is not None
                    hint = f"drop via to link by the sync keys of {spec.target!r}"
                    problem = self._via_problem(spec.via, spec.target, layouts, hint)
                    if problem is not None:
                        message = f"relation via {spec.via!r}: {problem}"
                        self.problems.append(
                            entry.document.problem(("properties", spec.name, "via"), message)
                        )

    def _via_problem(self, via: str, target: str, layouts: dict[str, _Layout], hint: str) -> str | None:
        """Why mapping ``via`` of ``target`` cannot be followed, or None when it can (or is unknown)."""
        layout = layouts[target]
        found = next((entry for entry in layout.entries if entry.mapping.name == via), None)
        followed = [
            entry.mapping.name
            for entry in layout.entries
            if not entry.mapping.is_primary and not entry.mapping.is_aggregate
        ]
        wanted = f"a mapping that matches each of its records to a page of {target!r}" + (
            f": {', '.join(followed)}" if followed else f" (target {target!r} has none)"
        )
        if found is None:
            if not layout.complete:  # it may be the name of a mapping that could not be read
                return None
            elsewhere = [
                other
                for other, them in layouts.items()
                if other != target and any(entry.mapping.name == via for entry in them.entries)
            ]
            where = f" ({via!r} is a mapping of target {elsewhere[0]!r})" if elsewhere else ""
            return f"target {target!r} has no mapping named {via!r}{where}; via names (by its mapping: name) {wanted}"
        if found.mapping.is_primary:
            if found.has_match:  # its match is invalid and reported in its file
                return None
            return (
                f"{via!r} creates the pages of target {target!r}, so its record keys are the sync key; {hint}"
            )
        if found.mapping.is_aggregate:
            return (
                f"{via!r} aggregates its records into pages and keeps no match per record; via names {wanted}"
            )
        return None

    def _check_via_order(
        self, document: YamlDocument, name: str, later_entries: list[_Entry], entry: _Entry, via: str
    ) -> None:
        """A mapping matching via another one must come after it: mappings run in list order."""
        for later in later_entries:
            if later.mapping.name == via:
                self.problems.append(
                    document.problem(
                        entry.at,
                        f"{entry.ref} matches via {via!r} ({later.ref}), which is listed after it; the "
                        f"mappings of a target are processed in list order, so move {later.ref} before "
                        f"{entry.ref} in targets.{name}.mappings",
                    )
                )
                return

    def _check_ownership(
        self,
        document: YamlDocument,
        name: str,
        target: _Claims,
        bound: list[BoundMapping],
        sources: set[str],
        complete: bool,
    ) -> None:
        at = ("targets", name)
        writers: dict[str, PropertySpec] = {}
        by_source: dict[str, set[str]] = {}
        title: PropertySpec | None = None
        for mapping in bound:
            for prop_name, spec in mapping.properties.items():
                by_source.setdefault(mapping.source, set()).add(prop_name)
                if spec.type == "title" and title is not None and title.name != prop_name:
                    self.problems.append(
                        _spec_problem(
                            spec,
                            f"target {name!r} already has its title property {title.name!r} "
                            f"({title.where}); a Notion data source has exactly one",
                        )
                    )
                title = spec if spec.type == "title" and title is None else title
                first = writers.setdefault(prop_name, spec)
                if first is not spec:
                    self.problems.append(
                        _spec_problem(
                            spec,
                            f"property {prop_name!r} of target {name!r} is also written by {first.where}; "
                            "every property has exactly one owner",
                        )
                    )
                owner = target.owners.get(prop_name)
                if owner is not None and owner != mapping.source and owner in sources | {NOTION_OWNER}:
                    where = document.mark((*at, "owners", prop_name))
                    self.problems.append(
                        _spec_problem(
                            spec,
                            f"property {prop_name!r} is owned by {_owner(owner)} ({document.file}:{where.line} "
                            f"targets.{name}.owners.{prop_name}), so this mapping of source "
                            f"{mapping.source!r} may not write it; remove one of the two claims",
                        )
                    )
        for prop_name, owner in target.owners.items():
            owner_at = (*at, "owners", prop_name)
            if owner != NOTION_OWNER and owner not in sources:
                self.problems.append(
                    document.problem(
                        owner_at,
                        f"owner must be {NOTION_OWNER!r} or a source of this recipe ({', '.join(sources)})",
                    )
                )
            elif owner != NOTION_OWNER and complete and prop_name not in by_source.get(owner, set()):
                self.problems.append(
                    document.problem(owner_at, f"no mapping of source {owner!r} writes {prop_name!r}")
                )
        if complete and target.sync_key is not None and target.sync_key not in writers:
            self.problems.append(
                document.problem(
                    (*at, "sync_key"),
                    f"sync key {target.sync_key!r} is not written by any mapping of this target "
                    f"(they write: {', '.join(writers)})",
                )
            )
        for mapping in bound:
            if None not in (mapping.sync_key, target.sync_key) and mapping.sync_key != target.sync_key:
                self.problems.append(
                    document.problem(
                        (*at, "sync_key"),
                        f"the target's sync key {target.sync_key!r} differs from {mapping.sync_key!r}, "
                        f"the sync key of {mapping.file}",
                    )
                )
        mark = target.mark_property
        if mark is not None and (mark in writers or target.owners.get(mark) == NOTION_OWNER):
            claim = writers[mark].where if mark in writers else f"targets.{name}.owners"
            self.problems.append(
                document.problem(
                    (*at, "mark_property"),
                    f"mark_property {mark!r} is written by syncfw on deletes, but {claim} also claims it",
                )
            )


def _owner(owner: str) -> str:
    return "people in Notion" if owner == NOTION_OWNER else f"source {owner!r}"


def _unreadable_mapping(file: str, path: Path) -> str | None:
    """Why the mapping file named ``file`` (at ``path``) cannot be read, or None. Checked before it
    is read so that the problem is at the recipe's reference; reading checks again."""
    try:
        check_regular(path, DOCUMENT)
    except FileNotFoundError:
        return f"mapping file {file!r} not found (looked for {path})"
    except OSError as exc:
        return f"mapping file {file!r} cannot be read (at {path}): {exc.strerror or exc}"
    return None


class _MappingRead(NamedTuple):
    document: YamlDocument | None
    mapping: MappingFile | None
    complete: bool
    has_match: bool
    """The file has a ``match`` key (even when it is invalid and ``mapping.match`` is None)."""
    foreign: bool = False
    """The file is YAML but not a mapping file at all (see :func:`_foreign`)."""


def _foreign(data: Any, model: type[BaseModel]) -> bool:
    """True for a file that shares no key with ``model`` (or is a bare value or a list): an env
    file or a password file named by mistake, whose lines must not become "unknown key" errors."""
    return data is not None and not (isinstance(data, dict) and set(_keys_at(model, ())) & set(data))


def _not_a(kind: str, file: str, model: type[BaseModel]) -> str:
    return (
        f"{file!r} is not a {kind} file: it has none of the keys of one ({', '.join(_keys_at(model, ()))}); "
        "check the path (its content is not shown: it may hold secrets)"
    )


class _Entry(NamedTuple):
    """A mapping of a target: its entry in the recipe, its file, and the mapping bound to a source.

    ``ref`` is the file as the recipe names it; ``has_match`` says it has a ``match`` key (even
    an invalid one, when ``mapping.match`` is None).
    """

    at: KeyPath
    document: YamlDocument
    mapping: BoundMapping
    ref: str
    has_match: bool


class _Layout(NamedTuple):
    """The mappings of one target, in recipe order; ``complete`` when every one was read cleanly."""

    entries: list[_Entry]
    complete: bool


_MAPPING_HEADER = ("mapping", "connector", "stream", "sync_key", "description")


@dataclasses.dataclass(frozen=True)
class _Claims:
    """What a target says about ownership, read leniently so that an invalid target is checked too."""

    sync_key: str | None
    owners: dict[str, str]
    mark_property: str | None

    @classmethod
    def of(cls, raw_target: dict[Any, Any]) -> _Claims:
        owners = raw_target.get("owners")
        sync_key, mark = raw_target.get("sync_key"), raw_target.get("mark_property")
        return cls(
            sync_key if isinstance(sync_key, str) else None,
            {k: v for k, v in owners.items() if isinstance(k, str) and isinstance(v, str)}
            if isinstance(owners, dict)
            else {},
            mark if isinstance(mark, str) else None,
        )


def _valid_properties(data: Any) -> dict[str, schema.PropertyDocument]:
    properties = data.get("properties") if isinstance(data, dict) else None
    if not isinstance(properties, dict):
        return {}
    valid = {}
    for name, prop in properties.items():
        parsed = _validate(schema.PropertyDocument, prop)
        if isinstance(name, str) and parsed is not None:
            valid[name] = parsed
    return valid


def _validate_date(text: str) -> date | None:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        return None


def _transform_call(entry: Any) -> TransformCall:
    if isinstance(entry, str):
        return TransformCall(entry)
    name, args = next(iter(entry.items()))
    return TransformCall(name, tuple(args) if isinstance(args, list) else (args,))


def _arguments_problem(call: TransformCall, function: Callable[..., Any]) -> str | None:
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):  # builtins without a signature: checked when called
        return None
    try:
        bound = signature.bind(None, *call.args)
    except TypeError as exc:
        return f"wrong arguments for transform {call.name!r} {signature}: {exc}"
    try:
        hints = typing.get_type_hints(function)
    except Exception:  # a plugin's annotations may not resolve: checked when called
        return None
    first = next(iter(signature.parameters), None)
    for name, value in bound.arguments.items():
        expected = hints.get(name)
        if name == first or expected not in (int, float, str, bool):
            continue
        fits = isinstance(value, expected) and not (expected is not bool and isinstance(value, bool))
        if expected is float and isinstance(value, int) and not isinstance(value, bool):
            fits = True
        if not fits:
            return f"transform {call.name!r}: {name} must be {expected.__name__}, not {value!r}"
    return None


def _mapping_refs(raw_target: dict[Any, Any]) -> list[tuple[int, str, str | None]]:
    """``(index, file, source)`` of each mapping entry that names a file, even in an invalid target."""
    entries = raw_target.get("mappings")
    refs: list[tuple[int, str, str | None]] = []
    for index, entry in enumerate(entries if isinstance(entries, list) else []):
        if isinstance(entry, str) and entry:
            refs.append((index, entry, None))
        elif isinstance(entry, dict) and isinstance(entry.get("file"), str) and entry["file"]:
            source = entry.get("source")
            refs.append((index, entry["file"], source if isinstance(source, str) else None))
    return refs


def _spec(document: YamlDocument, path: Path, name: str, prop: schema.PropertyDocument) -> PropertySpec:
    where = document.mark(("properties", name), at_key=True)
    aggregate = prop.aggregate
    return PropertySpec(
        name=name,
        type=prop.type,
        field=prop.field,
        template=prop.template,
        value=prop.value,
        transforms=tuple(_transform_call(entry) for entry in prop.transforms),
        map=prop.map,
        map_default=prop.map_default,
        has_map_default="map_default" in prop.model_fields_set,
        default=prop.default,
        target=prop.target,
        via=prop.via,
        aggregate=None
        if aggregate is None
        else Aggregate(aggregate.function, aggregate.field, aggregate.by, aggregate.where),
        file=path,
        line=where.line,
        column=where.column,
    )


def _match_spec(document: YamlDocument, path: Path, match: schema.MatchDocument) -> MatchSpec:
    where = document.mark(("match",), at_key=True)
    return MatchSpec(
        property=match.property,
        via=match.via,
        field=match.field,
        template=match.template,
        transforms=tuple(_transform_call(entry) for entry in match.transforms),
        file=path,
        line=where.line,
        column=where.column,
    )


def _spec_problem(spec: PropertySpec, message: str) -> Problem:
    return Problem(str(spec.file), spec.line, spec.column, f"properties.{spec.name}", message)


def _bind_mapping(mapping: MappingFile, source: str, line: int) -> BoundMapping:
    return BoundMapping(
        name=mapping.name,
        file=mapping.path,
        line=line,
        source=source,
        connector=mapping.connector,
        stream=mapping.stream,
        sync_key=mapping.sync_key,
        properties=mapping.properties,
        match=mapping.match,
    )


def _build_target(
    document: YamlDocument, name: str, target: schema.TargetDocument, bound: list[BoundMapping]
) -> Target:
    database = target.database
    return Target(
        name=name,
        data_source=target.data_source,
        database=DatabaseRef(database.title, database.parent_page) if database else None,
        sync_key=target.sync_key,
        mappings=bound,
        owners=dict(target.owners),
        on_delete=target.on_delete,
        mark_property=target.mark_property,
        on_drift=target.on_drift,
        max_change=target.guard.max_change,
        full_read_every=target.full_read_every,
        reconcile_every=target.reconcile_every,
        owner_lines={prop: document.mark(("targets", name, "owners", prop)).line for prop in target.owners},
    )


def _build_recipe(
    parsed: schema.RecipeDocument, path: Path, configs: dict[str, BaseModel], targets: dict[str, Target]
) -> Recipe:
    sources = {
        name: Source(name, source.connector, configs.get(name, source.config), source.stale_after)
        for name, source in parsed.sources.items()
    }
    if parsed.state is not None:
        state_path = path.parent / Path(parsed.state.path).expanduser()
    else:
        state_path = Path(".syncfw") / f"{parsed.recipe}.sqlite"
    return Recipe(
        name=parsed.recipe,
        owner=parsed.owner,
        description=parsed.description.strip(),
        tier=parsed.tier,
        expires=parsed.expires,
        schedule=parsed.schedule,
        path=path,
        notion=NotionSettings(parsed.notion.token, parsed.notion.rate_limit),
        state_path=state_path,
        alerts=[
            AlertRoute(a) if isinstance(a, SecretStr) else AlertRoute(a.url, frozenset(a.events))
            for a in parsed.alerts
        ],
        sources=sources,
        targets={name: targets[name] for name in parsed.targets},
    )


def load_recipe(
    path: Path, *, registry: Registry | None = None, environ: Mapping[str, str] | None = None
) -> Recipe:
    """Load and check a recipe and every mapping file it names.

    Args:
        path: the recipe file. Mapping files, ``${file:…}`` references and ``state.path`` are
            relative to its directory.
        registry: installed plugins (``load_plugins()``). With it, each source's ``config`` is
            validated by its connector's ``config_model`` (and its ``SecretStr`` fields must be
            references), and transform names and arguments are checked. Without it, configs
            stay plain dicts and transforms are checked by :func:`~syncfw.mapping.compile_mapping`.
        environ: variables for ``${env:NAME}`` (default: ``os.environ``).

    Raises:
        ConfigError: with one :class:`~syncfw.errors.Problem` per mistake in the recipe and its
            mapping files, each at ``file:line:col key.path``; messages never contain a value
            that came from a reference or sits in a secret field.
    """
    loader = _Loader(registry)
    return loader.recipe(path, os.environ if environ is None else environ)


def load_mapping(path: Path, *, registry: Registry | None = None) -> MappingFile:
    """Load and check one mapping file on its own (without a recipe to bind it to).

    Raises:
        ConfigError: every problem in the file, at ``file:line:col key.path``.
    """
    loader = _Loader(registry)
    read = loader.mapping(path)
    if read.foreign:
        loader.problems.append(
            Problem(str(path), 1, 1, "", _not_a("mapping", str(path), schema.MappingDocument))
        )
    loader.fail_if_problems()
    mapping = read.mapping
    assert mapping is not None
    return mapping
