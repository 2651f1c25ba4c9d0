"""The emulator's SOQL parser: the subset it accepts, and the errors it gives like Salesforce."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from syncfw_salesforce.emulator.soql import BoolOp, Comparison, Not, SoqlError, parse


def test_select_list_with_relationship_paths_from_order_limit_offset() -> None:
    query = parse(
        "select Id, Owner.Name, Account.Owner.Name from Contact "
        "ORDER BY LastName desc nulls last, FirstName LIMIT 10 OFFSET 5"
    )

    assert [f.path for f in query.fields] == [("Id",), ("Owner", "Name"), ("Account", "Owner", "Name")]
    assert query.sobject == "Contact"
    assert [(o.field.text, o.descending, o.nulls_last) for o in query.order_by] == [
        ("LastName", True, True),
        ("FirstName", False, False),
    ]
    assert (query.limit, query.offset, query.where) == (10, 5, None)


@pytest.mark.parametrize(
    "literal",
    [
        "2026-05-01T07:25:37Z",
        "2026-05-01T07:25:37+00:00",
        "2026-05-01T07:25:37.000+0000",
        "2026-05-01T09:25:37+02:00",
    ],
)
def test_datetime_literals_are_unquoted_and_zoned(literal: str) -> None:
    where = parse(f"SELECT Id FROM Account WHERE SystemModstamp >= {literal}").where

    assert isinstance(where, Comparison)
    assert where.values[0].kind == "datetime"
    assert where.values[0].value == datetime(2026, 5, 1, 7, 25, 37, tzinfo=UTC)


def test_literals_of_every_kind() -> None:
    where = parse(
        "SELECT Id FROM Account WHERE Name = 'O\\'Brien \\\\ Sons' AND AnnualRevenue > -1.5 "
        "AND NumberOfEmployees <> 3 AND IsDeleted = false AND ParentId = null AND CloseDate < 2026-05-01"
    ).where

    assert isinstance(where, BoolOp) and where.operator == "AND"
    values = [
        (c.operator, c.values[0].kind, c.values[0].value) for c in where.operands if isinstance(c, Comparison)
    ]
    assert values == [
        ("=", "string", "O'Brien \\ Sons"),
        (">", "number", -1.5),
        ("!=", "number", 3),
        ("=", "boolean", False),
        ("=", "null", None),
        ("<", "date", date(2026, 5, 1)),
    ]


def test_not_parentheses_and_in_lists() -> None:
    where = parse(
        "SELECT Id FROM Account WHERE NOT (Industry IN ('Energy', 'Apparel') OR Type NOT IN ('Other')) "
        "AND Name LIKE 'United%'"
    ).where

    assert isinstance(where, BoolOp) and where.operator == "AND"
    negated, like = where.operands
    assert isinstance(negated, Not)
    inner = negated.operand
    assert isinstance(inner, BoolOp) and inner.operator == "OR"
    assert [
        (c.operator, [v.value for v in c.values]) for c in inner.operands if isinstance(c, Comparison)
    ] == [
        ("IN", ["Energy", "Apparel"]),
        ("NOT IN", ["Other"]),
    ]
    assert isinstance(like, Comparison) and like.operator == "LIKE"


def error(query: str) -> SoqlError:
    with pytest.raises(SoqlError) as caught:
        parse(query)
    return caught.value


def test_syntax_error_points_at_the_token_like_salesforce() -> None:
    exc = error("SELECT Id FORM Account")

    assert exc.error_code == "MALFORMED_QUERY"
    assert exc.message("SELECT Id FORM Account") == (
        "\nSELECT Id FORM Account\n          ^\nERROR at Row:1:Column:11\nunexpected token: 'FORM'"
    )


def test_error_rows_and_columns_count_lines() -> None:
    query = "SELECT Id\nFROM Account\nWHERE Name = = 'x'"

    message = error(query).message(query)

    assert message.endswith(
        "\nWHERE Name = = 'x'\n             ^\nERROR at Row:3:Column:14\nunexpected token: '='"
    )


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ("SELECT FROM Account", "unexpected token: 'FROM'"),
        ("SELECT Id FROM Account WHERE A = 1 AND B = 2 OR C = 3", "unexpected token: 'OR'"),
        ("SELECT Id FROM Account WHERE Name = 'open", "unterminated string literal"),
        ("SELECT Id FROM Account WHERE Name = 'a\\qb'", "Illegal character sequence '\\q'"),
        ('SELECT Id FROM Account WHERE Name = "x"', "unexpected token: '\"'"),
        ("SELECT Id FROM Account WHERE CreatedDate > 2026-13-01T00:00:00Z", "invalid datetime"),
        ("SELECT Id FROM Account WHERE CreatedDate = TODAY", "does not support date literals such as TODAY"),
        ("SELECT MAX(AnnualRevenue) FROM Account", "does not support functions such as MAX()"),
        ("SELECT Id, (SELECT Id FROM Contacts) FROM Account", "does not support relationship subqueries"),
        ("SELECT Id FROM Account LIMIT -1", "unexpected token: '-1'"),
        ("SELECT Id FROM Account ORDER BY Name NULLS", "unexpected token: '<EOF>'"),
        ("SELECT Id FROM Account extra", "unexpected token: 'extra'"),
    ],
)
def test_malformed_queries(query: str, reason: str) -> None:
    exc = error(query)

    assert exc.error_code == "MALFORMED_QUERY"
    assert reason in exc.reason
