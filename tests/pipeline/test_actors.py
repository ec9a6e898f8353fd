"""The actors end to end inside one process: real Redis broker, real Dramatiq worker, the
worker's own assembly, the real mock Salesforce org and the real mock ERP (behind a
scripted stand-in where a test decides what the ERP answers call by call).

Faults are proven from the mocks' own counters: a test that injects a fault also shows
that it fired, as often as the test made it fire."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

import pytest
import redis

from devstack.mocks import RunningErp, RunningSalesforce
from gateway.broker import QueueKeys
from gateway.erp import ErpClient, ErpRetryableError
from gateway.http import requests_session
from gateway.pipeline.replay import replay
from gateway.pipeline.settings import WorkerSettings
from gateway.pipeline.stores import DeadLetters, DoneMarkers
from gateway.salesforce.auth import TokenManager
from gateway.secrets import SecretBox
from mock_erp.store import OrderStore, StoredOrder
from tests.pipeline.harness import (
    TITLE_REQUIRED,
    Harness,
    ScriptedErp,
    notification,
    running_pipeline,
)

pytestmark = pytest.mark.slow


def moved(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """The counters that changed, by how much."""
    return {k: after[k] - before.get(k, 0) for k in after if after[k] != before.get(k, 0)}


def order_of(erp: RunningErp, opp: str | None) -> StoredOrder:
    store = OrderStore(erp.db_path)
    try:
        order = store.by_reference(str(opp))
    finally:
        store.close()
    assert order is not None, f"the ERP has no order for {opp}"
    return order


def record(sf: RunningSalesforce, opp: str | None) -> dict[str, Any]:
    return next(r for r in sf.opportunities() if r["Id"] == opp)


def tokens_of(settings: WorkerSettings, client: redis.Redis) -> TokenManager:
    """A token manager sharing the workers' token (the same key in Redis)."""
    return TokenManager(
        settings.salesforce,
        settings.core,
        client,
        requests_session(settings.proxies, pool_size=1),
        box=SecretBox(settings.core.require_secret_key()),
    )


def xq_size(pipeline: Harness) -> int:
    keys = QueueKeys(pipeline.broker.namespace)
    return sum(int(pipeline.client.hlen(keys.dead_messages(q))) for q in ("orders", "callbacks"))


def test_orders_are_created_once_and_written_back(
    settings: WorkerSettings,
    client: redis.Redis,
    mock_sf: RunningSalesforce,
    mock_erp: RunningErp,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="sfgw.pipeline")
    opps = mock_sf.create_opportunities(5)
    jobs = [notification(n, org=mock_sf.org_id, opp=opp) for n, opp in enumerate(opps, start=1)]
    second_for_same_opp = notification(99, org=mock_sf.org_id, opp=opps[0])
    before = mock_erp.fired()
    with running_pipeline(settings) as pipeline:
        for job in [*jobs, jobs[1], jobs[2], second_for_same_opp]:
            pipeline.send(job)
        pipeline.drain()
    for job in jobs:
        order = order_of(mock_erp, job.record_id)
        row = record(mock_sf, job.record_id)
        assert (row["Order_Number__c"], row["Order_Status__c"]) == (order.order_number, "Created")
        assert DoneMarkers(client, settings.core, 1).is_done(*job.dedupe_key)
    first = order_of(mock_erp, jobs[0].record_id)
    assert first.title == "Deal 1" and str(first.amount) == "101.0"
    # the second notification for the first Opportunity found its order: no second one
    assert moved(before, mock_erp.fired())["create_replayed"] >= 1
    assert DeadLetters(client, settings.core).count() == 0
    # one structured line per job attempt, with ids and no token
    lines = [r.getMessage() for r in caplog.records if r.name == "sfgw.pipeline"]
    assert any(
        f'"notification": "{jobs[0].notification_id}"' in line and '"stage": "orders"' in line
        for line in lines
    )
    # the callbacks: one line per job (rest) or per batch (the default, collections)
    outcome = '"outcome": "done"' if settings.salesforce.callback_api == "rest" else '"batch"'
    assert any('"stage": "callbacks"' in line and outcome in line for line in lines)
    token = tokens_of(settings, client).get()  # the workers' shared token
    assert token.value not in caplog.text


def test_id_only_contract_reads_the_opportunity_first(
    settings: WorkerSettings, mock_sf: RunningSalesforce, mock_erp: RunningErp
) -> None:
    [opp] = mock_sf.create_opportunities(1)
    mock_sf.update_opportunity(opp, Name=f"Read {opp[-6:]}", Amount=42.0, StageName="Closed Won")
    job = replace(
        notification(7, org=mock_sf.org_id, opp=opp, fields={}), contract="opportunity_id_only"
    )
    calls = mock_sf.api_usage()["api_requests"]
    with running_pipeline(settings) as pipeline:
        pipeline.send(job)
        pipeline.drain()
    order = order_of(mock_erp, opp)
    assert order.title == f"Read {opp[-6:]}" and str(order.amount) == "42.0"
    assert record(mock_sf, opp)["Order_Number__c"] == order.order_number
    assert mock_sf.api_usage()["api_requests"] - calls == 2  # the read, then the callback


def test_already_ordered_opportunity_is_skipped(
    settings: WorkerSettings,
    client: redis.Redis,
    mock_sf: RunningSalesforce,
    mock_erp: RunningErp,
) -> None:
    [opp] = mock_sf.create_opportunities(1)
    job = notification(1, org=mock_sf.org_id, opp=opp)
    job = replace(job, fields={**job.fields, "Order_Number__c": "SO-777777"})
    erp_before, usage_before = mock_erp.fired(), mock_sf.api_usage()
    with running_pipeline(settings) as pipeline:
        pipeline.send(job)
        pipeline.drain()
    assert DoneMarkers(client, settings.core, 1).is_done(*job.dedupe_key)
    assert moved(erp_before, mock_erp.fired()) == {}  # not a single ERP request
    usage = mock_sf.api_usage()
    assert (usage["api_requests"], usage["token_requests"]) == (
        usage_before["api_requests"], usage_before["token_requests"],
    )  # fmt: skip


def test_transient_failures_are_retried_to_completion(
    settings: WorkerSettings,
    client: redis.Redis,
    mock_sf: RunningSalesforce,
    mock_erp: RunningErp,
) -> None:
    """The ERP is unavailable twice; then the token has expired, the org is over its
    limit once and the record is locked twice: every one of them fires, and the order
    still ends up created once and written back."""
    [opp] = mock_sf.create_opportunities(1)
    job = notification(3, org=mock_sf.org_id, opp=opp)
    real = ErpClient(settings.erp, settings.proxies)
    erp = ScriptedErp(
        real, faults=[ErpRetryableError("Unavailable: maintenance"), ErpRetryableError("down")]
    )
    tokens_of(settings, client).get()  # the workers' shared token exists ...
    assert mock_sf.expire_sessions() >= 1  # ... and expires before their first callback
    mock_sf.set_faults(lock_ids={opp: 2}, call_errors=["REQUEST_LIMIT_EXCEEDED"])
    fired, usage = mock_sf.fired(), mock_sf.api_usage()
    try:
        with running_pipeline(settings, erp=erp) as pipeline:
            pipeline.send(job)
            pipeline.drain()
            assert xq_size(pipeline) == 0
    finally:
        real.close()
    assert erp.calls == 3
    assert record(mock_sf, opp)["Order_Number__c"] == order_of(mock_erp, opp).order_number
    assert DeadLetters(client, settings.core).count() == 0
    assert moved(fired, mock_sf.fired()) == {
        "invalid_session": 1, "limit_exceeded": 1, "lock_error": 2,
    }  # fmt: skip
    assert mock_sf.api_usage()["token_requests"] - usage["token_requests"] == 1  # one refresh


def test_permanent_erp_failure_is_dead_lettered_and_replayable(
    settings: WorkerSettings,
    client: redis.Redis,
    mock_sf: RunningSalesforce,
    mock_erp: RunningErp,
) -> None:
    [opp] = mock_sf.create_opportunities(1)
    box = SecretBox(settings.core.require_secret_key())
    job = notification(
        4,
        org=mock_sf.org_id,
        opp=opp,
        session_id_encrypted=box.encrypt("00D000000000001!AQ0secretsessionvalue123456"),
    )
    real = ErpClient(settings.erp, settings.proxies)
    erp = ScriptedErp(real, refuse={opp})
    letters = DeadLetters(client, settings.core)
    try:
        with running_pipeline(settings, erp=erp) as pipeline:
            pipeline.send(job)
            pipeline.drain()
            (letter,) = list(letters.iter())
            assert letter.stage == "orders" and letter.opportunity_id == opp
            assert letter.notification_id == job.notification_id and letter.attempts == 1
            assert TITLE_REQUIRED in letter.reason
            assert "session_id_encrypted" not in letter.payload
            assert xq_size(pipeline) == 0  # only our store holds it
            assert not DoneMarkers(client, settings.core, 1).is_done(*job.dedupe_key)
            erp.refuse.clear()  # the cause is fixed
            assert replay(pipeline.broker, letters, [letter]) == 1
            pipeline.drain()
    finally:
        real.close()
    assert letters.count() == 0
    assert erp.calls == 2
    assert record(mock_sf, opp)["Order_Number__c"] == order_of(mock_erp, opp).order_number


def test_rejected_callback_is_dead_lettered_and_replay_makes_no_second_order(
    settings: WorkerSettings,
    client: redis.Redis,
    mock_sf: RunningSalesforce,
    mock_erp: RunningErp,
) -> None:
    [opp] = mock_sf.create_opportunities(1)
    job = notification(5, org=mock_sf.org_id, opp=opp)
    mock_sf.set_faults(validation_fail_ids=[opp])
    letters = DeadLetters(client, settings.core)
    erp_before, sf_before = mock_erp.fired(), mock_sf.fired()
    with running_pipeline(settings) as pipeline:
        pipeline.send(job)
        pipeline.drain()
        (letter,) = list(letters.iter())
        assert letter.stage == "callbacks" and "FIELD_CUSTOM_VALIDATION_EXCEPTION" in letter.reason
        order = order_of(mock_erp, opp)
        assert letter.payload["order_number"] == order.order_number
        assert record(mock_sf, opp)["Order_Number__c"] is None
        mock_sf.set_faults(validation_fail_ids=[])  # the validation rule was fixed
        replay(pipeline.broker, letters, [letter])
        pipeline.drain()
        pipeline.send(job)  # and Salesforce redelivers the old notification: deduplicated
        pipeline.drain()
    assert moved(erp_before, mock_erp.fired()) == {"requests": 1}  # one CreateOrder, ever
    assert moved(sf_before, mock_sf.fired()) == {"validation_error": 1}
    assert record(mock_sf, opp)["Order_Number__c"] == order.order_number
    assert letters.count() == 0


def test_retryable_failures_end_as_dead_letters_after_the_window(
    pipeline_env: dict[str, str],
    client: redis.Redis,
    mock_sf: RunningSalesforce,
    mock_erp: RunningErp,
) -> None:
    settings = WorkerSettings.from_env({**pipeline_env, "SFGW_RETRY_FOR_S": "1"})
    [opp] = mock_sf.create_opportunities(1)
    mock_erp.set_faults({"error": {"rate": 1}})  # unavailable, every time
    before = mock_erp.fired()
    with running_pipeline(settings) as pipeline:
        pipeline.send(notification(6, org=mock_sf.org_id, opp=opp))
        pipeline.drain()
    (letter,) = list(DeadLetters(client, settings.core).iter())
    assert "gave up after" in letter.reason
    assert "ERP unavailable for CreateOrder" in letter.reason
    assert letter.attempts >= 3
    # every attempt reached the ERP and met the injected fault
    attempts = letter.attempts
    assert moved(before, mock_erp.fired()) == {"requests": attempts, "error_unavailable": attempts}


def test_deleted_record_is_parked_not_retried(
    settings: WorkerSettings,
    client: redis.Redis,
    mock_sf: RunningSalesforce,
    mock_erp: RunningErp,
) -> None:
    """The intake accepts a notification whose sObject has no Id (deleted before
    delivery); the worker parks it once with a readable reason, creates no order."""
    deleted = notification(11, org=mock_sf.org_id, opp=None)
    before = mock_erp.fired()
    with running_pipeline(settings) as pipeline:
        pipeline.send(deleted)
        pipeline.drain()
    assert moved(before, mock_erp.fired()) == {}
    (letter,) = list(DeadLetters(client, settings.core).iter())
    assert letter.stage == "orders"
    assert "record deleted before delivery" in letter.reason
    assert letter.attempts == 1
