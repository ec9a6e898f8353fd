"""Reading one field value the way Salesforce reads it from each API (pure).

REST sends JSON, and Salesforce deserialises a whole request before it saves anything: a
value of the wrong JSON type (a word for a number, an object for a text, a date that is
not ``YYYY-MM-DD``) fails the *request* with 400 ``JSON_PARSER_ERROR`` "Cannot
deserialize instance of <type> from <token> value ..." -- the shape public reports show
(the exact wording after the value, and the line/column Salesforce appends, are not
reproduced). The SOAP Partner API sends every value as text, read per record: text that
is not a value of the field's type fails that record with
``INVALID_TYPE_ON_FIELD_IN_RECORD`` "<label>: value not of required type: <text>" (a
documented guess: the code is the API's, the exact text is not verified).

A value that has the right type then meets the field's rules in
:mod:`mock_salesforce.records` (length, picklist, id).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from typing import Any

from mock_salesforce.schema import FieldSpec

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATETIME = re.compile(
    r"^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(\.\d{1,9})?(Z|[+-]\d{2}:?\d{2})?$"
)


class JsonValueError(ValueError):
    """A JSON value Salesforce cannot deserialise into the field: 400 for the request."""

    code = "JSON_PARSER_ERROR"


class TextValueError(ValueError):
    """A SOAP text that is not a value of the field's type: the record fails."""

    code = "INVALID_TYPE_ON_FIELD_IN_RECORD"


def _token(value: Any) -> str:
    if isinstance(value, bool):
        return "VALUE_TRUE" if value else "VALUE_FALSE"
    if isinstance(value, int):
        return "VALUE_NUMBER_INT"
    if isinstance(value, float):
        return "VALUE_NUMBER_FLOAT"
    if isinstance(value, dict):
        return "START_OBJECT"
    if isinstance(value, list):
        return "START_ARRAY"
    return "VALUE_STRING"


def _json_error(spec: FieldSpec, value: Any) -> JsonValueError:
    kind = _token(value)
    if kind.startswith("START"):
        shown = json.dumps(value)[:1]  # Jackson names the token's first character
    else:
        shown = value if isinstance(value, str) else json.dumps(value)
    tail = " or request may be missing a required field" if kind == "VALUE_STRING" else ""
    return JsonValueError(
        f"Cannot deserialize instance of {spec.type} from {kind} value {shown}{tail}"
    )


def parse_date(text: str) -> str | None:
    """``YYYY-MM-DD`` of a real day, else None."""
    if not _DATE.match(text):
        return None
    try:
        return dt.date.fromisoformat(text).isoformat()
    except ValueError:
        return None


def parse_datetime(text: str) -> float | None:
    """Epoch seconds of an ISO 8601 dateTime (no zone: UTC), else None."""
    match = _DATETIME.match(text)
    if match is None:
        return None
    day, time_part, fraction, zone = match.groups()
    zone = "+00:00" if zone in (None, "Z") else zone if ":" in zone else f"{zone[:3]}:{zone[3:]}"
    fraction = (fraction or "")[:7]
    try:
        return dt.datetime.fromisoformat(f"{day}T{time_part}{fraction}{zone}").timestamp()
    except ValueError:
        return None


def _number(text: str) -> float | None:
    try:
        number = float(text)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def from_json(spec: FieldSpec, value: Any) -> Any:  # noqa: PLR0911, PLR0912 - one branch per field kind
    """The value to check and store for a JSON ``value`` (None stays None)."""
    if value is None:
        return None
    kind = spec.kind
    if isinstance(value, dict | list):
        raise _json_error(spec, value)
    if kind == "string":
        if isinstance(value, bool):
            return "true" if value else "false"
        return value if isinstance(value, str) else json.dumps(value)
    if kind == "id":
        if not isinstance(value, str):
            raise _json_error(spec, value)
        return value
    if kind == "number":
        if isinstance(value, bool):
            raise _json_error(spec, value)
        number = _number(value) if isinstance(value, str) else float(value)
        if number is None:
            raise _json_error(spec, value)
        return number
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise _json_error(spec, value)
    parsed = None
    if isinstance(value, str):
        parsed = parse_date(value) if kind == "date" else parse_datetime(value)
    if parsed is None:
        raise _json_error(spec, value)
    return parsed


def from_text(spec: FieldSpec, text: str | None) -> Any:
    """The value to check and store for a SOAP ``text`` (``xsi:nil``: None)."""
    if text is None:
        return None
    kind = spec.kind
    if kind in ("string", "id"):
        return text
    parsed: Any = None
    stripped = text.strip()
    if kind == "number":
        parsed = _number(stripped)
    elif kind == "boolean":
        parsed = {"true": True, "1": True, "false": False, "0": False}.get(stripped)
    elif kind == "date":
        parsed = parse_date(stripped.removesuffix("Z"))
    else:
        parsed = parse_datetime(stripped)
    if parsed is None:
        raise TextValueError(f"{spec.label}: value not of required type: {text}")
    return parsed
