"""Reading values out of source records: dotted field paths and sandboxed Jinja2 templates.

A field path such as ``Owner.Name`` walks nested objects of the record in the source API's own
shape; a missing key or a None anywhere along the path gives None. A template is rendered in
Jinja2's :class:`~jinja2.sandbox.SandboxedEnvironment` with the record's top-level fields as
variables; missing values render empty, the result is trimmed, and an empty result is None.
An expression (an aggregate's ``where``, e.g. ``status in ['new', 'open']``) is evaluated in the
same sandbox and gives a Python value; a missing field is undefined there (equal to nothing, and
an error in ``<`` or ``>``: write ``priority is defined and priority > 3``).
Access to attributes starting with ``_`` (``{{ ''.__class__ }}``) is refused when a template or
expression is compiled, and the sandbox refuses any other unsafe access while evaluating.
Evaluation is bounded in time, output, string and integer size (:mod:`syncfw.mapping.limits`):
compiling evaluates the parts that do not depend on the record, then the whole for a record with
no fields, and refuses one over a limit; a record that takes it over a limit fails alone.

Jinja2 and :mod:`syncfw.mapping.limits` are imported when the first template or expression is
compiled: recipes without any (field paths only) never load them (about 30 ms and 7 MiB).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jinja2 import nodes

    from syncfw.mapping.limits import BoundedSandbox

FIELD_PATH = re.compile(r"^[^.\s]+(\.[^.\s]+)*$")
"""A field path: non-empty segments without whitespace, separated by dots."""


class TemplateError(ValueError):
    """A template or expression cannot be compiled: syntax error or forbidden attribute.

    Has a 1-based ``line``.
    """

    def __init__(self, message: str, line: int = 1) -> None:
        super().__init__(message)
        self.line = line


def get_path(data: Mapping[str, Any], path: str) -> Any:
    """The value at a dotted path in a record, or None when any step is missing or None."""
    current: Any = data
    for part in path.split("."):
        if not isinstance(current, Mapping):
            return None
        current = current.get(part)
        if current is None:
            return None
    return current


@functools.cache
def _environment() -> BoundedSandbox:
    """The sandbox every template and expression is compiled in (one per process)."""
    from jinja2 import ChainableUndefined

    from syncfw.mapping.limits import BoundedSandbox

    return BoundedSandbox(ChainableUndefined)


_OVER = "over a limit"
"""In every limit message: ``template over a limit: it ran for more than 1 second (…)``."""

_LIMITS_HELP = "see 'Template limits' in the README"


class Template:
    """A compiled template.

    Raises:
        TemplateError: on construction, for a syntax error, an attribute starting with ``_``, or
            a template over a limit whatever the record (see :mod:`syncfw.mapping.limits`).
    """

    def __init__(self, source: str) -> None:
        from jinja2 import TemplateSyntaxError

        try:
            tree = _environment().parse(source)
        except TemplateSyntaxError as exc:
            raise TemplateError(f"template syntax error: {exc.message}", exc.lineno) from None
        _refuse_private(tree, "templates")
        self.source = source
        self.fields: list[str] = list(dict.fromkeys(_field_paths(tree)))
        self._template = _environment().from_string(tree)
        _check_limits(tree, "templates", lambda: self._render({}))

    def _render(self, data: Mapping[str, Any]) -> str:
        from syncfw.mapping.limits import bounded_join, evaluation_budget

        with evaluation_budget():
            return bounded_join(self._template.generate(data))

    def render(self, data: Mapping[str, Any]) -> str | None:
        """Render with the record's fields as variables; trimmed, and None when empty.

        Raises:
            ValueError: the template failed while rendering (including a sandbox refusal and a
                limit of :mod:`syncfw.mapping.limits`: ``template over a limit: …``).
        """
        from jinja2.exceptions import SecurityError

        from syncfw.mapping.limits import LimitExceeded

        try:
            text = self._render(data).strip()
        except LimitExceeded as exc:
            raise ValueError(f"template {_OVER}: {exc} ({_LIMITS_HELP})") from None
        except SecurityError as exc:
            raise ValueError(f"template refused: {exc}") from None
        except Exception as exc:  # any rendering failure is one record's problem, not the run's
            raise ValueError(f"template failed: {exc}") from None
        return text or None


class Expression:
    """A compiled expression, such as ``status in ['new', 'open', 'pending']``.

    Raises:
        TemplateError: on construction, for a syntax error (including anything after the
            expression), an attribute starting with ``_``, or an expression over a limit
            whatever the record.
    """

    def __init__(self, source: str) -> None:
        from jinja2 import TemplateSyntaxError
        from jinja2.parser import Parser

        parser = Parser(_environment(), source, state="variable")
        try:
            expression = parser.parse_expression()
            if not parser.stream.eos:
                raise TemplateSyntaxError(
                    "unexpected text after the expression", parser.stream.current.lineno
                )
        except TemplateSyntaxError as exc:
            raise TemplateError(f"expression syntax error: {exc.message}", exc.lineno) from None
        _refuse_private(expression, "expressions")
        self.source = source
        self.fields: list[str] = list(dict.fromkeys(_field_paths(expression)))
        self._expression = _environment().compile_expression(source, undefined_to_none=True)
        _check_limits(expression, "expressions", lambda: self._evaluate({}))

    def _evaluate(self, data: Mapping[str, Any]) -> Any:
        from syncfw.mapping.limits import evaluation_budget

        with evaluation_budget():
            return self._expression(data)

    def __call__(self, data: Mapping[str, Any]) -> Any:
        """The expression's value with the record's fields as variables (None when undefined).

        Raises:
            ValueError: evaluation failed (e.g. ``None > 3``), including a sandbox refusal and a
                limit (``expression over a limit: …``).
        """
        from jinja2.exceptions import SecurityError

        from syncfw.mapping.limits import LimitExceeded

        try:
            return self._evaluate(data)
        except LimitExceeded as exc:
            raise ValueError(f"expression {_OVER}: {exc} ({_LIMITS_HELP})") from None
        except SecurityError as exc:
            raise ValueError(f"expression refused: {exc}") from None
        except Exception as exc:  # any evaluation failure is one record's problem, not the run's
            raise ValueError(f"expression failed: {exc}") from None


def compile_expression(source: str) -> Expression:
    """Compile an expression in the templates' sandbox (see :class:`Expression`).

    Raises:
        TemplateError: syntax error or an attribute starting with ``_``.
    """
    return Expression(source)


def _check_limits(tree: nodes.Node, what: str, evaluate_empty: Callable[[], Any]) -> None:
    """Evaluate, under the limits, the parts of ``tree`` that do not depend on the record, then
    the whole for a record with no fields: one over a limit is a :class:`TemplateError`. Any
    other failure is left to each record (``{{ 1 / count }}`` fails only where count is 0)."""
    from jinja2 import nodes

    from syncfw.mapping.limits import LimitExceeded, constant_parts, evaluation_budget

    for part in constant_parts(_environment(), tree):
        body = nodes.Assign(nodes.Name("value", "store", lineno=part.lineno), part, lineno=part.lineno)
        template = nodes.Template([body], lineno=part.lineno)
        template.set_environment(_environment())
        try:
            with evaluation_budget():
                _environment().from_string(template).render()
        except LimitExceeded as exc:
            raise TemplateError(f"{what[:-1]} {_OVER}: {exc} ({_LIMITS_HELP})", part.lineno) from None
        except Exception:  # failing for every record is still each record's problem
            continue
    try:
        evaluate_empty()
    except LimitExceeded as exc:
        raise TemplateError(f"{what[:-1]} {_OVER}: {exc} ({_LIMITS_HELP})") from None
    except Exception:  # a record with no fields is not a real record
        pass


def _refuse_private(tree: nodes.Node, what: str) -> None:
    from jinja2 import nodes

    # ``attr`` looks attributes up by a name computed at render time: refused outright
    for call in tree.find_all(nodes.Filter):
        if call.name == "attr":
            args = ", ".join(repr(a.value) for a in call.args if isinstance(a, nodes.Const))
            raise TemplateError(
                f"{what} may not use the attr filter (attr({args})); write field.name instead", call.lineno
            )
    # the root too: an expression's root can itself be ``x.__class__``
    for node in [tree, *tree.find_all((nodes.Getattr, nodes.Getitem))]:
        name = node.attr if isinstance(node, nodes.Getattr) else _constant_key(node)
        if isinstance(name, str) and name.startswith("_"):
            raise TemplateError(f"{what} may not use attributes starting with '_' ({name})", node.lineno)


def _constant_key(node: nodes.Node) -> str | None:
    from jinja2 import nodes

    if (
        isinstance(node, nodes.Getitem)
        and isinstance(node.arg, nodes.Const)
        and isinstance(node.arg.value, str)
    ):
        return node.arg.value
    return None


def _chain(node: nodes.Node) -> list[str] | None:
    from jinja2 import nodes

    if isinstance(node, nodes.Name):
        return [node.name]
    if isinstance(node, nodes.Getattr):
        base = _chain(node.node)
        return None if base is None else [*base, node.attr]
    key = _constant_key(node)
    if isinstance(node, nodes.Getitem) and key is not None:
        base = _chain(node.node)
        return None if base is None else [*base, key]
    return None


def _field_paths(tree: nodes.Node) -> Iterator[str]:
    """Record field paths a template or expression reads: ``{{ Owner.Name }}`` → ``Owner.Name``.

    Names the template assigns itself (loop variables, ``set``) and Jinja globals are not fields.
    """
    from jinja2 import nodes

    local = {n.name for n in tree.find_all(nodes.Name) if n.ctx in ("store", "param")}
    local |= set(_environment().globals) | {"loop"}

    def visit(node: nodes.Node) -> Iterator[str]:
        if isinstance(node, nodes.Call) and isinstance(node.node, nodes.Getattr):
            # a method call on a value (``Name.upper()``) reads the value, not a field ``upper``
            yield from visit(node.node.node)
            for child in (*node.args, *node.kwargs):
                yield from visit(child)
            return
        chain = _chain(node)
        if chain is not None:
            if chain[0] not in local:
                yield ".".join(chain)
            return
        for child in node.iter_child_nodes():
            yield from visit(child)

    yield from visit(tree)
