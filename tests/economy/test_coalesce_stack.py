"""Coalesced callbacks with real ``sfgw worker`` processes, real Redis and the real mock
Salesforce: API calls per 1,000 records in each mode (measured in one test), permanent
and lock failures, and a worker SIGKILLed while its batch is in flight."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest
import redis
from dramatiq import Message

from devstack.launch import RunningWorkers, start_workers
from devstack.mocks import RunningSalesforce, start_mock_salesforce
from gateway.broker import make_broker
from gateway.pipeline.actors import retry_policy
from gateway.pipeline.coalesce import CallbackCoalescer, CoalesceSettings
from gateway.pipeline.messages import CallbackJob
from gateway.pipeline.settings import PipelineSettings
from gateway.pipeline.stores import DeadLetters
from gateway.settings import CoreSettings
from tests.economy.stack import HoldProxy, worker_env

pytestmark = pytest.mark.slow

NO_ERP = "http://127.0.0.1:9/erp/orders"  # callbacks only: the ERP is never called


def _env(redis_url: str, prefix: str, secret_key: str, sf: RunningSalesforce, **extra: str):
    return {"SFGW_REDIS_URL": redis_url, "SFGW_REDIS_PREFIX": prefix,
            **worker_env(secret_key, sf.url, NO_ERP, **extra)}  # fmt: skip


def _workers(tmp: Path, env: dict[str, str], processes: int = 2) -> RunningWorkers:
    return start_workers(
        tmp, redis_url=env["SFGW_REDIS_URL"], redis_prefix=env["SFGW_REDIS_PREFIX"],
        env={k: v for k, v in env.items() if k not in ("SFGW_REDIS_URL", "SFGW_REDIS_PREFIX")},
        processes=processes, threads=8,
    )  # fmt: skip


def _job(sf: RunningSalesforce, oid: str, number: str) -> dict:
    return CallbackJob(
        organization_id=sf.org_id, opportunity_id=oid, notification_id=f"04l-{number}",
        order_number=number, order_status="Created",
    ).to_dict()  # fmt: skip


def _feed(env: dict[str, str], jobs: list[dict]) -> None:
    """What the order stage does once an order exists, in the mode ``env`` configures."""
    core = CoreSettings.from_env(env)
    settings = PipelineSettings.from_env(env)
    if settings.salesforce.callback_api == "rest":
        broker = make_broker(core)
        try:
            broker.declare_queue("callbacks")
            for job in jobs:
                broker.enqueue(Message(
                    queue_name="callbacks", actor_name="send_callback", args=(job,), kwargs={},
                    options={}, message_id=str(uuid.uuid4()),
                    message_timestamp=int(time.time() * 1000),
                ))  # fmt: skip
        finally:
            broker.close()
        return
    client = redis.Redis.from_url(env["SFGW_REDIS_URL"])
    try:
        coalescer = CallbackCoalescer(
            client=client, core=core, coalesce=CoalesceSettings.from_env(env),
            policy=retry_policy(settings), dead_letters=DeadLetters(client, core),
        )  # fmt: skip
        for job in jobs:
            coalescer.add(job)
    finally:
        client.close()


def _wait_numbers(sf: RunningSalesforce, expected: dict[str, str], timeout: float) -> int:
    deadline = time.monotonic() + timeout
    while True:
        rows = {o["Id"]: o["Order_Number__c"] for o in sf.opportunities()}
        missing = sum(1 for oid, number in expected.items() if rows.get(oid) != number)
        if missing == 0 or time.monotonic() > deadline:
            return missing
        time.sleep(0.3)


def test_coalesced_modes_spend_one_call_per_200_records(
    tmp_path: Path, redis_url: str, redis_prefix: str, secret_key: str
) -> None:
    records = 1000
    sf = start_mock_salesforce(tmp_path / "sf", gateway_url=None)
    calls: dict[str, int] = {}
    try:
        ids = sf.create_opportunities(records)
        for mode in ("rest", "collections", "soap"):
            env = _env(redis_url, f"{redis_prefix}-{mode}", secret_key, sf,
                       SFGW_CALLBACK_API=mode)  # fmt: skip
            sf.reset_usage()
            workers = _workers(tmp_path / mode, env)
            try:
                started = time.monotonic()
                expected = {oid: f"{mode}-{n}" for n, oid in enumerate(ids)}
                _feed(env, [_job(sf, oid, number) for oid, number in expected.items()])
                missing = _wait_numbers(sf, expected, timeout=120)
                assert missing == 0, workers.child.log_tail()
                elapsed = time.monotonic() - started
            finally:
                workers.stop()
            usage = sf.api_usage()
            calls[mode] = usage["api_requests"] + usage["token_requests"]
            print(f"{mode}: {records} records, {usage['api_requests']} API calls + "
                  f"{usage['token_requests']} token requests, {elapsed:.1f}s")  # fmt: skip
    finally:
        sf.stop()
    assert calls["rest"] >= records  # one PATCH per record
    assert calls["collections"] <= 12
    assert calls["soap"] <= 12


def test_bad_and_locked_records_and_a_sigkilled_flusher_lose_nothing(
    tmp_path: Path, redis_url: str, redis_prefix: str, secret_key: str
) -> None:
    proxy = HoldProxy()
    # Salesforce's instance_url is the proxy: callbacks pass through it, tokens do not.
    sf = start_mock_salesforce(
        tmp_path / "sf", gateway_url=None, env={"SFGW_MOCKSF_BASE_URL": proxy.url}
    )
    proxy.target_port = int(sf.url.rsplit(":", 1)[1])
    client = redis.Redis.from_url(redis_url)
    env = _env(redis_url, redis_prefix, secret_key, sf, SFGW_CALLBACK_API="collections",
               SFGW_CALLBACK_LEASE_MS="3000")  # fmt: skip
    core = CoreSettings.from_env(env)
    leases = core.key("cb", "leases")
    workers = None
    try:
        ids = sf.create_opportunities(400)
        bad = ids[::20]  # 5 %: a validation rule rejects them, always
        sf.set_faults(validation_fail_ids=bad, lock_probability=0.2)  # 20 % locked per try
        expected = {oid: f"SO-{n:06d}" for n, oid in enumerate(ids)}
        proxy.hold.set()
        workers = _workers(tmp_path / "first", env, processes=1)
        _feed(env, [_job(sf, oid, number) for oid, number in expected.items()])
        deadline = time.monotonic() + 60
        while not (proxy.held and client.zcard(leases)) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert proxy.held and client.zcard(leases) >= 1  # a batch is in flight ...
        workers.kill()  # ... when its worker dies
        workers.stop()
        in_flight = sum(
            len(
                __import__("json").loads(
                    client.get(core.key("cb", "batch", m.decode().split("|")[1]))
                )["records"]
            )
            for m in client.zrange(leases, 0, -1)
        )
        assert in_flight >= 1
        assert all(o["Order_Number__c"] is None for o in sf.opportunities())
        proxy.release()

        workers = _workers(tmp_path / "second", env, processes=2)
        good = {oid: n for oid, n in expected.items() if oid not in bad}
        missing = _wait_numbers(sf, good, timeout=90)
        assert missing == 0, workers.child.log_tail()
        letters = DeadLetters(client, core)
        deadline = time.monotonic() + 30
        while letters.count() < len(bad) and time.monotonic() < deadline:
            time.sleep(0.2)
        by_opp = {letter.opportunity_id: letter for letter in letters.iter()}
        assert set(by_opp) == set(bad)  # every bad one, and only those
        for oid, letter in by_opp.items():
            assert letter.stage == "callbacks"
            assert "FIELD_CUSTOM_VALIDATION_EXCEPTION" in letter.reason
            assert letter.payload["opportunity_id"] == oid
            assert letter.payload["order_number"] == expected[oid]
        rows = {o["Id"]: o for o in sf.opportunities()}
        assert all(rows[oid]["Order_Number__c"] is None for oid in bad)
        assert client.zcard(leases) == 0
    finally:
        if workers is not None:
            workers.stop()
        sf.set_faults(validation_fail_ids=[], lock_probability=0.0)
        sf.stop()
        proxy.close()
        client.close()
