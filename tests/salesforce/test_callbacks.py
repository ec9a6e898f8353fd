"""Contract tests of the callback APIs against a real mock Salesforce process.

REST with plain ``requests``; SOAP with a zeep client built from
``contracts/salesforce/partner.wsdl``; OAuth with real RS256 assertions.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
import requests
import zeep
from lxml import etree

from devstack.mocks import RunningSalesforce, start_mock_salesforce
from gateway import sfid
from mock_salesforce.faults import DEFAULT_FAULTS

from .keys import KeyPair, make_keypair

SOBJ = "{urn:sobject.partner.soap.sforce.com}"
UNKNOWN_ID = sfid.to18("0065g00000099ZZ")


@pytest.fixture(scope="module")
def sf(tmp_path_factory: pytest.TempPathFactory, keypair: KeyPair) -> Iterator[RunningSalesforce]:
    running = start_mock_salesforce(
        tmp_path_factory.mktemp("sf_callbacks"),
        gateway_url=None,
        jwt_cert_pem=keypair.cert_pem,
        client_id="test-client",
        client_secret="test-secret",
        username="integration@example.com",
    )
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(autouse=True)
def clean_faults(sf: RunningSalesforce) -> Iterator[None]:
    yield
    sf.set_faults(**DEFAULT_FAULTS)


@pytest.fixture
def token(sf: RunningSalesforce) -> str:
    return sf.client_credentials_token()


def rest(sf: RunningSalesforce, method: str, path: str, token: str, **kw: Any) -> requests.Response:
    return requests.request(
        method,
        f"{sf.url}/services/data/v62.0/{path}",
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
        **kw,
    )


def collection(
    ids_and_fields: list[tuple[str, dict[str, Any]]], all_or_none: bool
) -> dict[str, Any]:
    return {
        "allOrNone": all_or_none,
        "records": [
            {"attributes": {"type": "Opportunity"}, "id": oid, **fields}
            for oid, fields in ids_and_fields
        ],
    }


# -- OAuth -------------------------------------------------------------------------------


def assertion(keypair: KeyPair, **overrides: Any) -> str:
    claims = {
        "iss": "test-client",
        "sub": "integration@example.com",
        "aud": "https://login.salesforce.com",
        "exp": int(time.time()) + 120,
    }
    claims.update(overrides)
    return jwt.encode(claims, keypair.private_pem, algorithm="RS256")


def token_request(sf: RunningSalesforce, **form: str) -> requests.Response:
    return requests.post(sf.token_url, data=form, timeout=30)


def test_client_credentials_and_jwt_get_tokens_shaped_like_salesforce(
    sf: RunningSalesforce, keypair: KeyPair
) -> None:
    before = sf.api_usage()["token_requests"]
    cc = token_request(
        sf, grant_type="client_credentials", client_id="test-client", client_secret="test-secret"
    )
    bearer = token_request(
        sf, grant_type="urn:ietf:params:oauth:grant-type:jwt-bearer", assertion=assertion(keypair)
    )
    # Client credentials answer issued_at and its signature; the JWT flow neither.
    for response, signed in ((cc, True), (bearer, False)):
        assert response.status_code == 200, response.text
        body = response.json()
        assert {"access_token", "instance_url", "id", "token_type", "scope"} <= body.keys()
        assert ({"issued_at", "signature"} <= body.keys()) is signed
        assert body["instance_url"] == sf.url
        assert body["token_type"] == "Bearer"
        assert body["access_token"].startswith(sf.org_id[:15] + "!")
        assert rest(sf, "GET", "limits", body["access_token"]).status_code == 200
    assert sf.api_usage()["token_requests"] == before + 2


@pytest.mark.parametrize(
    ("form", "error", "description"),
    [
        ({"client_secret": "wrong"}, "invalid_client", "invalid client credentials"),
        ({"client_id": "nobody"}, "invalid_client_id", "client identifier invalid"),
        ({"grant_type": "password"}, "unsupported_grant_type", "grant type not supported"),
    ],
)
def test_client_credentials_refused(
    sf: RunningSalesforce, form: dict[str, str], error: str, description: str
) -> None:
    request = {
        "grant_type": "client_credentials",
        "client_id": "test-client",
        "client_secret": "test-secret",
        **form,
    }
    response = token_request(sf, **request)
    assert response.status_code == 400
    assert response.json() == {"error": error, "error_description": description}


@pytest.mark.parametrize(
    ("case", "description"),
    [
        ("wrong_audience", "audience is invalid"),
        ("expired", "expired authorization code"),
        ("bad_signature", "invalid assertion"),
        ("wrong_user", "user hasn't approved this consumer"),
        ("garbage", "invalid assertion"),
    ],
)
def test_jwt_assertions_refused(
    sf: RunningSalesforce, keypair: KeyPair, case: str, description: str
) -> None:
    if case == "wrong_audience":
        value = assertion(keypair, aud="https://test.salesforce.com")
    elif case == "expired":
        value = assertion(keypair, exp=int(time.time()) - 600)  # beyond the 3-minute skew
    elif case == "bad_signature":
        value = assertion(make_keypair())
    elif case == "wrong_user":
        value = assertion(keypair, sub="someone@else.example")
    else:
        value = "not-a-jwt"
    response = token_request(
        sf, grant_type="urn:ietf:params:oauth:grant-type:jwt-bearer", assertion=value
    )
    assert response.status_code == 400
    assert response.json() == {"error": "invalid_grant", "error_description": description}


def test_jwt_within_clock_skew_is_accepted(sf: RunningSalesforce, keypair: KeyPair) -> None:
    value = assertion(keypair, exp=int(time.time()) - 60)
    response = token_request(
        sf, grant_type="urn:ietf:params:oauth:grant-type:jwt-bearer", assertion=value
    )
    assert response.status_code == 200


# -- REST --------------------------------------------------------------------------------


def test_rest_get_and_patch(sf: RunningSalesforce, token: str) -> None:
    [oid] = sf.close_won(1)
    response = rest(
        sf,
        "PATCH",
        f"sobjects/Opportunity/{oid}",
        token,
        json={"Order_Number__c": "ERP-000001", "Order_Status__c": "Created"},
    )
    assert response.status_code == 204
    assert response.content == b""
    assert response.headers["Sforce-Limit-Info"].startswith("api-usage=")
    record = rest(sf, "GET", f"sobjects/Opportunity/{oid[:15]}", token).json()
    assert record["Id"] == oid
    assert record["Order_Number__c"] == "ERP-000001"
    assert record["IsWon"] is True and record["IsClosed"] is True
    assert record["attributes"]["type"] == "Opportunity"
    # POST with _HttpMethod=PATCH is the documented fallback.
    fallback = rest(
        sf,
        "POST",
        f"sobjects/Opportunity/{oid}?_HttpMethod=PATCH",
        token,
        json={"Order_Status__c": "Confirmed"},
    )
    assert fallback.status_code == 204


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"Bogus__c": "x"}, 400, "INVALID_FIELD"),
        ({"IsWon": False}, 400, "INVALID_FIELD_FOR_INSERT_UPDATE"),
        ({"Order_Number__c": "x" * 81}, 400, "STRING_TOO_LONG"),
        ({"Name": "y" * 121}, 400, "STRING_TOO_LONG"),
    ],
)
def test_rest_field_validation(
    sf: RunningSalesforce, token: str, body: dict[str, Any], status: int, code: str
) -> None:
    [oid] = sf.create_opportunities(1)
    response = rest(sf, "PATCH", f"sobjects/Opportunity/{oid}", token, json=body)
    assert response.status_code == status
    assert response.json()[0]["errorCode"] == code
    assert "Sforce-Limit-Info" in response.headers


def test_rest_unknown_malformed_and_deleted_ids(sf: RunningSalesforce, token: str) -> None:
    unknown = rest(sf, "GET", f"sobjects/Opportunity/{UNKNOWN_ID}", token)
    assert unknown.status_code == 404
    assert unknown.json()[0]["errorCode"] == "NOT_FOUND"
    patch_unknown = rest(
        sf,
        "PATCH",
        f"sobjects/Opportunity/{UNKNOWN_ID}",
        token,
        json={"Order_Status__c": "Confirmed"},
    )
    assert patch_unknown.status_code == 404
    malformed = rest(
        sf, "PATCH", "sobjects/Opportunity/006xyz", token, json={"Order_Status__c": "Confirmed"}
    )
    assert malformed.status_code == 400
    assert malformed.json()[0]["errorCode"] == "MALFORMED_ID"
    [oid] = sf.create_opportunities(1)
    sf.delete_opportunity(oid)
    deleted = rest(
        sf, "PATCH", f"sobjects/Opportunity/{oid}", token, json={"Order_Status__c": "Confirmed"}
    )
    assert deleted.status_code == 404
    assert deleted.json()[0]["errorCode"] == "ENTITY_IS_DELETED"


def test_rest_collection_partial_failure_and_all_or_none(sf: RunningSalesforce, token: str) -> None:
    good, other, deleted = sf.create_opportunities(3)
    sf.delete_opportunity(deleted)
    sf.set_faults(validation_fail_ids=[other])
    items = [
        (good, {"Order_Number__c": "ERP-1"}),
        (UNKNOWN_ID, {"Order_Number__c": "ERP-2"}),
        ("001000000000000AAA", {"Order_Number__c": "ERP-3"}),
        (deleted, {"Order_Number__c": "ERP-4"}),
        (other, {"Order_Number__c": "ERP-5"}),
        (good, {"Order_Number__c": "z" * 81}),
    ]
    response = rest(sf, "PATCH", "composite/sobjects", token, json=collection(items, False))
    assert response.status_code == 200
    results = response.json()
    assert results[0] == {"id": good, "success": True, "errors": []}
    codes = [r["errors"][0]["statusCode"] for r in results[1:]]
    assert codes == [
        "INVALID_CROSS_REFERENCE_KEY",
        "MALFORMED_ID",
        "ENTITY_IS_DELETED",
        "FIELD_CUSTOM_VALIDATION_EXCEPTION",
        "STRING_TOO_LONG",
    ]
    assert all(r["success"] is False for r in results[1:])
    assert (
        rest(sf, "GET", f"sobjects/Opportunity/{good}", token).json()["Order_Number__c"] == "ERP-1"
    )

    rolled = rest(
        sf,
        "PATCH",
        "composite/sobjects",
        token,
        json=collection(
            [(good, {"Order_Number__c": "ERP-9"}), (UNKNOWN_ID, {"Order_Number__c": "x"})], True
        ),
    )
    assert [r["errors"][0]["statusCode"] for r in rolled.json()] == [
        "ALL_OR_NONE_OPERATION_ROLLED_BACK",
        "INVALID_CROSS_REFERENCE_KEY",
    ]
    assert (
        rest(sf, "GET", f"sobjects/Opportunity/{good}", token).json()["Order_Number__c"] == "ERP-1"
    )

    too_many = rest(
        sf,
        "PATCH",
        "composite/sobjects",
        token,
        json=collection([(good, {"Order_Status__c": "Confirmed"})] * 201, False),
    )
    assert too_many.status_code == 400
    assert too_many.json()[0]["errorCode"] == "EXCEEDED_ID_LIMIT"


def test_rest_expired_and_unknown_session(sf: RunningSalesforce) -> None:
    fresh = sf.client_credentials_token()
    assert rest(sf, "GET", "limits", fresh).status_code == 200
    sf.expire_sessions()
    for value in (fresh, "00Dbogus!token"):
        response = rest(sf, "GET", "limits", value)
        assert response.status_code == 401
        assert response.json() == [
            {"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}
        ]
    missing = requests.get(f"{sf.url}/services/data/v62.0/limits", timeout=30)
    assert missing.status_code == 401


def test_rest_limit_exceeded(sf: RunningSalesforce, token: str) -> None:
    used = sf.api_usage()["api_requests"]
    sf.set_faults(daily_api_limit=used + 1)
    assert rest(sf, "GET", "limits", token).status_code == 200
    over = rest(sf, "GET", "limits", token)
    assert over.status_code == 403
    assert over.json() == [
        {"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}
    ]
    assert over.headers["Sforce-Limit-Info"] == f"api-usage={used + 1}/{used + 1}"


def test_rest_lock_error_first_attempt_and_503(sf: RunningSalesforce, token: str) -> None:
    [oid] = sf.create_opportunities(1)
    sf.set_faults(lock_first_attempt=True)
    first = rest(
        sf, "PATCH", f"sobjects/Opportunity/{oid}", token, json={"Order_Status__c": "OnHold"}
    )
    assert first.status_code == 400
    assert first.json()[0]["errorCode"] == "UNABLE_TO_LOCK_ROW"
    second = rest(
        sf, "PATCH", f"sobjects/Opportunity/{oid}", token, json={"Order_Status__c": "OnHold"}
    )
    assert second.status_code == 204
    sf.set_faults(lock_first_attempt=False, unavailable_probability=1.0)
    unavailable = rest(sf, "GET", "limits", token)
    assert unavailable.status_code == 503
    assert unavailable.json()[0]["errorCode"] == "SERVER_UNAVAILABLE"


def test_rest_reconciliation_query(sf: RunningSalesforce, token: str) -> None:
    since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 5))
    won = sf.close_won(3)
    rest(sf, "PATCH", f"sobjects/Opportunity/{won[0]}", token, json={"Order_Number__c": "ERP-7"})
    q = (
        "SELECT Id, Name, LastModifiedDate FROM Opportunity WHERE IsWon = true AND "  # noqa: S608
        "Order_Number__c = null AND LastModifiedDate >= "
        + since
        + " ORDER BY LastModifiedDate LIMIT 200"
    )
    response = rest(sf, "GET", "query", token, params={"q": q})
    assert response.status_code == 200
    ids = {r["Id"] for r in response.json()["records"]}
    assert set(won[1:]) <= ids and won[0] not in ids
    assert response.json()["done"] is True
    bad = rest(sf, "GET", "query", token, params={"q": "SELECT Account.Name FROM Opportunity"})
    assert bad.status_code == 400
    assert bad.json()[0]["errorCode"] == "MALFORMED_QUERY"


def _pages(sf: RunningSalesforce, token: str, q: str, options: str | None) -> list[dict[str, Any]]:
    """Every reply of one query, following nextRecordsUrl as a client does."""
    headers = {"Authorization": f"Bearer {token}"}
    if options is not None:
        headers["Sforce-Query-Options"] = options
    reply = requests.get(
        f"{sf.url}/services/data/v62.0/query", params={"q": q}, headers=headers, timeout=30
    )
    assert reply.status_code == 200, reply.text
    pages = [reply.json()]
    while not pages[-1]["done"]:
        reply = requests.get(sf.url + pages[-1]["nextRecordsUrl"], headers=headers, timeout=30)
        assert reply.status_code == 200, reply.text
        pages.append(reply.json())
        assert len(pages) < 100
    return pages


def test_rest_query_pages_like_salesforce(sf: RunningSalesforce, token: str) -> None:
    won = sf.close_won(450)
    q = "SELECT Id, Name FROM Opportunity WHERE IsWon = true ORDER BY CreatedDate"
    before = sf.api_usage()["api_requests"]
    pages = _pages(sf, token, q, "batchSize=200")
    total = pages[0]["totalSize"]
    assert total >= 450 and all(p["totalSize"] == total for p in pages)
    sizes = [len(p["records"]) for p in pages]
    assert sizes == [200] * (total // 200) + ([total % 200] if total % 200 else [])
    assert [p["done"] for p in pages] == [False] * (len(pages) - 1) + [True]
    assert "nextRecordsUrl" not in pages[-1]
    urls = [p["nextRecordsUrl"] for p in pages[:-1]]
    assert all(re.fullmatch(r"/services/data/v62\.0/query/01g\w{15}-\d+", u) for u in urls)
    assert [int(u.rsplit("-", 1)[1]) for u in urls] == [200 * (i + 1) for i in range(len(urls))]
    ids = [r["Id"] for p in pages for r in p["records"]]
    assert len(ids) == len(set(ids)) == total and set(won) <= set(ids)
    assert sf.api_usage()["api_requests"] - before == len(pages)  # every page is a call

    # the documented range is 200..2000: smaller asks get 200, and no header 2000
    assert len(_pages(sf, token, q, "batchSize=50")[0]["records"]) == 200
    sf.create_opportunities(max(1, 2001 - total))  # open ones: now more than 2000 in all
    everything = "SELECT Id FROM Opportunity"
    default = _pages(sf, token, everything, None)
    assert len(default[0]["records"]) == 2000 and default[0]["done"] is False
    assert len(_pages(sf, token, everything, "batchSize=5000")[0]["records"]) == 2000

    cursor = urls[0].rsplit("/", 1)[1].split("-")[0]
    for bad in (f"{cursor}-{total}", f"{cursor}-0", "01g5g00000000ZZAAA-200", "nonsense"):
        reply = rest(sf, "GET", f"query/{bad}", token)
        assert reply.status_code == 400, bad
        assert reply.json()[0]["errorCode"] == "INVALID_QUERY_LOCATOR"


# -- SOAP Partner (zeep) -----------------------------------------------------------------


@pytest.fixture(scope="module")
def partner(sf: RunningSalesforce, repo_root: Path) -> Any:
    client = zeep.Client(
        str(repo_root / "contracts/salesforce/partner.wsdl"),
        settings=zeep.Settings(strict=True, forbid_dtd=True, forbid_entities=True),
    )
    return client, client.create_service(
        "{urn:partner.soap.sforce.com}SoapBinding",
        f"{sf.url}/services/Soap/u/62.0/{sf.org_id[:15]}",
    )


def sobject(client: Any, oid: str, **fields: str) -> Any:
    elements = []
    for name, value in fields.items():
        element = etree.Element(f"{SOBJ}{name}")
        element.text = value
        elements.append(element)
    return client.get_type(f"{SOBJ[:-1]}}}sObject")(type="Opportunity", Id=oid, _value_1=elements)


def test_soap_update_success_and_partial_failure(
    sf: RunningSalesforce, partner: Any, token: str
) -> None:
    client, service = partner
    good, bad_rule = sf.create_opportunities(2)
    sf.set_faults(validation_fail_ids=[bad_rule])
    reply = service.update(
        sObjects=[
            sobject(client, good, Order_Number__c="ERP-10", Order_Status__c="Created"),
            sobject(client, UNKNOWN_ID, Order_Number__c="ERP-11"),
            sobject(client, bad_rule, Order_Number__c="ERP-12"),
            sobject(client, good, Name="s" * 121),
            sobject(client, good, IsWon="false"),
        ],
        _soapheaders={"SessionHeader": {"sessionId": token}},
    )
    limit = reply.header.LimitInfoHeader.limitInfo[0]
    assert limit.type == "API REQUESTS" and limit.current >= 1
    results = reply.body.result
    assert results[0].success is True and results[0].id == good
    assert [r.errors[0].statusCode for r in results[1:]] == [
        "INVALID_CROSS_REFERENCE_KEY",
        "FIELD_CUSTOM_VALIDATION_EXCEPTION",
        "STRING_TOO_LONG",
        "INVALID_FIELD_FOR_INSERT_UPDATE",
    ]
    assert all(r.success is False and r.id is None for r in results[1:])
    fetched = service.retrieve(
        fieldList="Id, Order_Number__c, Order_Status__c",
        sObjectType="Opportunity",
        ids=[good, UNKNOWN_ID],
        _soapheaders={"SessionHeader": {"sessionId": token}},
    )
    record, missing = fetched.body.result
    values = {etree.QName(e).localname: e.text for e in record._value_1}
    assert values == {"Order_Number__c": "ERP-10", "Order_Status__c": "Created"}
    assert missing.Id is None


def test_soap_expired_session_is_the_salesforce_fault(sf: RunningSalesforce, partner: Any) -> None:
    client, service = partner
    [oid] = sf.create_opportunities(1)
    session = sf.new_session_id()
    sf.expire_sessions()
    for value in (session, "bogus"):
        with pytest.raises(zeep.exceptions.Fault) as caught:
            service.update(
                sObjects=[sobject(client, oid, Order_Status__c="Confirmed")],
                _soapheaders={"SessionHeader": {"sessionId": value}},
            )
        assert caught.value.code == "sf:INVALID_SESSION_ID"
        assert caught.value.message == (
            "INVALID_SESSION_ID: Invalid Session ID found in SessionHeader: Illegal Session"
        )
        detail = caught.value.detail
        fault = detail.find("{urn:fault.partner.soap.sforce.com}UnexpectedErrorFault")
        assert fault is not None
        assert (
            fault.findtext("{urn:fault.partner.soap.sforce.com}exceptionCode")
            == "INVALID_SESSION_ID"
        )
    raw = requests.post(
        f"{sf.url}/services/Soap/u/62.0/{sf.org_id[:15]}", data=b"not xml", timeout=30
    )
    assert raw.status_code == 500 and b"Fault" in raw.content


def test_soap_limit_exceeded_and_lock_error(
    sf: RunningSalesforce, partner: Any, token: str
) -> None:
    client, service = partner
    [oid] = sf.create_opportunities(1)
    sf.set_faults(lock_first_attempt=True)
    headers = {"SessionHeader": {"sessionId": token}}
    first = service.update(
        sObjects=[sobject(client, oid, Order_Status__c="OnHold")], _soapheaders=headers
    )
    assert first.body.result[0].errors[0].statusCode == "UNABLE_TO_LOCK_ROW"
    second = service.update(
        sObjects=[sobject(client, oid, Order_Status__c="OnHold")], _soapheaders=headers
    )
    assert second.body.result[0].success is True
    used = sf.api_usage()["api_requests"]
    sf.set_faults(lock_first_attempt=False, daily_api_limit=used)
    with pytest.raises(zeep.exceptions.Fault) as caught:
        service.update(
            sObjects=[sobject(client, oid, Order_Status__c="Cancelled")], _soapheaders=headers
        )
    assert caught.value.code == "sf:REQUEST_LIMIT_EXCEEDED"


def test_unknown_paths_answer_in_salesforce_shapes(sf: RunningSalesforce, token: str) -> None:
    rest_404 = rest(sf, "GET", "sobjects/Account/001000000000000", token)
    assert rest_404.status_code == 404
    assert rest_404.json() == [
        {"message": "The requested resource does not exist", "errorCode": "NOT_FOUND"}
    ]
    soap_404 = requests.post(f"{sf.url}/services/Soap/m/62.0", data=b"<x/>", timeout=30)
    assert soap_404.status_code == 500
    assert b"<faultcode>sf:UNKNOWN_EXCEPTION</faultcode>" in soap_404.content
