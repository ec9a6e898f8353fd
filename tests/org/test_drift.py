"""The org bundle and the contracts must agree: ``org_drift`` says how they differ, one
line each, and ``sfgw bindings check`` fails on it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from gateway.config import ConfigError
from gateway.org.bundle import load_bundle
from gateway.org.drift import BundleLocation, bundle_location, check_org, erp_statuses, org_drift
from gateway.salesforce.settings import CallbackFields, callback_fields
from tests.org.conftest import ORG, ROOT, WORKFLOW, Checkout, edit

CONTRACTS = ROOT / "contracts"
DEFAULTS = CallbackFields(order_number="Order_Number__c", order_status="Order_Status__c")
FLOWS = "force-app/main/default/flows"


def drift(bundle_dir: Path, fields: CallbackFields = DEFAULTS) -> list[str]:
    return org_drift(load_bundle(bundle_dir), CONTRACTS, fields)


def test_the_repositorys_bundle_matches_its_contracts() -> None:
    assert drift(ORG) == []
    assert callback_fields({}) == DEFAULTS


def test_a_field_the_message_no_longer_sends(bundle_copy: Path) -> None:
    edit(bundle_copy / WORKFLOW, "        <fields>Amount</fields>\n", "")
    assert drift(bundle_copy) == [
        "opportunity_with_fields: field Amount is in the contract but outbound message "
        f"Sfgw_Opportunity_With_Fields ({WORKFLOW}) does not send it"
    ]


def test_a_field_the_contract_lacks(bundle_copy: Path) -> None:
    edit(
        bundle_copy / WORKFLOW,
        "<fields>Amount</fields>",
        "<fields>Amount</fields><fields>Probability</fields>",
    )
    assert drift(bundle_copy) == [
        f"opportunity_with_fields: outbound message Sfgw_Opportunity_With_Fields ({WORKFLOW}) "
        "sends field Probability, which the contract lacks"
    ]


def test_a_contract_without_an_outbound_message(bundle_copy: Path) -> None:
    edit(
        bundle_copy / WORKFLOW,
        "/salesforce/outbound/opportunity_id_only<",
        "/elsewhere/opportunity_id_only<",
    )
    assert drift(bundle_copy) == [
        "opportunity_id_only: no outbound message in the bundle posts to "
        "/salesforce/outbound/opportunity_id_only"
    ]


def test_a_message_to_a_route_without_a_contract(bundle_copy: Path) -> None:
    edit(bundle_copy / WORKFLOW, "/outbound/opportunity_id_only<", "/outbound/opportunity_ids<")
    lines = drift(bundle_copy)
    assert lines == [
        "opportunity_id_only: no outbound message in the bundle posts to "
        "/salesforce/outbound/opportunity_id_only",
        f"outbound message Sfgw_Opportunity_Id_Only ({WORKFLOW}) posts to "
        "/salesforce/outbound/opportunity_ids, but contracts/ has no contract opportunity_ids",
    ]


def test_callback_fields_must_be_fields_of_the_bundle() -> None:
    fields = callback_fields({"SFGW_ORDER_STATUS_FIELD": "ERP_Status__c"})
    assert drift(ORG, fields) == [
        "SFGW_ORDER_STATUS_FIELD=ERP_Status__c is not a field of Opportunity in the bundle "
        "(objects/Opportunity/fields/ERP_Status__c.field-meta.xml)"
    ]
    standard = callback_fields({"SFGW_ORDER_STATUS_FIELD": "NextStep"})
    assert drift(ORG, standard) == [], "a standard field is the org's own, not the bundle's"


def test_the_status_picklist_holds_every_erp_status(bundle_copy: Path) -> None:
    assert erp_statuses(CONTRACTS) == ("Created", "Confirmed", "OnHold", "Cancelled")
    status = (
        bundle_copy
        / "force-app/main/default/objects/Opportunity/fields/Order_Status__c.field-meta.xml"
    )
    text = status.read_text()
    start = text.index("            <value>\n                <fullName>OnHold")
    end = text.index("</value>", start) + len("</value>\n")
    status.write_text(text[:start] + text[end:])
    assert drift(bundle_copy) == [
        "Order_Status__c is a restricted picklist without the ERP status OnHold "
        "(erp/erp_orders.wsdl); Salesforce would refuse the callback that writes it"
    ]
    edit(status, "<restricted>true</restricted>", "<restricted>false</restricted>")
    assert drift(bundle_copy) == []


def test_where_the_bundle_is_looked_for(tmp_path: Path) -> None:
    contracts = tmp_path / "contracts"
    assert bundle_location(contracts, None, {}) == BundleLocation(tmp_path / "salesforce", False)
    assert bundle_location(contracts, None, {"SFGW_ORG_BUNDLE": "/x"}) == BundleLocation(
        Path("/x"), True
    )
    assert bundle_location(contracts, "/y", {"SFGW_ORG_BUNDLE": "/x"}).path == Path("/y")
    missing = check_org(BundleLocation(tmp_path / "salesforce", False), CONTRACTS, {})
    assert (missing.found, missing.clean) == (False, True)
    with pytest.raises(ConfigError, match="is not a directory"):
        check_org(BundleLocation(tmp_path / "nowhere", True), CONTRACTS, {})


def test_a_bundle_that_does_not_load_is_reported_as_such(bundle_copy: Path) -> None:
    edit(bundle_copy / WORKFLOW, "<fields>Amount</fields>", "<fieldz>Amount</fieldz>")
    result = check_org(BundleLocation(bundle_copy, True), CONTRACTS, {})
    assert not result.clean and result.differences == []
    assert result.load_error is not None
    assert result.load_error.startswith(f"{WORKFLOW}:") and "element <fieldz>" in result.load_error


def sfgw(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway.cli", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**{k: v for k, v in os.environ.items() if not k.startswith("SFGW_")}, **env},
    )


def test_bindings_check_fails_on_a_field_removed_and_passes_once_it_is_back(
    checkout: Checkout,
) -> None:
    workflow = checkout.bundle / WORKFLOW
    original = workflow.read_text()
    clean = sfgw("bindings", "check", env=checkout.env())
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert f"org bundle matches contracts/ ({checkout.bundle})" in clean.stdout

    edit(workflow, "        <fields>CloseDate</fields>\n", "")
    broken = sfgw("bindings", "check", env=checkout.env())
    assert broken.returncode == 1
    differences = [line.strip() for line in broken.stdout.splitlines() if line.startswith("  ")]
    assert differences == [
        "opportunity_with_fields: field CloseDate is in the contract but outbound message "
        f"Sfgw_Opportunity_With_Fields ({WORKFLOW}) does not send it"
    ]

    edit(workflow, "<fields>Amount</fields>", "<fieldz>Amount</fieldz>")
    unreadable = sfgw("bindings", "check", env=checkout.env())
    assert unreadable.returncode == 1
    assert f"org bundle ({checkout.bundle}) does not load" in unreadable.stdout
    assert f"{WORKFLOW}:" in unreadable.stdout and "element <fieldz>" in unreadable.stdout

    workflow.write_text(original)
    assert sfgw("bindings", "check", env=checkout.env()).returncode == 0


def test_bindings_check_without_a_bundle_says_so_and_passes(checkout: Checkout) -> None:
    moved = checkout.root / "org-elsewhere"
    checkout.bundle.rename(moved)
    result = sfgw("bindings", "check", env=checkout.env())
    assert result.returncode == 0, result.stdout + result.stderr
    [note] = [line for line in result.stdout.splitlines() if "org bundle" in line]
    assert note.startswith(f"no org bundle at {checkout.bundle}: org not checked")

    explicit = sfgw("bindings", "check", "--bundle", str(moved), env=checkout.env())
    assert explicit.returncode == 0, explicit.stdout + explicit.stderr
    assert f"org bundle matches contracts/ ({moved})" in explicit.stdout

    wrong = sfgw(
        "bindings", "check", env={**checkout.env(), "SFGW_ORG_BUNDLE": str(checkout.bundle)}
    )
    assert wrong.returncode == 1
    assert len(wrong.stderr.strip().splitlines()) == 1
    assert "SFGW_ORG_BUNDLE" in wrong.stderr
