"""``${env:NAME}``, ``${env:NAME:-default}`` and ``${file:PATH}`` references, and secret fields.

References are resolved in every string value of a recipe when it is loaded. A secret field
(a :class:`~pydantic.SecretStr` in the recipe schema or in a connector's ``config_model``) must
be written as a reference: a literal token in a YAML file ends up in version control.
Resolved values are remembered so that no error message can repeat one.

One trailing line break (``\\n`` or ``\\r\\n``) is dropped from what a reference produces: it is
what ``echo TOKEN > file``, ``kubectl create secret --from-file`` and most secret stores leave.
Anything else that cannot be part of a credential is refused when the recipe is loaded, at the
reference, naming the variable or file and never the value: a secret with a second line, a
control character or surrounding spaces, and a Notion token with a character that an HTTP header
cannot carry (it is sent as ``Authorization: Bearer <token>``, RFC 9110 section 5.5: visible
ASCII; httpx encodes header values as ASCII).
"""

from __future__ import annotations

import dataclasses
import re
import types
import unicodedata
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, SecretBytes, SecretStr

from syncfw.errors import Problem
from syncfw.recipe.document import KeyPath, YamlDocument
from syncfw.regular_files import SECRET, read_regular
from syncfw.secrets import hide

_REFERENCE = re.compile(r"\$\$(?=\{)|\$\{([^{}]*)\}")
_ENV = re.compile(r"^env:([A-Za-z_][A-Za-z0-9_]*)(?::-(.*))?$", re.DOTALL)
WILDCARD = "*"


@dataclasses.dataclass
class Resolution:
    """The data with references replaced, and what the loader must know about them.

    ``referenced`` holds the paths whose value contained a reference, with each reference's text
    (``${env:NAME}``) and the value it produced; ``sensitive`` every value a reference produced
    (redacted from messages); a reference that could not be resolved is a problem and its text is
    left in place.
    """

    data: Any
    referenced: dict[KeyPath, list[tuple[str, str]]] = dataclasses.field(default_factory=dict)
    sensitive: set[str] = dataclasses.field(default_factory=set)
    problems: list[Problem] = dataclasses.field(default_factory=list)
    unresolved: dict[KeyPath, str] = dataclasses.field(default_factory=dict)
    """With ``unset_ok``: the paths whose value names an unset variable, with the value as written
    (``${env:NOTION_TOKEN}``), which stays in place of the value."""


def resolve_references(
    document: YamlDocument, base_dir: Path, environ: Mapping[str, str], *, unset_ok: bool = False
) -> Resolution:
    """Replace the references in every string value of ``document``.

    ``${file:PATH}`` reads the file (relative to ``base_dir``; a regular file of at most
    :data:`~syncfw.regular_files.SECRET` bytes); one trailing line break of a file or variable is
    dropped; ``$${`` writes a literal ``${``. An unset variable without default, an unreadable
    file or a malformed reference is a problem at the value's position naming the variable or file;
    with ``unset_ok`` an unset variable is not (the value is listed in ``unresolved`` instead: a
    check of the files alone, such as ``syncfw validate`` in CI, has no secrets).
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
        unset: list[str] = []
        pieces: list[tuple[str, str]] = []

        def substitute(match: re.Match[str]) -> str:
            if match.group(1) is None:
                return "$"
            resolved = _resolve_one(match.group(1), base_dir, environ)
            if isinstance(resolved, _Failure):
                (unset if unset_ok and resolved.unset else failed).append(resolved.message)
                return match.group(0)
            resolution.sensitive.add(resolved)
            pieces.append((match.group(0), resolved))
            return resolved

        result = _REFERENCE.sub(substitute, value)
        if result != value or failed or unset:
            resolution.referenced[path] = pieces
        for message in failed:
            resolution.problems.append(document.problem(path, message))
        if unset and not failed:
            resolution.unresolved[path] = value
        return value if failed or unset else result

    resolution.data = resolve(document.data, ())
    return resolution


@dataclasses.dataclass(frozen=True)
class _Failure:
    message: str
    unset: bool = False


def _resolve_one(inner: str, base_dir: Path, environ: Mapping[str, str]) -> str | _Failure:
    env = _ENV.match(inner)
    if env:
        name, default = env.group(1), env.group(2)
        if name in environ:
            return _one_line_ending_dropped(environ[name])
        if default is not None:
            return default
        return _Failure(f"environment variable {name} is not set (referenced as ${{env:{name}}})", unset=True)
    if inner.startswith("file:") and inner[5:].strip():
        relative = inner[5:].strip()
        path = (base_dir / Path(relative).expanduser()).resolve()
        try:
            return read_secret_file(path)
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "not UTF-8 text"
            return _Failure(f"cannot read {relative!r} (${{file:{relative}}}, at {path}): {reason}")
    return _Failure(
        f"malformed reference ${{{inner}}}: write ${{env:NAME}}, ${{env:NAME:-default}} or ${{file:PATH}}"
    )


def file_reference(value: Any, base_dir: Path) -> Path | None:
    """The file ``value`` reads, when it is exactly one ``${file:PATH}`` reference (relative to
    ``base_dir``, as :func:`resolve_references` reads it); otherwise None."""
    if not isinstance(value, str):
        return None
    match = _REFERENCE.fullmatch(value.strip())
    inner = match.group(1) if match else None
    if inner is None or not inner.startswith("file:") or not inner[5:].strip():
        return None
    return (base_dir / Path(inner[5:].strip()).expanduser()).resolve()


def read_secret_file(path: Path) -> str:
    """The secret in ``path`` as a ``${file:…}`` reference gives it (one trailing line break
    dropped).

    Raises:
        OSError: the file cannot be read, is not a regular file or is too large.
        UnicodeDecodeError: it is not UTF-8.
    """
    return _one_line_ending_dropped(read_regular(path, SECRET).decode("utf-8"))


def _one_line_ending_dropped(value: str) -> str:
    return value.removesuffix("\n").removesuffix("\r") if value.endswith("\n") else value


def unusable_character(value: str, *, header: bool) -> str | None:
    """Why ``value`` cannot be a credential, or None: a line break, another control character,
    surrounding whitespace, or (``header``: it is sent in an HTTP header) a character outside
    visible ASCII. The answer names the kind and the position (1-based), never the character."""
    if value.splitlines() != [value]:
        return "it is more than one line (a credential is one line)"
    for index, char in enumerate(value, start=1):
        if unicodedata.category(char) == "Cc":
            return f"character {index} is a control character"
        if header and not " " <= char <= "~":
            return f"character {index} is not ASCII, which an HTTP header cannot carry"
    if value != value.strip():
        return "it starts or ends with whitespace"
    return None


def unusable_secrets(
    document: YamlDocument, resolution: Resolution, patterns: list[KeyPath], headers: list[KeyPath]
) -> list[Problem]:
    """Problems for the references of secret fields (``patterns``) whose value cannot be a
    credential; ``headers`` are the secret fields sent in an HTTP header (see
    :func:`unusable_character`). Each names its reference, never the value."""
    problems: list[Problem] = []
    for path, pieces in resolution.referenced.items():
        if not any(matches(path, p) for p in patterns):
            continue
        header = any(matches(path, p) for p in headers)
        for reference, value in pieces:
            reason = unusable_character(value, header=header)
            if reason is not None:
                problems.append(
                    document.problem(
                        path,
                        f"the secret from {reference} cannot be used: {reason}. One trailing line break is "
                        "dropped; fix the variable or file so that it holds the credential alone",
                    )
                )
    return problems


def secret_patterns(annotation: Any, prefix: KeyPath = ()) -> Iterator[KeyPath]:
    """Key paths of the secret fields in a type, with ``"*"`` for any list index or dict key.

    ``secret_patterns(Recipe)`` yields ``("notion", "token")`` and ``("alerts", "*")``.
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
    return [dataclasses.replace(p, message=hide(p.message, secrets)) for p in problems]
