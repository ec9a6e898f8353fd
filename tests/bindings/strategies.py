"""Hypothesis strategies for the generated (xsdata) classes, with XML-valid values.

``st.builds`` on generated classes draws values XML cannot carry (NUL and other control
characters, out-of-range ``XmlDate`` parts, NaN, ``''`` in optional fields, which comes
back as ``None``), measured. Everything here draws only what survives a
trip through XML, so a failing round trip is a real bug.

:func:`for_class` builds any generated class from its xsdata metadata (types, patterns,
occurrence bounds, nillable, wildcards), so the same code covers the outbound-message,
partner and ERP contracts, and the corpus packages of any shape.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import re
import string
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st
from xsdata.formats.dataclass.context import XmlContext
from xsdata.formats.dataclass.models.generics import AnyElement
from xsdata.models.datatype import XmlDate, XmlDateTime, XmlTime

_XML_CHARS = st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")) | st.sampled_from("\t\n")

#: Any text an XML 1.0 document can hold (no NUL, no other C0 controls but tab/newline).
xml_text = st.text(_XML_CHARS, max_size=40)
#: Non-empty text: an empty optional element binds back to ``None``, not ``''``.
xml_text_nonempty = st.text(_XML_CHARS, min_size=1, max_size=40)

_ID_ALPHABET = string.ascii_letters + string.digits
#: An 18-character Salesforce id as the WSDLs' ``ID`` type declares it.
sf_id18 = st.text(alphabet=_ID_ALPHABET, min_size=18, max_size=18)
#: Either form Salesforce sends (older captures carry 15-character ids).
sf_id = sf_id18 | st.text(alphabet=_ID_ALPHABET, min_size=15, max_size=15)

xml_date = st.dates(min_value=dt.date(1, 1, 1), max_value=dt.date(9999, 12, 31)).map(
    XmlDate.from_date
)
xml_datetime = st.datetimes(
    min_value=dt.datetime(1, 1, 2),
    max_value=dt.datetime(9999, 12, 30),
    timezones=st.just(dt.UTC),
).map(XmlDateTime.from_datetime)
xml_time = st.times(timezones=st.just(dt.UTC)).map(XmlTime.from_time)
finite_double = st.floats(allow_nan=False, allow_infinity=False)
xsd_int = st.integers(min_value=-(2**31), max_value=2**31 - 1)
money = st.decimals(
    min_value=Decimal("-999999999999.99"),
    max_value=Decimal("999999999999.99"),
    places=2,
    allow_nan=False,
    allow_infinity=False,
)

_BY_TYPE: dict[type[Any], st.SearchStrategy[Any]] = {
    bool: st.booleans(),
    int: xsd_int,
    float: finite_double,
    Decimal: money,
    bytes: st.binary(max_size=40),
    XmlDate: xml_date,
    XmlDateTime: xml_datetime,
    XmlTime: xml_time,
}

_PATTERNS: dict[str, st.SearchStrategy[str]] = {r"[a-zA-Z0-9]{18}": sf_id18}


def _text_for(pattern: str | None) -> st.SearchStrategy[str]:
    if pattern is None:
        return xml_text_nonempty
    if pattern in _PATTERNS:
        return _PATTERNS[pattern]
    return st.from_regex(re.compile(pattern), fullmatch=True)


def _wildcard_elements(namespace: str) -> st.SearchStrategy[list[object]]:
    """Child elements for an ``xsd:any`` (a partner sObject's fields, for instance)."""
    names = st.sampled_from(["Order_Number__c", "Order_Status__c", "Name", "Description"])
    element = st.builds(
        AnyElement,
        qname=names.map(lambda n: f"{{{namespace}}}{n}"),
        text=xml_text_nonempty.filter(lambda t: t.strip() == t and t != ""),
    )
    return st.lists(element, max_size=3, unique_by=lambda e: e.qname)


def for_class(
    cls: type[Any],
    context: XmlContext,
    *,
    list_max: int = 3,
    overrides: dict[str, st.SearchStrategy[Any]] | None = None,
) -> st.SearchStrategy[Any]:
    """Instances of generated dataclass ``cls`` whose every value survives XML.

    ``overrides`` maps a Python field name to its strategy (for example the number of
    notifications); nested dataclasses are built recursively with the same rules.
    """
    meta = context.build(cls)
    by_name = {var.name: var for var in meta.get_all_vars()}
    kwargs: dict[str, st.SearchStrategy[Any]] = {}
    for spec in dataclasses.fields(cls):
        if not spec.init:
            continue
        if overrides and spec.name in overrides:
            kwargs[spec.name] = overrides[spec.name]
            continue
        var = by_name[spec.name]
        md = spec.metadata
        if var.is_wildcard:
            # ``##targetNamespace``: the namespace the type's own elements are in
            namespace = next(
                (
                    ns
                    for other in by_name.values()
                    if not other.is_wildcard
                    for ns in other.namespaces
                    if ns and not ns.startswith("##")
                ),
                meta.namespace or "urn:example:any",
            )
            kwargs[spec.name] = _wildcard_elements(namespace) if var.list_element else st.none()
            continue
        value = _value_for(var.types[0], md.get("pattern"), context, list_max)
        if var.list_element:
            low = int(md.get("min_occurs", 0))
            high = int(md.get("max_occurs", list_max))
            kwargs[spec.name] = st.lists(value, min_size=low, max_size=min(high, list_max))
        elif var.required:
            kwargs[spec.name] = value
        else:
            kwargs[spec.name] = st.none() | value
    return st.builds(cls, **kwargs)


def _value_for(
    type_: type[Any], pattern: str | None, context: XmlContext, list_max: int
) -> st.SearchStrategy[Any]:
    if dataclasses.is_dataclass(type_):
        return st.deferred(lambda: for_class(type_, context, list_max=list_max))
    if isinstance(type_, type) and issubclass(type_, enum.Enum):
        return st.sampled_from(list(type_))
    if type_ is str:
        return _text_for(pattern)
    if type_ in _BY_TYPE:
        return _BY_TYPE[type_]
    raise TypeError(f"no XML-safe strategy for {type_!r}; add one to strategies.py")


def notifications(
    module: Any, package: str, *, min_size: int = 1, max_size: int = 100
) -> st.SearchStrategy[Any]:
    """A full ``Notifications`` (1 to 100 notifications) of an outbound-message package."""
    context = XmlContext(models_package=package)
    item_type = next(
        var.types[0]
        for var in context.build(module.Notifications).get_all_vars()
        if var.name == "notification"
    )
    return for_class(
        module.Notifications,
        context,
        overrides={
            "organization_id": sf_id,
            "action_id": sf_id18,
            "notification": st.lists(
                for_class(item_type, context, overrides={"id": sf_id18}),
                min_size=min_size,
                max_size=max_size,
            ),
        },
    )
