"""Every kind of bad input gets a SOAP fault, quickly, and enqueues nothing."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest
import requests
from lxml import etree

from tests.intake.conftest import Queues, fault_string, post
from tests.intake.messages import OTHER_ORG, Record, make_id, simple_message
from tests.intake.schema import assert_schema_valid

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>
<notifications xmlns="http://soap.sforce.com/2005/09/outbound"><OrganizationId>&lol9;</OrganizationId>
</notifications></soapenv:Body></soapenv:Envelope>"""


def with_entity(system_id: str) -> bytes:
    good = simple_message().xml().decode()
    good = good.replace('<?xml version="1.0" encoding="UTF-8"?>', "")
    good = good.replace("<PartnerUrl>", "<PartnerUrl>&xxe;", 1)
    return (
        f'<?xml version="1.0"?><!DOCTYPE Envelope [<!ENTITY xxe SYSTEM "{system_id}">]>{good}'
    ).encode()


@pytest.fixture
def listener() -> Iterator[tuple[int, list[bytes]]]:
    """A loopback TCP server that records any connection (an entity fetch would hit it)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(5)
    server.settimeout(0.2)
    hits: list[bytes] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            hits.append(conn.recv(1024))
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1], hits
    finally:
        stop.set()
        thread.join(timeout=2)
        server.close()


def soap12() -> bytes:
    body = simple_message().xml().decode()
    return body.replace(
        "http://schemas.xmlsoap.org/soap/envelope/", "http://www.w3.org/2003/05/soap-envelope"
    ).encode()


def chunks(total: int, size: int = 64 * 1024) -> Iterator[bytes]:
    sent = 0
    while sent < total:
        chunk = b" " * min(size, total - sent)
        sent += len(chunk)
        yield chunk


def invalid_ids() -> bytes:
    message = simple_message(2)
    message.records[1].notification_id = "04l000000000001ZZZ"  # bad checksum
    return message.xml()


CASES: dict[str, tuple[bytes | None, str]] = {
    "malformed XML": (b"<soapenv:Envelope><unclosed>", "not well-formed XML"),
    "DOCTYPE": (
        b'<?xml version="1.0"?><!DOCTYPE x [<!ELEMENT x ANY>]>'
        + simple_message().xml().split(b"?>", 1)[1],
        "DOCTYPE",
    ),
    "billion laughs": (BILLION_LAUGHS, ""),
    "external entity to a local file": (with_entity("file:///etc/passwd"), ""),
    "SOAP 1.2 envelope": (soap12(), "SOAP 1.2"),
    "wrong namespace": (simple_message(namespace="urn:not-salesforce").xml(), "namespace"),
    "JSON body": (b'{"OrganizationId": "00D7F00000107XsUAI"}', "Content-Type"),
    "empty body": (b"", "empty request body"),
    "101 notifications": (simple_message(101).xml(), "1 to 100 notifications"),
    "wrong org": (simple_message(org=OTHER_ORG).xml(), "OrganizationId is not allowed"),
    "wrong object type": (
        simple_message(2).xml().replace(b'xsi:type="sf:Opportunity"', b'xsi:type="sf:Account"', 1),
        "xsi:type must be Opportunity",
    ),
    "invalid ids": (invalid_ids(), "notification 2: Id is not a valid Salesforce id"),
    "invalid record id": (
        simple_message(1).xml().replace(b"<sf:Id>006", b"<sf:Id>006!", 1),
        "sObject Id is not a valid",
    ),
    "invalid org id": (simple_message(org="00D-bad").xml(), "OrganizationId is not a valid"),
    "no notifications": (simple_message(0).xml(), "1 to 100 notifications"),
    "bad double": (
        simple_message(1).xml().replace(b"<sf:Amount>1000.5", b"<sf:Amount>lots", 1),
        "invalid value in element Amount of Opportunity",
    ),
    "unknown element": (
        simple_message(1).xml().replace(b"</sObject>", b"<sf:Secret__c>x</sf:Secret__c></sObject>"),
        "unknown element Secret__c",
    ),
    "missing sObject Id": (
        simple_message(1)
        .xml()
        .replace(b"<sf:Id>", b"<sf:Nope>")
        .replace(b"</sf:Id>", b"</sf:Nope>"),
        "",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_gets_a_fault_and_enqueues_nothing(
    case: str, soap_url: str, empty_queues: Queues, schema: etree.XMLSchema
) -> None:
    body, expected = CASES[case]
    assert body is not None
    content_type = "application/json" if case == "JSON body" else "text/xml; charset=utf-8"
    started = time.monotonic()
    response = post(soap_url, body, headers={"Content-Type": content_type})
    elapsed = time.monotonic() - started
    message = fault_string(response)
    assert expected in message
    assert_schema_valid(schema, response.content)
    assert empty_queues.messages() == []
    assert elapsed < 1.0, f"{case} took {elapsed:.2f}s"


def test_external_entity_to_loopback_url_fetches_nothing(
    soap_url: str, empty_queues: Queues, listener: tuple[int, list[bytes]]
) -> None:
    port, hits = listener
    started = time.monotonic()
    response = post(soap_url, with_entity(f"http://127.0.0.1:{port}/evil"))
    assert "DOCTYPE" in fault_string(response)
    assert time.monotonic() - started < 1.0
    time.sleep(0.3)
    assert hits == []
    assert empty_queues.messages() == []


def test_six_mib_body_is_refused(soap_url: str, empty_queues: Queues) -> None:
    body = simple_message().xml() + b" " * (6 * 1024 * 1024)
    started = time.monotonic()
    response = post(soap_url, body)
    assert "exceeds the limit" in fault_string(response)
    assert time.monotonic() - started < 1.0
    assert empty_queues.messages() == []


def test_chunked_oversize_body_is_refused(soap_url: str, empty_queues: Queues) -> None:
    head = simple_message().xml()

    def body() -> Iterator[bytes]:
        yield head
        yield from chunks(6 * 1024 * 1024)

    started = time.monotonic()
    response = requests.post(
        soap_url, data=body(), headers={"Content-Type": "text/xml"}, timeout=30
    )
    assert response.request.headers.get("Transfer-Encoding") == "chunked"
    assert "exceeds the limit" in fault_string(response)
    assert time.monotonic() - started < 1.0
    assert empty_queues.messages() == []


def test_chunked_body_within_the_limit_is_acked(soap_url: str, empty_queues: Queues) -> None:
    data = simple_message(3, start=500).xml()
    response = requests.post(
        soap_url,
        data=iter([data[:100], data[100:]]),
        headers={"Content-Type": "text/xml"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    assert len(empty_queues.messages()) == 3


def test_other_methods_and_unknown_contracts_on_the_soap_route_are_faults(
    soap_url: str, gateway: object
) -> None:
    assert "405" in fault_string(requests.put(soap_url, data=b"x", timeout=10))
    assert "use POST" in fault_string(requests.get(soap_url, timeout=10))
    unknown = soap_url.rsplit("/", 1)[0] + "/no_such_contract"
    assert "no outbound-message contract" in fault_string(post(unknown, simple_message().xml()))
    nested = soap_url + "/extra"
    fault_string(post(nested, simple_message().xml()))


def test_wsdl_is_served(soap_url: str) -> None:
    response = requests.get(soap_url + "?wsdl", timeout=10)
    assert response.status_code == 200
    assert b"OpportunityNotification" in response.content


def test_soap_header_is_tolerated(soap_url: str, empty_queues: Queues) -> None:
    response = post(soap_url, simple_message(1, start=900, header=True).xml())
    assert response.status_code == 200, response.text
    assert len(empty_queues.messages()) == 1


def test_duplicates_within_one_message_are_enqueued_once(
    soap_url: str, empty_queues: Queues
) -> None:
    message = simple_message(2, start=700)
    same = message.records[0]
    message.records.append(
        Record(same.notification_id[:15], make_id("006", 999), {}, same.xsi_type)
    )
    response = post(soap_url, message.xml())
    assert response.status_code == 200, response.text
    jobs = empty_queues.jobs()
    assert sorted(j["notification_id"] for j in jobs) == sorted(
        r.notification_id for r in message.records[:2]
    )
