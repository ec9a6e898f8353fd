"""An XML Schema for the gateway's replies, built from the contract's own WSDL types.

The WSDL's three inline schemas import each other without ``schemaLocation``; they are
written to separate files with locations filled in, next to a SOAP 1.1 envelope schema
(written from the W3C note, so nothing is fetched), and one driver imports them all. The
envelope schema validates Body children laxly, which means strictly for every element
that has a global declaration: ``notificationsResponse`` and ``soapenv:Fault``.
"""

from __future__ import annotations

from pathlib import Path

from lxml import etree

from gateway.namespaces import SOAP11_ENVELOPE, WSDL, XSD

SOAP_ENVELOPE_XSD = f"""<?xml version="1.0"?>
<xs:schema xmlns:xs="{XSD}" xmlns:tns="{SOAP11_ENVELOPE}" targetNamespace="{SOAP11_ENVELOPE}">
  <xs:element name="Envelope" type="tns:Envelope"/>
  <xs:complexType name="Envelope">
    <xs:sequence>
      <xs:element ref="tns:Header" minOccurs="0"/>
      <xs:element ref="tns:Body"/>
      <xs:any namespace="##other" minOccurs="0" maxOccurs="unbounded" processContents="lax"/>
    </xs:sequence>
    <xs:anyAttribute namespace="##other" processContents="lax"/>
  </xs:complexType>
  <xs:element name="Header" type="tns:Header"/>
  <xs:complexType name="Header">
    <xs:sequence>
      <xs:any namespace="##other" minOccurs="0" maxOccurs="unbounded" processContents="lax"/>
    </xs:sequence>
  </xs:complexType>
  <xs:element name="Body" type="tns:Body"/>
  <xs:complexType name="Body">
    <xs:sequence>
      <xs:any namespace="##any" minOccurs="0" maxOccurs="unbounded" processContents="lax"/>
    </xs:sequence>
  </xs:complexType>
  <xs:element name="Fault" type="tns:Fault"/>
  <xs:complexType name="Fault" final="extension">
    <xs:sequence>
      <xs:element name="faultcode" type="xs:QName"/>
      <xs:element name="faultstring" type="xs:string"/>
      <xs:element name="faultactor" type="xs:anyURI" minOccurs="0"/>
      <xs:element name="detail" type="tns:detail" minOccurs="0"/>
    </xs:sequence>
  </xs:complexType>
  <xs:complexType name="detail">
    <xs:sequence>
      <xs:any namespace="##any" minOccurs="0" maxOccurs="unbounded" processContents="lax"/>
    </xs:sequence>
    <xs:anyAttribute namespace="##any" processContents="lax"/>
  </xs:complexType>
</xs:schema>
"""


def reply_schema(wsdl_path: Path, workdir: Path) -> etree.XMLSchema:
    workdir.mkdir(parents=True, exist_ok=True)
    wsdl = etree.parse(str(wsdl_path))
    schemas = wsdl.getroot().findall(f"{{{WSDL}}}types/{{{XSD}}}schema")
    locations = {s.get("targetNamespace"): f"types{i}.xsd" for i, s in enumerate(schemas)}
    for i, schema in enumerate(schemas):
        for imp in schema.findall(f"{{{XSD}}}import"):
            imp.set("schemaLocation", locations[imp.get("namespace")])
        (workdir / f"types{i}.xsd").write_bytes(etree.tostring(schema))
    (workdir / "soapenv.xsd").write_text(SOAP_ENVELOPE_XSD)
    imports = "".join(
        f'<xs:import namespace="{ns}" schemaLocation="{loc}"/>' for ns, loc in locations.items()
    )
    driver = (
        f'<xs:schema xmlns:xs="{XSD}" targetNamespace="urn:driver">'
        f'<xs:import namespace="{SOAP11_ENVELOPE}" schemaLocation="soapenv.xsd"/>'
        f"{imports}</xs:schema>"
    )
    (workdir / "driver.xsd").write_text(driver)
    return etree.XMLSchema(etree.parse(str(workdir / "driver.xsd")))


def assert_schema_valid(schema: etree.XMLSchema, body: bytes) -> etree._Element:
    root = etree.fromstring(body)
    if not schema.validate(root):
        raise AssertionError(f"reply is not schema-valid: {schema.error_log}\n{body[:500]!r}")
    return root
