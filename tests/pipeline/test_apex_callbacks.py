"""The Apex callback APIs (``apex_soap``, ``apex_rest``) against the real mock org, which
serves the bundle's SfgwOrderService classes: per-record outcomes in one call, a throw of
the whole call, an org without the classes, and the session rules, each fault proven
from the org's own counters."""

from __future__ import annotations

import logging
from typing import Any

import pytest
import redis

from devstack.mocks import RunningSalesforce
from gateway.pipeline.settings import WorkerSettings
from gateway.salesforce import apex
from gateway.salesforce.apex import ApexNotDeployed
from gateway.salesforce.api import RecordUpdate
from gateway.salesforce.errors import ApexCallFailed, SalesforceError
from tests.pipeline.harness import salesforce_client

pytestmark = pytest.mark.slow

APEX_APIS = ["apex_soap", "apex_rest"]


def order(oid: str) -> dict[str, str]:
    """The order fields for ``oid``: its own number (the org refuses a number twice)."""
    return {"Order_Number__c": f"SO-{oid}", "Order_Status__c": "Created"}


def calls(sf: RunningSalesforce) -> int:
    return int(sf.api_usage()["api_requests"])


def record(sf: RunningSalesforce, oid: str) -> dict[str, Any]:
    return next(r for r in sf.opportunities() if r["Id"] == oid)


@pytest.mark.parametrize("api", APEX_APIS)
def test_one_call_settles_each_record_on_its_own(
    api: str, settings: WorkerSettings, client: redis.Redis, mock_sf: RunningSalesforce
) -> None:
    ok, locked, rule, gone = mock_sf.create_opportunities(4)
    mock_sf.delete_opportunity(gone)
    mock_sf.set_faults(lock_ids={locked: 1}, validation_fail_ids=[rule])
    sf = salesforce_client(api, settings, client)
    sf.tokens.get()
    before, fired = calls(mock_sf), mock_sf.fired()
    outcomes = sf.update(
        mock_sf.org_id, [RecordUpdate(i, order(i)) for i in (ok, locked, rule, gone)]
    )
    assert [o.record_id for o in outcomes] == [ok, locked, rule, gone]
    assert [(o.kind, o.code) for o in outcomes] == [
        ("success", ""),
        ("retry", "UNABLE_TO_LOCK_ROW"),
        ("permanent", "FIELD_CUSTOM_VALIDATION_EXCEPTION"),
        ("permanent", "ENTITY_IS_DELETED"),
    ]
    assert "validation rule" in outcomes[2].message
    assert record(mock_sf, ok)["Order_Number__c"] == f"SO-{ok}"
    assert record(mock_sf, locked)["Order_Number__c"] is None
    assert calls(mock_sf) - before == 1
    after = mock_sf.fired()
    assert after["lock_error"] - fired["lock_error"] == 1
    assert after["validation_error"] - fired["validation_error"] == 1


@pytest.mark.parametrize("api", APEX_APIS)
def test_a_batch_above_the_row_limit_throws_and_saves_nothing(
    api: str, settings: WorkerSettings, client: redis.Redis, mock_sf: RunningSalesforce
) -> None:
    ids = mock_sf.create_opportunities(5)
    mock_sf.set_apex(dml_row_limit=4)
    sf = salesforce_client(api, settings, client)
    with pytest.raises(ApexCallFailed, match=r"System\.LimitException: Too many DML rows: 5"):
        sf.update(mock_sf.org_id, [RecordUpdate(i, order(i)) for i in ids])
    assert all(record(mock_sf, i)["Order_Number__c"] is None for i in ids)
    outcomes = sf.update(mock_sf.org_id, [RecordUpdate(i, order(i)) for i in ids[:4]])
    assert all(o.ok for o in outcomes)


@pytest.mark.parametrize("api", APEX_APIS)
def test_a_record_of_another_object_makes_the_class_throw(
    api: str, settings: WorkerSettings, client: redis.Redis, mock_sf: RunningSalesforce
) -> None:
    (oid,) = mock_sf.create_opportunities(1)
    sf = salesforce_client(api, settings, client)
    account = "001000000000001AAA"
    with pytest.raises(ApexCallFailed, match="SObjectException"):
        sf.update(
            mock_sf.org_id, [RecordUpdate(oid, order(oid)), RecordUpdate(account, order(account))]
        )
    assert record(mock_sf, oid)["Order_Number__c"] is None


@pytest.mark.parametrize("api", APEX_APIS)
def test_an_org_without_the_classes_is_named_in_one_log_line(  # noqa: PLR0917 - fixtures
    api: str,
    settings: WorkerSettings,
    client: redis.Redis,
    mock_sf: RunningSalesforce,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(apex, "_warn_not_deployed", apex._NotDeployedWarning())
    (oid,) = mock_sf.create_opportunities(1)
    mock_sf.set_apex(deployed=False)
    sf = salesforce_client(api, settings, client)
    caplog.set_level(logging.ERROR, logger="sfgw.salesforce")
    for _ in range(3):
        with pytest.raises(ApexNotDeployed) as caught:
            sf.update(mock_sf.org_id, [RecordUpdate(oid, order(oid))])
        assert caught.value.kind == "limit"  # waits long, never dead-lettered at once
    lines = [r.getMessage() for r in caplog.records if "SfgwOrderService" in r.getMessage()]
    assert len(lines) == 1  # one line per process and quarter hour, not one per call
    assert "sfgw org bundle" in lines[0] and f"SFGW_CALLBACK_API={api}" in lines[0]
    mock_sf.set_apex(deployed=True)
    assert sf.update(mock_sf.org_id, [RecordUpdate(oid, order(oid))])[0].ok


@pytest.mark.parametrize("api", APEX_APIS)
def test_an_expired_token_is_refreshed_once_and_the_call_repeated(
    api: str, settings: WorkerSettings, client: redis.Redis, mock_sf: RunningSalesforce
) -> None:
    (oid,) = mock_sf.create_opportunities(1)
    sf = salesforce_client(api, settings, client)
    sf.tokens.get()
    tokens, fired = mock_sf.api_usage()["token_requests"], mock_sf.fired()
    mock_sf.expire_sessions()
    assert sf.update(mock_sf.org_id, [RecordUpdate(oid, order(oid))])[0].ok
    assert mock_sf.api_usage()["token_requests"] - tokens == 1
    assert mock_sf.fired()["invalid_session"] - fired["invalid_session"] == 1


@pytest.mark.parametrize("api", APEX_APIS)
def test_the_daily_limit_is_a_call_level_error(
    api: str, settings: WorkerSettings, client: redis.Redis, mock_sf: RunningSalesforce
) -> None:
    (oid,) = mock_sf.create_opportunities(1)
    sf = salesforce_client(api, settings, client)
    sf.tokens.get()
    mock_sf.set_faults(call_errors=["REQUEST_LIMIT_EXCEEDED"])
    with pytest.raises(SalesforceError) as caught:
        sf.update(mock_sf.org_id, [RecordUpdate(oid, order(oid))])
    assert (caught.value.code, caught.value.kind) == ("REQUEST_LIMIT_EXCEEDED", "limit")


@pytest.mark.parametrize("api", APEX_APIS)
def test_an_unavailable_org_is_a_call_to_retry_not_a_throw_of_the_class(
    api: str, settings: WorkerSettings, client: redis.Redis, mock_sf: RunningSalesforce
) -> None:
    """SERVER_UNAVAILABLE never reached the Apex: narrowing it down to a record would
    dead-letter a good record."""
    (oid,) = mock_sf.create_opportunities(1)
    sf = salesforce_client(api, settings, client)
    sf.tokens.get()
    mock_sf.set_faults(call_errors=["SERVER_UNAVAILABLE"])
    with pytest.raises(SalesforceError) as caught:
        sf.update(mock_sf.org_id, [RecordUpdate(oid, order(oid))])
    assert not isinstance(caught.value, ApexCallFailed)
    assert (caught.value.code, caught.value.kind) == ("SERVER_UNAVAILABLE", "retry")
    assert sf.update(mock_sf.org_id, [RecordUpdate(oid, order(oid))])[0].ok


@pytest.mark.parametrize("api", APEX_APIS)
def test_the_legacy_session_id_works_here_too(
    api: str, settings: WorkerSettings, client: redis.Redis, mock_sf: RunningSalesforce
) -> None:
    from gateway.salesforce.auth import AccessToken

    (oid,) = mock_sf.create_opportunities(1)
    sf = salesforce_client(api, settings, client)
    legacy = AccessToken(
        value=mock_sf.new_session_id(), instance_url=mock_sf.url, source="session_id"
    )
    tokens = mock_sf.api_usage()["token_requests"]
    assert sf.update(mock_sf.org_id, [RecordUpdate(oid, order(oid))], legacy=legacy)[0].ok
    assert mock_sf.api_usage()["token_requests"] == tokens  # the message's session, no token
