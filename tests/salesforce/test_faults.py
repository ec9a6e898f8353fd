"""The org's fault knobs against a real ``sfgw salesforce serve``, each proven from the
org's own counters: ``GET /admin/usage`` ``fired`` moves by exactly what the fault did,
and nothing else moves.

One org for the module (time compressed 1000x, so chaos redeliveries come in
milliseconds) and one listener that acks every message; every test starts with the
default fault document and no outbound-message definition.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any
from xml.sax.saxutils import escape

import pytest
import requests

from devstack.mocks import RunningSalesforce, start_mock_salesforce
from gateway.namespaces import PARTNER, PARTNER_SOBJECT, SOAP11_ENVELOPE
from gateway.soap import parse_envelope
from mock_salesforce.faults import DEFAULT_FAULTS

from .conftest import Listener, serve_listener

OUT = "{http://soap.sforce.com/2005/09/outbound}"
SOBJ = "{urn:sobject.enterprise.soap.sforce.com}"
START_UP_LIMIT = 100_000


@pytest.fixture(scope="module")
def ack_listener() -> Iterator[Listener]:
    """Acks everything, for the whole module: a message of one test that is still being
    redelivered when the test ends is acked, never left to retry into the next test."""
    with serve_listener() as state:
        yield state


@pytest.fixture(scope="module")
def sf(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSalesforce]:
    running = start_mock_salesforce(
        tmp_path_factory.mktemp("sf_faults"),
        gateway_url=None,
        time_scale=1000.0,
        daily_api_limit=START_UP_LIMIT,
    )
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(autouse=True)
def clean_org(sf: RunningSalesforce) -> Iterator[None]:
    sf.set_faults(**DEFAULT_FAULTS)
    sf.set_definitions([])
    yield
    sf.set_faults(**DEFAULT_FAULTS)
    sf.set_definitions([])


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


def patch(sf: RunningSalesforce, token: str, oid: str) -> requests.Response:
    return rest(
        sf, "PATCH", f"sobjects/Opportunity/{oid}", token, json={"Order_Status__c": "Confirmed"}
    )


def collection(sf: RunningSalesforce, token: str, ids: list[str]) -> list[dict[str, Any]]:
    kind = {"type": "Opportunity"}
    records = [{"attributes": kind, "id": i, "Order_Status__c": "Confirmed"} for i in ids]
    reply = rest(sf, "PATCH", "composite/sobjects", token, json={"records": records})
    assert reply.status_code == 200, reply.text
    results: list[dict[str, Any]] = reply.json()
    return results


def soap_update(
    sf: RunningSalesforce, session: str, oid: str, org15: str | None = None
) -> requests.Response:
    body = (
        f'<soapenv:Envelope xmlns:soapenv="{SOAP11_ENVELOPE}" xmlns:p="{PARTNER}" '
        f'xmlns:s="{PARTNER_SOBJECT}"><soapenv:Header><p:SessionHeader>'
        f"<p:sessionId>{escape(session)}</p:sessionId></p:SessionHeader></soapenv:Header>"
        f"<soapenv:Body><p:update><p:sObjects><s:type>Opportunity</s:type><s:Id>{oid}</s:Id>"
        "<s:Order_Status__c>Confirmed</s:Order_Status__c></p:sObjects></p:update></soapenv:Body>"
        "</soapenv:Envelope>"
    )
    return requests.post(
        f"{sf.url}/services/Soap/u/62.0/{org15 or sf.org_id[:15]}",
        data=body.encode(),
        headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '""'},
        timeout=30,
    )


def soap_saved(response: requests.Response) -> list[bool]:
    """The ``success`` of each SaveResult of an ``update`` reply."""
    assert response.status_code == 200, response.text
    payload = parse_envelope(response.content).payload
    return [node.text == "true" for node in payload.iter(f"{{{PARTNER}}}success")]


def fault_code(response: requests.Response) -> str:
    fault = parse_envelope(response.content).payload
    return fault.findtext("faultcode") or ""


def moved(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    """The counters that changed, by how much."""
    return {k: after[k] - before.get(k, 0) for k in after if after[k] != before.get(k, 0)}


def api_requests(sf: RunningSalesforce) -> int:
    return int(sf.api_usage()["api_requests"])


def wait_for(check: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


# -- whole calls ---------------------------------------------------------------------


def test_a_refused_session_is_counted_on_rest_and_soap_and_not_as_a_call(
    sf: RunningSalesforce, token: str
) -> None:
    [oid] = sf.create_opportunities(1)
    before, calls = sf.fired(), api_requests(sf)
    assert rest(sf, "GET", "limits", "00Dbogus!token").status_code == 401
    assert requests.get(f"{sf.url}/services/data/v62.0/limits", timeout=30).status_code == 401
    assert fault_code(soap_update(sf, "bogus", oid)) == "sf:INVALID_SESSION_ID"
    other_org = soap_update(sf, token, oid, org15="00D000000000002")  # a live token, wrong org
    assert fault_code(other_org) == "sf:INVALID_SESSION_ID"
    assert moved(before, sf.fired()) == {"invalid_session": 4}
    assert api_requests(sf) == calls


def test_the_daily_limit_refuses_and_counts_and_zero_allows_no_call(
    sf: RunningSalesforce, token: str
) -> None:
    [oid] = sf.create_opportunities(1)
    sf.set_faults(daily_api_limit=0)  # 0 is a limit, not "no override"
    assert sf.api_usage()["daily_api_limit"] == 0
    before, calls = sf.fired(), api_requests(sf)
    refused = rest(sf, "GET", "limits", token)
    assert refused.status_code == 403
    assert refused.json()[0]["errorCode"] == "REQUEST_LIMIT_EXCEEDED"
    assert refused.headers["Sforce-Limit-Info"] == f"api-usage={calls}/0"
    assert fault_code(soap_update(sf, token, oid)) == "sf:REQUEST_LIMIT_EXCEEDED"
    assert moved(before, sf.fired()) == {"limit_exceeded": 2}
    assert api_requests(sf) == calls  # the refused calls are not counted

    sf.set_faults(daily_api_limit=None)  # back to the start-up limit
    assert sf.api_usage()["daily_api_limit"] == START_UP_LIMIT
    assert rest(sf, "GET", "limits", token).json()["DailyApiRequests"]["Max"] == START_UP_LIMIT


def test_a_random_503_is_counted_as_a_call_and_as_fired(sf: RunningSalesforce, token: str) -> None:
    [oid] = sf.create_opportunities(1)
    sf.set_faults(unavailable_probability=1.0)
    before, calls = sf.fired(), api_requests(sf)
    for _ in range(2):
        reply = rest(sf, "GET", "limits", token)
        assert reply.status_code == 503 and reply.json()[0]["errorCode"] == "SERVER_UNAVAILABLE"
    soap = soap_update(sf, token, oid)
    assert soap.status_code == 503 and fault_code(soap) == "sf:SERVER_UNAVAILABLE"
    assert moved(before, sf.fired()) == {"unavailable": 3}
    assert api_requests(sf) == calls + 3


def test_call_errors_fail_the_next_calls_one_code_each_in_order(
    sf: RunningSalesforce, token: str
) -> None:
    [oid] = sf.create_opportunities(1)
    codes = ["REQUEST_LIMIT_EXCEEDED", "SERVER_UNAVAILABLE", "INVALID_SESSION_ID"]
    sf.set_faults(call_errors=codes)
    before, calls = sf.fired(), api_requests(sf)
    # a call that is refused its session first uses none of them
    assert rest(sf, "GET", "limits", "00Dbogus!token").status_code == 401
    replies = [rest(sf, "GET", "limits", token) for _ in range(4)]
    assert [r.status_code for r in replies] == [403, 503, 401, 200]
    assert [r.json()[0]["errorCode"] for r in replies[:3]] == codes
    assert sf.faults()["call_errors"] == []
    assert moved(before, sf.fired()) == {
        "invalid_session": 2, "limit_exceeded": 1, "unavailable": 1,
    }  # fmt: skip
    assert api_requests(sf) == calls + 2  # the 503 and the call that ran

    sf.set_faults(call_errors=codes)  # the same through SOAP: HTTP 500, 503, 500
    before = sf.fired()
    replies = [soap_update(sf, token, oid) for _ in range(4)]
    assert [r.status_code for r in replies] == [500, 503, 500, 200]
    assert [fault_code(r) for r in replies[:3]] == [f"sf:{code}" for code in codes]
    assert soap_saved(replies[3]) == [True]
    assert moved(before, sf.fired()) == {
        "invalid_session": 1, "limit_exceeded": 1, "unavailable": 1,
    }  # fmt: skip


def test_issued_tokens_can_be_dead_on_arrival(sf: RunningSalesforce) -> None:
    sf.set_faults(issue_expired_tokens=True)
    before, usage = sf.fired(), sf.api_usage()
    dead = sf.client_credentials_token()  # the grant itself succeeds
    assert rest(sf, "GET", "limits", dead).status_code == 401
    assert moved(before, sf.fired()) == {"invalid_session": 1}
    assert sf.api_usage()["token_requests"] == usage["token_requests"] + 1
    sf.set_faults(issue_expired_tokens=False)
    assert rest(sf, "GET", "limits", sf.client_credentials_token()).status_code == 200


def test_expire_sessions_says_how_many_were_live(sf: RunningSalesforce) -> None:
    sf.expire_sessions()  # whatever earlier tests left
    sf.client_credentials_token()
    sf.new_session_id()
    assert sf.expire_sessions() == 2
    assert sf.expire_sessions() == 0  # nothing left to expire: nothing changed


def test_bad_fault_settings_are_refused_by_name(sf: RunningSalesforce) -> None:
    for field, value in [
        ("daily_api_limit", -1),
        ("call_errors", ["NOT_A_CODE"]),
        ("lock_ids", {"not-an-id": 1}),
        ("lock_ids", {"0065g00000AbC01": -1}),
        ("chaos_split", 1.5),
        ("issue_expired_tokens", "yes"),
        ("no_such_fault", 1),
    ]:
        reply = requests.put(f"{sf.url}/admin/faults", json={field: value}, timeout=30)
        assert reply.status_code == 400, (field, value)
        assert field.split("[")[0] in reply.json()["description"], reply.json()
    assert sf.faults() == DEFAULT_FAULTS  # nothing half-applied


def test_reset_usage_forgets_the_fault_counters(sf: RunningSalesforce) -> None:
    assert rest(sf, "GET", "limits", "00Dbogus!token").status_code == 401
    assert sf.fired()["invalid_session"] >= 1
    sf.reset_usage()
    assert set(sf.fired().values()) == {0}


# -- records -------------------------------------------------------------------------


def test_lock_ids_refuse_the_next_n_saves_of_that_record_only(
    sf: RunningSalesforce, token: str
) -> None:
    a, b, c = sf.create_opportunities(3)
    sf.set_faults(lock_ids={a[:15]: 2})  # a 15-character id names the same record
    assert sf.faults()["lock_ids"] == {a: 2}
    before = sf.fired()
    assert patch(sf, token, b).status_code == 204
    for _ in range(2):
        locked = patch(sf, token, a)
        assert locked.status_code == 400 and locked.json()[0]["errorCode"] == "UNABLE_TO_LOCK_ROW"
    assert patch(sf, token, a).status_code == 204
    assert sf.faults()["lock_ids"] == {}
    assert moved(before, sf.fired()) == {"lock_error": 2}

    # sObject Collections and SOAP use the same counts: only the named records fail
    sf.set_faults(lock_ids={a: 1, b: 1})
    results = collection(sf, token, [a, b, c])
    assert [r["success"] for r in results] == [False, False, True]
    assert {r["errors"][0]["statusCode"] for r in results[:2]} == {"UNABLE_TO_LOCK_ROW"}
    assert soap_saved(soap_update(sf, token, a)) == [True]
    assert soap_saved(soap_update(sf, token, b)) == [True]
    assert moved(before, sf.fired()) == {"lock_error": 4}


def test_locks_of_every_cause_and_validation_refusals_are_counted(
    sf: RunningSalesforce, token: str
) -> None:
    a, b, c = sf.create_opportunities(3)
    before = sf.fired()
    sf.set_faults(lock_first_attempt=True)
    assert [patch(sf, token, oid).status_code for oid in (a, a, b, b)] == [400, 204, 400, 204]
    assert moved(before, sf.fired()) == {"lock_error": 2}
    sf.set_faults(lock_first_attempt=False, lock_probability=1.0)
    assert patch(sf, token, a).status_code == 400
    assert moved(before, sf.fired()) == {"lock_error": 3}

    sf.set_faults(lock_probability=0.0, validation_fail_ids=[c])
    rule = patch(sf, token, c)
    assert rule.json()[0]["errorCode"] == "FIELD_CUSTOM_VALIDATION_EXCEPTION"
    assert [r["success"] for r in collection(sf, token, [a, c])] == [True, False]
    assert moved(before, sf.fired()) == {"lock_error": 3, "validation_error": 2}


# -- chaos (the sender) --------------------------------------------------------------


def _point_at(sf: RunningSalesforce, listener: Listener, name: str) -> None:
    sf.set_definitions(
        [{"name": name, "contract": "opportunity_id_only", "endpoint_url": f"{listener.url}/ack"}]
    )


def _messages_of(sf: RunningSalesforce, name: str) -> list[dict[str, Any]]:
    return [r for r in sf.deliveries(include_delivered=True) if r["definition"] == name]


def _record_ids(body: bytes) -> list[str]:
    payload = parse_envelope(body).payload
    return [n.findtext(f"{OUT}sObject/{SOBJ}Id") or "" for n in payload.iter(f"{OUT}Notification")]


def _received(listener: Listener, ids: list[str]) -> list[list[str]]:
    """The messages the listener got for these records, each as its records in order."""
    messages = [_record_ids(r.body) for r in listener.of("ack")]
    return [m for m in messages if m and set(m) <= set(ids)]


def _delivered(sf: RunningSalesforce, name: str, notifications: int) -> list[dict[str, Any]]:
    """The definition's messages once they hold ``notifications`` and none is pending."""
    rows = _messages_of(sf, name)
    if sum(r["notifications"] for r in rows) < notifications:
        return []
    return rows if all(r["status"] == "delivered" for r in rows) else []


def test_chaos_split_is_switched_on_at_run_time_and_counted(
    sf: RunningSalesforce, ack_listener: Listener
) -> None:
    _point_at(sf, ack_listener, "split")
    sf.set_faults(chaos_split=1.0)  # the org started without any chaos
    before = sf.fired()
    ids = sf.close_won(10)
    rows = wait_for(lambda: _delivered(sf, "split", 10), 30, "the split batch delivered")
    assert sorted(r["notifications"] for r in rows) != [10] and len(rows) == 2  # cut once
    assert moved(before, sf.fired()) == {"chaos_split": 1}
    assert sorted(i for got in _received(ack_listener, ids) for i in got) == sorted(ids)


def test_chaos_reorder_is_counted_only_when_the_order_changed(
    sf: RunningSalesforce, ack_listener: Listener
) -> None:
    _point_at(sf, ack_listener, "reorder")
    sf.set_faults(chaos_reorder=1.0)
    before = sf.fired()
    single = sf.close_won(1)
    wait_for(lambda: _received(ack_listener, single), 30, "the one-record message")
    assert moved(before, sf.fired()) == {}  # one notification, one message: no new order

    ids = sf.close_won(10)
    [got] = wait_for(lambda: _received(ack_listener, ids), 30, "the ten-record message")
    assert sorted(got) == sorted(ids)
    assert got != ids  # the message carries the shuffled order, not the queue's
    assert moved(before, sf.fired()) == {"chaos_reorder": 1}


def test_chaos_redeliver_sends_an_acked_message_again_and_counts_each_time(
    sf: RunningSalesforce, ack_listener: Listener
) -> None:
    _point_at(sf, ack_listener, "redeliver")
    sf.set_faults(chaos_redeliver=1.0)
    before = sf.fired()
    ids = sf.close_won(3)
    wait_for(
        lambda: [r for r in _messages_of(sf, "redeliver") if r["redeliveries"] >= 2],
        30, "two redeliveries",
    )  # fmt: skip
    sf.set_faults(chaos_redeliver=0.0)  # switched off on the running org: the next ack sticks
    [row] = wait_for(
        lambda: [r for r in _messages_of(sf, "redeliver") if r["status"] == "delivered"],
        30, "the message delivered for good",
    )  # fmt: skip
    assert row["redeliveries"] >= 2 and row["attempts"] == row["redeliveries"] + 1
    assert moved(before, sf.fired()) == {"chaos_redeliver": row["redeliveries"]}
    copies = _received(ack_listener, ids)
    assert len(copies) == row["attempts"] and all(sorted(c) == sorted(ids) for c in copies)
