"""Pydantic validation errors mapped back to the YAML node each is about (``file:line:col key.path``).

A missing key is reported at the mapping that lacks it, an unknown key at the key itself (with a
"did you mean" from the keys the model accepts there), anything else at the offending value.
"""

from __future__ import annotations

import difflib
import types
from collections.abc import Collection
from typing import Annotated, Any, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from syncfw.errors import Problem
from syncfw.recipe.document import KeyPath, YamlDocument

M = TypeVar("M", bound=BaseModel)


def keys_at(model: type[BaseModel], loc: KeyPath) -> list[str]:
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
        elif origin in (dict, list, tuple):
            current = get_args(current)[-1 if origin is not tuple else 0]
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
        close = difflib.get_close_matches(str(key), keys_at(model, tuple(parent)), n=1)
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
    A value at one of the ``referenced`` paths came from a reference: the message names the
    reference as written (never the value it gave).
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


def validated(model: type[M], data: Any) -> M | None:
    """``data`` validated as ``model``, or None when it is invalid (reported elsewhere)."""
    try:
        return model.model_validate(data)
    except ValidationError:
        return None


def foreign(data: Any, model: type[BaseModel]) -> bool:
    """True for a file that shares no key with ``model`` (or is a bare value or a list): an env
    file or a password file named by mistake, whose lines must not become "unknown key" errors."""
    return data is not None and not (isinstance(data, dict) and set(keys_at(model, ())) & set(data))


def not_a(kind: str, file: str, model: type[BaseModel]) -> str:
    """The message for a file named as a ``kind`` file that is not one (see :func:`foreign`)."""
    return (
        f"{file!r} is not a {kind} file: it has none of the keys of one ({', '.join(keys_at(model, ()))}); "
        "check the path (its content is not shown: it may hold secrets)"
    )
