"""`sfgw serve` with twenty-odd outbound-message contracts at once (real gunicorn, real
Redis): every shape is acked on its own route and its jobs carry the values as sent; a
contract that cannot be served stops start-up with one line naming the file."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from devstack.launch import RunningGateway, start_gateway
from gateway.bindings.shape import read_outbound_shape
from gateway.contracttest.checks import expected_jobs
from gateway.contracttest.samples import Message, Notification, full_message
from tests.bindings.corpus import CORPUS
from tests.conftest import FILE_CORPUS, GeneratedContracts, generate_contracts
from tests.intake.conftest import Queues, fault_string, is_ack, post
from tests.intake.messages import ORG

#: the generated (python) corpus entries served beside the file corpus: 10 + 12 = 22
EXTRA = [e for e in CORPUS if e.stem.startswith(("std_", "custom_", "namespaced_", "real_"))][:12]


@pytest.fixture(scope="module")
def many(tmp_path_factory: pytest.TempPathFactory) -> GeneratedContracts:
    sources = tmp_path_factory.mktemp("sources")
    wsdls = list(FILE_CORPUS)
    for entry in EXTRA:
        path = sources / f"many_{entry.stem}.wsdl"
        path.write_text(entry.text())
        wsdls.append(path)
    assert len(wsdls) >= 20
    return generate_contracts(tmp_path_factory.mktemp("many"), wsdls)


@pytest.fixture(scope="module")
def gateway(
    many: GeneratedContracts,
    tmp_path_factory: pytest.TempPathFactory,
    redis_url: str,
    module_prefix: str,
) -> Iterator[RunningGateway]:
    running = start_gateway(
        tmp_path_factory.mktemp("gw"),
        redis_url=redis_url,
        redis_prefix=module_prefix,
        env={**many.env, "SFGW_ALLOWED_ORGS": ORG},
        workers=2,
    )
    try:
        yield running
    finally:
        running.stop()


def _message(path: Path, count: int) -> Message:
    shape = read_outbound_shape(path)
    message = full_message(shape, ORG, count)
    # the same record twice in one message, and a deleted record, as Salesforce may send
    items = list(message.notifications)
    items[-1] = Notification(notification_id=items[-1].notification_id, record_id=None)
    return message.with_notifications(tuple(items))


def test_every_shape_is_acked_on_its_route_with_the_values_as_sent(
    many: GeneratedContracts, gateway: RunningGateway, queues: Queues
) -> None:
    wsdls = sorted((many.contracts / "salesforce").glob("*.wsdl"))
    assert len(wsdls) >= 20
    for wsdl in wsdls:
        queues.clear()
        contract = wsdl.stem
        message = _message(wsdl, 3)
        response = post(gateway.outbound_url(contract), message.xml())
        assert is_ack(response), (contract, response.text[:500])
        queue = "orders" if message.shape.object_name == "Opportunity" else contract
        jobs = [
            {k: job[k] for k in expected_jobs(contract, message)[0]} for job in queues.jobs(queue)
        ]
        assert jobs == expected_jobs(contract, message), contract


def test_a_message_for_another_contract_is_refused_on_this_route(
    gateway: RunningGateway, queues: Queues
) -> None:
    queues.clear()
    body = _message(FILE_CORPUS[0], 1).xml()  # account.wsdl's message
    response = post(gateway.outbound_url("shipment"), body)
    assert "sObject xsi:type must be Shipment__c" in fault_string(response)
    assert queues.jobs("shipment") == []


def _serve(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway.cli", "serve", "--bind", "127.0.0.1:1"],
        env={**os.environ, "SFGW_REDIS_URL": "redis://127.0.0.1:1/0", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_contract_without_bindings_stops_start_up_with_one_line(
    many: GeneratedContracts,
) -> None:
    extra = many.contracts / "salesforce" / "parcel_never_generated.wsdl"
    extra.write_bytes(FILE_CORPUS[-1].read_bytes())
    try:
        result = _serve({**many.env, "SFGW_ALLOWED_ORGS": ORG})
    finally:
        extra.unlink()
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "parcel_never_generated.wsdl" in lines[0]
    assert "run `sfgw bindings generate`" in lines[0]


def test_a_broken_wsdl_stops_start_up_with_one_line(many: GeneratedContracts) -> None:
    extra = many.contracts / "salesforce" / "half_saved.wsdl"
    extra.write_bytes(FILE_CORPUS[0].read_bytes()[:500])
    try:
        result = _serve({**many.env, "SFGW_ALLOWED_ORGS": ORG})
    finally:
        extra.unlink()
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"sfgw: error: {extra} is not well-formed XML (or has a DOCTYPE); "
        "save the WSDL again from Setup"
    ]
