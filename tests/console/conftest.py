"""Fixtures of the trail and console tests: a Redis client and settings under a key
prefix of the test's own (never flushed), and jobs shaped as the gateway makes them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis

from gateway import sfid
from gateway.jobs import NotificationJob
from gateway.settings import CoreSettings

ORG18 = "00D5g000004SfGwEAK"
ORG = ORG18[:15]


@pytest.fixture
def core(redis_url: str, redis_prefix: str) -> CoreSettings:
    return CoreSettings.from_env({"SFGW_REDIS_URL": redis_url, "SFGW_REDIS_PREFIX": redis_prefix})


@pytest.fixture
def client(redis_url: str, core: CoreSettings) -> Iterator[redis.Redis]:
    connection = redis.Redis.from_url(redis_url)
    try:
        yield connection
    finally:
        keys = list(connection.scan_iter(match=f"{core.redis_prefix}:*", count=1000))
        if keys:
            connection.delete(*keys)
        connection.close()


def opportunity(n: int) -> str:
    return sfid.to18(f"0065g0000{n:06d}")


def job(n: int, *, record: str | None = "", fields: dict | None = None) -> NotificationJob:
    return NotificationJob(
        contract="opportunity_with_fields",
        organization_id=ORG18,
        action_id="04k5g000000ABCD",
        notification_id=f"04l{n:012d}AAA",
        object_type="Opportunity",
        record_id=opportunity(n) if record == "" else record,
        fields=fields
        if fields is not None
        else {"Name": f"Deal {n}", "AccountId": "0015g00000XyZaB", "Amount": 100.0 + n,
              "CloseDate": "2026-11-27",
              "IsWon": True, "Order_Number__c": None},
        partner_url="https://acme.my.salesforce.com/services/Soap/u/62.0/00D5g000004SfGw",
    )  # fmt: skip
