"""The Salesforce client on its three callback APIs, and record reads, against the real
mock org: per-record outcomes, the token rules (refresh once, legacy SessionId falling
back to OAuth, a token of another org) and call-level errors, each fault proven from the
org's own counters."""

from __future__ import annotations

from typing import Any

import pytest
import redis
from prometheus_client import REGISTRY

from devstack.mocks import RunningSalesforce
from gateway.pipeline.settings import WorkerSettings
from gateway.salesforce.api import RecordUpdate, parse_limit_info
from gateway.salesforce.errors import OrgMismatch, SalesforceError
from tests.pipeline.harness import salesforce_client

pytestmark = pytest.mark.slow


def order(oid: str) -> dict[str, str]:
    """The order fields for ``oid``: its own number (the org refuses a number twice)."""
    return {"Order_Number__c": f"SO-{oid}", "Order_Status__c": "Created"}


def moved(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """The counters that changed, by how much."""
    return {k: after[k] - before.get(k, 0) for k in after if after[k] != before.get(k, 0)}


def usage(sf: RunningSalesforce, kind: str) -> int:
    return int(sf.api_usage()[kind])


def record(sf: RunningSalesforce, oid: str) -> dict[str, Any]:
    return next(r for r in sf.opportunities() if r["Id"] == oid)


def four_records(sf: RunningSalesforce) -> tuple[str, str, str, str]:
    """(saved, locked once, refused by a validation rule, deleted)."""
    ok, locked, rule, gone = sf.create_opportunities(4)
    sf.delete_opportunity(gone)
    sf.set_faults(lock_ids={locked: 1}, validation_fail_ids=[rule])
    return ok, locked, rule, gone


@pytest.mark.parametrize("api", ["rest", "collections", "soap"])
def test_per_record_outcomes(
    api: str, settings: WorkerSettings, client: redis.Redis, mock_sf: RunningSalesforce
) -> None:
    ok, locked, rule, gone = four_records(mock_sf)
    sf = salesforce_client(api, settings, client)
    sf.tokens.get()
    calls, fired = usage(mock_sf, "api_requests"), mock_sf.fired()
    outcomes = sf.update(
        mock_sf.org_id, [RecordUpdate(i, order(i)) for i in (ok, locked, rule, gone)]
    )
    assert [o.record_id for o in outcomes] == [ok, locked, rule, gone]
    assert [o.kind for o in outcomes] == ["success", "retry", "permanent", "permanent"]
    assert outcomes[1].code == "UNABLE_TO_LOCK_ROW"
    assert outcomes[2].code == "FIELD_CUSTOM_VALIDATION_EXCEPTION"
    assert outcomes[3].code == "ENTITY_IS_DELETED"
    assert (record(mock_sf, ok)["Order_Number__c"], record(mock_sf, ok)["Order_Status__c"]) == (
        f"SO-{ok}", "Created",
    )  # fmt: skip
    assert usage(mock_sf, "api_requests") - calls == (4 if api == "rest" else 1)
    assert moved(fired, mock_sf.fired()) == {"lock_error": 1, "validation_error": 1}
    assert REGISTRY.get_sample_value("sfgw_salesforce_api_usage") is not None
    # the lock was released: the retry succeeds
    (again,) = sf.update(mock_sf.org_id, [RecordUpdate(locked, order(locked))])
    assert again.ok
    assert record(mock_sf, locked)["Order_Number__c"] == f"SO-{locked}"


@pytest.mark.parametrize("api", ["rest", "collections", "soap"])
def test_expired_token_is_refreshed_once_then_the_call_is_repeated(
    api: str, settings: WorkerSettings, client: redis.Redis, mock_sf: RunningSalesforce
) -> None:
    [oid] = mock_sf.create_opportunities(1)
    sf = salesforce_client(api, settings, client)
    tokens, fired = usage(mock_sf, "token_requests"), mock_sf.fired()
    assert sf.update(mock_sf.org_id, [RecordUpdate(oid, order(oid))])[0].ok
    assert mock_sf.expire_sessions() >= 1
    assert sf.update(mock_sf.org_id, [RecordUpdate(oid, order(oid))])[0].ok
    assert usage(mock_sf, "token_requests") - tokens == 2
    assert moved(fired, mock_sf.fired()) == {"invalid_session": 1}  # the expired one, once


def test_a_second_invalid_session_is_raised_not_looped(
    settings: WorkerSettings, client: redis.Redis, mock_sf: RunningSalesforce
) -> None:
    [oid] = mock_sf.create_opportunities(1)
    sf = salesforce_client("rest", settings, client)
    tokens = usage(mock_sf, "token_requests")
    sf.tokens.get()
    mock_sf.expire_sessions()
    mock_sf.set_faults(issue_expired_tokens=True)  # Salesforce keeps issuing dead tokens
    fired = mock_sf.fired()
    with pytest.raises(SalesforceError) as caught:
        sf.update(mock_sf.org_id, [RecordUpdate(oid, order(oid))])
    assert caught.value.kind == "session"
    assert usage(mock_sf, "token_requests") - tokens == 2  # the first token + one refresh
    assert moved(fired, mock_sf.fired()) == {"invalid_session": 2}


@pytest.mark.parametrize("api", ["rest", "collections", "soap"])
def test_limit_exceeded_is_a_call_level_error(
    api: str, settings: WorkerSettings, client: redis.Redis, mock_sf: RunningSalesforce
) -> None:
    [oid] = mock_sf.create_opportunities(1)
    sf = salesforce_client(api, settings, client)
    sf.tokens.get()
    mock_sf.set_faults(call_errors=["REQUEST_LIMIT_EXCEEDED"])
    fired = mock_sf.fired()
    with pytest.raises(SalesforceError) as caught:
        sf.update(mock_sf.org_id, [RecordUpdate(oid, order(oid))])
    assert caught.value.kind == "limit"
    assert moved(fired, mock_sf.fired()) == {"limit_exceeded": 1}
    assert record(mock_sf, oid)["Order_Number__c"] is None


@pytest.mark.parametrize("api", ["rest", "soap"])
def test_read_opportunity(
    api: str, settings: WorkerSettings, client: redis.Redis, mock_sf: RunningSalesforce
) -> None:
    live, gone = mock_sf.create_opportunities(2)
    mock_sf.update_opportunity(
        live, Name="Deal C01AA", Amount=100.5, CloseDate="2026-11-27", AccountId=None,
        StageName="Closed Won",
    )  # fmt: skip
    mock_sf.delete_opportunity(gone)
    sf = salesforce_client(api, settings, client)
    values = sf.read_opportunity(
        mock_sf.org_id, live, ["Id", "Name", "Amount", "IsWon", "CloseDate", "AccountId"]
    )
    assert values["Id"] == live and values["Name"] == "Deal C01AA"
    assert values["Amount"] == 100.5 and values["IsWon"] is True
    assert values["CloseDate"] == "2026-11-27" and values["AccountId"] is None
    with pytest.raises(SalesforceError) as caught:
        sf.read_opportunity(mock_sf.org_id, gone, ["Id", "Name"])
    assert caught.value.code == "ENTITY_IS_DELETED" and caught.value.kind == "permanent"


def test_legacy_session_id_falls_back_to_oauth_when_expired(
    sf_env: dict[str, str], client: redis.Redis, mock_sf: RunningSalesforce
) -> None:
    [oid] = mock_sf.create_opportunities(1)
    settings = WorkerSettings.from_env(
        {**sf_env, "SFGW_SF_USE_SESSION_ID": "true", "SFGW_SALESFORCE_HOSTS": "127.0.0.1"}
    )
    sf = salesforce_client("rest", settings, client)
    mock_sf.expire_sessions()  # what earlier tests left: only this test's session is live
    session = mock_sf.new_session_id()  # a valid session id, as if sent with the message
    legacy = sf.tokens.session_token(
        session, f"{mock_sf.url}/services/Soap/u/62.0/{mock_sf.org_id[:15]}"
    )
    tokens, fired = usage(mock_sf, "token_requests"), mock_sf.fired()
    assert sf.update(mock_sf.org_id, [RecordUpdate(oid, order(oid))], legacy=legacy)[0].ok
    assert usage(mock_sf, "token_requests") == tokens  # the SessionId alone did it
    assert mock_sf.expire_sessions() == 1  # the session expired
    assert sf.update(mock_sf.org_id, [RecordUpdate(oid, order(oid))], legacy=legacy)[0].ok
    assert usage(mock_sf, "token_requests") - tokens == 1  # OAuth took over
    assert moved(fired, mock_sf.fired()) == {"invalid_session": 1}


def test_limit_info_header() -> None:
    assert parse_limit_info("api-usage=18/5000") == (18, 5000)
    assert parse_limit_info("per-app-api-usage=1/10(appName=x), api-usage=7/15000") == (7, 15000)
    assert parse_limit_info(None) is None and parse_limit_info("api-usage=x/y") is None


def test_token_of_another_org_is_refused(
    settings: WorkerSettings, client: redis.Redis, mock_sf: RunningSalesforce
) -> None:
    [oid] = mock_sf.create_opportunities(1)
    sf = salesforce_client("rest", settings, client)
    other_org = "00D000000000002AAA"
    calls = usage(mock_sf, "api_requests")
    with pytest.raises(OrgMismatch) as caught:
        sf.update(other_org, [RecordUpdate(oid, order(oid))])
    assert caught.value.kind == "permanent"
    assert "00D000000000002" in str(caught.value)
    assert usage(mock_sf, "api_requests") == calls  # refused before any call
    assert record(mock_sf, oid)["Order_Number__c"] is None
    assert sf.update(mock_sf.org_id, [RecordUpdate(oid, order(oid))])[0].ok


@pytest.mark.parametrize("api", ["rest", "collections", "soap"])
def test_read_update_and_deleted_records(
    api: str, settings: WorkerSettings, client: redis.Redis, mock_sf: RunningSalesforce
) -> None:
    """Token shape (``id``, ``instance_url``), reads (REST and SOAP ``retrieve`` with its
    nil result for a deleted record) and a batch with a deleted record in it."""
    sf = salesforce_client(api, settings, client)
    live, gone = mock_sf.create_opportunities(2)
    mock_sf.delete_opportunity(gone)
    read = sf.read_opportunity(mock_sf.org_id, live, ("Id", "Name", "Amount", "CloseDate"))
    assert read["Id"] == live and read["Name"] == record(mock_sf, live)["Name"]
    with pytest.raises(SalesforceError) as caught:
        sf.read_opportunity(mock_sf.org_id, gone, ("Id", "Name"))
    assert caught.value.code == "ENTITY_IS_DELETED" and caught.value.kind == "permanent"
    ok, deleted = sf.update(
        mock_sf.org_id, [RecordUpdate(live, order(live)), RecordUpdate(gone, order(gone))]
    )
    assert ok.ok, ok
    assert not deleted.ok and deleted.kind == "permanent", deleted
    row = record(mock_sf, live)
    assert (row["Order_Number__c"], row["Order_Status__c"]) == (f"SO-{live}", "Created")
