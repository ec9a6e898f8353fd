"""The actors end to end inside one process: real Redis broker, real Dramatiq worker,
real Salesforce clients against the loopback fake, an idempotent ERP stand-in."""

from __future__ import annotations

import logging
from dataclasses import replace

import pytest
import redis

from gateway.broker import broker_namespace
from gateway.pipeline.replay import replay
from gateway.pipeline.settings import PipelineSettings
from gateway.pipeline.stores import DeadLetters, DoneMarkers
from gateway.secrets import SecretBox
from gateway.settings import CoreSettings
from tests.pipeline.fake_salesforce import FakeSalesforce
from tests.pipeline.harness import ErpFault, FakeErp, notification, running_pipeline


def _seed(fake_sf: FakeSalesforce, *jobs: object) -> None:
    for job in jobs:
        rid = job.record_id  # type: ignore[attr-defined]
        fake_sf.org.records[rid] = {
            "Id": rid,
            "Name": f"Read {rid[-6:]}",
            "AccountId": "0015g00000XyZaB",
            "Amount": 42.0,
            "CloseDate": "2026-11-01",
            "IsWon": True,
            "Order_Number__c": None,
        }


def _xq_size(client: redis.Redis, core: CoreSettings) -> int:
    ns = broker_namespace(core)
    return sum(int(client.hlen(f"{ns}:{q}.XQ.msgs")) for q in ("orders", "callbacks"))


def test_orders_are_created_once_and_written_back(
    settings: PipelineSettings,
    core: CoreSettings,
    client: redis.Redis,
    fake_sf: FakeSalesforce,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="sfgw.pipeline")
    jobs = [notification(n) for n in range(1, 6)]
    _seed(fake_sf, *jobs)
    second_for_same_opp = replace(notification(99), record_id=jobs[0].record_id)
    with running_pipeline(core, settings) as pipeline:
        for job in [*jobs, jobs[1], jobs[2], second_for_same_opp]:
            pipeline.send(job)
        pipeline.drain()
    assert len(pipeline.erp.orders) == 5
    for job in jobs:
        record = fake_sf.org.records[job.record_id]
        order = pipeline.erp.orders[job.record_id]
        assert record["Order_Number__c"] == order.order_number
        assert record["Order_Status__c"] == "Created"
        assert DoneMarkers(client, core, 1).is_done(*job.dedupe_key)
    draft = pipeline.erp.drafts[jobs[0].record_id]
    assert draft.title == "Deal 1" and str(draft.amount) == "101.0"
    assert DeadLetters(client, core).count() == 0
    # one structured line per job attempt, with ids and no token
    lines = [r.getMessage() for r in caplog.records if r.name == "sfgw.pipeline"]
    assert any(
        '"notification": "04l000000000001AAA"' in line and '"stage": "orders"' in line
        for line in lines
    )
    assert any('"stage": "callbacks"' in line and '"outcome": "done"' in line for line in lines)
    for token in fake_sf.org.valid_tokens:
        assert token not in caplog.text


def test_id_only_contract_reads_the_opportunity_first(
    settings: PipelineSettings, core: CoreSettings, client: redis.Redis, fake_sf: FakeSalesforce
) -> None:
    job = replace(notification(7, fields={}), contract="opportunity_id_only")
    _seed(fake_sf, job)
    with running_pipeline(core, settings) as pipeline:
        pipeline.send(job)
        pipeline.drain()
    draft = pipeline.erp.drafts[job.record_id]
    assert draft.title == f"Read {job.record_id[-6:]}" and str(draft.amount) == "42.0"
    assert fake_sf.org.records[job.record_id]["Order_Number__c"] == "SO-000001"


def test_already_ordered_opportunity_is_skipped(
    settings: PipelineSettings, core: CoreSettings, client: redis.Redis, fake_sf: FakeSalesforce
) -> None:
    fields = dict(notification(1).fields, Order_Number__c="SO-777777")
    job = notification(1, fields=fields)
    with running_pipeline(core, settings) as pipeline:
        pipeline.send(job)
        pipeline.drain()
    assert pipeline.erp.calls == 0 and fake_sf.org.api_calls == 0
    assert DoneMarkers(client, core, 1).is_done(*job.dedupe_key)


def test_transient_failures_are_retried_to_completion(
    settings: PipelineSettings, core: CoreSettings, client: redis.Redis, fake_sf: FakeSalesforce
) -> None:
    job = notification(3)
    _seed(fake_sf, job)
    erp = FakeErp(
        faults=[ErpFault("Unavailable: maintenance", True), ErpFault("Unavailable", True)]
    )
    fake_sf.org.record_errors[job.record_id] = ["UNABLE_TO_LOCK_ROW", "UNABLE_TO_LOCK_ROW"]
    fake_sf.org.call_errors.append("REQUEST_LIMIT_EXCEEDED")
    with running_pipeline(core, settings, erp) as pipeline:
        pipeline.send(job)
        fake_sf.org.expire_all_tokens()  # and the token expires on the way
        pipeline.drain()
    assert erp.calls == 3 and len(erp.orders) == 1
    assert fake_sf.org.records[job.record_id]["Order_Number__c"] == "SO-000001"
    assert DeadLetters(client, core).count() == 0 and _xq_size(client, core) == 0


def test_permanent_erp_failure_is_dead_lettered_and_replayable(
    settings: PipelineSettings, core: CoreSettings, client: redis.Redis, fake_sf: FakeSalesforce
) -> None:
    box = SecretBox(core.require_secret_key())
    job = notification(
        4, session_id_encrypted=box.encrypt("00D000000000001!AQ0secretsessionvalue123456")
    )
    _seed(fake_sf, job)
    erp = FakeErp(invalid={job.record_id})
    letters = DeadLetters(client, core)
    with running_pipeline(core, settings, erp) as pipeline:
        pipeline.send(job)
        pipeline.drain()
        (letter,) = list(letters.iter())
        assert letter.stage == "orders" and letter.opportunity_id == job.record_id
        assert letter.notification_id == job.notification_id and letter.attempts == 1
        assert "TITLE_REQUIRED" in letter.reason
        assert "session_id_encrypted" not in letter.payload
        assert _xq_size(client, core) == 0  # only our store holds it
        assert not DoneMarkers(client, core, 1).is_done(*job.dedupe_key)
        erp.invalid.clear()  # the cause is fixed
        assert replay(pipeline.broker, letters, [letter]) == 1
        pipeline.drain()
    assert letters.count() == 0
    assert len(erp.orders) == 1
    assert fake_sf.org.records[job.record_id]["Order_Number__c"] == "SO-000001"


def test_rejected_callback_is_dead_lettered_and_replay_makes_no_second_order(
    settings: PipelineSettings, core: CoreSettings, client: redis.Redis, fake_sf: FakeSalesforce
) -> None:
    job = notification(5)
    _seed(fake_sf, job)
    fake_sf.org.record_errors[job.record_id] = ["FIELD_CUSTOM_VALIDATION_EXCEPTION"]
    letters = DeadLetters(client, core)
    with running_pipeline(core, settings) as pipeline:
        pipeline.send(job)
        pipeline.drain()
        (letter,) = list(letters.iter())
        assert letter.stage == "callbacks" and "FIELD_CUSTOM_VALIDATION_EXCEPTION" in letter.reason
        assert letter.payload["order_number"] == "SO-000001"
        replay(pipeline.broker, letters, [letter])  # the validation rule was fixed
        pipeline.drain()
        pipeline.send(job)  # and Salesforce redelivers the old notification: deduplicated
        pipeline.drain()
    assert pipeline.erp.calls == 1
    assert fake_sf.org.records[job.record_id]["Order_Number__c"] == "SO-000001"
    assert letters.count() == 0


def test_retryable_failures_end_as_dead_letters_after_the_window(
    sf_env: dict[str, str], core: CoreSettings, client: redis.Redis, fake_sf: FakeSalesforce
) -> None:
    settings = PipelineSettings.from_env({**sf_env, "SFGW_RETRY_FOR_S": "1"})
    job = notification(6)
    erp = FakeErp(faults=[ErpFault("Unavailable: down", True) for _ in range(1000)])
    with running_pipeline(core, settings, erp) as pipeline:
        pipeline.send(job)
        pipeline.drain()
    (letter,) = list(DeadLetters(client, core).iter())
    assert "gave up after" in letter.reason and "Unavailable" in letter.reason
    assert letter.attempts >= 3


def test_deleted_record_is_parked_not_retried(
    settings: PipelineSettings, core: CoreSettings, client: redis.Redis, fake_sf: FakeSalesforce
) -> None:
    """The intake accepts a notification whose sObject has no Id (deleted before
    delivery); the worker parks it once with a readable reason, creates no order."""
    deleted = replace(notification(11), record_id=None)
    with running_pipeline(core, settings) as pipeline:
        pipeline.send(deleted)
        pipeline.drain()
    assert pipeline.erp.orders == {}
    (letter,) = list(DeadLetters(client, core).iter())
    assert letter.stage == "orders"
    assert "record deleted before delivery" in letter.reason
    assert letter.attempts == 1
