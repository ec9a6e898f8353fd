"""Durable before ack: Redis outages, slow Redis, SIGKILLed workers, real consumers."""

from __future__ import annotations

import contextlib
import signal
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import dramatiq
import psutil
import pytest
import redis
import requests
from dramatiq.brokers.redis import RedisBroker
from dramatiq.worker import Worker

from devstack.embedded_redis import EmbeddedRedis
from devstack.launch import RunningGateway, start_gateway
from gateway.broker import broker_namespace
from gateway.jobs import NotificationJob
from gateway.settings import CoreSettings
from tests.intake.conftest import CONTRACT, Queues, fault_string, is_ack, post
from tests.intake.messages import ORG, simple_message


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[EmbeddedRedis]:
    """A Redis only this test uses: it gets stopped, paused and restarted."""
    server = EmbeddedRedis(tmp_path / "redis").start()
    try:
        yield server
    finally:
        server.stop()


def start(tmp_path: Path, url: str, prefix: str, workers: int = 2, **env: str) -> RunningGateway:
    settings = {"SFGW_ALLOWED_ORGS": ORG, "SFGW_ENQUEUE_TIMEOUT_MS": "500"}
    settings.update(env)
    return start_gateway(
        tmp_path / "gw", redis_url=url, redis_prefix=prefix, env=settings, workers=workers
    )


def wait_until(predicate: object, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


def test_redis_down_gives_faults_and_not_ready_then_recovers(
    tmp_path: Path, own_redis: EmbeddedRedis, redis_prefix: str
) -> None:
    gw = start(tmp_path, own_redis.url, redis_prefix)
    queues = Queues(redis.Redis.from_url(own_redis.url), redis_prefix)
    url = gw.outbound_url(CONTRACT)
    try:
        assert is_ack(post(url, simple_message(2, start=0).xml()))
        own_redis.stop()
        for _ in range(3):
            started = time.monotonic()
            response = post(url, simple_message(2, start=10).xml())
            assert "queue is unavailable" in fault_string(response)
            assert time.monotonic() - started < 5
        ready = requests.get(gw.url + "/readyz", timeout=10)
        assert ready.status_code == 503
        assert requests.get(gw.url + "/healthz", timeout=10).status_code == 200
        metrics = requests.get(gw.url + "/metrics", timeout=10).text
        assert 'reason="queue_unavailable"' in metrics

        own_redis.start()  # same port, same append-only file
        wait_until(lambda: requests.get(gw.url + "/readyz", timeout=5).status_code == 200)
        assert is_ack(post(url, simple_message(2, start=10).xml()))
        ids = sorted(j["notification_id"] for j in queues.jobs())
        assert ids == sorted(r.notification_id for r in simple_message(2, 0).records) + sorted(
            r.notification_id for r in simple_message(2, 10).records
        )
    finally:
        gw.stop()
        queues.client.close()


def test_slow_redis_past_the_deadline_is_a_fault_and_the_retry_is_acked_once(
    tmp_path: Path, own_redis: EmbeddedRedis, redis_prefix: str
) -> None:
    gw = start(tmp_path, own_redis.url, redis_prefix)
    admin = redis.Redis.from_url(own_redis.url)
    queues = Queues(admin, redis_prefix)
    url = gw.outbound_url(CONTRACT)
    message = simple_message(5, start=100).xml()
    try:
        assert is_ack(post(url, simple_message(1, start=99).xml()))  # warm both paths
        admin.execute_command("CLIENT", "PAUSE", "2000", "WRITE")
        started = time.monotonic()
        response = post(url, message)
        assert "queue is unavailable" in fault_string(response)
        assert time.monotonic() - started < 1.9  # the 500 ms deadline, not the pause
        unpause(admin)  # the pause ends; the timed-out script may run now
        response = post(url, message)  # Salesforce's retry
        assert is_ack(response)
        ids = [j["notification_id"] for j in queues.jobs()]
        assert len(ids) == 6 and len(set(ids)) == 6
    finally:
        gw.stop()
        admin.close()


def worker_pids(gw: RunningGateway) -> list[int]:
    return [p.pid for p in psutil.Process(gw.child.pid).children()]


def paused_enqueues(admin: redis.Redis) -> int:
    """Clients whose script (the gateway's atomic enqueue) waits out a CLIENT PAUSE."""
    return sum(
        1
        for c in admin.client_list()
        if "b" in c.get("flags", "") and c.get("cmd") in ("eval", "evalsha")
    )


def unpause(admin: redis.Redis) -> None:
    """End a CLIENT PAUSE now and wait until no paused script is left: each one has run,
    or was dropped with its closed connection."""
    admin.execute_command("CLIENT", "UNPAUSE")
    wait_until(lambda: paused_enqueues(admin) == 0)


def holds_connection(pid: int, local_port: int) -> bool:
    """Whether process ``pid`` has accepted the TCP connection from ``local_port``."""
    try:
        connections = psutil.Process(pid).net_connections(kind="tcp")
    except psutil.Error:
        return False
    return any(c.raddr and c.raddr.port == local_port for c in connections)


def test_sigkill_of_a_worker_mid_request_acks_nothing_unqueued(
    tmp_path: Path, own_redis: EmbeddedRedis, redis_prefix: str
) -> None:
    """Kill the only worker (a) while Redis holds its enqueue and (b) mid-upload; the
    client never gets an Ack for anything not queued, and its retry is acked once."""
    gw = start(tmp_path, own_redis.url, redis_prefix, workers=1, SFGW_ENQUEUE_TIMEOUT_MS="5000")
    admin = redis.Redis.from_url(own_redis.url)
    queues = Queues(admin, redis_prefix)
    url = gw.outbound_url(CONTRACT)
    message = simple_message(100, start=1000).xml()
    try:
        assert is_ack(post(url, simple_message(1, start=999).xml()))
        # (a) the worker is blocked inside the atomic enqueue (until the test unpauses).
        [victim] = worker_pids(gw)
        admin.execute_command("CLIENT", "PAUSE", "30000", "WRITE")
        outcome: list[object] = []

        def deliver() -> None:
            try:
                outcome.append(post(url, message))
            except requests.RequestException as error:
                outcome.append(error)

        thread = threading.Thread(target=deliver)
        thread.start()
        wait_until(lambda: paused_enqueues(admin) == 1)
        psutil.Process(victim).send_signal(signal.SIGKILL)
        thread.join(timeout=30)
        [result] = outcome
        assert not (isinstance(result, requests.Response) and is_ack(result))
        unpause(admin)
        queued = {j["notification_id"] for j in queues.jobs()}
        assert len(queued) in (1, 101), "a message is enqueued entirely or not at all"

        # (b) killed while the body is still arriving.
        wait_until(lambda: len(worker_pids(gw)) == 1 and worker_pids(gw) != [victim])
        [victim] = worker_pids(gw)
        parts = urlsplit(url)
        sock = socket.create_connection((parts.hostname, parts.port), timeout=10)
        sock.sendall(
            f"POST {parts.path} HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml\r\n"
            f"Content-Length: {len(message)}\r\n\r\n".encode()
            + message[: len(message) // 2]
        )
        # the worker has taken the connection and is reading the half-sent body
        wait_until(lambda: holds_connection(victim, sock.getsockname()[1]))
        psutil.Process(victim).send_signal(signal.SIGKILL)
        reply = b""
        with contextlib.suppress(OSError):
            reply = sock.recv(1024)
        sock.close()
        assert b"<Ack>true</Ack>" not in reply

        # Salesforce retries: acked, and every notification is queued exactly once.
        wait_until(lambda: len(worker_pids(gw)) == 1)
        wait_until(lambda: requests.get(gw.url + "/healthz", timeout=5).status_code == 200)
        assert is_ack(post(url, message))
        ids = [j["notification_id"] for j in queues.jobs()]
        assert len(ids) == 101 and len(set(ids)) == 101
    finally:
        gw.stop()
        admin.close()


def test_a_real_dramatiq_worker_consumes_what_the_gateway_enqueued(
    gateway: RunningGateway, module_prefix: str, redis_url: str, empty_queues: Queues
) -> None:
    core = CoreSettings.from_env({"SFGW_REDIS_PREFIX": module_prefix})
    broker = RedisBroker(url=redis_url, namespace=broker_namespace(core))
    received: list[NotificationJob] = []
    lock = threading.Lock()

    def process_notification(job: dict[str, object]) -> None:
        with lock:
            received.append(NotificationJob.from_dict(job))

    dramatiq.actor(
        process_notification,
        broker=broker,
        queue_name="orders",
        actor_name="process_notification",
        max_retries=0,
    )
    worker = Worker(broker, worker_timeout=100, worker_threads=2)
    worker.start()
    try:
        message = simple_message(20, start=5000, session_id="00D7F00000107Xs!AQ4AQSecretValue")
        assert is_ack(post(gateway.outbound_url(CONTRACT), message.xml()))
        wait_until(lambda: len(received) == 20)
        broker.join("orders", timeout=10_000)
    finally:
        worker.stop()
        broker.close()
    assert {j.notification_id for j in received} == {r.notification_id for r in message.records}
    job = received[0]
    assert job.contract == CONTRACT and job.object_type == "Opportunity"
    assert job.fields["Amount"] == "1000.5" and job.fields["StageName"] == "Closed Won"
    assert job.session_id_encrypted and "Secret" not in job.session_id_encrypted
    assert empty_queues.messages() == []  # acked and removed by the worker


def test_route_override_sends_a_contract_to_its_own_queue_and_actor(
    tmp_path: Path, redis_url: str, repo_root: Path
) -> None:
    contracts = tmp_path / "contracts"
    contracts.mkdir()
    wsdl = repo_root / "contracts" / "salesforce" / "opportunity_id_only.wsdl"
    (contracts / wsdl.name).write_bytes(wsdl.read_bytes())
    prefix = f"sfgwtest-{uuid.uuid4().hex[:10]}"
    gw = start(
        tmp_path,
        redis_url,
        prefix,
        workers=1,
        SFGW_CONTRACTS_DIR=str(contracts),
        SFGW_ROUTE_OPPORTUNITY_ID_ONLY="won_deals:sync_deal",
    )
    queues = Queues(redis.Redis.from_url(redis_url), prefix)
    try:
        message = simple_message(1, start=1)
        message.records[0].fields = {}
        assert is_ack(post(gw.outbound_url("opportunity_id_only"), message.xml()))
        [queued] = queues.messages("won_deals")
        assert queued["actor_name"] == "sync_deal" and queued["queue_name"] == "won_deals"
        assert queues.messages("orders") == []
        # the shipped contract that is not in this contracts dir has no route here
        assert "no outbound-message contract" in fault_string(
            post(gw.outbound_url(CONTRACT), simple_message(1).xml())
        )
    finally:
        gw.stop()
        queues.clear()
        queues.client.close()
