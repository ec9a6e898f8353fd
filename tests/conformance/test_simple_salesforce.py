"""simple-salesforce, the most used Python Salesforce client, against the mock org as it
would run against a real one: every call here is the client's own, unmodified; only
its ``requests.Session`` sends the Salesforce hosts to the mock (see conftest).

Each behaviour is the one Salesforce documents (REST API Developer Guide, OAuth flows of
the Salesforce Help), and errors must raise the exception class simple-salesforce maps
that status to (``simple_salesforce.util.exception_handler``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import (
    SalesforceAuthenticationFailed,
    SalesforceExpiredSession,
    SalesforceGeneralError,
    SalesforceMalformedRequest,
    SalesforceRefusedRequest,
    SalesforceResourceNotFound,
)

from devstack.mocks import RunningSalesforce
from mock_salesforce.faults import DEFAULT_FAULTS
from tests.salesforce.keys import KeyPair

from .conftest import CLIENT_ID, CLIENT_SECRET, INSTANCE_URL, LOGIN_URL, MY_DOMAIN, USERNAME

VERSION = "62.0"


@pytest.fixture
def sf(org: RunningSalesforce, session: requests.Session) -> Iterator[Salesforce]:
    """Logged in the way a new user would: client credentials of their My Domain."""
    client = Salesforce(
        consumer_key=CLIENT_ID, consumer_secret=CLIENT_SECRET, domain=MY_DOMAIN,
        session=session, version=VERSION,
    )  # fmt: skip
    yield client
    org.set_faults(**DEFAULT_FAULTS)


@pytest.fixture(scope="module")
def many(org: RunningSalesforce) -> list[str]:
    """450 Opportunities: three pages of 200 at the smallest batch size."""
    return org.create_opportunities(450)


def first(error: pytest.ExceptionInfo[Any]) -> dict[str, Any]:
    content = error.value.content
    assert isinstance(content, list) and content, content
    found: dict[str, Any] = content[0]
    return found


# -- logging in -------------------------------------------------------------------------


def test_client_credentials_with_http_basic_as_simple_salesforce_sends_them(
    org: RunningSalesforce, sf: Salesforce
) -> None:
    assert sf.session_id.startswith(org.org_id[:15] + "!")
    assert sf.sf_instance == f"{MY_DOMAIN}.salesforce.com"  # the org's instance_url
    assert sf.limits()["DailyApiRequests"]["Max"] > 0


def test_client_credentials_in_the_body_and_the_documented_signature(
    org: RunningSalesforce, session: requests.Session
) -> None:
    reply = session.post(
        f"https://{MY_DOMAIN}.salesforce.com/services/oauth2/token",
        data={"grant_type": "client_credentials", "client_id": CLIENT_ID,
              "client_secret": CLIENT_SECRET},
        timeout=30,
    )  # fmt: skip
    assert reply.status_code == 200, reply.text
    token = reply.json()
    assert token["token_type"] == "Bearer" and token["instance_url"] == INSTANCE_URL
    assert token["id"] == f"{LOGIN_URL}/id/{org.org_id}/{token['id'].rsplit('/', 1)[1]}"
    # Base64 HMAC-SHA256 of id + issued_at, keyed with the consumer secret.
    digest = hmac.new(
        CLIENT_SECRET.encode(), (token["id"] + token["issued_at"]).encode(), hashlib.sha256
    ).digest()
    assert token["signature"] == base64.b64encode(digest).decode()
    direct = Salesforce(
        instance_url=token["instance_url"], session_id=token["access_token"], session=session,
        version=VERSION,
    )  # fmt: skip
    assert direct.query("SELECT COUNT() FROM Opportunity")["done"] is True


def test_jwt_bearer(org: RunningSalesforce, session: requests.Session, jwt_keys: KeyPair) -> None:
    sf = Salesforce(
        username=USERNAME, consumer_key=CLIENT_ID, privatekey=jwt_keys.private_pem.decode(),
        session=session, version=VERSION,
    )  # fmt: skip
    assert sf.session_id.startswith(org.org_id[:15] + "!")
    assert sf.describe()["sobjects"][0]["name"] == "Opportunity"


def test_wrong_credentials_fail_authentication(session: requests.Session) -> None:
    with pytest.raises(SalesforceAuthenticationFailed) as caught:
        Salesforce(consumer_key=CLIENT_ID, consumer_secret="wrong", domain=MY_DOMAIN,
                   session=session)  # fmt: skip
    assert caught.value.code == "invalid_client"
    with pytest.raises(SalesforceAuthenticationFailed) as caught:
        Salesforce(consumer_key="nobody", consumer_secret=CLIENT_SECRET, domain=MY_DOMAIN,
                   session=session)  # fmt: skip
    assert caught.value.code == "invalid_client_id"


# -- queries ----------------------------------------------------------------------------


def test_query_with_a_15_character_id_and_text_in_another_case(
    org: RunningSalesforce, sf: Salesforce
) -> None:
    [oid] = org.create_opportunities(1)
    name = next(r["Name"] for r in org.opportunities() if r["Id"] == oid)
    result = sf.query(
        f"SELECT Id, Name FROM Opportunity WHERE Id = '{oid[:15]}' AND Name = '{name.upper()}'"
    )
    assert [r["Id"] for r in result["records"]] == [oid]
    assert result["records"][0]["attributes"]["url"].endswith(f"/Opportunity/{oid}")


def test_query_all_and_query_more_follow_the_pages(
    org: RunningSalesforce, sf: Salesforce, many: list[str]
) -> None:
    soql = "SELECT Id FROM Opportunity ORDER BY Id"
    small = {"Sforce-Query-Options": "batchSize=200"}
    everything = sf.query_all(soql, headers=small)
    ids = [r["Id"] for r in everything["records"]]
    assert set(many) <= set(ids) and len(ids) == len(set(ids)) == everything["totalSize"]
    page = sf.query(soql, headers=small)
    assert (page["done"], len(page["records"]), page["totalSize"]) == (False, 200, len(ids))
    assert page["nextRecordsUrl"].startswith(f"/services/data/v{VERSION}/query/01g")
    paged = [r["Id"] for r in page["records"]]
    by_url = False
    while not page["done"]:
        if by_url:  # both ways the client offers: the whole URL, or the locator alone
            page = sf.query_more(page["nextRecordsUrl"], identifier_is_url=True, headers=small)
        else:
            page = sf.query_more(page["nextRecordsUrl"].rsplit("/", 1)[1], headers=small)
        by_url = not by_url
        paged += [r["Id"] for r in page["records"]]
    assert paged == ids


def test_count_limit_and_offset(sf: Salesforce, many: list[str]) -> None:
    total = sf.query("SELECT COUNT() FROM Opportunity")
    assert total["records"] == [] and total["totalSize"] >= len(many)
    window = sf.query(f"SELECT Id FROM Opportunity WHERE Id IN ('{many[5]}', '{many[6][:15]}', "
                      f"'{many[7]}') ORDER BY Id LIMIT 2 OFFSET 1")  # fmt: skip
    assert [r["Id"] for r in window["records"]] == [many[6], many[7]]


# -- records ----------------------------------------------------------------------------


def test_get_update_and_upsert_by_the_external_id(org: RunningSalesforce, sf: Salesforce) -> None:
    [oid] = org.create_opportunities(1)
    record = sf.Opportunity.get(oid[:15])
    assert record["Id"] == oid and record["attributes"]["type"] == "Opportunity"
    assert sf.Opportunity.update(oid, {"Order_Number__c": f"SO-{oid}"}) == 204
    assert sf.Opportunity.get_by_custom_id("Order_Number__c", f"so-{oid}")["Id"] == oid
    # upsert: the number names an existing record -> it is updated (200 since API 46.0) ...
    assert sf.Opportunity.upsert(f"Order_Number__c/SO-{oid}", {"Order_Status__c": "Created"}) == 200
    assert sf.Opportunity.get(oid)["Order_Status__c"] == "Created"
    # ... or no record -> one is created (201), with the number from the URL.
    reply = sf.Opportunity.upsert(
        f"Order_Number__c/SO-NEW-{oid}",
        {"Name": "Upserted", "StageName": "Prospecting", "CloseDate": "2026-12-31"},
        raw_response=True,
    )
    assert reply.status_code == 201 and reply.json()["created"] is True
    created = sf.Opportunity.get(reply.json()["id"])
    assert created["Order_Number__c"] == f"SO-NEW-{oid}" and created["Name"] == "Upserted"


def test_describe_shows_the_bundles_custom_fields(sf: Salesforce) -> None:
    objects = {o["name"]: o for o in sf.describe()["sobjects"]}
    assert objects["Opportunity"]["keyPrefix"] == "006"
    fields = {f["name"]: f for f in sf.Opportunity.describe()["fields"]}
    number = fields["Order_Number__c"]
    facts = ("type", "length", "unique", "externalId", "custom", "updateable")
    assert [number[k] for k in facts] == ["string", 80, True, True, True, True]
    status = fields["Order_Status__c"]
    assert status["type"] == "picklist" and status["restrictedPicklist"] is True
    assert [v["value"] for v in status["picklistValues"]] == [
        "Created", "Confirmed", "OnHold", "Cancelled",
    ]  # fmt: skip
    assert (fields["IsWon"]["type"], fields["IsWon"]["updateable"]) == ("boolean", False)
    assert fields["CloseDate"]["type"] == "date" and fields["Amount"]["type"] == "currency"
    assert fields["AccountId"]["referenceTo"] == ["Account"]


def test_limits_and_collections_through_restful(org: RunningSalesforce, sf: Salesforce) -> None:
    limits = sf.limits()
    assert limits["DailyApiRequests"]["Remaining"] <= limits["DailyApiRequests"]["Max"]
    assert sf.api_usage["api-usage"].used >= 1  # from the Sforce-Limit-Info header
    a, b = org.create_opportunities(2)
    results = sf.restful(
        "composite/sobjects",
        method="PATCH",
        json={"allOrNone": False, "records": [
            {"attributes": {"type": "Opportunity"}, "id": a, "Order_Status__c": "Confirmed"},
            {"attributes": {"type": "Account"}, "id": b, "Order_Status__c": "Confirmed"},
        ]},
    )  # fmt: skip
    assert results[0] == {"id": a, "success": True, "errors": []}
    assert results[1]["success"] is False
    assert results[1]["errors"][0]["statusCode"] == "MALFORMED_ID"  # an Opportunity id as Account


# -- errors, as simple-salesforce raises them -------------------------------------------


def test_not_found_is_resource_not_found(session: requests.Session, sf: Salesforce) -> None:
    with pytest.raises(SalesforceResourceNotFound) as caught:
        sf.Opportunity.get("006000000000000AAA")
    assert first(caught)["errorCode"] == "NOT_FOUND"
    with pytest.raises(SalesforceResourceNotFound):
        sf.Account.describe()  # the org has no such object
    newer = Salesforce(instance_url=INSTANCE_URL, session_id=sf.session_id, session=session,
                       version="99.0")  # fmt: skip
    with pytest.raises(SalesforceResourceNotFound):
        newer.limits()


def test_refused_saves_and_queries_are_malformed_requests(
    org: RunningSalesforce, sf: Salesforce
) -> None:
    [oid] = org.create_opportunities(1)
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.Opportunity.update(oid, {"Order_Status__c": "Shipped"})
    assert first(caught)["errorCode"] == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.Opportunity.update(oid, {"Amount": "a lot"})
    assert first(caught)["errorCode"] == "JSON_PARSER_ERROR"
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.query("SELECT Id FROM Opportunity WHERE CloseDate = '2026-01-01'")
    assert first(caught)["errorCode"] == "INVALID_FIELD"
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.query("SELECT Id FROM Opportunity GROUP BY Name")
    assert first(caught)["errorCode"] == "MALFORMED_QUERY"
    assert "GROUP BY" in first(caught)["message"]


def test_a_dead_session_is_expired_session(session: requests.Session) -> None:
    dead = Salesforce(instance_url=INSTANCE_URL, session_id="00Dxx0000000000!dead",
                      session=session, version=VERSION)  # fmt: skip
    with pytest.raises(SalesforceExpiredSession) as caught:
        dead.query("SELECT Id FROM Opportunity")
    assert first(caught)["errorCode"] == "INVALID_SESSION_ID"


def test_limits_refuse_and_outages_are_general_errors(
    org: RunningSalesforce, sf: Salesforce
) -> None:
    org.set_faults(daily_api_limit=0)
    with pytest.raises(SalesforceRefusedRequest) as refused:
        sf.limits()
    assert first(refused)["errorCode"] == "REQUEST_LIMIT_EXCEEDED"
    org.set_faults(daily_api_limit=None, call_errors=["SERVER_UNAVAILABLE"])
    with pytest.raises(SalesforceGeneralError) as unavailable:
        sf.query("SELECT Id FROM Opportunity LIMIT 1")
    assert unavailable.value.status == 503
