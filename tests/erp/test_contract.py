"""Contract tests against a real ``sfgw erp serve``: schema-valid replies, zeep round trips,
declared faults as the right exception class, persistence and the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
import requests
from lxml import etree

from devstack.mocks import RunningErp, start_mock_erp
from gateway.erp import ErpPermanentError, ErpRetryableError
from gateway.namespaces import ERP_ORDERS, SOAP11_ENVELOPE
from gateway.orders import OrderRequest

from .conftest import (
    ClientFactory,
    assert_valid_soap_response,
    new_reference,
)


def soap(payload: str) -> bytes:
    return (
        f'<soapenv:Envelope xmlns:soapenv="{SOAP11_ENVELOPE}"><soapenv:Body>{payload}'
        "</soapenv:Body></soapenv:Envelope>"
    ).encode()


def post(erp: RunningErp, payload: str, action: str = "CreateOrder") -> requests.Response:
    return requests.post(
        erp.url,
        data=soap(payload),
        headers={
            "Content-Type": "text/xml; charset=utf-8",
            "SOAPAction": f'"{ERP_ORDERS}#{action}"',
        },
        timeout=30,
    )


def detail_of(fault: etree._Element) -> str:
    detail = fault.find("detail")
    assert detail is not None
    return etree.QName(detail[0]).localname


def test_every_reply_validates_against_the_contract(
    erp: RunningErp, erp_schema: etree.XMLSchema
) -> None:
    ref = new_reference()
    create = (
        f'<CreateOrder xmlns="{ERP_ORDERS}"><ExternalReference>{ref}</ExternalReference>'
        "<CustomerReference>ACME-1</CustomerReference><Title>Big deal</Title>"
        "<Amount>1234.50</Amount><CurrencyCode>EUR</CurrencyCode><CloseDate>2026-11-30</CloseDate>"
        "</CreateOrder>"
    )
    first = post(erp, create)
    assert first.status_code == 200
    payload = assert_valid_soap_response(first.content, erp_schema)
    number = payload.findtext(f"{{{ERP_ORDERS}}}OrderNumber")
    assert number is not None and number.startswith("SO-")
    assert payload.findtext(f"{{{ERP_ORDERS}}}Created") == "true"

    again = post(erp, create)
    payload = assert_valid_soap_response(again.content, erp_schema)
    assert payload.findtext(f"{{{ERP_ORDERS}}}OrderNumber") == number
    assert payload.findtext(f"{{{ERP_ORDERS}}}Created") == "false"

    for key, value in (("OrderNumber", number), ("ExternalReference", ref)):
        got = post(
            erp, f'<GetOrder xmlns="{ERP_ORDERS}"><{key}>{value}</{key}></GetOrder>', "GetOrder"
        )
        assert got.status_code == 200
        payload = assert_valid_soap_response(got.content, erp_schema)
        assert payload.findtext(f"{{{ERP_ORDERS}}}Order/{{{ERP_ORDERS}}}Amount") == "1234.50"

    missing = post(
        erp,
        f'<GetOrder xmlns="{ERP_ORDERS}"><OrderNumber>SO-999999999</OrderNumber></GetOrder>',
        "GetOrder",
    )
    assert missing.status_code == 500
    assert (
        detail_of(assert_valid_soap_response(missing.content, erp_schema)) == "OrderNotFoundFault"
    )

    bad_ref = post(
        erp,
        f'<CreateOrder xmlns="{ERP_ORDERS}"><ExternalReference>{ref[:17]}9</ExternalReference>'
        "</CreateOrder>",
    )
    assert bad_ref.status_code == 500
    assert bad_ref.headers["Content-Type"].startswith("text/xml")
    assert detail_of(assert_valid_soap_response(bad_ref.content, erp_schema)) == "ValidationFault"

    bad_schema = post(erp, f'<CreateOrder xmlns="{ERP_ORDERS}"><Amount>lots</Amount></CreateOrder>')
    assert (
        detail_of(assert_valid_soap_response(bad_schema.content, erp_schema)) == "ValidationFault"
    )

    erp.set_faults({"error": {"rate": 1}})
    unavailable = post(erp, create)
    assert unavailable.status_code == 500
    assert (
        detail_of(assert_valid_soap_response(unavailable.content, erp_schema)) == "UnavailableFault"
    )

    erp.set_faults({"error": {"rate": 1, "mode": "http503"}})
    overloaded = post(erp, create)
    assert overloaded.status_code == 503
    assert (
        assert_valid_soap_response(overloaded.content, erp_schema).findtext("faultcode")
        == "soapenv:Server"
    )


@pytest.mark.parametrize(
    "body",
    [b"", b"not xml", b"<!DOCTYPE x [<!ENTITY a 'b'>]><x>&a;</x>", soap('<Other xmlns="urn:x"/>')],
)
def test_garbage_gets_a_soap_client_fault(
    erp: RunningErp, body: bytes, erp_schema: etree.XMLSchema
) -> None:
    response = requests.post(erp.url, data=body, headers={"Content-Type": "text/xml"}, timeout=30)
    assert response.status_code == 500
    fault = assert_valid_soap_response(response.content, erp_schema)
    assert fault.findtext("faultcode") == "soapenv:Client"


def test_wsdl_is_served_with_the_servers_own_address(erp: RunningErp) -> None:
    response = requests.get(erp.wsdl_url, timeout=30)
    assert response.status_code == 200
    root = etree.fromstring(response.content)
    address = root.find(".//{http://schemas.xmlsoap.org/wsdl/soap/}address")
    assert address is not None
    assert address.get("location") == erp.url


def test_zeep_round_trips_every_operation(erp: RunningErp, make_client: ClientFactory) -> None:
    client = make_client(erp.url)
    ref = new_reference()
    request = OrderRequest(
        external_reference=ref,
        customer_reference="ACME-7",
        title="Renewal",
        amount=Decimal("99.90"),
        currency_code="USD",
        close_date=date(2026, 12, 1),
    )
    created = client.create_order(request)
    assert created.created is True
    assert created.external_reference == ref
    assert created.status == "Created"
    repeat = client.create_order(request)
    assert (repeat.order_number, repeat.created) == (created.order_number, False)
    by_number = client.get_order(order_number=created.order_number)
    by_reference = client.get_order(external_reference=ref)
    assert by_number == by_reference
    assert by_number is not None and by_number.order_number == created.order_number
    assert client.get_order(external_reference=new_reference()) is None
    assert client.get_order(order_number="SO-987654321") is None


def test_declared_faults_reach_the_client_as_the_right_class(
    erp: RunningErp, make_client: ClientFactory
) -> None:
    client = make_client(erp.url)
    ref = new_reference()
    with pytest.raises(ErpPermanentError) as validation:
        client.create_order(OrderRequest(external_reference=ref[:15] + "zzz"))
    assert validation.value.retryable is False
    assert "INVALID_REFERENCE" in validation.value.reason
    with pytest.raises(ErpPermanentError) as amount:
        client.create_order(
            OrderRequest(external_reference=ref, amount=Decimal("-5"), currency_code="EUR")
        )
    assert "field Amount" in amount.value.reason
    erp.set_faults({"error": {"rate": 1}})
    with pytest.raises(ErpRetryableError) as unavailable:
        client.create_order(OrderRequest(external_reference=ref))
    assert unavailable.value.retryable is True
    assert "unavailable" in unavailable.value.reason
    with pytest.raises(ErpRetryableError):
        client.get_order(external_reference=ref)


def test_restart_loses_nothing_and_cli_lists_orders(
    tmp_path: Path, make_client: ClientFactory
) -> None:
    db = tmp_path / "erp.sqlite3"
    refs = [new_reference() for _ in range(3)]
    server = start_mock_erp(tmp_path / "one", db_path=db)
    try:
        client = make_client(server.url)
        numbers = [
            client.create_order(
                OrderRequest(external_reference=r, amount=Decimal("10.00"), currency_code="EUR")
            ).order_number
            for r in refs
        ]
    finally:
        server.stop()
    server = start_mock_erp(tmp_path / "two", db_path=db)
    try:
        client = make_client(server.url)
        for ref, number in zip(refs, numbers, strict=True):
            again = client.create_order(OrderRequest(external_reference=ref))
            assert (again.order_number, again.created) == (number, False)
    finally:
        server.stop()
    table = subprocess.run(
        [sys.executable, "-m", "gateway.cli", "erp", "orders", "--db", str(db)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    lines = table.splitlines()
    assert lines[0].split() == [
        "ORDER",
        "EXTERNAL",
        "REFERENCE",
        "STATUS",
        "AMOUNT",
        "CREATED",
        "AT",
    ]
    assert len(lines) == 2 + 3
    for ref, number in zip(refs, numbers, strict=True):
        assert any(number in line and ref in line and "10.00 EUR" in line for line in lines)
    as_json = json.loads(
        subprocess.run(
            [sys.executable, "-m", "gateway.cli", "erp", "orders", "--db", str(db), "--json"],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        ).stdout
    )
    assert [(o["order_number"], o["external_reference"]) for o in as_json] == list(
        zip(numbers, refs, strict=True)
    )


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["erp", "orders", "--db", "/nonexistent/erp.sqlite3"], "no mock ERP store"),
        (["erp", "serve", "--bind", "nope"], "--bind"),
        (["erp", "serve", "--faults", "{bad json"], "--faults: faults are not valid JSON"),
        (["erp", "serve", "--faults", '{"error": {"rate": 3}}'], "error.rate=3"),
    ],
)
def test_cli_errors_are_one_line(args: list[str], needle: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "gateway.cli", *args], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert needle in lines[0]
