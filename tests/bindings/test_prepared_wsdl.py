"""The WSDL corrections applied before xsdata reads a contract (pure functions)."""

from __future__ import annotations

from pathlib import Path

from gateway.bindings.xsdata_runner import prepared_wsdl
from gateway.soap import parse_xml
from tests.bindings.corpus import outbound_wsdl

XSD = "{http://www.w3.org/2001/XMLSchema}"


def _sobject_id(root: object) -> object:
    return next(
        e
        for e in root.iter(f"{XSD}element")  # type: ignore[attr-defined]
        if e.get("name") == "Id" and e.getparent().getparent().get("name") == "sObject"
    )


def test_outbound_wsdl_gets_an_optional_record_id_and_literal_wildcards() -> None:
    original = outbound_wsdl("Opportunity", (("Name", "xsd:string"),)).encode()
    prepared = prepared_wsdl(original)
    assert prepared is not None
    root = parse_xml(prepared)
    assert _sobject_id(root).get("minOccurs") == "0"  # type: ignore[attr-defined]
    assert _sobject_id(parse_xml(original)).get("minOccurs") is None  # type: ignore[attr-defined]
    [wildcard] = list(root.iter(f"{XSD}any"))
    assert wildcard.get("namespace") == "urn:sobject.enterprise.soap.sforce.com"
    # everything else is untouched
    assert len(list(root.iter())) == len(list(parse_xml(original).iter()))


def test_partner_wildcards_become_literal_and_its_sobject_id_is_left_alone(
    repo_root: Path,
) -> None:
    original = (repo_root / "contracts/salesforce/partner.wsdl").read_bytes()
    prepared = prepared_wsdl(original)
    assert prepared is not None
    root = parse_xml(prepared)
    assert {w.get("namespace") for w in root.iter(f"{XSD}any")} >= {
        "urn:sobject.partner.soap.sforce.com"
    }
    assert "##targetNamespace" not in prepared.decode()
    before = [e.attrib for e in parse_xml(original).iter(f"{XSD}element")]
    after = [e.attrib for e in root.iter(f"{XSD}element")]
    assert [dict(a) for a in before] == [dict(a) for a in after]


def test_a_wsdl_that_needs_nothing_is_not_rewritten(repo_root: Path) -> None:
    assert prepared_wsdl((repo_root / "contracts/erp/erp_orders.wsdl").read_bytes()) is None
