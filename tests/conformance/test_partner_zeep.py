"""The SOAP Partner API through zeep and the Partner WSDL (``contracts/salesforce/
partner.wsdl``), the way any SOAP client of Salesforce calls it: ``update`` and
``retrieve`` with a ``SessionHeader``, at ``/services/Soap/u/<version>`` with or without
the org id, answers validated against the WSDL in zeep's strict mode, faults read from
their ``detail`` (SOAP API Developer Guide: update(), retrieve(), SaveResult, faults).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from lxml import etree
from zeep import Client, Settings
from zeep.exceptions import Fault
from zeep.transports import Transport

from devstack.mocks import RunningSalesforce
from gateway.namespaces import PARTNER, PARTNER_SOBJECT

from .conftest import INSTANCE_URL, mapped_session

WSDL = Path(__file__).resolve().parents[2] / "contracts" / "salesforce" / "partner.wsdl"


class Partner:
    def __init__(self, session: requests.Session, org: RunningSalesforce) -> None:
        self.client = Client(
            str(WSDL),
            transport=Transport(session=session),
            settings=Settings(strict=True, forbid_dtd=True, forbid_entities=True),
        )
        self.org = org
        self.token = org.client_credentials_token()

    def service(self, with_org_id: bool = False) -> Any:
        address = f"{INSTANCE_URL}/services/Soap/u/62.0"
        if with_org_id:
            address += f"/{self.org.org_id[:15]}"
        return self.client.create_service(f"{{{PARTNER}}}SoapBinding", address)

    def header(self, token: str | None = None) -> Any:
        return self.client.get_element(f"{{{PARTNER}}}SessionHeader")(sessionId=token or self.token)

    def sobject(self, oid: str, kind: str = "Opportunity", **fields: str) -> Any:
        elements = []
        for name, value in fields.items():
            element = etree.Element(f"{{{PARTNER_SOBJECT}}}{name}")
            element.text = value
            elements.append(element)
        return self.client.get_type(f"{{{PARTNER_SOBJECT}}}sObject")(
            type=kind, Id=oid, _value_1=elements
        )

    def update(self, *sobjects: Any, with_org_id: bool = False) -> list[Any]:
        reply = self.service(with_org_id).update(
            sObjects=list(sobjects), _soapheaders=[self.header()]
        )
        return list(reply.body.result)


@pytest.fixture(scope="module")
def partner(org: RunningSalesforce) -> Iterator[Partner]:
    with mapped_session(org) as session:
        yield Partner(session, org)


def codes(results: list[Any]) -> list[str]:
    return ["OK" if r.success else str(r.errors[0].statusCode) for r in results]


def test_update_with_and_without_the_org_id_in_the_path(
    org: RunningSalesforce, partner: Partner
) -> None:
    a, b = org.create_opportunities(2)
    assert codes(partner.update(partner.sobject(a, Order_Status__c="Created"))) == ["OK"]
    assert codes(
        partner.update(partner.sobject(b, Order_Status__c="Created"), with_org_id=True)
    ) == ["OK"]
    rows = {r["Id"]: r for r in org.opportunities()}
    assert rows[a]["Order_Status__c"] == rows[b]["Order_Status__c"] == "Created"


def test_each_record_gets_its_own_save_result(org: RunningSalesforce, partner: Partner) -> None:
    a, b = org.create_opportunities(2)
    results = partner.update(
        partner.sobject(a, Order_Number__c=f"SO-Z-{a}"),
        partner.sobject(b, Order_Number__c=f"so-z-{a}"),  # the same number, other case
        partner.sobject(a, Amount="a lot"),
        partner.sobject(a, Order_Status__c="Shipped"),
        partner.sobject(a, Name="n" * 121),
        partner.sobject(a, kind="Account"),
        partner.sobject(a, IsWon="true"),
        partner.sobject(a, CloseDate="31/12/2026"),
    )
    assert codes(results) == [
        "OK", "DUPLICATE_VALUE", "INVALID_TYPE_ON_FIELD_IN_RECORD",
        "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", "STRING_TOO_LONG", "INVALID_TYPE",
        "INVALID_FIELD_FOR_INSERT_UPDATE", "INVALID_TYPE_ON_FIELD_IN_RECORD",
    ]  # fmt: skip
    assert results[0].id == a and results[1].id is None
    assert results[2].errors[0].message == "Amount: value not of required type: a lot"


def test_retrieve_reads_the_fields_typed_as_text(org: RunningSalesforce, partner: Partner) -> None:
    [oid] = org.create_opportunities(1)
    org.update_opportunity(oid, Order_Number__c=f"SO-R-{oid}", Order_Status__c="OnHold")
    reply = partner.service().retrieve(
        fieldList="Id, Order_Number__c, order_status__c, IsWon, LastModifiedDate",
        sObjectType="Opportunity",
        ids=[oid[:15], "006000000000000AAA"],
        _soapheaders=[partner.header()],
    )
    found, missing = reply.body.result
    values = {etree.QName(e).localname: e.text for e in found._value_1}
    assert values["Order_Number__c"] == f"SO-R-{oid}" and values["Order_Status__c"] == "OnHold"
    assert values["IsWon"] == "false" and values["LastModifiedDate"].endswith("Z")
    assert missing.Id is None and missing.type is None  # <result xsi:nil="true"/>


@pytest.mark.parametrize(
    ("call", "code"),
    [
        ("dead_session", "INVALID_SESSION_ID"),
        ("retired_version", "UNSUPPORTED_API_VERSION"),
        ("unknown_field", "INVALID_FIELD"),
    ],
)
def test_call_level_errors_are_faults_with_the_exception_code(
    org: RunningSalesforce, partner: Partner, call: str, code: str
) -> None:
    [oid] = org.create_opportunities(1)
    with pytest.raises(Fault) as caught:
        if call == "dead_session":
            partner.service().update(
                sObjects=[partner.sobject(oid, Order_Status__c="Created")],
                _soapheaders=[partner.header("00Dxx0000000000!dead")],
            )
        elif call == "retired_version":
            old = partner.client.create_service(
                f"{{{PARTNER}}}SoapBinding", f"{INSTANCE_URL}/services/Soap/u/30.0"
            )
            old.update(sObjects=[partner.sobject(oid)], _soapheaders=[partner.header()])
        else:
            partner.service().retrieve(fieldList="Id, Nope__c", sObjectType="Opportunity",
                                       ids=[oid], _soapheaders=[partner.header()])  # fmt: skip
    assert caught.value.code == f"sf:{code}"
    detail = caught.value.detail
    assert detail is not None
    assert [e.text for e in detail.iter() if etree.QName(e).localname == "exceptionCode"] == [code]
