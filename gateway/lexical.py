"""Typed readings of field values, where the pipeline needs a number, a date or a flag.

A job carries each field as Salesforce wrote it in the outbound message: the XSD lexical
form (``120000.0``, ``1.2E5``, ``2014-05-05T11:47:49.000Z``, ``1``). A field read back
through the REST API arrives as its JSON value instead (``120000.0``, ``true``). The
functions here accept either, return ``None`` for a missing value and raise
:class:`ValueError` naming the value when it cannot be read as asked; the caller decides
whether that is the record's fault (a permanent error) or ours.

The rules are XSD's: ``boolean`` is ``true``/``false``/``1``/``0``; ``double`` allows
exponents and ``INF``/``-INF``/``NaN``; ``date`` may carry a time zone; surrounding
whitespace is collapsed away for every non-string type.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation

from gateway import sfid
from gateway.jobs import FieldValue

_TRUE = frozenset({"true", "1"})
_FALSE = frozenset({"false", "0"})
_SPECIAL_DOUBLES = {"INF": "Infinity", "-INF": "-Infinity", "NaN": "NaN"}


def _text(value: FieldValue) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def as_bool(value: FieldValue) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    text = _text(value)
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    if text is None:
        return None
    raise ValueError(f"{value!r} is not a boolean")


def as_decimal(value: FieldValue) -> Decimal | None:
    """An ``xsd:double`` (or JSON number) as an exact ``Decimal`` of the digits sent."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a number")
    text = _text(value)
    if text is None:
        return None
    try:
        return Decimal(_SPECIAL_DOUBLES.get(text, text))
    except InvalidOperation:
        raise ValueError(f"{value!r} is not a number") from None


def as_date(value: FieldValue) -> dt.date | None:
    """An ``xsd:date`` (``2017-04-03``, ``2017-04-03Z``, ``2017-04-03+02:00``)."""
    text = _text(value)
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text[:10])
    except ValueError:
        raise ValueError(f"{value!r} is not a date") from None


def as_id(value: FieldValue) -> str | None:
    """A Salesforce id in its 18-character form (15-character ids are normalised)."""
    text = _text(value)
    if text is None:
        return None
    try:
        return sfid.to18(text)
    except sfid.InvalidSalesforceId:
        raise ValueError(f"{value!r} is not a Salesforce id") from None
