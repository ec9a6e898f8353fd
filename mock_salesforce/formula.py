"""A record-triggered flow's entry condition (``filterFormula``), parsed and evaluated.

The mock org fires an outbound message when the flow that sends it would run, so it has
to evaluate the flow's formula the way Salesforce does -- for the small part of the
formula language that entry conditions of this kind use:

* ``AND(a, b, ...)``, ``OR(a, b, ...)``, ``NOT(a)``;
* ``{!$Record.Field}``: a Checkbox field is a condition on its own; any other field is
  compared with a literal (``=``/``==``, ``!=``/``<>``, ``<``, ``<=``, ``>``, ``>=``);
* literals: numbers, ``'text'`` or ``"text"``, ``TRUE``/``FALSE``;
* ``ISCHANGED({!$Record.Field})`` (only in a flow that runs on update alone: Salesforce
  refuses it in one that also runs on create), ``ISPICKVAL({!$Record.Field}, 'value')``.

Anything else -- another function, another merge field, a picklist compared with ``=``
(Salesforce allows picklists only in ISPICKVAL and a few text functions) -- is refused
when the bundle is loaded, with a message that names the construct: a condition the mock
cannot evaluate exactly must not silently mean something else. Text comparisons are
case-sensitive, as in Salesforce formulas.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

#: (kind of token, pattern); tried in order at each position.
_TOKENS = (
    ("space", r"\s+"),
    ("merge", r"\{![^}]*\}"),
    ("number", r"\d+(?:\.\d+)?"),
    ("string", r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\""),
    ("op", r"==|!=|<>|<=|>=|=|<|>|&&|\|\||[-+*/&!]"),
    ("punct", r"[(),]"),
    ("name", r"[A-Za-z_][A-Za-z0-9_]*"),
)
_TOKEN = re.compile("|".join(f"(?P<{kind}>{pattern})" for kind, pattern in _TOKENS))
_RECORD_FIELD = re.compile(r"^\{!\$Record\.([A-Za-z][A-Za-z0-9_]*)\}$")
_COMPARISONS = {
    "=": "=", "==": "=", "!=": "!=", "<>": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">=",
}  # fmt: skip

Record = Mapping[str, Any]
#: How a field's type is known while checking: None for an unknown field.
FieldTypes = Callable[[str], "str | None"]


class FormulaError(ValueError):
    """The formula uses something outside the subset; the message names it."""


@dataclass(frozen=True)
class _Token:
    kind: str
    text: str
    at: int


def _tokens(text: str) -> list[_Token]:
    out: list[_Token] = []
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            raise FormulaError(f"unexpected character {text[position]!r} at {position + 1}")
        kind = match.lastgroup or ""
        if kind != "space":
            out.append(_Token(kind, match.group(), position + 1))
        position = match.end()
    return out


@dataclass(frozen=True)
class Node:
    """One part of a parsed formula: ``op`` names what it is, ``args`` its parts."""

    op: str  # and, or, not, field, literal, compare:<op>, ischanged, ispickval
    args: tuple[Any, ...]


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokens(text)
        self.index = 0

    def peek(self) -> _Token | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def take(self, text: str | None = None) -> _Token:
        token = self.peek()
        if token is None:
            raise FormulaError(f"the formula ends early (expected {text or 'more'})")
        if text is not None and token.text.upper() != text:
            raise FormulaError(f"expected {text!r} at {token.at}, found {token.text!r}")
        self.index += 1
        return token

    def parse(self) -> Node:
        node = self.comparison()
        extra = self.peek()
        if extra is not None:
            raise FormulaError(f"unsupported {self._name(extra)} at {extra.at}")
        return node

    @staticmethod
    def _name(token: _Token) -> str:
        if token.kind == "op":
            return f"operator {token.text!r}"
        return f"{token.text!r}"

    def comparison(self) -> Node:
        left = self.operand()
        token = self.peek()
        if token is not None and token.kind == "op":
            if token.text not in _COMPARISONS:
                raise FormulaError(f"unsupported operator {token.text!r} at {token.at}")
            self.take()
            right = self.operand()
            return Node(f"compare:{_COMPARISONS[token.text]}", (left, right))
        return left

    def operand(self) -> Node:
        token = self.take()
        if token.kind == "merge":
            match = _RECORD_FIELD.match(token.text)
            if match is None:
                raise FormulaError(
                    f"unsupported merge field {token.text} at {token.at} "
                    "(only {!$Record.<Field>} of the triggering record)"
                )
            return Node("field", (match.group(1),))
        if token.kind == "number":
            return Node("literal", (float(token.text),))
        if token.kind == "string":
            return Node("literal", (_unquote(token.text),))
        if token.kind == "name":
            return self.named(token)
        if token.text == "(":
            inner = self.comparison()
            self.take(")")
            return inner
        raise FormulaError(f"unsupported {self._name(token)} at {token.at}")

    def named(self, token: _Token) -> Node:
        word = token.text.upper()
        if word in ("TRUE", "FALSE"):
            return Node("literal", (word == "TRUE",))
        if word not in ("AND", "OR", "NOT", "ISCHANGED", "ISPICKVAL"):
            raise FormulaError(f"unsupported function or name {token.text} at {token.at}")
        self.take("(")
        args = [self.comparison()]
        while self.peek() is not None and self.peek().text == ",":  # type: ignore[union-attr]
            self.take(",")
            args.append(self.comparison())
        self.take(")")
        return Node(word.lower(), tuple(args))


def _unquote(text: str) -> str:
    body = text[1:-1]
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), body)


def _check(node: Node, types: FieldTypes, on_create: bool) -> str:  # noqa: PLR0912 - one branch per construct
    """The type a node yields (``boolean``, ``number``, ``text``, ``picklist``, ...);
    FormulaError for what Salesforce would refuse or the mock cannot evaluate."""
    if node.op == "literal":
        value = node.args[0]
        return (
            "boolean"
            if isinstance(value, bool)
            else "number"
            if isinstance(value, float)
            else "text"
        )
    if node.op == "field":
        kind = types(node.args[0])
        if kind is None:
            raise FormulaError(f"{{!$Record.{node.args[0]}}}: Opportunity has no such field")
        return kind
    if node.op in ("and", "or", "not"):
        if node.op == "not" and len(node.args) != 1:
            raise FormulaError("NOT takes one argument")
        for arg in node.args:
            if _check(arg, types, on_create) != "boolean":
                raise FormulaError(f"{node.op.upper()} needs conditions (true/false) as arguments")
        return "boolean"
    if node.op == "ischanged":
        if on_create:
            raise FormulaError(
                "ISCHANGED is not allowed in a flow that runs when a record is created "
                "(recordTriggerType Create or CreateAndUpdate)"
            )
        if len(node.args) != 1 or node.args[0].op != "field":
            raise FormulaError("ISCHANGED takes one field: ISCHANGED({!$Record.Field})")
        _check(node.args[0], types, on_create)
        return "boolean"
    if node.op == "ispickval":
        if len(node.args) != 2 or node.args[0].op != "field" or node.args[1].op != "literal":
            raise FormulaError("ISPICKVAL takes a picklist field and a text literal")
        if _check(node.args[0], types, on_create) != "picklist":
            raise FormulaError(f"ISPICKVAL: {node.args[0].args[0]} is not a picklist field")
        if _check(node.args[1], types, on_create) != "text":
            raise FormulaError("ISPICKVAL: the value must be a text literal")
        return "boolean"
    left, right = node.args
    kinds = {_check(left, types, on_create), _check(right, types, on_create)}
    if [left.op, right.op].count("field") != 1 or [left.op, right.op].count("literal") != 1:
        raise FormulaError("a comparison compares one {!$Record.Field} with a literal")
    if "picklist" in kinds:
        raise FormulaError("a picklist field can only be tested with ISPICKVAL, not compared")
    ordered = node.op in ("compare:<", "compare:<=", "compare:>", "compare:>=")
    if len(kinds) != 1 or (ordered and kinds == {"boolean"}):
        raise FormulaError(f"cannot compare {' with '.join(sorted(kinds))} ({node.op[8:]})")
    return "boolean"


def _formula_type(kind: str) -> str:
    """The formula type of a field kind (see :mod:`mock_salesforce.schema`)."""
    return {"string": "text", "id": "text", "number": "number", "boolean": "boolean"}.get(
        kind, kind
    )


@dataclass(frozen=True)
class Formula:
    text: str
    root: Node

    def holds(self, before: Record | None, after: Record) -> bool:
        """The condition for a save: ``before`` is None when the record is created."""
        return bool(_evaluate(self.root, before, after))


def check(
    text: str, field_type: Callable[[str], tuple[str, str] | None], on_create: bool
) -> Formula:
    """Parse and check a flow's formula; ``field_type(name)`` gives a field's (kind,
    describe type) or None. FormulaError names what is outside the subset."""

    def types(name: str) -> str | None:
        found = field_type(name)
        if found is None:
            return None
        kind, describe_type = found
        return "picklist" if describe_type == "picklist" else _formula_type(kind)

    formula = parse(text)
    if _check(formula.root, types, on_create) != "boolean":
        raise FormulaError("the formula must be a condition (true or false)")
    return formula


@cache
def parse(text: str) -> Formula:
    """The parsed formula (cached: the store evaluates stored formulas on each save)."""
    return Formula(text, _Parser(text).parse())


def _value(record: Record, name: str) -> Any:
    lowered = name.lower()
    for key, value in record.items():
        if key.lower() == lowered:
            return value
    return None


def _evaluate(node: Node, before: Record | None, after: Record) -> Any:  # noqa: PLR0911
    op = node.op
    if op == "literal":
        return node.args[0]
    if op == "field":
        return _value(after, node.args[0])
    if op == "and":
        return all(_evaluate(arg, before, after) for arg in node.args)
    if op == "or":
        return any(_evaluate(arg, before, after) for arg in node.args)
    if op == "not":
        return not _evaluate(node.args[0], before, after)
    if op == "ischanged":
        name = node.args[0].args[0]
        return before is not None and _value(before, name) != _value(after, name)
    if op == "ispickval":
        return _evaluate(node.args[0], before, after) == node.args[1].args[0]
    left = _evaluate(node.args[0], before, after)
    right = _evaluate(node.args[1], before, after)
    return _compare(op[8:], left, right)


def _compare(op: str, left: Any, right: Any) -> bool:
    if isinstance(left, int | float) and not isinstance(left, bool):
        left = float(left)
    if isinstance(right, int | float) and not isinstance(right, bool):
        right = float(right)
    if op == "=":
        return bool(left == right)
    if op == "!=":
        return bool(left != right)
    if left is None or right is None:
        return False  # a blank field is neither less nor more than a value
    comparisons = {"<": left < right, "<=": left <= right, ">": left > right, ">=": left >= right}
    return bool(comparisons[op])
