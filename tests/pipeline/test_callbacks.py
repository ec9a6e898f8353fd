"""The three callback APIs and record reads, against a Salesforce-shaped loopback server."""

from __future__ import annotations

from dataclasses import replace

import pytest
import redis
from prometheus_client import REGISTRY

from gateway.pipeline.settings import PipelineSettings
from gateway.salesforce.auth import TokenManager
from gateway.salesforce.callbacks import (
    RecordUpdate,
    SalesforceClient,
    make_api,
    make_http_session,
    parse_limit_info,
)
from gateway.salesforce.errors import OrgMismatch, SalesforceError
from gateway.settings import CoreSettings
from tests.pipeline.fake_salesforce import ORG_ID, FakeSalesforce

OK_ID = "0065g00000AbC01AAA"
LOCKED_ID = "0065g00000AbC02AAA"
RULE_ID = "0065g00000AbC03AAA"
GONE_ID = "0065g00000AbC04AAA"


def _client(
    api: str, settings: PipelineSettings, core: CoreSettings, client: redis.Redis
) -> SalesforceClient:
    sf = replace(settings.salesforce, callback_api=api)
    http = make_http_session()
    return SalesforceClient(
        sf, make_api(sf, http, core.contracts_dir), TokenManager(sf, core, client, http)
    )


def _seed(fake_sf: FakeSalesforce) -> None:
    for rid in (OK_ID, LOCKED_ID, RULE_ID):
        fake_sf.org.records[rid] = {
            "Id": rid,
            "Name": f"Deal {rid[-5:]}",
            "Amount": 100.5,
            "IsWon": True,
            "CloseDate": "2026-11-27",
            "AccountId": None,
            "Order_Number__c": None,
        }
    fake_sf.org.record_errors[LOCKED_ID] = ["UNABLE_TO_LOCK_ROW"]
    fake_sf.org.record_errors[RULE_ID] = ["FIELD_CUSTOM_VALIDATION_EXCEPTION"]


def _updates() -> list[RecordUpdate]:
    fields = {"Order_Number__c": "SO-000001", "Order_Status__c": "Created"}
    return [RecordUpdate(rid, fields) for rid in (OK_ID, LOCKED_ID, RULE_ID, GONE_ID)]


@pytest.mark.parametrize("api", ["rest", "collections", "soap"])
def test_per_record_outcomes(
    api: str,
    settings: PipelineSettings,
    core: CoreSettings,
    client: redis.Redis,
    fake_sf: FakeSalesforce,
) -> None:
    _seed(fake_sf)
    sf = _client(api, settings, core, client)
    outcomes = sf.update(ORG_ID, _updates())
    assert [o.record_id for o in outcomes] == [OK_ID, LOCKED_ID, RULE_ID, GONE_ID]
    assert [o.kind for o in outcomes] == ["success", "retry", "permanent", "permanent"]
    assert outcomes[1].code == "UNABLE_TO_LOCK_ROW"
    assert outcomes[2].code == "FIELD_CUSTOM_VALIDATION_EXCEPTION"
    assert outcomes[3].code == "ENTITY_IS_DELETED"
    assert fake_sf.org.records[OK_ID]["Order_Number__c"] == "SO-000001"
    assert fake_sf.org.records[OK_ID]["Order_Status__c"] == "Created"
    calls = fake_sf.org.api_calls
    assert calls == (4 if api == "rest" else 1)
    assert REGISTRY.get_sample_value("sfgw_salesforce_api_usage") is not None
    # the lock was released: the retry succeeds
    (again,) = sf.update(ORG_ID, [_updates()[1]])
    assert again.ok


@pytest.mark.parametrize("api", ["rest", "collections", "soap"])
def test_expired_token_is_refreshed_once_then_the_call_is_repeated(
    api: str,
    settings: PipelineSettings,
    core: CoreSettings,
    client: redis.Redis,
    fake_sf: FakeSalesforce,
) -> None:
    _seed(fake_sf)
    sf = _client(api, settings, core, client)
    assert sf.update(ORG_ID, _updates()[:1])[0].ok
    fake_sf.org.expire_all_tokens()
    assert sf.update(ORG_ID, _updates()[:1])[0].ok
    assert fake_sf.org.token_requests == 2


def test_a_second_invalid_session_is_raised_not_looped(
    settings: PipelineSettings, core: CoreSettings, client: redis.Redis, fake_sf: FakeSalesforce
) -> None:
    _seed(fake_sf)
    sf = _client("rest", settings, core, client)
    sf.tokens.get()
    original = fake_sf.org.issue_token

    def useless() -> str:  # Salesforce keeps issuing tokens that do not work
        token = original()
        fake_sf.org.valid_tokens.discard(token)
        return token

    fake_sf.org.expire_all_tokens()
    fake_sf.org.issue_token = useless  # type: ignore[method-assign]
    with pytest.raises(SalesforceError) as caught:
        sf.update(ORG_ID, _updates()[:1])
    assert caught.value.kind == "session"
    assert fake_sf.org.token_requests == 2  # the first token plus exactly one refresh


@pytest.mark.parametrize("api", ["rest", "soap"])
def test_limit_exceeded_is_a_call_level_error(
    api: str,
    settings: PipelineSettings,
    core: CoreSettings,
    client: redis.Redis,
    fake_sf: FakeSalesforce,
) -> None:
    _seed(fake_sf)
    fake_sf.org.call_errors.append("REQUEST_LIMIT_EXCEEDED")
    with pytest.raises(SalesforceError) as caught:
        _client(api, settings, core, client).update(ORG_ID, _updates()[:1])
    assert caught.value.kind == "limit"


@pytest.mark.parametrize("api", ["rest", "soap"])
def test_read_opportunity(
    api: str,
    settings: PipelineSettings,
    core: CoreSettings,
    client: redis.Redis,
    fake_sf: FakeSalesforce,
) -> None:
    _seed(fake_sf)
    sf = _client(api, settings, core, client)
    values = sf.read_opportunity(
        ORG_ID, OK_ID, ["Id", "Name", "Amount", "IsWon", "CloseDate", "AccountId"]
    )
    assert values["Name"] == "Deal C01AA" or values["Name"].startswith("Deal")
    assert values["Amount"] == 100.5 and values["IsWon"] is True
    assert values["CloseDate"] == "2026-11-27" and values["AccountId"] is None
    with pytest.raises(SalesforceError) as caught:
        sf.read_opportunity(ORG_ID, GONE_ID, ["Id", "Name"])
    assert caught.value.kind == "permanent"


def test_legacy_session_id_falls_back_to_oauth_when_expired(
    sf_env: dict[str, str], core: CoreSettings, client: redis.Redis, fake_sf: FakeSalesforce
) -> None:
    _seed(fake_sf)
    settings = PipelineSettings.from_env(
        {**sf_env, "SFGW_SF_USE_SESSION_ID": "true", "SFGW_SALESFORCE_HOSTS": "127.0.0.1"}
    )
    sf = _client("rest", settings, core, client)
    session = fake_sf.org.issue_token()  # a valid session id, as if sent with the message
    legacy = sf.tokens.session_token(session, f"{fake_sf.url}/services/Soap/u/62.0/{ORG_ID[:15]}")
    assert sf.update(ORG_ID, _updates()[:1], legacy=legacy)[0].ok
    assert fake_sf.org.seen_authorization[-1] == f"Bearer {session}"
    requests_before = fake_sf.org.token_requests
    fake_sf.org.valid_tokens.discard(session)  # the session expired
    assert sf.update(ORG_ID, _updates()[:1], legacy=legacy)[0].ok
    assert fake_sf.org.token_requests == requests_before + 1  # OAuth took over


def test_limit_info_header() -> None:
    assert parse_limit_info("api-usage=18/5000") == (18, 5000)
    assert parse_limit_info("per-app-api-usage=1/10(appName=x), api-usage=7/15000") == (7, 15000)
    assert parse_limit_info(None) is None and parse_limit_info("api-usage=x/y") is None


def test_token_of_another_org_is_refused(
    settings: PipelineSettings, core: CoreSettings, client: redis.Redis, fake_sf: FakeSalesforce
) -> None:
    _seed(fake_sf)
    sf = _client("rest", settings, core, client)
    other_org = "00D000000000002AAA"
    with pytest.raises(OrgMismatch) as caught:
        sf.update(other_org, _updates()[:1])
    assert caught.value.kind == "permanent"
    assert "00D000000000002" in str(caught.value)
    assert fake_sf.org.records[OK_ID]["Order_Number__c"] is None
    assert sf.update(ORG_ID, _updates()[:1])[0].ok
