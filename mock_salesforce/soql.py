"""The one SOQL shape a reconciliation sweep needs, parsed strictly (pure).

``SELECT <fields> FROM Opportunity [WHERE <cond> [AND <cond>]...] [ORDER BY <field>
[ASC|DESC]] [LIMIT n]`` where each condition compares one field with a literal:
booleans (``IsWon = true``), ``null`` (``Order_Number__c = null``), datetimes
(``LastModifiedDate >= 2026-03-02T09:14:27Z``), numbers or quoted strings. Anything
else is ``MALFORMED_QUERY``, an unknown field ``INVALID_FIELD``, as Salesforce answers.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mock_salesforce.records import FieldDef, canonical_field


class SoqlError(ValueError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Condition:
    field: str
    op: str
    value: Any


@dataclass(frozen=True)
class Query:
    fields: tuple[str, ...]
    conditions: tuple[Condition, ...]
    order_by: str | None
    descending: bool
    limit: int | None

    def matches(self, record: Mapping[str, Any]) -> bool:
        return all(_compare(record.get(c.field), c.op, c.value) for c in self.conditions)


_QUERY = re.compile(
    r"^\s*SELECT\s+(?P<fields>.+?)\s+FROM\s+(?P<object>\w+)"
    r"(?:\s+WHERE\s+(?P<where>.+?))?"
    r"(?:\s+ORDER\s+BY\s+(?P<order>\w+)(?:\s+(?P<dir>ASC|DESC))?)?"
    r"(?:\s+LIMIT\s+(?P<limit>\d+))?\s*$",
    re.IGNORECASE | re.DOTALL,
)
_CONDITION = re.compile(
    r"^\s*(?P<field>\w+)\s*(?P<op>=|!=|<=|>=|<|>)\s*(?P<value>'(?:[^'\\]|\\.)*'|[\w:.+\-]+)\s*$"
)
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?(Z|[+-]\d{2}:?\d{2})$")


def _field(name: str) -> FieldDef:
    spec = canonical_field(name)
    if spec is None:
        raise SoqlError("INVALID_FIELD", f"No such column '{name}' on entity 'Opportunity'.")
    return spec


def parse(text: str) -> Query:
    match = _QUERY.match(text)
    if match is None:
        raise SoqlError("MALFORMED_QUERY", f"unexpected token in query: {text[:80]}")
    if match["object"].lower() != "opportunity":
        raise SoqlError("INVALID_TYPE", f"sObject type '{match['object']}' is not supported.")
    names = [n.strip() for n in match["fields"].split(",")]
    if not all(re.fullmatch(r"\w+", n) for n in names):
        raise SoqlError("MALFORMED_QUERY", "only plain field names may be selected")
    fields = tuple(_field(n).name for n in names)
    conditions: list[Condition] = []
    if match["where"]:
        parts = re.split(r"\s+AND\s+", match["where"], flags=re.IGNORECASE)
        for part in parts:
            cond = _CONDITION.match(part)
            if cond is None:
                raise SoqlError("MALFORMED_QUERY", f"unexpected token: {part.strip()[:60]}")
            spec = _field(cond["field"])
            conditions.append(Condition(spec.name, cond["op"], _literal(spec, cond["value"])))
    order = _field(match["order"]).name if match["order"] else None
    limit = int(match["limit"]) if match["limit"] else None
    return Query(fields, tuple(conditions), order, (match["dir"] or "").upper() == "DESC", limit)


def _literal(spec: FieldDef, raw: str) -> Any:
    lowered = raw.lower()
    if lowered == "null":
        return None
    if spec.kind == "boolean":
        if lowered not in ("true", "false"):
            raise SoqlError("MALFORMED_QUERY", f"{spec.name} needs true or false, not {raw}")
        return lowered == "true"
    if spec.kind == "datetime":
        if not _DATETIME.match(raw):
            raise SoqlError(
                "MALFORMED_QUERY",
                f"value of filter criterion for field '{spec.name}' must be "
                "of type dateTime and should not be enclosed in quotes",
            )
        return dt.datetime.fromisoformat(raw.replace("Z", "+00:00")).timestamp()
    if spec.kind == "double":
        try:
            return float(raw)
        except ValueError:
            raise SoqlError("MALFORMED_QUERY", f"{spec.name} needs a number") from None
    if raw.startswith("'") and raw.endswith("'"):
        return raw[1:-1].replace("\\'", "'")
    raise SoqlError("MALFORMED_QUERY", f"{spec.name} needs a quoted string, not {raw}")


def _compare(actual: Any, op: str, expected: Any) -> bool:  # noqa: PLR0911
    if isinstance(actual, bool) or isinstance(expected, bool):
        actual = bool(actual) if actual is not None else None
    if op == "=":
        return bool(actual == expected)
    if op == "!=":
        return bool(actual != expected)
    if actual is None or expected is None:
        return False
    if op == "<":
        return bool(actual < expected)
    if op == "<=":
        return bool(actual <= expected)
    if op == ">":
        return bool(actual > expected)
    return bool(actual >= expected)
