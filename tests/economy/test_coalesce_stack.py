"""Coalesced callbacks with real ``sfgw worker`` processes, real Redis and the real mock
Salesforce: API calls per 1,000 records in each mode (measured in one test), permanent
and lock failures, a worker SIGKILLed while its batch is in flight, and (Apex) a batch
above the transaction's row limit.

The stack is the org and Redis only; worker groups come and go per case (their ERP is
never called), and the completed orders are handed to the callback stage as the order
stage hands them over (:meth:`devstack.stack.Stack.hand_over_callbacks`)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from devstack.config import ORG_ONLY, StackConfig
from devstack.stack import Stack, start_stack
from gateway.pipeline.callbacks.job import CallbackJob
from gateway.pipeline.status import CoalescedStatus, read_coalesced
from tests.e2e.fired import FaultCounters

pytestmark = pytest.mark.slow

RETRIES = {
    "SFGW_RETRY_MIN_BACKOFF_MS": "100",
    "SFGW_RETRY_MAX_BACKOFF_MS": "1000",
    "SFGW_RETRY_LIMIT_BACKOFF_MS": "1000",
}


def _config(tmp_path: Path, redis_url: str, redis_prefix: str, **settings: Any) -> StackConfig:
    defaults: dict[str, Any] = {"parts": ORG_ONLY, "outbound": "none", "worker_env": RETRIES}
    return StackConfig(
        workdir=tmp_path, redis_url=redis_url, redis_prefix=redis_prefix, **defaults | settings
    )


def _jobs(stack: Stack, numbers: dict[str, str]) -> list[CallbackJob]:
    org = stack.need(stack.salesforce, "mock Salesforce").org_id
    return [
        CallbackJob(
            organization_id=org,
            opportunity_id=oid,
            notification_id=f"04l-{number}",
            order_number=number,
            order_status="Created",
        )
        for oid, number in numbers.items()
    ]


def _wait_written(stack: Stack, expected: dict[str, str], timeout: float) -> None:
    """Until every Opportunity in ``expected`` carries its number there."""
    stack.wait_for(
        f"{len(expected)} Opportunities carry their order numbers",
        lambda: stack.order_numbers(expected) == expected,
        timeout=timeout,
    )


def _coalesced(stack: Stack) -> CoalescedStatus:
    client = stack.redis_client()
    try:
        return read_coalesced(client, stack.core(), int(time.time() * 1000))
    finally:
        client.close()


def test_coalesced_modes_spend_one_call_per_batch(
    tmp_path: Path, redis_url: str, redis_prefix: str
) -> None:
    """200 records a call for Collections and SOAP, 1,000 for the Apex service."""
    records = 1000
    calls: dict[str, int] = {}
    with start_stack(_config(tmp_path, redis_url, redis_prefix)) as stack:
        sf = stack.need(stack.salesforce, "mock Salesforce")
        ids = sf.create_opportunities(records)
        for mode in ("rest", "collections", "soap", "apex_soap", "apex_rest"):
            prefix = f"{redis_prefix}-{mode}"  # each mode's queues and batches of its own
            sf.reset_usage()
            workers = stack.start_worker_group(callback_api=mode, redis_prefix=prefix)
            started = time.monotonic()
            expected = {oid: f"{mode}-{n}" for n, oid in enumerate(ids)}
            stack.hand_over_callbacks(
                _jobs(stack, expected), callback_api=mode, redis_prefix=prefix
            )
            _wait_written(stack, expected, timeout=120)
            elapsed = time.monotonic() - started
            stack.stop_worker_group(workers)
            usage = sf.api_usage()
            calls[mode] = usage["api_requests"] + usage["token_requests"]
            print(f"{mode}: {records} records, {usage['api_requests']} API calls + "
                  f"{usage['token_requests']} token requests, {elapsed:.1f}s")  # fmt: skip
    assert calls["rest"] >= records  # one PATCH per record
    assert calls["collections"] <= 12
    assert calls["soap"] <= 12
    assert calls["apex_soap"] <= 3  # one call of 1,000 and the token, with room for one split
    assert calls["apex_rest"] <= 3


@pytest.mark.parametrize("mode", ["collections", "apex_soap", "apex_rest"])
def test_bad_and_locked_records_and_a_sigkilled_flusher_lose_nothing(
    tmp_path: Path, redis_url: str, redis_prefix: str, mode: str
) -> None:
    """5 % of the records fail for good, 20 % meet a row lock once, and the worker that
    holds the first batch is SIGKILLed while its call is in flight."""
    config = _config(
        tmp_path,
        redis_url,
        redis_prefix,
        callback_api=mode,
        worker_env={**RETRIES, "SFGW_CALLBACK_LEASE_MS": "3000"},
        # the org's instance URL is a proxy: callbacks pass through it, tokens do not
        hold_proxy=True,
    )
    with start_stack(config) as stack:
        sf = stack.need(stack.salesforce, "mock Salesforce")
        proxy = stack.need(stack.hold_proxy, "hold proxy")
        counters = FaultCounters.now(stack)
        ids = sf.create_opportunities(400)
        bad = ids[::20]  # 5 %: a validation rule rejects them, always
        locked = [oid for n, oid in enumerate(ids) if n % 5 == 1]  # 20 %: locked once
        sf.set_faults(validation_fail_ids=bad, lock_ids=dict.fromkeys(locked, 1))
        expected = {oid: f"SO-{n:06d}" for n, oid in enumerate(ids)}
        proxy.hold()
        first = stack.start_worker_group(processes=1)
        stack.hand_over_callbacks(_jobs(stack, expected))
        stack.wait_for(
            "a batch in flight: claimed, its call held by the proxy",
            lambda: proxy.held >= 1 and _coalesced(stack).batches >= 1,
        )
        killed = stack.kill_workers(first)  # ... when its worker dies
        assert killed is not None and killed.exit_code == -9
        assert sum(org.batch_records for org in _coalesced(stack).orgs) >= 1  # its batch, leased
        assert not stack.order_numbers(ids)
        proxy.release()

        stack.start_worker_group(processes=2)
        good = {oid: n for oid, n in expected.items() if oid not in bad}
        _wait_written(stack, good, timeout=90)
        stack.wait_for(
            "every bad record dead-lettered", lambda: len(stack.dead_letters()) >= len(bad)
        )
        by_opp = {letter.opportunity_id: letter for letter in stack.dead_letters()}
        assert set(by_opp) == set(bad)  # every bad one, and only those
        for oid, letter in by_opp.items():
            assert letter.stage == "callbacks"
            assert "FIELD_CUSTOM_VALIDATION_EXCEPTION" in letter.reason
            assert letter.payload["opportunity_id"] == oid
            assert letter.payload["order_number"] == expected[oid]
        assert not stack.order_numbers(bad)
        assert _coalesced(stack).batches == 0
        counters.assert_fired(stack, "salesforce", "lock_error")
        assert sf.faults()["lock_ids"] == {}  # every lock was met, and each record saved after


@pytest.mark.parametrize("mode", ["apex_soap", "apex_rest"])
def test_a_batch_above_the_apex_row_limit_is_split_until_every_record_is_saved(
    tmp_path: Path, redis_url: str, redis_prefix: str, mode: str
) -> None:
    """The org's Apex throws System.LimitException for more than 150 rows; batches of up
    to 1,000 are retried once, then halved until they fit."""
    with start_stack(_config(tmp_path, redis_url, redis_prefix, callback_api=mode)) as stack:
        sf = stack.need(stack.salesforce, "mock Salesforce")
        sf.set_apex(dml_row_limit=150)
        ids = sf.create_opportunities(600)
        expected = {oid: f"SO-{n:06d}" for n, oid in enumerate(ids)}
        sf.reset_usage()
        stack.start_worker_group(processes=1)
        stack.hand_over_callbacks(_jobs(stack, expected))
        _wait_written(stack, expected, timeout=60)
        assert stack.dead_letters() == []
        calls = sf.api_usage()["api_requests"]
        # 600 -> (throw, throw) -> 300 + 300 -> each (throw) -> 150 + 150: 2 + 2 + 4 = 8
        # (a batch may leave smaller, which only needs fewer calls)
        assert 3 <= calls <= 8, calls
