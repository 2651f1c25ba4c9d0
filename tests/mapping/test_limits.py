"""Templates and expressions within limits (issue 12, case 7): time, output, string, width and
integer size; refused when compiling if no record is needed to go over, else per record."""

from __future__ import annotations

import sys
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from syncfw.mapping import encode
from syncfw.mapping.expressions import Template, TemplateError, compile_expression
from syncfw.mapping.limits import MAX_LENGTH

from .test_evaluate import compiled

LOOPS = "{% for i in range(n) %}{% for j in range(n) %}{% endfor %}{% endfor %}{{ name }}"


@pytest.mark.parametrize(
    ("source", "says"),
    [
        ("{{ 9 ** 999999999 }}", "an integer of more than 4300 digits"),
        ("{{ 10 ** 3000 * 10 ** 3000 }}", "an integer of more than 4300 digits"),
        ("{{ [0] * 3000000000 }}", "more than 1000000 characters or items"),
        ("{{ 'ab' * 600000 + 'ab' * 600000 }}", "more than 1000000 characters or items"),
        ("{{ 'x'|indent(3000000000) }}", "a width or count over 1000000"),
        ("{{ [1]|batch(3000000000, 0)|list }}", "a width or count over 1000000"),
        ("{{ 'x'.zfill(3000000000) }}", "a width or count over 1000000"),
        ("{{ '{:>3000000000}'.format(1) }}", "a width or count over 1000000"),
        ("{{ '%0*d'|format(3000000000, 1) }}", "a width or count over 1000000"),
        ("{{ ('x' * 1000).replace('', 'y' * 2000) }}", "more than 1000000 characters or items"),
        ("{{ ('x' * 1000).join(['a'] * 2000) }}", "more than 1000000 characters or items"),
        (
            "{% set ns = namespace(s='x') %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}"
            "{% endfor %}{{ ns.s }}",
            "more than 1000000 characters or items",
        ),
        ("{% for i in range(1000) %}{{ 'x' * 2000 }}{% endfor %}", "output is longer than 1000000"),
    ],
)
def test_a_template_over_a_limit_whatever_the_record_does_not_compile(source: str, says: str) -> None:
    with pytest.raises(TemplateError, match="template over a limit") as error:
        Template(source)
    assert says in str(error.value)


def test_an_expression_over_a_limit_whatever_the_record_does_not_compile() -> None:
    with pytest.raises(TemplateError, match="expression over a limit: it built an integer"):
        compile_expression("status == 'open' and 9 ** 999999999 > 1")


@pytest.mark.parametrize(
    ("source", "record", "says"),
    [
        ("{{ name * times }}", {"name": "ab", "times": 3_000_000_000}, "more than 1000000 characters"),
        ("{{ base ** exponent }}", {"base": 9, "exponent": 999_999_999}, "an integer of more than 4300"),
        (LOOPS, {"name": "a", "n": 100_000}, "it ran for more than 1 second"),
        ("{{ name.ljust(width) }}", {"name": "a", "width": 3_000_000_000}, "a width or count over"),
    ],
)
def test_a_record_that_takes_a_template_over_a_limit_fails_alone(
    source: str, record: dict[str, Any], says: str
) -> None:
    mapping = compiled(Shown={"type": "rich_text", "template": source})
    values, errors = mapping.evaluate(record)
    assert values == {} and [e.property for e in errors] == ["Shown"]
    assert errors[0].reason.startswith("template over a limit: ") and says in errors[0].reason
    assert "README" in errors[0].reason


def test_the_time_budget_stops_a_template_in_a_worker_thread_and_leaves_the_trace_function_alone() -> None:
    template = Template(LOOPS)

    def render(n: int) -> str | None:
        before = sys.gettrace()
        try:
            return template.render({"name": "a", "n": n})
        finally:
            assert sys.gettrace() is before

    with ThreadPoolExecutor(2) as pool:
        runaway = pool.submit(render, 100_000)
        ordinary = pool.submit(render, 10)
        with pytest.raises(ValueError, match="it ran for more than 1 second"):
            runaway.result(timeout=30)
        assert ordinary.result(timeout=30) == "a"


def test_templates_within_the_limits_are_unchanged() -> None:
    template = Template(
        "{{ '-' * 3 }} {{ 10 ** 12 }} {{ '%05d' % n }} {{ 'Order 12345678: %s' % name }} "
        "{{ '{:>4}'.format(n) }} {{ name|center(7) }} {{ [1, 2] + [3] }} {{ range(3)|join }} "
        "{{ 'Revenue: {}'.format(revenue) }} {{ '%d'|format(revenue) }} {{ name.replace('a', 'o') }}"
    )
    assert template.render({"n": 42, "name": "Ada", "revenue": 139_000_000}) == (
        "--- 1000000000000 00042 Order 12345678: Ada   42   Ada   [1, 2, 3] 012 "
        "Revenue: 139000000 139000000 Ado"
    )


def test_a_long_value_within_the_output_limit_reaches_notion_truncated_with_a_warning() -> None:
    mapping = compiled(Notes={"type": "rich_text", "template": "{{ notes }}"})
    values, errors = mapping.evaluate({"notes": "y" * 250_000})
    assert errors == [] and len(values["Notes"]) == 250_000 <= MAX_LENGTH
    encoded, warnings = encode("rich_text", values["Notes"])
    assert len(encoded["rich_text"]) == 100 and warnings
