"""Contracts are found by their XML names, and every contract problem is one line.

The gateway used to look the record class up by the XML name as if it were the Python
name (``generated.shipment has no class Shipment__c``): xsdata calls it ``ShipmentC``.
"""

from __future__ import annotations

import sys
import threading
import types
from pathlib import Path

import pytest

from gateway.bindings.binder import BindingError, ContractBinder
from gateway.bindings.outbound import load_all, load_outbound
from gateway.contracts import ContractError, discover_contracts, outbound_contracts, read_contract
from gateway.soap import parse_envelope
from tests.conftest import FILE_CORPUS, GeneratedContracts, generate_contracts
from tests.intake.messages import ORG

CORPUS_DIR = FILE_CORPUS[0].parent

#: contract -> (record type's XML name, the Python class xsdata generated for it)
EXPECTED = {
    "shipment": ("Shipment__c", "ShipmentC"),
    "acme_shipment": ("acme__Shipment__c", "AcmeShipmentC"),
    "i360_appointment": ("i360__Appointment__c", "I360AppointmentC"),
    "ping": ("Ping__c", "PingC"),
    "account": ("Account", "Account"),
    "contact": ("Contact", "Contact"),
    "lead": ("Lead", "Lead"),
    "case": ("Case", "Case"),
    "field_sampler": ("Field_Sampler__c", "FieldSamplerC"),
    "opportunity_closed_won": ("Opportunity", "Opportunity"),
}


def test_every_corpus_contract_is_found_by_its_xml_names(file_corpus: GeneratedContracts) -> None:
    contracts = outbound_contracts(file_corpus.contracts)
    assert {c.name for c in contracts} == set(EXPECTED)
    loaded = load_all(contracts)
    for name, (xml_name, python_name) in EXPECTED.items():
        bindings = loaded[name]
        assert bindings.shape.object_name == xml_name
        assert bindings.object_class.__name__ == python_name
        assert bindings.binder.xml_name(bindings.object_class) == xml_name
        assert bindings.notifications_class.__name__ == "Notifications"
        assert bindings.notification_class.__module__.startswith(f"generated.{name}.")
    assert loaded["ping"].shape.fields == ()
    assert loaded["shipment"].object_class_name == "Shipment__c / ShipmentC"
    assert loaded["account"].object_class_name == "Account"


def _message(object_name: str, fields: str = "") -> bytes:
    return (
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body>'
        '<notifications xmlns="http://soap.sforce.com/2005/09/outbound">'
        f"<OrganizationId>{ORG}</OrganizationId><ActionId>04k7F0000008V3hQAE</ActionId>"
        '<SessionId xsi:nil="true"/><EnterpriseUrl>x</EnterpriseUrl><PartnerUrl>x</PartnerUrl>'
        "<Notification><Id>04l7F000008aeAyQAI</Id>"
        f'<sObject xsi:type="sf:{object_name}" xmlns:sf="urn:sobject.enterprise.soap.sforce.com">'
        f"<sf:Id>a007F000003pmdWQAQ</sf:Id>{fields}</sObject></Notification>"
        "</notifications></soapenv:Body></soapenv:Envelope>"
    ).encode()


@pytest.fixture(scope="module")
def prefix_pair(tmp_path_factory: pytest.TempPathFactory) -> GeneratedContracts:
    """``lookup_ship`` and ``lookup_ship_v2``: one package name is a prefix of the other,
    and both define ``Shipment__c`` (v2 with one more field)."""
    root = tmp_path_factory.mktemp("prefix-pair")
    v1 = root / "lookup_ship.wsdl"
    v1.write_bytes((CORPUS_DIR / "shipment.wsdl").read_bytes())
    v2 = root / "lookup_ship_v2.wsdl"
    v2.write_text(
        v1.read_text().replace(
            '<element name="Weight_Kg__c"',
            '<element name="Volume__c" nillable="true" minOccurs="0" type="xsd:double"/>\n'
            '                    <element name="Weight_Kg__c"',
        )
    )
    return generate_contracts(root / "out", [v1, v2])


def test_a_package_whose_name_prefixes_another_binds_only_its_own_classes(
    prefix_pair: GeneratedContracts,
) -> None:
    contracts = {c.name: c for c in outbound_contracts(prefix_pair.contracts)}
    # v2 first: when v1's classes are looked up, both packages are imported (xsdata
    # matches models_package by prefix; without care it would see two Shipment__c)
    v2 = load_outbound(contracts["lookup_ship_v2"])
    v1 = load_outbound(contracts["lookup_ship"])
    assert v1.object_class is not v2.object_class
    assert v1.object_class.__module__.startswith("generated.lookup_ship.")
    # xsi:type resolves within the contract's own package: v2's extra field is unknown
    # to v1 (with a prefix match, xsdata would have bound it into v2's class)
    extra = _message("Shipment__c", "<sf:Volume__c>1.5</sf:Volume__c>")
    with pytest.raises(BindingError):
        v1.binder.bind(parse_envelope(extra).payload, v1.notifications_class)
    bound = v2.binder.bind(parse_envelope(extra).payload, v2.notifications_class)
    assert type(bound.notification[0].s_object) is v2.object_class


def _one_line(error: ContractError, filename: str) -> str:
    text = str(error)
    assert "\n" not in text
    assert filename in text
    return text


def test_bindings_older_than_the_wsdl_name_the_file_and_the_fix(tmp_path: Path) -> None:
    source = tmp_path / "stale_ship.wsdl"
    source.write_bytes((CORPUS_DIR / "shipment.wsdl").read_bytes())
    generated = generate_contracts(tmp_path / "out", [source])
    # the admin adds a field to the outbound message and saves the new WSDL, but nobody
    # regenerates the bindings
    wsdl = generated.contracts / "salesforce" / "stale_ship.wsdl"
    wsdl.write_text(
        wsdl.read_text().replace(
            '<element name="Weight_Kg__c"',
            '<element name="Volume__c" nillable="true" minOccurs="0" type="xsd:double"/>'
            '<element name="Weight_Kg__c"',
        )
    )
    with pytest.raises(ContractError) as caught:
        load_outbound(read_contract(wsdl))
    text = _one_line(caught.value, "stale_ship.wsdl")
    assert "Volume__c" in text and "sfgw bindings generate" in text


def test_a_contract_without_bindings_names_the_file_and_the_fix(tmp_path: Path) -> None:
    wsdl = tmp_path / "never_generated_xyz.wsdl"
    wsdl.write_bytes((CORPUS_DIR / "ping.wsdl").read_bytes())
    with pytest.raises(ContractError) as caught:
        load_outbound(read_contract(wsdl))
    text = _one_line(caught.value, "never_generated_xyz.wsdl")
    assert "no generated bindings" in text and "sfgw bindings generate" in text


def test_the_first_broken_contract_stops_loading_and_counts_the_others(tmp_path: Path) -> None:
    for stem in ("broken_a_xyz", "broken_b_xyz", "broken_c_xyz"):
        (tmp_path / f"{stem}.wsdl").write_bytes((CORPUS_DIR / "ping.wsdl").read_bytes())
    with pytest.raises(ContractError) as caught:
        load_all(outbound_contracts(tmp_path))
    text = _one_line(caught.value, "broken_a_xyz.wsdl")
    assert "2 more cannot be served either: broken_b_xyz.wsdl, broken_c_xyz.wsdl" in text


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "is empty"),
        (b"<definitions", "not well-formed"),
        (b"<x/>", "not a WSDL 1.1 document"),
    ],
)
def test_a_file_that_is_not_a_wsdl_is_one_line(
    tmp_path: Path, content: bytes, expected: str
) -> None:
    (tmp_path / "junk.wsdl").write_bytes(content)
    with pytest.raises(ContractError) as caught:
        discover_contracts(tmp_path)
    assert expected in _one_line(caught.value, "junk.wsdl")


def test_lookups_from_many_threads_find_one_class(file_corpus: GeneratedContracts) -> None:
    """xsdata rebuilds its type index lazily and not thread-safely; the mock org renders
    messages from several threads. Every lookup must still find exactly one class."""
    errors: list[BaseException] = []
    for round_ in range(20):
        binder = ContractBinder("generated.shipment")
        # a new module makes xsdata rebuild the index on the next lookup
        probe = f"sfgw_lookup_probe_{round_}"
        sys.modules[probe] = types.ModuleType(probe)
        start = threading.Barrier(8)

        def look(binder: ContractBinder = binder, start: threading.Barrier = start) -> None:
            start.wait()
            try:
                binder.type_class("{urn:sobject.enterprise.soap.sforce.com}Shipment__c")
            except BaseException as error:
                errors.append(error)

        threads = [threading.Thread(target=look) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        del sys.modules[probe]
    assert errors == []


def test_status_lists_every_contract_by_record_type_and_route(
    file_corpus: GeneratedContracts, redis_url: str, redis_prefix: str, tmp_path: Path
) -> None:
    import json
    import os
    import subprocess
    import sys

    env = {
        **os.environ,
        **file_corpus.env,
        "SFGW_REDIS_URL": redis_url,
        "SFGW_REDIS_PREFIX": redis_prefix,
        "SFGW_ROUTE_ACCOUNT": "crm:sync_account",
    }
    result = subprocess.run(
        [sys.executable, "-m", "gateway.cli", "status", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    rows = {c["contract"]: c for c in report["contracts"]}
    assert rows["shipment"] == {
        "contract": "shipment",
        "record_type": "Shipment__c / ShipmentC",
        "queue": "shipment",
        "actor": "shipment",
        "problem": None,
    }
    assert (rows["opportunity_closed_won"]["queue"], rows["opportunity_closed_won"]["actor"]) == (
        "orders",
        "process_notification",
    )
    assert (rows["account"]["queue"], rows["account"]["actor"]) == ("crm", "sync_account")
    queues = {q["queue"] for q in report["queues"]}
    assert {"orders", "callbacks", "shipment", "crm", "ping"} <= queues
