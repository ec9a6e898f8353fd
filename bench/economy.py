"""Issue 8's numbers: Salesforce API calls per 1,000 orders and the callback latency,
for per-record REST, coalesced sObject Collections and coalesced SOAP, in one run.

Real processes: an embedded Redis, the mock Salesforce org and ``sfgw worker`` (2
processes x 8 threads) per mode. The callback stage is fed exactly what the order stage
hands it once an order exists (a ``send_callback`` job in REST mode, the coalescer's
``add`` otherwise), so the numbers are the callback stage's own: API calls and token
requests as the org counted them, and per record the time from "order exists" to the
Opportunity's ``LastModifiedDate`` (the org's own clock, same host).

``python -m bench economy [--records N]`` (``scripts/bench economy``); ``measure_modes``
is importable for a larger end-to-end benchmark.
"""

from __future__ import annotations

import tempfile
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import redis
from cryptography.fernet import Fernet

from bench.common import host_facts, quantile, salesforce_time, shown, stamp, write_results
from devstack.launch import start_workers
from devstack.mocks import RunningSalesforce, start_mock_salesforce
from gateway.broker import CALLBACKS_QUEUE, SEND_CALLBACK, BrokerSettings, make_broker, message_for
from gateway.cli_support import print_table
from gateway.pipeline.callbacks.coalescer import CallbackCoalescer
from gateway.pipeline.callbacks.job import CallbackJob
from gateway.pipeline.callbacks.settings import CallbackSettings
from gateway.pipeline.settings import PipelineSettings
from gateway.pipeline.stores import DeadLetters
from gateway.salesforce.settings import SalesforceSettings
from gateway.settings import CoreSettings

MODES = ("rest", "collections", "soap")


@dataclass(frozen=True)
class ModeResult:
    mode: str
    records: int
    api_calls: int
    token_requests: int
    seconds: float
    latency_p50_ms: float
    latency_p99_ms: float

    @property
    def calls_per_1000(self) -> float:
        return (self.api_calls + self.token_requests) * 1000 / self.records

    def cells(self) -> list[object]:
        return [
            self.mode,
            self.records,
            self.api_calls,
            self.token_requests,
            f"{self.calls_per_1000:.1f}",
            f"{self.latency_p50_ms:.0f}",
            f"{self.latency_p99_ms:.0f}",
            f"{self.seconds:.1f}",
        ]


def _feed(env: dict[str, str], jobs: list[dict[str, Any]]) -> dict[str, float]:
    """Hand the jobs to the callback stage; returns Opportunity id -> time handed over."""
    core = CoreSettings.from_env(env)
    settings = PipelineSettings.from_env(env)
    handed: dict[str, float] = {}
    if SalesforceSettings.from_env(env).callback_api == "rest":
        broker = make_broker(core, BrokerSettings.from_env(env))
        try:
            broker.declare_queue(CALLBACKS_QUEUE)
            for job in jobs:
                handed[job["opportunity_id"]] = time.time()
                broker.enqueue(message_for(CALLBACKS_QUEUE, SEND_CALLBACK, job))
        finally:
            broker.close()
        return handed
    client = redis.Redis.from_url(env["SFGW_REDIS_URL"])
    try:
        coalescer = CallbackCoalescer(
            client=client,
            core=core,
            coalesce=CallbackSettings.from_env(env),
            policy=settings.retry_policy,
            dead_letters=DeadLetters(client, core),
        )
        for job in jobs:
            handed[job["opportunity_id"]] = time.time()
            coalescer.add(CallbackJob.from_dict(job))
    finally:
        client.close()
    return handed


def measure_mode(
    sf: RunningSalesforce, ids: list[str], mode: str, redis_url: str, workdir: Path
) -> ModeResult:
    env = {
        "SFGW_REDIS_URL": redis_url,
        "SFGW_REDIS_PREFIX": f"bench-{mode}-{uuid.uuid4().hex[:8]}",
        "SFGW_SECRET_KEY": Fernet.generate_key().decode(),
        "SFGW_SF_LOGIN_URL": sf.url,
        "SFGW_SF_CLIENT_ID": sf.client_id,
        "SFGW_SF_CLIENT_SECRET": sf.client_secret,
        "SFGW_CALLBACK_API": mode,
        "SFGW_ERP_URL": "http://127.0.0.1:9/erp/orders",
    }
    sf.reset_usage()
    workers = start_workers(
        workdir / mode,
        redis_url=redis_url,
        redis_prefix=env["SFGW_REDIS_PREFIX"],
        env={k: v for k, v in env.items() if k not in ("SFGW_REDIS_URL", "SFGW_REDIS_PREFIX")},
        processes=2,
        threads=8,
    )
    run = uuid.uuid4().hex[:6]
    numbers = {oid: f"{mode[:4]}-{run}-{n}" for n, oid in enumerate(ids)}
    jobs = [
        CallbackJob(
            organization_id=sf.org_id,
            opportunity_id=oid,
            notification_id=f"bench-{number}",
            order_number=number,
            order_status="Created",
        ).to_dict()
        for oid, number in numbers.items()
    ]
    try:
        started = time.monotonic()
        handed = _feed(env, jobs)
        deadline = time.monotonic() + 600
        while True:
            rows = {o["Id"]: o for o in sf.opportunities()}
            if all(rows[oid]["Order_Number__c"] == number for oid, number in numbers.items()):
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"{mode}: callbacks not done in 600 s")
            time.sleep(0.2)
        seconds = time.monotonic() - started
    finally:
        workers.stop()
    usage = sf.api_usage()
    latencies = [
        max(0.0, (salesforce_time(rows[oid]["LastModifiedDate"]) - handed[oid]) * 1000)
        for oid in ids
    ]
    return ModeResult(
        mode=mode,
        records=len(ids),
        api_calls=usage["api_requests"],
        token_requests=usage["token_requests"],
        seconds=seconds,
        latency_p50_ms=quantile(latencies, 0.50),
        latency_p99_ms=quantile(latencies, 0.99),
    )


def measure_modes(redis_url: str, workdir: Path, records: int = 1000) -> list[ModeResult]:
    sf = start_mock_salesforce(workdir / "sf", gateway_url=None)
    try:
        ids = sf.create_opportunities(records)
        return [measure_mode(sf, ids, mode, redis_url, workdir) for mode in MODES]
    finally:
        sf.stop()


def run(records: int = 1000) -> int:
    from devstack.embedded_redis import EmbeddedRedis

    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="sfgw-bench-economy-") as tmp:
        server = EmbeddedRedis(Path(tmp) / "redis").start()
        try:
            rows = measure_modes(server.url, Path(tmp), records)
        finally:
            server.stop()
    print(
        f"sfgw callback economy: {records} completed orders per mode, 2 worker processes x 8 "
        "threads, mock Salesforce on the same host; latency = order handed to the callback "
        "stage -> Opportunity updated"
    )
    print_table(
        ["mode", "records", "API calls", "tokens", "calls/1000", "p50 ms", "p99 ms", "seconds"],
        [row.cells() for row in rows],
    )
    when = stamp()
    out = write_results(
        "economy",
        when,
        {
            "benchmark": "economy",
            "when": when,
            "host": host_facts(),
            "seconds_total": round(time.monotonic() - began, 1),
            "rows": [{**asdict(r), "calls_per_1000": r.calls_per_1000} for r in rows],
        },
    )
    print(f"wrote {shown(out)} in {time.monotonic() - began:.0f}s")
    return 0
