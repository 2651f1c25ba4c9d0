"""YAML files read into plain Python data plus the position of every key and value.

ruamel.yaml composes the node graph (every node carries its start mark); we build plain dicts,
lists and scalars from it ourselves so that *every* duplicate key is found (not only the first)
and every path, such as ``("targets", "accounts", "mappings", 0)``, keeps its 1-based line and
column. Merge keys (``<<: *anchor``) and aliases work as in YAML; custom tags are refused.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from syncfw.errors import Problem
from syncfw.regular_files import DOCUMENT, read_regular

KeyPath = tuple[Any, ...]
_MERGE_TAG = "tag:yaml.org,2002:merge"
_STANDARD_TAG = "tag:yaml.org,2002:"
_PLAIN_TAGS = {
    _STANDARD_TAG + name
    for name in ("str", "int", "float", "bool", "null", "map", "seq", "merge", "timestamp")
}
MAX_NODES = 100_000
"""Values one file may expand to: nested aliases can otherwise grow exponentially."""


@dataclasses.dataclass(frozen=True)
class Mark:
    """A 1-based line and column."""

    line: int
    column: int


@dataclasses.dataclass(frozen=True)
class NodePosition:
    """Where a value sits: its key (None for list items and the root) and the value itself."""

    key: Mark | None
    value: Mark
    container: bool


def format_path(path: KeyPath) -> str:
    """``("targets", "accounts", "mappings", 0)`` → ``targets.accounts.mappings[0]``."""
    text = ""
    for part in path:
        if isinstance(part, int) and not isinstance(part, bool):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


@dataclasses.dataclass
class YamlDocument:
    """One parsed YAML file: ``data`` (plain Python) and ``positions`` of every path in it."""

    file: str
    data: Any
    positions: dict[KeyPath, NodePosition]

    def locate(self, path: KeyPath) -> KeyPath:
        """The longest prefix of ``path`` that exists in the file.

        Parts that are not in the file (pydantic's union tags, a missing key) are skipped.
        """
        found: KeyPath = ()
        for part in path:
            if (*found, part) in self.positions:
                found = (*found, part)
        return found

    def mark(self, path: KeyPath, *, at_key: bool = False) -> Mark:
        """Where to point for ``path`` (located as in :meth:`locate`): at its key when ``at_key``
        or when the value is a mapping or list, else at its value.
        """
        position = self.positions[self.locate(path)]
        if (at_key or position.container) and position.key is not None:
            return position.key
        return position.value

    def problem(
        self, path: KeyPath, message: str, *, at_key: bool = False, shown: KeyPath | None = None
    ) -> Problem:
        """A problem at ``path`` (see :meth:`mark`); ``shown`` overrides the key path printed."""
        mark = self.mark(path, at_key=at_key)
        return Problem(self.file, mark.line, mark.column, format_path(shown or self.locate(path)), message)

    def paths(self) -> Iterator[tuple[KeyPath, Any]]:
        """Every path in the file with its value, parents before children."""
        for path in self.positions:
            yield path, self.get(path)

    def get(self, path: KeyPath) -> Any:
        """The value at a path that exists in the file."""
        value = self.data
        for part in path:
            value = value[part]
        return value


def _mark(node: Node) -> Mark:
    return Mark(node.start_mark.line + 1, node.start_mark.column + 1)


class _TooLarge(Exception):
    def __init__(self, node: Node) -> None:
        self.node = node


class _Builder:
    def __init__(self, yaml: YAML, file: str) -> None:
        self.yaml = yaml
        self.file = file
        self.positions: dict[KeyPath, NodePosition] = {}
        self.problems: list[Problem] = []
        self._open: set[int] = set()

    def _problem(self, node: Node, path: KeyPath, message: str) -> None:
        mark = _mark(node)
        self.problems.append(Problem(self.file, mark.line, mark.column, format_path(path), message))

    def build(self, node: Node, path: KeyPath, key: Mark | None) -> Any:
        if len(self.positions) >= MAX_NODES:
            raise _TooLarge(node)
        container = isinstance(node, MappingNode | SequenceNode)
        self.positions[path] = NodePosition(key, _mark(node), container)
        if id(node) in self._open:
            self._problem(node, path, "an alias refers to a node that contains it (recursive YAML)")
            return None
        if (node.tag or "") not in _PLAIN_TAGS:
            self._problem(node, path, f"unknown YAML tag {node.tag}; syncfw reads plain YAML only")
            return None
        self._open.add(id(node))
        try:
            if isinstance(node, MappingNode):
                return self._mapping(node, path)
            if isinstance(node, SequenceNode):
                return [self.build(item, (*path, index), None) for index, item in enumerate(node.value)]
            return self._scalar(node, path)
        finally:
            self._open.discard(id(node))

    def _scalar(self, node: Node, path: KeyPath) -> Any:
        try:
            return self.yaml.constructor.construct_object(node, deep=True)
        except YAMLError as exc:
            self._problem(node, path, getattr(exc, "problem", None) or "invalid value")
            return None

    def _mapping(self, node: MappingNode, path: KeyPath) -> dict[Any, Any]:
        result: dict[Any, Any] = {}
        first_seen: dict[Any, Mark] = {}
        merges: list[Node] = []
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                merges.extend(value_node.value if isinstance(value_node, SequenceNode) else [value_node])
                continue
            if not isinstance(key_node, ScalarNode):
                self._problem(key_node, path, "a key must be a plain value, not a mapping or list")
                continue
            key = self._scalar(key_node, path)
            key_mark = _mark(key_node)
            if key in first_seen:
                seen = first_seen[key]
                self._problem(
                    key_node,
                    (*path, key),
                    f"duplicate key {key!r} (first at line {seen.line}, column {seen.column}); "
                    "YAML keeps only one of them",
                )
                continue
            first_seen[key] = key_mark
            result[key] = self.build(value_node, (*path, key), key_mark)
        for merged in merges:
            if not isinstance(merged, MappingNode):
                self._problem(merged, path, "a merge key (<<) takes a mapping or a list of mappings")
                continue
            for key_node, value_node in merged.value:
                key = self._scalar(key_node, path)
                if key not in result:
                    result[key] = self.build(value_node, (*path, key), _mark(key_node))
        return result


def _too_deep(text: str, file: str, limit: int = 100) -> Problem:
    """A problem at the first bracket nested deeper than ``limit`` (where reading gave up)."""
    depth, line, column = 0, 1, 1
    for char in text:
        if char in "[{":
            depth += 1
            if depth > limit:
                break
        elif char in "]}":
            depth -= 1
        if char == "\n":
            line, column = line + 1, 1
        else:
            column += 1
    return Problem(
        file, line, column, "", f"the YAML nests more than {limit} levels deep; syncfw does not read it"
    )


def parse_yaml(text: str, file: str) -> tuple[YamlDocument | None, list[Problem]]:
    """Parse YAML text; return the document (None when it is not valid YAML) and the problems.

    Syntax errors give one problem at the error's position; duplicate keys, custom tags and
    recursive aliases give one problem each, and the document is still returned.
    """
    yaml = YAML(typ="safe", pure=True)
    try:
        root = yaml.compose(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        parts = [part for part in (exc.context, exc.problem) if part]
        return None, [Problem(file, line, column, "", "YAML syntax error: " + ", ".join(parts))]
    except YAMLError as exc:
        return None, [Problem(file, 1, 1, "", f"YAML syntax error: {exc}")]
    except RecursionError:
        return None, [_too_deep(text, file)]
    if root is None:
        return YamlDocument(file, None, {(): NodePosition(None, Mark(1, 1), False)}), []
    builder = _Builder(yaml, file)
    try:
        data = builder.build(root, (), None)
    except RecursionError:
        return None, [_too_deep(text, file)]
    except _TooLarge as exc:
        mark = _mark(exc.node)
        message = f"the file expands to more than {MAX_NODES} values (aliases inside aliases?)"
        return None, [Problem(file, mark.line, mark.column, "", message)]
    return YamlDocument(file, data, builder.positions), builder.problems


def read_yaml(path: Path, file: str) -> tuple[YamlDocument | None, list[Problem]]:
    """Read and parse a YAML file; an unreadable file (not a regular file, larger than
    :data:`~syncfw.regular_files.DOCUMENT`, not UTF-8) is one problem at line 1."""
    try:
        text = read_regular(path, DOCUMENT).decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        return None, [Problem(file, 1, 1, "", f"cannot read the file: {reason}")]
    return parse_yaml(text, file)
