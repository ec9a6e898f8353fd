# ruff: noqa: E501  (the WSDL template keeps Salesforce's own long lines)
"""A corpus of outbound-message WSDLs in exactly the form Salesforce generates them.

Each WSDL copies the structure of ``contracts/salesforce/opportunity_with_fields.wsdl``
(header comment, three inline schemas importing each other without ``schemaLocation``,
``ent:ID``, ``ens:sObject``, ``AggregateResult``, ``<Object>Notification``,
``notificationsResponse``, fields in alphabetical order with ``nillable="true"
minOccurs="0"``), varied along the axes a user's WSDL can vary: the object (standard,
custom, namespaced, awkward names), the field types Salesforce emits, the field count
(1 to 500) and field names that collide with Python keywords, builtins or xsdata's own
conventions.

The ``REAL_WORLD`` entries are re-typed from the shapes of real outbound-message WSDLs
found in public repositories (object name, notable fields and types, header or no
header); their field lists are reconstructions, not copies of the original files.

Also here: :func:`notifications_xml`, a message for any corpus entry in the shape
Salesforce sends (``sf:`` fields, ``xsi:type``), and :func:`expected_value`, what each
sample value binds to.
"""

from __future__ import annotations

import base64
import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

from xsdata.models.datatype import XmlDate, XmlDateTime, XmlTime

from gateway.namespaces import ENTERPRISE_SOBJECT, OUTBOUND_MESSAGE

#: Every field type Salesforce writes into an outbound-message WSDL.
FIELD_TYPES = (
    "ent:ID",
    "xsd:string",
    "xsd:double",
    "xsd:int",
    "xsd:boolean",
    "xsd:date",
    "xsd:dateTime",
    "xsd:time",
    "xsd:base64Binary",
)


@dataclass(frozen=True)
class CorpusWsdl:
    """One WSDL of the corpus: the file stem, the object and its ``(name, type)`` fields."""

    stem: str
    object_name: str
    fields: tuple[tuple[str, str], ...]
    header: bool = True

    @property
    def package(self) -> str:
        return f"generated.{self.stem}"

    def text(self) -> str:
        return outbound_wsdl(self.object_name, self.fields, self.stem, header=self.header)


HEADER = """<!--
Salesforce.com Outbound Notification Web Services API Version 1.0
Generated on 2026-03-02 09:14:27 +0000.

Copyright 2005-2026 Salesforce.com, Inc.
All Rights Reserved
-->
"""


def outbound_wsdl(
    object_name: str,
    fields: tuple[tuple[str, str], ...] | list[tuple[str, str]],
    endpoint_name: str = "corpus",
    *,
    header: bool = True,
    max_notifications: str = "100",
) -> str:
    """An outbound-message WSDL for ``object_name`` with ``fields`` (sorted like Salesforce)."""
    ordered = sorted(fields, key=lambda f: f[0].lower())
    field_lines = "\n".join(
        f'                    <element name="{name}" nillable="true" minOccurs="0" type="{type_}"/>'
        for name, type_ in ordered
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
{HEADER if header else ""}<definitions targetNamespace="http://soap.sforce.com/2005/09/outbound"
             xmlns="http://schemas.xmlsoap.org/wsdl/"
             xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/"
             xmlns:tns="http://soap.sforce.com/2005/09/outbound"
             xmlns:xsd="http://www.w3.org/2001/XMLSchema"
             xmlns:ent="urn:enterprise.soap.sforce.com"
             xmlns:ens="urn:sobject.enterprise.soap.sforce.com">
    <types>

        <schema elementFormDefault="qualified" xmlns="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:enterprise.soap.sforce.com">
            <!-- Our simple ID Type -->
            <simpleType name="ID">
                <restriction base="xsd:string">
                    <length value="18"/>
                    <pattern value='[a-zA-Z0-9]{{18}}'/>
                </restriction>
            </simpleType>
        </schema>

        <schema elementFormDefault="qualified" xmlns="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:sobject.enterprise.soap.sforce.com">
            <import namespace="urn:enterprise.soap.sforce.com" />
            <!-- Base sObject (abstract) -->
            <complexType name="sObject">
                <sequence>
                    <element name="fieldsToNull" type="xsd:string" nillable="true" minOccurs="0" maxOccurs="unbounded"/>
                    <element name="Id" type="ent:ID" nillable="true" />
                </sequence>
            </complexType>

            <complexType name="AggregateResult">
                <complexContent>
                    <extension base="ens:sObject">
                        <sequence>
                            <any namespace="##targetNamespace" minOccurs="0" maxOccurs="unbounded" processContents="lax"/>
                        </sequence>
                    </extension>
                </complexContent>
            </complexType>

            <complexType name="{object_name}">
                <complexContent>
                    <extension base="ens:sObject">
                        <sequence>
{field_lines}
                        </sequence>
                    </extension>
                </complexContent>
            </complexType>

        </schema>

        <schema elementFormDefault="qualified" xmlns="http://www.w3.org/2001/XMLSchema" targetNamespace="http://soap.sforce.com/2005/09/outbound">
            <import namespace="urn:enterprise.soap.sforce.com" />
            <import namespace="urn:sobject.enterprise.soap.sforce.com" />

            <element name="notifications">
                <complexType>
                    <sequence>
                        <element name="OrganizationId" type="ent:ID" />
                        <element name="ActionId" type="ent:ID" />
                        <element name="SessionId" type="xsd:string" nillable="true" />
                        <element name="EnterpriseUrl" type="xsd:string" />
                        <element name="PartnerUrl" type="xsd:string" />
                        <element name="Notification" maxOccurs="{max_notifications}" type="tns:{object_name}Notification" />
                    </sequence>
                </complexType>
            </element>

            <complexType name="{object_name}Notification">
                <sequence>
                    <element name="Id" type="ent:ID" />
                    <element name="sObject" type="ens:{object_name}" />
                </sequence>
            </complexType>

            <element name="notificationsResponse">
                <complexType>
                    <sequence>
                        <element name="Ack" type="xsd:boolean" />
                    </sequence>
                </complexType>
            </element>
        </schema>
    </types>


    <!-- Method Messages -->
    <message name="notificationsRequest">
        <part element="tns:notifications" name="request"/>
    </message>
    <message name="notificationsResponse">
        <part element="tns:notificationsResponse" name="response"/>
    </message>

    <!-- PortType -->
    <portType name="NotificationPort">
        <operation name="notifications">
            <documentation>Process a number of notifications.</documentation>
            <input  message="tns:notificationsRequest"/>
            <output message="tns:notificationsResponse"/>
        </operation>
    </portType>

    <!-- Binding
         You need to write a service that implements this binding to receive the notifications
     -->
    <binding name="NotificationBinding" type="tns:NotificationPort">
        <soap:binding style="document" transport="http://schemas.xmlsoap.org/soap/http"/>
        <operation name="notifications">
            <soap:operation soapAction=""/>
            <input>
                <soap:body use="literal"/>
            </input>
            <output>
                <soap:body use="literal"/>
            </output>
        </operation>
    </binding>

    <!-- Service Endpoint -->
    <service name="NotificationService">
        <documentation>Notification Service Implementation</documentation>
        <port binding="tns:NotificationBinding" name="Notification">
            <soap:address location="https://orders-gateway.example.com/salesforce/outbound/{endpoint_name}"/>
        </port>
    </service>

</definitions>
"""


def _f(names: str, type_: str) -> tuple[tuple[str, str], ...]:
    return tuple((name, type_) for name in names.split())


ID, STR, DBL, INT, BOOL, DATE, DTIME, TIME, B64 = FIELD_TYPES

STANDARD = (
    CorpusWsdl(
        "std_contact",
        "Contact",
        _f("AccountId OwnerId ReportsToId", ID)
        + _f("Email FirstName LastName MailingCity MobilePhone Phone Title", STR)
        + _f("Birthdate", DATE)
        + _f("HasOptedOutOfEmail DoNotCall", BOOL)
        + _f("LastModifiedDate CreatedDate", DTIME),
    ),
    CorpusWsdl(
        "std_case",
        "Case",
        _f("AccountId ContactId OwnerId ParentId", ID)
        + _f("CaseNumber Origin Priority Reason Status Subject Type Description", STR)
        + _f("IsClosed IsEscalated", BOOL)
        + _f("ClosedDate LastModifiedDate", DTIME),
    ),
    CorpusWsdl(
        "std_lead",
        "Lead",
        _f("OwnerId ConvertedAccountId", ID)
        + _f("Company Email FirstName LastName LeadSource Status", STR)
        + _f("AnnualRevenue", DBL)
        + _f("NumberOfEmployees", INT)
        + _f("IsConverted", BOOL)
        + _f("ConvertedDate", DATE),
    ),
    CorpusWsdl(
        "std_task",
        "Task",
        _f("WhatId WhoId OwnerId", ID)
        + _f("Subject Status Priority Description", STR)
        + _f("ActivityDate", DATE)
        + _f("IsClosed", BOOL)
        + _f("CallDurationInSeconds", INT),
    ),
    CorpusWsdl(
        "std_order",
        "Order",
        _f("AccountId ContractId OpportunityId", ID)
        + _f("OrderNumber Status Type", STR)
        + _f("TotalAmount", DBL)
        + _f("EffectiveDate EndDate", DATE),
    ),
    CorpusWsdl("std_group", "Group", _f("OwnerId", ID) + _f("DeveloperName Name Type", STR)),
    CorpusWsdl(
        "std_opportunity_all",
        "Opportunity",
        _f("AccountId CampaignId OwnerId", ID)
        + _f("Description LeadSource Name NextStep StageName Type", STR)
        + _f("Amount ExpectedRevenue Probability", DBL)
        + _f("TotalOpportunityQuantity", DBL)
        + _f("FiscalQuarter FiscalYear", INT)
        + _f("HasOpportunityLineItem IsClosed IsWon", BOOL)
        + _f("CloseDate", DATE)
        + _f("LastModifiedDate SystemModstamp", DTIME),
    ),
)

CUSTOM = (
    CorpusWsdl(
        "custom_shipment",
        "Shipment__c",
        _f("Opportunity__c", ID)
        + _f("Carrier__c Name Tracking_Number__c", STR)
        + _f("Weight_Kg__c", DBL)
        + _f("Delivered__c", BOOL)
        + _f("Ship_Date__c", DATE)
        + _f("Picked_Up_At__c", DTIME)
        + _f("Cutoff_Time__c", TIME)
        + _f("Label__c", B64),
    ),
    CorpusWsdl(
        "namespaced_shipment",
        "gwestr__Shipment__c",
        _f("gwestr__Account__c OwnerId", ID)
        + _f("Name gwestr__Carrier__c gwestr__Status__c", STR)
        + _f("gwestr__Cost__c", DBL)
        + _f("gwestr__Pieces__c", INT)
        + _f("gwestr__Insured__c", BOOL)
        + _f("gwestr__Ship_Date__c", DATE)
        + _f("gwestr__Shipped_At__c", DTIME),
    ),
    CorpusWsdl(
        "namespaced_fields_on_standard",
        "Opportunity",
        _f("ns__Erp_Account__c", ID)
        + _f("Name ns__Order_Number__c ns__Status__c", STR)
        + _f("ns__Margin__c", DBL),
    ),
    CorpusWsdl(
        "every_type", "TypeSampler__c", tuple((f"F_{i}__c", t) for i, t in enumerate(FIELD_TYPES))
    ),
    CorpusWsdl(
        "keyword_fields",
        "Collision__c",
        _f("Type Field Meta Name Class__c From__c Import__c None__c Return__c", STR)
        + _f("Notification__c Notifications__c sObject__c fieldsToNull__c Id__c", STR)
        + _f("Lambda__c Def__c True__c Self__c List__c Str__c Object__c Dataclass__c", STR)
        + _f("Body__c Envelope__c Header__c Fault__c Ack__c Async__c Await__c", STR)
        + _f("Float__c Int__c Bool__c Bytes__c Decimal__c XmlDate__c", STR)
        + _f("Global__c Yield__c Pass__c Print__c Property__c Classmethod__c", STR)
        + _f("Id_x__c", ID)
        + _f("Is__c", BOOL)
        + _f("In__c", INT)
        + _f("Date__c", DATE)
        + _f("Datetime__c", DTIME)
        + _f("Time__c", TIME)
        + _f("Base64__c", B64),
    ),
    CorpusWsdl(
        "near_collisions",
        "Near__c",
        # distinct API names that xsdata's snake_case maps close together
        _f("IsWon Is_Won__c IsWon__c Is_Won2__c AB__c A_B__c ABC__c A_B_C__c", STR),
    ),
    CorpusWsdl("awkward_object_notification", "Notification__c", _f("Name Message__c", STR)),
    CorpusWsdl("awkward_object_notifications", "Notifications__c", _f("Name", STR)),
    CorpusWsdl("one_field", "Single__c", _f("Name", STR)),
    CorpusWsdl(
        "five_hundred_fields",
        "Wide__c",
        tuple((f"Field_{i:03d}__c", FIELD_TYPES[i % len(FIELD_TYPES)]) for i in range(500)),
    ),
)

REAL_WORLD = (
    # mulesoft-labs/sfdc-outbound-message-demo SFWonOpportunity.wsdl (header stripped)
    CorpusWsdl(
        "real_sfwonopportunity",
        "Opportunity",
        _f("AccountId", ID) + _f("Billing_Contact_Email__c", STR),
        header=False,
    ),
    # the fields of the captured request in reference §1.6 Example A
    # (ejangi/salesforce-outbound-msg-to-hangouts-chat index.test.js)
    CorpusWsdl(
        "real_capture_example_a",
        "Opportunity",
        _f("AccountId", ID)
        + _f("Amount", DBL)
        + _f("CloseDate", DATE)
        + _f("LeadSource Name StageName", STR),
    ),
    # gwestersf/ForceDotCom-Outbound-Message-Endpoint workflowOutboundMessage.wsdl
    CorpusWsdl(
        "real_gwestr_shipment",
        "gwestr__Shipment__c",
        _f("CreatedById LastModifiedById OwnerId gwestr__Invoice__c", ID)
        + _f("Name gwestr__Status__c gwestr__Tracking_Number__c", STR)
        + _f("gwestr__Weight__c", DBL)
        + _f("IsDeleted gwestr__Delivered__c", BOOL)
        + _f("gwestr__Ship_Date__c", DATE)
        + _f("CreatedDate LastModifiedDate SystemModstamp", DTIME),
    ),
    # comsave/salesforce-outbound-message-bundle Account.wsdl
    CorpusWsdl(
        "real_comsave_account",
        "Account",
        _f("OwnerId ParentId", ID)
        + _f("AccountNumber AccountOwnerName__c Addressed_To__c BIC__c BillingCity", STR)
        + _f("BillingCountry BillingPostalCode BillingStreet Name Phone Website", STR)
        + _f("NumberOfEmployees", INT)
        + _f("AnnualRevenue", DBL),
    ),
    # comsave/salesforce-outbound-message-bundle DiscountRule__c.wsdl
    CorpusWsdl(
        "real_comsave_discountrule",
        "DiscountRule__c",
        _f("Account__c Product__c", ID)
        + _f("Name Type__c", STR)
        + _f("Discount__c", DBL)
        + _f("Active__c", BOOL)
        + _f("Valid_From__c Valid_Until__c", DATE),
    ),
    # comsave/salesforce-outbound-message-bundle ObjectToBeRemoved__c.wsdl
    CorpusWsdl("real_comsave_objecttoberemoved", "ObjectToBeRemoved__c", _f("Name", STR)),
    # DmytroDobrovolskyi/entity-generator wfoutbound.wsdl
    CorpusWsdl(
        "real_entity_generator",
        "NotificationMessage__c",
        _f("Name Message__c Type__c", STR) + _f("Processed__c", BOOL),
    ),
)

CORPUS: tuple[CorpusWsdl, ...] = STANDARD + CUSTOM + REAL_WORLD


def write_corpus(directory: Path, corpus: tuple[CorpusWsdl, ...] = CORPUS) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for entry in corpus:
        path = directory / f"{entry.stem}.wsdl"
        path.write_text(entry.text(), encoding="utf-8")
        paths.append(path)
    return paths


# --- sample messages ------------------------------------------------------------------

SAMPLE_TEXT = {
    ID: "0017F000007ydJmQAI",
    STR: 'Express <Logistics> & "SLA" \u2013 ünïcødé',
    DBL: "120000.0",
    INT: "42",
    BOOL: "true",
    DATE: "2017-04-03",
    DTIME: "2026-03-02T09:14:27.000Z",
    TIME: "09:14:27.000Z",
    B64: base64.b64encode(b"label \x00\xff bytes").decode(),
}


def expected_value(type_: str) -> object:
    """What the generated field holds after binding ``SAMPLE_TEXT[type_]``."""
    return {
        ID: SAMPLE_TEXT[ID],
        STR: SAMPLE_TEXT[STR],
        DBL: 120000.0,
        INT: 42,
        BOOL: True,
        DATE: XmlDate.from_date(dt.date(2017, 4, 3)),
        DTIME: XmlDateTime(2026, 3, 2, 9, 14, 27, 0, 0),
        TIME: XmlTime(9, 14, 27, 0, 0),
        B64: b"label \x00\xff bytes",
    }[type_]


def record_id(index: int) -> str:
    return f"a0B7F{index:010d}AAA"


def notification_id(index: int) -> str:
    return f"04l7F{index:010d}QAI"


def sobject_xml(entry: CorpusWsdl, index: int, *, mode: str = "full", prefix: str = "sf") -> str:
    """``mode``: ``full`` (every field), ``nil`` (every field ``xsi:nil``), ``id`` (only
    the record Id: a deleted record) or ``empty`` (an empty sObject)."""
    attrs = f'xsi:type="{prefix}:{entry.object_name}" xmlns:{prefix}="{ENTERPRISE_SOBJECT}"'
    if mode == "empty":
        return f"<sObject {attrs}/>"
    parts = [f"<{prefix}:Id>{record_id(index)}</{prefix}:Id>"]
    if mode in ("full", "nil"):
        for name, type_ in sorted(entry.fields, key=lambda f: f[0].lower()):
            if mode == "nil":
                parts.append(f'<{prefix}:{name} xsi:nil="true"/>')
            else:
                parts.append(f"<{prefix}:{name}>{escape(SAMPLE_TEXT[type_])}</{prefix}:{name}>")
    return f"<sObject {attrs}>{''.join(parts)}</sObject>"


def notifications_xml(
    entry: CorpusWsdl,
    count: int,
    *,
    mode: str = "full",
    session_id: str | None = None,
    prefix: str = "sf",
    header: str = "",
) -> bytes:
    """A SOAP envelope as Salesforce POSTs it, with ``count`` notifications."""
    session = (
        f"<SessionId>{escape(session_id)}</SessionId>"
        if session_id is not None
        else '<SessionId xsi:nil="true"/>'
    )
    notifications = "".join(
        f"<Notification><Id>{notification_id(i)}</Id>"
        f"{sobject_xml(entry, i, mode=mode, prefix=prefix)}</Notification>"
        for i in range(count)
    )
    soap_header = f"<soapenv:Header>{header}</soapenv:Header>" if header else ""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"'
        ' xmlns:xsd="http://www.w3.org/2001/XMLSchema"'
        ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        f"{soap_header}<soapenv:Body>"
        f'<notifications xmlns="{OUTBOUND_MESSAGE}">'
        "<OrganizationId>00D7F00000107XsUAI</OrganizationId>"
        "<ActionId>04k7F0000008V3hQAE</ActionId>"
        f"{session}"
        "<EnterpriseUrl>https://acme.my.salesforce.com/services/Soap/c/62.0/00D7F00000107Xs"
        "</EnterpriseUrl>"
        "<PartnerUrl>https://acme.my.salesforce.com/services/Soap/u/62.0/00D7F00000107Xs"
        "</PartnerUrl>"
        f"{notifications}</notifications></soapenv:Body></soapenv:Envelope>"
    ).encode()
