"""Binding a target's mapping files: can each be read, and which recipe source does it read."""

from __future__ import annotations

from pathlib import Path
from typing import Any, NamedTuple

from syncfw.errors import Problem
from syncfw.mapping.spec import BoundMapping, MappingFile
from syncfw.recipe.document import KeyPath, YamlDocument
from syncfw.regular_files import DOCUMENT, check_regular


class MappingRefRead(NamedTuple):
    """An entry of a target's ``mappings:`` that names a file, read leniently (even in an invalid
    target): its number in the list, the file as written and the source it names (if any)."""

    number: int
    file: str
    source: str | None


def mapping_refs(raw_target: dict[Any, Any]) -> list[MappingRefRead]:
    """Each mapping entry that names a file, even in an invalid target."""
    entries = raw_target.get("mappings")
    refs: list[MappingRefRead] = []
    for index, entry in enumerate(entries if isinstance(entries, list) else []):
        if isinstance(entry, str) and entry:
            refs.append(MappingRefRead(index, entry, None))
        elif isinstance(entry, dict) and isinstance(entry.get("file"), str) and entry["file"]:
            source = entry.get("source")
            refs.append(MappingRefRead(index, entry["file"], source if isinstance(source, str) else None))
    return refs


def unreadable_mapping(file: str, path: Path) -> str | None:
    """Why the mapping file named ``file`` (at ``path``) cannot be read, or None. Checked before it
    is read so that the problem is at the recipe's reference; reading checks again."""
    try:
        check_regular(path, DOCUMENT)
    except FileNotFoundError:
        return f"mapping file {file!r} not found (looked for {path})"
    except OSError as exc:
        return f"mapping file {file!r} cannot be read (at {path}): {exc.strerror or exc}"
    return None


def bound_source(
    document: YamlDocument, at: KeyPath, mapping: MappingFile, source: str | None, connectors: dict[str, str]
) -> tuple[str | None, list[Problem]]:
    """The recipe source the mapping at ``at`` reads (``connectors``: connector by source name),
    or None and why not: the named source is missing or uses another connector, or no source (or
    several) use the mapping's connector."""
    if source is not None:
        if source not in connectors:
            message = (
                f"no source named {source!r} in this recipe (sources: {', '.join(connectors) or 'none'})"
            )
            return None, [document.problem((*at, "source"), message)]
        if connectors[source] != mapping.connector:
            message = (
                f"source {source!r} uses connector {connectors[source]!r} but {mapping.path} "
                f"reads connector {mapping.connector!r}"
            )
            return None, [document.problem((*at, "source"), message)]
        return source, []
    candidates = [name for name, connector in connectors.items() if connector == mapping.connector]
    if len(candidates) == 1:
        return candidates[0], []
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
    return None, [document.problem(at, message)]


class Entry(NamedTuple):
    """A mapping of a target: its entry in the recipe, its file, and the mapping bound to a source.

    ``ref`` is the file as the recipe names it; ``has_match`` says it has a ``match`` key (even
    an invalid one, when ``mapping.match`` is None).
    """

    at: KeyPath
    document: YamlDocument
    mapping: BoundMapping
    ref: str
    has_match: bool


class Layout(NamedTuple):
    """The mappings of one target, in recipe order; ``complete`` when every one was read cleanly."""

    entries: list[Entry]
    complete: bool
