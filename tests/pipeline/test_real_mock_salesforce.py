"""The Salesforce clients against the real mock Salesforce process: token shape
(``id``, ``instance_url``), reads (REST and SOAP ``retrieve`` with its nil result for a
deleted record), 404 bodies and per-record update errors."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from devstack.mocks import RunningSalesforce, start_mock_salesforce
from gateway.pipeline.settings import PipelineSettings
from gateway.salesforce.auth import TokenManager
from gateway.salesforce.callbacks import (
    RecordUpdate,
    SalesforceClient,
    make_api,
    make_http_session,
)
from gateway.salesforce.errors import SalesforceError
from gateway.settings import CoreSettings

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def mock_sf(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSalesforce]:
    running = start_mock_salesforce(Path(tmp_path_factory.mktemp("sf")), gateway_url=None)
    try:
        yield running
    finally:
        running.stop()


def _client(
    api: str, mock_sf: RunningSalesforce, base_env: dict[str, str], client: redis.Redis
) -> SalesforceClient:
    env = {
        **base_env,
        "SFGW_CALLBACK_API": api,
        "SFGW_SF_LOGIN_URL": mock_sf.url,
        "SFGW_SF_CLIENT_ID": mock_sf.client_id,
        "SFGW_SF_CLIENT_SECRET": mock_sf.client_secret,
    }
    sf = PipelineSettings.from_env(env).salesforce
    core = CoreSettings.from_env(env)
    http = make_http_session()
    return SalesforceClient(
        sf, make_api(sf, http, core.contracts_dir), TokenManager(sf, core, client, http)
    )


@pytest.mark.parametrize("api", ["rest", "collections", "soap"])
def test_read_update_and_deleted_records(
    api: str, mock_sf: RunningSalesforce, base_env: dict[str, str], client: redis.Redis
) -> None:
    sf = _client(api, mock_sf, base_env, client)
    live, gone = mock_sf.create_opportunities(2)
    mock_sf.delete_opportunity(gone)

    read = sf.read_opportunity(mock_sf.org_id, live, ("Id", "Name", "Amount", "CloseDate"))
    assert read["Id"] == live and read["Name"]

    with pytest.raises(SalesforceError) as caught:
        sf.read_opportunity(mock_sf.org_id, gone, ("Id", "Name"))
    assert caught.value.code == "ENTITY_IS_DELETED" and caught.value.kind == "permanent"

    fields = {"Order_Number__c": "SO-000777", "Order_Status__c": "Created"}
    ok, deleted = sf.update(
        mock_sf.org_id, [RecordUpdate(live, fields), RecordUpdate(gone, fields)]
    )
    assert ok.ok, ok
    assert not deleted.ok and deleted.kind == "permanent", deleted
    row = next(r for r in mock_sf.opportunities() if r["Id"] == live)
    assert (row["Order_Number__c"], row["Order_Status__c"]) == ("SO-000777", "Created")
