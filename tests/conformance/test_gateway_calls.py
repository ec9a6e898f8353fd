"""The gateway's own calls to Salesforce pass the same conformance as any client: its
token requests (client credentials in the body, JWT bearer), its five callback APIs, its
record reads and the reconciliation query, sent through the gateway's real clients to the
strict mock org. Every request the gateway makes must be one a real org accepts: the
transport records each reply and the tests require them all below 400, so a request in
the mock's old dialect (a quoted date, a path a real org does not have) fails here.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
from cryptography.fernet import Fernet

from devstack.mocks import RunningSalesforce
from gateway.pipeline.reconcile import build_query
from gateway.salesforce.api import RecordUpdate
from gateway.salesforce.client import SalesforceClient, build_client
from gateway.salesforce.settings import SalesforceSettings
from gateway.secrets import SecretBox
from gateway.settings import CoreSettings
from tests.salesforce.keys import KeyPair

from .conftest import (
    CLIENT_ID,
    CLIENT_SECRET,
    INSTANCE_URL,
    LOGIN_URL,
    USERNAME,
    MockOrgTransport,
    mapped_session,
)

APIS = ("rest", "collections", "soap", "apex_soap", "apex_rest")
READ = ("Id", "Name", "Amount", "CloseDate", "StageName", "IsWon", "Order_Number__c")


@dataclass(frozen=True)
class Gateway:
    """What a gateway worker needs to reach the org: its environment and its Redis."""

    org: RunningSalesforce
    connection: redis.Redis
    env: dict[str, str]
    jwt_keys: KeyPair
    workdir: Path


def gateway_client(gw: Gateway, api: str, auth: str) -> tuple[SalesforceClient, MockOrgTransport]:
    """The client a worker builds, with the mapped session as its HTTP session."""
    org = gw.org
    settings_env = {**gw.env, "SFGW_CALLBACK_API": api, "SFGW_SF_CLIENT_ID": CLIENT_ID}
    if auth == "jwt_bearer":
        key = gw.workdir / "jwt.key"
        key.write_bytes(gw.jwt_keys.private_pem)
        settings_env.update(
            SFGW_SF_AUTH="jwt_bearer", SFGW_SF_LOGIN_URL=LOGIN_URL, SFGW_SF_USERNAME=USERNAME,
            SFGW_SF_PRIVATE_KEY_FILE=str(key),
        )  # fmt: skip
    else:
        settings_env.update(SFGW_SF_LOGIN_URL=INSTANCE_URL, SFGW_SF_CLIENT_SECRET=CLIENT_SECRET)
    core = CoreSettings.from_env(settings_env)
    session = mapped_session(org)
    transport = session.get_adapter(INSTANCE_URL)
    assert isinstance(transport, MockOrgTransport)
    client = build_client(
        SalesforceSettings.from_env(settings_env), core=core, redis_client=gw.connection,
        http=session,
        box=SecretBox(core.require_secret_key()),
        partner_wsdl=core.contracts_dir / "salesforce" / "partner.wsdl",
    )  # fmt: skip
    return client, transport


@pytest.fixture
def gateway(
    org: RunningSalesforce, redis_url: str, redis_prefix: str, jwt_keys: KeyPair, tmp_path: Path
) -> Iterator[Gateway]:
    env = {
        "SFGW_REDIS_URL": redis_url,
        "SFGW_REDIS_PREFIX": redis_prefix,
        "SFGW_SECRET_KEY": Fernet.generate_key().decode(),
    }
    connection = redis.Redis.from_url(redis_url)
    try:
        yield Gateway(org, connection, env, jwt_keys, tmp_path)
    finally:
        keys = list(connection.scan_iter(match=f"{redis_prefix}:*", count=1000))
        if keys:
            connection.delete(*keys)
        connection.close()


@pytest.mark.parametrize("auth", ["client_credentials", "jwt_bearer"])
@pytest.mark.parametrize("api", APIS)
def test_the_gateways_callbacks_are_accepted_as_a_real_org_accepts_them(
    gateway: Gateway, api: str, auth: str
) -> None:
    org = gateway.org
    client, transport = gateway_client(gateway, api, auth)
    a, b = org.create_opportunities(2)
    outcomes = client.update(org.org_id, [
        RecordUpdate(a, {"Order_Number__c": f"SO-{api}-{auth}-{a}", "Order_Status__c": "Created"}),
        RecordUpdate(b, {"Order_Number__c": f"SO-{api}-{auth}-{b}", "Order_Status__c": "OnHold"}),
    ])  # fmt: skip
    assert [o.ok for o in outcomes] == [True, True], outcomes
    read = client.read_opportunity(org.org_id, a, READ)
    assert read["Id"] == a and read["Order_Number__c"] == f"SO-{api}-{auth}-{a}"
    assert [status for _, _, status in transport.sent if status >= 400] == []
    assert any(path == "/services/oauth2/token" for _, path, _ in transport.sent)


def test_the_reconciliation_query_is_soql_a_real_org_runs(gateway: Gateway) -> None:
    org = gateway.org
    client, transport = gateway_client(gateway, "collections", "client_credentials")
    since = time.time() - 1
    won = org.create_opportunities(3)
    for oid in won:
        org.update_opportunity(oid, StageName="Closed Won")
    org.update_opportunity(won[0], Order_Number__c=f"SO-RECONCILED-{won[0]}")
    soql = build_query(since, time.time(), "Order_Number__c")
    _, pages = client.query(soql, batch_size=200)
    found = {r["Id"] for r in pages}
    assert set(won[1:]) <= found and won[0] not in found
    assert [status for _, _, status in transport.sent if status >= 400] == []
