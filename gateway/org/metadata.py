"""Reading one source-format metadata file strictly: schema first, then typed binding.

Two passes, because each catches what the other cannot say well:

1. **lxml against the XSD** (``contracts/salesforce/metadata/salesforce_metadata.xsd``).
   It knows element order, required elements and enumerations, and its errors carry the
   line number, so a misspelled ``<fieldz>`` is reported as ``file:20: element <fieldz>:
   not expected here``. xsdata's parser ignores order and names no line.
2. **xsdata** binds the validated tree to the classes generated from the same XSD
   (``generated.salesforce_metadata``), with every strictness option on, so the rest of
   the product reads typed objects, never raw XML. Should the two ever disagree, the
   xsdata error is still reported with the file and, where it can be found, the line.

The file's suffix says which root element it must have (``.flow-meta.xml`` holds a
``Flow``); the table is :data:`KINDS`, after the Salesforce CLI's metadata registry.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lxml import etree
from xsdata.exceptions import ParserError
from xsdata.formats.dataclass.context import XmlContext
from xsdata.formats.dataclass.parsers import XmlParser
from xsdata.formats.dataclass.parsers.config import ParserConfig

from gateway.namespaces import SALESFORCE_METADATA
from gateway.org.errors import MetadataError
from gateway.settings import PROJECT_ROOT
from gateway.soap import hardened_parser

#: The schema subset every metadata file is checked against (a contract, generated like
#: the others into :data:`METADATA_PACKAGE`).
METADATA_XSD = PROJECT_ROOT / "contracts" / "salesforce" / "metadata" / "salesforce_metadata.xsd"
METADATA_PACKAGE = "generated.salesforce_metadata"


@dataclass(frozen=True)
class MetadataKind:
    """A metadata type the bundle may hold: its file suffix, root element and folder."""

    root: str
    suffix: str
    folder: str


#: Source-format suffixes and folders, as in the Salesforce CLI's metadata registry.
KINDS: tuple[MetadataKind, ...] = (
    MetadataKind("ApexClass", ".cls-meta.xml", "classes"),
    MetadataKind("CustomField", ".field-meta.xml", "fields"),
    MetadataKind("ExternalClientApplication", ".eca-meta.xml", "externalClientApps"),
    MetadataKind("ExtlClntAppConfigurablePolicies", ".ecaPlcy-meta.xml", "extlClntAppPolicies"),
    MetadataKind(
        "ExtlClntAppOauthConfigurablePolicies", ".ecaOauthPlcy-meta.xml", "extlClntAppOauthPolicies"
    ),
    MetadataKind("ExtlClntAppOauthSettings", ".ecaOauth-meta.xml", "extlClntAppOauthSettings"),
    MetadataKind("Flow", ".flow-meta.xml", "flows"),
    MetadataKind("PermissionSet", ".permissionset-meta.xml", "permissionsets"),
    MetadataKind("Workflow", ".workflow-meta.xml", "workflows"),
)


def kind_of(path: Path) -> MetadataKind | None:
    """The metadata type a file holds, by its suffix; ``None`` for a type we do not model."""
    return next((kind for kind in KINDS if path.name.endswith(kind.suffix)), None)


def component_name(path: Path, kind: MetadataKind) -> str:
    """``Order_Number__c`` for ``Order_Number__c.field-meta.xml``."""
    return path.name[: -len(kind.suffix)]


_local = threading.local()


def _schema() -> etree.XMLSchema:
    """This thread's validator (an ``XMLSchema`` keeps its error log on itself, so one
    per thread, like the parsers)."""
    schema: etree.XMLSchema | None = getattr(_local, "schema", None)
    if schema is None:
        document = etree.parse(str(METADATA_XSD), hardened_parser())
        schema = _local.schema = etree.XMLSchema(document)
    return schema


def _binder() -> XmlParser:
    parser: XmlParser | None = getattr(_local, "binder", None)
    if parser is None:
        parser = _local.binder = XmlParser(
            # The trailing dot limits xsdata to this one package.
            context=XmlContext(models_package=f"{METADATA_PACKAGE}."),
            config=ParserConfig(
                fail_on_unknown_properties=True,
                fail_on_unknown_attributes=True,
                fail_on_converter_warnings=True,
            ),
        )
    return parser


def _root_class(kind: MetadataKind) -> type[Any]:
    import importlib

    module = importlib.import_module(METADATA_PACKAGE)
    cls: type[Any] = getattr(module, kind.root)
    return cls


_NAMESPACED = re.compile(r"\{" + re.escape(SALESFORCE_METADATA) + r"\}")
_ELEMENT = re.compile(r"^Element '([^']+)'(?:, attribute '[^']+')?: ")
_EXPECTED = re.compile(r"This element is not expected\. Expected is( one of)? \( (.+) \)\.$")
_ENUMERATION = re.compile(
    r"\[facet 'enumeration'\] The value '(.*)' is not an element of the set \{(.*)\}\.$"
)


def _schema_problem(message: str) -> tuple[str | None, str]:
    """lxml's message as ``(element, problem)``, the metadata namespace left out."""
    message = _NAMESPACED.sub("", message).strip()
    match = _ELEMENT.match(message)
    if match is None:
        return None, message
    element, problem = match.group(1), message[match.end() :]
    expected = _EXPECTED.match(problem)
    if expected is not None:
        names = ", ".join(name.strip() for name in expected.group(2).split(","))
        problem = f"not expected here (expected {names})"
    elif (enumeration := _ENUMERATION.match(problem)) is not None:
        allowed = enumeration.group(2).replace("'", "")
        problem = f"{enumeration.group(1)!r} is not one of the allowed values ({allowed})"
    elif problem == "This element is not expected.":
        problem = "not expected here (nothing more is allowed at this point)"
    return element, problem


def _line(node: etree._Element) -> int | None:
    line: object = node.sourceline  # lxml-stubs type it loosely
    return line if isinstance(line, int) else None


def _syntax_error(path: str, error: etree.XMLSyntaxError) -> MetadataError:
    line = error.lineno if error.lineno else None
    reason = str(error.msg).split(", line ")[0] if error.msg else "broken XML"
    return MetadataError(path, line, None, f"not well-formed XML ({reason})")


def read_element(data: bytes, display: str) -> etree._Element:
    """Parse a metadata file's bytes without DTDs, entities or network; refuse a DOCTYPE."""
    if not data.strip():
        raise MetadataError(display, None, None, "the file is empty")
    try:
        root = etree.fromstring(data, hardened_parser())
    except etree.XMLSyntaxError as error:
        raise _syntax_error(display, error) from None
    docinfo: Any = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise MetadataError(display, 1, None, "a DOCTYPE is not allowed in metadata files")
    return root


def validate_element(root: etree._Element, kind: MetadataKind, display: str) -> None:
    """Check the root's name and then the whole tree against the schema subset."""
    expected = f"{{{SALESFORCE_METADATA}}}{kind.root}"
    if root.tag != expected:
        got = _NAMESPACED.sub("", str(root.tag))
        raise MetadataError(
            display,
            _line(root),
            got,
            f"a {kind.suffix} file holds a <{kind.root}> in namespace {SALESFORCE_METADATA}",
        )
    schema = _schema()
    if not schema.validate(root.getroottree()):
        log: Any = schema.error_log  # lxml-stubs declare the log without its entries
        first = log[0]
        element, problem = _schema_problem(first.message)
        raise MetadataError(display, first.line or None, element, problem)


def bind_element(root: etree._Element, kind: MetadataKind, display: str) -> Any:
    """The validated tree as an instance of the generated class for ``kind``."""
    lines = {
        etree.QName(node).localname: _line(node)
        for node in root.iter()
        if isinstance(node.tag, str)
    }
    try:
        return _binder().parse(root, _root_class(kind))
    except (ParserError, TypeError, ValueError) as error:
        text = " ".join(_NAMESPACED.sub("", str(error)).split())
        element = _failed_element(text)
        raise MetadataError(display, lines.get(element or ""), element, text) from None


_UNKNOWN = re.compile(r"Unknown (?:property|attribute) [^:]*:(\w+)")
_CONVERT = re.compile(r"Failed to convert value for `(\w+)\.(\w+)`")


def _failed_element(text: str) -> str | None:
    """The XML name of the element an xsdata error is about (it names Python fields)."""
    unknown = _UNKNOWN.search(text)
    if unknown is not None:
        return unknown.group(1)
    convert = _CONVERT.search(text)
    if convert is None:
        return None
    import importlib

    cls = getattr(importlib.import_module(METADATA_PACKAGE), convert.group(1), None)
    if cls is None:
        return None
    meta = _binder().context.get_builder().build(cls, None)
    return next(
        (str(var.local_name) for var in meta.get_all_vars() if var.name == convert.group(2)),
        None,
    )


def parse_metadata(path: Path, display: str | None = None) -> Any:
    """One metadata file as its generated class, or a :class:`MetadataError` that names
    the file, the line and the element at fault.

    ``display`` is how the file is named in errors (a path relative to the bundle reads
    better than an absolute one).
    """
    shown = display or str(path)
    kind = kind_of(path)
    if kind is None:
        known = ", ".join(k.suffix for k in KINDS)
        raise MetadataError(shown, None, None, f"not a metadata type the bundle holds ({known})")
    try:
        data = path.read_bytes()
    except OSError as error:
        raise MetadataError(shown, None, None, f"cannot be read ({error.strerror})") from None
    root = read_element(data, shown)
    validate_element(root, kind, shown)
    return bind_element(root, kind, shown)
