"""A parsed SOQL statement bound to the object's fields, and run over its records (pure).

Binding checks each value against its field's type the way Salesforce does: text needs
quotes (``INVALID_FIELD`` "value of filter criterion for field 'Name' must be of type
string and should be enclosed in quotes"), numbers, booleans, dates and dateTimes must
not have them, a date field takes a date and a dateTime field a dateTime (or a date
literal for either), an id must be a 15- or 18-character id (``INVALID_QUERY_FILTER_OPERATOR``
"invalid ID field"), and LIKE takes text fields only.

Evaluation follows the SOQL reference: ids compare in their 18-character form (a 15- and
an 18-character id of one record are equal); text compares case-insensitively (unless
the field is case-sensitive); ``!=`` and ``NOT IN`` keep records whose field is null;
``= null`` finds them; a date literal is a range (``=`` within, ``<`` before, ``>``
after); ``ORDER BY`` puts nulls first ascending and last descending unless told.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from gateway import sfid
from mock_salesforce import values as field_values
from mock_salesforce.schema import FieldSpec, ObjectSchema
from mock_salesforce.soql.dates import date_range
from mock_salesforce.soql.lexer import SoqlError
from mock_salesforce.soql.parser import Comparison, Logical, Statement, Value

Record = dict[str, Any]


@dataclass(frozen=True)
class Bound:
    """A comparison with its field and its values in the field's terms."""

    spec: FieldSpec
    op: str
    values: tuple[Any, ...]  # ranges stay Value (resolved against "today" when run)


@dataclass(frozen=True)
class Query:
    fields: tuple[str, ...]
    count: bool
    where: Bound | tuple[str, tuple[Any, ...]] | None
    order: tuple[tuple[FieldSpec, bool, bool], ...]
    limit: int | None
    offset: int | None

    def matches(self, record: Record, today: dt.date | None = None) -> bool:
        today = today or dt.datetime.now(dt.UTC).date()
        return self.where is None or _holds(self.where, record, today)

    def run(self, records: Iterable[Record], today: dt.date | None = None) -> list[Record]:
        """The matching live records, ordered, after OFFSET and within LIMIT."""
        today = today or dt.datetime.now(dt.UTC).date()
        found = [r for r in records if not r.get("IsDeleted") and self.matches(r, today)]
        for spec, descending, nulls_last in reversed(self.order):
            found = _sorted(found, spec, descending, nulls_last)
        start = self.offset or 0
        end = None if self.limit is None else start + self.limit
        return found[start:end]


def bind(statement: Statement, schema: ObjectSchema) -> Query:
    text = statement.text
    if statement.sobject.lower() != schema.name.lower():
        raise SoqlError(
            "INVALID_TYPE",
            f"sObject type '{statement.sobject}' is not supported. If you are attempting to "
            "use a custom object, be sure to append the '__c' after the entity name. Please "
            "reference your WSDL or the describe call for the appropriate names.",
            text,
            statement.sobject_at,
        )

    def field(name: str, at: int) -> FieldSpec:
        spec = schema.field(name)
        if spec is None:
            raise SoqlError(
                "INVALID_FIELD",
                f"No such column '{name}' on entity '{schema.name}'. If you are attempting to "
                "use a custom field, be sure to append the '__c' after the custom field name. "
                "Please reference your WSDL or the describe call for the appropriate names.",
                text,
                at,
            )
        return spec

    fields = tuple(field(name, at).name for name, at in statement.fields)
    order = tuple((field(o.field, o.at), o.descending, o.nulls_last) for o in statement.order)
    if statement.count and order:
        raise SoqlError(
            "MALFORMED_QUERY",
            f"Ordered field must be grouped or aggregated: {order[0][0].name}",
            text,
            statement.order[0].at,
        )
    where = None if statement.where is None else _bind_condition(statement.where, field, text)
    return Query(fields, statement.count, where, order, statement.limit, statement.offset)


def _bind_condition(
    node: Comparison | Logical, field: Callable[[str, int], FieldSpec], text: str
) -> Bound | tuple[str, tuple[Any, ...]]:
    if isinstance(node, Logical):
        return (node.op, tuple(_bind_condition(part, field, text) for part in node.parts))
    spec = field(node.field, node.at)
    if node.op == "LIKE" and spec.kind != "string":
        raise SoqlError(
            "INVALID_QUERY_FILTER_OPERATOR",
            f"invalid operator on {'id' if spec.kind == 'id' else spec.type} field",
            text,
            node.at,
        )
    if node.op in ("<", "<=", ">", ">=") and spec.kind == "boolean":
        raise SoqlError(
            "INVALID_QUERY_FILTER_OPERATOR", "invalid operator on boolean field", text, node.at
        )
    bound = []
    for value in node.values:
        if value.kind == "null" and node.op not in ("=", "!=", "IN", "NOT IN"):
            raise SoqlError("MALFORMED_QUERY", f"unexpected token: {value.text}", text, value.at)
        if value.kind == "range" and node.op in ("IN", "NOT IN", "LIKE"):
            raise SoqlError(
                "MALFORMED_QUERY",
                f"unsupported by the mock org: a date literal in {node.op}",
                text,
                value.at,
            )
        bound.append(_bind_value(spec, value, text))
    if node.op == "LIKE":
        return Bound(spec, "LIKE", (_like(str(bound[0]), spec.case_sensitive),))
    return Bound(spec, node.op, tuple(bound))


_WANTS = {"string": "string", "id": "string", "number": "number", "boolean": "boolean",
          "date": "date", "datetime": "datetime"}  # fmt: skip


def _bind_value(spec: FieldSpec, value: Value, text: str) -> Any:  # noqa: PLR0911 - one return per field kind
    if value.kind == "null":
        return None
    kind = spec.kind
    fits = value.kind == _WANTS[kind] or (value.kind == "range" and kind in ("date", "datetime"))
    if not fits:
        type_name = {"datetime": "dateTime", "id": "id"}.get(kind, spec.type)
        quoted = value.kind == "string"
        wanted = (
            " and should be enclosed in quotes"
            if _WANTS[kind] == "string"
            else " and should not be enclosed in quotes"
            if quoted
            else ""
        )
        raise SoqlError(
            "INVALID_FIELD",
            f"value of filter criterion for field '{spec.name}' must be of type {type_name}"
            f"{wanted}",
            text,
            value.at,
        )
    if value.kind == "range":
        return value
    if kind == "id":
        if not sfid.is_valid(value.text):
            raise SoqlError(
                "INVALID_QUERY_FILTER_OPERATOR", f"invalid ID field: {value.text}", text, value.at
            )
        return sfid.to18(value.text)
    if kind == "number":
        return float(value.text)
    if kind == "boolean":
        return value.text == "TRUE"
    if kind == "date":
        parsed = field_values.parse_date(value.text)
        if parsed is None:
            raise SoqlError("MALFORMED_QUERY", f"Invalid date: {value.text}", text, value.at)
        return parsed
    if kind == "datetime":
        epoch = field_values.parse_datetime(value.text)
        if epoch is None:
            raise SoqlError("MALFORMED_QUERY", f"Invalid datetime: {value.text}", text, value.at)
        return epoch
    return value.text


def _like(pattern: str, case_sensitive: bool) -> re.Pattern[str]:
    """A LIKE pattern (``%`` any run, ``_`` one character, ``\\%``/``\\_`` themselves)."""
    out = []
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\" and index + 1 < len(pattern) and pattern[index + 1] in "%_":
            out.append(re.escape(pattern[index + 1]))
            index += 2
            continue
        out.append(".*" if char == "%" else "." if char == "_" else re.escape(char))
        index += 1
    return re.compile("".join(out), re.DOTALL | (0 if case_sensitive else re.IGNORECASE))


def _text_key(spec: FieldSpec, value: Any) -> Any:
    if isinstance(value, str) and spec.kind == "string" and not spec.case_sensitive:
        return value.casefold()
    return value


def _record_value(record: Record, spec: FieldSpec) -> Any:
    value = record.get(spec.name)
    if spec.kind == "boolean":
        return bool(value)
    if spec.kind == "number" and value is not None:
        return float(value)
    return value


def _holds(node: Bound | tuple[str, tuple[Any, ...]], record: Record, today: dt.date) -> bool:  # noqa: PLR0911 - one return per operator
    if not isinstance(node, Bound):
        op, parts = node
        if op == "NOT":
            return not _holds(parts[0], record, today)
        results = (_holds(part, record, today) for part in parts)
        return all(results) if op == "AND" else any(results)
    spec = node.spec
    actual = _record_value(record, spec)
    if node.op == "LIKE":
        return actual is not None and node.values[0].fullmatch(str(actual)) is not None
    if node.op in ("IN", "NOT IN"):
        found = any(_equal(spec, actual, v) for v in node.values)
        return found if node.op == "IN" else not found
    expected = node.values[0]
    if isinstance(expected, Value):
        return _in_range(spec, actual, node.op, expected, today)
    if node.op == "=":
        return _equal(spec, actual, expected)
    if node.op == "!=":
        return not _equal(spec, actual, expected)
    if actual is None or expected is None:
        return False
    left, right = _text_key(spec, actual), _text_key(spec, expected)
    return bool(
        {"<": left < right, "<=": left <= right, ">": left > right, ">=": left >= right}[node.op]
    )


def _equal(spec: FieldSpec, actual: Any, expected: Any) -> bool:
    if actual is None or expected is None:
        return actual is None and expected is None
    return bool(_text_key(spec, actual) == _text_key(spec, expected))


def _in_range(spec: FieldSpec, actual: Any, op: str, literal: Value, today: dt.date) -> bool:
    start_day, end_day = date_range(literal.text, literal.n, today)
    if spec.kind == "date":
        start: Any = start_day.isoformat()
        end: Any = end_day.isoformat()
    else:
        start = dt.datetime.combine(start_day, dt.time(), dt.UTC).timestamp()
        end = dt.datetime.combine(end_day, dt.time(), dt.UTC).timestamp()
    if actual is None:
        return op == "!="
    inside = bool(start <= actual < end)
    return bool(
        {
            "=": inside,
            "!=": not inside,
            "<": actual < start,
            "<=": actual < end,
            ">": actual >= end,
            ">=": actual >= start,
        }[op]
    )


def _sorted(
    records: Sequence[Record], spec: FieldSpec, descending: bool, nulls_last: bool
) -> list[Record]:
    """One stable ORDER BY pass: the non-null values sorted, the nulls before or after."""
    nulls = [r for r in records if r.get(spec.name) is None]
    present = [r for r in records if r.get(spec.name) is not None]
    present.sort(key=lambda r: _text_key(spec, _record_value(r, spec)), reverse=descending)
    return present + nulls if nulls_last else nulls + present
