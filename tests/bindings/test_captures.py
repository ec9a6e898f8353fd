"""Real-shaped captures (the shapes of published outbound messages) and hostile input, through the
hardened parser (`gateway.soap.parse_envelope`) and `ContractBinder`."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from xsdata.models.datatype import XmlDate

from gateway.bindings.binder import BindingError, ContractBinder
from gateway.soap import SoapParseError, parse_envelope, parse_xml
from tests.bindings.conftest import GeneratedCorpus

ENVELOPE_OPEN = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"\n'
    '                  xmlns:xsd="http://www.w3.org/2001/XMLSchema"\n'
    '                  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">\n'
)

# Example A, re-indented as in the reference: 18-char ids, nil SessionId.
EXAMPLE_A = (
    ENVELOPE_OPEN
    + """ <soapenv:Body>
  <notifications xmlns="http://soap.sforce.com/2005/09/outbound">
   <OrganizationId>00D7F00000107XsUAI</OrganizationId>
   <ActionId>04k7F0000008V3hQAE</ActionId>
   <SessionId xsi:nil="true"/>
   <EnterpriseUrl>https://ap5.salesforce.com/services/Soap/c/47.0/00D7F00000107Xs</EnterpriseUrl>
   <PartnerUrl>https://ap5.salesforce.com/services/Soap/u/47.0/00D7F00000107Xs</PartnerUrl>
   <Notification>
    <Id>04l7F000008aeAyQAI</Id>
    <sObject xsi:type="sf:Opportunity" xmlns:sf="urn:sobject.enterprise.soap.sforce.com">
     <sf:Id>0067F000003pmdWQAQ</sf:Id>
     <sf:AccountId>0017F000007ydJmQAI</sf:AccountId>
     <sf:Amount>120000.0</sf:Amount>
     <sf:CloseDate>2017-04-03</sf:CloseDate>
     <sf:LeadSource>Phone Inquiry</sf:LeadSource>
     <sf:Name>Express Logistics SLA</sf:Name>
     <sf:StageName>Perception Analysis</sf:StageName>
    </sObject>
   </Notification>
  </notifications>
 </soapenv:Body>
</soapenv:Envelope>
"""
)

# Example B: 15-char ids as in the older capture, a custom field.
EXAMPLE_B = (
    ENVELOPE_OPEN
    + """ <soapenv:Body>
  <notifications xmlns="http://soap.sforce.com/2005/09/outbound">
   <OrganizationId>00DQ0000000EB93</OrganizationId>
   <ActionId>04kV0000000CaSPIA0</ActionId>
   <SessionId xsi:nil="true"/>
   <EnterpriseUrl>https://cs12-api.salesforce.com/services/Soap/c/23.0/00DV00000000dS3</EnterpriseUrl>
   <PartnerUrl>https://cs12-api.salesforce.com/services/Soap/u/23.0/00DV00000000dS3</PartnerUrl>
   <Notification>
    <Id>04lV0000001ALshIAG</Id>
    <sObject xsi:type="sf:Opportunity" xmlns:sf="urn:sobject.enterprise.soap.sforce.com">
     <sf:Id>006V0000003jKTW</sf:Id>
     <sf:AccountId>001V0000006YeOt</sf:AccountId>
     <sf:Billing_Contact_Email__c>billing@example.com</sf:Billing_Contact_Email__c>
    </sObject>
   </Notification>
  </notifications>
 </soapenv:Body>
</soapenv:Envelope>
"""
)


@pytest.fixture(scope="module")
def example_a_binder(generated_corpus: GeneratedCorpus) -> ContractBinder:
    assert generated_corpus.generate_result.returncode == 0
    return ContractBinder("generated.real_capture_example_a")


@pytest.fixture(scope="module")
def example_b_binder(generated_corpus: GeneratedCorpus) -> ContractBinder:
    assert generated_corpus.generate_result.returncode == 0
    return ContractBinder("generated.real_sfwonopportunity")


WITH_FIELDS = ContractBinder("generated.opportunity_with_fields")
ID_ONLY = ContractBinder("generated.opportunity_id_only")


def bind(binder: ContractBinder, data: str | bytes) -> Any:
    raw = data.encode() if isinstance(data, str) else data
    return binder.bind(
        parse_envelope(raw).payload,
        binder.element_class("{http://soap.sforce.com/2005/09/outbound}notifications"),
    )


def test_example_a_binds_with_18_char_ids_and_nil_session(
    example_a_binder: ContractBinder,
) -> None:
    message: Any = bind(example_a_binder, EXAMPLE_A)
    assert isinstance(
        message,
        example_a_binder.element_class("{http://soap.sforce.com/2005/09/outbound}notifications"),
    )
    assert message.organization_id == "00D7F00000107XsUAI"
    assert message.action_id == "04k7F0000008V3hQAE"
    assert message.session_id is None
    assert message.partner_url.endswith("/Soap/u/47.0/00D7F00000107Xs")
    [notification] = message.notification
    assert notification.id == "04l7F000008aeAyQAI"
    record = notification.s_object
    assert type(record) is example_a_binder.type_class(
        "{urn:sobject.enterprise.soap.sforce.com}Opportunity"
    )
    assert record.id == "0067F000003pmdWQAQ"
    assert record.account_id == "0017F000007ydJmQAI"
    assert record.amount == 120000.0
    assert record.close_date == XmlDate(2017, 4, 3)
    assert record.lead_source == "Phone Inquiry"
    assert record.name == "Express Logistics SLA"
    assert record.stage_name == "Perception Analysis"


def test_example_b_binds_with_15_char_ids(example_b_binder: ContractBinder) -> None:
    message: Any = bind(example_b_binder, EXAMPLE_B)
    assert message.organization_id == "00DQ0000000EB93"
    record = message.notification[0].s_object
    assert record.id == "006V0000003jKTW"
    assert record.account_id == "001V0000006YeOt"
    assert record.billing_contact_email_c == "billing@example.com"


def test_a_present_session_id_is_kept(example_a_binder: ContractBinder) -> None:
    data = EXAMPLE_A.replace(
        '<SessionId xsi:nil="true"/>', "<SessionId>00D7F00000107Xs!AQ4AQFwMx.9</SessionId>"
    )
    message: Any = bind(example_a_binder, data)
    assert message.session_id == "00D7F00000107Xs!AQ4AQFwMx.9"


@pytest.mark.parametrize("prefix", ["sf", "foo", "ns0", "x"])
def test_xsi_type_with_any_prefix_declared_to_the_namespace(
    example_a_binder: ContractBinder, prefix: str
) -> None:
    data = EXAMPLE_A.replace("sf:", f"{prefix}:").replace("xmlns:sf=", f"xmlns:{prefix}=")
    record = bind(example_a_binder, data).notification[0].s_object
    assert type(record) is example_a_binder.type_class(
        "{urn:sobject.enterprise.soap.sforce.com}Opportunity"
    )
    assert record.amount == 120000.0


def test_xsi_type_prefix_bound_on_the_envelope_instead(example_a_binder: ContractBinder) -> None:
    data = EXAMPLE_A.replace(' xmlns:sf="urn:sobject.enterprise.soap.sforce.com"', "").replace(
        'xmlns:xsd="http://www.w3.org/2001/XMLSchema"',
        'xmlns:xsd="http://www.w3.org/2001/XMLSchema"'
        ' xmlns:sf="urn:sobject.enterprise.soap.sforce.com"',
    )
    record = bind(example_a_binder, data).notification[0].s_object
    assert record.lead_source == "Phone Inquiry"


def test_xsi_type_prefix_that_is_not_declared_is_a_clear_error(
    example_a_binder: ContractBinder,
) -> None:
    with pytest.raises(BindingError, match=r"^unknown namespace prefix 'zz'"):
        bind(example_a_binder, EXAMPLE_A.replace('xsi:type="sf:', 'xsi:type="zz:'))


def test_a_field_the_contract_does_not_have_names_the_element() -> None:
    # Example A sends LeadSource; our opportunity_with_fields contract does not select it.
    with pytest.raises(BindingError) as info:
        bind(WITH_FIELDS, EXAMPLE_A)
    assert str(info.value) == (
        "unknown element LeadSource (urn:sobject.enterprise.soap.sforce.com) in Opportunity"
    )


def test_example_a_without_the_extra_field_binds_to_the_committed_contract() -> None:
    data = EXAMPLE_A.replace("     <sf:LeadSource>Phone Inquiry</sf:LeadSource>\n", "")
    record = bind(WITH_FIELDS, data).notification[0].s_object
    assert type(record) is WITH_FIELDS.type_class(
        "{urn:sobject.enterprise.soap.sforce.com}Opportunity"
    )
    assert record.stage_name == "Perception Analysis"


def _example_a_with_records(count: int, sobject: str) -> str:
    start = EXAMPLE_A.index("   <Notification>")
    end = EXAMPLE_A.index("  </notifications>")
    notifications = "".join(
        f"<Notification><Id>04l7F000008a{i:04d}QAI</Id>{sobject.format(i=i)}</Notification>"
        for i in range(count)
    )
    return EXAMPLE_A[:start] + notifications + EXAMPLE_A[end:]


@pytest.mark.parametrize("count", [1, 100])
def test_id_only_contract_binds_1_and_100_notifications(count: int) -> None:
    data = _example_a_with_records(
        count,
        '<sObject xsi:type="sf:Opportunity" xmlns:sf="urn:sobject.enterprise.soap.sforce.com">'
        "<sf:Id>0067F000003p{i:04d}QAQ</sf:Id></sObject>",
    )
    message: Any = bind(ID_ONLY, data)
    assert [n.s_object.id for n in message.notification] == [
        f"0067F000003p{i:04d}QAQ" for i in range(count)
    ]
    assert {type(n.s_object) for n in message.notification} == {
        ID_ONLY.type_class("{urn:sobject.enterprise.soap.sforce.com}Opportunity")
    }


def test_101_notifications_bind_but_exceed_the_declared_maximum() -> None:
    # xsdata does not enforce maxOccurs; the gateway must count (documented in bindings.md).
    data = _example_a_with_records(
        101,
        '<sObject xsi:type="sf:Opportunity" xmlns:sf="urn:sobject.enterprise.soap.sforce.com"/>',
    )
    assert len(bind(ID_ONLY, data).notification) == 101


def test_deleted_record_with_an_empty_sobject_binds_with_no_record_id() -> None:
    data = _example_a_with_records(
        2, '<sObject xsi:type="sf:Opportunity" xmlns:sf="urn:sobject.enterprise.soap.sforce.com"/>'
    )
    message: Any = bind(WITH_FIELDS, data)
    for notification in message.notification:
        assert type(notification.s_object) is WITH_FIELDS.type_class(
            "{urn:sobject.enterprise.soap.sforce.com}Opportunity"
        )
        assert notification.s_object.id is None
        assert notification.s_object.amount is None


def test_nil_lookup_field_binds_to_none_not_empty_string() -> None:
    data = EXAMPLE_A.replace(
        "<sf:AccountId>0017F000007ydJmQAI</sf:AccountId>", '<sf:AccountId xsi:nil="true"/>'
    ).replace("     <sf:LeadSource>Phone Inquiry</sf:LeadSource>\n", "")
    record = bind(WITH_FIELDS, data).notification[0].s_object
    assert record.account_id is None


def test_a_soap_header_is_returned_and_does_not_disturb_binding() -> None:
    data = EXAMPLE_A.replace(
        " <soapenv:Body>",
        ' <soapenv:Header><h:Trace xmlns:h="urn:example">t-1</h:Trace></soapenv:Header>\n'
        " <soapenv:Body>",
    ).replace("     <sf:LeadSource>Phone Inquiry</sf:LeadSource>\n", "")
    envelope = parse_envelope(data.encode())
    assert envelope.header is not None
    assert envelope.header[0].text == "t-1"
    message: Any = WITH_FIELDS.bind(
        envelope.payload,
        WITH_FIELDS.element_class("{http://soap.sforce.com/2005/09/outbound}notifications"),
    )
    assert message.notification[0].s_object.name == "Express Logistics SLA"


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            ("<OrganizationId>00D7F00000107XsUAI</OrganizationId>", ""),
            "missing required element OrganizationId in notifications",
        ),
        (
            ("<Id>04l7F000008aeAyQAI</Id>", ""),
            "missing required element Id in OpportunityNotification",
        ),
        (("120000.0", "12 thousand"), "invalid value in element Amount of Opportunity"),
        (("2017-04-03", "2017-13-45"), "invalid value in element CloseDate of Opportunity"),
        (
            ("<sf:Amount>120000.0</sf:Amount>", "<sf:Amount><sf:x>1</sf:x></sf:Amount>"),
            "an element that holds a simple value has child elements",
        ),
        (
            ("<notifications xmlns=", "<notification xmlns="),
            "expected element notifications (http://soap.sforce.com/2005/09/outbound), "
            "got notification (http://soap.sforce.com/2005/09/outbound)",
        ),
    ],
)
def test_binding_errors_name_the_element_and_leak_no_input(
    edit: tuple[str, str], message: str
) -> None:
    data = EXAMPLE_A.replace("     <sf:LeadSource>Phone Inquiry</sf:LeadSource>\n", "")
    data = data.replace(*edit)
    if edit[0].startswith("<notifications"):
        data = data.replace("</notifications>", "</notification>")
    with pytest.raises(BindingError) as info:
        bind(WITH_FIELDS, data)
    assert str(info.value) == message
    assert "12 thousand" not in str(info.value)
    assert "generated." not in str(info.value)


# --- hostile input ---------------------------------------------------------------------


@pytest.fixture
def listener() -> Iterator[tuple[int, list[bytes]]]:
    """A loopback TCP server that records every connection; the parser must make none."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.settimeout(0.2)
    received: list[bytes] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(1)
                try:
                    received.append(conn.recv(4096) or b"<connected>")
                except OSError:
                    received.append(b"<connected>")
                conn.sendall(b"HTTP/1.0 200 OK\r\n\r\n<!ENTITY x 'leak'>")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1], received
    finally:
        stop.set()
        thread.join(timeout=5)
        server.close()


BODY = (
    '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">'
    "<soapenv:Body>{}</soapenv:Body></soapenv:Envelope>"
)


def test_doctype_is_refused() -> None:
    data = '<?xml version="1.0"?><!DOCTYPE soapenv:Envelope>' + BODY.format("<a/>")
    with pytest.raises(SoapParseError, match="DOCTYPE declarations are not allowed"):
        parse_envelope(data.encode())


def test_billion_laughs_is_refused_quickly() -> None:
    entities = '<!ENTITY lol "lol">' + "".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'
        for i in range(1, 10)
    )
    data = f"<!DOCTYPE lolz [{entities}]>" + BODY.format("<a>&lol9;</a>")
    with pytest.raises(SoapParseError):
        parse_envelope(data.encode())


def test_external_entity_to_a_file_is_refused_and_not_read(tmp_path: object) -> None:
    from pathlib import Path

    secret = Path(str(tmp_path)) / "secret.txt"
    secret.write_text("TOP-SECRET")
    data = f'<!DOCTYPE a [<!ENTITY xxe SYSTEM "file://{secret}">]>' + BODY.format("<a>&xxe;</a>")
    with pytest.raises(SoapParseError) as info:
        parse_envelope(data.encode())
    assert "TOP-SECRET" not in str(info.value)


@pytest.mark.parametrize(
    "template",
    [
        '<!DOCTYPE a [<!ENTITY xxe SYSTEM "http://127.0.0.1:{port}/entity">]>'
        + BODY.format("<a>&xxe;</a>"),
        '<!DOCTYPE a [<!ENTITY % dtd SYSTEM "http://127.0.0.1:{port}/dtd"> %dtd;]>'
        + BODY.format("<a/>"),
        '<!DOCTYPE a SYSTEM "http://127.0.0.1:{port}/external.dtd">' + BODY.format("<a/>"),
        BODY.format(
            '<a xmlns:xi="http://www.w3.org/2001/XInclude">'
            '<xi:include href="http://127.0.0.1:{port}/xinclude"/></a>'
        ),
    ],
    ids=["entity", "parameter-entity", "external-dtd", "xinclude"],
)
def test_nothing_is_fetched_from_the_network(
    listener: tuple[int, list[bytes]], template: str
) -> None:
    port, received = listener
    data = template.replace("{port}", str(port)).encode()
    try:
        envelope = parse_envelope(data)
    except SoapParseError:
        pass
    else:  # XInclude is not processed: the include element stays an element
        assert envelope.payload.tag == "a"
    # give a (wrong) asynchronous fetch a moment to show up
    threading.Event().wait(0.3)
    assert received == []


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty request body"),
        (b"   \n", "empty request body"),
        (b"<soapenv:Envelope", "not well-formed XML"),
        (BODY.format("<a>").encode(), "not well-formed XML"),
        (BODY.format("<a>&</a>").encode(), "not well-formed XML"),
        (BODY.format("<a/>").encode() + b"<junk/>", "not well-formed XML"),
        (BODY.format("").encode(), "SOAP Body is empty"),
        (
            b'<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"/>',
            "SOAP envelope has no Body",
        ),
        (
            b'<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope">'
            b"<env:Body><a/></env:Body></env:Envelope>",
            "SOAP 1.2 envelopes are not supported",
        ),
        (b"<notifications/>", "root element must be Envelope"),
        (b'{"json": true}', "not well-formed XML"),
    ],
)
def test_malformed_and_foreign_envelopes_are_refused(data: bytes, message: str) -> None:
    with pytest.raises(SoapParseError, match=message):
        parse_envelope(data)


def test_the_listener_does_record_a_fetch(listener: tuple[int, list[bytes]]) -> None:
    """The check above would notice a fetch (this libxml2 may lack HTTP, we must not)."""
    import urllib.request

    port, received = listener
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/probe", timeout=5) as response:
        response.read()
    assert received and received[0].startswith(b"GET /probe")


def test_partner_retrieve_response_with_record_fields_binds() -> None:
    """``<any namespace="##targetNamespace">`` must accept the sObject's own fields
    (xsdata alone resolved it against the parent element's namespace)."""
    partner = ContractBinder("generated.partner")
    data = (
        b'<retrieveResponse xmlns="urn:partner.soap.sforce.com"'
        b' xmlns:sf="urn:sobject.partner.soap.sforce.com">'
        b"<result><sf:type>Opportunity</sf:type><sf:Id>0067F000003pmdWQAQ</sf:Id>"
        b"<sf:Order_Number__c>SO-000123</sf:Order_Number__c><sf:StageName>Closed Won</sf:StageName>"
        b"</result></retrieveResponse>"
    )

    response = partner.bind(
        parse_xml(data), partner.element_class("{urn:partner.soap.sforce.com}retrieveResponse")
    )
    [record] = response.result
    assert record.id == "0067F000003pmdWQAQ"
    assert {e.qname.rpartition("}")[2]: e.text for e in record.target_namespace_element} == {
        "Order_Number__c": "SO-000123",
        "StageName": "Closed Won",
    }
