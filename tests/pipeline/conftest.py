"""Fixtures of the pipeline tests: settings, a Redis client on the session server, and
the small Salesforce-shaped HTTP server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis
from cryptography.fernet import Fernet

from gateway.pipeline.settings import PipelineSettings
from gateway.settings import CoreSettings
from tests.pipeline.fake_salesforce import FakeSalesforce


@pytest.fixture
def fake_sf() -> Iterator[FakeSalesforce]:
    with FakeSalesforce() as server:
        yield server


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
def sf_env(base_env: dict[str, str], fake_sf: FakeSalesforce) -> dict[str, str]:
    return {
        **base_env,
        "SFGW_SF_LOGIN_URL": fake_sf.url,
        "SFGW_SF_CLIENT_ID": "3MVG9-consumer-key",
        "SFGW_SF_CLIENT_SECRET": "consumer-secret-value",
        "SFGW_SF_TIMEOUT_MS": "5000",
        "SFGW_RETRY_MIN_BACKOFF_MS": "50",
        "SFGW_RETRY_MAX_BACKOFF_MS": "200",
        "SFGW_RETRY_LIMIT_BACKOFF_MS": "300",
    }


@pytest.fixture
def core(base_env: dict[str, str]) -> CoreSettings:
    return CoreSettings.from_env(base_env)


@pytest.fixture
def settings(sf_env: dict[str, str]) -> PipelineSettings:
    return PipelineSettings.from_env(sf_env)


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
