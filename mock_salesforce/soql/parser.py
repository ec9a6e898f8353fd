"""SOQL tokens to a syntax tree, for the subset the mock org evaluates (pure).

The subset::

    SELECT COUNT() | field [, field ...]
    FROM Opportunity
    [WHERE condition]
    [ORDER BY field [ASC|DESC] [NULLS FIRST|LAST] [, ...]]
    [LIMIT n] [OFFSET n]

    condition  := term {AND term} | term {OR term}     (mixing needs parentheses, as in SOQL)
    term       := NOT term | ( condition ) | field op value | field [NOT] IN (value, ...)
                | field LIKE 'pattern'
    op         := = | != | <> | < | <= | > | >=
    value      := 'text' | number | TRUE | FALSE | NULL | date | dateTime
                | date literal [: n]

Everything else SOQL has -- relationship fields, subqueries, aggregates other than
``COUNT()``, GROUP BY, HAVING, WITH, FOR, USING SCOPE, TYPEOF, FIELDS(), bind variables,
aliases, INCLUDES/EXCLUDES -- is refused with ``MALFORMED_QUERY`` naming the construct:
the mock answers a query exactly or not at all. Names are bound to fields, and values
checked against the fields' types, by :mod:`mock_salesforce.soql.evaluate`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mock_salesforce.soql.dates import WITH_N, is_literal
from mock_salesforce.soql.lexer import SoqlError, Token, tokenize

_UNSUPPORTED_CLAUSES = {
    "GROUP": "GROUP BY",
    "HAVING": "HAVING",
    "WITH": "WITH",
    "FOR": "FOR VIEW/REFERENCE/UPDATE",
    "USING": "USING SCOPE",
    "UPDATE": "UPDATE TRACKING/VIEWSTAT",
}
#: Functions SOQL has in SELECT or WHERE; the mock answers none of them but COUNT().
_FUNCTIONS = {
    "AVG", "SUM", "MIN", "MAX", "COUNT_DISTINCT", "FIELDS", "TYPEOF", "FORMAT", "TOLABEL",
    "CONVERTCURRENCY", "CALENDAR_YEAR", "DAY_ONLY", "DISTANCE", "GROUPING",
}  # fmt: skip
MAX_OFFSET = 2000


@dataclass(frozen=True)
class Value:
    """A literal as written: ``kind`` string, number, boolean, null, date, datetime or
    range (a date literal: ``text`` its name, ``n`` its number)."""

    kind: str
    text: str
    at: int
    n: int | None = None


@dataclass(frozen=True)
class Comparison:
    field: str
    at: int
    op: str  # =, !=, <, <=, >, >=, LIKE, IN, NOT IN
    values: tuple[Value, ...]


@dataclass(frozen=True)
class Logical:
    op: str  # AND, OR, NOT
    parts: tuple[Any, ...]


@dataclass(frozen=True)
class Order:
    field: str
    at: int
    descending: bool
    nulls_last: bool


@dataclass(frozen=True)
class Statement:
    text: str
    fields: tuple[tuple[str, int], ...]  # empty: COUNT()
    count: bool
    sobject: str
    sobject_at: int
    where: Comparison | Logical | None
    order: tuple[Order, ...]
    limit: int | None
    offset: int | None


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.index = 0

    @property
    def token(self) -> Token:
        return self.tokens[self.index]

    def next(self) -> Token:
        token = self.token
        if token.kind != "eof":
            self.index += 1
        return token

    def fail(
        self, reason: str, token: Token | None = None, code: str = "MALFORMED_QUERY"
    ) -> SoqlError:
        return SoqlError(code, reason, self.text, (token or self.token).at)

    def unexpected(self, token: Token | None = None) -> SoqlError:
        token = token or self.token
        shown = token.text if token.kind != "string" else f"'{token.text}'"
        return self.fail(f"unexpected token: {shown}", token)

    def expect_word(self, word: str) -> Token:
        if not self.token.is_word(word):
            raise self.unexpected()
        return self.next()

    def expect(self, text: str) -> Token:
        if self.token.text != text or self.token.kind == "string":
            raise self.unexpected()
        return self.next()

    # -- statement ---------------------------------------------------------------------
    def statement(self) -> Statement:
        self.expect_word("SELECT")
        fields, count = self.select_list()
        self.expect_word("FROM")
        sobject = self.name()
        if self.token.kind == "ident" and not self._clause_word():
            raise self.fail(f"unsupported by the mock org: an alias ({self.token.text})")
        where = None
        if self.token.is_word("WHERE"):
            self.next()
            where = self.condition()
        order: tuple[Order, ...] = ()
        self._refuse_clause()
        if self.token.is_word("ORDER"):
            self.next()
            self.expect_word("BY")
            order = self.order_list()
        limit = offset = None
        self._refuse_clause()
        if self.token.is_word("LIMIT"):
            self.next()
            limit = self.integer("LIMIT")
        if self.token.is_word("OFFSET"):
            at = self.next()
            offset = self.integer("OFFSET")
            if offset > MAX_OFFSET:
                raise self.fail(
                    f"Maximum SOQL offset allowed is {MAX_OFFSET}", at, "NUMBER_OUTSIDE_VALID_RANGE"
                )
        self._refuse_clause()
        if self.token.kind != "eof":
            raise self.unexpected()
        return Statement(
            self.text, fields, count, sobject.text, sobject.at, where, order, limit, offset
        )

    def _clause_word(self) -> bool:
        return self.token.is_word("WHERE", "ORDER", "LIMIT", "OFFSET", *_UNSUPPORTED_CLAUSES)

    def _refuse_clause(self) -> None:
        if self.token.kind == "ident" and self.token.upper in _UNSUPPORTED_CLAUSES:
            name = _UNSUPPORTED_CLAUSES[self.token.upper]
            raise self.fail(f"unsupported by the mock org: {name}")

    def name(self) -> Token:
        token = self.token
        if token.kind != "ident":
            raise self.unexpected()
        self.next()
        if self.token.text == "." and self.token.kind == "punct":
            raise self.fail(
                f"unsupported by the mock org: relationship field {token.text}."
                f"{self.tokens[self.index + 1].text}",
                token,
            )
        return token

    def select_list(self) -> tuple[tuple[tuple[str, int], ...], bool]:
        if self.token.is_word("COUNT") and self.tokens[self.index + 1].text == "(":
            self.next()
            self.expect("(")
            if self.token.text != ")":
                raise self.fail("unsupported by the mock org: COUNT(field) (use COUNT())")
            self.next()
            return (), True
        fields: list[tuple[str, int]] = []
        while True:
            token = self.token
            if token.text == "(" and token.kind == "punct":
                raise self.fail("unsupported by the mock org: a subquery")
            if token.kind == "ident" and self.tokens[self.index + 1].text == "(":
                if token.upper in _FUNCTIONS or token.upper == "COUNT":
                    raise self.fail(f"unsupported by the mock org: {token.upper}()")
                raise self.unexpected(self.tokens[self.index + 1])
            if token.is_word("FROM") and not fields:
                raise self.unexpected()
            named = self.name()
            if any(named.upper == seen.upper() for seen, _ in fields):
                raise self.fail(f"duplicate field selected: {named.text}", named)
            fields.append((named.text, named.at))
            if self.token.text != ",":
                return tuple(fields), False
            self.next()

    def integer(self, clause: str) -> int:
        token = self.next()
        if token.kind != "number" or not token.text.isdigit():
            raise self.unexpected(token)
        return int(token.text)

    def order_list(self) -> tuple[Order, ...]:
        out = []
        while True:
            named = self.name()
            descending = False
            if self.token.is_word("ASC", "DESC"):
                descending = self.next().upper == "DESC"
            nulls_last = descending
            if self.token.is_word("NULLS"):
                self.next()
                if not self.token.is_word("FIRST", "LAST"):
                    raise self.unexpected()
                nulls_last = self.next().upper == "LAST"
            out.append(Order(named.text, named.at, descending, nulls_last))
            if self.token.text != ",":
                return tuple(out)
            self.next()

    # -- conditions --------------------------------------------------------------------
    def condition(self) -> Comparison | Logical:
        first = self.term()
        joiner = None
        parts = [first]
        while self.token.is_word("AND", "OR"):
            word = self.token.upper
            if joiner is not None and word != joiner:
                raise self.unexpected()  # SOQL needs parentheses to mix AND and OR
            joiner = word
            self.next()
            parts.append(self.term())
        return first if joiner is None else Logical(joiner, tuple(parts))

    def term(self) -> Comparison | Logical:
        if self.token.is_word("NOT"):
            self.next()
            return Logical("NOT", (self.term(),))
        if self.token.text == "(" and self.token.kind == "punct":
            self.next()
            inner = self.condition()
            self.expect(")")
            return inner
        if self.token.kind == "ident" and self.tokens[self.index + 1].text == "(":
            raise self.fail(f"unsupported by the mock org: {self.token.upper}() in WHERE")
        named = self.name()
        return self.comparison(named)

    def comparison(self, named: Token) -> Comparison:
        token = self.token
        if token.kind == "op":
            self.next()
            op = "!=" if token.text == "<>" else token.text
            return Comparison(named.text, named.at, op, (self.value(),))
        if token.is_word("LIKE"):
            self.next()
            return Comparison(named.text, named.at, "LIKE", (self.value(),))
        if token.is_word("IN") or (
            token.is_word("NOT") and self.tokens[self.index + 1].is_word("IN")
        ):
            op = "IN" if token.is_word("IN") else "NOT IN"
            self.next()
            if op == "NOT IN":
                self.next()
            return Comparison(named.text, named.at, op, self.value_list())
        if token.is_word("INCLUDES", "EXCLUDES"):
            raise self.fail(f"unsupported by the mock org: {token.upper} (multi-select picklists)")
        raise self.unexpected()

    def value_list(self) -> tuple[Value, ...]:
        self.expect("(")
        if self.token.is_word("SELECT"):
            raise self.fail("unsupported by the mock org: a semi-join (IN (SELECT ...))")
        values = [self.value()]
        while self.token.text == "," and self.token.kind == "punct":
            self.next()
            values.append(self.value())
        self.expect(")")
        return tuple(values)

    def value(self) -> Value:
        token = self.next()
        if token.kind in ("string", "number", "date", "datetime"):
            return Value(token.kind, token.text, token.at)
        if token.kind == "punct" and token.text == ":":
            raise self.fail("Bind variables only allowed in Apex code", token)
        if token.kind != "ident":
            raise self.unexpected(token)
        word = token.upper
        if word in ("TRUE", "FALSE"):
            return Value("boolean", word, token.at)
        if word == "NULL":
            return Value("null", word, token.at)
        if not is_literal(word):
            raise self.unexpected(token)
        if word not in WITH_N:
            return Value("range", word, token.at)
        self.expect(":")
        number = self.next()
        if number.kind != "number" or not number.text.isdigit():
            raise self.unexpected(number)
        return Value("range", word, token.at, int(number.text))


def parse_statement(text: str) -> Statement:
    """The syntax tree of ``text``; SoqlError (MALFORMED_QUERY...) when it is not in the
    subset."""
    return _Parser(text).statement()
