"""Binding XML elements to one contract's generated classes, and rendering them back.

Two Salesforce outbound-message contracts can both define ``Opportunity`` in
``urn:sobject.enterprise.soap.sforce.com``; xsdata resolves ``xsi:type`` against every
dataclass imported in the process unless its context is limited to one package. So each
contract gets its own :class:`ContractBinder` with ``models_package`` set to that
contract's generated package, and one parser/serializer per thread (xsdata caches class
metadata in them; building one per call costs about 30 %).

Binding first tries :class:`~gateway.bindings.fastbind.FastBinder`, compiled from the
same xsdata metadata, which handles the ordinary shape of a message about six times
faster; whatever it does not handle exactly goes to xsdata's ``XmlParser``, so results and
errors are xsdata's either way.
"""

from __future__ import annotations

import importlib
import re
import threading
from types import ModuleType
from typing import Any, TypeVar

from lxml import etree
from xsdata.exceptions import XmlContextError
from xsdata.formats.dataclass.context import XmlContext
from xsdata.formats.dataclass.parsers import XmlParser
from xsdata.formats.dataclass.parsers.config import ParserConfig
from xsdata.formats.dataclass.serializers import XmlSerializer
from xsdata.formats.dataclass.serializers.config import SerializerConfig

from gateway.bindings.fastbind import FastBinder

T = TypeVar("T")


class BindingError(ValueError):
    """The element does not match the contract's types; the message is safe to show callers."""


class ContractBinder:
    """Parse and serialise with the generated package of one contract.

    ``fast=False`` binds with xsdata's parser alone (the reference the fast path is tested
    and benchmarked against).
    """

    def __init__(self, package: str, *, fast: bool = True) -> None:
        self.package = package
        self.module: ModuleType = importlib.import_module(package)
        # The trailing dot keeps ``generated.shipment`` from also matching the classes of
        # ``generated.shipment_v2``: xsdata compares module names by prefix.
        self._context = XmlContext(models_package=f"{package}.")
        self._local = threading.local()
        self._describe = _Describer(self.module, self._context)
        self._fast = FastBinder(self._context) if fast else None
        self._roots: dict[type[Any], str] = {}
        self._lookups: dict[tuple[str, str], type[Any]] = {}
        self._lookup_lock = threading.Lock()

    def _parser(self) -> XmlParser:
        parser: XmlParser | None = getattr(self._local, "parser", None)
        if parser is None:
            parser = XmlParser(
                context=self._context,
                config=ParserConfig(fail_on_converter_warnings=True),
            )
            self._local.parser = parser
        return parser

    def _serializer(self) -> XmlSerializer:
        serializer: XmlSerializer | None = getattr(self._local, "serializer", None)
        if serializer is None:
            serializer = XmlSerializer(
                context=self._context, config=SerializerConfig(xml_declaration=False)
            )
            self._local.serializer = serializer
        return serializer

    def type_class(self, qname: str) -> type[Any]:
        """The class generated for the named type ``qname`` (``{namespace}local``).

        Looked up the way xsdata resolves an ``xsi:type``: by the qualified XML name in
        the class metadata, never by the Python name, which xsdata derives on its own
        (``Shipment__c`` becomes ``ShipmentC``, a name that clashes gets a suffix).
        """
        return self._lookup("type", qname)

    def element_class(self, qname: str) -> type[Any]:
        """The class generated for the global element ``qname`` (``{namespace}local``)."""
        return self._lookup("element", qname)

    def _lookup(self, kind: str, qname: str) -> type[Any]:
        """One class, or a ``LookupError`` naming what is missing (or ambiguous).

        Under a lock: xsdata rebuilds its type index lazily and not thread-safely (two
        threads building it at once list every class twice). Answers are cached.
        """
        with self._lookup_lock:
            cached = self._lookups.get((kind, qname))
            if cached is not None:
                return cached
            candidates: list[type[Any]] = list(dict.fromkeys(self._context.find_types(qname)))
            if kind == "element":
                builder = self._context.get_builder()
                candidates = [c for c in candidates if builder.build_class_meta(c).qname == qname]
            if len(candidates) != 1:
                raise LookupError(_lookup_failure(self.package, kind, qname, len(candidates)))
            self._lookups[(kind, qname)] = candidates[0]
            return candidates[0]

    def element_names(self, cls: type[Any]) -> set[str]:
        """The local names of the child elements a generated class declares."""
        meta = self._context.get_builder().build(cls, None)
        return {str(var.local_name) for var in meta.get_element_vars()}

    def field_type(self, cls: type[Any], local_name: str) -> type[Any]:
        """The Python type of a simple child element (an enumeration, say), by XML name."""
        meta = self._context.get_builder().build(cls, None)
        for var in meta.get_element_vars():
            if var.local_name == local_name and len(var.types) == 1:
                return var.types[0]
        raise LookupError(f"{cls.__name__} has no simple element {local_name}")

    def xml_name(self, cls: type[Any]) -> str:
        """The XML name a generated class stands for (``Shipment__c`` for ``ShipmentC``)."""
        return str(self._context.get_builder().build_class_meta(cls).local_name)

    def bind(self, element: etree._Element, cls: type[T]) -> T:
        """Bind an already (safely) parsed element; any mismatch is a :class:`BindingError`.

        xsdata reports problems in several ways: ``ParserError`` for unknown elements or
        bad values (with ``fail_on_converter_warnings``), ``TypeError`` from the dataclass
        constructor when a required element is missing, ``XmlContextError`` for type
        lookups. All of them mean the same thing to a caller: the XML is not this contract.

        The fast path leaves the element as it is; xsdata's parser clears the elements it
        has read, so read anything else you need from the tree before binding.
        """
        expected = self._root_qname(cls)
        if element.tag != expected:
            raise BindingError(f"expected element {_clark(expected)}, got {_clark(element.tag)}")
        if self._fast is not None:
            fast = self._fast.bind(element, cls)
            if fast is not None:
                return fast  # type: ignore[no-any-return]
        try:
            result = self._parser().parse(element, cls)
        except (ValueError, TypeError, XmlContextError, AttributeError) as error:
            raise BindingError(self._describe(error)) from None
        if not isinstance(result, cls):
            raise BindingError(f"expected element {_clark(expected)}")
        return result

    def _root_qname(self, cls: type[Any]) -> str:
        """xsdata binds any element to ``cls`` whatever its name; we do not.

        The name is the class's as a root (no parent namespace), computed once per class.
        ``context.build(cls)`` would answer with the meta cached when the class was first
        seen, possibly nested under a parent whose namespace a class without
        ``Meta.namespace`` inherits: the check would depend on what was bound before.
        """
        qname = self._roots.get(cls)
        if qname is None:
            qname = self._roots[cls] = str(self._context.get_builder().build(cls, None).qname)
        return qname

    def render(self, obj: object) -> bytes:
        """Serialise a generated object to XML bytes (no XML declaration)."""
        return self._serializer().render(obj).encode()


def _lookup_failure(package: str, kind: str, qname: str, count: int) -> str:
    where = _clark(qname)
    if count == 0:
        return f"{package} has no class for the {kind} {where}"
    return f"{package} has {count} classes for the {kind} {where}"


_UNKNOWN = re.compile(r"^Unknown (property|attribute) (\{[^}]*\})?([^:{]+):(\{([^}]*)\})?(.+)$")
_CONVERT = re.compile(r"^Failed to convert value for `([\w.]+)\.(\w+)`")
_MISSING = re.compile(
    r"^([\w.]+)\.__init__\(\) missing \d+ required keyword-only arguments?: (.+)$"
)
_PREFIX = re.compile(r"^Unknown namespace prefix: `([^`]*)`")


def _clark(tag: object) -> str:
    """``{ns}local`` as ``local (ns)``; comments and the like have no tag name."""
    if not isinstance(tag, str):
        return "a non-element node"
    namespace, _, local = tag[1:].partition("}") if tag.startswith("{") else ("", "", tag)
    return _where(local, namespace)


def _where(local_name: str, namespace: str | None) -> str:
    return f"{local_name} ({namespace})" if namespace else local_name


class _Describer:
    """Turns xsdata's exceptions into messages in XML terms (element names, not Python
    names or internals), short and free of input values: they end up in SOAP
    faultstrings sent to whoever posted the message."""

    def __init__(self, module: ModuleType, context: XmlContext) -> None:
        self.module = module
        self.context = context

    def _class(self, qualname: str) -> type[Any] | None:
        value: Any = self.module
        for part in qualname.split("."):
            value = getattr(value, part, None)
        return value if isinstance(value, type) else None

    def _xml_class_name(self, qualname: str) -> str:
        cls = self._class(qualname)
        if cls is None:
            return qualname.rpartition(".")[2]
        try:
            return str(self.context.build(cls).qname).rpartition("}")[2]
        except XmlContextError:
            return qualname.rpartition(".")[2]

    def _xml_field_name(self, qualname: str, attribute: str) -> str:
        cls = self._class(qualname)
        if cls is not None:
            try:
                for var in self.context.build(cls).get_all_vars():
                    if var.name == attribute:
                        return str(var.local_name)
            except XmlContextError:
                pass
        return attribute

    def __call__(self, error: Exception) -> str:  # noqa: PLR0911 - one return per case
        text = str(error).strip()
        first = text.splitlines()[0] if text else ""
        if match := _UNKNOWN.match(first):
            what, _, owner, _, namespace, local = match.groups()
            kind = "element" if what == "property" else "attribute"
            return f"unknown {kind} {_where(local, namespace)} in {owner}"
        if match := _CONVERT.match(first):
            qualname, attribute = match.groups()
            element = self._xml_field_name(qualname, attribute)
            owner = self._xml_class_name(qualname)
            return f"invalid value in element {element} of {owner}"
        if isinstance(error, TypeError) and (match := _MISSING.match(first)):
            qualname, names = match.groups()
            owner = self._xml_class_name(qualname)
            attributes = re.findall(r"'(\w+)'", names)
            elements = ", ".join(self._xml_field_name(qualname, a) for a in attributes)
            return f"missing required element {elements} in {owner}"
        if match := _PREFIX.match(first):
            return f"unknown namespace prefix {match.group(1)!r} (in xsi:type or a QName value)"
        if isinstance(error, TypeError):
            return "the element does not match the contract"
        if isinstance(error, XmlContextError) and "child nodes" in first:
            return "an element that holds a simple value has child elements"
        # Anything else from xsdata: keep it short; it names types, never input values.
        return first[:200] or type(error).__name__
