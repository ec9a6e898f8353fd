"""Rendering outbound messages with each contract's generated classes (no sockets)."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import pytest
from lxml import etree
from xsdata.models.datatype import XmlDate, XmlDateTime

from gateway import sfid
from gateway.soap import parse_envelope
from mock_salesforce.outbound import contract_fields, field_converters, render_message

from .conftest import outbound_schema

OUT = "{http://soap.sforce.com/2005/09/outbound}"
SOBJ = "{urn:sobject.enterprise.soap.sforce.com}"
XSI_NIL = "{http://www.w3.org/2001/XMLSchema-instance}nil"
ORG = sfid.to18("00D5g000004SfGw")


def record(oid: str, **overrides: object) -> dict[str, object]:
    base: dict[str, object] = {
        "Id": oid,
        "Name": "Big deal",
        "AccountId": sfid.to18("0015g0000000001"),
        "Amount": 45000.0,
        "CloseDate": "2026-03-02",
        "StageName": "Closed Won",
        "IsWon": True,
        "IsClosed": True,
        "Order_Number__c": None,
        "Order_Status__c": None,
        "LastModifiedDate": time.time(),
        "SystemModstamp": time.time(),
        "IsDeleted": False,
    }
    base.update(overrides)
    return base


@pytest.mark.parametrize("contract", ["opportunity_with_fields", "opportunity_id_only"])
def test_rendered_messages_validate_against_the_wsdl(
    contract: str, tmp_path: Path, repo_root: Path
) -> None:
    schema = outbound_schema(repo_root / f"contracts/salesforce/{contract}.wsdl", tmp_path)
    ids = [sfid.to18(f"0065g00000000{i:02d}") for i in range(3)]
    records = {
        ids[0]: record(ids[0]),
        ids[1]: record(ids[1], Amount=None, Name="<&> ünïcödé"),
        ids[2]: record(ids[2], IsDeleted=True),
    }
    notifications = [(sfid.to18(f"04l5g00000000{i:02d}"), oid) for i, oid in enumerate(ids)]
    body = render_message(
        contract=contract,
        org_id=ORG,
        action_id=sfid.to18("04k5g0000000001"),
        session_id=None,
        enterprise_url="http://sf/services/Soap/c/62.0/x",
        partner_url="http://sf/services/Soap/u/62.0/x",
        notifications=notifications,
        records=records,
    )
    payload = parse_envelope(body).payload
    schema.assertValid(etree.ElementTree(etree.fromstring(etree.tostring(payload))))
    sobjects = list(payload.iter(f"{OUT}sObject"))
    assert [s.findtext(f"{SOBJ}Id") for s in sobjects] == ids
    # A deleted record goes out with no data but its Id.
    assert [etree.QName(c).localname for c in sobjects[2]] == ["Id"]
    if contract == "opportunity_with_fields":
        assert sobjects[0].findtext(f"{SOBJ}Amount") == "45000.0"
        assert sobjects[0].findtext(f"{SOBJ}CloseDate") == "2026-03-02"
        assert sobjects[1].find(f"{SOBJ}Amount").get(XSI_NIL) == "true"  # type: ignore[union-attr]
        assert sobjects[1].findtext(f"{SOBJ}Name") == "<&> ünïcödé"
        assert contract_fields(contract)[0] == "Id"
        assert "Order_Number__c" in contract_fields(contract)
    else:
        assert contract_fields(contract) == ["Id"]
        assert all(len(s) == 1 for s in sobjects)


@dataclasses.dataclass
class _CustomOpportunity:
    """What xsdata generates for a contract carrying custom Date, DateTime, Checkbox and
    Text fields (the names say nothing of the types)."""

    due__c: XmlDate | None = dataclasses.field(default=None, metadata={"name": "Due__c"})
    shipped__c: XmlDateTime | None = dataclasses.field(
        default=None, metadata={"name": "Shipped__c"}
    )
    rush__c: bool | None = dataclasses.field(default=None, metadata={"name": "Rush__c"})
    note__c: str | None = dataclasses.field(default=None, metadata={"name": "Note__c"})


def test_values_are_written_in_the_type_the_contract_declares_whatever_the_field_name() -> None:
    convert = field_converters(_CustomOpportunity)
    assert set(convert) == {"Due__c", "Shipped__c", "Rush__c"}
    assert str(convert["Due__c"]("2026-03-02")) == "2026-03-02"
    assert str(convert["Shipped__c"](1_400_000_000.25)) == "2014-05-13T16:53:20Z"
    assert str(convert["Shipped__c"]("2014-05-13T16:53:20+00:00")) == "2014-05-13T16:53:20Z"
    assert convert["Rush__c"](1) is True and convert["Rush__c"](0) is False
