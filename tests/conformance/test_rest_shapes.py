"""REST as Salesforce serves it, at the HTTP level (REST API Developer Guide: Versions,
Resources by Version, status codes and error responses, sObject Rows, sObject Rows by
External ID, sObject Collections): the parts simple-salesforce does not show by itself.
"""

from __future__ import annotations

from typing import Any

import pytest
import requests

from devstack.mocks import RunningSalesforce

from .conftest import INSTANCE_URL

DATA = f"{INSTANCE_URL}/services/data"


def call(
    session: requests.Session, org: RunningSalesforce, method: str, path: str, **kwargs: Any
) -> requests.Response:
    headers = {"Authorization": f"Bearer {org.client_credentials_token()}"}
    return session.request(method, f"{DATA}/{path}", headers=headers, timeout=30, **kwargs)


def error_of(reply: requests.Response) -> tuple[int, str]:
    body = reply.json()
    assert isinstance(body, list) and len(body) == 1, body
    return reply.status_code, body[0]["errorCode"]


def test_versions_are_listed_without_a_session(session: requests.Session) -> None:
    reply = session.get(f"{DATA}/", timeout=30)
    assert reply.status_code == 200
    versions = reply.json()
    assert versions[0] == {"label": "Summer '14", "url": "/services/data/v31.0", "version": "31.0"}
    assert {"label": "Winter '25", "url": "/services/data/v62.0", "version": "62.0"} in versions
    assert [float(v["version"]) for v in versions] == sorted(float(v["version"]) for v in versions)


def test_a_versions_resources_and_unserved_versions(
    org: RunningSalesforce, session: requests.Session
) -> None:
    resources = call(session, org, "GET", "v62.0/").json()
    assert resources["query"] == "/services/data/v62.0/query"
    assert {"sobjects", "limits", "composite"} <= resources.keys()
    assert session.get(f"{DATA}/v62.0/", timeout=30).status_code == 401  # needs a session
    assert error_of(call(session, org, "GET", "v99.0/limits")) == (404, "NOT_FOUND")
    assert error_of(call(session, org, "GET", "v62/limits")) == (404, "NOT_FOUND")
    assert call(session, org, "GET", "v30.0/limits").status_code == 410  # retired


@pytest.mark.parametrize(
    "path",
    ["v62.0/limits/", "v62.0/sobjects/", "v62.0/sobjects/Opportunity/describe/",
     "v62.0/query/?q=SELECT+Id+FROM+Opportunity+LIMIT+1", "v62.0/sobjects/opportunity/"],
)  # fmt: skip
def test_a_trailing_slash_is_the_same_resource(
    org: RunningSalesforce, session: requests.Session, path: str
) -> None:
    assert call(session, org, "GET", path).status_code == 200


def test_collections_check_each_records_type_against_its_id(
    org: RunningSalesforce, session: requests.Session
) -> None:
    a, b, c = org.create_opportunities(3)
    records = [
        {"attributes": {"type": "Opportunity"}, "id": a, "Order_Status__c": "Created"},
        {"attributes": {"type": "Contact"}, "id": b, "Order_Status__c": "Created"},
        {"attributes": {"type": "Widget__c"}, "id": c, "Order_Status__c": "Created"},
    ]
    reply = call(session, org, "PATCH", "v62.0/composite/sobjects", json={"records": records})
    assert reply.status_code == 200
    assert [r["success"] for r in reply.json()] == [True, False, False]
    assert reply.json()[1]["errors"] == [
        {"statusCode": "MALFORMED_ID", "message": f"Contact ID: id value of incorrect type: {b}",
         "fields": ["Id"]},
    ]  # fmt: skip
    assert reply.json()[2]["errors"][0]["statusCode"] == "INVALID_TYPE"
    rolled_back = call(session, org, "PATCH", "v62.0/composite/sobjects",
                       json={"allOrNone": True, "records": records})  # fmt: skip
    assert rolled_back.json()[0]["errors"][0]["statusCode"] == "ALL_OR_NONE_OPERATION_ROLLED_BACK"


@pytest.mark.parametrize(
    ("values", "type_name"),
    [
        ({"Amount": "a lot"}, "currency"),
        ({"Amount": True}, "currency"),
        ({"CloseDate": "31/12/2026"}, "date"),
        ({"CloseDate": 20261231}, "date"),
        ({"Order_Status__c": {"value": "Created"}}, "picklist"),
        ({"Name": ["a", "b"]}, "string"),
        ({"AccountId": 1}, "reference"),
    ],
)
def test_a_value_of_the_wrong_json_type_fails_the_request(
    org: RunningSalesforce, session: requests.Session, values: dict[str, Any], type_name: str
) -> None:
    a, b = org.create_opportunities(2)
    single = call(session, org, "PATCH", f"v62.0/sobjects/Opportunity/{a}", json=values)
    assert error_of(single) == (400, "JSON_PARSER_ERROR")
    assert single.json()[0]["message"].startswith(f"Cannot deserialize instance of {type_name} ")
    records = [
        {"attributes": {"type": "Opportunity"}, "id": b, "Name": "Fine"},
        {"attributes": {"type": "Opportunity"}, "id": a, **values},
    ]
    many = call(session, org, "PATCH", "v62.0/composite/sobjects", json={"records": records})
    assert error_of(many) == (400, "JSON_PARSER_ERROR")
    assert {r["Id"]: r["Name"] for r in org.opportunities()}[b] != "Fine"  # nothing saved


def test_create_needs_the_required_fields_and_delete_deletes(
    org: RunningSalesforce, session: requests.Session
) -> None:
    missing = call(session, org, "POST", "v62.0/sobjects/Opportunity", json={"Name": "x"})
    assert error_of(missing) == (400, "REQUIRED_FIELD_MISSING")
    assert missing.json()[0]["fields"] == ["StageName", "CloseDate"]
    values = {"Name": "x", "StageName": "Prospecting", "CloseDate": "2026-12-31"}
    created = call(session, org, "POST", "v62.0/sobjects/Opportunity", json=values)
    assert created.status_code == 201 and created.json()["success"] is True
    oid = created.json()["id"]
    assert call(session, org, "DELETE", f"v62.0/sobjects/Opportunity/{oid}").status_code == 204
    assert error_of(call(session, org, "GET", f"v62.0/sobjects/Opportunity/{oid}")) == (
        404, "ENTITY_IS_DELETED",
    )  # fmt: skip


def test_upsert_needs_an_external_id_field_and_answers_by_version(
    org: RunningSalesforce, session: requests.Session
) -> None:
    [oid] = org.create_opportunities(1)
    org.update_opportunity(oid, Order_Number__c=f"SO-U-{oid}")
    not_external = call(session, org, "PATCH", "v62.0/sobjects/Opportunity/Name/x", json={})
    assert error_of(not_external) == (404, "NOT_FOUND")
    assert "Provided external ID field does not exist" in not_external.json()[0]["message"]
    old = call(session, org, "PATCH", f"v45.0/sobjects/Opportunity/Order_Number__c/SO-U-{oid}",
               json={"Order_Status__c": "Confirmed"})  # fmt: skip
    assert old.status_code == 204  # before API 46.0 an upsert that updates has no body
    new = call(session, org, "PATCH", f"v62.0/sobjects/Opportunity/Order_Number__c/SO-U-{oid}",
               json={"Order_Status__c": "Confirmed"})  # fmt: skip
    assert new.status_code == 200 and new.json() == {
        "id": oid, "success": True, "errors": [], "created": False,
    }  # fmt: skip


def test_token_errors_keep_the_oauth_shape(session: requests.Session) -> None:
    not_basic = {"Authorization": "Basic bm90LWJhc2U2NA=="}  # "not-base64": no id:secret
    reply = session.post(
        f"{INSTANCE_URL}/services/oauth2/token",
        data={"grant_type": "client_credentials"},
        headers=not_basic,
        timeout=30,
    )
    assert reply.status_code == 400
    assert reply.json() == {
        "error": "invalid_client",
        "error_description": "invalid client credentials",
    }
