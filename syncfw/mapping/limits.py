"""The sandbox templates and expressions run in, and the limits it enforces.

:class:`BoundedSandbox` is Jinja2's :class:`~jinja2.sandbox.SandboxedEnvironment` with its own
hooks filled in (`Jinja2 sandbox documentation, "Operator Intercepting"
<https://jinja.palletsprojects.com/en/stable/sandbox/#operator-intercepting>`_): the operators
that can build something huge (``*``, ``+``, ``**``, ``%``) go through :meth:`call_binop`, every
call through :meth:`call`. Exceeding a limit raises :class:`LimitExceeded`:

* :data:`MAX_SECONDS` (1 s) of wall-clock time per evaluation (:func:`evaluation_budget`): a
  template renders in microseconds, so only a runaway loop comes near it.
* :data:`MAX_LENGTH` (1,000,000) characters or items in a string or list built by ``*``, ``+``
  or ``~``, and in a template's output: five times the most text Notion keeps in one property
  (100 rich text objects of 2,000 characters, `Notion "Request limits"
  <https://developers.notion.com/reference/request-limits>`_), so a long value still reaches the
  encoder, which truncates it with a warning. Also the largest width or count a pad method or
  filter (``center``, ``indent``, ``batch``, ``ljust``, ``zfill``, a ``%`` or ``format`` width)
  may ask for.
* :data:`MAX_INT_DIGITS` (4,300) decimal digits in an integer made by ``*`` or ``**``: the most
  Python itself converts to text by default (`sys.int_info.default_max_str_digits
  <https://docs.python.org/3/library/stdtypes.html#int-max-str-digits>`_).
* ``range()`` of at most Jinja's own :data:`jinja2.sandbox.MAX_RANGE` (100,000) items.

Nothing is evaluated while compiling: the environment has Jinja's optimizer off and a finalize
that needs the evaluation context, so neither folds a constant such as ``9**999999999`` at
compile time (Jinja otherwise evaluates constant output and operands while generating code).
:func:`constant_parts` finds the parts of a template that do not depend on the record, so that
compiling a template (:class:`syncfw.mapping.expressions.Template`) can evaluate them, and the
template once for a record with no fields, under these limits: ``syncfw validate`` reports what
is over a limit whatever the record.
"""

from __future__ import annotations

import ctypes
import math
import re
import string
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import Any

from jinja2 import nodes, pass_eval_context
from jinja2.compiler import CodeGenerator, Frame
from jinja2.exceptions import SecurityError
from jinja2.nodes import EvalContext
from jinja2.runtime import Context
from jinja2.sandbox import MAX_RANGE, SandboxedEnvironment, safe_range

MAX_SECONDS = 1.0
"""Wall-clock seconds one template or expression evaluation may take."""

MAX_LENGTH = 1_000_000
"""Characters or items of a string or list a template builds, of its output, and of a width."""

MAX_INT_DIGITS = 4300
"""Decimal digits of an integer a template builds with ``*`` or ``**``."""

_PRINTF_SPEC = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?")
_DIGITS = re.compile(r"\d+")
_SEQUENCES = (str, list, tuple)


class LimitExceeded(BaseException):
    """A template or expression went over one of the limits of this module; the message says which.

    A :class:`BaseException`, so that no ``except Exception`` inside Jinja or a filter (constant
    folding, ``default``) swallows it and lets a runaway loop go on.
    """


class EvaluationTimeout(LimitExceeded):
    """An evaluation ran past :data:`MAX_SECONDS` (raised in its thread by :class:`_Watchdog`)."""

    def __init__(self, *args: object) -> None:
        super().__init__(
            *(args or (f"it ran for more than {MAX_SECONDS:g} second{'' if MAX_SECONDS == 1 else 's'}",))
        )


class _Watchdog:
    """One daemon thread that stops evaluations past their deadline, in whatever thread runs them.

    An evaluation registers its thread and deadline (a dict entry under a lock: about a
    microsecond, nothing per line executed). Every :data:`_TICK` seconds the watchdog raises
    :class:`EvaluationTimeout` in each thread past its deadline with CPython's
    ``PyThreadState_SetAsyncExc`` (signals only reach the main thread, and a ``sys.settrace`` hook
    would slow every evaluation about eightfold). The exception arrives at the thread's next
    bytecode; an evaluation that ends before it arrives cancels it, so it never escapes into code
    after the evaluation.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._deadlines: dict[int, list[float]] = {}
        self._fired: set[int] = set()
        self._thread: threading.Thread | None = None

    def start(self, ident: int, deadline: float) -> None:
        with self._lock:
            self._deadlines.setdefault(ident, []).append(deadline)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._watch, name="syncfw-template-watchdog", daemon=True
                )
                self._thread.start()

    def stop(self, ident: int) -> None:
        with self._lock:
            nested = self._deadlines.get(ident, [])
            if nested:
                nested.pop()
            if not nested:
                self._deadlines.pop(ident, None)
            fired = ident in self._fired
            self._fired.discard(ident)
        if fired:  # raised but perhaps not delivered yet: cancel it
            ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(ident), None)

    def _watch(self) -> None:
        while True:
            time.sleep(_TICK)
            now = time.monotonic()
            with self._lock:
                for ident, deadlines in self._deadlines.items():
                    if now > min(deadlines) and ident not in self._fired:
                        self._fired.add(ident)
                        ctypes.pythonapi.PyThreadState_SetAsyncExc(
                            ctypes.c_ulong(ident), ctypes.py_object(EvaluationTimeout)
                        )


_TICK = 0.05
_WATCHDOG = _Watchdog()


@contextmanager
def evaluation_budget(seconds: float = MAX_SECONDS) -> Iterator[None]:
    """Raise :class:`EvaluationTimeout` in the Python code this thread runs after ``seconds``.

    Works in any thread (see :class:`_Watchdog`); a loop in a template, or in a filter written in
    Python, stops within :data:`_TICK` seconds of the deadline. A single operation in C is not
    interrupted: the size limits keep each one small. Budgets nest: the earliest deadline holds.
    """
    ident = threading.get_ident()
    _WATCHDOG.start(ident, time.monotonic() + seconds)
    try:
        yield
    finally:
        _WATCHDOG.stop(ident)


def check_length(value: Any) -> Any:
    """``value`` unchanged when it is no longer than :data:`MAX_LENGTH` (or has no length)."""
    if isinstance(value, _SEQUENCES) and len(value) > MAX_LENGTH:
        raise LimitExceeded(f"it built more than {MAX_LENGTH} characters or items")
    return value


def bounded_join(parts: Iterable[str]) -> str:
    """A template's output parts joined, refused once they pass :data:`MAX_LENGTH` characters."""
    output: list[str] = []
    length = 0
    for part in parts:
        length += len(part)
        if length > MAX_LENGTH:
            raise LimitExceeded(f"its output is longer than {MAX_LENGTH} characters")
        output.append(part)
    return "".join(output)


def _refuse_wide(numbers: Iterable[Any]) -> None:
    for number in numbers:
        if isinstance(number, int) and number > MAX_LENGTH:
            raise LimitExceeded(f"it asked for a width or count over {MAX_LENGTH}")


def _numbers(args: Iterable[Any]) -> Iterator[Any]:
    for arg in args:
        if isinstance(arg, dict):
            yield from arg.values()
        elif isinstance(arg, tuple):
            yield from arg
        else:
            yield arg


def _spec_widths(digits: Iterable[str]) -> Iterator[int]:
    # a run of digits longer than MAX_LENGTH's is over it: no need to convert a huge one to int
    for run in digits:
        yield MAX_LENGTH + 1 if len(run) > len(str(MAX_LENGTH)) else int(run)


def _printf_widths(text: str) -> Iterator[int]:
    for match in _PRINTF_SPEC.finditer(text):
        yield from _spec_widths(g for g in match.groups() if g is not None and g != "*")


def _format_specs(text: str) -> list[str]:
    try:
        return [spec for _literal, _name, spec, _conversion in string.Formatter().parse(text) if spec]
    except ValueError:  # a malformed format string fails when it is used, with Python's message
        return []


def _refuse_long(length: int) -> None:
    if length > MAX_LENGTH:
        raise LimitExceeded(f"it built more than {MAX_LENGTH} characters or items")


def _check_str_method(text: str, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """Refuse a call of ``text.name(*args, **kwargs)`` whose result would be over a limit."""
    if name in ("center", "ljust", "rjust", "zfill", "expandtabs"):
        _refuse_wide(_numbers([*args, *kwargs.values()]))
    elif name in ("format", "format_map"):
        specs = _format_specs(text)
        _refuse_wide(_spec_widths(run for spec in specs for run in _DIGITS.findall(spec)))
        if any("{" in spec for spec in specs):  # a width given as an argument: '{:>{w}}'
            _refuse_wide(_numbers([*args, *kwargs.values()]))
    elif name == "join" and args and isinstance(args[0], list | tuple):
        _refuse_long(len(text) * len(args[0]))
    elif name == "replace" and len(args) >= 2 and isinstance(args[0], str) and isinstance(args[1], str):
        old, new = args[0], args[1]
        _refuse_long(len(text) + len(new) * (text.count(old) if old else len(text) + 1))


def _width_checked(function: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(function)
    def checked(value: Any, *args: Any, **kwargs: Any) -> Any:
        _refuse_wide(_numbers([*args, *kwargs.values()]))
        return function(value, *args, **kwargs)

    return checked


def _printf_checked(function: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(function)
    def checked(value: Any, *args: Any, **kwargs: Any) -> Any:
        _check_binop("%", value, kwargs or args)
        return function(value, *args, **kwargs)

    return checked


def _range(*args: int) -> range:
    try:
        return safe_range(*args)
    except OverflowError:
        raise LimitExceeded(f"it asked for a range of more than {MAX_RANGE} items") from None


def _check_binop(operator: str, left: Any, right: Any) -> None:
    digits = 0.0
    if isinstance(left, int) and isinstance(right, int):
        if operator == "**" and right > 0 and abs(left) > 1:
            digits = right * math.log10(abs(left))
        elif operator == "*":
            digits = (left.bit_length() + right.bit_length()) * math.log10(2)
    if digits > MAX_INT_DIGITS:
        raise LimitExceeded(f"it built an integer of more than {MAX_INT_DIGITS} digits ({operator})")
    length = 0
    if operator == "*" and isinstance(left, int) != isinstance(right, int):
        count, sequence = (left, right) if isinstance(left, int) else (right, left)
        if isinstance(sequence, _SEQUENCES):
            length = len(sequence) * max(count, 0)
    elif operator == "+" and isinstance(left, _SEQUENCES) and isinstance(right, _SEQUENCES):
        length = len(left) + len(right)
    if length > MAX_LENGTH:
        raise LimitExceeded(f"it built more than {MAX_LENGTH} characters or items ({operator})")
    if operator == "%" and isinstance(left, str):
        _refuse_wide(_printf_widths(left))
        if "*" in left:  # a width given as an argument: '%*d' % (width, n)
            _refuse_wide(_numbers([right]))


class _BoundedCodeGenerator(CodeGenerator):
    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        # ``~`` is not an interceptable operator: its result goes through check_length instead
        self.write("environment.check_length(")
        super().visit_Concat(node, frame)
        self.write(")")


@pass_eval_context
def _blank_none(eval_ctx: EvalContext, value: Any) -> Any:
    # needs the evaluation context only so that Jinja cannot evaluate output at compile time
    return "" if value is None else value


class BoundedSandbox(SandboxedEnvironment):
    """Jinja2's sandbox with the limits of this module (see the module docstring).

    Missing values are ``undefined_type`` and render empty, None renders empty, no autoescape.
    """

    intercepted_binops = frozenset({"*", "+", "**", "%"})
    code_generator_class = _BoundedCodeGenerator
    check_length = staticmethod(check_length)

    def __init__(self, undefined_type: type[Any]) -> None:
        super().__init__(undefined=undefined_type, finalize=_blank_none, autoescape=False, optimized=False)
        self.globals["range"] = _range
        for name in ("batch", "center", "indent"):
            self.filters[name] = _width_checked(self.filters[name])
        self.filters["format"] = _printf_checked(self.filters["format"])

    def unsafe_undefined(self, obj: Any, attribute: str) -> Any:
        # the default returns an undefined that renders empty: an escape attempt must fail loudly
        raise SecurityError(f"access to attribute {attribute!r} of a {type(obj).__name__} is not allowed")

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        """``left operator right``, refused when the result would be over a limit."""
        _check_binop(operator, left, right)
        return super().call_binop(context, operator, left, right)

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        """A call from a template; a string method that builds text (``ljust``, ``zfill``,
        ``format``, ``join``, ``replace``…) is refused when its result would be over a limit."""
        method = getattr(__obj, "__wrapped__", __obj)  # the sandbox wraps str.format
        owner = getattr(method, "__self__", None)
        if isinstance(owner, str):
            _check_str_method(owner, getattr(method, "__name__", ""), args, kwargs)
        return super().call(__context, __obj, *args, **kwargs)


def constant_parts(environment: BoundedSandbox, tree: nodes.Node) -> Iterator[nodes.Expr]:
    """The largest expressions of ``tree`` that read no record field nor template variable."""
    local = {n.name for n in tree.find_all(nodes.Name) if n.ctx in ("store", "param")}

    def depends(part: nodes.Node) -> bool:
        if isinstance(part, nodes.Name):
            return part.name in local or part.name not in environment.globals
        if isinstance(part, nodes.Filter):
            return part.node is None  # a {% filter %} block's filter applies to the block's output
        return not isinstance(part, nodes.Expr) or isinstance(
            part, nodes.ContextReference | nodes.DerivedContextReference | nodes.InternalName
        )

    def constant(node: nodes.Expr) -> bool:
        if isinstance(node, nodes.Literal | nodes.Name):
            return False  # nothing to evaluate
        return not any(depends(part) for part in (node, *node.find_all(nodes.Node)))

    def visit(node: nodes.Node) -> Iterator[nodes.Expr]:
        for child in node.iter_child_nodes():
            if isinstance(child, nodes.Expr) and constant(child):
                yield child
            else:
                yield from visit(child)

    yield from visit(tree)
