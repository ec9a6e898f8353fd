"""SOQL as the mock org evaluates it: a tokenizer (:mod:`.lexer`), a parser for the subset
it supports (:mod:`.parser`), date literals (:mod:`.dates`) and the binding of names and
values to the object's fields with the evaluation over its records (:mod:`.evaluate`).

``parse(text, schema)`` gives a :class:`Query` or raises :class:`SoqlError` with the
``errorCode`` Salesforce gives for that query (``MALFORMED_QUERY`` for anything outside
the subset, naming the construct).
"""

from __future__ import annotations

from mock_salesforce.schema import ObjectSchema
from mock_salesforce.soql.evaluate import Query, bind
from mock_salesforce.soql.lexer import SoqlError
from mock_salesforce.soql.parser import parse_statement

__all__ = ["Query", "SoqlError", "parse"]


def parse(text: str, schema: ObjectSchema) -> Query:
    return bind(parse_statement(text), schema)
