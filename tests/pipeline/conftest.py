"""Fixtures of the pipeline tests: Redis, settings, and the real mock Salesforce org and
mock ERP as processes (one of each per test module, started on first use).

Every test that uses a mock starts with its faults cleared and leaves them cleared; the
mocks' counters are never reset, so tests compare readings (``fired()``,
``api_usage()``) taken before and after what they do.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from cryptography.fernet import Fernet

from devstack.mocks import RunningErp, RunningSalesforce, start_mock_erp, start_mock_salesforce
from gateway.pipeline.settings import WorkerSettings
from gateway.settings import CoreSettings
from mock_salesforce.faults import DEFAULT_FAULTS
from mock_salesforce.store.apex_classes import DML_ROW_LIMIT
from tests.salesforce.keys import KeyPair, make_keypair

CLIENT_ID = "3MVG9-consumer-key"
CLIENT_SECRET = "consumer-secret-value"
#: The JWT bearer flow's user and audience, as the org is configured to expect them.
USERNAME = "integration@example.com"
AUDIENCE = "https://test.salesforce.com"


@pytest.fixture(scope="session")
def jwt_keys() -> KeyPair:
    return make_keypair()


@pytest.fixture(scope="module")
def mock_sf(
    tmp_path_factory: pytest.TempPathFactory, jwt_keys: KeyPair
) -> Iterator[RunningSalesforce]:
    """The mock org: the OAuth client of :func:`sf_env`, and JWT bearer for ``jwt_keys``."""
    running = start_mock_salesforce(
        Path(tmp_path_factory.mktemp("sf")),
        gateway_url=None,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        jwt_cert_pem=jwt_keys.cert_pem,
        username=USERNAME,
        login_url=AUDIENCE,
    )
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def mock_erp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningErp]:
    running = start_mock_erp(Path(tmp_path_factory.mktemp("erp")))
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(autouse=True)
def _clean_mocks(request: pytest.FixtureRequest) -> Iterator[None]:
    """No fault of one test reaches the next (only for tests that use a mock)."""
    sf: RunningSalesforce | None = None
    erp: RunningErp | None = None
    if "mock_sf" in request.fixturenames:
        sf = request.getfixturevalue("mock_sf")
    if "mock_erp" in request.fixturenames:
        erp = request.getfixturevalue("mock_erp")

    def clean() -> None:
        if sf is not None and sf.process.running():
            sf.set_faults(**DEFAULT_FAULTS)
            sf.set_apex(deployed=True, dml_row_limit=DML_ROW_LIMIT)
        if erp is not None and erp.child.running():
            erp.set_faults()

    clean()
    yield
    clean()


@pytest.fixture
def secret_key() -> str:
    return Fernet.generate_key().decode()


@pytest.fixture
def base_env(redis_url: str, redis_prefix: str, secret_key: str) -> dict[str, str]:
    return {
        "SFGW_REDIS_URL": redis_url,
        "SFGW_REDIS_PREFIX": redis_prefix,
        "SFGW_SECRET_KEY": secret_key,
    }


@pytest.fixture
def sf_env(base_env: dict[str, str], mock_sf: RunningSalesforce) -> dict[str, str]:
    """Workers that call the mock org back over OAuth, with short retry waits."""
    return {
        **base_env,
        "SFGW_SF_LOGIN_URL": mock_sf.url,
        "SFGW_SF_CLIENT_ID": CLIENT_ID,
        "SFGW_SF_CLIENT_SECRET": CLIENT_SECRET,
        "SFGW_SF_TIMEOUT_MS": "5000",
        "SFGW_RETRY_MIN_BACKOFF_MS": "50",
        "SFGW_RETRY_MAX_BACKOFF_MS": "200",
        "SFGW_RETRY_LIMIT_BACKOFF_MS": "300",
    }


@pytest.fixture
def pipeline_env(sf_env: dict[str, str], mock_erp: RunningErp) -> dict[str, str]:
    """:func:`sf_env`, and the mock ERP as the workers' ERP."""
    return {**sf_env, "SFGW_ERP_URL": mock_erp.url, "SFGW_ERP_READ_TIMEOUT_S": "10"}


@pytest.fixture
def settings(pipeline_env: dict[str, str]) -> WorkerSettings:
    return WorkerSettings.from_env(pipeline_env)


@pytest.fixture
def core(base_env: dict[str, str]) -> CoreSettings:
    return CoreSettings.from_env(base_env)


@pytest.fixture
def client(redis_url: str, redis_prefix: str) -> Iterator[redis.Redis]:
    connection = redis.Redis.from_url(redis_url)
    try:
        yield connection
    finally:
        keys = list(connection.scan_iter(match=f"{redis_prefix}:*", count=1000))
        if keys:
            connection.delete(*keys)
        connection.close()
