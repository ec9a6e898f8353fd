"""Run xsdata's code generator for several contracts in one process, with corrections.

``python -m gateway.bindings.xsdata_runner WSDL PACKAGE [WSDL PACKAGE ...]`` writes each
package under the current directory, exactly as ``xsdata generate WSDL --package PACKAGE``
would, except for three things Salesforce's WSDLs need:

1. **nillable on simple-typed elements.** xsdata 26.10 drops ``nillable="true"`` when an
   element's type is a named simple type (``ProcessAttributeTypes.copy_attribute_properties``
   rebuilds the restrictions from the simple type's and forgets the element's own flag).
   Every ``ent:ID`` field is such an element, so ``<sf:AccountId xsi:nil="true"/>`` bound
   to ``''`` instead of ``None``. We keep the element's flag.
2. **The record Id of an outbound message may be absent.** Salesforce declares
   ``sObject/Id`` with ``minOccurs`` 1, yet a notification for a record deleted before
   delivery carries an empty ``<sObject/>``; with the WSDL's literal ``minOccurs`` the
   dataclass requires ``id`` and the whole message (up to 100 notifications) would be
   refused. For outbound-message contracts only, ``sObject/Id`` is read as
   ``minOccurs="0"``; the gateway decides what to do with a notification without a record.
3. **``<any namespace="##targetNamespace">``** (the Partner API's ``sObject`` fields,
   ``AggregateResult``): xsdata resolves ``##targetNamespace`` at parse time against the
   *parent element's* namespace, so ``<sf:Order_Number__c>`` inside ``<sObjects>`` was an
   "unknown property". We write the schema's target namespace literally, which is what
   ``##targetNamespace`` means in XSD.

Running every contract in one interpreter also saves the start-up and import cost of one
xsdata process per contract (most of the time of generating a small WSDL).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Any

from lxml import etree

from gateway.namespaces import ENTERPRISE_SOBJECT, OUTBOUND_MESSAGE, WSDL, XSD
from gateway.soap import parse_xml


def _keep_element_nillable() -> None:
    from xsdata.codegen.handlers.process_attributes_types import ProcessAttributeTypes

    original: Any = ProcessAttributeTypes.copy_attribute_properties.__func__  # type: ignore[attr-defined]

    def copy_attribute_properties(
        cls: Any, source: Any, target: Any, attr: Any, attr_type: Any
    ) -> None:
        nillable = attr.restrictions.nillable
        original(cls, source, target, attr, attr_type)
        if nillable:
            attr.restrictions.nillable = True

    ProcessAttributeTypes.copy_attribute_properties = classmethod(  # type: ignore[method-assign,assignment]
        copy_attribute_properties
    )


#: Namespaces written in place of ``##targetNamespace`` in the WSDL being generated; their
#: wildcard fields keep xsdata's usual name, ``target_namespace_element``.
_REWRITTEN_WILDCARDS: set[str] = set()


def _keep_wildcard_names() -> None:
    from xsdata.models.xsd import Any as XsdAny

    original: Any = XsdAny.real_name.fget  # type: ignore[attr-defined]

    def real_name(self: Any) -> str:
        if self.namespace in _REWRITTEN_WILDCARDS:
            return "@target_namespace_element"
        return str(original(self))

    XsdAny.real_name = property(real_name)  # type: ignore[assignment,method-assign]


def _explicit_target_namespace_wildcards(root: etree._Element) -> bool:
    changed = False
    for schema in root.iterfind(f"{{{WSDL}}}types/{{{XSD}}}schema"):
        target = schema.get("targetNamespace")
        if not target:
            continue
        for wildcard in schema.iter(f"{{{XSD}}}any"):
            namespaces = wildcard.get("namespace", "").split()
            if "##targetNamespace" in namespaces:
                literal = " ".join(target if ns == "##targetNamespace" else ns for ns in namespaces)
                wildcard.set("namespace", literal)
                _REWRITTEN_WILDCARDS.add(literal)
                changed = True
    return changed


def _optional_sobject_id(root: etree._Element) -> bool:
    if root.get("targetNamespace") != OUTBOUND_MESSAGE:
        return False
    changed = False
    for schema in root.iterfind(f"{{{WSDL}}}types/{{{XSD}}}schema"):
        if schema.get("targetNamespace") != ENTERPRISE_SOBJECT:
            continue
        for complex_type in schema.iterfind(f"{{{XSD}}}complexType"):
            if complex_type.get("name") != "sObject":
                continue
            for element in complex_type.iterfind(f"{{{XSD}}}sequence/{{{XSD}}}element"):
                if element.get("name") == "Id" and element.get("minOccurs", "1") != "0":
                    element.set("minOccurs", "0")
                    changed = True
    return changed


def prepared_wsdl(data: bytes) -> bytes | None:
    """The WSDL as xsdata should read it, or ``None`` when it needs no change."""
    root = parse_xml(data)
    if root.tag != f"{{{WSDL}}}definitions":
        return None
    changed = _explicit_target_namespace_wildcards(root)
    changed = _optional_sobject_id(root) or changed
    if not changed:
        return None
    return etree.tostring(root.getroottree(), xml_declaration=True, encoding="UTF-8")


#: Prefix of the one stderr line that names the contract that failed.
FAILED_MARK = "sfgw-generation-failed: "


class ContractGenerationFailed(RuntimeError):
    """xsdata raised while generating one contract; the message names it."""


def generate(pairs: list[tuple[Path, str]]) -> None:
    from xsdata.codegen.transformer import ResourceTransformer
    from xsdata.models.config import GeneratorConfig

    _keep_element_nillable()
    _keep_wildcard_names()
    with tempfile.TemporaryDirectory(prefix="sfgw-wsdl-") as scratch:
        for index, (wsdl, package) in enumerate(pairs):
            _REWRITTEN_WILDCARDS.clear()
            try:
                source = wsdl.resolve()
                tolerant = prepared_wsdl(source.read_bytes())
                if tolerant is not None:
                    # same file name: xsdata names the module after it
                    source = Path(scratch) / str(index) / wsdl.name
                    source.parent.mkdir()
                    source.write_bytes(tolerant)
                config = GeneratorConfig()
                config.output.package = package
                ResourceTransformer(config=config).process([source.as_uri()])
            except Exception as error:
                reason = str(error).strip().splitlines()[0] if str(error).strip() else ""
                raise ContractGenerationFailed(
                    f"{FAILED_MARK}{wsdl}: xsdata failed: {type(error).__name__} {reason}"
                ) from error


def main(argv: list[str]) -> int:
    if not argv or len(argv) % 2:
        print("usage: python -m gateway.bindings.xsdata_runner WSDL PACKAGE ...", file=sys.stderr)
        return 2
    try:
        generate([(Path(argv[i]), argv[i + 1]) for i in range(0, len(argv), 2)])
    except ContractGenerationFailed as error:
        print(error, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
