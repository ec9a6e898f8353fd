"""`sfgw bindings diff`: the pure classification and the CLI around it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.bindings.diff import BREAKING, COMPATIBLE, diff_shapes
from gateway.bindings.shape import read_outbound_shape_bytes
from tests.bindings.conftest import sfgw
from tests.bindings.corpus import FIELD_TYPES, outbound_wsdl

BASE = (
    ("AccountId", "ent:ID"),
    ("Amount", "xsd:double"),
    ("CloseDate", "xsd:date"),
    ("Name", "xsd:string"),
)


def shape(wsdl: str):  # type: ignore[no-untyped-def]
    return read_outbound_shape_bytes(wsdl.encode())


def kinds(old: str, new: str) -> list[tuple[str, str, str]]:
    return [(c.kind, c.subject, c.severity) for c in diff_shapes(shape(old), shape(new))]


OLD = outbound_wsdl("Opportunity", BASE)


def test_identical_contracts_have_no_changes() -> None:
    assert kinds(OLD, outbound_wsdl("Opportunity", BASE)) == []


def test_added_optional_field_is_compatible() -> None:
    new = outbound_wsdl("Opportunity", (*BASE, ("Probability", "xsd:double")))
    assert kinds(OLD, new) == [("field added", "Probability", COMPATIBLE)]


def test_added_required_field_is_breaking() -> None:
    new = outbound_wsdl("Opportunity", (*BASE, ("Probability", "xsd:double"))).replace(
        '<element name="Probability" nillable="true" minOccurs="0"',
        '<element name="Probability" nillable="true"',
    )
    assert kinds(OLD, new) == [("field added", "Probability", BREAKING)]


def test_removed_field_is_breaking() -> None:
    new = outbound_wsdl("Opportunity", BASE[1:])
    assert kinds(OLD, new) == [("field removed", "AccountId", BREAKING)]


def test_retyped_field_is_breaking() -> None:
    new = outbound_wsdl("Opportunity", (*BASE[:1], ("Amount", "xsd:string"), *BASE[2:]))
    changes = diff_shapes(shape(OLD), shape(new))
    assert [(c.kind, c.subject, c.old, c.new, c.severity) for c in changes] == [
        ("field retyped", "Amount", "double", "string", BREAKING)
    ]


def test_field_made_required_or_not_nillable_is_breaking_and_the_reverse_is_not() -> None:
    required = OLD.replace(
        '<element name="Name" nillable="true" minOccurs="0"', '<element name="Name"'
    )
    assert kinds(OLD, required) == [
        ("field made required", "Name", BREAKING),
        ("field no longer nillable", "Name", BREAKING),
    ]
    assert kinds(required, OLD) == [
        ("field made optional", "Name", COMPATIBLE),
        ("field made nillable", "Name", COMPATIBLE),
    ]


def test_object_rename_renames_the_notification_type_too_and_is_breaking() -> None:
    new = outbound_wsdl("Opportunity__c", BASE)
    assert kinds(OLD, new) == [
        ("object renamed", "sObject type", BREAKING),
        ("notification type renamed", "Notification type", BREAKING),
    ]


def test_max_occurs_change() -> None:
    fewer = outbound_wsdl("Opportunity", BASE, max_notifications="10")
    assert kinds(OLD, fewer) == [("maxOccurs changed", "Notification", BREAKING)]
    assert kinds(fewer, OLD) == [("maxOccurs changed", "Notification", COMPATIBLE)]


@pytest.fixture
def wsdls(tmp_path: Path) -> dict[str, Path]:
    files = {
        "old": OLD,
        "same": outbound_wsdl("Opportunity", BASE),
        "added": outbound_wsdl("Opportunity", (*BASE, ("IsWon", "xsd:boolean"))),
        "breaking": outbound_wsdl(
            "Opportunity", (("Amount", "xsd:string"), ("IsWon", "xsd:boolean"), *BASE[2:])
        ),
        "erp": (Path(__file__).parents[2] / "contracts/erp/erp_orders.wsdl").read_text(),
        "broken": OLD[:500],
    }
    for name, text in files.items():
        (tmp_path / f"{name}.wsdl").write_text(text)
    return {name: tmp_path / f"{name}.wsdl" for name in files}


def test_cli_identical_says_no_changes(wsdls: dict[str, Path]) -> None:
    result = sfgw("bindings", "diff", str(wsdls["old"]), str(wsdls["same"]))
    assert result.returncode == 0
    assert result.stdout.strip().splitlines() == [
        "record type: Opportunity",
        "no changes: regeneration will produce the same bindings",
    ]


def test_cli_compatible_prints_a_table_and_exits_0(wsdls: dict[str, Path]) -> None:
    result = sfgw("bindings", "diff", str(wsdls["old"]), str(wsdls["added"]))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "record type: Opportunity"
    assert lines[1].split() == ["change", "subject", "old", "new", "class"]
    assert lines[3].split() == [
        "field",
        "added",
        "IsWon",
        "boolean",
        "(optional,",
        "nillable)",
        "compatible",
    ]
    assert lines[-1].startswith("compatible: regeneration will change the bindings")
    assert "field added: 1" in lines[-1]


def test_cli_breaking_exits_3(wsdls: dict[str, Path]) -> None:
    result = sfgw("bindings", "diff", str(wsdls["old"]), str(wsdls["breaking"]))
    assert result.returncode == 3, result.stdout + result.stderr
    assert "field retyped" in result.stdout
    assert "field removed" in result.stdout
    assert result.stdout.splitlines()[-1].startswith("BREAKING (2 of 3 changes)")


def test_cli_json(wsdls: dict[str, Path]) -> None:
    result = sfgw("bindings", "diff", "--json", str(wsdls["old"]), str(wsdls["breaking"]))
    assert result.returncode == 3
    report = json.loads(result.stdout)
    assert report["breaking"] is True
    assert {(c["kind"], c["subject"], c["severity"]) for c in report["changes"]} == {
        ("field retyped", "Amount", "breaking"),
        ("field added", "IsWon", "compatible"),
        ("field removed", "AccountId", "breaking"),
    }


def test_a_renamed_custom_object_is_named_by_xml_name_and_python_class(tmp_path: Path) -> None:
    old, new = tmp_path / "old.wsdl", tmp_path / "new.wsdl"
    old.write_text(outbound_wsdl("Shipment__c", BASE))
    new.write_text(outbound_wsdl("acme__Shipment__c", BASE))
    result = sfgw("bindings", "diff", str(old), str(new))
    assert result.returncode == 3, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "record type: Shipment__c / ShipmentC -> acme__Shipment__c / AcmeShipmentC"
    renamed = next(line for line in lines if line.startswith("object renamed"))
    assert renamed.split()[4:10] == [
        "Shipment__c",
        "/",
        "ShipmentC",
        "acme__Shipment__c",
        "/",
        "AcmeShipmentC",
    ]
    assert "class Shipment__c / ShipmentC becomes acme__Shipment__c / AcmeShipmentC" in lines[-1]
    report = json.loads(sfgw("bindings", "diff", "--json", str(old), str(new)).stdout)
    assert report["record_type"] == {
        "old": {"xml": "Shipment__c", "class": "ShipmentC"},
        "new": {"xml": "acme__Shipment__c", "class": "AcmeShipmentC"},
    }


def test_a_class_name_xsdata_had_to_change_is_reported_as_generated(tmp_path: Path) -> None:
    """An object type called ``notifications`` clashes with the ``notifications`` element:
    xsdata renames one class, and the diff reports the name it really generates."""
    old, new = tmp_path / "old.wsdl", tmp_path / "new.wsdl"
    old.write_text(outbound_wsdl("Notifications__c", BASE))
    new.write_text(outbound_wsdl("notifications", BASE))
    result = sfgw("bindings", "diff", str(old), str(new))
    assert result.stdout.splitlines()[0] == (
        "record type: Notifications__c / NotificationsC -> notifications / Notifications1"
    )


@pytest.mark.parametrize(
    ("which", "message"),
    [
        ("missing", "cannot read"),
        ("erp", "not a Salesforce outbound-message WSDL"),
        ("broken", "not well-formed XML"),
    ],
)
def test_cli_unreadable_or_foreign_file_is_one_line_exit_1(
    wsdls: dict[str, Path], which: str, message: str
) -> None:
    path = wsdls.get(which, wsdls["old"].with_name("missing.wsdl"))
    result = sfgw("bindings", "diff", str(wsdls["old"]), str(path))
    assert result.returncode == 1
    assert result.stdout == ""
    [line] = result.stderr.strip().splitlines()
    assert message in line
    assert str(path) in line


def test_the_documented_example(tmp_path: Path, repo_root: Path) -> None:
    """docs/bindings.md shows this exact output for a new Probability field."""
    old = repo_root / "contracts/salesforce/opportunity_with_fields.wsdl"
    new = tmp_path / "opportunity_with_fields.wsdl"
    new.write_text(
        old.read_text().replace(
            '<element name="StageName"',
            '<element name="Probability" nillable="true" minOccurs="0" type="xsd:double"/>\n'
            '                    <element name="StageName"',
        )
    )
    result = sfgw("bindings", "diff", str(old), str(new))
    assert result.returncode == 0
    docs = (repo_root / "docs/bindings.md").read_text()
    table = "\n".join(line.strip() for line in result.stdout.strip().splitlines())
    documented = "\n".join(line.strip() for line in docs.splitlines())
    assert table in documented


_names = st.from_regex(r"[A-Z][A-Za-z0-9]{0,8}(__c)?", fullmatch=True)
_fields = st.dictionaries(_names, st.sampled_from(FIELD_TYPES), max_size=12).map(
    lambda d: tuple(d.items())
)


@settings(deadline=None, max_examples=40)
@given(_fields, _fields)
def test_diff_properties(
    old_fields: tuple[tuple[str, str], ...], extra: tuple[tuple[str, str], ...]
) -> None:
    old = shape(outbound_wsdl("Thing__c", old_fields))
    assert diff_shapes(old, old) == []
    # adding only new optional fields is always compatible, and reported field by field
    added = tuple((n, t) for n, t in extra if n not in dict(old_fields))
    new = shape(outbound_wsdl("Thing__c", old_fields + added))
    changes = diff_shapes(old, new)
    assert {c.subject for c in changes} == {n for n, _ in added}
    assert all(c.kind == "field added" and not c.breaking for c in changes)
    # and the way back removes them: breaking exactly when something was added
    back = diff_shapes(new, old)
    assert all(c.kind == "field removed" and c.breaking for c in back)
    assert len(back) == len(added)
