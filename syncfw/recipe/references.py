"""``${env:NAME}``, ``${env:NAME:-default}`` and ``${file:PATH}`` references, and secret fields.

References are resolved in every string value of a recipe when it is loaded. A secret field
(a :class:`~pydantic.SecretStr` in the recipe schema or in a connector's ``config_model``) must
be written as a reference: a literal token in a YAML file ends up in version control.
Resolved values are remembered so that no error message can repeat one.
"""

from __future__ import annotations

import dataclasses
import re
import types
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, SecretBytes, SecretStr

from syncfw.errors import Problem
from syncfw.recipe.document import KeyPath, YamlDocument
from syncfw.regular_files import SECRET, read_regular

_REFERENCE = re.compile(r"\$\$(?=\{)|\$\{([^{}]*)\}")
_ENV = re.compile(r"^env:([A-Za-z_][A-Za-z0-9_]*)(?::-(.*))?$", re.DOTALL)
WILDCARD = "*"
# Shorter values are too common to redact from messages without mangling them.
_MIN_REDACTED = 4


@dataclasses.dataclass
class Resolution:
    """The data with references replaced, and what the loader must know about them.

    ``referenced`` holds the paths whose value contained a reference; ``sensitive`` every value a
    reference produced (redacted from messages); a reference that could not be resolved is a
    problem and its text is left in place.
    """

    data: Any
    referenced: set[KeyPath] = dataclasses.field(default_factory=set)
    sensitive: set[str] = dataclasses.field(default_factory=set)
    problems: list[Problem] = dataclasses.field(default_factory=list)


def resolve_references(document: YamlDocument, base_dir: Path, environ: Mapping[str, str]) -> Resolution:
    """Replace the references in every string value of ``document``.

    ``${file:PATH}`` reads the file (relative to ``base_dir``; a regular file of at most
    :data:`~syncfw.regular_files.SECRET` bytes) and drops surrounding whitespace;
    ``$${`` writes a literal ``${``. An unset variable without default, an unreadable file or a
    malformed reference is a problem at the value's position naming the variable or file.
    """
    resolution = Resolution(data=None)

    def resolve(value: Any, path: KeyPath) -> Any:
        if isinstance(value, dict):
            return {key: resolve(item, (*path, key)) for key, item in value.items()}
        if isinstance(value, list):
            return [resolve(item, (*path, index)) for index, item in enumerate(value)]
        if not isinstance(value, str) or "${" not in value:
            return value
        failed: list[str] = []

        def substitute(match: re.Match[str]) -> str:
            if match.group(1) is None:
                return "$"
            resolved = _resolve_one(match.group(1), base_dir, environ)
            if isinstance(resolved, _Failure):
                failed.append(resolved.message)
                return match.group(0)
            resolution.sensitive.add(resolved)
            return resolved

        result = _REFERENCE.sub(substitute, value)
        if result != value or failed:
            resolution.referenced.add(path)
        for message in failed:
            resolution.problems.append(document.problem(path, message))
        return value if failed else result

    resolution.data = resolve(document.data, ())
    return resolution


@dataclasses.dataclass(frozen=True)
class _Failure:
    message: str


def _resolve_one(inner: str, base_dir: Path, environ: Mapping[str, str]) -> str | _Failure:
    env = _ENV.match(inner)
    if env:
        name, default = env.group(1), env.group(2)
        if name in environ:
            return environ[name]
        if default is not None:
            return default
        return _Failure(f"environment variable {name} is not set (referenced as ${{env:{name}}})")
    if inner.startswith("file:") and inner[5:].strip():
        relative = inner[5:].strip()
        path = (base_dir / Path(relative).expanduser()).resolve()
        try:
            return read_regular(path, SECRET).decode("utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "not UTF-8 text"
            return _Failure(f"cannot read {relative!r} (${{file:{relative}}}, at {path}): {reason}")
    return _Failure(
        f"malformed reference ${{{inner}}}: write ${{env:NAME}}, ${{env:NAME:-default}} or ${{file:PATH}}"
    )


def secret_patterns(annotation: Any, prefix: KeyPath = ()) -> Iterator[KeyPath]:
    """Key paths of the secret fields in a type, with ``"*"`` for any list index or dict key.

    ``secret_patterns(RecipeDocument)`` yields ``("notion", "token")`` and ``("alerts", "*")``.
    Field aliases are used where a model declares them, since the YAML is written with them.
    """
    yield from _secret_patterns(annotation, prefix, set())


def _secret_patterns(annotation: Any, prefix: KeyPath, seen: set[type]) -> Iterator[KeyPath]:
    origin = get_origin(annotation)
    if annotation in (SecretStr, SecretBytes):
        yield prefix
    elif origin is Annotated:
        yield from _secret_patterns(get_args(annotation)[0], prefix, seen)
    elif origin in (Union, types.UnionType):
        for arg in get_args(annotation):
            yield from _secret_patterns(arg, prefix, seen)
    elif origin in (list, tuple, set, frozenset, dict) or (
        isinstance(origin, type) and issubclass(origin, Mapping)
    ):
        args = get_args(annotation)
        items = (
            args[-1:]
            if origin is dict or (isinstance(origin, type) and issubclass(origin, Mapping))
            else args
        )
        for arg in items:
            if arg is not Ellipsis:
                yield from _secret_patterns(arg, (*prefix, WILDCARD), seen)
    elif isinstance(annotation, type) and issubclass(annotation, BaseModel) and annotation not in seen:
        seen = seen | {annotation}
        for name, info in annotation.model_fields.items():
            yield from _secret_patterns(info.annotation, (*prefix, info.alias or name), seen)


def matches(path: KeyPath, pattern: KeyPath) -> bool:
    """True when a concrete key path fits a pattern from :func:`secret_patterns`."""
    return len(path) == len(pattern) and all(p in (WILDCARD, k) for k, p in zip(path, pattern, strict=True))


def literal_secrets(
    document: YamlDocument, resolution: Resolution, patterns: list[KeyPath]
) -> tuple[list[Problem], set[str]]:
    """Problems for secret fields written as literals, and the literal values (to redact)."""
    problems: list[Problem] = []
    literals: set[str] = set()
    for path, value in document.paths():
        if value is None or isinstance(value, dict | list) or not any(matches(path, p) for p in patterns):
            continue
        if path in resolution.referenced:
            continue
        literals.add(str(value))
        problems.append(
            document.problem(
                path,
                "a secret must not be written in the file: write ${env:NAME} (or ${file:PATH}) "
                "instead of the literal token",
            )
        )
    return problems, literals


def redact(problems: list[Problem], secrets: set[str]) -> list[Problem]:
    """The problems with every occurrence of a secret value in a message replaced by ``***``."""
    hidden = sorted((s for s in secrets if len(s) >= _MIN_REDACTED), key=len, reverse=True)
    if not hidden:
        return problems
    pattern = re.compile("|".join(re.escape(s) for s in hidden))
    return [dataclasses.replace(p, message=pattern.sub("***", p.message)) for p in problems]
