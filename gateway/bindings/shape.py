"""What an outbound-message WSDL says about the record it carries.

Salesforce generates one WSDL per outbound message: the object's complexType extends
``ens:sObject`` with one element per selected field (alphabetical), and
``<Object>Notification`` pairs a notification ``Id`` with that ``sObject``. This module
reads those facts from the WSDL itself (not from generated code) so that the gateway can
check ``xsi:type`` and ``sfgw bindings diff`` can compare two versions of a contract.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lxml import etree

from gateway.contracts import ContractError
from gateway.namespaces import ENTERPRISE_SOBJECT, OUTBOUND_MESSAGE, WSDL, XSD
from gateway.soap import parse_xml

#: Salesforce sends at most 100 notifications in one message (the WSDL's maxOccurs).
MAX_NOTIFICATIONS = 100


@dataclass(frozen=True)
class FieldSpec:
    """One field of the record: API name, XSD type as ``{namespace}local``, nillable."""

    name: str
    type: str
    nillable: bool
    min_occurs: int

    @property
    def type_label(self) -> str:
        """``ID``, ``string``, ``double``, ... as Salesforce's WSDL spells it."""
        return self.type.rpartition("}")[2]


@dataclass(frozen=True)
class OutboundMessageShape:
    """The record type an outbound message carries, by its XML names.

    ``object_name`` is the sObject type's name as Salesforce writes it (``Opportunity``,
    ``Shipment__c``, ``acme__Shipment__c``) in ``object_namespace`` (always
    ``urn:sobject.enterprise.soap.sforce.com`` in generated WSDLs, read from the file all
    the same); ``notification_type`` is ``<object>Notification`` in the outbound namespace.
    """

    object_name: str
    notification_type: str
    fields: tuple[FieldSpec, ...]
    max_notifications: int
    object_namespace: str = ENTERPRISE_SOBJECT

    @property
    def object_qname(self) -> str:
        return f"{{{self.object_namespace}}}{self.object_name}"

    @property
    def notification_qname(self) -> str:
        return f"{{{OUTBOUND_MESSAGE}}}{self.notification_type}"

    def field(self, name: str) -> FieldSpec | None:
        return next((f for f in self.fields if f.name == name), None)


def _qname(element: etree._Element, value: str) -> str:
    prefix, _, local = value.rpartition(":")
    namespace = element.nsmap.get(prefix or None)
    if namespace is None:
        raise ContractError(f"unknown namespace prefix {prefix!r} in {value!r}")
    return f"{{{namespace}}}{local}"


def _schema(types: etree._Element, namespace: str) -> etree._Element:
    for schema in types.iterfind(f"{{{XSD}}}schema"):
        if schema.get("targetNamespace") == namespace:
            return schema
    raise ContractError(f"no schema with targetNamespace {namespace} in <types>")


def _named(schema: etree._Element, tag: str, name: str) -> etree._Element:
    for node in schema.iterfind(f"{{{XSD}}}{tag}"):
        if node.get("name") == name:
            return node
    raise ContractError(f"no {tag} named {name!r} in schema {schema.get('targetNamespace')}")


def read_outbound_shape_bytes(data: bytes, source: str = "WSDL") -> OutboundMessageShape:
    try:
        root = parse_xml(data)
    except ValueError:
        # parse_xml words its errors for request bodies; this is a file
        reason = "is empty" if not data.strip() else "is not well-formed XML (or has a DOCTYPE)"
        raise ContractError(f"{source} {reason}") from None
    if root.tag != f"{{{WSDL}}}definitions" or root.get("targetNamespace") != OUTBOUND_MESSAGE:
        raise ContractError(f"{source}: not a Salesforce outbound-message WSDL")
    try:
        types = root.find(f"{{{WSDL}}}types")
        if types is None:
            raise ContractError("no <types> section")
        outbound = _schema(types, OUTBOUND_MESSAGE)
        notifications = _named(outbound, "element", "notifications")
        notification = next(
            (e for e in notifications.iter(f"{{{XSD}}}element") if e.get("name") == "Notification"),
            None,
        )
        if notification is None:
            raise ContractError("notifications has no Notification element")
        max_occurs = notification.get("maxOccurs", "1")
        notification_type = _qname(notification, notification.get("type", ""))
        notification_local = notification_type.rpartition("}")[2]
        notification_ct = _named(outbound, "complexType", notification_local)
        sobject_el = next(
            (e for e in notification_ct.iter(f"{{{XSD}}}element") if e.get("name") == "sObject"),
            None,
        )
        if sobject_el is None:
            raise ContractError(f"{notification_local} has no sObject element")
        object_qname = _qname(sobject_el, sobject_el.get("type", ""))
        object_ns, _, object_name = object_qname[1:].partition("}")
        sobjects = _schema(types, object_ns)
        object_ct = _named(sobjects, "complexType", object_name)
        fields = tuple(
            FieldSpec(
                name=el.get("name", ""),
                type=_qname(el, el.get("type", "xsd:string")),
                nillable=el.get("nillable") == "true",
                min_occurs=_occurs(el, "minOccurs"),
            )
            for el in object_ct.iter(f"{{{XSD}}}element")
        )
        max_notifications = (
            MAX_NOTIFICATIONS if max_occurs == "unbounded" else _occurs(notification, "maxOccurs")
        )
    except ContractError as error:
        raise ContractError(f"{source}: {error}") from None
    return OutboundMessageShape(
        object_name=object_name,
        notification_type=notification_local,
        fields=fields,
        max_notifications=max_notifications,
        object_namespace=object_ns,
    )


def _occurs(element: etree._Element, attribute: str) -> int:
    raw = element.get(attribute, "1")
    if not raw.strip().isdigit():
        raise ContractError(f"element {element.get('name')!r} has {attribute}={raw!r}")
    return int(raw)


def read_outbound_shape(path: Path) -> OutboundMessageShape:
    return read_outbound_shape_bytes(path.read_bytes(), str(path))
