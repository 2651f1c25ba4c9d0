"""Transform names and arguments, checked against the installed transforms (the plugin registry)."""

from __future__ import annotations

import difflib
import inspect
import typing
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from syncfw.errors import Problem
from syncfw.mapping.spec import TransformCall
from syncfw.recipe.document import KeyPath, YamlDocument


def transform_problems(
    document: YamlDocument,
    at: KeyPath,
    calls: Sequence[TransformCall],
    known: Mapping[str, Callable[..., Any]],
) -> list[Problem]:
    """An unknown transform (with the closest installed name), or arguments its signature refuses."""
    problems = []
    for index, call in enumerate(calls):
        path = (*at, "transforms", index)
        function = known.get(call.name)
        if function is None:
            close = difflib.get_close_matches(call.name, known, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            problems.append(
                document.problem(
                    path, f"unknown transform {call.name!r} ({hint}installed: {', '.join(sorted(known))})"
                )
            )
            continue
        problem = _arguments_problem(call, function)
        if problem:
            problems.append(document.problem(path, problem))
    return problems


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
