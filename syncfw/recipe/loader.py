"""Loading recipes and mappings: every mistake found, each at its ``file:line:col key.path``.

Loading reads the recipe, resolves references, validates it against :class:`~syncfw.recipe.Recipe`,
reads every mapping file it names (:class:`~syncfw.mapping.spec.MappingFile`) and runs the checks
that span files (:mod:`syncfw.recipe.checks`: mapping ↔ source binding, connector configs with a
plugin registry, transforms, relations and ``via``, matches, ownership) and governance
(:mod:`syncfw.recipe.governance`). Then it attaches what YAML cannot say: positions, names, each
target's bound mappings. All problems of the recipe and its mapping files are raised together in
one :class:`~syncfw.errors.ConfigError`; nothing else is read or written, and no message contains
a secret value.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

from pydantic import BaseModel, ValidationError

from syncfw.errors import ConfigError, Problem
from syncfw.mapping.spec import MappingFile, MatchSpec, Position, PropertySpec
from syncfw.plugins import Registry
from syncfw.recipe.checks.binding import Entry, Layout, bound_source, mapping_refs, unreadable_mapping
from syncfw.recipe.checks.connectors import connector_configs
from syncfw.recipe.checks.matches import check_matches
from syncfw.recipe.checks.ownership import Claims, ownership_problems
from syncfw.recipe.checks.properties import match_problems, property_problems, role_problems
from syncfw.recipe.checks.relations import relation_target_problems, via_problems
from syncfw.recipe.checks.transforms import transform_problems
from syncfw.recipe.document import KeyPath, YamlDocument, read_yaml
from syncfw.recipe.governance import governance_problems
from syncfw.recipe.model import Recipe, Target, relation_order
from syncfw.recipe.references import (
    file_reference,
    literal_secrets,
    redact,
    resolve_references,
    secret_patterns,
    unusable_secrets,
)
from syncfw.recipe.schema import UNRESOLVED
from syncfw.recipe.validation import foreign, not_a, validated, validation_problems


class _MappingRead(NamedTuple):
    document: YamlDocument | None
    mapping: MappingFile | None
    complete: bool
    has_match: bool
    """The file has a ``match`` key (even when it is invalid and ``mapping.match`` is None)."""
    foreign: bool = False
    """The file is YAML but not a mapping file at all (see :func:`~syncfw.recipe.validation.foreign`)."""


class _Loader:
    """Collects problems across the files of one load."""

    def __init__(self, registry: Registry | None) -> None:
        self.registry = registry
        self.problems: list[Problem] = []
        self.secrets: set[str] = set()
        self.mappings: dict[Path, _MappingRead] = {}
        self.unresolved: set[tuple[str, int, int]] = set()
        """Where values of unset variables stand (file, line, column), when those are allowed."""

    def fail_if_problems(self) -> None:
        # a value from an unset variable is checked once it is set (at plan or run): a problem
        # found at it now is about the reference's text, not about the file
        self.problems = [p for p in self.problems if (p.file, p.line, p.column) not in self.unresolved]
        if not self.problems:
            return
        order: dict[str, int] = {}
        for problem in self.problems:
            order.setdefault(problem.file, len(order))
        # one problem per place: the first is the cause (an unknown tag, then "not a string")
        first = {(p.file, p.line, p.column, p.path): p for p in reversed(self.problems)}
        unique = sorted(first.values(), key=lambda p: (order[p.file], p.line, p.column))
        raise ConfigError(redact(unique, self.secrets))

    def mapping(self, path: Path) -> _MappingRead:
        if path not in self.mappings:
            self.mappings[path] = self._read_mapping(path)
        return self.mappings[path]

    def _transforms(self, document: YamlDocument, at: KeyPath, spec: PropertySpec | MatchSpec) -> None:
        if self.registry is not None:
            self.problems += transform_problems(document, at, spec.transforms, self.registry.transforms)

    def _read_mapping(self, path: Path) -> _MappingRead:
        before = len(self.problems)
        document, problems = read_yaml(path, str(path))
        self.problems += problems
        if document is None:
            return _MappingRead(None, None, complete=False, has_match=False)
        if foreign(document.data, MappingFile):
            # an env file or a password file named by mistake: its lines must not become
            # "unknown key" errors; whoever named the file reports it
            return _MappingRead(None, None, complete=False, has_match=False, foreign=True)
        raw = document.data if isinstance(document.data, dict) else {}
        parsed: MappingFile | None = None
        try:
            parsed = MappingFile.model_validate(document.data)
            properties, match = parsed.properties, parsed.match
        except ValidationError as exc:
            self.problems += validation_problems(document, exc, MappingFile)
            properties = _valid_properties(document.data)
            match = validated(MatchSpec, raw.get("match"))
        name = raw["mapping"] if isinstance(raw.get("mapping"), str) else path.stem
        self.problems += property_problems(document, properties)
        for prop_name, prop in properties.items():
            self._transforms(document, ("properties", prop_name), prop)
        if match is not None:
            self.problems += match_problems(document, match, name)
            self._transforms(document, ("match",), match)
        self.problems += role_problems(document, raw, properties)
        connector = raw.get("connector")
        if not isinstance(connector, str):
            return _MappingRead(document, None, complete=False, has_match="match" in raw)
        if parsed is None:
            # a mapping with mistakes is still bound (with its valid properties) so that its
            # ownership conflicts are reported in the same run as its other mistakes
            parsed = MappingFile.model_construct(
                name=name,
                connector=connector,
                stream=raw["stream"] if isinstance(raw.get("stream"), str) else "",
                sync_key=raw["sync_key"] if isinstance(raw.get("sync_key"), str) else None,
                description=raw["description"] if isinstance(raw.get("description"), str) else None,
                properties=properties,
            )
        located = {
            "properties": {
                prop_name: prop.named(prop_name, _position(document, path, ("properties", prop_name)))
                for prop_name, prop in properties.items()
            },
            "match": None if match is None else match.at(_position(document, path, ("match",))),
        }
        mapping = parsed.model_copy(update=located).at(Position(path))
        return _MappingRead(document, mapping, len(self.problems) == before, "match" in raw)

    def recipe(self, path: Path, environ: Mapping[str, str], *, check_env: bool = True) -> Recipe:
        """The checked recipe; without ``check_env`` an unset variable is no problem (see
        :data:`~syncfw.recipe.schema.UNRESOLVED`)."""
        marker = UNRESOLVED.set(frozenset())
        try:
            return self._recipe(path, environ, check_env)
        finally:
            UNRESOLVED.reset(marker)

    def _recipe(self, path: Path, environ: Mapping[str, str], check_env: bool) -> Recipe:
        document, problems = read_yaml(path, str(path))
        self.problems += problems
        # (a bare value or a list is reported as such: it cannot hold a key to echo)
        if document is not None and isinstance(document.data, dict) and foreign(document.data, Recipe):
            self.problems.append(Problem(str(path), 1, 1, "", not_a("recipe", str(path), Recipe)))
            document = None
        if document is None:
            self.fail_if_problems()
        assert document is not None
        resolution = resolve_references(document, path.parent, environ, unset_ok=not check_env)
        for at in resolution.unresolved:
            where = document.problem(at, "")
            self.unresolved.add((where.file, where.line, where.column))
        UNRESOLVED.set(frozenset(resolution.unresolved.values()))
        self.problems += resolution.problems
        self.secrets |= resolution.sensitive
        data = resolution.data
        try:
            parsed: Recipe | None = Recipe.model_validate(data)
        except ValidationError as exc:
            self.problems += validation_problems(document, exc, Recipe, referenced=resolution.referenced)
            parsed = None
        raw = data if isinstance(data, dict) else {}
        configs: dict[str, BaseModel] = {}
        config_secrets: list[KeyPath] = []
        if self.registry is not None:
            configs, config_secrets, problems = connector_configs(document, raw, self.registry, path.parent)
            self.problems += problems
        patterns = [*secret_patterns(Recipe), *config_secrets]
        secret_problems, literals = literal_secrets(document, resolution, patterns)
        self.problems += secret_problems
        self.problems += unusable_secrets(document, resolution, patterns, headers=[("notion", "token")])
        self.secrets |= literals
        targets = self._targets(document, path, raw)
        self.problems += governance_problems(document, path, raw, targets, self.registry, environ)
        try:
            relation_order(targets)
        except ConfigError as exc:
            self.problems += exc.problems
        self.fail_if_problems()
        assert parsed is not None
        written = document.data.get("notion") if isinstance(document.data, dict) else None
        token_file = file_reference(written.get("token") if isinstance(written, dict) else None, path.parent)
        sources = {
            name: source.named(name, configs.get(name, source.config))
            for name, source in parsed.sources.items()
        }
        notion = parsed.notion.reading_token_from(token_file)
        return parsed.model_copy(update={"notion": notion}).at(
            path, sources, {name: targets[name] for name in parsed.targets}
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
        layouts: dict[str, Layout] = {}
        for name, raw_target in raw_targets.items():
            if not isinstance(raw_target, dict):
                continue
            layouts[name] = layout = self._layout(document, path, name, raw_target, raw_targets, connectors)
            claims = Claims.of(raw_target)
            bound, problems = check_matches(
                document, name, claims.sync_key, layout.entries, layout.complete, update=claims.update
            )
            self.problems += problems
            self.problems += ownership_problems(
                document, name, claims, bound, set(connectors), layout.complete
            )
            target = validated(Target, raw_target)
            if target is not None:
                owner_lines = {
                    prop: document.mark(("targets", name, "owners", prop)).line for prop in target.owners
                }
                targets[name] = target.bind(name, bound, owner_lines)
        self.problems += via_problems(document, layouts)
        return targets

    def _layout(
        self,
        document: YamlDocument,
        path: Path,
        name: str,
        raw_target: dict[Any, Any],
        raw_targets: dict[Any, Any],
        connectors: dict[str, str],
    ) -> Layout:
        """The mappings of target ``name``, read and bound to their sources."""
        entries: list[Entry] = []
        # "nobody writes X" is only said when every mapping of the target was read cleanly
        complete = True
        for index, file, source in mapping_refs(raw_target):
            mapping_path = Path(os.path.normpath(path.parent / file))
            at = ("targets", name, "mappings", index)
            unreadable = unreadable_mapping(file, mapping_path)
            if unreadable is not None:
                self.problems.append(document.problem(at, unreadable))
                complete = False
                continue
            read = self.mapping(mapping_path)
            complete = complete and read.complete
            if read.foreign:
                self.problems.append(document.problem(at, not_a("mapping", file, MappingFile)))
            if read.document is not None:
                self.problems += relation_target_problems(read.document, raw_targets)
            if read.mapping is None or read.document is None:
                continue
            source_name, problems = bound_source(document, at, read.mapping, source, connectors)
            self.problems += problems
            if source_name is None:
                complete = False
            else:
                mapping = read.mapping.bind(source_name, document.mark(at).line)
                entries.append(Entry(at, read.document, mapping, file, read.has_match))
        return Layout(entries, complete)


def _position(document: YamlDocument, path: Path, at: KeyPath) -> Position:
    where = document.mark(at, at_key=True)
    return Position(path, where.line, where.column)


def _valid_properties(data: Any) -> dict[str, PropertySpec]:
    properties = data.get("properties") if isinstance(data, dict) else None
    if not isinstance(properties, dict):
        return {}
    valid = {}
    for name, prop in properties.items():
        parsed = validated(PropertySpec, prop)
        if isinstance(name, str) and parsed is not None:
            valid[name] = parsed
    return valid


def load_recipe(
    path: Path,
    *,
    registry: Registry | None = None,
    environ: Mapping[str, str] | None = None,
    check_env: bool = True,
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
        check_env: False to check the files alone: a variable that is not set is no problem, and
            the values written as a reference to one are checked only once it is set (the recipe
            then holds the reference's text there; for ``syncfw validate``, never for a run).

    Raises:
        ConfigError: with one :class:`~syncfw.errors.Problem` per mistake in the recipe and its
            mapping files, each at ``file:line:col key.path``; messages never contain a value
            that came from a reference or sits in a secret field.
    """
    loader = _Loader(registry)
    return loader.recipe(path, os.environ if environ is None else environ, check_env=check_env)


def load_mapping(path: Path, *, registry: Registry | None = None) -> MappingFile:
    """Load and check one mapping file on its own (without a recipe to bind it to).

    Raises:
        ConfigError: every problem in the file, at ``file:line:col key.path``.
    """
    loader = _Loader(registry)
    read = loader.mapping(path)
    if read.foreign:
        loader.problems.append(Problem(str(path), 1, 1, "", not_a("mapping", str(path), MappingFile)))
    loader.fail_if_problems()
    mapping = read.mapping
    assert mapping is not None
    return mapping
