"""Every metadata file of the bundle is read strictly: schema subset first (lxml, with line
numbers), then xsdata's generated classes. A misspelled element, a value outside an
enumeration, an element out of order or missing fails with the file, line and element."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.org.errors import MetadataError
from gateway.org.metadata import (
    KINDS,
    bind_element,
    kind_of,
    parse_metadata,
    read_element,
    validate_element,
)
from tests.org.conftest import DEFAULT, ORG, edit

FILES = sorted(p for p in ORG.joinpath("force-app").rglob("*-meta.xml"))
FIELD = "objects/Opportunity/fields/Order_Number__c.field-meta.xml"
STATUS = "objects/Opportunity/fields/Order_Status__c.field-meta.xml"
WORKFLOW = "workflows/Opportunity.workflow-meta.xml"
FLOW = "flows/Sfgw_Send_Opportunity_With_Fields.flow-meta.xml"
PERMISSIONS = "permissionsets/Sfgw_Integration.permissionset-meta.xml"
POLICIES = "extlClntAppOauthPolicies/Sfgw_Gateway_oauthPlcy.ecaOauthPlcy-meta.xml"


def line_of(path: Path, text: str) -> int:
    [number] = [n for n, line in enumerate(path.read_text().splitlines(), 1) if text in line]
    return number


def copy_of(tmp_path: Path, relative: str) -> Path:
    target = tmp_path / Path(relative).name
    target.write_bytes((DEFAULT / relative).read_bytes())
    return target


def test_the_bundle_holds_every_kind_and_nothing_else() -> None:
    kinds = {kind_of(path) for path in FILES}
    assert None not in kinds
    assert {kind.root for kind in kinds if kind} == {kind.root for kind in KINDS}


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_metadata_file_parses_into_its_generated_class(path: Path) -> None:
    parsed = parse_metadata(path)
    kind = kind_of(path)
    assert kind is not None
    assert type(parsed).__name__ == kind.root
    assert type(parsed).__module__ == "generated.salesforce_metadata.salesforce_metadata"


@pytest.mark.parametrize(
    ("relative", "old", "new", "element"),
    [
        (WORKFLOW, "<fields>Amount</fields>", "<fieldz>Amount</fieldz>", "fieldz"),
        (FIELD, "<length>80</length>", "<lenght>80</lenght>", "lenght"),
        (
            FLOW,
            "<recordTriggerType>Update</recordTriggerType>",
            "<recordTrigerType>Update</recordTrigerType>",
            "recordTrigerType",
        ),
        (
            PERMISSIONS,
            "<name>ApiEnabled</name>",
            "<name>ApiEnabled</name><enable>true</enable>",
            "enable",
        ),
        (
            POLICIES,
            "<label>sfgw Gateway OAuth policies</label>",
            "<label>x</label><consumerSecret>s3cret</consumerSecret>",
            "consumerSecret",
        ),
    ],
    ids=["workflow", "field", "flow", "permission-set", "eca-policies"],
)
def test_a_misspelled_element_names_file_line_and_element(
    tmp_path: Path, relative: str, old: str, new: str, element: str
) -> None:
    path = copy_of(tmp_path, relative)
    edit(path, old, new)
    with pytest.raises(MetadataError) as caught:
        parse_metadata(path, display=relative)
    error = caught.value
    line = line_of(path, f"<{element}>")
    assert (error.path, error.line, error.element) == (relative, line, element)
    assert str(error).startswith(f"{relative}:{line}: element <{element}>: not expected here")


@pytest.mark.parametrize(
    ("relative", "old", "new", "element"),
    [
        (FIELD, "<type>Text</type>", "<type>Txt</type>", "type"),
        (
            FLOW,
            "<triggerType>RecordAfterSave</triggerType>",
            "<triggerType>RecordAfterSaved</triggerType>",
            "triggerType",
        ),
        (
            FLOW,
            "<processType>AutoLaunchedFlow</processType>",
            "<processType>AutolaunchedFlow</processType>",
            "processType",
        ),
        (
            FLOW,
            "<actionType>outboundMessage</actionType>",
            "<actionType>outboundMessages</actionType>",
            "actionType",
        ),
        (
            POLICIES,
            "<permittedUsersPolicyType>AdminApprovedPreAuthorized</permittedUsersPolicyType>",
            "<permittedUsersPolicyType>AdminApproved</permittedUsersPolicyType>",
            "permittedUsersPolicyType",
        ),
        (STATUS, "<restricted>true</restricted>", "<restricted>yes</restricted>", "restricted"),
    ],
    ids=["field-type", "trigger-type", "process-type", "action-type", "policy", "boolean"],
)
def test_a_value_outside_its_type_fails(
    tmp_path: Path, relative: str, old: str, new: str, element: str
) -> None:
    path = copy_of(tmp_path, relative)
    edit(path, old, new)
    bad = new.split(">", 1)[1].split("<", 1)[0]
    with pytest.raises(MetadataError) as caught:
        parse_metadata(path, display=relative)
    assert (caught.value.line, caught.value.element) == (line_of(path, new), element)
    assert repr(bad) in str(caught.value) or f"'{bad}'" in str(caught.value)


def test_element_order_is_the_schemas(tmp_path: Path) -> None:
    path = copy_of(tmp_path, FIELD)
    edit(path, "    <label>Order Number</label>\n", "")
    edit(path, "<unique>true</unique>", "<unique>true</unique>\n    <label>Order Number</label>")
    with pytest.raises(MetadataError) as caught:
        parse_metadata(path)
    assert caught.value.element == "label"
    assert caught.value.line == line_of(path, "<label>")


def test_a_required_element_may_not_be_left_out(tmp_path: Path) -> None:
    path = copy_of(tmp_path, WORKFLOW)
    text = path.read_text()
    path.write_text(text.replace("<includeSessionId>false</includeSessionId>", "", 1))
    with pytest.raises(MetadataError) as caught:
        parse_metadata(path)
    assert caught.value.element == "integrationUser"
    assert "expected fields, includeSessionId" in caught.value.problem


def test_the_root_must_be_the_type_the_suffix_names(tmp_path: Path) -> None:
    path = tmp_path / "Order_Number__c.field-meta.xml"
    path.write_bytes((DEFAULT / PERMISSIONS).read_bytes())
    with pytest.raises(MetadataError) as caught:
        parse_metadata(path)
    assert (caught.value.line, caught.value.element) == (2, "PermissionSet")
    assert "holds a <CustomField>" in str(caught.value)


def test_broken_xml_and_doctypes_are_refused_with_a_line(tmp_path: Path) -> None:
    path = copy_of(tmp_path, FIELD)
    edit(path, "<label>Order Number</label>", "<label>Order Number</labl>")
    with pytest.raises(MetadataError, match="not well-formed XML") as caught:
        parse_metadata(path)
    assert caught.value.line == line_of(path, "</labl>")
    doctype = b'<?xml version="1.0"?>\n<!DOCTYPE CustomField [<!ENTITY x "y">]>\n<CustomField/>'
    path.write_bytes(doctype)
    with pytest.raises(MetadataError, match="a DOCTYPE is not allowed"):
        parse_metadata(path)


def test_xsdata_alone_is_strict_too(tmp_path: Path) -> None:
    """The second pass does not rely on the first: bound without the schema check, an
    unknown element and a value outside an enumeration still fail, with the line."""
    path = copy_of(tmp_path, FIELD)
    kind = kind_of(path)
    assert kind is not None
    unknown = path.read_bytes().replace(b"<length>80</length>", b"<lenght>80</lenght>")
    with pytest.raises(MetadataError) as caught:
        bind_element(read_element(unknown, "f"), kind, "f")
    assert (caught.value.element, caught.value.line) == ("lenght", 8)
    wrong = path.read_bytes().replace(b"<type>Text</type>", b"<type>Txt</type>")
    with pytest.raises(MetadataError) as caught:
        bind_element(read_element(wrong, "f"), kind, "f")
    assert (caught.value.element, caught.value.line) == ("type", line_of(path, "<type>"))
    fine = path.read_bytes()
    validate_element(read_element(fine, "f"), kind, "f")
    assert bind_element(read_element(fine, "f"), kind, "f").length == 80
