"""``sfgw worker`` as a real process group (dramatiq CLI), started by the launcher."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
import redis

from devstack.holdproxy import HoldProxy
from devstack.launch import RunningWorkers, start_workers
from devstack.mocks import RunningSalesforce, start_mock_salesforce
from devstack.processes import free_port
from gateway import sfid
from gateway.broker import (
    ORDERS_QUEUE,
    PROCESS_NOTIFICATION,
    BrokerSettings,
    QueueReader,
    make_broker,
    message_for,
)
from gateway.jobs import NotificationJob
from gateway.pipeline.stores import DeadLetters, DoneMarkers
from gateway.settings import CoreSettings
from tests.pipeline.conftest import CLIENT_ID, CLIENT_SECRET
from tests.pipeline.harness import notification

pytestmark = pytest.mark.slow

#: An org id for jobs that never reach Salesforce (and no test here reaches the ERP).
ORG = sfid.to18("00D5g000004SfGw")


def _enqueue(core: CoreSettings, job: NotificationJob) -> None:
    broker = make_broker(core, BrokerSettings.from_env({}))
    try:
        broker.declare_queue(ORDERS_QUEUE)
        broker.enqueue(message_for(ORDERS_QUEUE, PROCESS_NOTIFICATION, job.to_dict()))
    finally:
        broker.close()


def wait_for(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def _worker_env(env: dict[str, str]) -> dict[str, str]:
    """What ``start_workers`` takes besides the Redis URL and prefix it sets itself."""
    return {k: v for k, v in env.items() if k not in ("SFGW_REDIS_URL", "SFGW_REDIS_PREFIX")}


def test_worker_processes_jobs_and_exports_metrics(
    sf_env: dict[str, str], core: CoreSettings, client: redis.Redis, tmp_path: Path
) -> None:
    skipped = notification(1, org=ORG, opp=sfid.to18("0065g00000Wp001"))
    skipped = replace(skipped, fields={**skipped.fields, "Order_Number__c": "SO-123456"})
    broken = notification(2, org=ORG, opp=sfid.to18("0015g00000XyZaB"))  # an Account id
    workers = start_workers(
        tmp_path,
        redis_url=str(core.redis_url),
        redis_prefix=core.redis_prefix,
        env=_worker_env(sf_env),
        processes=2,
        threads=2,
    )
    try:
        _enqueue(core, skipped)
        _enqueue(core, broken)
        done = DoneMarkers(client, core, 1)
        letters = DeadLetters(client, core)
        finished = wait_for(lambda: done.is_done(*skipped.dedupe_key) and letters.count() == 1, 60)
        assert finished, workers.child.log_tail()
        (letter,) = list(letters.iter())
        assert letter.stage == "orders" and "MALFORMED_ID" in letter.reason
        with urllib.request.urlopen(workers.metrics_url, timeout=10) as response:
            text = response.read().decode()
        assert 'sfgw_pipeline_jobs_total{outcome="skipped",stage="orders"} 1.0' in text
        assert 'sfgw_pipeline_jobs_total{outcome="dead_lettered",stage="orders"} 1.0' in text
        assert "dramatiq_messages_total" in text
    finally:
        code = stop_leader(workers)
    assert code == 0, workers.child.log_tail()  # a clean shutdown, nothing killed


def stop_leader(workers: RunningWorkers) -> int | None:
    """SIGTERM to ``sfgw worker`` itself, as a service manager stops it, and its exit
    code once it is done (None: still running after 30 s); then nothing of the group is
    left. (Signalling the whole group instead gives every worker process a second
    SIGTERM from its parent, which Dramatiq answers by killing it: exit code 1.)"""
    process = workers.child.process
    assert process is not None
    with contextlib.suppress(ProcessLookupError):
        os.kill(process.pid, signal.SIGTERM)
    try:
        code: int | None = process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        code = None
    workers.stop()
    return code


@dataclass
class HeldOrg:
    """A mock org whose instance URL is a :class:`HoldProxy` in front of it."""

    sf: RunningSalesforce
    proxy: HoldProxy


@pytest.fixture
def held_org(tmp_path: Path) -> Iterator[HeldOrg]:
    port = free_port()
    proxy = HoldProxy(port)
    try:
        sf = start_mock_salesforce(
            tmp_path / "sf", gateway_url=None, port=port, client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET, env={"SFGW_MOCKSF_BASE_URL": proxy.url},
        )  # fmt: skip
        try:
            yield HeldOrg(sf, proxy)
        finally:
            sf.stop()
    finally:
        proxy.close()


def test_sigkilled_workers_messages_are_redelivered_within_a_minute(
    held_org: HeldOrg, base_env: dict[str, str], core: CoreSettings, client: redis.Redis,
    tmp_path: Path,
) -> None:  # fmt: skip
    """A job in flight when its worker group is SIGKILLed runs again on a fresh worker
    within 60 s. Heartbeat timeout is gateway.broker's default (15 s); maintenance runs
    on 10 % of broker calls: with the 2 % default and one idle worker process (about one
    call per second on the queue) the expected wait after the heartbeat expired is
    ~50 s, so 60 s would not hold reliably (measured 46.9 s in one run).

    The org's instance URL (where the token sends the workers) is a proxy that holds
    the worker's read of the Opportunity, so the job is in flight when the group dies."""
    sf, proxy = held_org.sf, held_org.proxy
    [opp] = sf.create_opportunities(1)
    sf.update_opportunity(opp, StageName="Closed Won", Order_Number__c="SO-000042")
    job = notification(3, org=sf.org_id, opp=opp, fields={})  # read first, then skip it
    job = replace(job, contract="opportunity_id_only")
    env = {
        **_worker_env(base_env),
        "SFGW_SF_LOGIN_URL": sf.url,
        "SFGW_SF_CLIENT_ID": CLIENT_ID,
        "SFGW_SF_CLIENT_SECRET": CLIENT_SECRET,
        "SFGW_SF_TIMEOUT_MS": "30000",  # the held read outlives the worker
        "SFGW_BROKER_MAINTENANCE_CHANCE": "100000",
    }

    def start(name: str) -> RunningWorkers:
        return start_workers(
            tmp_path / name, redis_url=str(core.redis_url), redis_prefix=core.redis_prefix,
            env=env, processes=1, threads=2,
        )  # fmt: skip

    proxy.hold()
    first = start("first")
    try:
        _enqueue(core, job)
        assert wait_for(lambda: proxy.held >= 1, 30), first.child.log_tail()
        first.kill()
    finally:
        first.stop()
    killed_at = time.monotonic()
    assert first.child.process is not None and first.child.process.returncode == -9
    # the killed group still holds the message: fetched, never acked
    assert QueueReader(client, core).counts(ORDERS_QUEUE).in_flight == 1
    done = DoneMarkers(client, core, 1)
    assert not done.is_done(*job.dedupe_key)
    proxy.release()
    second = start("second")
    try:
        recovered = wait_for(lambda: done.is_done(*job.dedupe_key), 90)
        recovered_after = time.monotonic() - killed_at
    finally:
        second.stop()
    assert recovered, second.child.log_tail()
    print(f"redelivered and completed {recovered_after:.1f}s after SIGKILL")
    assert recovered_after < 60
