"""The mock org runs on the org bundle: what its outbound messages post and carry, when
its flows send them, what its fields accept and whether its Apex classes exist all come
from the SFDX files, so an edit to a copy of the bundle changes what the org does.

Pure checks of the formula subset and the bundle's reading first; then real orgs
(``sfgw salesforce serve``) on the repository's bundle and on edited copies, sending to a
listener that acks everything.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import pytest
import requests

from devstack.mocks import RunningSalesforce, start_mock_salesforce
from gateway.config import ConfigError
from gateway.namespaces import PARTNER, PARTNER_SOBJECT, SOAP11_ENVELOPE
from gateway.soap import parse_envelope
from mock_salesforce import deployment, formula
from mock_salesforce.deployment import DEFAULT_BUNDLE, DeploymentError
from mock_salesforce.settings import SalesforceSettings
from mock_salesforce.triggers import Trigger

from .conftest import Listener
from .test_delivery import record_ids, wait_for

FLOWS = "force-app/main/default/flows"
WITH_FIELDS_FLOW = f"{FLOWS}/Sfgw_Send_Opportunity_With_Fields.flow-meta.xml"
ID_ONLY_FLOW = f"{FLOWS}/Sfgw_Send_Opportunity_Id_Only.flow-meta.xml"
WON = "AND(ISCHANGED({!$Record.StageName}), {!$Record.IsWon})"


def bundle_copy(tmp_path: Path, edits: dict[str, Callable[[str], str]]) -> Path:
    """A copy of the repository's bundle with ``edits`` ({file: text -> text}) applied."""
    root = tmp_path / "bundle"
    shutil.copytree(DEFAULT_BUNDLE, root, ignore=shutil.ignore_patterns("node_modules"))
    for name, edit in edits.items():
        path = root / name
        before = path.read_text()
        after = edit(before)
        assert after != before, f"the edit of {name} changed nothing"
        path.write_text(after)
    return root


def formula_is(text: str) -> Callable[[str], str]:
    return lambda xml: xml.replace(f"<filterFormula>{WON}</filterFormula>",
                                   f"<filterFormula>{text}</filterFormula>")  # fmt: skip


def trigger_type_is(kind: str) -> Callable[[str], str]:
    return lambda xml: xml.replace(
        "<recordTriggerType>Update</recordTriggerType>",
        f"<recordTriggerType>{kind}</recordTriggerType>",
    )


def both(*edits: Callable[[str], str]) -> Callable[[str], str]:
    def edit(text: str) -> str:
        for one in edits:
            text = one(text)
        return text

    return edit


# -- the formula subset (pure) ----------------------------------------------------------

TYPES = {
    "StageName": ("string", "picklist"),
    "IsWon": ("boolean", "boolean"),
    "Amount": ("number", "currency"),
    "Name": ("string", "string"),
}


def checked(text: str, on_create: bool = False) -> formula.Formula:
    return formula.check(text, TYPES.get, on_create)


@pytest.mark.parametrize(
    ("text", "before", "after", "holds"),
    [
        (WON, {"StageName": "Prospecting", "IsWon": False},
         {"StageName": "Closed Won", "IsWon": True}, True),
        (WON, {"StageName": "Closed Won", "IsWon": True},
         {"StageName": "Closed Won", "IsWon": True}, False),
        ("AND(ISCHANGED({!$Record.StageName}), {!$Record.IsWon}, false)",
         {"StageName": "Prospecting"}, {"StageName": "Closed Won", "IsWon": True}, False),
        ("OR(ISPICKVAL({!$Record.StageName}, 'Closed Won'), {!$Record.Amount} >= 1000)",
         None, {"StageName": "Prospecting", "Amount": 1000.0}, True),
        ("NOT(ISPICKVAL({!$Record.StageName}, 'closed won'))",
         None, {"StageName": "Closed Won"}, True),  # formulas compare text case-sensitively
        ("{!$Record.Amount} > 5", None, {"Amount": None}, False),
        ("{!$Record.Name} <> 'x'", None, {"Name": "y"}, True),
        ("{!$Record.IsWon} = TRUE", None, {"IsWon": True}, True),
    ],
)  # fmt: skip
def test_the_formula_subset_evaluates_as_salesforce_does(
    text: str, before: dict[str, Any] | None, after: dict[str, Any], holds: bool
) -> None:
    assert checked(text).holds(before, after) is holds


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("PRIORVALUE({!$Record.StageName}) = 'x'", "PRIORVALUE"),
        ("{!$User.Id} = 'x'", "{!$User.Id}"),
        ("{!$Record.Account.Name} = 'x'", "{!$Record.Account.Name}"),
        ("{!$Record.StageName} = 'Closed Won'", "picklist"),
        ("{!$Record.IsWon} && {!$Record.IsWon}", "'&&'"),
        ("{!$Record.Nope__c}", "no such field"),
        ("{!$Record.Amount}", "condition"),
        ("{!$Record.Amount} > 'x'", "cannot compare"),
        ("ISCHANGED({!$Record.StageName})", "created"),
    ],
)
def test_a_construct_outside_the_subset_is_refused_by_name(text: str, named: str) -> None:
    with pytest.raises(formula.FormulaError, match=re.escape(named)):
        checked(text, on_create="ISCHANGED" in text)


def test_a_trigger_runs_on_its_record_trigger_type_only() -> None:
    record = {"StageName": "Closed Won", "IsWon": True}
    create = Trigger("f", "Create", "{!$Record.IsWon}")
    update = Trigger("f", "Update", "{!$Record.IsWon}")
    both_ways = Trigger("f", "CreateAndUpdate", "{!$Record.IsWon}")
    assert [t.fires(None, record) for t in (create, update, both_ways)] == [True, False, True]
    assert [t.fires(record, record) for t in (create, update, both_ways)] == [False, True, True]
    changed = Trigger("f", "Update", "{!$Record.IsWon}", requires_change=True)
    assert not changed.fires(record, record)  # met the condition before the save already
    assert changed.fires({"IsWon": False}, record)


# -- reading the bundle (pure) ----------------------------------------------------------


def test_the_repository_bundle_as_the_mock_org_runs_it() -> None:
    deployed = deployment.load(DEFAULT_BUNDLE)
    by_contract = {m.contract: m for m in deployed.messages}
    assert sorted(by_contract) == ["opportunity_id_only", "opportunity_with_fields"]
    with_fields = by_contract["opportunity_with_fields"]
    assert with_fields.path == "/salesforce/outbound/opportunity_with_fields"
    assert "Order_Number__c" in with_fields.fields and not with_fields.include_session_id
    assert with_fields.triggers == (
        Trigger("Sfgw_Send_Opportunity_With_Fields", "Update", WON, False),
    )
    definition = with_fields.definition("http://gw.test:8000/", False)
    assert definition["endpoint_url"] == (
        "http://gw.test:8000/salesforce/outbound/opportunity_with_fields"
    )
    order_number = deployed.schema.field("order_number__c")
    assert order_number is not None
    assert (order_number.unique, order_number.external_id, order_number.length) == (True, True, 80)
    status = deployed.schema.field("Order_Status__c")
    assert status is not None and status.restricted and "Created" in status.picklist
    assert deployed.apex_deployed


def test_contracts_choose_among_the_bundles_messages(tmp_path: Path) -> None:
    deployed = deployment.load(DEFAULT_BUNDLE)
    assert [m.contract for m in deployed.chosen(["opportunity_id_only"])] == ["opportunity_id_only"]
    assert len(deployed.chosen(["*"])) == 2
    message = r"shipment: no outbound message .* post to: opportunity_id_only, opportunity_with"
    with pytest.raises(DeploymentError, match=message):
        deployed.chosen(["shipment"])
    with pytest.raises(ConfigError, match="SFGW_MOCKSF_BUNDLE"):
        SalesforceSettings.from_env({"SFGW_MOCKSF_BUNDLE": str(tmp_path)})


def test_an_unsupported_flow_condition_stops_the_load_naming_it(tmp_path: Path) -> None:
    root = bundle_copy(
        tmp_path, {WITH_FIELDS_FLOW: formula_is("PRIORVALUE({!$Record.Amount}) > 0")}
    )
    with pytest.raises(DeploymentError, match=r"Sfgw_Send_Opportunity_With_Fields.*PRIORVALUE"):
        deployment.load(root)


def test_serve_refuses_such_a_bundle_in_one_line_naming_the_file(tmp_path: Path) -> None:
    root = bundle_copy(tmp_path, {WITH_FIELDS_FLOW: formula_is("{!$User.Id} = 'x'")})
    done = subprocess.run(
        [sys.executable, "-m", "gateway.cli", "salesforce", "serve", "--bundle", str(root),
         "--db", str(tmp_path / "org.sqlite3"), "--bind", "127.0.0.1:1", "--no-sender"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    [line] = done.stderr.strip().splitlines()
    assert line.startswith(f"sfgw: error: SFGW_MOCKSF_BUNDLE={root}: ")
    assert "Sfgw_Send_Opportunity_With_Fields.flow-meta.xml" in line and "{!$User.Id}" in line


def test_ischanged_in_a_flow_that_runs_on_create_stops_the_load(tmp_path: Path) -> None:
    root = bundle_copy(tmp_path, {ID_ONLY_FLOW: trigger_type_is("CreateAndUpdate")})
    with pytest.raises(DeploymentError, match="ISCHANGED is not allowed"):
        deployment.load(root)


def test_without_the_apex_classes_the_org_has_no_apex_endpoints(tmp_path: Path) -> None:
    root = bundle_copy(tmp_path, {})
    for path in (root / "force-app/main/default/classes").glob("SfgwOrderService.cls*"):
        path.unlink()
    permission_set = (
        root / "force-app/main/default/permissionsets/Sfgw_Integration.permissionset-meta.xml"
    )
    text = permission_set.read_text()
    permission_set.write_text(
        re.sub(
            r"\s*<classAccesses>\s*<apexClass>SfgwOrderService</apexClass>.*?</classAccesses>",
            "",
            text,
            flags=re.DOTALL,
        )
    )
    assert not deployment.load(root).apex_deployed


# -- real orgs on the bundle and on edited copies ---------------------------------------


def run_org(workdir: Path, listener: Listener, bundle: Path | None) -> RunningSalesforce:
    """An org on ``bundle`` (None: the repository's) sending every message of it to the
    listener's ``ack`` path."""
    return start_mock_salesforce(
        workdir, gateway_url=f"{listener.url}/ack", contract="*", time_scale=1000.0, bundle=bundle
    )


def received(listener: Listener, contract: str) -> list[str]:
    """The record ids the listener got on ``contract``'s route."""
    return [
        oid
        for r in listener.of("ack")
        if r.path.endswith(f"/salesforce/outbound/{contract}")
        for oid in record_ids(r.body)
    ]


def test_the_repository_bundle_sends_both_messages_for_each_win(
    tmp_path: Path, listener: Listener
) -> None:
    sf = run_org(tmp_path, listener, None)
    try:
        ids = sf.close_won(4)
        assert sf.queued_notifications() == 8
        wait_for(lambda: set(ids) <= set(received(listener, "opportunity_id_only")), 30, "id only")
        wait_for(
            lambda: set(ids) <= set(received(listener, "opportunity_with_fields")), 30, "fields"
        )
        # The callback's own write does not run the flows again (ISCHANGED(StageName)).
        sf.update_opportunity(ids[0], Order_Number__c="SO-1", Order_Status__c="Created")
        assert sf.queued_notifications() == 8
    finally:
        sf.stop()


@pytest.mark.parametrize(
    ("silenced", "edit", "kept"),
    [
        ("opportunity_with_fields",
         formula_is("AND(ISCHANGED({!$Record.StageName}), {!$Record.IsWon}, false)"),
         "opportunity_id_only"),
        ("opportunity_id_only",
         formula_is("AND(ISCHANGED({!$Record.StageName}), {!$Record.Amount} > 1000000000)"),
         "opportunity_with_fields"),
    ],
)  # fmt: skip
def test_a_flow_condition_never_true_in_the_bundle_sends_nothing(
    tmp_path: Path, listener: Listener, silenced: str, edit: Callable[[str], str], kept: str
) -> None:
    flow = WITH_FIELDS_FLOW if silenced == "opportunity_with_fields" else ID_ONLY_FLOW
    sf = run_org(tmp_path, listener, bundle_copy(tmp_path, {flow: edit}))
    try:
        ids = sf.close_won(4)
        # Only the unchanged flow queued anything; once its messages are delivered, the
        # other route has had every chance and got nothing.
        assert sf.queued_notifications() == 4
        wait_for(lambda: set(ids) <= set(received(listener, kept)), 30, f"{kept} delivered")
        assert not set(ids) & set(received(listener, silenced))
        assert {d["definition"] for d in sf.deliveries(include_delivered=True)} == {
            m.name for m in deployment.load(DEFAULT_BUNDLE).messages if m.contract == kept
        }
    finally:
        sf.stop()


def test_a_flow_on_create_sends_when_records_are_created(
    tmp_path: Path, listener: Listener
) -> None:
    edit = both(trigger_type_is("Create"), formula_is("{!$Record.Amount} > 0"))
    sf = run_org(tmp_path, listener, bundle_copy(tmp_path, {WITH_FIELDS_FLOW: edit}))
    try:
        created = sf.create_opportunities(3)
        assert sf.queued_notifications() == 3  # the with-fields flow, on create
        wait_for(lambda: set(created) <= set(received(listener, "opportunity_with_fields")),
                 30, "created records sent")  # fmt: skip
        won = sf.close_won(2)  # existing open records: updates, so only the id-only flow
        assert sf.queued_notifications() == 5
        wait_for(lambda: set(won) <= set(received(listener, "opportunity_id_only")), 30, "won")
        assert sorted(received(listener, "opportunity_with_fields")) == sorted(created)
    finally:
        sf.stop()


# -- the field files' rules, in every API that saves ------------------------------------


@pytest.fixture(scope="module")
def org(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSalesforce]:
    running = start_mock_salesforce(tmp_path_factory.mktemp("sf_rules"), gateway_url=None)
    try:
        yield running
    finally:
        running.stop()


def saved_by(  # noqa: PLR0911 - one return per API and outcome
    api: str, sf: RunningSalesforce, oid: str, values: dict[str, str]
) -> tuple[str, str]:
    """(statusCode or errorCode, message) of saving ``values`` onto ``oid`` through
    ``api``, or ("OK", "") when it saved."""
    token = sf.client_credentials_token()
    headers = {"Authorization": f"Bearer {token}"}
    base = f"{sf.url}/services/data/v62.0"
    if api == "rest":
        reply = requests.patch(f"{base}/sobjects/Opportunity/{oid}", json=values,
                               headers=headers, timeout=30)  # fmt: skip
        if reply.status_code == 204:
            return "OK", ""
        error = reply.json()[0]
        return error["errorCode"], error["message"]
    if api == "collections":
        body = {"records": [{"attributes": {"type": "Opportunity"}, "id": oid, **values}]}
        [result] = requests.patch(f"{base}/composite/sobjects", json=body, headers=headers,
                                  timeout=30).json()  # fmt: skip
        if result["success"]:
            return "OK", ""
        return result["errors"][0]["statusCode"], result["errors"][0]["message"]
    if api == "apex_rest":
        update = {"opportunityId": oid, "orderNumber": values.get("Order_Number__c"),
                  "orderStatus": values.get("Order_Status__c")}  # fmt: skip
        apex = f"{sf.url}/services/apexrest/sfgw/orders"
        [result] = requests.post(
            apex, json={"updates": [update]}, headers=headers, timeout=30
        ).json()
        return ("OK", "") if result["success"] else (result["statusCode"], result["message"])
    fields = "".join(f"<s:{k}>{escape(v)}</s:{k}>" for k, v in values.items())
    body = (
        f'<soapenv:Envelope xmlns:soapenv="{SOAP11_ENVELOPE}" xmlns:p="{PARTNER}" '
        f'xmlns:s="{PARTNER_SOBJECT}"><soapenv:Header><p:SessionHeader>'
        f"<p:sessionId>{escape(token)}</p:sessionId></p:SessionHeader></soapenv:Header>"
        f"<soapenv:Body><p:update><p:sObjects><s:type>Opportunity</s:type><s:Id>{oid}</s:Id>"
        f"{fields}</p:sObjects></p:update></soapenv:Body></soapenv:Envelope>"
    )
    soap_headers = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '""'}
    reply = requests.post(
        f"{sf.url}/services/Soap/u/62.0", data=body.encode(), timeout=30, headers=soap_headers
    )
    result = parse_envelope(reply.content).payload.find(f"{{{PARTNER}}}result")
    assert result is not None, reply.text
    if result.findtext(f"{{{PARTNER}}}success") == "true":
        return "OK", ""
    return (result.findtext(f"{{{PARTNER}}}errors/{{{PARTNER}}}statusCode") or "",
            result.findtext(f"{{{PARTNER}}}errors/{{{PARTNER}}}message") or "")  # fmt: skip


APIS = ("rest", "collections", "soap", "apex_rest")


@pytest.mark.parametrize("api", APIS)
def test_a_second_record_with_an_order_number_gets_duplicate_value(
    org: RunningSalesforce, api: str
) -> None:
    first, second = org.create_opportunities(2)
    number = f"SO-{api}-1"
    assert saved_by(api, org, first, {"Order_Number__c": number, "Order_Status__c": "Created"}) == (
        "OK",
        "",
    )
    code, message = saved_by(
        api, org, second, {"Order_Number__c": number.lower(), "Order_Status__c": "Created"}
    )  # the field is not case-sensitive: "so-..." duplicates "SO-..."
    assert code == "DUPLICATE_VALUE"
    assert message == (
        f"duplicate value found: Order_Number__c duplicates value on record with id: {first[:15]}"
    )
    # The record keeps its own number: saving it again is no duplicate.
    assert (
        saved_by(api, org, first, {"Order_Number__c": number, "Order_Status__c": "Created"})[0]
        == "OK"
    )


@pytest.mark.parametrize("api", APIS)
def test_an_order_number_over_its_length_gets_string_too_long(
    org: RunningSalesforce, api: str
) -> None:
    [oid] = org.create_opportunities(1)
    code, message = saved_by(
        api, org, oid, {"Order_Number__c": "N" * 81, "Order_Status__c": "Created"}
    )
    assert code == "STRING_TOO_LONG"
    assert (
        message.startswith("Order Number: data value too large: ") and "(max length=80)" in message
    )
    assert (
        saved_by(
            api, org, oid, {"Order_Number__c": api.ljust(80, "N"), "Order_Status__c": "Created"}
        )[0]
        == "OK"
    )


@pytest.mark.parametrize("api", APIS)
def test_a_status_outside_the_restricted_picklist_is_refused(
    org: RunningSalesforce, api: str
) -> None:
    [oid] = org.create_opportunities(1)
    code, message = saved_by(
        api, org, oid, {"Order_Number__c": f"SO-{oid}", "Order_Status__c": "Shipped"}
    )
    assert code == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    assert message == "Order Status: bad value for restricted picklist field: Shipped"
    rows = {r["Id"]: r for r in org.opportunities()}
    assert rows[oid]["Order_Status__c"] is None and rows[oid]["Order_Number__c"] is None


def test_the_apex_endpoints_read_a_chunked_body(org: RunningSalesforce) -> None:
    """A client that streams its body (no Content-Length) is read in full, as by the
    other APIs, not taken for an empty list of updates."""
    (oid,) = org.create_opportunities(1)
    headers = {"Authorization": f"Bearer {org.client_credentials_token()}",
               "Content-Type": "application/json"}  # fmt: skip
    body = json.dumps({"updates": [{"opportunityId": oid, "orderNumber": f"SO-C-{oid}",
                                    "orderStatus": "Created"}]}).encode()  # fmt: skip
    chunks = iter([body[:10], body[10:]])
    url = f"{org.url}/services/apexrest/sfgw/orders"
    reply = requests.post(url, data=chunks, headers=headers, timeout=30)
    assert "Content-Length" not in reply.request.headers
    assert [r["success"] for r in reply.json()] == [True]
    [row] = [r for r in org.opportunities() if r["Id"] == oid]
    assert row["Order_Number__c"] == f"SO-C-{oid}"
