"""SOAP Partner API ``update()`` and ``retrieve()`` with the generated ``partner`` classes.

Requests are parsed with the hardened parser in :mod:`gateway.soap` and bound with
``generated.partner``; replies carry a ``LimitInfoHeader``; call-level errors are SOAP
faults shaped exactly as Salesforce sends them (``sf:INVALID_SESSION_ID`` with an
``UnexpectedErrorFault`` detail, HTTP 500).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape

from lxml import etree
from xsdata.formats.dataclass.models.generics import AnyElement

from gateway import sfid
from gateway.bindings.binder import BindingError, ContractBinder
from gateway.namespaces import PARTNER, PARTNER_FAULT, PARTNER_SOBJECT, SOAP11_ENVELOPE, XSI
from gateway.soap import SoapParseError, envelope, parse_envelope
from mock_salesforce import versions
from mock_salesforce.admission import admit
from mock_salesforce.faults import CallError
from mock_salesforce.records import ApiError, iso_datetime
from mock_salesforce.updates import MAX_RECORDS, save

if TYPE_CHECKING:
    from mock_salesforce.org import Org


_binder = ContractBinder("generated.partner")

#: Salesforce's faultstring texts for a refused call (the REST messages differ).
_SOAP_MESSAGES = {
    "INVALID_SESSION_ID": "Invalid Session ID found in SessionHeader: Illegal Session",
    "REQUEST_LIMIT_EXCEEDED": "TotalRequests Limit exceeded.",
    "SERVER_UNAVAILABLE": "Server is temporarily unavailable, try again later.",
}


def fault(code: str, message: str, kind: str = "UnexpectedErrorFault") -> bytes:
    extra = (
        "<sf:row>-1</sf:row><sf:column>-1</sf:column>"
        if kind in ("InvalidFieldFault", "MalformedQueryFault", "InvalidSObjectFault")
        else ""
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<soapenv:Envelope xmlns:soapenv="{SOAP11_ENVELOPE}" xmlns:sf="{PARTNER_FAULT}" '
        f'xmlns:xsi="{XSI}">'
        "<soapenv:Body><soapenv:Fault>"
        f"<faultcode>sf:{code}</faultcode>"
        f"<faultstring>{escape(code)}: {escape(message)}</faultstring>"
        f'<detail><sf:{kind} xsi:type="sf:{kind}">'
        f"<sf:exceptionCode>{code}</sf:exceptionCode>"
        f"<sf:exceptionMessage>{escape(message)}</sf:exceptionMessage>{extra}"
        f"</sf:{kind}></detail>"
        "</soapenv:Fault></soapenv:Body></soapenv:Envelope>"
    ).encode()


def refusal_fault(refusal: CallError) -> bytes:
    """An API refusal (a dead session, the daily limit, an outage) in the SOAP APIs'
    words, which are not the REST API's."""
    return fault(refusal.code, _SOAP_MESSAGES[refusal.code])


def client_fault(message: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<soapenv:Envelope xmlns:soapenv="{SOAP11_ENVELOPE}"><soapenv:Body><soapenv:Fault>'
        f"<faultcode>soapenv:Client</faultcode><faultstring>{escape(message)}</faultstring>"
        "</soapenv:Fault></soapenv:Body></soapenv:Envelope>"
    ).encode()


def handle(org: Org, body: bytes, org15: str | None, version: str = "") -> tuple[int, bytes]:
    """One Partner call; ``org15`` is the org id of the URL (``PartnerUrl`` carries it,
    a login's ``serverUrl`` too; ``/services/Soap/u/62.0`` alone works as well)."""
    if versions.check(version, versions.newest_for(org.settings.api_version), soap=True):
        return 500, fault(
            "UNSUPPORTED_API_VERSION", f"Invalid Api version specified on URL: {version}"
        )
    try:
        env = parse_envelope(body)
    except SoapParseError as error:
        return 500, client_fault(str(error))
    session = _header_value(env.header, "SessionHeader", "sessionId")
    same_org = org15 is None or org15[:15] == org.settings.org_id15
    refusal = admit(org, session if same_org else None)
    if refusal is not None:
        return refusal.soap_status, refusal_fault(refusal)
    payload = env.payload
    if payload.tag == f"{{{PARTNER}}}update":
        all_or_none = (_header_value(env.header, "AllOrNoneHeader", "allOrNone") or "").strip() in (
            "true",
            "1",
        )
        return _update(org, payload, all_or_none)
    if payload.tag == f"{{{PARTNER}}}retrieve":
        return _retrieve(org, payload)
    return 500, client_fault(f"No operation available for request {payload.tag}")


def _header_value(header: etree._Element | None, name: str, child: str) -> str | None:
    if header is None:
        return None
    node = header.find(f"{{{PARTNER}}}{name}/{{{PARTNER}}}{child}")
    return None if node is None or not (node.text or "").strip() else (node.text or "").strip()


def _limit_header(org: Org) -> bytes:
    header = _binder.element_class(f"{{{PARTNER}}}LimitInfoHeader")(
        limit_info=[
            _binder.type_class(f"{{{PARTNER}}}LimitInfo")(
                current=org.store.usage(), limit=org.api_limit(), type_value="API REQUESTS"
            )
        ]
    )
    return _binder.render(header)


def _split_fields(payload: etree._Element) -> tuple[etree._Element, list[dict[str, object]]]:
    """Take the record fields (the ``xsd:any`` part of each sObject) out of a copy.

    xsdata resolves the sObject wildcard (``##targetNamespace``) against the parent
    element's namespace, so it refuses ``sf:Order_Number__c``; the fixed part (type,
    fieldsToNull, Id) is bound with the generated classes and the fields are read here.
    """
    copy = etree.fromstring(etree.tostring(payload))
    fixed = {f"{{{PARTNER_SOBJECT}}}{name}" for name in ("type", "fieldsToNull", "Id")}
    fields: list[dict[str, object]] = []
    for sobject in copy.findall(f"{{{PARTNER}}}sObjects"):
        values: dict[str, object] = {}
        for child in list(sobject):
            if not isinstance(child.tag, str) or child.tag in fixed:
                continue
            name = etree.QName(child).localname
            nil = child.get(f"{{{XSI}}}nil") in ("true", "1")
            values[name] = None if nil else (child.text or "")
            sobject.remove(child)
        fields.append(values)
    return copy, fields


def _update(org: Org, payload: etree._Element, all_or_none: bool) -> tuple[int, bytes]:
    stripped, field_values = _split_fields(payload)
    try:
        request = _binder.bind(stripped, _binder.element_class(f"{{{PARTNER}}}update"))
    except BindingError as error:
        return 500, client_fault(f"update: {error}")
    if len(request.s_objects) > MAX_RECORDS:
        return 500, fault(
            "UNKNOWN_EXCEPTION", "Too many records: update accepts at most 200 sObjects"
        )
    items: list[tuple[object, dict[str, object]]] = []
    refused: dict[int, ApiError] = {}
    for index, (sobject, values) in enumerate(zip(request.s_objects, field_values, strict=True)):
        if sobject.type_value != org.schema.name:
            refused[index] = ApiError("INVALID_TYPE", "Must send a concrete entity type.")
        changes = dict(values)
        for name in sobject.fields_to_null:
            changes[name] = None
        items.append((sobject.id, changes))
    results = save(org.store, org.schema, items, all_or_none=all_or_none, source="text",
                   refused=refused, rng=org.rng)  # fmt: skip
    save_result = _binder.type_class(f"{{{PARTNER}}}SaveResult")
    error_cls = _binder.type_class(f"{{{PARTNER}}}Error")
    status_code = _binder.field_type(error_cls, "statusCode")
    rendered = []
    for result in results:
        errors = [
            error_cls(
                fields=list(e.fields), message=e.message, status_code=status_code(e.status_code)
            )
            for e in result.errors
        ]
        rendered.append(save_result(errors=errors, id=result.id or "", success=not errors))
    body = _binder.render(_binder.element_class(f"{{{PARTNER}}}updateResponse")(result=rendered))
    return 200, envelope(_nil_empty_ids(body), _limit_header(org))


def _nil_empty_ids(body: bytes) -> bytes:
    """A failed SaveResult carries ``<id xsi:nil="true"/>``, as Salesforce writes it."""
    root = etree.fromstring(body)
    for node in root.iter(f"{{{PARTNER}}}id"):
        if not node.text:
            node.set(f"{{{XSI}}}nil", "true")
    return etree.tostring(root)


def _retrieve(org: Org, payload: etree._Element) -> tuple[int, bytes]:  # noqa: PLR0912
    try:
        request = _binder.bind(payload, _binder.element_class(f"{{{PARTNER}}}retrieve"))
    except BindingError as error:
        return 500, client_fault(f"retrieve: {error}")
    if request.s_object_type.lower() != org.schema.name.lower():
        return 500, fault(
            "INVALID_TYPE",
            f"sObject type '{request.s_object_type}' is not supported.",
            "InvalidSObjectFault",
        )
    names = []
    for raw in request.field_list.split(","):
        spec = org.schema.field(raw.strip())
        if spec is None:
            return 500, fault(
                "INVALID_FIELD",
                f"No such column '{raw.strip()}' on entity 'Opportunity'.",
                "InvalidFieldFault",
            )
        names.append(spec.name)
    for raw_id in request.ids:
        if not sfid.is_valid(raw_id):
            return 500, fault("MALFORMED_ID", f"invalid ID field: {raw_id}", "InvalidIdFault")
    if len(request.ids) > 2000:
        return 500, fault("UNKNOWN_EXCEPTION", "retrieve accepts at most 2000 ids")
    records = org.store.get_many([sfid.to18(i) for i in request.ids])
    sobject_cls = _binder.type_class(f"{{{PARTNER_SOBJECT}}}sObject")
    results: list[Any] = []
    missing: list[int] = []
    for index, raw_id in enumerate(request.ids):
        record = records.get(sfid.to18(raw_id))
        if record is None or record["IsDeleted"]:
            missing.append(index)
            results.append(sobject_cls(type_value="Opportunity", id=""))
            continue
        fields = []
        for name in names:
            if name == "Id":
                continue
            value = record.get(name)
            kind = org.schema.field(name).kind  # type: ignore[union-attr]
            if kind == "datetime":
                value = (iso_datetime(value) or "").replace("+0000", "Z") or None
            elif kind == "boolean":
                value = bool(value)
            attributes = {} if value is not None else {f"{{{XSI}}}nil": "true"}
            text = None if value is None else _text(value)
            fields.append(
                AnyElement(qname=f"{{{PARTNER_SOBJECT}}}{name}", text=text, attributes=attributes)
            )
        results.append(
            sobject_cls(type_value="Opportunity", id=record["Id"], target_namespace_element=fields)
        )
    body = _binder.render(_binder.element_class(f"{{{PARTNER}}}retrieveResponse")(result=results))
    root = etree.fromstring(body)
    # Ids that match no record come back as <result xsi:nil="true"/>.
    result_nodes = root.findall(f"{{{PARTNER}}}result")
    for index in missing:
        node = result_nodes[index]
        for child in list(node):
            node.remove(child)
        node.attrib.clear()
        node.set(f"{{{XSI}}}nil", "true")
    for index, node in enumerate(result_nodes):
        if index not in missing:
            node.set(f"{{{XSI}}}type", "sf:sObject")
    return 200, envelope(_with_sf_prefix(etree.tostring(root)), _limit_header(org))


def _with_sf_prefix(body: bytes) -> bytes:
    """Declare ``sf`` (the sObject namespace) on the root: ``xsi:type="sf:sObject"``."""
    root = etree.fromstring(body)
    nsmap: dict[str, str] = {k: v for k, v in root.nsmap.items() if k is not None}
    nsmap["sf"] = PARTNER_SOBJECT
    new_root = etree.Element(root.tag, nsmap=nsmap)
    for child in list(root):
        new_root.append(child)
    return etree.tostring(new_root)


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
