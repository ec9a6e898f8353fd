"""Fixtures for the mock ERP and its client: one shared real server, fresh references."""

from __future__ import annotations

import copy
import random
import string
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from lxml import etree

from devstack.mocks import RunningErp, start_mock_erp
from gateway.erp import ErpClient, ErpSettings
from gateway.namespaces import SOAP11_ENVELOPE, WSDL, XSD
from gateway.sfid import checksum_suffix

REPO = Path(__file__).resolve().parents[2]
ERP_WSDL = REPO / "contracts" / "erp" / "erp_orders.wsdl"

_rng = random.SystemRandom()


def new_reference() -> str:
    """A fresh, valid 18-character Opportunity id (006 prefix, correct checksum)."""
    head = "006" + "".join(_rng.choice(string.ascii_letters + string.digits) for _ in range(12))
    return head + checksum_suffix(head)


def contract_schema() -> etree.XMLSchema:
    root = etree.parse(str(ERP_WSDL)).getroot()
    schema = root.find(f"{{{WSDL}}}types/{{{XSD}}}schema")
    assert schema is not None
    # QName values in attributes (base="xsd:string") need the WSDL's prefixes in scope.
    standalone = etree.Element(schema.tag, attrib=dict(schema.attrib), nsmap=schema.nsmap)
    standalone.extend(copy.deepcopy(child) for child in schema)
    return etree.XMLSchema(standalone)


def assert_valid_soap_response(body: bytes, schema: etree.XMLSchema) -> etree._Element:
    """The body is a SOAP 1.1 envelope whose payload (or fault detail) the contract accepts."""
    root = etree.fromstring(body)
    assert root.tag == f"{{{SOAP11_ENVELOPE}}}Envelope"
    body_el = root.find(f"{{{SOAP11_ENVELOPE}}}Body")
    assert body_el is not None
    payload = body_el[0]
    if payload.tag == f"{{{SOAP11_ENVELOPE}}}Fault":
        assert payload.findtext("faultcode")
        assert payload.findtext("faultstring")
        detail = payload.find("detail")
        if detail is not None:
            for child in detail:
                schema.assertValid(etree.ElementTree(copy.deepcopy(child)))
        return payload
    schema.assertValid(etree.ElementTree(copy.deepcopy(payload)))
    return payload


@pytest.fixture(scope="session")
def erp_schema() -> etree.XMLSchema:
    return contract_schema()


@pytest.fixture(scope="session")
def erp_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningErp]:
    """One real ``sfgw erp serve`` (2 gunicorn workers) shared by the tests of this area."""
    server = start_mock_erp(tmp_path_factory.mktemp("erp"), workers=2)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def erp(erp_server: RunningErp) -> Iterator[RunningErp]:
    """The shared server with no faults, and none left behind."""
    erp_server.set_faults()
    try:
        yield erp_server
    finally:
        if erp_server.child.running():
            erp_server.set_faults()


ClientFactory = Callable[..., ErpClient]


@pytest.fixture
def make_client() -> Iterator[ClientFactory]:
    clients: list[ErpClient] = []

    def make(url: str, read_timeout_s: float = 30.0, connect_timeout_s: float = 5.0) -> ErpClient:
        client = ErpClient(
            ErpSettings.from_env(
                {
                    "SFGW_ERP_URL": url,
                    "SFGW_ERP_READ_TIMEOUT_S": str(read_timeout_s),
                    "SFGW_ERP_CONNECT_TIMEOUT_S": str(connect_timeout_s),
                },
                contracts_dir=REPO / "contracts",
            )
        )
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()
