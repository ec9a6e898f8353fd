"""Fixtures for the intake tests: a real gunicorn gateway on a real Redis."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis
import requests
from lxml import etree

from devstack.launch import RunningGateway, start_gateway
from gateway.broker import QueueKeys
from gateway.namespaces import SOAP11_ENVELOPE
from gateway.settings import CoreSettings
from tests.intake.messages import CONTRACTS, ORG
from tests.intake.schema import reply_schema

CONTRACT = "opportunity_with_fields"
SECRET_KEY = "q3fV0Yl0m0mC2xYQyJw3n0X5pVsf3v9c7kQ2E1aN8bM="
KNOWN_SESSION = "00D7F00000107Xs!AQ4AQKnownSecretSessionValue"


@dataclass
class Queues:
    """Read what the gateway wrote under one prefix (never touches other keys)."""

    client: redis.Redis
    prefix: str

    def messages(self, queue: str = "orders") -> list[dict[str, Any]]:
        keys = QueueKeys.of(CoreSettings.from_env({"SFGW_REDIS_PREFIX": self.prefix}))
        ids = self.client.lrange(keys.ready(queue), 0, -1)
        payloads = self.client.hgetall(keys.messages(queue))
        assert len(ids) == len(payloads), "queue list and message hash disagree"
        return [json.loads(payloads[i]) for i in ids]

    def jobs(self, queue: str = "orders") -> list[dict[str, Any]]:
        return [m["args"][0] for m in self.messages(queue)]

    def clear(self) -> None:
        keys = list(self.client.scan_iter(f"{self.prefix}:*", count=1000))
        if keys:
            self.client.delete(*keys)


def post(url: str, body: bytes, **kwargs: Any) -> requests.Response:
    headers = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '""'}
    headers.update(kwargs.pop("headers", {}))
    return requests.post(url, data=body, headers=headers, timeout=30, **kwargs)


def fault_string(response: requests.Response) -> str:
    assert response.status_code == 500, response.text[:300]
    assert response.headers["Content-Type"].startswith("text/xml")
    root = etree.fromstring(response.content)
    fault = root.find(f"{{{SOAP11_ENVELOPE}}}Body/{{{SOAP11_ENVELOPE}}}Fault")
    assert fault is not None, response.text[:300]
    return fault.findtext("faultstring") or ""


def is_ack(response: requests.Response) -> bool:
    return (
        response.status_code == 200
        and response.headers["Content-Type"].startswith("text/xml")
        and b"<Ack>true</Ack>" in response.content
    )


@pytest.fixture(scope="module")
def module_prefix() -> str:
    return f"sfgwtest-{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="module")
def gateway(
    tmp_path_factory: pytest.TempPathFactory, redis_url: str, module_prefix: str
) -> Iterator[RunningGateway]:
    running = start_gateway(
        tmp_path_factory.mktemp("gateway"),
        redis_url=redis_url,
        redis_prefix=module_prefix,
        env={
            "SFGW_ALLOWED_ORGS": ORG,
            "SFGW_SECRET_KEY": SECRET_KEY,
            "SFGW_ENQUEUE_TIMEOUT_MS": "2000",
        },
        workers=2,
    )
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def queues(redis_url: str, module_prefix: str) -> Iterator[Queues]:
    client = redis.Redis.from_url(redis_url)
    q = Queues(client, module_prefix)
    try:
        yield q
    finally:
        q.clear()
        client.close()


@pytest.fixture(scope="module")
def schema(tmp_path_factory: pytest.TempPathFactory) -> etree.XMLSchema:
    return reply_schema(CONTRACTS / f"{CONTRACT}.wsdl", tmp_path_factory.mktemp("xsd"))


@pytest.fixture
def soap_url(gateway: RunningGateway) -> str:
    return gateway.outbound_url(CONTRACT)


@pytest.fixture
def empty_queues(queues: Queues) -> Queues:
    queues.clear()
    return queues


def repo_path() -> Path:
    return Path(__file__).resolve().parents[2]
