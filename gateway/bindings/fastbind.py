"""A fast path for binding the common shape of a message, with xsdata as the authority.

xsdata's ``XmlParser`` is general: for every element it creates a node object, resolves
the child's variable through several lookups, runs every value through
``ConverterFactory.deserialize`` and collects intermediate objects on a stack. For a
100-notification outbound message that is ~15-18 ms of CPU, three quarters of a request.

:class:`FastBinder` compiles, once per generated class, a plan from xsdata's OWN metadata
(``XmlContext.build(cls)``: qualified names, types, nillable, list fields, defaults) and
walks the already-parsed lxml tree with it, building the same generated dataclasses
directly; non-string values go through xsdata's own converter for their type (looked up
once, not per value). Nothing about the contract is hand-written here.

It handles exactly the subset whose xsdata result is plain to predict -- known elements,
each at most once (lists excepted), no attributes but ``xsi:nil`` on simple elements and
an ``xsi:type`` naming the declared type on complex ones, no text in complex content, no
wildcards, mixed content, wrappers or compound fields -- and gives up (returns ``None``)
on anything else: an unknown element, an unexpected ``xsi:type``, a duplicate, a
conversion error, a missing required element, ... The caller then runs xsdata's parser,
which produces the same object or the same error as if the fast path did not exist. The
equivalence is a property test (``tests/bindings/test_fastbind.py``).
"""

from __future__ import annotations

import dataclasses
import re
import threading
from collections.abc import Callable
from enum import Enum
from typing import Any
from xml.etree.ElementTree import QName

from lxml import etree
from xsdata.exceptions import ConverterError
from xsdata.formats.converter import converter
from xsdata.formats.dataclass.context import XmlContext
from xsdata.formats.dataclass.models.elements import XmlMeta, XmlVar
from xsdata.formats.dataclass.parsers.utils import ParserUtils
from xsdata.models.datatype import XmlDate, XmlDateTime
from xsdata.models.enums import QNames
from xsdata.utils.dates import validate_date, validate_time

_XSI_NIL = QNames.XSI_NIL


class _Fallback(Exception):
    """The element is outside the fast path's subset: let xsdata bind the message."""


#: Sets one child element's value into the constructor arguments of its parent.
_Setter = Callable[[etree._Element, dict[str, Any]], None]


@dataclasses.dataclass
class _ClassPlan:
    """How to bind an element of one generated class (``None`` setters: not eligible)."""

    cls: type[Any]
    #: the element name of the class as a root (the only place it is compared)
    qname: str
    target_qname: str | None
    setters: dict[str, _Setter] | None = None
    #: list fields whose factory is not ``list`` (xsdata applies ``var.factory``)
    factories: tuple[tuple[str, Callable[[list[Any]], Any]], ...] = ()


class FastBinder:
    """Bind elements of one contract's generated classes without xsdata's node machinery.

    The plans come from the contract's ``XmlContext`` configuration, but through a fresh
    ``XmlMetaBuilder`` rather than ``context.build``: that cache keeps the first meta it
    builds per class (a class without ``Meta.namespace`` takes its parent's), so filling
    it here would change what xsdata's parser sees later. Classes whose child element
    names would depend on that parent namespace are left to xsdata. Plans are compiled
    lazily per class (thread-safe) and never change.
    """

    def __init__(self, context: XmlContext) -> None:
        self._builder = context.get_builder()
        self._plans: dict[type[Any], _ClassPlan] = {}
        self._lock = threading.Lock()

    def bind(self, element: etree._Element, cls: type[Any]) -> Any | None:
        """The bound object, or ``None`` when xsdata must decide (see the module doc)."""
        plan = self._plans.get(cls)
        if plan is None:
            with self._lock:
                plan = self._plan(cls, None)
        tail = element.tail
        if element.tag != plan.qname or len(element.attrib) or (tail and not tail.isspace()):
            return None  # xsdata binds text after the root as the result: an error
        try:
            return _bind(plan, element)
        except Exception:  # any surprise means: let the authority decide
            return None

    # -- compiling ------------------------------------------------------------------

    def _plan(self, cls: type[Any], parent_ns: str | None) -> _ClassPlan:
        """The plan for ``cls`` (recursive types allowed)."""
        plan = self._plans.get(cls)
        if plan is not None:
            return plan
        meta = self._builder.build(cls, parent_ns)
        root = meta if parent_ns is None else self._builder.build(cls, None)
        plan = _ClassPlan(cls=cls, qname=root.qname, target_qname=meta.target_qname)
        self._plans[cls] = plan  # before the children: a recursive type finds itself
        if not _eligible_class(meta) or not self._names_fixed(cls, meta):
            return plan
        setters: dict[str, _Setter] = {}
        factories: list[tuple[str, Callable[[list[Any]], Any]]] = []
        for qname, variables in meta.elements.items():
            if len(variables) != 1 or not _eligible_var(variables[0]):
                continue  # such a child element makes the fast path give up
            var = variables[0]
            if var.clazz is not None:
                setters[qname] = _complex_setter(var, self._plan(var.clazz, meta.namespace))
            else:
                try:
                    setters[qname] = _simple_setter(var)
                except ConverterError:  # no converter for the type: xsdata reports it
                    continue
            if var.list_element and var.factory is not list and var.factory is not None:
                factories.append((var.name, var.factory))
        plan.setters = setters
        plan.factories = tuple(factories)
        return plan

    def _names_fixed(self, cls: type[Any], meta: XmlMeta) -> bool:
        """Whether the class's child element names are the same under any parent."""
        other = self._builder.build(cls, _PROBE_NS if meta.namespace != _PROBE_NS else None)
        return set(other.elements) == set(meta.elements)


#: A namespace no contract uses, to see whether a class inherits its parent's.
_PROBE_NS = "urn:sfgw:fastbind:probe"


def _eligible_class(meta: XmlMeta) -> bool:
    """Classes whose content xsdata binds in ways beyond plain child elements are left to
    it: text content, wildcards (they also absorb text), compound fields, wrappers."""
    return not (meta.text or meta.wildcards or meta.choices or meta.wrappers)


def _eligible_var(var: XmlVar) -> bool:
    return (
        var.is_element
        and var.init
        and not var.any_type
        and not var.is_clazz_union
        and not var.tokens
        and not var.wrapper
        and (var.clazz is not None or len(var.types) == 1)
    )


def _bind(plan: _ClassPlan, element: etree._Element) -> Any:
    setters = plan.setters
    if setters is None:
        raise _Fallback
    text = element.text
    if text and not text.isspace():
        raise _Fallback  # xsdata drops (or for mixed content keeps) it: let it decide
    params: dict[str, Any] = {}
    for child in element:
        setter = setters.get(child.tag)
        if setter is None:
            raise _Fallback  # unknown element, comment, processing instruction
        tail = child.tail
        if tail and not tail.isspace():
            raise _Fallback
        setter(child, params)
    for name, factory in plan.factories:
        if name in params:
            params[name] = factory(params[name])
    return plan.cls(**params)  # a missing required element raises TypeError


def _complex_setter(var: XmlVar, plan: _ClassPlan) -> _Setter:
    name, is_list = var.name, var.list_element

    def set_complex(child: etree._Element, params: dict[str, Any]) -> None:
        # Attributes: only an xsi:type naming the declared type itself, for which xsdata
        # binds the declared class (``XmlContext.fetch`` looks no further).
        attrib = child.attrib
        if attrib and (len(attrib) != 1 or _xsi_type(child) != plan.target_qname):
            raise _Fallback
        value = _bind(plan, child)
        if is_list:
            params.setdefault(name, []).append(value)
        elif name in params:
            raise _Fallback  # a second occurrence: xsdata reports it
        else:
            params[name] = value

    return set_complex


def _xsi_type(element: etree._Element) -> str | None:
    """The resolved ``xsi:type`` as xsdata resolves it (an unknown prefix raises)."""
    return ParserUtils.xsi_type(element.attrib, element.nsmap)  # type: ignore[arg-type]


def _simple_setter(var: XmlVar) -> _Setter:
    name, is_list = var.name, var.list_element
    convert, with_ns = _converter_for(var)
    # ParserUtils.parse_value for an empty element: the var's default (a default factory
    # counts as None), then PrimitiveNode.bind: None on a non-nillable field is "" / b"".
    empty = None if callable(var.default) else var.default
    if empty is None and not var.nillable:
        empty = b"" if bytes in var.types else ""

    def set_simple(child: etree._Element, params: dict[str, Any]) -> None:
        if len(child):
            raise _Fallback  # child elements inside a simple value
        attrib = child.attrib
        if attrib and (len(attrib) != 1 or _XSI_NIL not in attrib):
            raise _Fallback
        # xsdata's PrimitiveNode does not look at xsi:nil: the text alone decides
        text = child.text
        value = empty if text is None else convert(text, child.nsmap if with_ns else None)
        if is_list:
            params.setdefault(name, []).append(value)
        elif name in params:
            raise _Fallback
        else:
            params[name] = value

    return set_simple


_Convert = Callable[[str, "dict[str | None, str] | None"], Any]


def _as_is(text: str, ns_map: dict[str | None, str] | None) -> Any:
    return text  # what StringConverter returns for str input


def _converter_for(var: XmlVar) -> tuple[_Convert, bool]:
    """``converter.deserialize(text, var.types, ns_map=..., format=var.format)`` for the
    var's single type, its converter looked up once; a failure raises ConverterError (the
    fast path then gives up). The flag: whether the converter reads the element's
    namespace map (QNames and enumerations may hold prefixed values)."""
    (data_type,) = var.types
    fmt = var.format
    if data_type is str:
        return _as_is, False
    if data_type is XmlDate and not fmt:
        return _xml_date, False
    if data_type is XmlDateTime and not fmt:
        return _xml_date_time, False
    instance = converter.type_converter(data_type)

    def convert(text: str, ns_map: dict[str | None, str] | None) -> Any:
        return instance.deserialize(text, data_type=data_type, ns_map=ns_map, format=fmt)

    return convert, isinstance(data_type, type) and issubclass(data_type, QName | Enum)


# -- dates ------------------------------------------------------------------------------
# xsdata's XmlDate/XmlDateTime.from_string walk the text one character at a time
# (9 and 15 us per value). The canonical lexical forms (ASCII digits, 4-digit year,
# optional fraction and offset, no surrounding space) are split here by one regular
# expression and checked with xsdata's own validate_date/validate_time; any other text
# goes to xsdata's converter. Equality with from_string is a property test.

_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})(Z|[+-][0-9]{2}:[0-9]{2})?")
_DATE_TIME = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})"
    r"(?:\.([0-9]{1,9}))?(Z|[+-][0-9]{2}:[0-9]{2})?"
)
_date_converter = converter.type_converter(XmlDate)
_date_time_converter = converter.type_converter(XmlDateTime)


def _offset(text: str | None) -> int | None:
    if text is None:
        return None
    if text == "Z":
        return 0
    minutes = int(text[1:3]) * 60 + int(text[4:6])
    return -minutes if text[0] == "-" else minutes


def _xml_date(text: str, ns_map: object = None) -> XmlDate:
    match = _DATE.fullmatch(text)
    if match is None:
        return _date_converter.deserialize(text)  # type: ignore[no-any-return]
    year, month, day = int(match[1]), int(match[2]), int(match[3])
    try:
        validate_date(year, month, day)
    except ValueError as error:
        raise ConverterError(error) from None
    return XmlDate(year, month, day, _offset(match[4]))


def _xml_date_time(text: str, ns_map: object = None) -> XmlDateTime:
    match = _DATE_TIME.fullmatch(text)
    if match is None:
        return _date_time_converter.deserialize(text)  # type: ignore[no-any-return]
    year, month, day = int(match[1]), int(match[2]), int(match[3])
    hour, minute, second = int(match[4]), int(match[5]), int(match[6])
    fraction = int(match[7].ljust(9, "0")) if match[7] else 0
    try:
        validate_date(year, month, day)
        validate_time(hour, minute, second, fraction)
    except ValueError as error:
        raise ConverterError(error) from None
    return XmlDateTime(year, month, day, hour, minute, second, fraction, _offset(match[8]))
