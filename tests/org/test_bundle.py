"""``load_bundle``: the facts the gateway and the mock org need, typed; references between
components checked; ``sfdx-project.json`` read as strictly as the XML."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gateway.bindings.shape import read_outbound_shape
from gateway.org.bundle import load_bundle
from gateway.org.errors import BundleError
from gateway.org.project import load_project
from tests.org.conftest import ORG, ROOT, WORKFLOW, edit

WON = "AND(ISCHANGED({!$Record.StageName}), {!$Record.IsWon})"
FLOWS = "force-app/main/default/flows"


def test_the_repositorys_bundle_loads_with_nothing_skipped() -> None:
    bundle = load_bundle(ORG)
    assert bundle.skipped == ()
    assert len(bundle.files) == len(list(ORG.joinpath("force-app").rglob("*-meta.xml")))
    assert bundle.project.source_api_version == "62.0"
    assert [d.path for d in bundle.project.package_directories] == ["force-app"]


def test_one_outbound_message_per_opportunity_contract_with_its_fields() -> None:
    bundle = load_bundle(ORG)
    for name in ("opportunity_id_only", "opportunity_with_fields"):
        [message] = bundle.messages_for_route(name)
        shape = read_outbound_shape(ROOT / "contracts" / "salesforce" / f"{name}.wsdl")
        assert message.object == shape.object_name == "Opportunity"
        assert set(message.fields) == {"Id", *(spec.name for spec in shape.fields)}
        assert message.endpoint_url == f"https://gateway.example.com/salesforce/outbound/{name}"
        assert message.include_session_id is False
    assert len(bundle.outbound_messages) == 2


def test_each_message_is_sent_only_when_the_stage_changes_to_won() -> None:
    bundle = load_bundle(ORG)
    for message in bundle.outbound_messages:
        [flow] = bundle.flows_sending(message)
        assert flow.active
        assert (flow.object, flow.trigger_type, flow.record_trigger_type) == (
            "Opportunity",
            "RecordAfterSave",
            "Update",
        )
        assert flow.filter_formula == WON
        assert flow.outbound_messages == (message.action_name,)


def test_the_order_fields_and_what_they_accept() -> None:
    bundle = load_bundle(ORG)
    number = bundle.field("Opportunity", "Order_Number__c")
    assert number is not None
    assert (number.type, number.length, number.unique, number.external_id) == (
        "Text",
        80,
        True,
        True,
    )
    status = bundle.field("Opportunity", "Order_Status__c")
    assert status is not None
    assert (status.type, status.restricted) == ("Picklist", True)
    assert status.picklist_values == ("Created", "Confirmed", "OnHold", "Cancelled")


def test_the_permission_set_grants_what_the_integration_user_needs() -> None:
    bundle = load_bundle(ORG)
    [permissions] = bundle.permission_sets
    assert permissions.user_permissions == ("ApiEnabled",)
    assert "SendOutboundMessages" not in permissions.user_permissions
    assert permissions.readable_objects == permissions.editable_objects == ("Opportunity",)
    assert permissions.editable_fields == (
        "Opportunity.Order_Number__c",
        "Opportunity.Order_Status__c",
    )
    callbacks = {name for name in bundle.apex_classes if not name.endswith("Test")}
    assert (
        set(permissions.apex_classes)
        == callbacks
        == {
            "SfgwOrderRestResource",
            "SfgwOrderService",
            "SfgwOrderUpdates",
        }
    )


def test_the_external_client_app_holds_no_secret() -> None:
    bundle = load_bundle(ORG)
    [app] = bundle.external_client_apps
    assert app.oauth_scopes == ("Api",)
    assert app.permitted_users == "AdminApprovedPreAuthorized"
    assert app.permission_sets == ("Sfgw_Integration",)
    assert app.client_credentials_user is None
    assert not list(ORG.rglob("*.ecaGlblOauth-meta.xml"))
    for path in ORG.joinpath("force-app").rglob("*-meta.xml"):
        text = path.read_text()
        for secret in ("consumerKey", "consumerSecret", "<certificate"):
            assert secret not in text, f"{path} holds {secret}"


def test_a_flow_that_sends_an_unknown_message_is_refused(bundle_copy: Path) -> None:
    flow = bundle_copy / FLOWS / "Sfgw_Send_Opportunity_Id_Only.flow-meta.xml"
    text = flow.read_text().replace("Sfgw_Opportunity_Id_Only<", "Sfgw_Opportunity_Id_Olny<")
    flow.write_text(text)
    with pytest.raises(
        BundleError, match=r"sends outbound message Opportunity\.Sfgw_Opportunity_Id_Olny"
    ):
        load_bundle(bundle_copy)


def test_a_permission_on_a_missing_field_is_refused(bundle_copy: Path) -> None:
    edit(
        bundle_copy
        / "force-app/main/default/permissionsets/Sfgw_Integration.permissionset-meta.xml",
        "Opportunity.Order_Status__c",
        "Opportunity.Order_State__c",
    )
    with pytest.raises(BundleError, match=r"field Opportunity\.Order_State__c is not a field"):
        load_bundle(bundle_copy)


def test_a_field_file_must_be_named_after_its_full_name(bundle_copy: Path) -> None:
    fields = bundle_copy / "force-app/main/default/objects/Opportunity/fields"
    (fields / "Order_Number__c.field-meta.xml").rename(fields / "Order_No__c.field-meta.xml")
    with pytest.raises(BundleError, match="fullName 'Order_Number__c' must match"):
        load_bundle(bundle_copy)


def test_a_broken_file_is_named_relative_to_the_bundle(bundle_copy: Path) -> None:
    edit(bundle_copy / WORKFLOW, "<fields>Amount</fields>", "<fields>Amount</fields><x/>")
    with pytest.raises(BundleError) as caught:
        load_bundle(bundle_copy)
    assert str(caught.value).startswith(f"{WORKFLOW}:")


def test_other_metadata_types_are_listed_not_read(bundle_copy: Path) -> None:
    layout = bundle_copy / "force-app/main/default/layouts/Opportunity-Layout.layout-meta.xml"
    layout.parent.mkdir()
    layout.write_text("<Layout/>")
    bundle = load_bundle(bundle_copy)
    assert bundle.skipped == ("force-app/main/default/layouts/Opportunity-Layout.layout-meta.xml",)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"packageDirectory": []}, "unknown key 'packageDirectory'"),
        ({"packageDirectories": []}, "must list at least one folder"),
        ({"packageDirectories": [{"path": "src"}]}, "package directory 'src' does not exist"),
        ({"packageDirectories": [{"path": "../elsewhere"}]}, "must be a folder inside"),
        ({"sourceApiVersion": "62"}, "must look like 62.0"),
        ({"sourceApiVersion": 62.0}, '"sourceApiVersion" must be a string'),
    ],
)
def test_sfdx_project_json_is_checked(
    bundle_copy: Path, change: dict[str, object], message: str
) -> None:
    project = bundle_copy / "sfdx-project.json"
    data = json.loads(project.read_text())
    data.update(change)
    project.write_text(json.dumps(data))
    with pytest.raises(BundleError, match=message):
        load_project(bundle_copy)


def test_a_folder_without_sfdx_project_json_is_no_bundle(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match=r"no sfdx-project\.json"):
        load_bundle(tmp_path)
