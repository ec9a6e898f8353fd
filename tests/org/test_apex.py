"""The Apex callback classes: they parse (with the Apex parser of @apexdevtools, run by
Node.js), and the web service's signature and its WSDL in contracts/ say the same thing,
so neither can drift from the other."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from gateway.namespaces import APEX_ORDER_SERVICE, XSD

ROOT = Path(__file__).resolve().parents[2]
ORG = ROOT / "salesforce"
CLASSES = ORG / "force-app" / "main" / "default" / "classes"
WSDL_PATH = ROOT / "contracts" / "salesforce" / "apex" / "sfgw_order_service.wsdl"
APEX_NS = APEX_ORDER_SERVICE
#: How Salesforce types an Apex type in a generated class WSDL.
XSD_OF_APEX = {
    "Id": "tns:ID",
    "String": "xsd:string",
    "Boolean": "xsd:boolean",
    "Integer": "xsd:int",
    "Long": "xsd:long",
    "Decimal": "xsd:double",
    "Double": "xsd:double",
    "Date": "xsd:date",
    "Datetime": "xsd:dateTime",
}


def outline(*files: Path) -> subprocess.CompletedProcess[str]:
    node = shutil.which("node")
    parser = ORG / "node_modules" / "@apexdevtools" / "apex-parser"
    if node is None or not parser.is_dir():
        pytest.skip(
            "Apex parser check did not run: Node.js, or the parser in salesforce/node_modules "
            "(scripts/test installs it with npm), is missing"
        )
    return subprocess.run(
        [node, str(ORG / "tools" / "apex-outline.mjs"), *map(str, files)],
        cwd=ORG,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def classes() -> dict[str, dict[str, Any]]:
    result = outline(*sorted(CLASSES.glob("*.cls")))
    assert result.returncode == 0, result.stdout + result.stderr
    found = {}
    for parsed in json.loads(result.stdout):
        assert parsed["errors"] == [], parsed
        found.update({c["name"]: c for c in parsed["classes"]})
    return found


def test_every_class_has_its_metadata_file() -> None:
    for source in CLASSES.glob("*.cls"):
        meta = etree.parse(str(source.with_suffix(".cls-meta.xml"))).getroot()
        assert etree.QName(meta).localname == "ApexClass"
        assert meta.findtext("{http://soap.sforce.com/2006/04/metadata}status") == "Active"


def test_a_syntax_error_fails_the_check(tmp_path: Path) -> None:
    broken = tmp_path / "Broken.cls"
    broken.write_text("public class Broken {\n    void x( {\n}\n")
    result = outline(broken)
    assert result.returncode == 1
    [parsed] = json.loads(result.stdout)
    assert parsed["errors"] and parsed["errors"][0]["line"] == 2


def _members(cls: dict[str, Any]) -> dict[str, str]:
    return {m["name"]: m["type"] for m in cls["members"] if m["member"] == "field"}


def _wsdl() -> etree._Element:
    root = etree.parse(str(WSDL_PATH)).getroot()
    schema = root.find(f".//{{{XSD}}}schema")
    assert schema is not None
    return schema


def _complex_type(schema: etree._Element, name: str) -> list[etree._Element]:
    node = schema.find(f"{{{XSD}}}complexType[@name='{name}']")
    assert node is not None, name
    return list(node.iter(f"{{{XSD}}}element"))


def test_the_web_service_and_its_wsdl_agree(classes: dict[str, dict[str, Any]]) -> None:
    service = classes["SfgwOrderService"]
    assert "global" in service["modifiers"]
    [method] = [m for m in service["members"] if m["member"] == "method"]
    assert {"webservice", "static"} <= set(method["modifiers"])
    assert method["type"] == "List<OrderUpdateResult>"
    assert method["params"] == [{"type": "List<OrderUpdate>", "name": "updates"}]

    schema = _wsdl()
    assert schema.get("targetNamespace") == APEX_NS
    request = schema.find(f"{{{XSD}}}element[@name='{method['name']}']")
    assert request is not None
    [parameter] = [e for e in request.iter(f"{{{XSD}}}element") if e is not request]
    assert parameter.get("name") == "updates"
    assert parameter.get("type") == "tns:OrderUpdate"
    assert parameter.get("maxOccurs") == "unbounded"
    response = schema.find(f"{{{XSD}}}element[@name='{method['name']}Response']")
    assert response is not None
    [result] = [e for e in response.iter(f"{{{XSD}}}element") if e is not response]
    assert (result.get("name"), result.get("type")) == ("result", "tns:OrderUpdateResult")

    for apex_name in ("OrderUpdate", "OrderUpdateResult"):
        cls = classes[f"SfgwOrderService.{apex_name}"]
        members = _members(cls)
        assert all("webservice" in m["modifiers"] for m in cls["members"] if m["member"] == "field")
        elements = _complex_type(schema, apex_name)
        # the generator lists members alphabetically, each optional and nillable
        assert [e.get("name") for e in elements] == sorted(members)
        for element in elements:
            assert element.get("type") == XSD_OF_APEX[members[element.get("name", "")]]
            assert (element.get("minOccurs"), element.get("nillable")) == ("0", "true")


def test_the_rest_resource_takes_the_same_list(classes: dict[str, dict[str, Any]]) -> None:
    rest = classes["SfgwOrderRestResource"]
    assert "@RestResource(urlMapping='/sfgw/orders/*')" in rest["annotations"]
    [method] = [m for m in rest["members"] if m["member"] == "method"]
    assert "@HttpPost" in method["annotations"]
    assert method["type"] == "List<SfgwOrderService.OrderUpdateResult>"
    assert method["params"] == [{"type": "List<SfgwOrderService.OrderUpdate>", "name": "updates"}]


def test_the_apex_test_class_covers_both_entry_points(
    classes: dict[str, dict[str, Any]],
) -> None:
    test = classes["SfgwOrderServiceTest"]
    assert "@IsTest" in test["annotations"]
    tests = [
        m for m in test["members"] if m["member"] == "method" and "@IsTest" in m["annotations"]
    ]
    assert len(tests) >= 2
    source = (CLASSES / "SfgwOrderServiceTest.cls").read_text()
    assert "SfgwOrderService.updateOrders(" in source
    assert "SfgwOrderRestResource.updateOrders(" in source
    assert source.count("System.assertEquals(") >= 10
