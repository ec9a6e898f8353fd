"""Binding XML elements to one contract's generated classes, and rendering them back.

Two Salesforce outbound-message contracts can both define ``Opportunity`` in
``urn:sobject.enterprise.soap.sforce.com``; xsdata resolves ``xsi:type`` against every
dataclass imported in the process unless its context is limited to one package. So each
contract gets its own :class:`ContractBinder` with ``models_package`` set to that
contract's generated package, and one parser/serializer per thread (xsdata caches class
metadata in them; building one per call costs about 30 %).
"""

from __future__ import annotations

import importlib
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

T = TypeVar("T")


class BindingError(ValueError):
    """The element does not match the contract's types; the message is safe to show callers."""


class ContractBinder:
    """Parse and serialise with the generated package of one contract."""

    def __init__(self, package: str) -> None:
        self.package = package
        self.module: ModuleType = importlib.import_module(package)
        self._context = XmlContext(models_package=package)
        self._local = threading.local()

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

    def cls(self, name: str) -> type[Any]:
        """A generated class of this contract by its Python name (``"Notifications"``)."""
        value = getattr(self.module, name, None)
        if not isinstance(value, type):
            raise LookupError(f"{self.package} has no class {name}")
        return value

    def bind(self, element: etree._Element, cls: type[T]) -> T:
        """Bind an already (safely) parsed element; any mismatch is a :class:`BindingError`.

        xsdata reports problems in several ways: ``ParserError`` for unknown elements or
        bad values (with ``fail_on_converter_warnings``), ``TypeError`` from the dataclass
        constructor when a required element is missing, ``XmlContextError`` for type
        lookups. All of them mean the same thing to a caller: the XML is not this contract.
        """
        try:
            result = self._parser().parse(element, cls)
        except (ValueError, TypeError, XmlContextError, AttributeError) as error:
            raise BindingError(_describe(error)) from None
        if not isinstance(result, cls):
            raise BindingError(f"expected {cls.__name__}")
        return result

    def render(self, obj: object) -> bytes:
        """Serialise a generated object to XML bytes (no XML declaration)."""
        return self._serializer().render(obj).encode()


def _describe(error: Exception) -> str:
    text = str(error).splitlines()[0] if str(error) else type(error).__name__
    if isinstance(error, TypeError) and "required" in text:
        return "a required element is missing"
    # xsdata messages name elements as {namespace}Class:{namespace}element; keep them short.
    return text[:200]
