"""A parser for the subset of SOQL the emulator answers.

Grammar (keywords case-insensitive; SOQL and SOSL Reference, "SOQL SELECT Syntax",
https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/sforce_api_calls_soql_select.htm)::

    query      := SELECT (COUNT "(" ")" | field ("," field)*) FROM name [WHERE condition]
                  [ORDER BY order ("," order)*] [LIMIT integer] [OFFSET integer]
    field      := name ("." name)*                       -- Name, Owner.Name, Account.Owner.Name
    condition  := unary (AND unary)* | unary (OR unary)*  -- mixing AND and OR needs parentheses
    unary      := NOT unary | "(" condition ")" | comparison
    comparison := field op literal | field [NOT] IN "(" literal ("," literal)* ")" | field LIKE string
    op         := "=" | "!=" | "<>" | "<" | "<=" | ">" | ">="
    literal    := 'string' | number | true | false | null | datetime | date
    order      := field [ASC | DESC] [NULLS (FIRST | LAST)]

Datetime literals are unquoted: ``2026-05-01T07:25:37Z``, ``2026-05-01T07:25:37+00:00``,
``2026-05-01T07:25:37.000+0000``; date literals ``2026-05-01``. Errors are :class:`SoqlError`
with Salesforce's error code and the character offset they point at.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from typing import Literal, NoReturn

from syncfw_salesforce.datetimes import parse_datetime

ValueKind = Literal["string", "number", "boolean", "null", "datetime", "date"]
Value = str | int | float | bool | datetime | date | None

# SOQL's reserved words (SOQL and SOSL Reference, "Reserved Characters and Keywords"), plus the
# boolean and null literals; none of them can name a field
_RESERVED = frozenset(
    {
        *("AND", "ASC", "DESC", "EXCLUDES", "FIRST", "FROM", "GROUP", "HAVING", "IN", "INCLUDES"),
        *("LAST", "LIKE", "LIMIT", "NOT", "NULL", "NULLS", "OR", "SELECT", "WHERE", "WITH"),
        *("TRUE", "FALSE"),
    }
)
# relative date literals (TODAY, LAST_N_DAYS:7, ...) are real SOQL the emulator does not evaluate
_DATE_LITERALS = frozenset(
    {
        *("YESTERDAY", "TODAY", "TOMORROW", "LAST_WEEK", "THIS_WEEK", "NEXT_WEEK", "LAST_MONTH"),
        *("THIS_MONTH", "NEXT_MONTH", "LAST_90_DAYS", "NEXT_90_DAYS", "THIS_QUARTER", "LAST_QUARTER"),
        *("NEXT_QUARTER", "THIS_YEAR", "LAST_YEAR", "NEXT_YEAR", "LAST_N_DAYS", "NEXT_N_DAYS"),
        *("N_DAYS_AGO", "LAST_N_WEEKS", "NEXT_N_WEEKS", "LAST_N_MONTHS", "NEXT_N_MONTHS"),
        *("LAST_N_YEARS", "NEXT_N_YEARS"),
    }
)
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?(Z|[+-]\d{2}:?\d{2})")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_NUMBER = re.compile(r"-?\d+(\.\d+)?")
_STRING_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f", '"': '"', "'": "'", "\\": "\\"}
_OPERATORS = ("<=", ">=", "!=", "<>", "=", "<", ">")


class SoqlError(Exception):
    """A query Salesforce would refuse.

    Attributes:
        error_code: Salesforce's code: ``MALFORMED_QUERY``, ``INVALID_FIELD``, ``INVALID_TYPE``.
        reason: the reason line, e.g. ``unexpected token: 'FORM'``.
        position: the character offset in the query the error points at, if any.
    """

    def __init__(self, error_code: str, reason: str, position: int | None = None) -> None:
        super().__init__(reason)
        self.error_code = error_code
        self.reason = reason
        self.position = position

    def message(self, query: str) -> str:
        """The message as Salesforce writes it: the query line, a caret, the position, the reason.

        ``"\\nSELECT Id, Foo FROM Account\\n           ^\\nERROR at Row:1:Column:12\\nNo such column..."``
        """
        if self.position is None:
            return self.reason
        row = query.count("\n", 0, self.position) + 1
        line_start = query.rfind("\n", 0, self.position) + 1
        line_end = query.find("\n", self.position)
        line = query[line_start : line_end if line_end >= 0 else len(query)]
        column = self.position - line_start + 1
        caret = " " * (column - 1) + "^"
        return f"\n{line}\n{caret}\nERROR at Row:{row}:Column:{column}\n{self.reason}"


class Kind(Enum):
    """Token kinds."""

    NAME = "name"
    STRING = "string"
    NUMBER = "number"
    DATETIME = "datetime"
    DATE = "date"
    OPERATOR = "operator"
    COMMA = ","
    DOT = "."
    LPAREN = "("
    RPAREN = ")"
    COLON = ":"
    END = "end"


@dataclass(frozen=True)
class Token:
    """One token: its kind, its source text, its decoded value and its offset."""

    kind: Kind
    text: str
    value: Value
    position: int


@dataclass(frozen=True)
class FieldRef:
    """A field path as written: ``("Owner", "Name")``."""

    path: tuple[str, ...]
    position: int

    @property
    def text(self) -> str:
        """The path joined with dots."""
        return ".".join(self.path)


@dataclass(frozen=True)
class Constant:
    """A literal value and what kind of literal it was written as."""

    value: Value
    kind: ValueKind
    position: int


@dataclass(frozen=True)
class Comparison:
    """``field <operator> values``; operator is one of ``= != < <= > >= IN NOT IN LIKE``."""

    field: FieldRef
    operator: str
    values: tuple[Constant, ...]


@dataclass(frozen=True)
class BoolOp:
    """``AND`` or ``OR`` of two or more conditions."""

    operator: Literal["AND", "OR"]
    operands: tuple[Condition, ...]


@dataclass(frozen=True)
class Not:
    """``NOT condition``."""

    operand: Condition


Condition = Comparison | BoolOp | Not


@dataclass(frozen=True)
class OrderItem:
    """One ``ORDER BY`` key. Nulls come first unless ``NULLS LAST`` is written."""

    field: FieldRef
    descending: bool
    nulls_last: bool


@dataclass(frozen=True)
class Query:
    """A parsed SOQL query."""

    fields: tuple[FieldRef, ...]
    sobject: str
    sobject_position: int
    where: Condition | None
    order_by: tuple[OrderItem, ...]
    limit: int | None
    offset: int | None
    count: bool = False
    """``SELECT COUNT()``: the answer is ``totalSize`` alone, with no records."""


def parse(text: str) -> Query:
    """Parse one SOQL query.

    Raises:
        SoqlError: ``MALFORMED_QUERY`` for syntax errors and for SOQL the emulator does not
            implement (aggregates other than ``COUNT()``, subqueries, relative date literals).
    """
    return _Parser(tokenize(text)).query()


def tokenize(text: str) -> list[Token]:
    """Split a query into tokens, ending with an ``END`` token.

    Raises:
        SoqlError: ``MALFORMED_QUERY`` for a character that starts no token or a bad literal.
    """
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        char = text[pos]
        if char.isspace():
            pos += 1
        elif char.isalpha() or char == "_":
            end = pos
            while end < len(text) and (text[end].isalnum() or text[end] == "_"):
                end += 1
            tokens.append(Token(Kind.NAME, text[pos:end], text[pos:end], pos))
            pos = end
        elif char.isdigit() or (char == "-" and text[pos + 1 : pos + 2].isdigit()):
            token = _number_or_time(text, pos)
            tokens.append(token)
            pos += len(token.text)
        elif char == "'":
            token = _string(text, pos)
            tokens.append(token)
            pos += len(token.text)
        elif char in ",.():":
            tokens.append(Token(Kind(char), char, char, pos))
            pos += 1
        else:
            operator = next((op for op in _OPERATORS if text.startswith(op, pos)), None)
            if operator is None:
                raise SoqlError("MALFORMED_QUERY", f"unexpected token: '{char}'", pos)
            tokens.append(Token(Kind.OPERATOR, operator, "!=" if operator == "<>" else operator, pos))
            pos += len(operator)
    tokens.append(Token(Kind.END, "", None, len(text)))
    return tokens


def _number_or_time(text: str, pos: int) -> Token:
    if match := _DATETIME.match(text, pos):
        try:
            return Token(Kind.DATETIME, match.group(), parse_datetime(match.group()), pos)
        except ValueError:
            raise SoqlError("MALFORMED_QUERY", f"invalid datetime: {match.group()}", pos) from None
    if (match := _DATE.match(text, pos)) and not text[match.end() : match.end() + 1].isalnum():
        try:
            return Token(Kind.DATE, match.group(), date.fromisoformat(match.group()), pos)
        except ValueError:
            raise SoqlError("MALFORMED_QUERY", f"invalid date: {match.group()}", pos) from None
    match = _NUMBER.match(text, pos)
    assert match is not None  # the caller saw a digit
    if text[match.end() : match.end() + 1].isalpha():
        raise SoqlError("MALFORMED_QUERY", f"unexpected token: '{match.group()}'", pos)
    number = match.group()
    value: float | int = float(number) if "." in number else int(number)
    return Token(Kind.NUMBER, number, value, pos)


def _string(text: str, pos: int) -> Token:
    chars: list[str] = []
    index = pos + 1
    while index < len(text):
        char = text[index]
        if char == "'":
            return Token(Kind.STRING, text[pos : index + 1], "".join(chars), pos)
        if char == "\\":
            escaped = text[index + 1 : index + 2]
            if escaped in ("%", "_"):  # meaningful to LIKE only: kept escaped for the pattern
                chars.append("\\" + escaped)
            elif escaped.lower() in _STRING_ESCAPES:
                chars.append(_STRING_ESCAPES[escaped.lower()])
            else:
                raise SoqlError(
                    "MALFORMED_QUERY",
                    f"Invalid string literal '{text[pos : index + 2]}'. Illegal character sequence "
                    f"'\\{escaped}' in string literal.",
                    index,
                )
            index += 2
        else:
            chars.append(char)
            index += 1
    raise SoqlError("MALFORMED_QUERY", "unexpected token: <EOF> (unterminated string literal)", pos)


class _Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self._tokens = tokens
        self._index = 0

    @property
    def _current(self) -> Token:
        return self._tokens[self._index]

    def _advance(self) -> Token:
        token = self._tokens[self._index]
        if token.kind is not Kind.END:
            self._index += 1
        return token

    def _is_keyword(self, *words: str) -> bool:
        token = self._current
        return token.kind is Kind.NAME and token.text.upper() in words

    def _accept_keyword(self, *words: str) -> str | None:
        if self._is_keyword(*words):
            return self._advance().text.upper()
        return None

    def _expect_keyword(self, word: str) -> None:
        if self._accept_keyword(word) is None:
            self._unexpected()

    def _at(self, kind: Kind) -> bool:
        return self._current.kind is kind

    def _accept(self, kind: Kind) -> bool:
        if self._current.kind is kind:
            self._advance()
            return True
        return False

    def _expect(self, kind: Kind) -> Token:
        if self._current.kind is not kind:
            self._unexpected()
        return self._advance()

    def _unexpected(self, reason: str | None = None) -> NoReturn:
        token = self._current
        text = "<EOF>" if token.kind is Kind.END else token.text
        raise SoqlError("MALFORMED_QUERY", reason or f"unexpected token: '{text}'", token.position)

    def query(self) -> Query:
        self._expect_keyword("SELECT")
        count = self._count_function()
        fields = [] if count else [self._select_item()]
        while not count and self._accept(Kind.COMMA):
            fields.append(self._select_item())
        self._expect_keyword("FROM")
        sobject = self._expect(Kind.NAME)
        where = self._condition() if self._accept_keyword("WHERE") else None
        order_by: list[OrderItem] = []
        if self._accept_keyword("ORDER"):
            self._expect_keyword("BY")
            order_by.append(self._order_item())
            while self._accept(Kind.COMMA):
                order_by.append(self._order_item())
        limit = self._count() if self._accept_keyword("LIMIT") else None
        offset = self._count() if self._accept_keyword("OFFSET") else None
        if not self._at(Kind.END):
            self._unexpected()
        return Query(
            tuple(fields), sobject.text, sobject.position, where, tuple(order_by), limit, offset, count
        )

    def _count_function(self) -> bool:
        """Consume ``COUNT()`` (the whole select list) if it comes next."""
        if not (self._is_keyword("COUNT") and self._tokens[self._index + 1].kind is Kind.LPAREN):
            return False
        self._advance()
        self._advance()
        self._expect(Kind.RPAREN)
        return True

    def _select_item(self) -> FieldRef:
        if self._at(Kind.LPAREN):
            self._unexpected("the syncfw Salesforce emulator does not support relationship subqueries")
        field = self._field()
        if self._at(Kind.LPAREN):
            raise SoqlError(
                "MALFORMED_QUERY",
                f"the syncfw Salesforce emulator does not support functions such as {field.text}()",
                field.position,
            )
        return field

    def _field(self) -> FieldRef:
        first = self._name()
        parts = [first.text]
        while self._accept(Kind.DOT):
            parts.append(self._name().text)
        return FieldRef(tuple(parts), first.position)

    def _order_item(self) -> OrderItem:
        field = self._field()
        descending = self._accept_keyword("ASC", "DESC") == "DESC"
        nulls_last = False
        if self._accept_keyword("NULLS"):
            placement = self._accept_keyword("FIRST", "LAST")
            if placement is None:
                self._unexpected()
            nulls_last = placement == "LAST"
        return OrderItem(field, descending, nulls_last)

    def _name(self) -> Token:
        token = self._current
        if token.kind is not Kind.NAME or token.text.upper() in _RESERVED:
            self._unexpected()
        return self._advance()

    def _count(self) -> int:
        token = self._current
        if token.kind is not Kind.NUMBER or not isinstance(token.value, int) or token.value < 0:
            self._unexpected()
        self._advance()
        return token.value

    def _condition(self) -> Condition:
        operands = [self._unary()]
        operator: str | None = None
        while self._is_keyword("AND", "OR"):
            word = self._current.text.upper()
            if operator is not None and word != operator:
                self._unexpected()
            operator = self._advance().text.upper()
            operands.append(self._unary())
        if operator is None:
            return operands[0]
        return BoolOp("AND" if operator == "AND" else "OR", tuple(operands))

    def _unary(self) -> Condition:
        if self._accept_keyword("NOT"):
            return Not(self._unary())
        if self._accept(Kind.LPAREN):
            condition = self._condition()
            self._expect(Kind.RPAREN)
            return condition
        return self._comparison()

    def _comparison(self) -> Comparison:
        field = self._field()
        if self._accept_keyword("NOT"):
            self._expect_keyword("IN")
            return Comparison(field, "NOT IN", self._value_list())
        if self._accept_keyword("IN"):
            return Comparison(field, "IN", self._value_list())
        if self._accept_keyword("LIKE"):
            pattern = self._literal()
            if pattern.kind != "string":
                raise SoqlError("MALFORMED_QUERY", "LIKE needs a string pattern", pattern.position)
            return Comparison(field, "LIKE", (pattern,))
        if not self._at(Kind.OPERATOR):
            self._unexpected()
        operator = self._advance()
        return Comparison(field, str(operator.value), (self._literal(),))

    def _value_list(self) -> tuple[Constant, ...]:
        self._expect(Kind.LPAREN)
        if self._is_keyword("SELECT"):
            self._unexpected("the syncfw Salesforce emulator does not support semi-join subqueries")
        values = [self._literal()]
        while self._accept(Kind.COMMA):
            values.append(self._literal())
        self._expect(Kind.RPAREN)
        return tuple(values)

    def _literal(self) -> Constant:
        token = self._current
        kinds: dict[Kind, ValueKind] = {
            Kind.STRING: "string",
            Kind.NUMBER: "number",
            Kind.DATETIME: "datetime",
            Kind.DATE: "date",
        }
        if token.kind in kinds:
            self._advance()
            return Constant(token.value, kinds[token.kind], token.position)
        if token.kind is Kind.NAME:
            word = token.text.upper()
            if word in ("TRUE", "FALSE"):
                self._advance()
                return Constant(word == "TRUE", "boolean", token.position)
            if word == "NULL":
                self._advance()
                return Constant(None, "null", token.position)
            if word in _DATE_LITERALS:
                self._unexpected(
                    f"the syncfw Salesforce emulator does not support date literals such as {word}"
                )
        self._unexpected()
